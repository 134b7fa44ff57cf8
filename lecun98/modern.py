"""The modern LeNet-5 of the tutorials, trained on mini-batches with Adam, compiled.

    input 32x32 (MNIST in [0, 1], padded with 0)
    C1  6 maps 28x28, 5x5 convolution  -> 2x2 max-pool -> ReLU        (S2: 6 x 14x14)
    C3  16 maps 10x10, 5x5 convolution over ALL 6 maps (no Table I) -> 2x2 max-pool -> ReLU
    C5  120 units, full over the 400 pooled values -> ReLU
    F6  84 units -> ReLU
    OUT 10 logits -> softmax cross-entropy, averaged over the batch

(Pooling before the ReLU gives the same values and gradients as after it, both being
monotone, with a quarter of the ReLUs.) Parameters are one flat vector of 61,706 values with
named views, as layout.py does for the 1998 network; Adam's two moments share the layout.

Mini-batch mechanics: the batch is split into `chunks` fixed slices run in parallel (so the
sums, and the bits, depend on the chunk count, never on thread timing). Forward, C1 and C3 are
conv.py's kernels per sample (C3 as 96 links: every S2 map into every C3 map). Backward, GROUP
samples at a time, C3's gradients are two matrix products (np.dot, BLAS) with the group's patch
matrix (im2col), in the orientations BLAS runs fastest here (measured: ~55 GFLOP/s against ~30
for the 16-row products of the forward, which is why the forward stays direct). C5, F6 and OUT
are matrix products over the whole batch. Each call processes a whole batch; train_epoch is a
Python loop over batches (~0.1 ms of overhead to ~25 ms of compiled work a batch of 256).
"""

from collections import namedtuple

import numpy as np
from numba import prange

from lecun98 import data, paper
from lecun98.jit import kernel, like
from lecun98.kernels.conv import conv_bprop, conv_fprop
from lecun98.kernels.maxpool import maxpool_bprop, maxpool_fprop

K = paper.KERNEL
W0 = paper.IMAGE_SIZE  # 32
C1, S2W, C3, S4W = paper.C1_MAPS, paper.S2_SIZE, paper.C3_MAPS, paper.S4_SIZE  # 6, 14, 16, 5
# C3's maps are kept in conv.py's wide layout: 10 rows of stride 14 (the S2 width), the last
# 4 slots of each row scratch. Each (map, u, v) row of the patch matrix is then one contiguous
# copy of an S2 map (wide im2col); the matrix products pay for 140 columns a sample, not 100.
C3_COLS = paper.C3_SIZE * S2W  # 140 columns a sample
C3_N = (paper.C3_SIZE - 1) * S2W + paper.C3_SIZE  # 136: the columns that are not scratch
GROUP = 16  # samples per backward C3 product: patch matrix 150 x 2240, 1.3 MB in float32
# (1 thread, batch 256: ~11,000 samples/s at 16, ~9,000 at 64 on this machine)
PATCH = C1 * K * K  # 150 rows of C3's patch matrix: (S2 map, u, v)
S4_INPUTS = C3 * S4W * S4W  # 400
C5, F6, OUT = paper.C5_UNITS, paper.F6_UNITS, paper.N_CLASSES
C1_LINK_OUT = np.arange(C1, dtype=np.int64)
C1_LINK_IN = np.zeros(C1, dtype=np.int64)
C3_LINK_OUT = np.repeat(np.arange(C3, dtype=np.int64), C1)  # link o*6 + c: S2 map c -> C3 map o
C3_LINK_IN = np.tile(np.arange(C1, dtype=np.int64), C3)

SHAPES = {
    "c1.weight": (C1, K, K),
    "c1.bias": (C1,),
    "c3.weight": (C3, PATCH),  # column c*25 + u*5 + v is checkpoint weight [o, c, u, v]
    "c3.bias": (C3,),
    "c5.weight": (C5, S4_INPUTS),
    "c5.bias": (C5,),
    "f6.weight": (F6, C5),
    "f6.bias": (F6,),
    "out.weight": (OUT, F6),
    "out.bias": (OUT,),
}
OFFSETS, _start = {}, 0
for _name, _shape in SHAPES.items():
    OFFSETS[_name] = (_start, _start + int(np.prod(_shape)))
    _start = OFFSETS[_name][1]
