"""The distortion-trained LeNet-5 over seeds 0-9 (float64): error bars for the Section III-C
result, whose 0.80% is one run. Seed 0 is make reproduce's own run (results/lenet5_distorted/);
seeds 1-9 train here, two at a time, in runs/distorted_seeds/. Writes
results/lenet5_distorted/seeds.csv and the README's distorted block.
Usage: python experiments/distorted_seeds.py   (part of make reproduce)
"""

import json
import sys
from pathlib import Path

from lecun98 import report
from lecun98.config import Config
from lecun98.errors import Lecun98Error, run_script
from lecun98.runner import run_many
from lecun98.stats import mean_sd
from lecun98.train import write_table

PUBLISHED = Path("results/lenet5_distorted")
SEEDS = tuple(range(1, 10))


def main() -> int:
    if not (PUBLISHED / "summary.json").exists():
        raise Lecun98Error("results/lenet5_distorted/ is missing: run make reproduce first")
    base = Config.from_file(PUBLISHED / "config.json")
    summaries = run_many({f"seed={s}": base.replace(seed=s) for s in SEEDS},
                         Path("runs/distorted_seeds"), jobs=2)
    summaries = {0: json.loads((PUBLISHED / "summary.json").read_text())} | {
        s: summaries[f"seed={s}"] for s in SEEDS}
    rows = [{"seed": s, "test_error_pct": v["test_error_pct"],
             "train_error_pct": round(v["train_error_pct"], 4),
             "wall_seconds": round(v["wall_seconds"], 1)} for s, v in summaries.items()]
    write_table(PUBLISHED / "seeds.csv", rows)
    errors = [r["test_error_pct"] for r in rows]
    mean, sd = mean_sd(errors)
    print(f"with distortions: test error {mean:.2f} +- {sd:.2f}% "
          f"(seeds {', '.join(f'{e:.2f}' for e in errors)})")
    report.main()
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, usage=__doc__))
