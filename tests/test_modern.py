"""The compiled modern LeNet-5 (modern.py) against a plain NumPy twin written here, finite
differences, Adam's formula, and a short MNIST run."""

import numpy as np
import pytest

from lecun98 import data, modern
from lecun98.kernels import maxpool
from finite_differences import fourth_order


# --- the NumPy twin: the modern network written as directly as NumPy allows --------------------
def twin_logits(params, images):
    """(n, 10) logits of (n, 32, 32) images, float64, one sample and one layer at a time."""
    v = modern.views(np.asarray(params, np.float64))
    w3 = v["c3.weight"].reshape(16, 6, 5, 5)
    out = []
    for image in np.asarray(images, np.float64):
        a1 = np.stack([correlate(image[None], v["c1.weight"][o][None]) + v["c1.bias"][o]
                       for o in range(6)])  # (6, 28, 28)
        x2 = np.maximum(pool(a1), 0.0)  # (6, 14, 14)
        a3 = np.stack([correlate(x2, w3[o]) + v["c3.bias"][o] for o in range(16)])
        x4 = np.maximum(pool(a3), 0.0).ravel()  # (400,)
        x5 = np.maximum(v["c5.weight"] @ x4 + v["c5.bias"], 0.0)
        x6 = np.maximum(v["f6.weight"] @ x5 + v["f6.bias"], 0.0)
        out.append(v["out.weight"] @ x6 + v["out.bias"])
    return np.array(out)


def correlate(x, w):
    """sum over maps c and taps (u, v) of w[c, u, v] x[c, i + u, j + v] (valid)."""
    k = w.shape[-1]
    h = x.shape[1] - k + 1
    return sum(w[c, u, t] * x[c, u:u + h, t:t + h]
               for c in range(x.shape[0]) for u in range(k) for t in range(k))


def pool(a):
    c, h, _ = a.shape
    return a.reshape(c, h // 2, 2, h // 2, 2).max(axis=(2, 4))


def twin_loss(params, images, labels):
    z = twin_logits(params, images)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels].mean()


# --- helpers --------------------------------------------------------------------------------------
def random_case(seed, n, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = modern.init_params(rng, np.float64)
    params += rng.uniform(-0.05, 0.05, modern.N_PARAMS)  # nonzero biases
    images = rng.uniform(0.0, 1.0, (n, 32, 32))
    labels = rng.integers(0, 10, n)
    return params.astype(dtype), images.astype(dtype), labels


def compiled_loss_and_grad(params, images, labels, chunks=1, batch=None):
    n = len(images)
    ws = modern.new_batch(batch or n, chunks, params.dtype.type)
    samples = np.arange(n)
    modern.forward(params, images, samples, ws, chunks)
    loss, errors = modern.softmax_cross_entropy(ws.z, labels, samples, ws.gz)
    modern.backward(params, images, samples, ws, chunks)
    return loss / n, ws.grad.copy(), ws.z[:n].copy(), errors


# --- tests ----------------------------------------------------------------------------------------
def test_parameter_count():
    # C1 156, C3 2,416 (dense: 16 x (6 x 25 + 1)), C5 48,120, F6 10,164, OUT 850
    sizes = {n: b - a for n, (a, b) in modern.OFFSETS.items()}
    assert sizes["c3.weight"] + sizes["c3.bias"] == 2_416
    assert modern.N_PARAMS == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706


def test_maxpool_against_numpy():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, (3, 28 * 32)).astype(np.float64)  # many ties, wide rows
    out, arg = np.full((3, 196), np.nan), np.full((3, 196), -1, np.int32)
    maxpool.maxpool_fprop(x, 32, out, arg)
    np.testing.assert_array_equal(out.reshape(3, 14, 14), pool(x.reshape(3, 28, 32)[:, :, :28]))
    blocks = x.reshape(3, 28, 32)[:, :, :28].reshape(3, 14, 2, 14, 2).transpose(0, 1, 3, 2, 4)
    first = blocks.reshape(3, 14, 14, 4).argmax(axis=3)  # first maximum in row-major order
    i, j = np.meshgrid(np.arange(14), np.arange(14), indexing="ij")
    expect = (2 * i[None] + first // 2) * 32 + 2 * j[None] + first % 2
    np.testing.assert_array_equal(arg.reshape(3, 14, 14), expect)
    g, gx = rng.normal(size=(3, 196)), np.full((3, 28 * 32), np.nan)
    maxpool.maxpool_bprop(g, arg, gx)
    assert np.count_nonzero(gx) == g.size
    np.testing.assert_array_equal(np.take_along_axis(gx, arg, axis=1), g)


@pytest.mark.parametrize("chunks", [1, 2])
def test_forward_and_loss_against_twin(chunks):
    params, images, labels = random_case(1, 5)
    loss, _, z, errors = compiled_loss_and_grad(params, images, labels, chunks, batch=7)
    np.testing.assert_allclose(z, twin_logits(params, images), rtol=1e-10, atol=1e-12)
    assert loss == pytest.approx(twin_loss(params, images, labels), rel=1e-12)
    assert errors == np.sum(z.argmax(axis=1) != labels)


def test_gradient_by_finite_differences():
    params, images, labels = random_case(2, 3)
    loss, grad, _, _ = compiled_loss_and_grad(params, images, labels)
    rng = np.random.default_rng(0)
    idx = np.concatenate([rng.choice(np.arange(a, b), size=min(b - a, 12), replace=False)
                          for a, b in modern.OFFSETS.values()])
    # h small enough that no ReLU or max-pool kink lies within +-2h (at h = 1e-4 C1's
    # thousands of units put some within reach: 1e-3 relative errors; at 1e-6, < 1e-7)
    fd = fourth_order(lambda p: twin_loss(p, images, labels), params, idx, h=1e-6)
    np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-8)


