"""Plain-NumPy LeNet-5: the slow, obviously-correct twin of every fast kernel (STYLE 5).

Float64, natural (C, H, W) layout, no Numba. Three levels, each checked against the next in
tests/test_reference.py:

1. per-layer fprop / bprop / bbprop triples (checked by finite differences and scipy);
2. the whole network of any config.Config (its activation, pooling, c3, output and loss flags)
   on the flat parameter vector of layout.Layout.of(config), built from (1);
3. `ConnectionGraph`: each of the 1998 network's 340,908 connections as one explicit
   (src unit, dst unit, parameter, multiplier) row, with forward, gradient and Eqs. (23)-(27)
   done by np.add.at over the rows. It shares nothing with (1)-(2) but `squash` and the loss.

Conventions (binding on the fast kernels too):
  activation   in C1, C3, C5, F6, and in S2/S4 only when pooling is "trainable"; each f'
               is written from the output x:
               "tanh"     x = A tanh(S a), f' = (S/A) (A^2 - x^2). eq. (6)
               "logistic" x = 1 / (1 + e^-a), f' = x (1 - x)
               "relu"     x = max(a, 0), f' = [x > 0] (0 at a = 0)
  convolution  cross-correlation over links, valid:
               a[o,i,j] = b[o] + sum_{l: out[l]=o} sum_{u,v} w[l,u,v] x[in[l], i+u, j+v].
               C1 is the same with 6 links that all read input map 0. C3's links: Table I
               ("table", 60) or all 96 (S2, C3) map pairs ("full"), both in the order of
               np.nonzero(table.T), grouped by C3 map (layout.Layout.c3_link_out/_in).
  pooling      S2, S4 over non-overlapping 2x2 blocks, s = block sum:
               "trainable" a = coef * scale * s + bias, x = f(a), with scale = 1 ("sum",
                           Section II-B) or 0.25 ("mean", Section II-A): config.scale;
               "average"   a = 0.25 s, x = a (no parameters, no activation);
               "max"       a = the block's maximum, x = a; the gradient goes to that maximum,
                           ties to the first in row-major order (0,0), (0,1), (1,0), (1,1): a
                           later element wins only if strictly greater.
  full         a = W x + b. C5 reads the 400 S4 outputs flattened in (c, i, j) C-order.
  output       "rbf": y_i = sum_j (x6_j - P_ij)^2, P = paper.RBF_PROTOTYPES, class argmin_i y_i
               (eq. 7); losses "mle": E = y_D (eq. 8), "map": E = y_D + log(e^-j + sum_i
               e^-y_i) (eq. 9). "softmax": logits y = out.weight @ x6 + out.bias, class
               argmax_i y_i; loss "ce": E = -y_D + log sum_i e^y_i.
  second derivatives, Appendix C as the paper computes them: backwards h_a = f'(a)^2 h_x
               (eq. 27, f'' dropped, so h >= 0; relu: [x > 0] h_x), h_x[src] += u^2 h_a[dst],
               and a parameter w gets h_w = sum over the connections sharing w of h_a[dst] *
               (input)^2 (eqs. 23, 25), input = x_src for weights, 1 for biases. Hence every
               bbprop below is its bprop applied to squared weights and inputs: average
               pooling spreads 0.0625 h_a to its 4 inputs, max pooling passes h_a to the
               maximum. A subsampling coefficient enters each of its 4 connections as
               u = coef * scale, so its input is scale * x_src and h_coef = sum h_a scale^2
               x_src^2 over units and their 4 inputs (not scale^2 s^2).
               Where it starts: "rbf": the F6 outputs get the constant h_x6 = output_d2
               (2 = d^2 y_D / d x6_j^2); "softmax": the logits get h_y = p_i (1 - p_i),
               p = softmax(y), the diagonal of CE's Hessian in y, and the OUT layer's full
               bbprop gives h_out.weight = h_y x6^2, h_out.bias = h_y, h_x6 = (W^2)^T h_y.
"""

from typing import NamedTuple

import numpy as np

from lecun98 import layout, paper
from lecun98.config import Config

