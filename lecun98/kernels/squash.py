"""Scaled hyperbolic tangent f(a) = A tanh(S a), eq. (6), Appendix A, as one scalar function
c1 tanh(c2 a) of any constants (activation.py also makes the logistic function from it).

libm's tanh cannot vectorise (~17 ns a call here); this one is branch-free, vectorises, and
stays within 4 ulp of A * np.tanh(S * a) over the whole line (tests/test_kernels.py):
tanh(y) = -m / (2 + m) with m = expm1(-2|y|), the sign restored, and expm1 by the usual range
reduction -2|y| = -k ln2 + r, |r| <= ln2/2, a degree-14 Taylor polynomial and 2^-k written
straight into a float's exponent bits (a bit cast, so the whole loop stays in vector registers:
this CPU has no vector float-to-int64 conversion).

float32 arrays get their own constants: a degree-7 polynomial and 2^-k in float32 bits, within
a few float32 ulp of the same tanh (twice the values per vector, a third of the work).
"""

import math

import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from lecun98 import paper
from lecun98.jit import kernel

A = paper.SQUASH_A
S = paper.SQUASH_S
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split as in fdlibm: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_Z_MAX = 40.0  # e^-40 vanishes next to 1 in float64: tanh is +-1 beyond
_ROUND = 6755399441055744.0  # 1.5 * 2^52: for an integer k < 2^51, the low bits of k + _ROUND are k
_ROUND_BITS = 0x4338000000000000  # the bits of _ROUND
_EXPONENT_BIAS = 1023
(_C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13, _C14) = (
    1.0 / math.factorial(k) for k in range(1, 15)
)
# float32: the same reduction with fdlibm's expf split of ln 2 and a degree-7 polynomial
# (truncation error r^8/9! < 1e-9 for |r| <= ln2/2)
_f32 = np.float32
_TWO_32 = _f32(2.0)
_LN2_HI_32, _LN2_LO_32, _INV_LN2_32 = _f32(6.9314575195e-01), _f32(1.4286067653e-06), _f32(_INV_LN2)
_Z_MAX_32 = _f32(20.0)  # e^-20 vanishes next to 1 in float32
_HALF_32, _ONE_32 = _f32(0.5), _f32(1.0)
_ROUND_32 = _f32(12582912.0)  # 1.5 * 2^23
_ROUND_BITS_32 = 0x4B400000
_EXPONENT_BIAS_32 = 127
(_D1, _D2, _D3, _D4, _D5, _D6, _D7, _D8) = (_f32(1.0 / math.factorial(k)) for k in range(1, 9))


@kernel
def _expm1_neg(z):
    """e^-z - 1 for z >= 0, accurate to a few ulp, including z near 0."""
    z = min(z, _Z_MAX)
    k = math.floor(z * _INV_LN2 + 0.5)  # an integer, 0 <= k <= 58
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
    k_int = _bits(k + _ROUND) - _ROUND_BITS
    s = _from_bits((_EXPONENT_BIAS - k_int) << 52)  # 2^-k, exactly
    return s * (p * r) + (s - 1.0)


@intrinsic
def _bits(typingctx, x):
    """The IEEE-754 bits of a float64, as an int64 (a no-op bit cast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 `bits` (a no-op bit cast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@kernel
def _expm1_neg_32(z):
    """float32 e^-z - 1 for z >= 0."""
    z = min(z, _Z_MAX_32)
    k = np.floor(z * _INV_LN2_32 + _HALF_32)  # an integer (float32), 0 <= k <= 29
    r = (k * _LN2_HI_32 - z) + k * _LN2_LO_32
    p = _D8
    p = p * r + _D7
    p = p * r + _D6
    p = p * r + _D5
    p = p * r + _D4
    p = p * r + _D3
    p = p * r + _D2
    p = p * r + _D1
    k_int = _bits_32(k + _ROUND_32) - _ROUND_BITS_32
    s = _from_bits_32((_EXPONENT_BIAS_32 - k_int) << 23)
    return s * (p * r) + (s - _ONE_32)


@intrinsic
def _bits_32(typingctx, x):
    """The IEEE-754 bits of a float32, as an int64."""
    def codegen(context, builder, signature, args):
        i32 = builder.bitcast(args[0], context.get_value_type(types.int32))
        return builder.sext(i32, context.get_value_type(types.int64))
    return types.int64(types.float32), codegen


@intrinsic
def _from_bits_32(typingctx, bits):
    """The float32 whose IEEE-754 bits are the low 32 bits of `bits`."""
    def codegen(context, builder, signature, args):
        i32 = builder.trunc(args[0], context.get_value_type(types.int32))
        return builder.bitcast(i32, context.get_value_type(types.float32))
    return types.float32(types.int64), codegen


def scaled_tanh(a, c1, two_c2):
    """c1 tanh(c2 a) for one scalar, c1 and two_c2 = 2 c2 of its dtype (compiled code only)."""
    raise NotImplementedError("scaled_tanh is compiled inline into kernels (activation.py)")


@overload(scaled_tanh, inline="always")
def _scaled_tanh(a, c1, two_c2):
    if a == types.float32:
        def scaled_tanh_32(a, c1, two_c2):
            m = _expm1_neg_32(two_c2 * abs(a))
            t = -c1 * m / (_TWO_32 + m)
            return np.sign(a) * t  # exact; f(-0) = -0, f(NaN) = NaN
        return scaled_tanh_32

    def scaled_tanh_64(a, c1, two_c2):
        m = _expm1_neg(two_c2 * abs(a))
        return math.copysign(-c1 * m / (2.0 + m), a)
    return scaled_tanh_64
