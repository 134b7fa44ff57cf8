"""Output layer and loss: the fixed RBF prototypes (Fig. 3) with the MAP criterion (eq. 9),
against the same RBF with MLE (eq. 8), other values of eq. (9)'s j, and a trained softmax layer
with cross-entropy; and the RBF with MAP put back into the modern network.
Usage: python experiments/ablate_output.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script

FAMILIES = (
    Family("output", "Output layer and loss", "1998",
           (Variant("RBF + MLE", {"loss": "mle"}),
            Variant("RBF + MAP, j = 1", {"j": 1.0}),
            Variant("RBF + MAP, j = 100", {"j": 100.0}),
            Variant("softmax + CE", {"output": "softmax", "loss": "ce"}))),
    Family("modern.output", "Output layer and loss", "modern",
           (Variant("RBF + MAP", {"output": "rbf", "loss": "map"}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