A, S = paper.SQUASH_A, paper.SQUASH_S
P = paper.RBF_PROTOTYPES  # (10, 84) of +-1
C1_LINK_OUT = np.arange(paper.C1_MAPS, dtype=np.int64)  # C1: map o reads input map 0
C1_LINK_IN = np.zeros(paper.C1_MAPS, dtype=np.int64)
LOSSES = ("mle", "map", "ce")
LENET5 = Config()  # the 1998 network: tanh, trainable pooling, Table I, RBF output


# --- Activation functions ----------------------------------------------------------------------
def squash(a: np.ndarray) -> np.ndarray:
    return A * np.tanh(S * a)  # eq. (6)


def squash_deriv_from_output(x: np.ndarray) -> np.ndarray:
    """f'(a) from x = f(a): A S (1 - tanh^2) = (S/A)(A^2 - x^2)."""
    return (S / A) * (A * A - x * x)


def logistic(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-a), as e^-log(1 + e^-a): no overflow for large -a."""
    return np.exp(-np.logaddexp(0.0, -a))


def logistic_deriv_from_output(x: np.ndarray) -> np.ndarray:
    return x * (1.0 - x)


def relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


def relu_deriv_from_output(x: np.ndarray) -> np.ndarray:
    return (x > 0.0).astype(np.float64)  # 0 at a = 0


ACTIVATIONS = {  # config.activation -> (f, f' from the output)
    "tanh": (squash, squash_deriv_from_output),
    "logistic": (logistic, logistic_deriv_from_output),
    "relu": (relu, relu_deriv_from_output),
}


# --- Convolution over a link table (C1, C3) -----------------------------------------------------
def conv_fprop(x, w, b, link_out, link_in):
    """Valid cross-correlation over links: a[o] = b[o] + sum_{l: out[l]=o} xcorr(x[in[l]], w[l])."""
    # x (Cin, H, W), w (L, K, K), b (Cout,), link_out/link_in (L,) -> a (Cout, H-K+1, W-K+1)
    n_links, k, _ = w.shape
    ho, wo = x.shape[1] - k + 1, x.shape[2] - k + 1
    per_link = np.zeros((n_links, ho, wo))
    for u in range(k):
        for v in range(k):
            per_link += w[:, u, v, None, None] * x[link_in, u : u + ho, v : v + wo]
    a = np.zeros((len(b), ho, wo)) + b[:, None, None]
    np.add.at(a, link_out, per_link)  # links sharing an output map add up
    return a


def conv_bprop(x, w, link_out, link_in, ga):
    # ga (Cout, Ho, Wo) -> gx (Cin, H, W), gw (L, K, K), gb (Cout,)
    n_links, k, _ = w.shape
    ho, wo = ga.shape[1:]
    ga_link = ga[link_out]  # (L, Ho, Wo)
    gx, gw = np.zeros(x.shape), np.zeros(w.shape)
    for u in range(k):
        for v in range(k):
            gw[:, u, v] = np.sum(ga_link * x[link_in, u : u + ho, v : v + wo], axis=(1, 2))
            np.add.at(gx[:, u : u + ho, v : v + wo], link_in, w[:, u, v, None, None] * ga_link)
    return gx, gw, ga.sum(axis=(1, 2))


def conv_bbprop(x, w, link_out, link_in, ha):
    # ha (Cout, Ho, Wo) -> hx (Cin, H, W), hw (L, K, K), hb (Cout,); eqs. (23), (25), (27)
    return conv_bprop(x * x, w * w, link_out, link_in, ha)


# --- 2x2 pooling (S2, S4) ---------------------------------------------------------------------
def _blocks(x):
    # x (C, H, W), H and W even -> (C, H/2, W/2, 4), the last axis (0,0), (0,1), (1,0), (1,1)
    c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"pooling needs even map sizes, got {h}x{w}")
    return x.reshape(c, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4).reshape(c, h // 2, w // 2, 4)


def _unblocks(b):
    # b (C, h, w, 4) -> (C, 2h, 2w), the inverse of _blocks
    c, h, w, _ = b.shape
    return b.reshape(c, h, w, 2, 2).transpose(0, 1, 3, 2, 4).reshape(c, 2 * h, 2 * w)


def _block_sum(x):
    # x (C, H, W) -> (C, H/2, W/2)
    return _blocks(x).sum(axis=3)


def _upsample(g):
    # g (C, h, w) -> (C, 2h, 2w): each unit's value on its 4 inputs
    return np.repeat(np.repeat(g, 2, axis=1), 2, axis=2)


def subsample_fprop(x, coef, bias, scale):
    """a = coef * scale * (2x2 block sum) + bias; returns (a, s) with s the block sums.

    scale is 1.0 ("sum", Section II-B) or 0.25 ("mean", Section II-A): ASSUMPTION(subsampling).
    """
    # x (C, H, W), coef (C,), bias (C,) -> a (C, H/2, W/2), s (C, H/2, W/2)
    s = _block_sum(x)
    return coef[:, None, None] * scale * s + bias[:, None, None], s


def subsample_bprop(x, coef, scale, ga):
    # ga (C, H/2, W/2) -> gx (C, H, W), gcoef (C,), gbias (C,)
    gx = _upsample(ga * (coef[:, None, None] * scale))
    gcoef = np.sum(ga * scale * _block_sum(x), axis=(1, 2))
    return gx, gcoef, ga.sum(axis=(1, 2))


def subsample_bbprop(x, coef, scale, ha):
    # ha (C, H/2, W/2) -> hx (C, H, W), hcoef (C,), hbias (C,). u = coef*scale on each of the
    # 4 connections, input scale*x_src: hcoef = sum ha scale^2 x_src^2 (eq. 25 per connection)
    return subsample_bprop(x * x, coef * coef, scale * scale, ha)


def average_fprop(x):
    # x (C, H, W) -> a (C, H/2, W/2): the mean of each 2x2 block, no parameters
    return 0.25 * _block_sum(x)


def average_bprop(ga):
    # ga (C, h, w) -> gx (C, 2h, 2w)
    return 0.25 * _upsample(ga)


def average_bbprop(ha):
    # ha (C, h, w) -> hx (C, 2h, 2w): u = 0.25 on each connection, u^2 = 0.0625
    return 0.0625 * _upsample(ha)


def maxpool_fprop(x):
    """a = the maximum of each 2x2 block; arg = its position 0..3 = 2 di + dj in the block.

    np.argmax returns the first maximum: ties go to the earliest in row-major order."""
    # x (C, H, W) -> a (C, H/2, W/2), arg (C, H/2, W/2) int64
    b = _blocks(x)
    arg = np.argmax(b, axis=3)
    return np.take_along_axis(b, arg[..., None], axis=3)[..., 0], arg


def maxpool_bprop(arg, ga):
    # arg, ga (C, h, w) -> gx (C, 2h, 2w): each ga on its block's maximum, 0 elsewhere
    return _unblocks((arg[..., None] == np.arange(4)) * ga[..., None])


def maxpool_bbprop(arg, ha):
    return maxpool_bprop(arg, ha)  # the one connection that matters has u = 1 = u^2


# --- Full connection (C5, F6, the softmax's OUT) -------------------------------------------------
def full_fprop(x, w, b):
    # x (N,), w (M, N), b (M,) -> a (M,)
    return w @ x + b


def full_bprop(x, w, ga):
    # ga (M,) -> gx (N,), gw (M, N), gb (M,)
    return w.T @ ga, np.outer(ga, x), ga.copy()


def full_bbprop(x, w, ha):
    # ha (M,) -> hx (N,), hw (M, N), hb (M,); eqs. (23), (25), (27)
    return full_bprop(x * x, w * w, ha)


# --- Output layers and the losses (Section II-C; the softmax's cross-entropy) --------------------
def rbf_fprop(x, prototypes):
    # x (84,), prototypes (10, 84) -> y (10,)
    return np.sum((x[None, :] - prototypes) ** 2, axis=1)  # eq. (7)


def rbf_bprop(x, prototypes, gy):
    # gy (10,) -> gx (84,): dy_i/dx_j = 2 (x_j - P_ij)
    return 2.0 * (gy @ (x[None, :] - prototypes))


def softmax(y):
    e = np.exp(y - y.max())  # shift: no overflow
    return e / e.sum()


def softmax_curvature(y):
    """p_i (1 - p_i), p = softmax(y): the diagonal of d2 CE / dy2 (its off-diagonal is -p p^T)."""
    p = softmax(y)
    return p * (1.0 - p)


def _check_loss(y, label, kind):
    if kind not in LOSSES:
        raise ValueError(f"loss kind must be one of {LOSSES}, got {kind!r}")
    if not 0 <= label < len(y):
        raise ValueError(f"label {label} outside 0..{len(y) - 1}")


def loss(y, label, kind="map", j=1.0):
    """E for one pattern: y_D (eq. 8), y_D + log(e^-j + sum_i e^-y_i) (eq. 9), or for logits y
    the cross-entropy -y_D + log sum_i e^y_i ("ce")."""
    _check_loss(y, label, kind)
    if kind == "mle":
        return float(y[label])  # eq. (8)
    if kind == "ce":
        m = y.max()  # shift so every exponent is <= 0 and one is 0
        return float(m - y[label] + np.log(np.sum(np.exp(y - m))))
    m = min(j, y.min())
    return float(y[label] - m + np.log(np.exp(m - j) + np.sum(np.exp(m - y))))  # eq. (9)


def loss_grad(y, label, kind="map", j=1.0):
    """dE/dy_i = [i == D] (mle), [i == D] - e^-y_i / (e^-j + sum_k e^-y_k) (map), or
    softmax(y)_i - [i == D] (ce)."""
    _check_loss(y, label, kind)
    onehot = np.zeros(len(y))
    onehot[label] = 1.0
    if kind == "ce":
        return softmax(y) - onehot
    if kind == "map":
        m = min(j, y.min())
        e = np.exp(m - y)
        return onehot - e / (np.exp(m - j) + e.sum())
    return onehot


# --- The whole network of a Config on its flat parameter vector ----------------------------------
def _check(params, image, config):
    lay = layout.Layout.of(config)
    if params.shape != (lay.n_params,):
        raise ValueError(f"params must have shape ({lay.n_params},) for pooling {config.pooling!r}"
                         f", c3 {config.c3!r}, output {config.output!r}; got {params.shape}")
    if image.shape != (paper.IMAGE_SIZE, paper.IMAGE_SIZE):
        raise ValueError(f"image must be {paper.IMAGE_SIZE}x{paper.IMAGE_SIZE}, got {image.shape}")
    return lay


def _pool_fprop(x, p, n, config):
    """S2 (n = 2) or S4 (n = 4): a{n}, x{n} and the block sums sum{n} or maxima arg{n}."""
    if config.pooling == "max":
        a, arg = maxpool_fprop(x)
        return {f"a{n}": a, f"x{n}": a, f"arg{n}": arg}
    if config.pooling == "average":
        a = average_fprop(x)
        return {f"a{n}": a, f"x{n}": a, f"sum{n}": 4.0 * a}  # 4 * (0.25 s) = s exactly
    a, s = subsample_fprop(x, p[f"s{n}.coef"], p[f"s{n}.bias"], config.scale)
    return {f"a{n}": a, f"x{n}": ACTIVATIONS[config.activation][0](a), f"sum{n}": s}


def forward(params, image, config=LENET5):
    """Every activation of one pattern: x0..x6, a1..a6, y (RBF distances or logits), and for
    S2/S4 the block sums sum2/sum4 (trainable, average) or the maxima's positions arg2/arg4."""
    params = np.asarray(params, dtype=np.float64)
    lay = _check(params, image, config)
    p = lay.views(params)
    f = ACTIVATIONS[config.activation][0]
    act = {"x0": np.asarray(image, dtype=np.float64)[None]}  # (1, 32, 32)
    act["a1"] = conv_fprop(act["x0"], p["c1.weight"], p["c1.bias"], C1_LINK_OUT, C1_LINK_IN)
    act["x1"] = f(act["a1"])  # (6, 28, 28)
    act.update(_pool_fprop(act["x1"], p, 2, config))  # (6, 14, 14)
    act["a3"] = conv_fprop(act["x2"], p["c3.weight"], p["c3.bias"], lay.c3_link_out,
                           lay.c3_link_in)
    act["x3"] = f(act["a3"])  # (16, 10, 10), Table I or full
    act.update(_pool_fprop(act["x3"], p, 4, config))  # (16, 5, 5)
    act["a5"] = full_fprop(act["x4"].reshape(-1), p["c5.weight"], p["c5.bias"])  # C-order
    act["x5"] = f(act["a5"])  # (120,)
    act["a6"] = full_fprop(act["x5"], p["f6.weight"], p["f6.bias"])
    act["x6"] = f(act["a6"])  # (84,)
    if config.output == "rbf":
        act["y"] = rbf_fprop(act["x6"], P)  # (10,) distances
    else:
        act["y"] = full_fprop(act["x6"], p["out.weight"], p["out.bias"])  # (10,) logits
    return act


