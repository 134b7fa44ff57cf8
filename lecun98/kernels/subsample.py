"""Subsampling layers S2 and S4 (Section II-B): one trainable coefficient and bias per map.

s[c, i, j] = sum of the 2x2 block x[c, 2i:2i+2, 2j:2j+2]
a[c, i, j] = coef[c] * scale * s[c, i, j] + bias[c]

scale = 1 adds the four inputs (Section II-B), scale = 1/4 averages them (Section II-A): see
ASSUMPTION(subsampling) in config.py. The input x is a conv output in the wide layout of
conv.py (row stride `width`, Hin = 2 * Ho rows); s and a are compact Ho x Ho maps, flattened.
"""

from lecun98.jit import kernel, like


@kernel
def subsample_fprop(x, coef, bias, scale, width, s, a):
    # x: (C, 2*Ho*W) ; coef, bias: (C,) ; s, a: (C, Ho*Ho)
    ho = x.shape[1] // (2 * width)
    for c in range(a.shape[0]):
        k = coef[c] * like(coef, scale)
        for i in range(ho):
            r0 = 2 * i * width
            r1 = r0 + width
            for j in range(ho):
                t = x[c, r0 + 2 * j] + x[c, r0 + 2 * j + 1] + x[c, r1 + 2 * j] + x[c, r1 + 2 * j + 1]
                s[c, i * ho + j] = t
                a[c, i * ho + j] = k * t + bias[c]


@kernel
def subsample_bprop(coef, scale, width, s, ga, gx, gcoef, gbias, add):
    # s, ga: (C, Ho*Ho) ; gx: (C, 2*Ho*W), written everywhere (zero on scratch slots) ;
    # gcoef, gbias: (C,) overwritten, or with `add` added to
    ho = gx.shape[1] // (2 * width)
    gx[:, :] = 0.0
    for c in range(ga.shape[0]):
        k = coef[c] * like(coef, scale)
        acc_s = acc_b = like(ga, 0.0)
        for i in range(ho):
            r0 = 2 * i * width
            r1 = r0 + width
            for j in range(ho):
                g = ga[c, i * ho + j]
                acc_s += g * s[c, i * ho + j]
                acc_b += g
                d = k * g
                gx[c, r0 + 2 * j] = d
                gx[c, r0 + 2 * j + 1] = d
                gx[c, r1 + 2 * j] = d
                gx[c, r1 + 2 * j + 1] = d
        gcoef[c] = scale * acc_s + gcoef[c] if add else scale * acc_s
        gbias[c] = acc_b + gbias[c] if add else acc_b


@kernel
def subsample_bbprop(x, coef, scale, width, ha, hx, hcoef, hbias):
    # eqs. (23)-(27): each of the 4 connections into a unit has weight coef*scale and input x,
    # so hcoef = scale^2 sum_units ha * sum_4 x^2 and hx = (coef*scale)^2 ha. Shapes as bprop.
    ho = hx.shape[1] // (2 * width)
    hx[:, :] = 0.0
    for c in range(ha.shape[0]):
        k2 = (coef[c] * like(coef, scale)) * (coef[c] * like(coef, scale))
        acc_c = acc_b = like(ha, 0.0)
        for i in range(ho):
            r0 = 2 * i * width
            r1 = r0 + width
            for j in range(ho):
                h = ha[c, i * ho + j]
                x00 = x[c, r0 + 2 * j]
                x01 = x[c, r0 + 2 * j + 1]
                x10 = x[c, r1 + 2 * j]
                x11 = x[c, r1 + 2 * j + 1]
                acc_c += h * (x00 * x00 + x01 * x01 + x10 * x10 + x11 * x11)
                acc_b += h
                d = k2 * h
                hx[c, r0 + 2 * j] = d
                hx[c, r0 + 2 * j + 1] = d
                hx[c, r1 + 2 * j] = d
                hx[c, r1 + 2 * j + 1] = d
        hcoef[c] = scale * scale * acc_c
        hbias[c] = acc_b
