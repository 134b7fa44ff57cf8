"""make reproduce: the 1998 LeNet-5 on MNIST, 20 passes of SDLM, as Section III describes.

Trains with config.py's defaults (the paper's values, and the validation split's choices where
the paper is open) in runs/lenet5/, evaluates checkpoint.npz a second time with nothing but
the README's formulas (checkpoint.evaluate_from_formulas), publishes the run to
results/lenet5/, draws fig5.png and regenerates README.md's tables. An interrupted run resumes
at its last finished pass; `make clean` (or deleting runs/lenet5/) starts afresh.
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from lecun98 import checkpoint, data, report
from lecun98.config import Config
from lecun98.errors import Lecun98Error
from lecun98.train import train

RUN = Path("runs/lenet5")
PUBLISHED = Path("results/lenet5")
FILES = ("config.json", "env.json", "metrics.csv", "summary.json", "checkpoint.npz")


def main() -> int:
    try:
        summary = train(Config(), RUN)
        with np.load(RUN / "checkpoint.npz", allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        images, labels = data.load_mnist("test")
        from_formulas = 100.0 * np.mean(checkpoint.evaluate_from_formulas(arrays, images) != labels)
    except Lecun98Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary["test_error_pct_from_checkpoint"] = float(from_formulas)
    (RUN / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    PUBLISHED.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(RUN / name, PUBLISHED / name)
    report.main()
    print(json.dumps(summary, indent=2))
    if abs(from_formulas - summary["test_error_pct"]) > 1e-9:
        print("error: the checkpoint evaluated by the formulas disagrees with training's own "
              f"evaluation ({from_formulas:.2f}% vs {summary['test_error_pct']:.2f}%)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