def _output_back(params, act, g_y, config, second):
    """OUTPUT backwards: d(.)/dy (or h_y) -> (d(.)/dx6 (or h_x6), flat vector holding the
    out.* blocks of the softmax output, zero elsewhere)."""
    lay = layout.Layout.of(config)
    out = np.zeros(lay.n_params)
    if config.output == "rbf":
        if second:
            raise ValueError("the RBF output's h_x6 is the constant output_d2, not bbprop of h_y")
        return rbf_bprop(act["x6"], P, g_y), out
    full_b = full_bbprop if second else full_bprop
    w = lay.view(np.asarray(params, dtype=np.float64), "out.weight")
    g_x6, lay.view(out, "out.weight")[...], lay.view(out, "out.bias")[...] = full_b(
        act["x6"], w, g_y)
    return g_x6, out


def _pool_back(act, n, gx_out, p, g, config, second):
    """S2 (n = 2) or S4 (n = 4) backwards: d(.)/dx{n} -> d(.)/dx{n-1}, writing s{n}.* into g."""
    if config.pooling == "max":
        return (maxpool_bbprop if second else maxpool_bprop)(act[f"arg{n}"], gx_out)
    if config.pooling == "average":
        return (average_bbprop if second else average_bprop)(gx_out)
    ga = _fprime(config, second)(act[f"x{n}"]) * gx_out
    sub_b = subsample_bbprop if second else subsample_bprop
    gx_in, g[f"s{n}.coef"][...], g[f"s{n}.bias"][...] = sub_b(
        act[f"x{n - 1}"], p[f"s{n}.coef"], config.scale, ga)
    return gx_in


