"""LeNet-5 for one pattern, compiled: C1, S2, C3, S4, C5, F6, OUTPUT in paper order.

Every component config.py can change is chosen here, at run time, by the Arch tuple (make_arch):
the activation, the pooling of S2 and S4, C3's links, the output layer and its loss. The 1998
network is one setting of it, the modern one another: one model, never a second copy.
Parameters are a flat vector in the Layout of layout.py; every activation, gradient and second
derivative lives in a preallocated Workspace, so the per-pattern passes allocate nothing.

    fprop   image -> y (the 10 RBF distances, or the 10 logits of the softmax output)
    bprop   dE/dy -> dE/dparams (written, or added for a mini-batch), or the SDLM step taken
            layer by layer as it goes
    bbprop  the Gauss-Newton diagonal of eqs. (23)-(27) for this pattern
"""

from collections import namedtuple

import numpy as np

from lecun98 import layout as L
from lecun98 import paper
from lecun98.jit import kernel
from lecun98.kernels.activation import (CONSTANTS, IDENTITY, KINDS, activation_bbprop,
                                        activation_bprop, activation_fprop)
from lecun98.kernels.conv import conv_bbprop, conv_bprop, conv_fprop
from lecun98.kernels.full import full_bbprop, full_bprop, full_bprop_step, full_fprop
from lecun98.kernels.maxpool import maxpool_bprop, maxpool_fprop
from lecun98.kernels.rbf import CE, KINDS as LOSS_KINDS, rbf_bprop, rbf_fprop, softmax_curvature
from lecun98.kernels.subsample import subsample_bbprop, subsample_bprop, subsample_fprop

K = paper.KERNEL
W0 = paper.IMAGE_SIZE  # row stride of the input and (wide) C1 maps
W2 = paper.S2_SIZE  # row stride of the S2 maps and (wide) C3 maps
C1_LINK_OUT = np.arange(paper.C1_MAPS, dtype=np.int64)  # C1: every map reads the one input
C1_LINK_IN = np.zeros(paper.C1_MAPS, dtype=np.int64)
PROTOTYPES = np.ascontiguousarray(paper.RBF_PROTOTYPES)
TRAINABLE, AVERAGE, MAX = 0, 1, 2  # S2 and S4 (Config.pooling)
POOLINGS = {"trainable": TRAINABLE, "average": AVERAGE, "max": MAX}
AVERAGE_SCALE = 0.25
GRADIENT, ACCUMULATE, STEP = 0, 1, 2  # what bprop does with dE/dparams

# starts: the Layout's block starts (layout.BLOCKS); c3_out, c3_in: C3's links; activation:
# activation.py's kind, act its constants (dtype of the parameters); pooling, scale: S2/S4's
# kind and the trainable one's scale (Config.subsampling); loss: rbf.py's MLE, MAP or CE (CE
# means the softmax output); j: eq. (9)'s constant; output_d2: ASSUMPTION(output-curvature).
Arch = namedtuple("Arch", "starts c3_out c3_in activation act pooling scale loss j output_d2")


def make_arch(config, dtype=None) -> Arch:
    """The compiled network's view of a Config (its component flags and loss constants)."""
    layout = L.Layout.of(config)
    dtype = np.dtype(dtype or config.dtype)
    return Arch(layout.starts, layout.c3_link_out, layout.c3_link_in, KINDS[config.activation],
                np.array(CONSTANTS[config.activation], dtype), POOLINGS[config.pooling],
                float(config.scale), LOSS_KINDS[config.loss], float(config.j),
                float(config.output_d2))


# a*: weighted sums, x*: layer outputs, s*: subsampling block sums; gx*, ga*: dE/dx and dE/da
# (reused by bbprop for the second derivatives); arg*: max-pooling positions; ones, zeros,
# pool_g: average pooling's fixed coefficients and its discarded gradients; grad: dE/dparams
# (or this pattern's h).
# Inputs and outputs of the elementwise kernels are distinct arrays: in-place updates would
# defeat the compiler's alias check and its vectorisation.
Workspace = namedtuple(
    "Workspace",
    "a1 x1 s2 a2 x2 a3 x3 s4 a4 x4 a5 x5 a6 x6 y gy gx6 ga6 gx5 ga5 gx4 ga4 gx3 ga3 gx2 ga2 gx1 ga1 "
    "arg2 arg4 ones zeros pool_g grad",
)
C1_SHAPE = (paper.C1_MAPS, paper.C1_SIZE * W0)  # wide
S2_SHAPE = (paper.S2_MAPS, paper.S2_SIZE**2)
C3_SHAPE = (paper.C3_MAPS, paper.C3_SIZE * W2)  # wide
S4_SHAPE = (paper.S4_MAPS, paper.S4_SIZE**2)


