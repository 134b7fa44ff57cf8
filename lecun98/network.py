"""LeNet-5 for one pattern, compiled: C1, S2, C3, S4, C5, F6, OUTPUT in paper order.

Parameters are the flat vector of layout.py; every activation, gradient and second derivative
lives in a preallocated Workspace, so the per-pattern passes allocate nothing.

    fprop   image -> y (the 10 RBF distances)
    bprop   dE/dy -> dE/dparams, optionally taking the SDLM step layer by layer as it goes
    bbprop  the Gauss-Newton diagonal of eqs. (23)-(27) for this pattern
"""

from collections import namedtuple

import numpy as np

from lecun98 import layout as L
from lecun98 import paper
from lecun98.jit import kernel
from lecun98.kernels.conv import conv_bbprop, conv_bprop, conv_fprop
from lecun98.kernels.full import full_bbprop, full_bprop, full_bprop_step, full_fprop
from lecun98.kernels.rbf import rbf_bprop, rbf_fprop
from lecun98.kernels.squash import squash_bbprop, squash_bprop, squash_fprop
from lecun98.kernels.subsample import subsample_bbprop, subsample_bprop, subsample_fprop

K = paper.KERNEL
W0 = paper.IMAGE_SIZE  # row stride of the input and (wide) C1 maps
W2 = paper.S2_SIZE  # row stride of the S2 maps and (wide) C3 maps
C1_LINK_OUT = np.arange(paper.C1_MAPS, dtype=np.int64)  # C1: every map reads the one input
C1_LINK_IN = np.zeros(paper.C1_MAPS, dtype=np.int64)
C3_LINK_OUT = L.C3_LINK_OUT
C3_LINK_IN = L.C3_LINK_IN
PROTOTYPES = np.ascontiguousarray(paper.RBF_PROTOTYPES)

# a*: weighted sums, x*: layer outputs, s*: subsampling block sums; gx*, ga*: dE/dx and dE/da
# (reused by bbprop for the second derivatives); grad: dE/dparams (or this pattern's h).
# Inputs and outputs of the elementwise kernels are distinct arrays: in-place updates would
# defeat the compiler's alias check and its vectorisation.
Workspace = namedtuple(
    "Workspace",
    "a1 x1 s2 a2 x2 a3 x3 s4 a4 x4 a5 x5 a6 x6 y gy gx6 ga6 gx5 ga5 gx4 ga4 gx3 ga3 gx2 ga2 gx1 ga1 grad",
)
C1_SHAPE = (paper.C1_MAPS, paper.C1_SIZE * W0)  # wide
S2_SHAPE = (paper.S2_MAPS, paper.S2_SIZE**2)
C3_SHAPE = (paper.C3_MAPS, paper.C3_SIZE * W2)  # wide
S4_SHAPE = (paper.S4_MAPS, paper.S4_SIZE**2)


@kernel
def new_workspace(dtype):
    """A zeroed Workspace of float64 or float32 (the dtype of the parameters it serves)."""
    c1, s2, c3, s4 = C1_SHAPE, S2_SHAPE, C3_SHAPE, S4_SHAPE
    c5, f6, out = paper.C5_UNITS, paper.F6_UNITS, paper.N_CLASSES
    z = np.zeros
    return Workspace(
        z(c1, dtype), z(c1, dtype), z(s2, dtype), z(s2, dtype), z(s2, dtype), z(c3, dtype),
        z(c3, dtype), z(s4, dtype), z(s4, dtype), z(s4, dtype), z(c5, dtype), z(c5, dtype),
        z(f6, dtype), z(f6, dtype), z(out, dtype), z(out, dtype), z(f6, dtype), z(f6, dtype),
        z(c5, dtype), z(c5, dtype), z(s4, dtype), z(s4, dtype), z(c3, dtype), z(c3, dtype),
        z(s2, dtype), z(s2, dtype), z(c1, dtype), z(c1, dtype), z(L.N_PARAMS, dtype),
    )


