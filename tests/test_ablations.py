"""The ablation mechanics on fake run directories (nothing trains here)."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from lecun98 import ablations
from lecun98.ablations import Family, Variant, all_runs, collect, run_name
from lecun98.config import Config
from lecun98.errors import Lecun98Error
from lecun98.train import write_json

SEEDS = (0, 1, 2)
N_TEST = 10_000
LABELS = np.random.default_rng(7).integers(0, 10, N_TEST)
# Existing Config keys only: the new component fields are being written elsewhere.
BASELINES = {"1998": Config(), "modern": Config().replace(j=1.0, bias_init="zero")}
LOSS = Family("loss", "Loss function", "1998", (Variant("MLE", {"loss": "mle"}),))
MU = Family("mu", "SDLM mu", "1998",
            (Variant("mu 0.05", {"mu": 0.05}), Variant("mu 0.1", {"mu": 0.1})))
J = Family("j", "MAP constant j", "modern", (Variant("j=0", {"j": 0.0}),))
FAMILIES = (LOSS, MU, J)
# The test images each run gets wrong: [start, start + count) of seed 0, 1, 2.
WRONG = {
    "1998-baseline": [(0, 95), (0, 100), (0, 105)],  # 0.95, 1.00, 1.05 %
    "modern-baseline": [(1000, 80)] * 3,  # 0.80 %
    "loss=mle": [(50, 110), (50, 120), (50, 130)],  # 1.10, 1.20, 1.30 %
    "mu=mu_0.05": [(0, 95), (0, 100), (0, 105)],  # the 1998 baseline's errors exactly
    "mu=mu_0.1": [(200, 90)] * 3,  # 0.90 %, disjoint from the baseline's
    "j=j=0": [(1040, 60)] * 3,  # 0.60 %, overlaps the modern baseline's [1000, 1080) by 40
}
HEADER = ("pass,eta,train_error_on_the_fly_pct,train_error_pct,eval_error_pct,mean_loss,"
          "step_min,step_max,seconds_train,seconds_total").split(",")


def _fake_run(run_dir, config, start, count):
    run_dir.mkdir(parents=True)
    pred = LABELS.copy()
    pred[start:start + count] = (LABELS[start:start + count] + 1) % 10
    np.save(run_dir / "predictions.npy", pred)
    error = 100 * count / N_TEST
    write_json(run_dir / "config.json", config.to_dict())
    write_json(run_dir / "summary.json", {
        "eval_set": "test", "test_error_pct": error, "seed": config.seed, "passes": 3,
        "train_seconds": 600.0 * (config.seed + 1), "wall_seconds": 700.0 * (config.seed + 1),
    })
    whole = config.j != 1.0  # the fake "modern" runs skip the whole-set training error
    with (run_dir / "metrics.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for p, test in enumerate([3.0, 1.5, error], start=1):
            w.writerow([p, 5e-4, 2 * test, test / 2 if whole else "nan", test, 0.1, 1e-6, 0.01,
                        60.0, 70.0])


@pytest.fixture
def root(tmp_path):
    for name, config in all_runs(FAMILIES, BASELINES, SEEDS).items():
        label, seed = name.rsplit("-seed=", 1)
        _fake_run(tmp_path / name, config, *WRONG[label][int(seed)])
    return tmp_path


def test_run_names():
    assert run_name("1998", 0) == "1998-baseline-seed=0"
    assert run_name((LOSS, LOSS.variants[0]), 2) == "loss=mle-seed=2"
    assert run_name((MU, MU.variants[0]), 1) == "mu=mu_0.05-seed=1"
    odd = Family("C3 / table", "C3", "1998", (Variant("Full C3/S2", {"c3": "full"}),))
    assert run_name((odd, odd.variants[0]), 0) == "c3___table=full_c3_s2-seed=0"


def test_variants_are_hashable_data():
    v = Variant("eta", {"eta": [1.0, 2.0], "mu": 0.1})
    assert v.changes == (("eta", (1.0, 2.0)), ("mu", 0.1)) and hash(v) == hash(
        Variant("eta", (("eta", (1.0, 2.0)), ("mu", 0.1))))
    assert v.changes_dict() == {"eta": (1.0, 2.0), "mu": 0.1}
    assert v.changes_text() == "eta=(1.0, 2.0), mu=0.1"
    for bad, message in [(lambda: Variant("x", {}), "changes nothing"),
                         (lambda: Variant("x", {"seed": 3}), "changes the seed"),
                         (lambda: Family("f", "F", "1998", ()), "has no variants"),
                         (lambda: Family("f", "F", "1998", (Variant("a", {"mu": 0.1}),) * 2),
                          "names a variant twice")]:
        with pytest.raises(Lecun98Error, match=message):
            bad()


def test_all_runs():
    runs = all_runs(FAMILIES, BASELINES, SEEDS)
    assert len(runs) == 3 * (2 + 4)
    assert list(runs)[:6] == ["1998-baseline-seed=0", "modern-baseline-seed=0",
                              "loss=mle-seed=0", "mu=mu_0.05-seed=0", "mu=mu_0.1-seed=0",
                              "j=j=0-seed=0"]  # seed by seed
    assert runs["mu=mu_0.1-seed=2"] == BASELINES["1998"].replace(mu=0.1, seed=2)
    assert runs["j=j=0-seed=1"] == BASELINES["modern"].replace(j=0.0, seed=1)
    assert runs["modern-baseline-seed=2"] == BASELINES["modern"].replace(seed=2)
    # "MLE" and "mle" are one run directory: the same config is kept once ...
    twice = Family("loss", "Loss", "1998", (Variant("MLE", {"loss": "mle"}),
                                            Variant("mle", {"loss": "mle"})))
    assert len(all_runs([twice], BASELINES, SEEDS)) == 3 * (2 + 1)
    # ... and different configs under one name are refused
    clash = Family("loss", "Loss", "1998", (Variant("MLE", {"loss": "mle"}),
                                            Variant("mle", {"mu": 0.1})))
    with pytest.raises(Lecun98Error, match="two different runs are both named loss=mle-seed=0"):
        all_runs([clash], BASELINES, SEEDS)


@pytest.mark.parametrize("families, seeds, message", [
    ([Family("x", "X", "2024", (Variant("a", {"mu": 0.1}),))], SEEDS, "baseline '2024'"),
    ([Family("x", "X", "1998", (Variant("a", {"loss": "map"}),))], SEEDS,
     "x=a: loss=map is already the 1998 baseline's value"),
    ([Family("x", "X", "1998", (Variant("a", {"mu": -1.0}),))], SEEDS,
     "x=a: bad configuration: mu must be a positive number"),
    ([Family("x", "X", "1998", (Variant("a", {"nope": 1}),))], SEEDS, "x=a: unknown"),
    ([LOSS, LOSS], SEEDS, "two families share a name"),
    (FAMILIES, (), "seeds must be one or more integers"),
    (FAMILIES, (0, 0), "a seed is listed twice"),
])
def test_all_runs_refuses_bad_definitions(families, seeds, message):
    with pytest.raises(Lecun98Error, match=message):
        all_runs(families, BASELINES, seeds)


def test_run_hands_every_run_to_the_runner(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(ablations, "run_many",
                        lambda runs, root, jobs: calls.append((runs, root, jobs)) or {"ok": 1})
    assert ablations.run(FAMILIES, BASELINES, SEEDS, tmp_path, jobs=3) == {"ok": 1}
    assert calls == [(all_runs(FAMILIES, BASELINES, SEEDS), tmp_path, 3)]


def test_collect(root):
    rows = collect(FAMILIES, BASELINES, SEEDS, root, LABELS)
    by = {(r["baseline"], r["variant"]): r for r in rows}
    assert [(r["kind"], r["variant"]) for r in rows] == [
        ("baseline", "1998 LeNet-5"), ("variant", "MLE"), ("variant", "mu 0.05"),
        ("variant", "mu 0.1"), ("baseline", "modern LeNet-5"), ("variant", "j=0")]

    base = by["1998", "1998 LeNet-5"]
    assert base["test_error_mean"] == pytest.approx(1.00)
    assert base["test_error_sd"] == pytest.approx(0.05)
    assert [base[f"test_error_seed={s}"] for s in SEEDS] == pytest.approx([0.95, 1.00, 1.05])
    assert base["delta_vs_baseline"] is None and base["p"] is None
    assert base["train_minutes_mean"] == pytest.approx(20.0)  # (10 + 20 + 30) / 3

    # per seed: baseline wrong on [0, b), MLE on [50, 50 + v); overlap b - 50
    mle = by["1998", "MLE"]
    assert (mle["test_error_mean"], mle["test_error_sd"]) == pytest.approx((1.20, 0.10))
    assert mle["delta_vs_baseline"] == pytest.approx(0.20)
    assert mle["changes"] == "loss=mle" and mle["family"] == "loss" and mle["seeds"] == 3
    assert (mle["variant_only_right"], mle["baseline_only_right"]) == (50 * 3, 65 + 70 + 75)
    assert by["1998", "mu 0.05"]["variant_only_right"] == 0
    assert by["1998", "mu 0.05"]["p"] == 1.0 and by["1998", "mu 0.05"]["delta_vs_baseline"] == 0
    mu = by["1998", "mu 0.1"]
    assert (mu["variant_only_right"], mu["baseline_only_right"]) == (95 + 100 + 105, 270)
    assert mu["test_error_sd"] == 0 and mu["delta_vs_baseline"] == pytest.approx(-0.10)
    j = by["modern", "j=0"]
    assert (j["variant_only_right"], j["baseline_only_right"]) == (3 * 40, 3 * 20)
    assert j["delta_vs_baseline"] == pytest.approx(-0.20)

    p = {k: binomtest(a, a + b, 0.5).pvalue
         for k, (a, b) in {"mle": (150, 210), "mu": (300, 270), "j": (120, 60)}.items()}
    assert mle["p"] == pytest.approx(p["mle"]) and j["p"] == pytest.approx(p["j"])
    # Holm over the 4 variants: p_j < p_mle < p_mu < 1 (the mu 0.05 row)
    assert p["j"] < p["mle"] < p["mu"] < 1
    assert j["p_holm"] == pytest.approx(4 * p["j"])
    assert mle["p_holm"] == pytest.approx(max(4 * p["j"], 3 * p["mle"]))
    assert mu["p_holm"] == pytest.approx(max(3 * p["mle"], 2 * p["mu"]))
    assert by["1998", "mu 0.05"]["p_holm"] == 1.0
    assert [r["significant"] for r in rows] == [None, True, False, False, None, True]


def test_collect_names_a_missing_run(root):
    (root / "mu=mu_0.1-seed=1" / "summary.json").unlink()
    with pytest.raises(Lecun98Error) as e:
        collect(FAMILIES, BASELINES, SEEDS, root, LABELS)
    assert "mu=mu_0.1-seed=1" in str(e.value) and "`make ablations`" in str(e.value)
    assert "1 of 18" in str(e.value)


def test_collect_refuses_stale_runs(root):
    other = BASELINES["1998"].replace(seed=1, mu=0.5)
    write_json(root / "1998-baseline-seed=1" / "config.json", other.to_dict())
    with pytest.raises(Lecun98Error, match="1998-baseline-seed=1 was trained with another"):
        collect(FAMILIES, BASELINES, SEEDS, root, LABELS)
    write_json(root / "1998-baseline-seed=1" / "config.json",
               BASELINES["1998"].replace(seed=1).to_dict())
    np.save(root / "j=j=0-seed=0" / "predictions.npy", LABELS)
    with pytest.raises(Lecun98Error, match="gives 0.00% test error but summary.json says 0.60%"):
        collect(FAMILIES, BASELINES, SEEDS, root, LABELS)


def test_write_table(root, tmp_path):
    rows = collect(FAMILIES, BASELINES, SEEDS, root, LABELS)
    path = ablations.write_table(rows, tmp_path / "out" / "table.csv")
    with path.open() as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6 and list(table[0]) == list(rows[0])
    assert table[1]["variant"] == "MLE" and table[1]["test_error_mean"] == "1.2"
    assert table[1]["p"] == f"{rows[1]['p']:.4g}" and table[1]["significant"] == "True"
    assert table[0]["delta_vs_baseline"] == "" and table[0]["test_error_seed=2"] == "1.05"


def test_readme_text_and_summary_block(root):
    rows = collect(FAMILIES, BASELINES, SEEDS, root, LABELS)
    text = ablations.readme_text(rows, command="make ablations")
    assert text.startswith("# Ablations") and "`make ablations`" in text
    assert "## Starting from the 1998 LeNet-5" in text
    assert "## Starting from the modern LeNet-5" in text
    assert "(0, 1, 2)" in text and "over all 4 variants" in text
    lines = {line.split(" | ")[1]: line for line in text.splitlines()
             if line.startswith("| ") and " | " in line}
    assert lines["MLE (`loss=mle`)"] == (
        f"| Loss function | MLE (`loss=mle`) | 1.20 ± 0.10 (n=3) | +0.20 | "
        f"{rows[1]['p_holm']:.3f} | * |")
    assert lines["mu 0.05 (`mu=0.05`)"].endswith("| +0.00 | 1.000 |  |")
    assert lines["**1998 LeNet-5**"] == (
        "| baseline | **1998 LeNet-5** | 1.00 ± 0.05 (n=3) |  |  |  |")
    assert "j=0 (`j=0.0`)" in lines and lines["j=0 (`j=0.0`)"].endswith("| * |")
    assert "![ablations](ablations.png)" in text

    block = ablations.summary_block(rows)
    assert "`make ablations`" in block and block.count("\n| ") == 7  # header rule + 6 rows
    assert "| 1998 | Loss function | MLE | 1.20 ± 0.10 (n=3) | +0.20 | * |" in block
    assert "| modern | baseline | **modern LeNet-5** | 0.80 ± 0.00 (n=3) |  |  |" in block


def test_plots_write_pngs(root, tmp_path):
    rows = collect(FAMILIES, BASELINES, SEEDS, root, LABELS)
    out = ablations.plot_ablations(rows, tmp_path / "ablations.png")
    runs = {f"{b} LeNet-5": [root / run_name(b, s) for s in SEEDS] for b in BASELINES}
    curves = ablations.plot_curves(runs, tmp_path / "curves.png")
    for path in (out, curves):
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    with pytest.raises(Lecun98Error, match="same number of passes"):
        ablations.plot_curves({"none": []}, tmp_path / "x.png")


def test_one_seed_has_no_sd(root):
    rows = collect(FAMILIES, BASELINES, (0,), root, LABELS)
    assert math.isnan(rows[0]["test_error_sd"]) and rows[0]["seeds"] == 1
    assert "| baseline | **1998 LeNet-5** | 0.95 (n=1) |" in ablations.readme_text(rows)


@pytest.mark.parametrize("text, why", [
    ("", "no rows"),
    ("kind,baseline\nbaseline,1998\n", "no kind and per-seed"),
    ("kind,test_error_seed=0\nbaseline\n", "too few or too many"),
    ("kind,test_error_seed=0\nbaseline,1.0,2.0\n", "too few or too many"),
    ("kind,test_error_seed=0\nbaseline,abc\n", "could not convert"),
])
def test_read_table_refuses_a_damaged_table(tmp_path, text, why):
    (tmp_path / "table.csv").write_text(text)
    with pytest.raises(Lecun98Error, match=why):
        ablations.read_table(tmp_path / "table.csv")


def test_read_table_round_trips_write_table(tmp_path):
    rows = ablations.read_table(Path(__file__).resolve().parent.parent / "results" /
                                "ablations" / "table.csv")
    ablations.write_table(rows, tmp_path / "t.csv")
    committed = Path(__file__).resolve().parent.parent / "results" / "ablations" / "table.csv"
    assert (tmp_path / "t.csv").read_text() == committed.read_text()
    assert ablations.readme_text(rows) == (committed.parent / "README.md").read_text()