N_PARAMS = _start  # 61,706
(C1W, C1B), (C3W, C3B), (C5W, C5B), (F6W, F6B), (OUTW, OUTB) = (
    (OFFSETS[f"{n}.weight"][0], OFFSETS[f"{n}.bias"][0]) for n in ("c1", "c3", "c5", "f6", "out")
)
END = N_PARAMS
FAN_IN = {"c1": K * K, "c3": PATCH, "c5": S4_INPUTS, "f6": C5, "out": F6}

# x*: layer outputs and arg*: max-pool positions, per sample (backward reads them); a5, a6, z
# and g*: weighted sums and gradients of the full layers, per batch. Scratch per chunk (the
# sample at hand, cache-resident): a1, a3 (C1 and C3 sums), gx2, ga1 (their gradients), col,
# ga3t, gcol, gw3t (a group's patch matrix, dE/da3 transposed (columns x maps), the patch
# matrix's gradient, C3's weight gradient transposed), conv_grad (the chunk's C1 and C3
# gradient sums). grad: dE/dparams of the batch.
Batch = namedtuple(
    "Batch",
    "a1 x2 arg2 a3 x4 arg4 a5 x5 a6 x6 z gz gx6 gx5 gx4 gx2 ga1 col ga3t gcol gw3t conv_grad grad",
)
N_CONV = C5W - C1W  # C1 and C3 weights and biases: params[C1W:C5W]


def views(v: np.ndarray) -> dict[str, np.ndarray]:
    """Named, shaped views of a flat modern-layout vector (parameters, gradient, moments)."""
    return {n: v[a:b].reshape(SHAPES[n]) for n, (a, b) in OFFSETS.items()}


@kernel
def new_batch(batch, chunks, dtype):
    """Workspace for mini-batches of up to `batch` samples split into `chunks` slices."""
    cols = GROUP * C3_COLS
    return Batch(
        np.zeros((chunks, C1, paper.C1_SIZE * W0), dtype),  # a1, wide rows (conv.py)
        np.zeros((batch, C1, S2W * S2W), dtype),
        np.zeros((batch, C1, S2W * S2W), np.int32),
        np.zeros((chunks, C3, C3_COLS), dtype),  # a3, wide rows
        np.zeros((batch, S4_INPUTS), dtype),
        np.zeros((batch, C3, S4W * S4W), np.int32),
        np.zeros((batch, C5), dtype), np.zeros((batch, C5), dtype),
        np.zeros((batch, F6), dtype), np.zeros((batch, F6), dtype),
        np.zeros((batch, OUT), dtype), np.zeros((batch, OUT), dtype),
        np.zeros((batch, F6), dtype), np.zeros((batch, C5), dtype),
        np.zeros((batch, S4_INPUTS), dtype),
        np.zeros((chunks, C1, S2W * S2W), dtype),
        np.zeros((chunks, C1, paper.C1_SIZE * W0), dtype),
        np.zeros((chunks, PATCH, cols), dtype), np.zeros((chunks, cols, C3), dtype),
        np.zeros((chunks, PATCH, cols), dtype), np.zeros((chunks, PATCH, C3), dtype),
        np.zeros((chunks, N_CONV), dtype),
        np.zeros(N_PARAMS, dtype),
    )


@kernel
def _relu_rows(a, x):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            x[i, j] = max(a[i, j], like(a, 0.0))


@kernel
def _relu_grad_rows(x, g):
    # g <- g * [x > 0], x the ReLU's output (or input)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if x[i, j] <= 0.0:
                g[i, j] = 0.0


@kernel
def _add_bias_rows(a, b):
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] += b[j]


@kernel
def _sum_rows(g, out):
    for j in range(g.shape[1]):
        out[j] = 0.0
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            out[j] += g[i, j]


