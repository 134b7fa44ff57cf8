"""Every fast Numba kernel against its slow NumPy twin in reference.py, on random shapes (STYLE 5).

Float64 throughout. Conv outputs and subsampling inputs use the "wide" row layout of conv.py:
`to_wide` / `from_wide` translate from / to natural (C, H, W) arrays.
"""

import numpy as np
import pytest

from lecun98 import paper
from lecun98 import reference as ref
from lecun98.kernels import activation, conv, full, maxpool, rbf, squash, subsample

SEEDS = range(4)


# --- helpers ----------------------------------------------------------------------------------
def to_wide(x, width, fill=0.0):
    """(C, H, W) natural -> (C, H * width), x[c, i, j] at i * width + j, `fill` on the scratch."""
    c, h, w = x.shape
    out = np.full((c, h, width), fill)
    out[:, :, :w] = x
    return out.reshape(c, h * width)


def from_wide(xw, width, w):
    """(C, H * width) wide -> (C, H, w) natural (a view)."""
    return xw.reshape(xw.shape[0], -1, width)[:, :, :w]


def scratch(xw, width, w):
    """The scratch slots (columns w .. width-1 of every row) of a wide array."""
    return xw.reshape(xw.shape[0], -1, width)[:, :, w:]


def assert_close(fast, slow, rtol=1e-12, atol=1e-13, err_msg=""):
    """Tight comparison; atol scaled by the largest reference value (sums of many terms)."""
    slow = np.asarray(slow)
    scale = max(1.0, float(np.abs(slow).max())) if slow.size else 1.0
    np.testing.assert_allclose(fast, slow, rtol=rtol, atol=atol * scale, err_msg=err_msg)


def random_links(rng, c_in, c_out):
    """A random Table-I-like link list (random order): every output map has >= 1 link."""
    table = rng.random((c_in, c_out)) < 0.5
    table[rng.integers(c_in, size=c_out), np.arange(c_out)] = True
    link_out, link_in = (a.astype(np.int64) for a in np.nonzero(table.T))
    order = rng.permutation(len(link_out))
    return link_out[order], link_in[order]


def nans(shape):
    return np.full(shape, np.nan)


def squash_fprop(a, x):
    """activation.py's TANH with the paper's constants: f(a) = A tanh(S a), eq. (6)."""
    activation.activation_fprop(activation.TANH, np.array(activation.CONSTANTS["tanh"], a.dtype),
                                a, x)


# --- squash -----------------------------------------------------------------------------------
def test_squash_fprop_accuracy():
    a = np.concatenate([np.linspace(-60.0, 60.0, 1_200_001), [1e-9, -1e-9, 1e-20, 3.0, 20.0]])
    x = nans(a.shape)
    squash_fprop(a, x)
    twin = ref.squash(a)
    # Measured: 5.0e-16 against the twin (whose own error is ~2.3 ulp), ~3.2 ulp of |x| against
    # a long-double truth. The module docstring's "~1 ulp" is optimistic; -m / (2 + m) and the
    # final * A each round once more than libm's tanh.
    err = np.abs(x - twin)
    worst = np.max(err / np.maximum(1.0, np.abs(twin)))
    assert worst <= 6e-16, worst
    small = np.abs(a) < 1e-3  # near 0 the error must be relative, not 4e-16 absolute
    assert np.all(err[small] <= 4 * np.spacing(np.abs(twin[small]))), np.max(err[small])
    if np.finfo(np.longdouble).nmant >= 63:  # x87 / quad long double available
        ld = np.longdouble
        truth = ld(squash.A) * np.tanh(ld(squash.S) * a.astype(ld))
        ulps = np.abs(x.astype(ld) - truth).astype(np.float64) / np.spacing(np.abs(twin))
        assert ulps.max() <= 4.0, ulps.max()
    xneg = nans(a.shape)  # f is odd, bounded by A, monotone
    squash_fprop(-a, xneg)
    np.testing.assert_array_equal(xneg, -x)
    assert np.all(np.abs(x) <= squash.A)
    assert np.all(np.diff(x[:-5]) >= 0)


