import shutil

from lecun98 import report
from lecun98.assumptions import ASSUMPTIONS


def test_readme_blocks_render_from_results(tmp_path):
    readme = tmp_path / "README.md"
    shutil.copy(report.README, readme)
    report.render_readme(readme)
    text = readme.read_text()
    for name in report.BLOCKS:
        assert f"<!-- BEGIN {name} -->" in text and f"<!-- END {name} -->" in text
    for a in ASSUMPTIONS:
        assert f"`{a.id}`" in text
    report.render_readme(readme)  # idempotent: a second rendering changes nothing
    assert readme.read_text() == text


def test_every_assumption_id_is_named_in_the_code():
    source = "".join(p.read_text() for p in report.REPO.joinpath("lecun98").rglob("*.py"))
    missing = [a.id for a in ASSUMPTIONS if f"ASSUMPTION({a.id})" not in source]
    assert not missing, missing


def test_blocks_without_results_say_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    for block in (report.distorted_block, report.figures_block, report.timing_block,
                  report.results_block, report.modern_block, report.modern_seeds_block):
        assert block().startswith("_No") and "make " in block()


def test_timing_adds_the_stages_and_names_the_longest(tmp_path, monkeypatch):
    import json

    monkeypatch.setattr(report, "RESULTS", tmp_path)
    for name, seconds in (("lenet5", 600.0), ("modern", 3000.0), ("lenet5_distorted", 1200.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"wall_seconds": seconds}))
    for name, seconds in (("float64-seed=0", 600.0), ("float64-seed=1", 240.0),
                          ("float32-seed=0", 120.0)):
        (tmp_path / "seeds" / name).mkdir(parents=True)
        (tmp_path / "seeds" / name / "summary.json").write_text(
            json.dumps({"wall_seconds": seconds}))
    text = report.timing_block()
    # 10 + 50 + 20 min alone, and the two extra seed runs (6 min) two at a time: 3 min
    assert "about **83 minutes**" in text
    assert "most of it is the modern LeNet-5: 1 run, 50 min" in text
    assert "| seeds (float64 and float32, 0-2) | 2 | 6.0 | 3.0 |" in text


def test_modern_seeds_block_and_figure(tmp_path, monkeypatch):
    import csv

    monkeypatch.setattr(report, "RESULTS", tmp_path)
    root = tmp_path / "modern_seeds"
    final = {0: 1.0, 1: 1.2, 2: 0.8}
    for seed, last in final.items():
        (root / f"seed={seed}").mkdir(parents=True)
        with (root / f"seed={seed}" / "metrics.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["pass", "eval_error_pct"])
            w.writeheader()
            w.writerows([{"pass": 1, "eval_error_pct": 2.0}, {"pass": 2, "eval_error_pct": last}])
    with (root / "table.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["seed", "test_error_pct", "test_error_pct_last2_mean",
                                          "test_error_pct_best_epoch"])
        w.writeheader()
        w.writerows([{"seed": s, "test_error_pct": e, "test_error_pct_last2_mean": (2 + e) / 2,
                      "test_error_pct_best_epoch": e} for s, e in final.items()])
    text = report.modern_seeds_block()
    assert "**1.00 ± 0.20% (range 0.80-1.20)**" in text  # after the last epoch
    assert "mean of the last 2 epochs | 1.50 ± 0.10%" in text
    assert "3 seeds" in text and "1.00, 1.20, 0.80" in text
    assert report.modern_seeds_figure(root).stat().st_size > 10_000