@kernel
def _c1_s2(w1, b1, image, a1, x2, arg2):
    # one sample: C1, max-pool, ReLU
    conv_fprop(image.reshape((1, W0 * W0)), w1, b1, C1_LINK_OUT, C1_LINK_IN, W0, a1)
    maxpool_fprop(a1, W0, x2, arg2)
    for c in range(C1):
        for m in range(S2W * S2W):
            x2[c, m] = max(x2[c, m], like(x2, 0.0))


@kernel
def _patches(x2, col, k):
    # one sample's 140 columns (k-th of its group) of the patch matrix:
    # col[(c,u,v), k*140 + n] = x2[c, n + u*14 + v], zero on the 4 scratch columns a row
    for c in range(C1):
        for u in range(K):
            for v in range(K):
                row = col[c * K * K + u * K + v, k * C3_COLS:(k + 1) * C3_COLS]
                off = u * S2W + v
                for m in range(C3_N):
                    row[m] = x2[c, m + off]
                for m in range(C3_N, C3_COLS):
                    row[m] = 0.0


@kernel
def _c3_s4(w3, b3, x2, a3, x4, arg4):
    # one sample: C3 (96 links), max-pool of its 16 maps, then ReLU
    conv_fprop(x2, w3.reshape((C3 * C1, K, K)), b3, C3_LINK_OUT, C3_LINK_IN, S2W, a3)
    pooled = x4.reshape((C3, S4W * S4W))
    maxpool_fprop(a3, S2W, pooled, arg4)
    for m in range(S4_INPUTS):
        x4[m] = max(x4[m], like(x4, 0.0))