def test_squash_fprop_float32_accuracy():
    # float32 arrays take their own constants (a degree-7 polynomial); measured: <= 3 float32
    # ulp of the long-double truth, none of it widened to float64 (squash.py)
    a = np.concatenate([np.linspace(-30.0, 30.0, 600_001), [1e-9, -1e-9, 1e-30, 3.0, 20.0]])
    a = a.astype(np.float32)
    x = np.full(a.shape, np.nan, np.float32)
    squash_fprop(a, x)
    assert x.dtype == np.float32
    truth = squash.A * np.tanh(squash.S * a.astype(np.longdouble))
    ulps = np.abs(x - truth) / np.spacing(np.abs(truth).astype(np.float32))
    assert ulps.max() <= 4.0, ulps.max()
    xneg = np.empty_like(x)
    squash_fprop(-a, xneg)
    np.testing.assert_array_equal(xneg, -x)
    assert np.all(np.abs(x) <= np.float32(squash.A)) and np.all(np.diff(x[:-5]) >= 0)


def test_squash_fprop_special_values():
    a = np.array([0.0, -0.0, 1e-300, -1e-300, np.inf, -np.inf, np.nan, 40.0, -1e308])
    x = nans(a.shape)
    squash_fprop(a, x)
    np.testing.assert_array_equal(x[:2], [0.0, 0.0])
    # (f(-0) is +0: activation.py adds c0 = 0 to c1 tanh(c2 a))
    np.testing.assert_allclose(x[2:4], [squash.A * squash.S * 1e-300, -squash.A * squash.S * 1e-300],
                               rtol=4e-16)
    assert x[4] == squash.A and x[5] == -squash.A and x[8] == -squash.A
    assert np.isnan(x[6])
    assert x[7] == ref.squash(np.array([40.0]))[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_squash_bprop_bbprop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 600))
    x = ref.squash(rng.normal(scale=2.0, size=n))
    gx, hx = rng.normal(size=n), rng.uniform(0, 3, size=n)
    fp = ref.squash_deriv_from_output(x)
    ga, ha = nans(n), nans(n)
    c = np.array(activation.CONSTANTS["tanh"])
    activation.activation_bprop(activation.TANH, c, x, gx, ga)
    activation.activation_bbprop(activation.TANH, c, x, hx, ha)
    assert_close(ga, fp * gx, atol=1e-15)
    assert_close(ha, fp * fp * hx, atol=1e-15)
    assert np.all(ha >= 0)


@pytest.mark.parametrize("name", ["logistic", "relu", "identity"])
def test_other_activations(name):
    """The logistic function as the TANH family's (1/2, 1/2, 1/2), ReLU, and the identity
    (after parameter-free pooling), with derivatives from the output."""
    rng = np.random.default_rng(5)
    a = np.concatenate([rng.normal(scale=4.0, size=500), [0.0, -0.0, 40.0, -40.0]])
    if name == "logistic":
        kind, c = activation.TANH, np.array(activation.CONSTANTS["logistic"])
        want = 1.0 / (1.0 + np.exp(-a))
        deriv = want * (1.0 - want)
    elif name == "relu":
        kind, c = activation.RELU, np.zeros(3)
        want, deriv = np.maximum(a, 0.0), (a > 0).astype(float)
    else:
        kind, c = activation.IDENTITY, np.zeros(3)
        want, deriv = a, np.ones_like(a)
    x = nans(a.shape)
    activation.activation_fprop(kind, c, a, x)
    assert_close(x, want, rtol=4e-16, atol=4e-16)
    gx, hx = rng.normal(size=a.size), rng.uniform(0, 3, a.size)
    ga, ha = nans(a.size), nans(a.size)
    activation.activation_bprop(kind, c, x, gx, ga)
    activation.activation_bbprop(kind, c, x, hx, ha)
    assert_close(ga, deriv * gx, rtol=1e-13, atol=1e-15)
    assert_close(ha, deriv * deriv * hx, rtol=1e-13, atol=1e-15)


# --- convolution over a link table ----------------------------------------------------------------
def conv_case(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 6))
    c_in, c_out = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    h, w = (int(v) for v in rng.integers(k, k + 9, size=2))
    link_out, link_in = random_links(rng, c_in, c_out)
    x = rng.normal(size=(c_in, h, w))
    wt = rng.normal(size=(len(link_out), k, k))
    b = rng.normal(size=c_out)
    return rng, k, h, w, link_out, link_in, x, wt, b


