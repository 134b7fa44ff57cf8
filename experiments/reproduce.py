"""make reproduce: the 1998 LeNet-5 on MNIST, 20 passes of SDLM, as Section III describes;
(`reproduce.py lenet5_distorted`) the same trained on the pool of the originals and 540,000
distorted copies (Section III-C); and (`reproduce.py modern`) the tutorials' modern LeNet-5
(config.MODERN, float32); seed 0 of each.

Trains with config.py's defaults (the paper's values, and the validation split's choices where
the paper is open) in runs/<name>/, evaluates checkpoint.npz a second time with nothing but
the README's formulas (checkpoint.evaluate_from_formulas), publishes the run to
results/<name>/, draws fig5.png and regenerates README.md's tables. An interrupted run resumes
at its last finished pass; `make clean` (or deleting runs/<name>/) starts afresh.
Usage: python experiments/reproduce.py [lenet5|lenet5_distorted|modern]
"""

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from lecun98 import checkpoint, data, report
from lecun98.config import DISTORTED, MODERN, Config
from lecun98.errors import Lecun98Error, run_script
from lecun98.train import train

CONFIGS = {
    "lenet5": Config(),
    "lenet5_distorted": Config(**DISTORTED),  # 60,000 originals + 540,000 copies
    "modern": Config().replace(**MODERN, dtype="float32", threads=1),
}
FILES = ("config.json", "env.json", "metrics.csv", "summary.json", "checkpoint.npz",
         "predictions.npy")


def main(name: str = "lenet5", *extra: str) -> int:
    if extra or name not in CONFIGS:
        raise Lecun98Error(f"usage: python experiments/reproduce.py [{'|'.join(CONFIGS)}]")
    run, published = Path("runs") / name, Path("results") / name
    summary = train(CONFIGS[name], run)
    with np.load(run / "checkpoint.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    raw, labels = data.load_mnist_raw("test")
    lo, hi = arrays["input_levels"]
    images = data.normalise(raw, background=lo, foreground=hi)
    from_formulas = 100.0 * np.mean(checkpoint.evaluate_from_formulas(arrays, images) != labels)
    summary["test_error_pct_from_checkpoint"] = float(from_formulas)
    (run / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    published.mkdir(parents=True, exist_ok=True)
    for file in FILES:
        shutil.copy2(run / file, published / file)
    report.fig5(published)
    report.main()
    print(json.dumps(summary, indent=2))
    if abs(from_formulas - summary["test_error_pct"]) > 1e-9:
        print("error: the checkpoint evaluated by the formulas disagrees with training's own "
              f"evaluation ({from_formulas:.2f}% vs {summary['test_error_pct']:.2f}%)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_script(lambda: main(*sys.argv[1:])))
