"""The training driver on a tiny problem: outputs, determinism, resume, CLI errors."""

import dataclasses
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from lecun98 import checkpoint, train
from lecun98.config import MODERN, Config
from lecun98.errors import Lecun98Error
from lecun98.layout import Layout

TINY = Config.from_dict(dict(passes=2, train_size=400, validation=200, hessian_patterns=50, threads=1))
# the modern network (Adam, 2 slices a batch), standardised inputs
TINY_MODERN = TINY.replace(**{**MODERN, "batch": 32, "threads": 2, "input": "standard"})


@pytest.mark.parametrize("config", [TINY, TINY_MODERN], ids=["1998", "modern"])
def test_run_directory_is_complete(tmp_path, config):
    s = train.train(config, tmp_path / "a", quiet=True)
    run = tmp_path / "a"
    for name in ("config.json", "env.json", "metrics.csv", "summary.json", "checkpoint.npz",
                 "predictions.npy"):
        assert (run / name).exists(), name
    assert not (run / "state.npz").exists()
    assert Config.from_file(run / "config.json") == config
    predictions = np.load(run / "predictions.npy")
    assert predictions.shape == (200,) and predictions.dtype == np.int64
    env = json.loads((run / "env.json").read_text())
    assert env["packages"]["numba"] and env["cpu"] and env["llvm_cpu"] and env["git_commit"]
    metrics = (run / "metrics.csv").read_text().splitlines()
    assert metrics[0].split(",") == list(train.METRICS) and len(metrics) == 3
    assert s["passes"] == 2 and s["eval_set"] == "validation"
    assert 0 <= s["validation_error_pct"] < 90  # 400 patterns, 2 passes: it has learned a bit


@pytest.mark.parametrize("config", [TINY, TINY_MODERN], ids=["1998", "modern"])
def test_same_seed_same_bits_and_resume_after_interrupt(tmp_path, monkeypatch, config):
    train.train(config, tmp_path / "whole", quiet=True)
    whole = checkpoint.load(tmp_path / "whole" / "checkpoint.npz")[0]

    where = "_run_epoch" if config.optimiser == "adam" else "_run_pass"
    real = getattr(train, where)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train, where, interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.train(config, tmp_path / "cut", quiet=True)
    assert (tmp_path / "cut" / "state.npz").exists()
    assert not (tmp_path / "cut" / "summary.json").exists()
    monkeypatch.setattr(train, where, real)
    train.train(config, tmp_path / "cut", quiet=True)
    resumed = checkpoint.load(tmp_path / "cut" / "checkpoint.npz")[0]
    assert np.array_equal(resumed, whole)
    errors = lambda run: [r.split(",")[2:5] for r in (run / "metrics.csv").read_text().splitlines()]  # noqa: E731
    assert errors(tmp_path / "cut") == errors(tmp_path / "whole")


def test_a_run_directory_refuses_another_config(tmp_path):
    train.train(TINY, tmp_path / "a", quiet=True)
    with pytest.raises(Lecun98Error, match="different configuration"):
        train.train(TINY.replace(seed=1), tmp_path / "a", quiet=True)


def test_a_run_that_cannot_load_its_data_claims_no_directory(tmp_path):
    with pytest.raises(Lecun98Error, match="missing"):
        train.train(TINY, tmp_path / "a", data_dir=tmp_path / "nowhere", quiet=True)
    assert not (tmp_path / "a" / "config.json").exists()
    assert not (tmp_path / "a" / "env.json").exists()
    train.train(TINY.replace(seed=1), tmp_path / "a", quiet=True)  # a retry, other flags


def _fake_interrupted_run(run, config, state):
    """A run directory as an interrupt after pass 1 leaves it, with the given state.npz bytes."""
    run.mkdir()
    train.write_json(run / "config.json", config.to_dict())
    train._write_metrics(run, [dict.fromkeys(train.METRICS, 1.0)])
    (run / "state.npz").write_bytes(state)


def _state(n, **changes):
    """The bytes of a state.npz as train writes it after pass 1, with arrays changed (or, given
    None, left out)."""
    arrays = dict(params=np.zeros(n), passes_done=1, adam_m=np.zeros(n), adam_v=np.zeros(n),
                  adam_step=0)
    f = io.BytesIO()
    np.savez(f, **{k: v for k, v in {**arrays, **changes}.items() if v is not None})
    return f.getvalue()


@pytest.mark.parametrize("state, message", [
    (lambda n: b"not a zip file", "unreadable resume state"),
    (lambda n: _state(n)[:-100], "unreadable resume state"),
    (lambda n: _state(n, adam_step=None), "unreadable resume state"),
    (lambda n: _state(n, params=np.zeros(n + 1)), "does not fit"),
    (lambda n: _state(n, adam_m=np.zeros(1)), "does not fit"),
    (lambda n: _state(n, passes_done=7), "does not fit"),
], ids=["junk", "truncated", "missing", "params", "adam", "passes"])
def test_a_damaged_resume_state_is_one_line_error(tmp_path, state, message):
    _fake_interrupted_run(tmp_path / "a", TINY, state(Layout.of(TINY).n_params))
    with pytest.raises(Lecun98Error, match=message) as e:
        train.train(TINY, tmp_path / "a", quiet=True)
    assert "state.npz" in str(e.value) and "start over" in str(e.value)
    assert "\n" not in str(e.value)


