"""The paper's figures and the robustness study from the published runs, into results/figures/:
Fig. 3 (the RBF prototypes), Fig. 7 (distorted examples), Fig. 8 (every test digit the
distortion-trained net gets wrong), the C1 kernels and feature maps of one digit (Figs. 2 and 4),
and test error under rotation, scaling and shift for the 1998, the distortion-trained and the
modern nets. Fig. 6 is experiments/training_size.py's. Then README.md's blocks are regenerated.
Usage: python experiments/figures.py   (part of make reproduce; needs results/lenet5,
results/lenet5_distorted and results/modern)
"""

import json
import sys
from pathlib import Path

from lecun98 import figures, report
from lecun98.errors import Lecun98Error, run_script

RESULTS = Path("results")
OUT = RESULTS / "figures"
NETS = {"1998 LeNet-5": RESULTS / "lenet5",
        "1998 LeNet-5, trained with distortions": RESULTS / "lenet5_distorted",
        "modern LeNet-5": RESULTS / "modern"}


def main() -> int:
    missing = [str(p) for p in NETS.values() if not (p / "checkpoint.npz").exists()]
    if missing:
        raise Lecun98Error(f"{', '.join(missing)} missing: run make reproduce first")
    OUT.mkdir(parents=True, exist_ok=True)
    print(figures.prototypes(OUT / "fig3_prototypes.png"))
    print(figures.distortion_examples(OUT / "fig7_distortions.png"))
    distorted = NETS["1998 LeNet-5, trained with distortions"]
    path, count = figures.misclassified(distorted, OUT / "fig8_misclassified.png")
    print(path)
    summary = json.loads((distorted / "summary.json").read_text())
    if count != round(summary["test_error_pct"] * 100):  # 10,000 test images
        print(f"error: Fig. 8 shows {count} digits but summary.json reports "
              f"{summary['test_error_pct']:.2f}%", file=sys.stderr)
        return 1
    print(figures.feature_maps(NETS["1998 LeNet-5"] / "checkpoint.npz",
                               OUT / "feature_maps.png"))
    print(figures.robustness(NETS, OUT / "robustness.png", OUT / "robustness.csv"))
    report.main()
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main, interrupted="interrupted", usage=__doc__))
