"""Plain-NumPy LeNet-5: the slow, obviously-correct twin of every fast kernel (STYLE 5).

Float64, natural (C, H, W) layout, no Numba. Three levels, each checked against the next in
tests/test_reference.py:

1. per-layer fprop / bprop / bbprop triples (checked by finite differences and scipy);
2. the whole network on the flat 60,000-parameter vector of layout.py, built from (1);
3. `ConnectionGraph`: each of the paper's 340,908 connections as one explicit
   (src unit, dst unit, parameter, multiplier) row, with forward, gradient and Eqs. (23)-(27)
   done by np.add.at over the rows. It shares nothing with (1)-(2) but `squash` and the loss.

Conventions (binding on the fast kernels too):
  squash       x = f(a) = A tanh(S a); f'(a) = (S/A) (A^2 - x^2), written from the output x. eq. (6)
  convolution  cross-correlation over Table I links, valid:
               a[o,i,j] = b[o] + sum_{l: out[l]=o} sum_{u,v} w[l,u,v] x[in[l], i+u, j+v].
               C1 is the same with 6 links that all read input map 0.
  subsampling  s = sum of each non-overlapping 2x2 block; a = coef * scale * s + bias, with
               scale = 1 ("sum", Section II-B) or 0.25 ("mean", Section II-A).
  full         a = W x + b. C5 reads the 400 S4 outputs flattened in (c, i, j) C-order.
  every layer C1..F6 applies f after its affine part.
  RBF          y_i = sum_j (x6_j - P_ij)^2, P = paper.RBF_PROTOTYPES; class = argmin_i y_i. eq. (7)
  losses       "mle": E = y_D (eq. 8); "map": E = y_D + log(e^-j + sum_i e^-y_i) (eq. 9).
  second derivatives, Appendix C as the paper computes them: the F6 outputs get the constant
               h_x6 = output_d2 (2 = d^2 y_D / d x6_j^2); then backwards h_a = f'(a)^2 h_x
               (eq. 27, f'' dropped, so h >= 0), h_x[src] += u^2 h_a[dst], and a parameter w
               gets h_w = sum over the connections sharing w of h_a[dst] * (input)^2 (eqs. 23,
               25), input = x_src for weights, 1 for biases. A subsampling coefficient enters
               each of its 4 connections as u = coef * scale, so its input is scale * x_src and
               h_coef = sum h_a scale^2 x_src^2 over units and their 4 inputs (not scale^2 s^2).
               Hence every bbprop below is its bprop applied to squared weights and inputs.
"""

from typing import NamedTuple

import numpy as np

from lecun98 import layout, paper

A, S = paper.SQUASH_A, paper.SQUASH_S
P = paper.RBF_PROTOTYPES  # (10, 84) of +-1
C1_LINK_OUT = np.arange(paper.C1_MAPS, dtype=np.int64)  # C1: map o reads input map 0
C1_LINK_IN = np.zeros(paper.C1_MAPS, dtype=np.int64)
LOSSES = ("mle", "map")


# --- Squashing function ----------------------------------------------------------------------
def squash(a: np.ndarray) -> np.ndarray:
    return A * np.tanh(S * a)  # eq. (6)


def squash_deriv_from_output(x: np.ndarray) -> np.ndarray:
    """f'(a) from x = f(a): A S (1 - tanh^2) = (S/A)(A^2 - x^2)."""
    return (S / A) * (A * A - x * x)


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


