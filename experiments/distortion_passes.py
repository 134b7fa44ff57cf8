"""Beyond the paper's protocol: do the distortions pay off with more passes?

With the paper's 20 passes the distortion-trained net ends with a training error well above the
undistorted net's (README, "With distortions"). This trains both nets for 40 passes (the paper's
schedule with its last rate, 1e-5, held for the 20 extra passes) and compares them with their
20-pass runs:

- on the validation split (first 50,000 / last 10,000 training images, float32, seeds 0 and 1,
  mean validation error over the last five passes), the 20-pass runs being those of
  `make validate VALIDATE=distortions` (results/validation/distortions/);
- on the test set (all 60,000 training images, float64, seed 0), the 20-pass runs being
  results/lenet5/ and results/lenet5_distorted/.

Nothing is chosen from these runs: the headline stays the paper's 20 passes. Writes
results/lenet5_distorted/passes.csv, the 40-pass test runs' records in
results/lenet5_distorted/passes=40/, and the README's distorted block.
Usage: python experiments/distortion_passes.py   (part of make reproduce)
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from lecun98 import report
from lecun98.config import DISTORTED, DISTORTION_OUTPUT_D2, DISTORTION_RANGES, Config
from lecun98.errors import Lecun98Error, run_script
from lecun98.runner import run_many
from lecun98.train import read_metrics, write_table
from validate_choices import COMMON, DISTORTION_BASELINE, DISTORTION_REFERENCES, run_name

VALIDATION = Path("results/validation/distortions")
# the settings of validate_choices.py's distortion sweep, with the chosen ranges; with
# distortions, the chosen curvature constant too (config.DISTORTED), without, the 1998 one
SPLIT = {**DISTORTION_BASELINE, **COMMON, "distortion_ranges": DISTORTION_RANGES}
PROTOCOL = {9: {"output_d2": DISTORTION_OUTPUT_D2}, 0: DISTORTION_REFERENCES["no distortions"]}
assert PROTOCOL[9].items() <= DISTORTED.items()
# the 20-pass runs of that sweep: (distortions, seed) -> run directory
SPLIT_20 = {(d, s): run_name(change, s) for s in (0, 1) for d, change in PROTOCOL.items()}
TEST_20 = {0: Path("results/lenet5"), 9: Path("results/lenet5_distorted")}
OUT = Path("results/lenet5_distorted/passes.csv")


def main() -> int:
    missing = [str(p) for p in [*TEST_20.values(), *(VALIDATION / n for n in SPLIT_20.values())]
               if not (p / "summary.json").exists()]
    if missing:
        raise Lecun98Error(f"{', '.join(missing)} missing: run make reproduce and make "
                           "validate VALIDATE=distortions first")
    for (d, s), name in SPLIT_20.items():  # the existing runs are what this script assumes
        expected = Config.from_dict({**SPLIT, **PROTOCOL[d], "seed": s})
        if Config.from_file(VALIDATION / name / "config.json") != expected:
            raise Lecun98Error(f"{VALIDATION / name} is not the expected 20-pass run")
    split_40 = {f"passes=40-distortions={d}" + (f"-seed={s}" if s else ""):
                Config.from_dict({**SPLIT, **PROTOCOL[d], "seed": s, "passes": 40})
                for d in (0, 9) for s in (0, 1)}
    test_40 = {f"distortions={d}": Config.from_dict({"passes": 40, **(DISTORTED if d else {})})
               for d in (0, 9)}
    run_many(split_40, VALIDATION, jobs=2)
    test = run_many(test_40, Path("runs/distortion_passes"), jobs=2)

    def last5(run: Path) -> float:
        return float(np.mean([r["eval_error_pct"] for r in read_metrics(run)][-5:]))

    rows = []
    for d in (0, 9):
        for passes in (20, 40):
            if passes == 20:
                names, on_test = [SPLIT_20[d, s] for s in (0, 1)], _summary(TEST_20[d])
            else:
                names = [n for n, c in split_40.items() if c.distortions == d]
                on_test = test[f"distortions={d}"]
            per_seed = [last5(VALIDATION / n) for n in names]
            rows.append({"distortions": d, "passes": passes,
                         "validation_error_pct_last5": round(float(np.mean(per_seed)), 4),
                         "validation_seed0_last5": round(per_seed[0], 4),
                         "validation_seed1_last5": round(per_seed[1], 4),
                         "test_error_pct_seed0": round(on_test["test_error_pct"], 4),
                         "train_error_pct_seed0": round(on_test["train_error_pct"], 4),
                         "test_wall_seconds": round(on_test["wall_seconds"], 1),
                         "validation_wall_seconds": round(sum(
                             _summary(VALIDATION / n)["wall_seconds"] for n in names), 1)})
    for name in test_40:  # the 40-pass test runs' record, beside the table
        (OUT.parent / "passes=40" / name).mkdir(parents=True, exist_ok=True)
        for file in ("config.json", "env.json", "metrics.csv", "summary.json"):
            shutil.copy2(Path("runs/distortion_passes") / name / file,
                         OUT.parent / "passes=40" / name / file)
    write_table(OUT, rows)
    for r in rows:
        print(r)
    report.main()
    return 0


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


if __name__ == "__main__":
    sys.exit(run_script(main, usage=__doc__))