def _fprime(config, second):
    deriv = ACTIVATIONS[config.activation][1]
    return (lambda x: deriv(x) ** 2) if second else deriv  # eq. (27) when second


def _sweep_back(params, act, g_x6, config, second, out=None):
    """From d(.)/dx6 to every parameter below OUTPUT: bprop, or bbprop with f'^2 (eq. 27).

    Writes the blocks C1..F6 into `out` (a flat vector of the config's layout, zeros if None;
    its out.* blocks are left as they are) and returns it."""
    lay = layout.Layout.of(config)
    conv_b, full_b = (conv_bbprop, full_bbprop) if second else (conv_bprop, full_bprop)
    fprime = _fprime(config, second)
    p = lay.views(np.asarray(params, dtype=np.float64))
    out = np.zeros(lay.n_params) if out is None else out
    g = lay.views(out)
    ga6 = fprime(act["x6"]) * g_x6  # (84,)
    gx5, g["f6.weight"][...], g["f6.bias"][...] = full_b(act["x5"], p["f6.weight"], ga6)
    ga5 = fprime(act["x5"]) * gx5  # (120,)
    gx4, g["c5.weight"][...], g["c5.bias"][...] = full_b(act["x4"].reshape(-1), p["c5.weight"], ga5)
    gx3 = _pool_back(act, 4, gx4.reshape(act["x4"].shape), p, g, config, second)  # (16, 10, 10)
    ga3 = fprime(act["x3"]) * gx3
    gx2, g["c3.weight"][...], g["c3.bias"][...] = conv_b(
        act["x2"], p["c3.weight"], lay.c3_link_out, lay.c3_link_in, ga3)
    gx1 = _pool_back(act, 2, gx2, p, g, config, second)  # (6, 28, 28)
    ga1 = fprime(act["x1"]) * gx1
    _, g["c1.weight"][...], g["c1.bias"][...] = conv_b(
        act["x0"], p["c1.weight"], C1_LINK_OUT, C1_LINK_IN, ga1)
    return out