# Named views of a flat parameter-layout vector (parameters, gradient, h or eps), layout.py.
@kernel
def c1_weight(v):
    return v[L.C1W:L.C1B].reshape((paper.C1_MAPS, K, K))


@kernel
def c1_bias(v):
    return v[L.C1B:L.S2C]


@kernel
def s2_coef(v):
    return v[L.S2C:L.S2B]


@kernel
def s2_bias(v):
    return v[L.S2B:L.C3W]


@kernel
def c3_weight(v):
    return v[L.C3W:L.C3B].reshape((L.N_C3_LINKS, K, K))


@kernel
def c3_bias(v):
    return v[L.C3B:L.S4C]


@kernel
def s4_coef(v):
    return v[L.S4C:L.S4B]


@kernel
def s4_bias(v):
    return v[L.S4B:L.C5W]


@kernel
def c5_weight(v):
    return v[L.C5W:L.C5B].reshape((paper.C5_UNITS, L.S4_INPUTS))


@kernel
def c5_bias(v):
    return v[L.C5B:L.F6W]


@kernel
def f6_weight(v):
    return v[L.F6W:L.F6B].reshape((paper.F6_UNITS, paper.C5_UNITS))


@kernel
def f6_bias(v):
    return v[L.F6B:L.END]


@kernel
def _flat(a):
    return a.reshape(a.size)


@kernel
def fprop(p, image, scale, ws):
    # p: (60000,) ; image: (32, 32) ; ws.y <- the 10 RBF outputs
    x0 = image.reshape((1, W0 * W0))
    conv_fprop(x0, c1_weight(p), c1_bias(p), C1_LINK_OUT, C1_LINK_IN, W0, ws.a1)
    squash_fprop(_flat(ws.a1), _flat(ws.x1))
    subsample_fprop(ws.x1, s2_coef(p), s2_bias(p), scale, W0, ws.s2, ws.a2)
    squash_fprop(_flat(ws.a2), _flat(ws.x2))
    conv_fprop(ws.x2, c3_weight(p), c3_bias(p), C3_LINK_OUT, C3_LINK_IN, W2, ws.a3)
    squash_fprop(_flat(ws.a3), _flat(ws.x3))
    subsample_fprop(ws.x3, s4_coef(p), s4_bias(p), scale, W2, ws.s4, ws.a4)
    squash_fprop(_flat(ws.a4), _flat(ws.x4))
    full_fprop(_flat(ws.x4), c5_weight(p), c5_bias(p), ws.a5)
    squash_fprop(ws.a5, ws.x5)
    full_fprop(ws.x5, f6_weight(p), f6_bias(p), ws.a6)
    squash_fprop(ws.a6, ws.x6)
    rbf_fprop(ws.x6, PROTOTYPES, ws.y)


@kernel
def _step(p, eps, g, lo, hi):
    # SDLM / SGD update of one layer's parameters: w_k <- w_k - eps_k dE/dw_k
    for k in range(lo, hi):
        p[k] -= eps[k] * g[k]