def test_a_state_ahead_of_its_metrics_starts_afresh(tmp_path):
    """An interrupt between writing state.npz and metrics.csv: the run starts over from its seed,
    not from the saved weights (here all 0.5)."""
    n = Layout.of(TINY).n_params
    _fake_interrupted_run(tmp_path / "a", TINY, _state(n, params=np.full(n, 0.5), passes_done=2))
    train.train(TINY, tmp_path / "a", quiet=True)
    train.train(TINY, tmp_path / "fresh", quiet=True)
    got, fresh = (checkpoint.load(tmp_path / r / "checkpoint.npz")[0] for r in ("a", "fresh"))
    assert np.array_equal(got, fresh)


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "lecun98", *args], capture_output=True,
                          text=True, timeout=300, **kw)


@pytest.mark.parametrize("args, message", [
    (["train", "--loss", "hinge"], "takes loss map or mle"),
    (["train", "--optimiser", "sgd", "--batch", "8"], "batch must be 1"),
    (["train", "--passes", "x"], "invalid int value"),
    (["train", "--evaluate-train", "maybe"], "expected true or false"),
    (["train", "--config", "/nonexistent.json"], "cannot read configuration"),
    (["train", "--data-dir", "/nonexistent", "--run-dir", "{tmp}/r"], "missing"),
    (["evaluate", "/nonexistent.npz"], "no such checkpoint"),
    (["evaluate", "{tmp}/cut.npz"], "not a readable .npz checkpoint"),
    (["evaluate", "{tmp}/params.npy"], "not an .npz checkpoint"),
    (["evaluate", "/nonexistent.npz", "--threads", "0"], "--threads must be in 1..256"),
    (["evaluate", "/nonexistent.npz", "--threads", "300"], "--threads must be in 1..256"),
    (["train", "--seed", "-1"], "seed must be an integer >= 0"),
    (["train", "--run-dir", "{tmp}/a_file"], "cannot make the run directory"),
    (["frobnicate"], "invalid choice"),
])
def test_cli_errors_are_one_line_and_nonzero(tmp_path, args, message):
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04" + bytes(100))  # a truncated zip
    np.save(tmp_path / "params.npy", np.zeros(3))
    (tmp_path / "a_file").write_text("not a directory")
    done = _cli(*[a.format(tmp=tmp_path) for a in args])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_cli_evaluate_prints_error_and_confusion(tmp_path):
    train.train(TINY, tmp_path / "a", quiet=True)
    done = _cli("evaluate", str(tmp_path / "a" / "checkpoint.npz"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    confusion = np.array(result["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10_000
    assert result["errors"] == 10_000 - np.trace(confusion)


def test_run_many_keeps_scripts_with_the_same_run_names_apart(tmp_path):
    """Two scripts name their runs alike ("seed=1"): each root gets its own config file and log,
    so one script's config can never be trained under the other's name."""
    from lecun98.runner import run_many
    from lecun98.train import write_table

    logs = tmp_path / "logs"
    a = run_many({"seed=1": TINY.replace(seed=1)}, tmp_path / "a", 1, logs)
    b = run_many({"seed=1": TINY.replace(seed=2)}, tmp_path / "b", 1, logs)
    assert Config.from_file(tmp_path / "a" / "seed=1" / "config.json").seed == 1
    assert Config.from_file(tmp_path / "b" / "seed=1" / "config.json").seed == 2
    assert (logs / "a" / "seed=1.log").exists() and (logs / "b" / "seed=1.log").exists()
    assert a["seed=1"]["seed"] == 1 and b["seed=1"]["seed"] == 2
    with pytest.raises(Lecun98Error, match="another configuration"):  # stale, not reused
        run_many({"seed=1": TINY.replace(seed=3)}, tmp_path / "a", 1, logs)
    write_table(tmp_path / "t.csv", [{"x": 1, "y": 2}, {"x": 3, "y": 4}])
    assert (tmp_path / "t.csv").read_text().splitlines() == ["x,y", "1,2", "3,4"]


def test_cli_help_lists_every_text_flags_values():
    from lecun98 import cli

    text_fields = {f.name for f in dataclasses.fields(Config) if isinstance(f.default, str)}
    assert text_fields == cli._CHOICES.keys()
    for name, values in cli._CHOICES.items():  # each listed value is one Config accepts
        for v in values:
            extra = {"loss": {"output": "softmax"} if v == "ce" else {},
                     "output": {"loss": "ce"} if v == "softmax" else {},
                     "optimiser": {"batch": 64} if v == "adam" else {}}.get(name, {})
            Config().replace(**{name: v, **extra})
