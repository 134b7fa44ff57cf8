"""Scaled hyperbolic tangent f(a) = A tanh(S a), eq. (6), Appendix A.

libm's tanh cannot vectorise (~17 ns a call here); this one is branch-free, vectorises, and
stays within 4 ulp of A * np.tanh(S * a) over the whole line (tests/test_kernels.py):
tanh(y) = -m / (2 + m) with m = expm1(-2|y|), the sign restored, and expm1 by the usual range
reduction -2|y| = -k ln2 + r, |r| <= ln2/2, a degree-14 Taylor polynomial and 2^-k built
exactly from the bits of k.

f'(a) is computed from the output: f' = S A (1 - tanh^2) = (S / A) (A^2 - x^2).
"""

import math

import numpy as np

from lecun98 import paper
from lecun98.jit import inline, kernel

A = paper.SQUASH_A
S = paper.SQUASH_S
_DERIV = S / A
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split as in fdlibm: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_Z_MAX = 40.0  # e^-40 vanishes next to 1 in float64: tanh is +-1 beyond
(_C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13, _C14) = (
    1.0 / math.factorial(k) for k in range(1, 15)
)


@inline
def _expm1_neg(z):
    """e^-z - 1 for z >= 0, accurate to a few ulp, including z near 0."""
    z = min(z, _Z_MAX)
    k = np.int64(z * _INV_LN2 + 0.5)
    r = (k * _LN2_HI - z) + k * _LN2_LO  # e^-z = 2^-k e^r
    p = _C14
    p = p * r + _C13
    p = p * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + _C1  # (e^r - 1) / r
    s = 1.0  # 2^-k, k <= 58
    s *= 0.5 if k & 1 else 1.0
    s *= 0.25 if k & 2 else 1.0
    s *= 0.0625 if k & 4 else 1.0
    s *= 0.00390625 if k & 8 else 1.0
    s *= 1.52587890625e-05 if k & 16 else 1.0
    s *= 2.3283064365386963e-10 if k & 32 else 1.0
    return s * (p * r) + (s - 1.0)


@inline
def squash(a):
    m = _expm1_neg(2.0 * S * abs(a))
    return math.copysign(-A * m / (2.0 + m), a)


@kernel
def squash_fprop(a, x):
    # a, x: (n,) ; x = f(a); x may be a itself
    for i in range(a.size):
        x[i] = squash(a[i])


@kernel
def squash_bprop(x, gx, ga):
    # x, gx, ga: (n,) ; dE/da = dE/dx f'(a); ga may be gx itself
    for i in range(x.size):
        ga[i] = gx[i] * (_DERIV * (A * A - x[i] * x[i]))


@kernel
def squash_bbprop(x, hx, ha):
    # x, hx, ha: (n,) ; d2E/da2 = d2E/dx2 f'(a)^2, eq. (27) without the f'' term
    for i in range(x.size):
        d = _DERIV * (A * A - x[i] * x[i])
        ha[i] = hx[i] * d * d