@pytest.mark.parametrize("seed", SEEDS)
def test_conv_fprop(seed):
    _, k, h, w, link_out, link_in, x, wt, b = conv_case(seed)
    ho, wo = h - k + 1, w - k + 1
    a = nans((len(b), ho * w))
    conv.conv_fprop(x.reshape(len(x), h * w), wt, b, link_out, link_in, w, a)
    assert_close(from_wide(a, w, wo), ref.conv_fprop(x, wt, b, link_out, link_in))
    assert np.all(np.isfinite(a))  # scratch: finite junk


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_gx", [True, False], ids=["gx", "gx=None"])
def test_conv_bprop(seed, with_gx):
    rng, k, h, w, link_out, link_in, x, wt, b = conv_case(seed)
    ho, wo = h - k + 1, w - k + 1
    ga = rng.normal(size=(len(b), ho, wo))
    gx = nans((len(x), h * w)) if with_gx else None
    gw, gb = nans(wt.shape), nans(b.shape)
    conv.conv_bprop(x.reshape(len(x), h * w), wt, link_out, link_in, w, to_wide(ga, w), gx, gw, gb,
                    False)
    rgx, rgw, rgb = ref.conv_bprop(x, wt, link_out, link_in, ga)
    assert_close(gw, rgw, err_msg="gw")
    assert_close(gb, rgb, err_msg="gb")
    if with_gx:
        assert_close(gx.reshape(rgx.shape), rgx, err_msg="gx")
    # add: the parameter gradients added to what is there (a mini-batch's sum)
    gw0, gb0 = rng.normal(size=wt.shape), rng.normal(size=b.shape)
    gw2, gb2 = gw0.copy(), gb0.copy()
    conv.conv_bprop(x.reshape(len(x), h * w), wt, link_out, link_in, w, to_wide(ga, w), gx, gw2,
                    gb2, True)
    assert_close(gw2, gw0 + rgw, err_msg="gw, add")
    assert_close(gb2, gb0 + rgb, err_msg="gb, add")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("with_hx", [True, False], ids=["hx", "hx=None"])
def test_conv_bbprop(seed, with_hx):
    rng, k, h, w, link_out, link_in, x, wt, b = conv_case(seed)
    ho, wo = h - k + 1, w - k + 1
    ha = rng.uniform(0, 2, size=(len(b), ho, wo))
    hx = nans((len(x), h * w)) if with_hx else None
    hw, hb = nans(wt.shape), nans(b.shape)
    conv.conv_bbprop(x.reshape(len(x), h * w), wt, link_out, link_in, w, to_wide(ha, w), hx, hw, hb)
    rhx, rhw, rhb = ref.conv_bbprop(x, wt, link_out, link_in, ha)
    assert_close(hw, rhw, err_msg="hw")
    assert_close(hb, rhb, err_msg="hb")
    assert np.all(hw >= 0) and np.all(hb >= 0)
    if with_hx:
        assert_close(hx.reshape(rhx.shape), rhx, err_msg="hx")
        assert np.all(hx >= 0)


# --- 2x2 subsampling --------------------------------------------------------------------------
def subsample_case(seed):
    """Input is a (C, 2Ho, 2Ho) conv output in the wide layout of width 2Ho + K - 1."""
    rng = np.random.default_rng(seed)
    c, ho, k = int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(3, 6))
    width = 2 * ho + k - 1
    x = rng.normal(size=(c, 2 * ho, 2 * ho))
    coef, bias = rng.normal(size=c), rng.normal(size=c)
    return rng, c, ho, width, x, coef, bias


SUB_CASES = [(s, scale) for s in SEEDS for scale in (1.0, 0.25)]


@pytest.mark.parametrize("seed,scale", SUB_CASES)
def test_subsample_fprop(seed, scale):
    _, c, ho, width, x, coef, bias = subsample_case(seed)
    s, a = nans((c, ho * ho)), nans((c, ho * ho))
    xw = to_wide(x, width, fill=np.nan)  # the scratch must not be read
    subsample.subsample_fprop(xw, coef, bias, scale, width, s, a)
    ra, rs = ref.subsample_fprop(x, coef, bias, scale)
    assert_close(s.reshape(rs.shape), rs, err_msg="s")
    assert_close(a.reshape(ra.shape), ra, err_msg="a")


@pytest.mark.parametrize("seed,scale", SUB_CASES)
def test_subsample_bprop(seed, scale):
    rng, c, ho, width, x, coef, bias = subsample_case(seed)
    _, s = ref.subsample_fprop(x, coef, bias, scale)
    ga = rng.normal(size=(c, ho, ho))
    gx, gc, gb = nans((c, 2 * ho * width)), nans(c), nans(c)
    subsample.subsample_bprop(coef, scale, width, s.reshape(c, -1), ga.reshape(c, -1), gx, gc, gb,
                              False)
    rgx, rgc, rgb = ref.subsample_bprop(x, coef, scale, ga)
    assert_close(from_wide(gx, width, 2 * ho), rgx, err_msg="gx")
    assert_close(gc, rgc, err_msg="gcoef")
    assert_close(gb, rgb, err_msg="gbias")
    gc2, gb2 = np.ones(c), np.full(c, 2.0)
    subsample.subsample_bprop(coef, scale, width, s.reshape(c, -1), ga.reshape(c, -1), gx, gc2,
                              gb2, True)
    assert_close(gc2, 1.0 + rgc, err_msg="gcoef, add")
    assert_close(gb2, 2.0 + rgb, err_msg="gbias, add")
    # conv_bprop below sums ga over whole rows: the scratch must come back exactly zero
    np.testing.assert_array_equal(scratch(gx, width, 2 * ho), 0.0)


