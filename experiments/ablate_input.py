"""Input scaling: the paper's levels, background -0.1 and foreground 1.175 (Section II-B),
against [0, 1] and against standardised inputs (mean 0, variance 1 over the training images);
and the paper's levels put back into the modern network.
Usage: python experiments/ablate_input.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script

FAMILIES = (
    Family("input", "Input scaling", "1998",
           (Variant("[0, 1]", {"input": "unit"}),
            Variant("standardised", {"input": "standard"}))),
    Family("modern.input", "Input scaling", "modern",
           (Variant("[-0.1, 1.175]", {"input": "paper"}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