@kernel(parallel=True)
def forward(params, images, samples, ws, chunks):
    """Logits of images[samples] -> ws.z[:len(samples)] (the batch's activations are kept)."""
    n = samples.size
    w1, b1 = params[C1W:C1B].reshape((C1, K, K)), params[C1B:C3W]
    w3, b3 = params[C3W:C3B], params[C3B:C5W]
    a1, x2, arg2, a3, x4, arg4 = ws.a1, ws.x2, ws.arg2, ws.a3, ws.x4, ws.arg4
    for t in prange(chunks):
        for b in range(t * n // chunks, (t + 1) * n // chunks):
            _c1_s2(w1, b1, images[samples[b]], a1[t], x2[b], arg2[b])
            _c3_s4(w3, b3, x2[b], a3[t], x4[b], arg4[b])
    _dense(ws.x4[:n], params[C5W:C5B].reshape((C5, S4_INPUTS)), params[C5B:F6W], ws.a5[:n])
    _relu_rows(ws.a5[:n], ws.x5[:n])
    _dense(ws.x5[:n], params[F6W:F6B].reshape((F6, C5)), params[F6B:OUTW], ws.a6[:n])
    _relu_rows(ws.a6[:n], ws.x6[:n])
    _dense(ws.x6[:n], params[OUTW:OUTB].reshape((OUT, F6)), params[OUTB:END], ws.z[:n])


@kernel
def _dense(x, w, b, a):
    # a = x w^T + b for a batch: x (n, in), w (out, in), a (n, out)
    a[:, :] = np.dot(x, w.T)
    _add_bias_rows(a, b)


@kernel
def softmax_cross_entropy(z, labels, samples, gz):
    """(sum of the losses, errors) of the batch; gz <- d(mean loss)/dz."""
    n = samples.size
    loss, errors = 0.0, 0
    for b in range(n):
        top = 0
        for k in range(1, OUT):
            if z[b, k] > z[b, top]:
                top = k
        label = labels[samples[b]]
        errors += top != label
        m = z[b, top]
        total = 0.0
        for k in range(OUT):
            total += np.exp(z[b, k] - m)
        loss += np.log(total) - (z[b, label] - m)
        for k in range(OUT):
            gz[b, k] = (np.exp(z[b, k] - m) / total - (k == label)) / n
    return loss, errors


@kernel(parallel=True)
def backward(params, images, samples, ws, chunks):
    """ws.gz[:n] (dE/dlogits) -> ws.grad (dE/dparams), after forward on the same samples."""
    n = samples.size
    g = ws.grad
    # OUT, F6, C5: matrix products over the batch
    g[OUTW:OUTB] = np.dot(ws.gz[:n].T, ws.x6[:n]).ravel()
    _sum_rows(ws.gz[:n], g[OUTB:END])
    ws.gx6[:n] = np.dot(ws.gz[:n], params[OUTW:OUTB].reshape((OUT, F6)))
    _relu_grad_rows(ws.x6[:n], ws.gx6[:n])
    g[F6W:F6B] = np.dot(ws.gx6[:n].T, ws.x5[:n]).ravel()
    _sum_rows(ws.gx6[:n], g[F6B:OUTW])
    ws.gx5[:n] = np.dot(ws.gx6[:n], params[F6W:F6B].reshape((F6, C5)))
    _relu_grad_rows(ws.x5[:n], ws.gx5[:n])
    g[C5W:C5B] = np.dot(ws.gx5[:n].T, ws.x4[:n]).ravel()
    _sum_rows(ws.gx5[:n], g[C5B:F6W])
    ws.gx4[:n] = np.dot(ws.gx5[:n], params[C5W:C5B].reshape((C5, S4_INPUTS)))
    # per chunk and group: S4 backwards, C3 as matrix products on the group's patch matrix,
    # S2 and C1 backwards; the conv gradients summed per chunk, then over chunks in order
    w1 = params[C1W:C1B].reshape((C1, K, K))
    w3 = params[C3W:C3B].reshape((C3, PATCH))
    x2, gx2, arg2, ga1, x4, gx4, arg4 = ws.x2, ws.gx2, ws.arg2, ws.ga1, ws.x4, ws.gx4, ws.arg4
    col, ga3t, gcol, gw3t, conv_grad = ws.col, ws.ga3t, ws.gcol, ws.gw3t, ws.conv_grad
    for t in prange(chunks):
        acc = conv_grad[t]
        acc[:] = 0.0
        for start in range(t * n // chunks, (t + 1) * n // chunks, GROUP):
            stop = min(start + GROUP, (t + 1) * n // chunks)
            for b in range(start, stop):
                _s4_bprop(x4[b], gx4[b], arg4[b], ga3t[t], b - start)
                _patches(x2[b], col[t], b - start)
            _c3_bprop(w3, col[t], ga3t[t], (stop - start) * C3_COLS, gcol[t], gw3t[t], acc)
            for b in range(start, stop):
                _s2_c1_bprop(w1, images[samples[b]], b - start, gcol[t], x2[b], gx2[t], arg2[b],
                             ga1[t], acc)
    g[C1W:C5W] = 0.0
    for t in range(chunks):
        g[C1W:C5W] += conv_grad[t]


@kernel
def _c3_bprop(w3, col, ga3t, cols, gcol, gw3t, acc):
    # a group's C3 gradients added into acc (laid out as params[C1W:C5W]) and gcol = w3^T ga3:
    # gw3^T = col ga3^T and gcol = w3^T (ga3^T)^T, the orientations BLAS runs fastest here
    if cols == col.shape[1]:
        np.dot(col, ga3t, gw3t)
        np.dot(w3.T, ga3t.T, gcol)
    else:
        c, g = np.ascontiguousarray(col[:, :cols]), np.ascontiguousarray(ga3t[:cols])
        gw3t[:, :] = np.dot(c, g)
        gcol[:, :cols] = np.dot(w3.T, g.T)
    w_at, b_at = C3W - C1W, C3B - C1W
    for o in range(C3):
        for k in range(PATCH):
            acc[w_at + o * PATCH + k] += gw3t[k, o]
    for m in range(cols):
        for o in range(C3):
            acc[b_at + o] += ga3t[m, o]


@kernel
def _s4_bprop(x4, gx4, arg4, ga3t, k):
    # one sample (k-th of its group): ReLU and max-pool backwards into its rows of dE/da3^T
    for m in range(S4_INPUTS):
        if x4[m] <= 0.0:
            gx4[m] = 0.0
    rows = ga3t[k * C3_COLS:(k + 1) * C3_COLS]
    rows[:, :] = 0.0
    for o in range(C3):
        for q in range(S4W * S4W):
            rows[arg4[o, q], o] = gx4[o * S4W * S4W + q]


@kernel
def _s2_c1_bprop(w1, image, k, gcol, x2, gx2, arg2, ga1, acc):
    # one sample (k-th of its group): its columns of the patch matrix's gradient back onto the
    # S2 maps (col2im; the scratch columns hold zeros, as dE/da3 is zero there), ReLU and
    # max-pool backwards, then C1's gradient added into acc
    gx2[:, :] = 0.0
    for c in range(C1):
        for u in range(K):
            for v in range(K):
                row = gcol[c * K * K + u * K + v, k * C3_COLS:(k + 1) * C3_COLS]
                off = u * S2W + v
                for m in range(C3_N):
                    gx2[c, m + off] += row[m]
        for m in range(S2W * S2W):
            if x2[c, m] <= 0.0:
                gx2[c, m] = 0.0
    maxpool_bprop(gx2, arg2, ga1)
    gw = np.empty((C1, K, K), acc.dtype)
    gb = np.empty(C1, acc.dtype)
    conv_bprop(image.reshape((1, W0 * W0)), w1, C1_LINK_OUT, C1_LINK_IN, W0, ga1, None, gw, gb)
    nw = C1 * K * K
    acc[:nw] += gw.ravel()
    acc[nw:nw + C1] += gb


@kernel
def adam_step(params, grad, m, v, step, lr, beta1, beta2, eps):
    """One Adam update (Kingma & Ba 2015, Algorithm 1); step counts from 1."""
    c1 = 1.0 - beta1**step
    c2 = 1.0 - beta2**step
    b1, b2 = like(m, beta1), like(v, beta2)
    a1, a2 = like(m, 1.0 - beta1), like(v, 1.0 - beta2)
    rate, inv_c2, e = like(params, lr / c1), like(params, 1.0 / c2), like(params, eps)
    for k in range(params.size):
        gk = grad[k]
        m[k] = b1 * m[k] + a1 * gk
        v[k] = b2 * v[k] + a2 * gk * gk
        params[k] -= rate * m[k] / (np.sqrt(v[k] * inv_c2) + e)


def train_epoch(params, m, v, step, images, labels, order, batch, lr, ws, chunks,
                progress=None) -> int:
    """Adam on consecutive mini-batches of `order`; returns the last step number (from 1).

    Each batch is four compiled calls (forward, loss, backward, Adam step), each over the whole
    batch, so this loop's Python overhead is ~0.1 ms a batch of 256 (~25 ms of work). When
    given, `progress` (a dict) gets the samples done, the on-the-fly training errors (before
    each batch's update) and the sum of the losses."""
    for start in range(0, order.size, batch):
        samples = order[start:start + batch]
        forward(params, images, samples, ws, chunks)
        loss, errors = softmax_cross_entropy(ws.z, labels, samples, ws.gz)
        backward(params, images, samples, ws, chunks)
        step += 1
        adam_step(params, ws.grad, m, v, step, lr, 0.9, 0.999, 1e-8)
        if progress is not None:
            progress["done"] = start + samples.size
            progress["errors"] = progress.get("errors", 0) + errors
            progress["loss_sum"] = progress.get("loss_sum", 0.0) + loss
    return step


def predict(params, images, batch, ws, chunks) -> np.ndarray:
    """Class of every image (the largest logit), `batch` at a time."""
    out = np.empty(len(images), dtype=np.int64)
    for start in range(0, len(images), batch):
        samples = np.arange(start, min(len(images), start + batch))
        forward(params, images, samples, ws, chunks)
        out[start:start + samples.size] = ws.z[:samples.size].argmax(axis=1)
    return out


def init_params(rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """He initialisation (uniform, bound sqrt(6 / fan_in)); biases zero."""
    params = np.zeros(N_PARAMS)
    for layer, fan_in in FAN_IN.items():
        a, b = OFFSETS[f"{layer}.weight"]
        params[a:b] = rng.uniform(-1.0, 1.0, b - a) * np.sqrt(6.0 / fan_in)
    return params.astype(dtype)


def normalise(images_uint8: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 32, 32) in [0, 1], padded with 0 (the tutorials' inputs)."""
    return data.normalise(images_uint8, dtype=dtype, background=0.0, foreground=1.0)