@pytest.mark.parametrize("seed,scale", SUB_CASES)
def test_subsample_bbprop(seed, scale):
    rng, c, ho, width, x, coef, bias = subsample_case(seed)
    ha = rng.uniform(0, 2, size=(c, ho, ho))
    hx, hc, hb = nans((c, 2 * ho * width)), nans(c), nans(c)
    subsample.subsample_bbprop(to_wide(x, width, fill=np.nan), coef, scale, width,
                               ha.reshape(c, -1), hx, hc, hb)
    rhx, rhc, rhb = ref.subsample_bbprop(x, coef, scale, ha)
    assert_close(from_wide(hx, width, 2 * ho), rhx, err_msg="hx")
    assert_close(hc, rhc, err_msg="hcoef")
    assert_close(hb, rhb, err_msg="hbias")
    np.testing.assert_array_equal(scratch(hx, width, 2 * ho), 0.0)


# --- full connection ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_full_layer(seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = int(rng.integers(1, 60)), int(rng.integers(1, 20))
    x, w, b = rng.normal(size=n_in), rng.normal(size=(n_out, n_in)), rng.normal(size=n_out)
    a = nans(n_out)
    full.full_fprop(x, w, b, a)
    assert_close(a, ref.full_fprop(x, w, b), err_msg="a")

    ga = rng.normal(size=n_out)
    gx, gw, gb = nans(n_in), nans(w.shape), nans(n_out)
    full.full_bprop(x, w, ga, gx, gw, gb, False)
    for fast, slow, name in zip((gx, gw, gb), ref.full_bprop(x, w, ga), ("gx", "gw", "gb")):
        assert_close(fast, slow, err_msg=name)
    gw2, gb2 = np.ones(w.shape), np.full(n_out, 2.0)
    full.full_bprop(x, w, ga, gx, gw2, gb2, True)
    assert_close(gw2, 1.0 + ref.full_bprop(x, w, ga)[1], err_msg="gw, add")
    assert_close(gb2, 2.0 + ga, err_msg="gb, add")

    ha = rng.uniform(0, 2, size=n_out)
    hx, hw, hb = nans(n_in), nans(w.shape), nans(n_out)
    full.full_bbprop(x, w, ha, hx, hw, hb)
    for fast, slow, name in zip((hx, hw, hb), ref.full_bbprop(x, w, ha), ("hx", "hw", "hb")):
        assert_close(fast, slow, err_msg=name)


# --- RBF output, losses, argmin -----------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_rbf(seed):
    rng = np.random.default_rng(seed)
    if seed == 0:
        protos = np.ascontiguousarray(paper.RBF_PROTOTYPES)
    else:
        protos = rng.choice([-1.0, 1.0], size=(int(rng.integers(1, 13)), int(rng.integers(1, 100))))
    x = rng.normal(size=protos.shape[1])
    y = nans(len(protos))
    rbf.rbf_fprop(x, protos, y)
    assert_close(y, ref.rbf_fprop(x, protos))
    gy = rng.normal(size=len(protos))
    gx = nans(len(x))
    rbf.rbf_bprop(x, protos, gy, gx)
    assert_close(gx, ref.rbf_bprop(x, protos, gy))


def loss_cases():
    rng = np.random.default_rng(7)
    ys = [rng.uniform(0, 5, 10), rng.uniform(0, 200, 10), 1e4 + np.arange(10.0),
          np.full(10, 1e4), rng.uniform(1e4, 1.01e4, 10)]
    return [(y, int(label), j) for y in ys for label in (0, 9, 4) for j in (0.0, 0.1, 1.0, 50.0, 1e4)]


