"""Optimiser: stochastic diagonal Levenberg-Marquardt (Appendix C) against plain per-pattern SGD
with the same passes and schedule (steps eta / mu: SDLM without the curvature) and against Adam
on the modern network's mini-batches; and SDLM put back into the modern network (per pattern,
the paper's schedule).
Usage: python experiments/ablate_optimiser.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script
from lecun98.config import MODERN

FAMILIES = (
    Family("optimiser", "Optimiser", "1998",
           (Variant("SGD", {"optimiser": "sgd"}),
            Variant("Adam", {"optimiser": "adam", "batch": MODERN["batch"], "lr": MODERN["lr"]}))),
    Family("modern.optimiser", "Optimiser", "modern",
           (Variant("SDLM", {"optimiser": "sdlm", "batch": 1}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