def test_chunks_change_only_the_summation_order():
    params, images, labels = random_case(4, 9)
    one = compiled_loss_and_grad(params, images, labels, chunks=1)
    three = compiled_loss_and_grad(params, images, labels, chunks=3)
    np.testing.assert_array_equal(one[2], three[2])  # forward: same bits
    np.testing.assert_allclose(one[1], three[1], rtol=1e-12, atol=1e-15)


def test_float32_matches_float64():
    params, images, labels = random_case(5, 4)
    loss64, grad64, z64, _ = compiled_loss_and_grad(params, images, labels)
    loss32, grad32, z32, _ = compiled_loss_and_grad(
        params.astype(np.float32), images.astype(np.float32), labels)
    assert grad32.dtype == np.float32
    np.testing.assert_allclose(z32, z64, rtol=1e-4, atol=1e-5)
    assert loss32 == pytest.approx(loss64, rel=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=0, atol=1e-4 * np.abs(grad64).max())


def test_adam_step_formula():
    rng = np.random.default_rng(6)
    p, g = rng.normal(size=50), rng.normal(size=50)
    m, v = rng.normal(size=50) * 0.1, rng.uniform(0, 0.1, 50)
    lr, b1, b2, eps, step = 1e-3, 0.9, 0.999, 1e-8, 7
    m_ref = b1 * m + (1 - b1) * g
    v_ref = b2 * v + (1 - b2) * g * g
    p_ref = p - lr * (m_ref / (1 - b1**step)) / (np.sqrt(v_ref / (1 - b2**step)) + eps)
    modern.adam_step(p, g, m, v, step, lr, b1, b2, eps)
    np.testing.assert_allclose(m, m_ref, rtol=1e-14, atol=1e-16)  # FMA rounds differently
    np.testing.assert_allclose(v, v_ref, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(p, p_ref, rtol=1e-13)


def test_one_epoch_learns_and_is_deterministic():
    raw, labels = data.load_mnist_raw("train")
    images, labels = modern.normalise(raw[:4000]), labels[:4000].astype(np.int64)
    runs = []
    for _ in range(2):
        params = modern.init_params(np.random.default_rng(0))
        m, v, progress = np.zeros_like(params), np.zeros_like(params), {}
        ws = modern.new_batch(64, 2, np.float32)
        step = modern.train_epoch(params, m, v, 0, images, labels, np.arange(3000), 64, 1e-3,
                                  ws, 2, progress)
        runs.append(params)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert step == 47 and progress["done"] == 3000  # 46 batches of 64 and one of 56
    assert 0 < progress["errors"] < 3000
    out = modern.predict(params, images[3000:], 256, modern.new_batch(256, 2, np.float32), 2)
    error = np.mean(out != labels[3000:])
    # Measured: ~9% held-out after 47 Adam steps; chance is 90%
    assert error < 0.2, error
