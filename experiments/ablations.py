"""make ablations: every one-factor ablation (experiments/ablate_*.py), 3 seeds each, from the
1998 LeNet-5 and, one 1998 idea put back, from the modern one -> runs/ablations/ (two runs at a
time; an interrupted sweep resumes where it stopped) and results/ablations/ (table.csv,
README.md, ablations.png, curves.png), then the README's tables.
Usage: make ablations (part of make reproduce)."""

import sys

import ablate_activation
import ablate_c3
import ablate_init
import ablate_input
import ablate_optimiser
import ablate_output
import ablate_subsampling

from lecun98 import ablations, report
from lecun98.errors import run_script
from lecun98.runinfo import REPO

FAMILIES = (ablate_activation.FAMILIES + ablate_subsampling.FAMILIES + ablate_c3.FAMILIES
            + ablate_output.FAMILIES + ablate_optimiser.FAMILIES + ablate_input.FAMILIES
            + ablate_init.FAMILIES)


def main() -> None:
    ablations.main(FAMILIES, out=REPO / "results" / "ablations")
    report.main()


if __name__ == "__main__":
    sys.exit(run_script(main, usage=__doc__))
