"""2x2 max-pooling (the modern LeNet-5's subsampling), over the wide layout of conv.py.

out[c, i, j] = max of the block x[c, 2i:2i+2, 2j:2j+2]; `arg` (int32) keeps the offset in x's
row of the block's maximum (the first of equal values, in row-major order), and bprop sends
each gradient there. The comparisons are selects, not branches, so the loop vectorises.
"""

import numpy as np

from lecun98.jit import kernel


@kernel
def maxpool_fprop(x, width, out, arg):
    # x: (C, 2*Ho*W), row stride `width` ; out: (C, Ho*Ho) ; arg: (C, Ho*Ho) int32
    ho = x.shape[1] // (2 * width)
    for c in range(out.shape[0]):
        xc, oc, ac = x[c], out[c], arg[c]
        for i in range(ho):
            r0 = 2 * i * width
            r1 = r0 + width
            for j in range(ho):
                best, at = xc[r0 + 2 * j], np.int32(r0 + 2 * j)
                v = xc[r0 + 2 * j + 1]
                at = np.int32(r0 + 2 * j + 1) if v > best else at
                best = max(best, v)
                v = xc[r1 + 2 * j]
                at = np.int32(r1 + 2 * j) if v > best else at
                best = max(best, v)
                v = xc[r1 + 2 * j + 1]
                at = np.int32(r1 + 2 * j + 1) if v > best else at
                best = max(best, v)
                oc[i * ho + j] = best
                ac[i * ho + j] = at


@kernel
def maxpool_bprop(g, arg, gx):
    # g, arg: (C, Ho*Ho) ; gx: (C, 2*Ho*W), overwritten: zero but at each block's maximum
    gx[:, :] = 0.0
    for c in range(g.shape[0]):
        for k in range(g.shape[1]):
            gx[c, arg[c, k]] = g[c, k]
