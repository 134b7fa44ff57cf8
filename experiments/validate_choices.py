"""Settle the choices the paper leaves open on a validation split, never on the test set.

Each run trains on the first 50,000 training images with the paper's full 20-pass schedule and
is scored on the held-out last 10,000. One factor at a time moves away from a baseline; the
value with the lowest validation error (mean of the last 5 passes, all at eta = 1e-5) is chosen
and written to results/validation/choice.json, which config.py's defaults must match
(tests/test_config.py).  Usage: make validate
"""

import csv
import json
from pathlib import Path

import numpy as np

from lecun98.config import Config
from lecun98.runner import run_many

ROOT = Path("results/validation")
BASELINE = dict(loss="map", j=1.0, subsampling="mean", init_exponent=0.5, bias_init="zero",
                output_d2=2.0)
# factor -> {run name: the change from the baseline}
FACTORS = {
    "j": {"j=0.1": dict(j=0.1), "j=1": {}, "j=5": dict(j=5.0), "j=10": dict(j=10.0),
          "j=20": dict(j=20.0)},
    "loss": {"loss=map": {}, "loss=mle": dict(loss="mle")},
    "subsampling": {"subsampling=mean": {}, "subsampling=sum": dict(subsampling="sum")},
    "init_exponent": {"init=2.4/sqrt(F)": {}, "init=2.4/F": dict(init_exponent=1.0)},
    "bias_init": {"bias=zero": {}, "bias=uniform": dict(bias_init="uniform")},
    "output_d2": {"output_d2=2": {}, "output_d2=0.5": dict(output_d2=0.5),
                  "output_d2=8": dict(output_d2=8.0)},
}
COMMON = dict(validation=10_000, train_size=50_000, evaluate_train=False, threads=1, seed=0)


def run_name(change: dict) -> str:
    return "baseline" if not change else "-".join(f"{k}={v}" for k, v in change.items())


def main() -> None:
    runs = {}
    for options in FACTORS.values():
        for change in options.values():
            runs[run_name(change)] = Config.from_dict({**BASELINE, **COMMON, **change})
    run_many(runs, ROOT, jobs=2)

    rows, choice = [], {}
    for factor, options in FACTORS.items():
        scores = {}
        for label, change in options.items():
            name = run_name(change)
            with (ROOT / name / "metrics.csv").open() as f:
                errors = [float(r["eval_error_pct"]) for r in csv.DictReader(f)]
            scores[label] = float(np.mean(errors[-5:]))
            rows.append({"factor": factor, "option": label, "run": name,
                         "validation_error_pct_last5": round(scores[label], 4),
                         "validation_error_pct_final": errors[-1]})
        best = min(scores, key=scores.get)
        change = options[best]
        choice[factor] = change.get(factor, BASELINE[factor])
    with (ROOT / "sweep.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (ROOT / "choice.json").write_text(json.dumps(
        {"rule": "lowest mean validation error over passes 16-20, one factor at a time",
         "baseline": BASELINE, "chosen": choice}, indent=2) + "\n")
    print(json.dumps(choice, indent=2))


if __name__ == "__main__":
    main()
