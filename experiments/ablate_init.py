"""Weight initialisation: uniform in +-2.4 / F_i ** init_exponent (Appendix A, with our
ASSUMPTION(init) exponent) against Glorot and He (uniform); and the paper's put back into the
modern network. Biases keep each baseline's rule.
Usage: python experiments/ablate_init.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script

FAMILIES = (
    Family("init", "Initialisation", "1998",
           (Variant("Glorot", {"init": "glorot"}),
            Variant("He", {"init": "he"}))),
    Family("modern.init", "Initialisation", "modern",
           (Variant("2.4 / sqrt(F_i)", {"init": "paper"}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
