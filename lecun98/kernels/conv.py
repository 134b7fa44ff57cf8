"""Convolution layers C1 and C3 (Section II-B), over an explicit list of links (Table I).

a[o, i, j] = b[o] + sum over links l into o of sum_{u,v} w[l, u, v] x[in_l, i + u, j + v]
(a cross-correlation, as in the checkpoint format). C3 visits only its 60 links: no dense
convolution with a mask.

Layout ("wide" rows): every map is one flat row-major vector whose row stride is the INPUT
width W. An output map of Ho x Wo (Wo = W - K + 1) is stored as Ho * W values; out[i, j] sits at
i * W + j, and the K - 1 slots past each output row are scratch. Then every (u, v) tap of a link
is a single contiguous loop over n of length (Ho - 1) * W + Wo: out[n] += w * x[n + u W + v],
which vectorises, instead of Ho short rows. Scratch slots hold finite junk after fprop; gradient
inputs `ga` / `ha` must be zero there (subsampling's bprop writes them so).
"""

from lecun98.jit import inline, kernel


@inline
def _correlate_full(g, taps, n_out, out, off):
    # out[m + off] += sum_v taps[v] g[m - v] over 0 <= m - v < n_out: the input gradient of
    # one kernel row, gathered per input position (vectorises; a scatter per tap would not).
    k = taps.size
    for m in range(min(k - 1, n_out + k - 1)):  # left edge
        acc = 0.0
        for v in range(0, m + 1):
            if m - v < n_out:
                acc += taps[v] * g[m - v]
        out[m + off] += acc
    if k == 5:  # interior, every tap in range; LeNet-5's kernel width written out
        t0, t1, t2, t3, t4 = taps[0], taps[1], taps[2], taps[3], taps[4]
        for q in range(n_out - 4):  # m = q + 4; indices written non-negative so this vectorises
            out[q + 4 + off] += t0 * g[q + 4] + t1 * g[q + 3] + t2 * g[q + 2] + t3 * g[q + 1] + t4 * g[q]
    else:
        for v in range(k):
            tv = taps[v]
            for q in range(n_out - k + 1):  # m = q + k - 1
                out[q + k - 1 + off] += tv * g[q + k - 1 - v]
    for m in range(max(n_out, k - 1), n_out + k - 1):  # right edge
        acc = 0.0
        for v in range(m - n_out + 1, k):
            if v <= m:
                acc += taps[v] * g[m - v]
        out[m + off] += acc


@kernel
def conv_fprop(x, w, b, link_out, link_in, width, a):
    # x: (Cin, H*W) ; w: (L, K, K) ; b: (Cout,) ; link_out, link_in: (L,) ; a: (Cout, Ho*W)
    k = w.shape[1]
    n_out = a.shape[1] - k + 1
    for o in range(a.shape[0]):
        for n in range(n_out):
            a[o, n] = b[o]
        for n in range(n_out, a.shape[1]):
            a[o, n] = 0.0
    for l in range(w.shape[0]):
        ao = a[link_out[l]]
        xc = x[link_in[l]]
        for u in range(k):
            off = u * width
            if k == 5:  # LeNet-5: the 5 taps of a kernel row per output, one load/store of ao
                w0, w1, w2, w3, w4 = w[l, u, 0], w[l, u, 1], w[l, u, 2], w[l, u, 3], w[l, u, 4]
                for n in range(n_out):
                    ao[n] += (w0 * xc[n + off] + w1 * xc[n + off + 1] + w2 * xc[n + off + 2]
                              + w3 * xc[n + off + 3] + w4 * xc[n + off + 4])
            else:
                for v in range(k):
                    wv = w[l, u, v]
                    for n in range(n_out):
                        ao[n] += wv * xc[n + off + v]


@kernel
def conv_bprop(x, w, link_out, link_in, width, ga, gx, gw, gb):
    # ga: (Cout, Ho*W), zero on scratch slots ; gx: (Cin, H*W), or None when the input
    # gradient is not wanted (C1) ; gw: (L, K, K) ; gb: (Cout,). All outputs are overwritten.
    k = w.shape[1]
    n_out = ga.shape[1] - k + 1
    for o in range(ga.shape[0]):
        acc = 0.0
        for n in range(ga.shape[1]):
            acc += ga[o, n]
        gb[o] = acc
    if gx is not None:
        gx[:, :] = 0.0
    for l in range(w.shape[0]):
        g = ga[link_out[l]]
        c = link_in[l]
        xc = x[c]
        for u in range(k):
            if k == 5:  # one pass over n for the 5 taps of a kernel row
                off = u * width
                s0 = s1 = s2 = s3 = s4 = 0.0
                for n in range(n_out):
                    gn = g[n]
                    s0 += gn * xc[n + off]
                    s1 += gn * xc[n + off + 1]
                    s2 += gn * xc[n + off + 2]
                    s3 += gn * xc[n + off + 3]
                    s4 += gn * xc[n + off + 4]
                gw[l, u, 0], gw[l, u, 1], gw[l, u, 2], gw[l, u, 3], gw[l, u, 4] = s0, s1, s2, s3, s4
            else:
                for v in range(k):
                    off = u * width + v
                    acc = 0.0
                    for n in range(n_out):
                        acc += g[n] * xc[n + off]
                    gw[l, u, v] = acc
            if gx is not None:
                _correlate_full(g, w[l, u], n_out, gx[c], u * width)


@kernel
def conv_bbprop(x, w, link_out, link_in, width, ha, hx, hw, hb):
    # Second derivatives, eqs. (23)-(27): hw[l,u,v] = sum_n ha[o,n] x[c,n+off]^2 (summed over
    # the connections sharing the weight), hx[c, n+off] += w^2 ha[o,n]. Shapes as conv_bprop.
    k = w.shape[1]
    n_out = ha.shape[1] - k + 1
    for o in range(ha.shape[0]):
        acc = 0.0
        for n in range(ha.shape[1]):
            acc += ha[o, n]
        hb[o] = acc
    if hx is not None:
        hx[:, :] = 0.0
    for l in range(w.shape[0]):
        h = ha[link_out[l]]
        c = link_in[l]
        xc = x[c]
        for u in range(k):
            for v in range(k):
                off = u * width + v
                acc = 0.0
                for n in range(n_out):
                    xv = xc[n + off]
                    acc += h[n] * xv * xv
                hw[l, u, v] = acc
            if hx is not None:
                _correlate_full(h, w[l, u] * w[l, u], n_out, hx[c], u * width)
