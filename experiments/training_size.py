"""Fig. 6: test and training error against the size of the training set (15,000, 30,000 and
60,000 patterns), without and with distortions (nine distorted copies of each training image).

The 60,000-pattern points are the runs of `make reproduce` (results/lenet5/ and
results/lenet5_distorted/); the smaller sets are the first 15,000 and 30,000 training images,
trained here with the same configuration and schedule into runs/training_size/ (two at a time;
an interrupted run resumes). Writes results/figures/fig6_training_size.csv and .png.
Usage: python experiments/training_size.py   (part of make reproduce)
"""

import json
import sys
from pathlib import Path

from lecun98 import figures
from lecun98.config import DISTORTED, Config
from lecun98.errors import Lecun98Error, run_script
from lecun98.runner import run_many
from lecun98.train import write_table

SIZES = (15_000, 30_000)
PUBLISHED = {0: Path("results/lenet5"), 9: Path("results/lenet5_distorted")}  # 60,000
OUT = Path("results/figures")


def main() -> int:
    runs = {f"train_size={n}-distortions={d}":
            Config(train_size=n, **(DISTORTED if d else {"distortions": 0}))
            for n in SIZES for d in PUBLISHED}
    missing = [str(p) for p in PUBLISHED.values() if not (p / "summary.json").exists()]
    if missing:
        raise Lecun98Error(f"{', '.join(missing)} missing: run make reproduce first")
    summaries = run_many(runs, Path("runs/training_size"), jobs=2)
    rows = []
    for name, config in runs.items():
        rows.append(_row(config.train_size, config.distortions, summaries[name]))
    for d, path in PUBLISHED.items():
        rows.append(_row(60_000, d, json.loads((path / "summary.json").read_text())))
    rows.sort(key=lambda r: (r["distortions"], r["train_size"]))
    OUT.mkdir(parents=True, exist_ok=True)
    write_table(OUT / "fig6_training_size.csv", rows)
    print(figures.training_size(rows, OUT / "fig6_training_size.png"))
    return 0


def _row(train_size: int, distortions: int, summary: dict) -> dict:
    return {"train_size": train_size, "distortions": distortions,
            "test_error_pct": round(summary["test_error_pct"], 4),
            "train_error_pct": round(summary["train_error_pct"], 4),
            "wall_seconds": round(summary["wall_seconds"], 1)}


if __name__ == "__main__":
    sys.exit(run_script(main, usage=__doc__))