@kernel
def new_workspace(dtype, n_params):
    """A zeroed Workspace of float64 or float32 (the dtype of the parameters it serves)."""
    c1, s2, c3, s4 = C1_SHAPE, S2_SHAPE, C3_SHAPE, S4_SHAPE
    c5, f6, out = paper.C5_UNITS, paper.F6_UNITS, paper.N_CLASSES
    z = np.zeros
    return Workspace(
        z(c1, dtype), z(c1, dtype), z(s2, dtype), z(s2, dtype), z(s2, dtype), z(c3, dtype),
        z(c3, dtype), z(s4, dtype), z(s4, dtype), z(s4, dtype), z(c5, dtype), z(c5, dtype),
        z(f6, dtype), z(f6, dtype), z(out, dtype), z(out, dtype), z(f6, dtype), z(f6, dtype),
        z(c5, dtype), z(c5, dtype), z(s4, dtype), z(s4, dtype), z(c3, dtype), z(c3, dtype),
        z(s2, dtype), z(s2, dtype), z(c1, dtype), z(c1, dtype),
        z(s2, np.int32), z(s4, np.int32), np.ones(paper.S4_MAPS, dtype),
        z(paper.S4_MAPS, dtype), z((2, paper.S4_MAPS), dtype), z(n_params, dtype),
    )


# Named views of a flat parameter-layout vector (parameters, gradient, h or eps); st: the
# Layout's block starts (Arch.starts).
@kernel
def _block(v, st, i):
    return v[st[i]:st[i + 1]]


@kernel
def c1_weight(v, st):
    return _block(v, st, L.C1W).reshape((paper.C1_MAPS, K, K))


@kernel
def c1_bias(v, st):
    return _block(v, st, L.C1B)


@kernel
def s2_coef(v, st):
    return _block(v, st, L.S2C)


@kernel
def s2_bias(v, st):
    return _block(v, st, L.S2B)


