"""The activation function of every layer C1..F6 (and IDENTITY after parameter-free pooling).

TANH is the family x = c0 + c1 tanh(c2 a), constants c = (c0, c1, c2) of the arrays' dtype:
    the paper's squashing function, eq. (6): (0, A, S) = (0, 1.7159, 2/3)
    the logistic function 1 / (1 + e^-a):     (1/2, 1/2, 1/2)
with tanh from squash.py (branch-free, vectorises). Derivatives come from the output:
    f'(a) = c1 c2 (1 - t^2) = (c2 / c1) (c1^2 - (x - c0)^2),  t = tanh(c2 a) = (x - c0) / c1
RELU is max(a, 0), f' = [x > 0] (0 at a = 0).
Second derivatives drop f'' (eq. 27): d2E/da2 = d2E/dx2 f'(a)^2.
"""

from lecun98 import paper
from lecun98.jit import kernel, like
from lecun98.kernels.squash import scaled_tanh

TANH, RELU, IDENTITY = 0, 1, 2
CONSTANTS = {"tanh": (0.0, paper.SQUASH_A, paper.SQUASH_S), "logistic": (0.5, 0.5, 0.5),
             "relu": (0.0, 1.0, 1.0)}  # relu's are unused
KINDS = {"tanh": TANH, "logistic": TANH, "relu": RELU}


@kernel
def activation_fprop(kind, c, a, x):
    # a, x: (n,) ; c: (3,) ; x = f(a)
    if kind == RELU:
        zero = like(a, 0.0)
        for i in range(a.size):
            x[i] = max(a[i], zero)
    elif kind == IDENTITY:
        for i in range(a.size):
            x[i] = a[i]
    else:
        c0, c1, two_c2 = c[0], c[1], c[2] + c[2]
        for i in range(a.size):
            x[i] = c0 + scaled_tanh(a[i], c1, two_c2)


@kernel
def activation_bprop(kind, c, x, gx, ga):
    # x, gx, ga: (n,) ; dE/da = dE/dx f'(a), f' from the output x
    if kind == RELU:
        for i in range(x.size):
            ga[i] = gx[i] if x[i] > 0.0 else like(gx, 0.0)
    elif kind == IDENTITY:
        for i in range(x.size):
            ga[i] = gx[i]
    else:
        c0, deriv, c1sq = c[0], c[2] / c[1], c[1] * c[1]
        for i in range(x.size):
            t = x[i] - c0
            ga[i] = gx[i] * (deriv * (c1sq - t * t))


@kernel
def activation_bbprop(kind, c, x, hx, ha):
    # x, hx, ha: (n,) ; d2E/da2 = d2E/dx2 f'(a)^2, eq. (27) without the f'' term
    if kind == RELU:
        for i in range(x.size):
            ha[i] = hx[i] if x[i] > 0.0 else like(hx, 0.0)
    elif kind == IDENTITY:
        for i in range(x.size):
            ha[i] = hx[i]
    else:
        c0, deriv, c1sq = c[0], c[2] / c[1], c[1] * c[1]
        for i in range(x.size):
            t = x[i] - c0
            d = deriv * (c1sq - t * t)
            ha[i] = hx[i] * d * d
