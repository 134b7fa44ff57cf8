"""Every number LeNet-5 takes from the paper, with where it is stated.

LeCun, Bottou, Bengio & Haffner (1998), "Gradient-Based Learning Applied to Document
Recognition", Proc. IEEE 86(11). Section / equation / figure numbers follow the 46-page
preprint. Nothing here is tuned: choices the paper leaves open live in `config.py` and are
named `ASSUMPTION(<id>)` where they are made.
"""

import numpy as np

# --- Input (Section III-A) ------------------------------------------------------------------
IMAGE_SIZE = 32  # the 28x28 MNIST field "extended to 32x32 with background pixels"
MNIST_SIZE = 28
PAD = (IMAGE_SIZE - MNIST_SIZE) // 2
BACKGROUND = -0.1  # Section II-B: white background -> -0.1
FOREGROUND = 1.175  # black foreground -> 1.175, so the mean is ~0 and the variance ~1

# --- Squashing function (Eq. 6, Appendix A) -------------------------------------------------
SQUASH_A = 1.7159  # f(a) = A tanh(S a)
SQUASH_S = 2.0 / 3.0

# --- Architecture (Section II-B) ------------------------------------------------------------
KERNEL = 5
C1_MAPS, S2_MAPS, C3_MAPS, S4_MAPS = 6, 6, 16, 16
C5_UNITS, F6_UNITS, N_CLASSES = 120, 84, 10
C1_SIZE, S2_SIZE, C3_SIZE, S4_SIZE = 28, 14, 10, 5

# Table I: which S2 maps (rows) each C3 map (columns) reads.
C3_TABLE = np.array(
    [
        [1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1],
        [1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1],
        [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1],
        [0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1],
        [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1],
        [0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1],
    ],
    dtype=np.bool_,
)
C3_TABLE.setflags(write=False)

# Section II-B: trainable parameters and connections per layer. A connection counts the
# bias too (C1: 28*28*6*(25+1) = 122,304). The OUTPUT layer has 840 fixed connections.
PARAMETERS = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}
CONNECTIONS = {
    "c1": 122_304,
    "s2": 5_880,
    "c3": 151_600,
    "s4": 2_000,
    "c5": 48_120,
    "f6": 10_164,
    "output": 840,
}
TOTAL_PARAMETERS = 60_000
TOTAL_CONNECTIONS = 340_908

# Fig. 3: the RBF prototypes, 7x12 stylised bitmaps, '#' = +1, '.' = -1, read row-major.
_RBF_BITMAPS = """
   '0'      '1'      '2'      '3'      '4'      '5'      '6'      '7'      '8'      '9'
 .#####.  ...##..  .#####.  #######  .#####.  .#####.  ..####.  #######  .#####.  .#####.
 .......  ..###..  .......  .....##  .......  .......  .##....  .....##  ##...##  ##..###
 ..###..  .####..  .#####.  ....##.  .......  #######  ##.....  .....##  ##...##  ##...##
 .##.##.  ...##..  ##...##  ...##..  .##..##  ##.....  ##.....  ....##.  ##...##  ##...##
 ##...##  ...##..  #....##  ..####.  .##..##  ##.....  ######.  ...##..  .#####.  ##..###
 ##...##  ...##..  ....##.  .....##  ###..##  .####..  ###..##  ...##..  ##...##  .######
 ##...##  ...##..  ..###..  .....##  ##...##  ..####.  ##...##  ..##...  ##...##  .....##
 ##...##  ...##..  .##....  .....##  ##...##  .....##  ##...##  ..##...  ##...##  .....##
 .##.##.  ...##..  ##.....  ##...##  ##..###  ##...##  ###..##  ..##...  ##...##  ....##.
 ..###..  .######  #######  .#####.  .######  .#####.  .#####.  ..##...  .#####.  .####..
 .......  .......  .......  .......  .....##  .......  .......  .......  .......  .......
 .......  .......  .......  .......  .....##  .......  .......  .......  .......  .......
"""
BITMAP_ROWS, BITMAP_COLS = 12, 7


def _parse_bitmaps(text: str) -> np.ndarray:
    lines = [line.split() for line in text.strip("\n").splitlines()[1:]]
    digits = [[row[d] for row in lines] for d in range(N_CLASSES)]
    flat = ["".join(rows) for rows in digits]
    return np.array([[1.0 if ch == "#" else -1.0 for ch in f] for f in flat])


RBF_PROTOTYPES = _parse_bitmaps(_RBF_BITMAPS)  # (10, 84) of +-1, eq. (7)
RBF_PROTOTYPES.setflags(write=False)

# --- Loss (Section II-C) ---------------------------------------------------------------------
# Eq. (8), MLE: E = mean_p y_{D_p}.  Eq. (9), MAP: E = mean_p [y_{D_p} + log(e^-j + sum_i e^-y_i)].
# The value of j is open (config.py).

# --- Training (Section III-B, Appendix A, Appendix C) ----------------------------------------
PASSES = 20
INIT_SCALE = 2.4  # Appendix A: weights uniform in [-2.4/F_i, 2.4/F_i], F_i = fan-in
SDLM_MU = 0.02  # Appendix C: eps_k = eta / (mu + h_kk)
HESSIAN_PATTERNS = 500  # h_kk re-estimated on 500 patterns before each pass


def eta_schedule(passes: int = PASSES) -> np.ndarray:
    """Global learning rate of each pass (1-based passes 1-2, 3-5, 6-8, 9-12, 13-20)."""
    eta = np.empty(passes)
    for p in range(passes):
        n = p + 1
        if n <= 2:
            eta[p] = 5e-4
        elif n <= 5:
            eta[p] = 2e-4
        elif n <= 8:
            eta[p] = 1e-4
        elif n <= 12:
            eta[p] = 5e-5
        else:
            eta[p] = 1e-5
    return eta


# --- Results (Section III-C) ------------------------------------------------------------------
TEST_ERROR_PCT = 0.95
TEST_ERROR_DISTORTED_PCT = 0.8
TRAIN_ERROR_PCT = 0.35  # after 19 passes
QUOTED_UNCERTAINTY_PCT = 0.1

# Fig. 5, digitised: error (%) after each pass; the training error was measured on the fly.
FIG5_TEST_PCT = np.array(
    [2.65, 2.23, 1.48, 1.43, 1.43, 1.09, 1.04, 1.06, 0.99, 0.96,
     0.96, 0.99, 0.96, 0.96, 0.96, 0.96, 0.96, 0.96, 0.96, 0.96]
)
FIG5_TRAIN_PCT = np.array(
    [4.88, 3.04, 1.77, 1.48, 1.22, 0.91, 0.78, 0.70, 0.57, 0.49,
     0.47, 0.44, 0.42, 0.39, 0.39, 0.39, 0.39, 0.36, 0.36, 0.36]
)

# Fig. 6, digitised: error (%) vs training-set size.
FIG6_SIZES = np.array([15_000, 30_000, 60_000])
FIG6_TEST_PCT = np.array([1.68, 1.14, 0.94])
FIG6_TRAIN_PCT = np.array([0.05, 0.31, 0.35])
FIG6_TEST_DISTORTED_PCT = 0.82  # with distortions: the 60,000 point only

# Fig. 8: the test digits the distortion-trained net misclassifies.
FIG8_MISCLASSIFIED = 82

# Figs. 11-12: ~401k multiply-adds per recognition; 2-3 days on a 200 MHz R10000.
MULTIPLY_ADDS_PER_RECOGNITION = 401_000