@kernel
def c3_weight(v, st):
    return _block(v, st, L.C3W).reshape(((st[L.C3B] - st[L.C3W]) // (K * K), K, K))


@kernel
def c3_bias(v, st):
    return _block(v, st, L.C3B)


@kernel
def s4_coef(v, st):
    return _block(v, st, L.S4C)


@kernel
def s4_bias(v, st):
    return _block(v, st, L.S4B)


@kernel
def c5_weight(v, st):
    return _block(v, st, L.C5W).reshape((paper.C5_UNITS, L.S4_INPUTS))


@kernel
def c5_bias(v, st):
    return _block(v, st, L.C5B)


@kernel
def f6_weight(v, st):
    return _block(v, st, L.F6W).reshape((paper.F6_UNITS, paper.C5_UNITS))


@kernel
def f6_bias(v, st):
    return _block(v, st, L.F6B)


@kernel
def out_weight(v, st):
    return _block(v, st, L.OUTW).reshape((paper.N_CLASSES, paper.F6_UNITS))


@kernel
def out_bias(v, st):
    return _block(v, st, L.OUTB)


@kernel
def _flat(a):
    return a.reshape(a.size)


@kernel
def fprop(p, image, arch, ws):
    # p: (n_params,) ; image: (32, 32) ; ws.y <- the 10 RBF outputs (or logits)
    st = arch.starts
    x0 = image.reshape((1, W0 * W0))
    conv_fprop(x0, c1_weight(p, st), c1_bias(p, st), C1_LINK_OUT, C1_LINK_IN, W0, ws.a1)  # C1
    activation_fprop(arch.activation, arch.act, _flat(ws.a1), _flat(ws.x1))
    _pool_fprop(arch, s2_coef(p, st), s2_bias(p, st), ws.x1, W0, ws.s2, ws.a2, ws.x2, ws.arg2, ws)
    conv_fprop(ws.x2, c3_weight(p, st), c3_bias(p, st), arch.c3_out, arch.c3_in, W2, ws.a3)  # C3
    activation_fprop(arch.activation, arch.act, _flat(ws.a3), _flat(ws.x3))
    _pool_fprop(arch, s4_coef(p, st), s4_bias(p, st), ws.x3, W2, ws.s4, ws.a4, ws.x4, ws.arg4, ws)
    full_fprop(_flat(ws.x4), c5_weight(p, st), c5_bias(p, st), ws.a5)  # C5
    activation_fprop(arch.activation, arch.act, ws.a5, ws.x5)
    full_fprop(ws.x5, f6_weight(p, st), f6_bias(p, st), ws.a6)  # F6
    activation_fprop(arch.activation, arch.act, ws.a6, ws.x6)
    if arch.loss == CE:  # OUTPUT
        full_fprop(ws.x6, out_weight(p, st), out_bias(p, st), ws.y)
    else:
        rbf_fprop(ws.x6, PROTOTYPES, ws.y)


@kernel
def _pool_fprop(arch, coef, bias, x, width, s, a, xo, arg, ws):
    # S2 or S4: a = the 2x2 pooling of x (wide rows of stride `width`), xo = f(a) when trainable,
    # xo = a otherwise. Average pooling is the trainable kernel with coefficient 1, bias 0.
    maps = a.shape[0]
    if arch.pooling == MAX:
        maxpool_fprop(x, width, a, arg)
    elif arch.pooling == AVERAGE:
        subsample_fprop(x, ws.ones[:maps], ws.zeros[:maps], AVERAGE_SCALE, width, s, a)
    else:
        subsample_fprop(x, coef, bias, arch.scale, width, s, a)
    kind = arch.activation if arch.pooling == TRAINABLE else IDENTITY
    activation_fprop(kind, arch.act, _flat(a), _flat(xo))


@kernel
def _step(p, eps, g, lo, hi):
    # SDLM / SGD update of one layer's parameters: w_k <- w_k - eps_k dE/dw_k
    for k in range(lo, hi):
        p[k] -= eps[k] * g[k]


@kernel
def _full_bprop(x, w, b, eps_w, eps_b, ga, gx, gw, gb, mode):
    # C5, F6, OUT: the SDLM step fused into bprop (STEP), or dE/dw written or added
    if mode == STEP:
        full_bprop_step(x, w, b, eps_w, eps_b, ga, gx)
    else:
        full_bprop(x, w, ga, gx, gw, gb, mode == ACCUMULATE)


@kernel
def bprop(p, image, arch, ws, eps, mode):
    """ws.gy (dE/dy) -> dE/dp: written to ws.grad (GRADIENT), added to it (ACCUMULATE), or the
    SDLM step p -= eps * dE/dp taken layer by layer (STEP), each layer's input gradient computed
    from its old weights first, so the result is the step on the full gradient. In STEP mode
    C5, F6 and OUT update in their bprop kernel and leave their blocks of ws.grad untouched."""
    st, g = arch.starts, ws.grad
    add, step = mode == ACCUMULATE, mode == STEP
    if arch.loss == CE:  # OUTPUT
        _full_bprop(ws.x6, out_weight(p, st), out_bias(p, st), out_weight(eps, st), out_bias(eps, st),
                    ws.gy, ws.gx6, out_weight(g, st), out_bias(g, st), mode)
    else:
        rbf_bprop(ws.x6, PROTOTYPES, ws.gy, ws.gx6)
    activation_bprop(arch.activation, arch.act, ws.x6, ws.gx6, ws.ga6)  # F6
    _full_bprop(ws.x5, f6_weight(p, st), f6_bias(p, st), f6_weight(eps, st), f6_bias(eps, st),
                ws.ga6, ws.gx5, f6_weight(g, st), f6_bias(g, st), mode)
    activation_bprop(arch.activation, arch.act, ws.x5, ws.gx5, ws.ga5)  # C5
    _full_bprop(_flat(ws.x4), c5_weight(p, st), c5_bias(p, st), c5_weight(eps, st), c5_bias(eps, st),
                ws.ga5, _flat(ws.gx4), c5_weight(g, st), c5_bias(g, st), mode)
    _pool_bprop(arch, s4_coef(p, st), s4_coef(g, st), s4_bias(g, st), ws.x4, ws.gx4, ws.ga4,  # S4
                ws.s4, ws.arg4, W2, ws.gx3, ws, add)
    if step:
        _step(p, eps, g, st[L.S4C], st[L.C5W])
    activation_bprop(arch.activation, arch.act, _flat(ws.x3), _flat(ws.gx3), _flat(ws.ga3))  # C3
    conv_bprop(ws.x2, c3_weight(p, st), arch.c3_out, arch.c3_in, W2, ws.ga3, ws.gx2,
               c3_weight(g, st), c3_bias(g, st), add)
    if step:
        _step(p, eps, g, st[L.C3W], st[L.S4C])
    _pool_bprop(arch, s2_coef(p, st), s2_coef(g, st), s2_bias(g, st), ws.x2, ws.gx2, ws.ga2,  # S2
                ws.s2, ws.arg2, W0, ws.gx1, ws, add)
    if step:
        _step(p, eps, g, st[L.S2C], st[L.C3W])
    activation_bprop(arch.activation, arch.act, _flat(ws.x1), _flat(ws.gx1), _flat(ws.ga1))  # C1
    x0 = image.reshape((1, W0 * W0))
    conv_bprop(x0, c1_weight(p, st), C1_LINK_OUT, C1_LINK_IN, W0, ws.ga1, None,
               c1_weight(g, st), c1_bias(g, st), add)
    if step:
        _step(p, eps, g, st[L.C1W], st[L.S2C])


@kernel
def _pool_bprop(arch, coef, gcoef, gbias, xo, gxo, ga, s, arg, width, gx, ws, add):
    # S2 or S4 backwards: dE/dxo -> dE/da -> dE/dx (wide rows) and, when trainable, the
    # coefficient and bias gradients
    maps = ga.shape[0]
    kind = arch.activation if arch.pooling == TRAINABLE else IDENTITY
    activation_bprop(kind, arch.act, _flat(xo), _flat(gxo), _flat(ga))
    if arch.pooling == MAX:
        maxpool_bprop(ga, arg, gx)
    elif arch.pooling == AVERAGE:
        subsample_bprop(ws.ones[:maps], AVERAGE_SCALE, width, s, ga, gx, ws.pool_g[0, :maps],
                        ws.pool_g[1, :maps], False)
    else:
        subsample_bprop(coef, arch.scale, width, s, ga, gx, gcoef, gbias, add)


@kernel
def bbprop(p, image, arch, ws):
    """This pattern's Gauss-Newton diagonal (eqs. 23-27) -> ws.grad, after fprop.

    ASSUMPTION(output-curvature): with the RBF output, d2E/dx6_j^2 = output_d2 for every F6
    output (2, the exact Hessian of y_D, eq. (7)); the MAP term's curvature, which can be
    negative, is left out. With the softmax output, the logits get p_i (1 - p_i), the diagonal
    of the cross-entropy's Hessian."""
    st, h = arch.starts, ws.grad
    if arch.loss == CE:  # OUTPUT
        softmax_curvature(ws.y, ws.gy)
        full_bbprop(ws.x6, out_weight(p, st), ws.gy, ws.gx6, out_weight(h, st), out_bias(h, st))
    else:
        ws.gx6[:] = arch.output_d2
    activation_bbprop(arch.activation, arch.act, ws.x6, ws.gx6, ws.ga6)  # F6
    full_bbprop(ws.x5, f6_weight(p, st), ws.ga6, ws.gx5, f6_weight(h, st), f6_bias(h, st))
    activation_bbprop(arch.activation, arch.act, ws.x5, ws.gx5, ws.ga5)  # C5
    full_bbprop(_flat(ws.x4), c5_weight(p, st), ws.ga5, _flat(ws.gx4), c5_weight(h, st), c5_bias(h, st))
    _pool_bbprop(arch, s4_coef(p, st), s4_coef(h, st), s4_bias(h, st), ws.x3, ws.x4, ws.gx4,  # S4
                 ws.ga4, ws.arg4, W2, ws.gx3, ws)
    activation_bbprop(arch.activation, arch.act, _flat(ws.x3), _flat(ws.gx3), _flat(ws.ga3))  # C3
    conv_bbprop(ws.x2, c3_weight(p, st), arch.c3_out, arch.c3_in, W2, ws.ga3, ws.gx2,
                c3_weight(h, st), c3_bias(h, st))
    _pool_bbprop(arch, s2_coef(p, st), s2_coef(h, st), s2_bias(h, st), ws.x1, ws.x2, ws.gx2,  # S2
                 ws.ga2, ws.arg2, W0, ws.gx1, ws)
    activation_bbprop(arch.activation, arch.act, _flat(ws.x1), _flat(ws.gx1), _flat(ws.ga1))  # C1
    x0 = image.reshape((1, W0 * W0))
    conv_bbprop(x0, c1_weight(p, st), C1_LINK_OUT, C1_LINK_IN, W0, ws.ga1, None,
                c1_weight(h, st), c1_bias(h, st))


@kernel
def _pool_bbprop(arch, coef, hcoef, hbias, x, xo, hxo, ha, arg, width, hx, ws):
    # S2 or S4, second derivatives: a max-pooled unit passes h to its maximum (weight 1)
    maps = ha.shape[0]
    kind = arch.activation if arch.pooling == TRAINABLE else IDENTITY
    activation_bbprop(kind, arch.act, _flat(xo), _flat(hxo), _flat(ha))
    if arch.pooling == MAX:
        maxpool_bprop(ha, arg, hx)
    elif arch.pooling == AVERAGE:
        subsample_bbprop(x, ws.ones[:maps], AVERAGE_SCALE, width, ha, hx, ws.pool_g[0, :maps],
                         ws.pool_g[1, :maps])
    else:
        subsample_bbprop(x, coef, arch.scale, width, ha, hx, hcoef, hbias)