# --- 2x2 subsampling (S2, S4) -------------------------------------------------------------------
def _block_sum(x):
    # x (C, H, W), H and W even -> (C, H/2, W/2)
    c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"subsampling needs even map sizes, got {h}x{w}")
    return x.reshape(c, h // 2, 2, w // 2, 2).sum(axis=(2, 4))


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


# --- Full connection (C5, F6) -------------------------------------------------------------------
def full_fprop(x, w, b):
    # x (N,), w (M, N), b (M,) -> a (M,)
    return w @ x + b


def full_bprop(x, w, ga):
    # ga (M,) -> gx (N,), gw (M, N), gb (M,)
    return w.T @ ga, np.outer(ga, x), ga.copy()


def full_bbprop(x, w, ha):
    # ha (M,) -> hx (N,), hw (M, N), hb (M,); eqs. (23), (25), (27)
    return full_bprop(x * x, w * w, ha)


# --- Euclidean RBF output and the losses (Section II-C) ------------------------------------------
def rbf_fprop(x, prototypes):
    # x (84,), prototypes (10, 84) -> y (10,)
    return np.sum((x[None, :] - prototypes) ** 2, axis=1)  # eq. (7)


def rbf_bprop(x, prototypes, gy):
    # gy (10,) -> gx (84,): dy_i/dx_j = 2 (x_j - P_ij)
    return 2.0 * (gy @ (x[None, :] - prototypes))


def _check_loss(y, label, kind):
    if kind not in LOSSES:
        raise ValueError(f"loss kind must be one of {LOSSES}, got {kind!r}")
    if not 0 <= label < len(y):
        raise ValueError(f"label {label} outside 0..{len(y) - 1}")


def loss(y, label, kind="map", j=1.0):
    """E for one pattern: y_D (eq. 8) or y_D + log(e^-j + sum_i e^-y_i) (eq. 9)."""
    _check_loss(y, label, kind)
    if kind == "mle":
        return float(y[label])  # eq. (8)
    m = min(j, y.min())  # shift so every exponent is <= 0 and one is 0
    return float(y[label] - m + np.log(np.exp(m - j) + np.sum(np.exp(m - y))))  # eq. (9)


def loss_grad(y, label, kind="map", j=1.0):
    """dE/dy_i = [i == D] - e^-y_i / (e^-j + sum_k e^-y_k) (map), [i == D] (mle)."""
    _check_loss(y, label, kind)
    gy = np.zeros(len(y))
    gy[label] = 1.0
    if kind == "map":
        m = min(j, y.min())
        e = np.exp(m - y)
        gy -= e / (np.exp(m - j) + e.sum())
    return gy


# --- The whole network on the flat parameter vector ----------------------------------------------
def _check(params, image):
    if params.shape != (layout.N_PARAMS,):
        raise ValueError(f"params must have shape ({layout.N_PARAMS},), got {params.shape}")
    if image.shape != (paper.IMAGE_SIZE, paper.IMAGE_SIZE):
        raise ValueError(f"image must be {paper.IMAGE_SIZE}x{paper.IMAGE_SIZE}, got {image.shape}")


def forward(params, image, scale=1.0):
    """Every activation of one pattern: x0..x6, a1..a6, the subsampling sums sum2/sum4, y."""
    params = np.asarray(params, dtype=np.float64)
    _check(params, image)
    p = layout.views(params)
    x0 = np.asarray(image, dtype=np.float64)[None]  # (1, 32, 32)
    a1 = conv_fprop(x0, p["c1.weight"], p["c1.bias"], C1_LINK_OUT, C1_LINK_IN)  # (6, 28, 28)
    x1 = squash(a1)
    a2, sum2 = subsample_fprop(x1, p["s2.coef"], p["s2.bias"], scale)  # (6, 14, 14)
    x2 = squash(a2)
    a3 = conv_fprop(x2, p["c3.weight"], p["c3.bias"], layout.C3_LINK_OUT, layout.C3_LINK_IN)
    x3 = squash(a3)  # (16, 10, 10), Table I
    a4, sum4 = subsample_fprop(x3, p["s4.coef"], p["s4.bias"], scale)  # (16, 5, 5)
    x4 = squash(a4)
    a5 = full_fprop(x4.reshape(-1), p["c5.weight"], p["c5.bias"])  # (120,), C-order (c, i, j)
    x5 = squash(a5)
    a6 = full_fprop(x5, p["f6.weight"], p["f6.bias"])  # (84,)
    x6 = squash(a6)
    y = rbf_fprop(x6, P)  # (10,)
    return dict(x0=x0, a1=a1, x1=x1, sum2=sum2, a2=a2, x2=x2, a3=a3, x3=x3, sum4=sum4, a4=a4,
                x4=x4, a5=a5, x5=x5, a6=a6, x6=x6, y=y)


def _sweep_back(params, act, g_x6, scale, second):
    """From d(.)/dx6 to every parameter: bprop (second=False) or bbprop with f'^2 (eq. 27)."""
    if second:
        conv_b, sub_b, full_b = conv_bbprop, subsample_bbprop, full_bbprop
        fprime = lambda x: squash_deriv_from_output(x) ** 2  # noqa: E731
    else:
        conv_b, sub_b, full_b = conv_bprop, subsample_bprop, full_bprop
        fprime = squash_deriv_from_output
    p = layout.views(np.asarray(params, dtype=np.float64))
    out = np.zeros(layout.N_PARAMS)
    g = layout.views(out)
    ga6 = fprime(act["x6"]) * g_x6  # (84,)
    gx5, g["f6.weight"][...], g["f6.bias"][...] = full_b(act["x5"], p["f6.weight"], ga6)
    ga5 = fprime(act["x5"]) * gx5  # (120,)
    gx4, g["c5.weight"][...], g["c5.bias"][...] = full_b(act["x4"].reshape(-1), p["c5.weight"], ga5)
    ga4 = fprime(act["x4"]) * gx4.reshape(act["x4"].shape)  # (16, 5, 5)
    gx3, g["s4.coef"][...], g["s4.bias"][...] = sub_b(act["x3"], p["s4.coef"], scale, ga4)
    ga3 = fprime(act["x3"]) * gx3  # (16, 10, 10)
    gx2, g["c3.weight"][...], g["c3.bias"][...] = conv_b(
        act["x2"], p["c3.weight"], layout.C3_LINK_OUT, layout.C3_LINK_IN, ga3)
    ga2 = fprime(act["x2"]) * gx2  # (6, 14, 14)
    gx1, g["s2.coef"][...], g["s2.bias"][...] = sub_b(act["x1"], p["s2.coef"], scale, ga2)
    ga1 = fprime(act["x1"]) * gx1  # (6, 28, 28)
    _, g["c1.weight"][...], g["c1.bias"][...] = conv_b(
        act["x0"], p["c1.weight"], C1_LINK_OUT, C1_LINK_IN, ga1)
    return out


def backward(params, act, g_x6, scale=1.0):
    """Flat gradient of any scalar whose derivative w.r.t. the 84 F6 outputs is g_x6."""
    return _sweep_back(params, act, np.asarray(g_x6, dtype=np.float64), scale, second=False)


def loss_and_grad(params, image, label, kind="map", j=1.0, scale=1.0):
    """(E, dE/dparams) for one pattern; E is eq. (8) or eq. (9)."""
    act = forward(params, image, scale)
    gy = loss_grad(act["y"], label, kind, j)
    return loss(act["y"], label, kind, j), backward(params, act, rbf_bprop(act["x6"], P, gy), scale)


def hessian_diag(params, image, scale=1.0, output_d2=2.0):
    """Appendix C's diagonal second derivatives for one pattern, flat (60,000,); eqs. (23)-(27)."""
    act = forward(params, image, scale)
    # ASSUMPTION(output-curvature): h_x6 constant, 2 = d2 y_D / d x6_j^2 (exact for eq. 8)
    h_x6 = np.full(paper.F6_UNITS, float(output_d2))
    return _sweep_back(params, act, h_x6, scale, second=True)


def gauss_newton_diag_exact(params, image, scale=1.0, output_d2=2.0):
    """diag of the Gauss-Newton matrix J^T (output_d2 I) J, J = d x6 / d params (84, 60,000).

    Built from 84 backward passes, one per F6 unit. Eq. (27) equals this exactly for the F6 and
    C5 parameters: each of them reaches each F6 output by a single path, so the cross terms Eq.
    (27) drops are zero. Below C5 paths re-converge (through the 120 C5 units, and within
    C3/S4 through shared kernels and overlapping windows), so hessian_diag is only a diagonal
    approximation of this there. (For s2/s4.coef, Eq. (25) per connection also differs from
    the exact scale^2 s^2 even on one path.)
    """
    act = forward(params, image, scale)
    h = np.zeros(layout.N_PARAMS)
    for m in range(paper.F6_UNITS):
        e_m = np.zeros(paper.F6_UNITS)
        e_m[m] = 1.0
        h += output_d2 * backward(params, act, e_m, scale) ** 2  # row m of J, squared
    return h


def predict(params, images, scale=1.0):
    """argmin_i y_i for each of images (N, 32, 32) -> (N,) int64."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        images = images[None]
    return np.array([np.argmin(forward(params, im, scale)["y"]) for im in images], dtype=np.int64)


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
    """The network as an explicit list of its 340,908 connections (Section II-B counts).

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
        _check(params, image)
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
