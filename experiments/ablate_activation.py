"""Activation function: the paper's scaled tanh, A tanh(S a) (eq. 6), against ReLU and the
logistic function in every layer; and the scaled tanh put back into the modern network.
Usage: python experiments/ablate_activation.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script

FAMILIES = (
    Family("activation", "Activation function", "1998",
           (Variant("ReLU", {"activation": "relu"}),
            Variant("logistic", {"activation": "logistic"}))),
    Family("modern.activation", "Activation function", "modern",
           (Variant("scaled tanh", {"activation": "tanh"}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
