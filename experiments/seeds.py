"""The faithful LeNet-5 over seeds 0, 1, 2, in float64 and float32: error bars for the headline,
and the evidence that the float32 path (about twice as fast, make bench) learns as well.

Every run is config.py's defaults with only `seed` and `dtype` changed, 20 passes on the full
training set, scored on the test set after the last pass (nothing is chosen from these runs).
The float64 seed-0 run is make reproduce's own (results/lenet5/); the other five train here,
two at a time, in runs/seeds/. Writes results/seeds/table.csv and the README's seeds block.
Usage: make seeds (part of make reproduce).
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from lecun98 import report
from lecun98.config import Config
from lecun98.errors import Lecun98Error, run_script
from lecun98.runner import run_many
from lecun98.train import write_table

RUNS = Path("runs/seeds")
OUT = Path("results/seeds")
REPRODUCE = Path("results/lenet5")
SEEDS = (0, 1, 2)
DTYPES = ("float64", "float32")
FILES = ("config.json", "summary.json", "metrics.csv")


def name(dtype: str, seed: int) -> str:
    return f"{dtype}-seed={seed}"


def main() -> None:
    if not (REPRODUCE / "summary.json").exists():
        raise Lecun98Error("results/lenet5/ is missing: run make reproduce first")
    runs = {name(d, s): Config(seed=s, dtype=d) for d in DTYPES for s in SEEDS
            if (d, s) != ("float64", 0)}
    run_many(runs, RUNS, jobs=2)
    sources = {n: RUNS / n for n in runs} | {name("float64", 0): REPRODUCE}
    rows = []
    for d in DTYPES:
        for s in SEEDS:
            n = name(d, s)
            summary = json.loads((sources[n] / "summary.json").read_text())
            (OUT / n).mkdir(parents=True, exist_ok=True)
            for f in FILES:
                shutil.copy2(sources[n] / f, OUT / n / f)
            rows.append({"dtype": d, "seed": s, "test_error_pct": summary["test_error_pct"],
                         "train_error_pct": summary["train_error_pct"],
                         "train_seconds": round(summary["train_seconds"], 1),
                         "patterns_per_second": round(summary["patterns_per_second"])})
    write_table(OUT / "table.csv", rows)
    for d in DTYPES:
        errors = [r["test_error_pct"] for r in rows if r["dtype"] == d]
        print(f"{d}: test error {np.mean(errors):.2f} +- {np.std(errors, ddof=1):.2f}% "
              f"(seeds {', '.join(f'{e:.2f}' for e in errors)})")
    report.main()


if __name__ == "__main__":
    sys.exit(run_script(main, usage=__doc__))