def backward(params, act, g_x6, config=LENET5):
    """Flat gradient of any scalar that depends on the parameters only through the 84 F6
    outputs, with derivative g_x6 w.r.t. them (so the softmax's out.* blocks are 0)."""
    return _sweep_back(params, act, np.asarray(g_x6, dtype=np.float64), config, second=False)


def loss_and_grad(params, image, label, config=LENET5):
    """(E, dE/dparams) for one pattern; E is config.loss: eq. (8), eq. (9) with config.j, or
    the softmax's cross-entropy."""
    act = forward(params, image, config)
    gy = loss_grad(act["y"], label, config.loss, config.j)
    g_x6, grad = _output_back(params, act, gy, config, second=False)
    return loss(act["y"], label, config.loss, config.j), _sweep_back(
        params, act, g_x6, config, second=False, out=grad)


def hessian_diag(params, image, config=LENET5):
    """Appendix C's diagonal second derivatives for one pattern, flat; eqs. (23)-(27).

    ASSUMPTION(output-curvature): "rbf" starts from h_x6 = config.output_d2 (2 = d2 y_D / d
    x6_j^2, exact for eq. 8; the MAP term's curvature is left out); "softmax" from the
    diagonal of CE's Hessian in the logits, h_y = p (1 - p)."""
    act = forward(params, image, config)
    if config.output == "rbf":
        h_x6, h = np.full(paper.F6_UNITS, float(config.output_d2)), None
    else:
        h_x6, h = _output_back(params, act, softmax_curvature(act["y"]), config, second=True)
    return _sweep_back(params, act, h_x6, config, second=True, out=h)