@pytest.mark.parametrize("kind", [rbf.MLE, rbf.MAP], ids=["mle", "map"])
def test_loss_fprop_bprop(kind):
    name = {rbf.MLE: "mle", rbf.MAP: "map"}[kind]
    for y, label, j in loss_cases():
        gy = nans(10)
        e = rbf.loss_fprop_bprop(y, label, kind, j, gy)
        msg = f"{name} y[0]={y[0]} label={label} j={j}"
        assert np.isfinite(e) and np.all(np.isfinite(gy)), msg
        # fastmath reassociates y_D - m + log(total) into y_D + (log(total) - m): when y_D ~ m
        # ~ 1e4 and E ~ 1 the result is good to an ulp of y_D (5.8e-13 here), not of E.
        cancel = 4 * np.finfo(np.float64).eps * max(1.0, y[label], min(j, y.min()))
        assert e == pytest.approx(ref.loss(y, label, name, j), rel=1e-13, abs=cancel), msg
        np.testing.assert_allclose(gy, ref.loss_grad(y, label, name, j), rtol=1e-12, atol=1e-15,
                                   err_msg=msg)
        if kind == rbf.MLE:
            assert e == y[label]
            np.testing.assert_array_equal(gy, np.eye(10)[label])


def test_cross_entropy_and_softmax_output():
    """CE on logits: E = -y_D + log sum e^y, dE/dy = softmax - onehot, stable for large logits;
    the class is the largest logit (first of ties); the Hessian diagonal is p (1 - p)."""
    rng = np.random.default_rng(8)
    for y in (rng.normal(size=10), rng.normal(size=10) * 30 + 700, np.full(10, -800.0)):
        for label in (0, 4, 9):
            gy = nans(10)
            e = rbf.loss_fprop_bprop(y, label, rbf.CE, 0.0, gy)
            m = y.max()
            p = np.exp(y - m) / np.exp(y - m).sum()
            assert e == pytest.approx(m + np.log(np.exp(y - m).sum()) - y[label], rel=1e-13,
                                      abs=1e-12)
            np.testing.assert_allclose(gy, p - np.eye(10)[label], rtol=1e-12, atol=1e-15)
            hy = nans(10)
            rbf.softmax_curvature(y, hy)
            np.testing.assert_allclose(hy, p * (1 - p), rtol=1e-12, atol=1e-16)
    y = np.array([0.0, 3.0, 1.0, 3.0, 2.0, 0, 0, 0, 0, 0])
    assert rbf.predicted(y, rbf.CE) == 1 and rbf.predicted(y, rbf.MAP) == 0


# --- max pooling --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_maxpool(seed):
    """Block maxima over the wide layout, ties to the first in row-major order (integer-valued
    inputs make ties common); bprop sends each gradient to its block's maximum, zero elsewhere."""
    rng = np.random.default_rng(seed)
    c, ho = int(rng.integers(1, 7)), int(rng.integers(1, 8))
    width = 2 * ho + int(rng.integers(0, 5))
    x = rng.integers(0, 4, size=(c, 2 * ho, 2 * ho)).astype(float)
    out, arg = nans((c, ho * ho)), np.full((c, ho * ho), -1, np.int32)
    maxpool.maxpool_fprop(to_wide(x, width, fill=np.nan), width, out, arg)
    blocks = x.reshape(c, ho, 2, ho, 2).transpose(0, 1, 3, 2, 4).reshape(c, ho, ho, 4)
    np.testing.assert_array_equal(out.reshape(c, ho, ho), blocks.max(axis=3))
    first = blocks.argmax(axis=3)  # numpy: the first maximum, in (0,0), (0,1), (1,0), (1,1)
    i, j = np.meshgrid(np.arange(ho), np.arange(ho), indexing="ij")
    want = (2 * i[None] + first // 2) * width + 2 * j[None] + first % 2
    np.testing.assert_array_equal(arg.reshape(c, ho, ho), want)
    g = rng.normal(size=(c, ho * ho))
    gx = nans((c, 2 * ho * width))
    maxpool.maxpool_bprop(g, arg, gx)
    expect = np.zeros((c, 2 * ho * width))
    np.put_along_axis(expect, arg.astype(np.int64), g, axis=1)
    np.testing.assert_array_equal(gx, expect)


def test_argmin_ties_lowest_index():
    rng = np.random.default_rng(3)
    for _ in range(200):
        y = rng.integers(0, 3, size=int(rng.integers(1, 12))).astype(np.float64)  # many ties
        assert rbf.argmin(y) == np.argmin(y), y
    assert rbf.argmin(np.full(10, 5.0)) == 0
    assert rbf.argmin(np.array([3.0, 1.0, 2.0, 1.0])) == 1
