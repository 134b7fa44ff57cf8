"""The modern LeNet-5 (make reproduce's config, float32, 20 epochs of Adam) over seeds 0-9: how
far the test error after the last epoch moves from seed to seed, and from epoch to epoch late in
training. The ablation table's error bars come from three seeds; ten pin the mean down better.

Every run is experiments/reproduce.py's modern config with only `seed` changed, trained here on
this machine, two at a time, in runs/modern_seeds/ (results/modern/ is not reused: it may come
from another host, whose CPU rounds float32 differently: README, "Correctness"). Nothing is
chosen from these runs. Writes results/modern_seeds/ (table.csv, curves.png, each seed's
config, summary and metrics) and the README's modern-seeds block.
Usage: python experiments/modern_seeds.py   (part of make reproduce)
"""

import shutil
import sys
from pathlib import Path

import numpy as np

from lecun98 import report
from lecun98.errors import run_script
from lecun98.runner import run_many
from lecun98.stats import mean_sd
from lecun98.train import read_metrics, write_table
from reproduce import CONFIGS  # the modern run's config, one definition

RUNS = Path("runs/modern_seeds")
OUT = Path("results/modern_seeds")
SEEDS = range(10)
LAST = 5  # the late epochs averaged in the table (16-20)
FILES = ("config.json", "env.json", "summary.json", "metrics.csv")


def main() -> int:
    runs = {f"seed={s}": CONFIGS["modern"].replace(seed=s) for s in SEEDS}
    summaries = run_many(runs, RUNS, jobs=2)
    rows = []
    for s in SEEDS:
        name = f"seed={s}"
        (OUT / name).mkdir(parents=True, exist_ok=True)
        for f in FILES:
            shutil.copy2(RUNS / name / f, OUT / name / f)
        per_epoch = [r["eval_error_pct"] for r in read_metrics(RUNS / name)]
        late = float(np.mean(per_epoch[-LAST:]))
        rows.append({"seed": s, "test_error_pct": summaries[name]["test_error_pct"],
                     f"test_error_pct_last{LAST}_mean": round(late, 4),
                     "test_error_pct_best_epoch": min(per_epoch),
                     "train_error_pct": round(summaries[name]["train_error_pct"], 4),
                     "wall_seconds": round(summaries[name]["wall_seconds"], 1)})
    write_table(OUT / "table.csv", rows)
    report.modern_seeds_figure(OUT)
    errors = [r["test_error_pct"] for r in rows]
    mean, sd = mean_sd(errors)
    print(f"modern LeNet-5: test error {mean:.2f} +- {sd:.2f}% over seeds "
          f"{SEEDS.start}-{SEEDS.stop - 1} ({', '.join(f'{e:.2f}' for e in errors)})")
    report.main()
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, usage=__doc__))