def gauss_newton_diag_exact(params, image, config=LENET5):
    """diag(J^T D J) for one pattern, by one backward pass per row of J:

    "rbf":     J = d x6 / d params (84 rows), D = output_d2 I: the curvature hessian_diag
               starts from at the F6 outputs.
    "softmax": J = d y / d params (10 rows, y the logits), D = diag(p (1 - p)), p = softmax(y).
               CE's exact Gauss-Newton matrix has D = diag(p) - p p^T; its off-diagonal
               -p p^T is dropped here as bbprop drops it, so this is the matrix bbprop's
               diagonal approximates.

    hessian_diag equals this exactly on the blocks whose every parameter reaches each row's
    output by a single path (so the cross terms eq. (27) drops are zero):
      "rbf":     f6 (w_mk reaches x6_m only) and c5 (w_kq reaches x5_k, then each x6_m
                 through the one weight W6_mk);
      "softmax": out (w_im reaches y_i only) and f6 (w_mk reaches x6_m, then each y_i through
                 W_im). c5 is not exact: w_kq reaches each logit through all 84 F6 units.
    This holds for every activation, pooling and c3 (relu and max pooling only switch paths
    off). Below them paths re-converge (through the C5/F6 units, shared kernels and
    overlapping windows), so hessian_diag is only a diagonal approximation of this there.
    (For s2/s4.coef, eq. (25) per connection also differs from the exact scale^2 s^2 even on
    one path.)
    """
    act = forward(params, image, config)
    lay = layout.Layout.of(config)
    h = np.zeros(lay.n_params)
    if config.output == "rbf":
        for m in range(paper.F6_UNITS):
            e_m = np.zeros(paper.F6_UNITS)
            e_m[m] = 1.0
            h += config.output_d2 * backward(params, act, e_m, config) ** 2  # row m of J, squared
        return h
    d = softmax_curvature(act["y"])
    for i in range(paper.N_CLASSES):
        e_i = np.zeros(paper.N_CLASSES)
        e_i[i] = 1.0
        g_x6, row = _output_back(params, act, e_i, config, second=False)
        h += d[i] * _sweep_back(params, act, g_x6, config, second=False, out=row) ** 2
    return h


