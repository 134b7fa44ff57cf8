"""Fully connected layers C5 and F6 (Section II-B): a = W x + b.

C5 is a 5x5 convolution over the 5x5 S4 maps, i.e. a full connection from the 400 S4 units.
"""

from lecun98.jit import kernel


@kernel
def full_fprop(x, w, b, a):
    # x: (n_in,) ; w: (n_out, n_in) ; b, a: (n_out,)
    for k in range(w.shape[0]):
        acc = b[k]
        for j in range(w.shape[1]):
            acc += w[k, j] * x[j]
        a[k] = acc


@kernel
def full_bprop(x, w, ga, gx, gw, gb, add):
    # ga: (n_out,) ; gx: (n_in,), overwritten ; gw: (n_out, n_in) ; gb: (n_out,), overwritten,
    # or with `add` added to (a mini-batch's sum)
    gx[:] = 0.0
    for k in range(w.shape[0]):
        g = ga[k]
        wk, gwk = w[k], gw[k]
        if add:
            gb[k] += g
            for j in range(w.shape[1]):
                gx[j] += wk[j] * g
                gwk[j] += g * x[j]
        else:
            gb[k] = g
            for j in range(w.shape[1]):
                gx[j] += wk[j] * g
                gwk[j] = g * x[j]


@kernel
def full_bbprop(x, w, ha, hx, hw, hb):
    # eqs. (25), (27): hw[k, j] = ha[k] x[j]^2 ; hx[j] = sum_k w[k, j]^2 ha[k]
    hx[:] = 0.0
    for k in range(w.shape[0]):
        h = ha[k]
        hb[k] = h
        for j in range(w.shape[1]):
            hx[j] += w[k, j] * w[k, j] * h
            hw[k, j] = h * x[j] * x[j]


@kernel
def full_bprop_step(x, w, b, eps_w, eps_b, ga, gx):
    # bprop fused with the SDLM step (training): gx as full_bprop, from the OLD weights, then
    # w[k, j] -= eps_w[k, j] * ga[k] x[j] and b[k] -= eps_b[k] ga[k]. The 58,000 weights of C5
    # and F6 are streamed once per pattern, and no gradient array is written.
    gx[:] = 0.0
    for k in range(w.shape[0]):
        g = ga[k]
        wk = w[k]
        ek = eps_w[k]
        for j in range(w.shape[1]):
            gx[j] += wk[j] * g
            wk[j] -= ek[j] * (g * x[j])
        b[k] -= eps_b[k] * g
