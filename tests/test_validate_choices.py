"""experiments/validate_choices.py against the sweeps committed in results/validation/: each
sweep starts from the baseline its choice.json records, so make validate reuses the finished
runs instead of refusing them as runs of another configuration."""
import csv
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "experiments"))
import validate_choices as v  # noqa: E402

SWEEPS = {"1998": ("", v.BASELINE), "modern": ("modern", v.MODERN_BASELINE),
          "distortions": ("distortions", v.DISTORTION_BASELINE),
          "distortions2": ("distortions_round2", v.DISTORTION_ROUND2_BASELINE)}


def test_every_sweep_is_checked():
    assert SWEEPS.keys() == v.SWEEPS.keys()


@pytest.mark.parametrize("name", SWEEPS)
def test_sweep_baseline_is_the_committed_one(name):
    folder, baseline = SWEEPS[name]
    choice = json.loads((REPO / "results" / "validation" / folder / "choice.json").read_text())
    assert choice["baseline"] == json.loads(json.dumps(baseline))


def test_seed_noise():
    assert v.seed_noise([[1.0, 1.2], [0.9, 0.8]]) == pytest.approx(0.15)  # mean |s0 - s1|
    # three seeds: pairs' mean |difference| (0.1, 0.3, 0.2 -> 0.2) shrunk by sqrt(2/3)
    assert v.seed_noise([[1.0, 1.1, 1.3]]) == pytest.approx(0.2 * (2 / 3) ** 0.5)
    for bad in ([[1.0, 1.1], [1.0]], [[1.0]], []):
        with pytest.raises(ValueError):
            v.seed_noise(bad)


def test_round2_noise_is_recomputed_from_its_table():
    root = REPO / "results" / "validation" / "distortions_round2"
    choice = json.loads((root / "choice.json").read_text())
    with (root / "sweep.csv").open() as f:  # the baseline's runs appear in each factor: once
        groups = list({tuple(float(r[f"seed{s}_last5"]) for s in choice["seeds"]): None
                       for r in csv.DictReader(f)})
    assert len(groups) == 4  # small, medium (= pool), large, per-image
    assert v.seed_noise(groups) == pytest.approx(choice["seed_noise_pct"], abs=1e-3)
