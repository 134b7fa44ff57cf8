"""The experiment scripts' entry points: a problem the user can fix is one line on stderr and
exit 2 (errors.run_script), never a traceback."""
import subprocess
import sys
from pathlib import Path

import pytest

from lecun98.errors import Lecun98Error, run_script

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def test_run_script_exit_codes(capsys):
    def fails():
        raise Lecun98Error("results/x is missing")

    def interrupted():
        raise KeyboardInterrupt

    assert run_script(lambda: 3) == 3 and run_script(lambda: None) == 0
    assert run_script(lambda: [{"row": 1}]) == 0  # ablations.main returns its rows
    assert run_script(fails) == 2
    assert capsys.readouterr().err == "error: results/x is missing\n"
    assert run_script(interrupted) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        run_script(lambda: 1 / 0)


@pytest.mark.parametrize("script, message", [
    ("seeds.py", "results/lenet5/ is missing"),
    ("distorted_seeds.py", "results/lenet5_distorted/ is missing"),
    ("training_size.py", "missing: run make reproduce first"),
    ("figures.py", "missing: run make reproduce first"),
    ("distortion_passes.py", "missing: run make reproduce and make validate"),
])
def test_scripts_without_their_inputs_say_what_to_run(tmp_path, script, message):
    done = subprocess.run([sys.executable, str(EXPERIMENTS / script)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr


@pytest.mark.parametrize("script", sorted(p.name for p in EXPERIMENTS.glob("*.py")
                                          if p.name not in ("reproduce.py", "validate_choices.py")))
def test_scripts_without_arguments_refuse_them(tmp_path, script):
    """`seeds.py --help` must not start hours of training."""
    done = subprocess.run([sys.executable, str(EXPERIMENTS / script), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "takes no arguments" in done.stderr and "Usage:" in done.stderr, done.stderr