@kernel
def bprop(p, image, scale, ws, eps, update):
    """ws.gy (dE/dy) -> ws.grad (dE/dp); or, with update, the SDLM step p -= eps * dE/dp taken
    layer by layer, each layer's input gradient computed from its old weights first, so the
    result is the step on the full gradient. C5 and F6 then update in their bprop kernel and
    leave their blocks of ws.grad untouched."""
    g = ws.grad
    x0 = image.reshape((1, W0 * W0))
    rbf_bprop(ws.x6, PROTOTYPES, ws.gy, ws.gx6)
    squash_bprop(ws.x6, ws.gx6, ws.ga6)  # F6
    if update:
        full_bprop_step(ws.x5, f6_weight(p), f6_bias(p), f6_weight(eps), f6_bias(eps), ws.ga6, ws.gx5)
    else:
        full_bprop(ws.x5, f6_weight(p), ws.ga6, ws.gx5, f6_weight(g), f6_bias(g))
    squash_bprop(ws.x5, ws.gx5, ws.ga5)  # C5
    if update:
        full_bprop_step(_flat(ws.x4), c5_weight(p), c5_bias(p), c5_weight(eps), c5_bias(eps), ws.ga5, _flat(ws.gx4))
    else:
        full_bprop(_flat(ws.x4), c5_weight(p), ws.ga5, _flat(ws.gx4), c5_weight(g), c5_bias(g))
    squash_bprop(_flat(ws.x4), _flat(ws.gx4), _flat(ws.ga4))  # S4
    subsample_bprop(s4_coef(p), scale, W2, ws.s4, ws.ga4, ws.gx3, s4_coef(g), s4_bias(g))
    if update:
        _step(p, eps, g, L.S4C, L.C5W)
    squash_bprop(_flat(ws.x3), _flat(ws.gx3), _flat(ws.ga3))  # C3
    conv_bprop(ws.x2, c3_weight(p), C3_LINK_OUT, C3_LINK_IN, W2, ws.ga3, ws.gx2, c3_weight(g), c3_bias(g))
    if update:
        _step(p, eps, g, L.C3W, L.S4C)
    squash_bprop(_flat(ws.x2), _flat(ws.gx2), _flat(ws.ga2))  # S2
    subsample_bprop(s2_coef(p), scale, W0, ws.s2, ws.ga2, ws.gx1, s2_coef(g), s2_bias(g))
    if update:
        _step(p, eps, g, L.S2C, L.C3W)
    squash_bprop(_flat(ws.x1), _flat(ws.gx1), _flat(ws.ga1))  # C1
    conv_bprop(x0, c1_weight(p), C1_LINK_OUT, C1_LINK_IN, W0, ws.ga1, None, c1_weight(g), c1_bias(g))
    if update:
        _step(p, eps, g, L.C1W, L.S2C)


@kernel
def bbprop(p, image, scale, output_d2, ws):
    """This pattern's Gauss-Newton diagonal (eqs. 23-27) -> ws.grad, after fprop.

    ASSUMPTION(output-curvature): d2E/dx6_j^2 = output_d2 for every F6 output (2, the exact
    Hessian of y_D, eq. (7)); the MAP term's curvature, which can be negative, is left out."""
    h = ws.grad
    x0 = image.reshape((1, W0 * W0))
    ws.gx6[:] = output_d2
    squash_bbprop(ws.x6, ws.gx6, ws.ga6)  # F6
    full_bbprop(ws.x5, f6_weight(p), ws.ga6, ws.gx5, f6_weight(h), f6_bias(h))
    squash_bbprop(ws.x5, ws.gx5, ws.ga5)  # C5
    full_bbprop(_flat(ws.x4), c5_weight(p), ws.ga5, _flat(ws.gx4), c5_weight(h), c5_bias(h))
    squash_bbprop(_flat(ws.x4), _flat(ws.gx4), _flat(ws.ga4))  # S4
    subsample_bbprop(ws.x3, s4_coef(p), scale, W2, ws.ga4, ws.gx3, s4_coef(h), s4_bias(h))
    squash_bbprop(_flat(ws.x3), _flat(ws.gx3), _flat(ws.ga3))  # C3
    conv_bbprop(ws.x2, c3_weight(p), C3_LINK_OUT, C3_LINK_IN, W2, ws.ga3, ws.gx2, c3_weight(h), c3_bias(h))
    squash_bbprop(_flat(ws.x2), _flat(ws.gx2), _flat(ws.ga2))  # S2
    subsample_bbprop(ws.x1, s2_coef(p), scale, W0, ws.ga2, ws.gx1, s2_coef(h), s2_bias(h))
    squash_bbprop(_flat(ws.x1), _flat(ws.gx1), _flat(ws.ga1))  # C1
    conv_bbprop(x0, c1_weight(p), C1_LINK_OUT, C1_LINK_IN, W0, ws.ga1, None, c1_weight(h), c1_bias(h))
