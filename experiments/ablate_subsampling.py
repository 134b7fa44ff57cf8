"""Subsampling (S2, S4): the paper's trainable coefficient and bias per map (then the
activation) against plain 2x2 averaging and 2x2 max-pooling (no parameters, no activation);
and the trainable subsampling put back into the modern network.
Usage: python experiments/ablate_subsampling.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script

FAMILIES = (
    Family("subsampling", "Subsampling", "1998",
           (Variant("average", {"pooling": "average"}),
            Variant("max", {"pooling": "max"}))),
    Family("modern.subsampling", "Subsampling", "modern",
           (Variant("trainable", {"pooling": "trainable"}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
