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

from lecun98.jit import kernel, like


@kernel
def _correlate_full(g, taps, n_out, out, off):
    # out[m + off] += sum_v taps[v] g[m - v] over 0 <= m - v < n_out: the input gradient of
    # one kernel row, gathered per input position (vectorises; a scatter per tap would not).
    # g is a whole wide row: its K - 1 slots past n_out are scratch, zero (module docstring).
    k = taps.size
    if k == 5:  # LeNet-5: the zero scratch lets one loop run to the right end; 4 left-edge sums
        t0, t1, t2, t3, t4 = taps[0], taps[1], taps[2], taps[3], taps[4]
        out[off] += t0 * g[0]
        out[off + 1] += t0 * g[1] + t1 * g[0]
        out[off + 2] += t0 * g[2] + t1 * g[1] + t2 * g[0]
        out[off + 3] += t0 * g[3] + t1 * g[2] + t2 * g[1] + t3 * g[0]
        for q in range(n_out):  # m = q + 4; indices written non-negative so this vectorises
            out[q + 4 + off] += t0 * g[q + 4] + t1 * g[q + 3] + t2 * g[q + 2] + t3 * g[q + 1] + t4 * g[q]
        return
    for m in range(n_out + k - 1):
        acc = like(g, 0.0)
        for v in range(max(0, m - n_out + 1), min(k, m + 1)):
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
def conv_bprop(x, w, link_out, link_in, width, ga, gx, gw, gb, add):
    # ga: (Cout, Ho*W), zero on scratch slots ; gx: (Cin, H*W), or None when the input
    # gradient is not wanted (C1), overwritten ; gw: (L, K, K) ; gb: (Cout,), overwritten, or
    # with `add` added to (a mini-batch's sum).
    k = w.shape[1]
    n_out = ga.shape[1] - k + 1
    for o in range(ga.shape[0]):
        acc = like(ga, 0.0)
        for n in range(ga.shape[1]):
            acc += ga[o, n]
        gb[o] = acc + gb[o] if add else acc
    if gx is not None:
        gx[:, :] = 0.0
    for l in range(w.shape[0]):
        g = ga[link_out[l]]
        c = link_in[l]
        xc = x[c]
        if k == 5:  # LeNet-5: kernel rows (0, 1), (2, 3), (4), one pass over n each
            for u in range(0, k, 2):
                _weight_grad_rows(g, xc, n_out, u * width, width, u + 1 < k, gw[l, u],
                                  gw[l, min(u + 1, k - 1)], add)
        else:
            for u in range(k):
                for v in range(k):
                    off = u * width + v
                    acc = like(ga, 0.0)
                    for n in range(n_out):
                        acc += g[n] * xc[n + off]
                    gw[l, u, v] = acc + gw[l, u, v] if add else acc
        if gx is not None:
            for u in range(k):
                _correlate_full(g, w[l, u], n_out, gx[c], u * width)


@kernel
def _weight_grad_rows(g, xc, n_out, off, width, two, out0, out1, add):
    # out0[v] = sum_n g[n] xc[n + off + v] for a 5-wide kernel row, and out1 likewise for the
    # next row when `two`: ten independent sums per pass over n keep both FMA units busy (five
    # alone wait on their own latency).
    a0 = a1 = a2 = a3 = a4 = like(g, 0.0)
    if two:
        b0 = b1 = b2 = b3 = b4 = like(g, 0.0)
        o1 = off + width
        for n in range(n_out):
            gn = g[n]
            a0 += gn * xc[n + off]
            a1 += gn * xc[n + off + 1]
            a2 += gn * xc[n + off + 2]
            a3 += gn * xc[n + off + 3]
            a4 += gn * xc[n + off + 4]
            b0 += gn * xc[n + o1]
            b1 += gn * xc[n + o1 + 1]
            b2 += gn * xc[n + o1 + 2]
            b3 += gn * xc[n + o1 + 3]
            b4 += gn * xc[n + o1 + 4]
        if add:
            b0, b1, b2, b3, b4 = b0 + out1[0], b1 + out1[1], b2 + out1[2], b3 + out1[3], b4 + out1[4]
        out1[0], out1[1], out1[2], out1[3], out1[4] = b0, b1, b2, b3, b4
    else:
        for n in range(n_out):
            gn = g[n]
            a0 += gn * xc[n + off]
            a1 += gn * xc[n + off + 1]
            a2 += gn * xc[n + off + 2]
            a3 += gn * xc[n + off + 3]
            a4 += gn * xc[n + off + 4]
    if add:
        a0, a1, a2, a3, a4 = a0 + out0[0], a1 + out0[1], a2 + out0[2], a3 + out0[3], a4 + out0[4]
    out0[0], out0[1], out0[2], out0[3], out0[4] = a0, a1, a2, a3, a4


@kernel
def conv_bbprop(x, w, link_out, link_in, width, ha, hx, hw, hb):
    # Second derivatives, eqs. (23)-(27): hw[l,u,v] = sum_n ha[o,n] x[c,n+off]^2 (summed over
    # the connections sharing the weight), hx[c, n+off] += w^2 ha[o,n]. Shapes as conv_bprop.
    k = w.shape[1]
    n_out = ha.shape[1] - k + 1
    for o in range(ha.shape[0]):
        acc = like(ha, 0.0)
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
                acc = like(ha, 0.0)
                for n in range(n_out):
                    xv = xc[n + off]
                    acc += h[n] * xv * xv
                hw[l, u, v] = acc
            if hx is not None:
                _correlate_full(h, w[l, u] * w[l, u], n_out, hx[c], u * width)