def predict(params, images, config=LENET5):
    """The class of each of images (N, 32, 32) -> (N,) int64: argmin of the RBF distances, or
    argmax of the softmax's logits."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        images = images[None]
    pick = np.argmin if config.output == "rbf" else np.argmax
    return np.array([pick(forward(params, im, config)["y"]) for im in images], dtype=np.int64)


# --- Brute force: every connection as one row --------------------------------------------------
LAYERS = ("c1", "s2", "c3", "s4", "c5", "f6", "output")
UNIT_SHAPES = {
    "input": (1, paper.IMAGE_SIZE, paper.IMAGE_SIZE),
    "c1": (paper.C1_MAPS, paper.C1_SIZE, paper.C1_SIZE),
    "s2": (paper.S2_MAPS, paper.S2_SIZE, paper.S2_SIZE),
    "c3": (paper.C3_MAPS, paper.C3_SIZE, paper.C3_SIZE),
    "s4": (paper.S4_MAPS, paper.S4_SIZE, paper.S4_SIZE),
    "c5": (paper.C5_UNITS,),
    "f6": (paper.F6_UNITS,),
    "output": (paper.N_CLASSES,),
}


class Connections(NamedTuple):
    """One row per connection: effective weight = mult * params[pidx], or mult if pidx == -1."""

    src: np.ndarray  # (n,) global unit index; the constant-1 unit for biases
    dst: np.ndarray  # (n,)
    pidx: np.ndarray  # (n,) index into the flat parameter vector, -1 for the fixed RBF weights
    mult: np.ndarray  # (n,) scale for subsampling coefficients, P_ij for RBF, else 1


def _rows(src, dst, pidx, mult):
    n = np.broadcast(src, dst, pidx, mult).shape
    return [np.broadcast_to(a, n).ravel() for a in (src, dst, pidx, mult)]


def _cat(*parts):
    return Connections(*(np.concatenate(cols) for cols in zip(*parts)))


class ConnectionGraph:
    """The 1998 network (tanh, trainable pooling at `scale`, Table I, RBF output) as an
    explicit list of its 340,908 connections (Section II-B counts). Only that architecture:
    the other components of config.py are checked at level (2).

    Units are numbered globally: input 0..1023, then C1, S2, C3, S4, C5, F6, OUTPUT units in
    C-order of UNIT_SHAPES, then one constant-1 unit `bias_unit` that feeds every bias.
    """

    def __init__(self, scale=1.0):
        self.scale = float(scale)
        self.units, start = {}, 0
        for name, shape in UNIT_SHAPES.items():
            n = int(np.prod(shape))
            self.units[name] = (start, start + n)
            start += n
        self.bias_unit, self.n_units = start, start + 1
        one = self.bias_unit
        st = {name: r[0] for name, r in self.units.items()}
        off = layout.OFFSETS
        k = paper.KERNEL

        def conv(src_layer, dst_layer, link_out, link_in, w_name, b_name):
            _, h, w = UNIT_SHAPES[src_layer]
            c_out, ho, wo = UNIT_SHAPES[dst_layer]
            l, i, j, u, v = np.indices((len(link_out), ho, wo, k, k))
            weights = _rows(st[src_layer] + (link_in[l] * h + i + u) * w + j + v,
                            st[dst_layer] + (link_out[l] * ho + i) * wo + j,
                            off[w_name][0] + (l * k + u) * k + v, 1.0)
            o, i, j = np.indices((c_out, ho, wo))
            biases = _rows(one, st[dst_layer] + (o * ho + i) * wo + j, off[b_name][0] + o, 1.0)
            return _cat(weights, biases)

        def subsample(src_layer, dst_layer, c_name, b_name):
            _, h, w = UNIT_SHAPES[src_layer]
            c_out, ho, wo = UNIT_SHAPES[dst_layer]
            c, i, j, di, dj = np.indices((c_out, ho, wo, 2, 2))
            inputs = _rows(st[src_layer] + (c * h + 2 * i + di) * w + 2 * j + dj,
                           st[dst_layer] + (c * ho + i) * wo + j, off[c_name][0] + c, self.scale)
            c, i, j = np.indices((c_out, ho, wo))
            biases = _rows(one, st[dst_layer] + (c * ho + i) * wo + j, off[b_name][0] + c, 1.0)
            return _cat(inputs, biases)

        def full(src_layer, dst_layer, w_name, b_name):
            n_in, n_out = np.prod(UNIT_SHAPES[src_layer]), UNIT_SHAPES[dst_layer][0]
            o, q = np.indices((n_out, n_in))  # q in (c, i, j) C-order of the source maps
            weights = _rows(st[src_layer] + q, st[dst_layer] + o,
                            off[w_name][0] + o * n_in + q, 1.0)
            o = np.arange(n_out)
            return _cat(weights, _rows(one, st[dst_layer] + o, off[b_name][0] + o, 1.0))

        i, q = np.indices(P.shape)
        self.conn = {
            "c1": conv("input", "c1", C1_LINK_OUT, C1_LINK_IN, "c1.weight", "c1.bias"),
            "s2": subsample("c1", "s2", "s2.coef", "s2.bias"),
            "c3": conv("s2", "c3", layout.C3_LINK_OUT, layout.C3_LINK_IN, "c3.weight", "c3.bias"),
            "s4": subsample("c3", "s4", "s4.coef", "s4.bias"),
            "c5": full("s4", "c5", "c5.weight", "c5.bias"),
            "f6": full("c5", "f6", "f6.weight", "f6.bias"),
            "output": _cat(_rows(st["f6"] + q, st["output"] + i, -1, P)),  # eq. (7), fixed
        }
        assert self.connections_per_layer() == paper.CONNECTIONS, self.connections_per_layer()
        assert sum(self.connections_per_layer().values()) == paper.TOTAL_CONNECTIONS
        assert self.parameters_per_layer() == paper.PARAMETERS, self.parameters_per_layer()

    def connections_per_layer(self) -> dict:
        return {name: len(c.src) for name, c in self.conn.items()}

    def parameters_per_layer(self) -> dict:
        """Distinct trainable parameters per layer (the RBF layer has none)."""
        return {name: len(np.unique(c.pidx[c.pidx >= 0])) for name, c in self.conn.items()
                if np.any(c.pidx >= 0)}

    def _weights(self, params, c):
        return np.where(c.pidx >= 0, c.mult * params[np.maximum(c.pidx, 0)], c.mult)

    def _layer(self, name):
        a, b = self.units[name]
        return slice(a, b)

    def forward(self, params, image):
        """Unit values layer by layer: a[dst] += u * x[src] over every connection, x = f(a)."""
        _check(params, image, LENET5)
        x, a = np.zeros(self.n_units), np.zeros(self.n_units)
        x[self.bias_unit] = 1.0
        x[self._layer("input")] = np.ravel(image)
        for name in LAYERS[:-1]:
            c = self.conn[name]
            np.add.at(a, c.dst, self._weights(params, c) * x[c.src])
            x[self._layer(name)] = squash(a[self._layer(name)])
        c = self.conn["output"]
        np.add.at(x, c.dst, (x[c.src] - c.mult) ** 2)  # eq. (7): y is a distance, not a sum
        out = {"units": x, "preact": a, "y": x[self._layer("output")].copy()}
        for n, name in enumerate(("input",) + LAYERS[:-1]):
            out[f"x{n}"] = x[self._layer(name)].reshape(UNIT_SHAPES[name])
            if n:
                out[f"a{n}"] = a[self._layer(name)].reshape(UNIT_SHAPES[name])
        return out

    def _back(self, params, x, g_units, second):
        """Push d(.)/dx (or d2/dx2) of the F6 units down every connection; flat result."""
        out = np.zeros(layout.N_PARAMS)
        for name in reversed(LAYERS[:-1]):
            c, sl = self.conn[name], self._layer(name)
            fp = squash_deriv_from_output(x[sl])
            ga = np.zeros(self.n_units)
            ga[sl] = g_units[sl] * (fp * fp if second else fp)  # eq. (27) when second
            u = self._weights(params, c)
            d_input = c.mult * x[c.src]  # d(u x_src) / d params[pidx]
            if second:
                u, d_input = u * u, d_input * d_input
            np.add.at(out, c.pidx, ga[c.dst] * d_input)  # eqs. (23), (25)
            np.add.at(g_units, c.src, ga[c.dst] * u)
        return out

    def gradient(self, params, image, label, kind="map", j=1.0):
        """dE/dparams, flat (60,000,), E = eq. (8) or (9)."""
        x = self.forward(params, image)["units"]
        out = self.conn["output"]
        gy = loss_grad(x[self._layer("output")], label, kind, j)
        g = np.zeros(self.n_units)
        np.add.at(g, out.src, gy[out.dst - self.units["output"][0]] * 2.0 * (x[out.src] - out.mult))
        return self._back(params, x, g, second=False)

    def hessian_diag(self, params, image, output_d2=2.0):
        """Eqs. (23)-(27) literally, one connection at a time, from h_x6 = output_d2."""
        x = self.forward(params, image)["units"]
        h = np.zeros(self.n_units)
        h[self._layer("f6")] = output_d2
        return self._back(params, x, h, second=True)
