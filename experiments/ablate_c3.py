"""C3's connections: Table I (60 of the 96 S2-C3 map pairs) against every S2 map into every C3
map; and Table I put back into the modern network.
Usage: python experiments/ablate_c3.py (this family alone; make ablations runs all)."""

import sys

from lecun98.ablations import Family, Variant, main
from lecun98.errors import run_script

FAMILIES = (
    Family("c3", "C3 connections", "1998", (Variant("full", {"c3": "full"}),)),
    Family("modern.c3", "C3 connections", "modern", (Variant("Table I", {"c3": "table"}),)),
)

if __name__ == "__main__":
    sys.exit(run_script(lambda: main(FAMILIES), usage=__doc__))
