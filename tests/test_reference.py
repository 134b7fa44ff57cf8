"""The plain-NumPy reference against finite differences, scipy, and the brute-force graph."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from lecun98 import layout, paper
from lecun98 import reference as ref
from lecun98.config import MODERN, Config
from finite_differences import fourth_order

EPS = np.finfo(np.float64).eps
LENET5 = Config()
# One component of the 1998 network changed at a time, then all of them (the tutorials').
COMPONENTS = {
    "relu": Config(activation="relu"),
    "logistic": Config(activation="logistic"),
    "average": Config(pooling="average"),
    "max": Config(pooling="max"),
    "c3-full": Config(c3="full"),
    "softmax": Config(output="softmax", loss="ce"),
    "modern": Config(**MODERN),
}


# --- helpers ----------------------------------------------------------------------------------
def random_links(rng, c_in, c_out):
    """A random Table-I-like link list: every output map reads >= 1 distinct input map."""
    table = rng.random((c_in, c_out)) < 0.5
    table[rng.integers(c_in, size=c_out), np.arange(c_out)] = True
    link_out, link_in = (a.astype(np.int64) for a in np.nonzero(table.T))
    order = rng.permutation(len(link_out))  # the reference must not rely on grouping
    return link_out[order], link_in[order]


def fd_grad(f, arr, h=1e-5):
    """Central differences of the scalar f() w.r.t. every element of arr (perturbed in place)."""
    g = np.empty(arr.shape)
    for k in np.ndindex(arr.shape):
        old = arr[k]
        arr[k] = old + h
        ep = f()
        arr[k] = old - h
        em = f()
        arr[k] = old
        g[k] = (ep - em) / (2 * h)
    return g


def second_diff(f, arr, h=0.5):
    """d2 f / d arr_k^2 for f quadratic in each single element: exact for any step h."""
    d2 = np.empty(arr.shape)
    f0 = f()
    for k in np.ndindex(arr.shape):
        old = arr[k]
        arr[k] = old + h
        ep = f()
        arr[k] = old - h
        em = f()
        arr[k] = old
        d2[k] = (ep - 2 * f0 + em) / (h * h)
    return d2


def random_net(seed, config=LENET5, exponent=1.0):
    """Parameters uniform in +-2.4 / F_i ** exponent (Appendix A: 1), biases included."""
    rng = np.random.default_rng(seed)
    bound = paper.INIT_SCALE / layout.Layout.of(config).fan_in() ** exponent
    params = rng.uniform(-bound, bound)
    image = rng.uniform(paper.BACKGROUND, paper.FOREGROUND, (paper.IMAGE_SIZE, paper.IMAGE_SIZE))
    return rng, params, image


def check_indices(rng, lay, per_block=12):
    """A random sample of each parameter block (all of it when smaller)."""
    return np.concatenate([rng.choice(np.arange(a, b), size=min(per_block, b - a), replace=False)
                           for a, b in lay.offsets.values()])


def kinks(act, config):
    """Which side of every kink the pattern is on: the ReLU masks and the max-pool positions.

    With these fixed, the network is a smooth function of the parameters."""
    parts = []
    if config.activation == "relu":
        parts += [act[f"x{n}"].ravel() > 0 for n in range(1, 7)]
    if config.pooling == "max":
        parts += [act["arg2"].ravel(), act["arg4"].ravel()]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def assert_grad_matches_fd(config, seed, exponent=1.0):
    """loss_and_grad against 4th-order central differences on a sample of every block.

    ReLU and max pooling: an index whose 4 difference points (+-h, +-2h) do not all keep the
    centre's kinks() (a pre-activation within the step of 0, a near-tie in a pool block) is
    skipped, deterministically; at most 10% may be (1 to 4 of ~100 here). On the others the
    network is one smooth function at every point the difference reads, so the check is as
    tight as for tanh."""
    lay = layout.Layout.of(config)
    rng, params, image = random_net(seed, config, exponent)
    label = int(rng.integers(10))
    e, grad = ref.loss_and_grad(params, image, label, config)
    centre = kinks(ref.forward(params, image, config), config)
    seen = []

    def energy(p):
        act = ref.forward(p, image, config)
        seen.append(np.array_equal(kinks(act, config), centre))
        return ref.loss(act["y"], label, config.loss, config.j)

    assert e == energy(params)
    seen.clear()
    h = 1e-4
    idx = check_indices(rng, lay)
    fd = fourth_order(energy, params, idx, h)
    smooth = np.array(seen).reshape(len(idx), 4).all(axis=1)  # 4 energy calls per index
    assert smooth.mean() >= 0.9, f"{np.sum(~smooth)} of {len(idx)} indices straddle a kink"
    noise = 100 * EPS * abs(e) / h  # rounding floor of the difference quotient
    err = np.abs(fd - grad[idx])
    bad = smooth & (err > 1e-5 * np.maximum(np.abs(fd), np.abs(grad[idx])) + noise)
    names = [n for n, (a, b) in lay.offsets.items() for k in idx[bad] if a <= k < b]
    assert not bad.any(), (names, err[bad], grad[idx][bad])
    return grad


# --- activations, RBF, softmax, losses ------------------------------------------------------
def test_squash_constants_and_derivative():
    assert ref.squash(np.array([1.0, -1.0])) == pytest.approx([1.0, -1.0], abs=1e-4)  # eq. (6)
    a = np.linspace(-4, 4, 41)
    fd = (ref.squash(a + 1e-6) - ref.squash(a - 1e-6)) / 2e-6
    np.testing.assert_allclose(ref.squash_deriv_from_output(ref.squash(a)), fd, rtol=1e-7)


def test_logistic_and_relu_formulas():
    a = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(ref.logistic(a), 1.0 / (1.0 + np.exp(-a)), rtol=1e-14)
    a = np.linspace(-8, 8, 41)  # beyond, 1 - x cancels: f' from the output loses digits
    fd = (ref.logistic(a + 1e-6) - ref.logistic(a - 1e-6)) / 2e-6
    np.testing.assert_allclose(ref.logistic_deriv_from_output(ref.logistic(a)), fd, rtol=1e-7)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow far out
        np.testing.assert_array_equal(ref.logistic(np.array([-1e4, 0.0, 1e4])), [0.0, 0.5, 1.0])

    a = np.array([-2.0, -1e-300, 0.0, 1e-300, 3.0])
    np.testing.assert_array_equal(ref.relu(a), [0.0, 0.0, 0.0, 1e-300, 3.0])
    np.testing.assert_array_equal(ref.relu_deriv_from_output(ref.relu(a)), [0, 0, 0, 1, 1])
    assert ref.ACTIVATIONS["relu"][1](ref.relu(np.zeros(1)))[0] == 0.0  # f'(0) = 0


def test_rbf_bprop_fd():
    rng = np.random.default_rng(0)
    x, gy = rng.normal(size=84), rng.normal(size=10)
    fd = fd_grad(lambda: gy @ ref.rbf_fprop(x, paper.RBF_PROTOTYPES), x)
    np.testing.assert_allclose(ref.rbf_bprop(x, paper.RBF_PROTOTYPES, gy), fd, rtol=1e-6)


@pytest.mark.parametrize("kind,j", [("mle", 1.0), ("map", 0.0), ("map", 0.1), ("map", 1.0),
                                    ("ce", 0.0)])
def test_loss_grad_fd(kind, j):
    y = np.random.default_rng(1).uniform(0, 5, 10)
    fd = fd_grad(lambda: ref.loss(y, 3, kind, j), y)
    np.testing.assert_allclose(ref.loss_grad(y, 3, kind, j), fd, rtol=1e-6, atol=1e-9)


def test_loss_stable_and_map_mle_relation():
    # Huge distances, j = 0: e^-y underflows to 0 but E and dE/dy stay finite and exact.
    y = np.full(10, 1e4)
    assert ref.loss(y, 2, "map", 0.0) == 1e4
    assert np.all(np.isfinite(ref.loss_grad(y, 2, "map", 0.0)))
    # Huge j and y: the unshifted log(e^-j + sum e^-y) would be log(0) = -inf.
    y = 1e4 + np.arange(10.0)
    e = ref.loss(y, 0, "map", 1e4)
    assert e == pytest.approx(np.log(1 + np.sum(np.exp(-np.arange(10.0)))), rel=1e-12)
    assert np.all(np.isfinite(ref.loss_grad(y, 0, "map", 1e4)))

    rng = np.random.default_rng(2)
    for _ in range(20):
        y, d, j = rng.uniform(0, 200, 10), int(rng.integers(10)), float(rng.choice([0, 0.1, 1, 50]))
        e_map, e_mle = ref.loss(y, d, "map", j), ref.loss(y, d, "mle", j)
        # eq. (9) - eq. (8) is the log-partition with the extra class of energy j
        lse = np.logaddexp.reduce(np.concatenate([[-j], -y]))
        assert e_map - e_mle == pytest.approx(lse, rel=1e-12, abs=1e-10)
        assert e_map > 0.0  # log(e^-j + sum e^-y) > log e^-y_D
        assert e_map - e_mle >= -j - 1e-12 * e_mle  # the j term alone; equality once all y >> j
        gy = ref.loss_grad(y, d, "map", j)
        pull_j = np.exp(-j - lse)  # e^-j / (e^-j + sum e^-y): what the j "class" takes
        assert gy.sum() == pytest.approx(pull_j, abs=1e-12)
        assert gy[d] >= 0.0 and np.all(np.delete(gy, d) <= 0.0)


def test_cross_entropy_stable_and_its_gradient():
    # Logits ~ +-1e4: the unshifted log sum e^y would be inf (or log 0).
    tail = np.log(np.sum(np.exp(-np.arange(10.0))))  # log sum_k e^-k
    for y, d, expect in ((1e4 + np.arange(10.0)[::-1], 0, tail),
                         (-1e4 + np.arange(10.0)[::-1], 0, tail),
                         (1e4 + np.arange(10.0)[::-1], 9, 9.0 + tail)):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            e, gy = ref.loss(y, d, "ce"), ref.loss_grad(y, d, "ce")
        assert e == pytest.approx(expect, rel=1e-12)
        p = np.exp(-np.arange(10.0)) / np.sum(np.exp(-np.arange(10.0)))
        np.testing.assert_allclose(gy, p - np.eye(10)[d], rtol=1e-12, atol=1e-16)
    # The gradient is p - onehot: it sums to 0 and only the label's entry is negative.
    rng = np.random.default_rng(3)
    for _ in range(20):
        y, d = rng.normal(0, 5, 10), int(rng.integers(10))
        gy = ref.loss_grad(y, d, "ce")
        np.testing.assert_allclose(gy, np.exp(y) / np.exp(y).sum() - np.eye(10)[d], rtol=1e-12,
                                   atol=1e-16)
        assert gy.sum() == pytest.approx(0.0, abs=1e-15)
        assert gy[d] < 0 and np.all(np.delete(gy, d) > 0)
        # p (1 - p) is the diagonal of CE's Hessian in the logits
        fd = np.array([fd_grad(lambda: ref.loss_grad(y, d, "ce")[i], y[i:i + 1], 1e-5)[0]
                       for i in range(10)])
        np.testing.assert_allclose(ref.softmax_curvature(y), fd, rtol=1e-5, atol=1e-10)


# --- per-layer triples on random shapes ---------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_conv_layer(seed):
    rng = np.random.default_rng(seed)
    c_in, c_out, k = rng.integers(1, 5), rng.integers(1, 5), rng.integers(1, 5)
    h, w = rng.integers(k, k + 6, size=2)
    link_out, link_in = random_links(rng, c_in, c_out)
    x = rng.normal(size=(c_in, h, w))
    wt = rng.normal(size=(len(link_out), k, k))
    b = rng.normal(size=c_out)

    a = ref.conv_fprop(x, wt, b, link_out, link_in)
    expect = np.repeat(b, (h - k + 1) * (w - k + 1)).reshape(c_out, h - k + 1, w - k + 1)
    for l, (o, i) in enumerate(zip(link_out, link_in)):
        expect[o] += correlate2d(x[i], wt[l], mode="valid")
    np.testing.assert_allclose(a, expect, rtol=1e-12, atol=1e-12)

    ga = rng.normal(size=a.shape)
    f = lambda: np.sum(ga * ref.conv_fprop(x, wt, b, link_out, link_in))  # noqa: E731
    gx, gw, gb = ref.conv_bprop(x, wt, link_out, link_in, ga)
    for g, arr in ((gx, x), (gw, wt), (gb, b)):
        np.testing.assert_allclose(g, fd_grad(f, arr), rtol=1e-6, atol=1e-8)

    # Each weight and input reaches each output at most once, so for E = 1/2 sum ha a^2 the
    # per-connection eqs. (23), (25), (27) are the exact second derivatives.
    ha = rng.uniform(0, 2, size=a.shape)
    f2 = lambda: 0.5 * np.sum(ha * ref.conv_fprop(x, wt, b, link_out, link_in) ** 2)  # noqa: E731
    hx, hw, hb = ref.conv_bbprop(x, wt, link_out, link_in, ha)
    for hh, arr in ((hx, x), (hw, wt), (hb, b)):
        np.testing.assert_allclose(hh, second_diff(f2, arr), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("seed,scale", [(0, 1.0), (1, 0.25), (2, 1.0), (3, 0.25)])
def test_subsample_layer(seed, scale):
    rng = np.random.default_rng(seed)
    c, h, w = rng.integers(1, 5), 2 * rng.integers(1, 5), 2 * rng.integers(1, 5)
    x, coef, bias = rng.normal(size=(c, h, w)), rng.normal(size=c), rng.normal(size=c)

    a, s = ref.subsample_fprop(x, coef, bias, scale)
    for ci, i, j in np.ndindex(a.shape):
        block = x[ci, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
        assert s[ci, i, j] == pytest.approx(block.sum(), rel=1e-12, abs=1e-12)
        expect = coef[ci] * scale * block.sum() + bias[ci]
        assert a[ci, i, j] == pytest.approx(expect, rel=1e-12, abs=1e-12)

    ga = rng.normal(size=a.shape)
    f = lambda: np.sum(ga * ref.subsample_fprop(x, coef, bias, scale)[0])  # noqa: E731
    gx, gc, gb = ref.subsample_bprop(x, coef, scale, ga)
    for g, arr in ((gx, x), (gc, coef), (gb, bias)):
        np.testing.assert_allclose(g, fd_grad(f, arr), rtol=1e-6, atol=1e-8)

    ha = rng.uniform(0, 2, size=a.shape)
    hx, hc, hb = ref.subsample_bbprop(x, coef, scale, ha)
    f2 = lambda: 0.5 * np.sum(ha * ref.subsample_fprop(x, coef, bias, scale)[0] ** 2)  # noqa: E731
    for hh, arr in ((hx, x), (hb, bias)):  # one path each: exact
        np.testing.assert_allclose(hh, second_diff(f2, arr), rtol=1e-8, atol=1e-10)
    # The coefficient is summed per connection (eq. 25): sum ha scale^2 x_src^2, by brute force.
    expect = np.zeros(c)
    for ci, i, j, di, dj in np.ndindex(*a.shape, 2, 2):
        expect[ci] += ha[ci, i, j] * scale**2 * x[ci, 2 * i + di, 2 * j + dj] ** 2
    np.testing.assert_allclose(hc, expect, rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_average_pool_layer(seed):
    rng = np.random.default_rng(seed)
    c, h, w = rng.integers(1, 5), 2 * rng.integers(1, 5), 2 * rng.integers(1, 5)
    x = rng.normal(size=(c, h, w))
    a = ref.average_fprop(x)
    for ci, i, j in np.ndindex(a.shape):
        block = x[ci, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
        assert a[ci, i, j] == pytest.approx(0.25 * block.sum(), rel=1e-12, abs=1e-15)
    ga = rng.normal(size=a.shape)
    np.testing.assert_allclose(ref.average_bprop(ga),
                               fd_grad(lambda: np.sum(ga * ref.average_fprop(x)), x), rtol=1e-6)
    # each input is in one block, weight 1/4: h_x = h_a / 16 exactly
    ha = rng.uniform(0, 2, size=a.shape)
    f2 = lambda: 0.5 * np.sum(ha * ref.average_fprop(x) ** 2)  # noqa: E731
    np.testing.assert_allclose(ref.average_bbprop(ha), second_diff(f2, x), rtol=1e-8, atol=1e-12)


def first_max_brute_force(block):
    """The tie rule, literally: scan (0,0), (0,1), (1,0), (1,1); a later one wins if greater."""
    best, at = block[0, 0], 0
    for k, (di, dj) in enumerate(((0, 1), (1, 0), (1, 1)), start=1):
        if block[di, dj] > best:
            best, at = block[di, dj], k
    return best, at


def test_maxpool_tie_rule():
    one = lambda rows: ref.maxpool_fprop(np.array(rows, dtype=float)[None])  # noqa: E731
    for rows, at in (([[1, 1], [1, 1]], 0), ([[0, 2], [2, 2]], 1), ([[0, 1], [2, 2]], 2),
                     ([[3, 1], [2, 3]], 0), ([[0, 1], [1, 2]], 3), ([[-1, -1], [-1, -2]], 0)):
        a, arg = one(rows)
        assert (a[0, 0, 0], arg[0, 0, 0]) == (np.max(rows), at), rows
        g = ref.maxpool_bprop(arg, np.full((1, 1, 1), 7.0))[0]
        assert g[divmod(at, 2)] == 7.0 and g.sum() == 7.0, (rows, g)
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, size=(3, 8, 6)).astype(float)  # many ties
    a, arg = ref.maxpool_fprop(x)
    for ci, i, j in np.ndindex(a.shape):
        best, at = first_max_brute_force(x[ci, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2])
        assert (a[ci, i, j], arg[ci, i, j]) == (best, at), (ci, i, j)


@pytest.mark.parametrize("seed", range(3))
def test_maxpool_layer(seed):
    rng = np.random.default_rng(seed)
    c, h, w = rng.integers(1, 5), 2 * rng.integers(1, 5), 2 * rng.integers(1, 5)
    x = rng.permutation(c * h * w).reshape(c, h, w) * 0.01  # distinct: no ties within 1e-5
    a, arg = ref.maxpool_fprop(x)
    for ci, i, j in np.ndindex(a.shape):
        assert a[ci, i, j] == x[ci, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max()
    ga = rng.normal(size=a.shape)
    gx = ref.maxpool_bprop(arg, ga)
    np.testing.assert_allclose(gx, fd_grad(lambda: np.sum(ga * ref.maxpool_fprop(x)[0]), x),
                               rtol=1e-8, atol=1e-12)
    ha = rng.uniform(0, 2, size=a.shape)
    f2 = lambda: 0.5 * np.sum(ha * ref.maxpool_fprop(x)[0] ** 2)  # noqa: E731
    np.testing.assert_allclose(ref.maxpool_bbprop(arg, ha), second_diff(f2, x, h=1e-3),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_full_layer(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 9, size=2)
    x, w, b = rng.normal(size=n), rng.normal(size=(m, n)), rng.normal(size=m)
    ga = rng.normal(size=m)
    f = lambda: ga @ ref.full_fprop(x, w, b)  # noqa: E731
    for g, arr in zip(ref.full_bprop(x, w, ga), (x, w, b)):
        np.testing.assert_allclose(g, fd_grad(f, arr), rtol=1e-6, atol=1e-8)
    ha = rng.uniform(0, 2, size=m)
    f2 = lambda: 0.5 * ha @ ref.full_fprop(x, w, b) ** 2  # noqa: E731
    hx, hw, hb = ref.full_bbprop(x, w, ha)
    for hh, arr in ((hw, w), (hb, b)):  # exact; hx drops the cross terms of eq. (27)
        np.testing.assert_allclose(hh, second_diff(f2, arr), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(hx, (w * w).T @ ha, rtol=1e-12)


# --- whole network: the components' forward conventions ------------------------------------------
def test_forward_components():
    for config in (Config(activation="relu", pooling="average", c3="full"),
                   Config(activation="logistic", pooling="max", output="softmax", loss="ce")):
        lay = layout.Layout.of(config)
        _, params, image = random_net(5, config, exponent=0.5)
        act = ref.forward(params, image, config)
        f = ref.ACTIVATIONS[config.activation][0]
        for n in (1, 3, 5, 6):  # the activation in C1, C3, C5, F6 ...
            np.testing.assert_array_equal(act[f"x{n}"], f(act[f"a{n}"]))
        for n in (2, 4):  # ... and none after parameter-free pooling
            src = act[f"x{n - 1}"]
            blocks = np.stack([src[:, di::2, dj::2] for di in (0, 1) for dj in (0, 1)])
            pooled = blocks.max(axis=0) if config.pooling == "max" else 0.25 * blocks.sum(axis=0)
            np.testing.assert_allclose(act[f"x{n}"], pooled, rtol=1e-15, atol=1e-15)
        # C3 by scipy over its links (all 96 S2-C3 pairs when "full")
        c3 = lay.view(params, "c3.weight")
        expect = np.repeat(lay.view(params, "c3.bias"), 100).reshape(16, 10, 10)
        table = paper.C3_TABLE if config.c3 == "table" else np.ones((6, 16), bool)
        for l, (o, i) in enumerate(zip(*np.nonzero(table.T))):
            expect[o] += correlate2d(act["x2"][i], c3[l], mode="valid")
        np.testing.assert_allclose(act["a3"], expect, rtol=1e-12, atol=1e-12)
        assert len(c3) == int(table.sum())
        if config.output == "softmax":
            np.testing.assert_allclose(act["y"], lay.view(params, "out.weight") @ act["x6"]
                                       + lay.view(params, "out.bias"), rtol=1e-14)


# --- whole network against finite differences ----------------------------------------------------
@pytest.mark.parametrize("subsampling", ["sum", "mean"])
@pytest.mark.parametrize("kind,j", [("map", 0.1), ("map", 1.0), ("mle", 1.0)])
def test_loss_and_grad_fd(kind, j, subsampling):
    assert_grad_matches_fd(Config(loss=kind, j=j, subsampling=subsampling), seed=10)


@pytest.mark.parametrize("name", COMPONENTS)
def test_loss_and_grad_fd_components(name):
    # Weights +-2.4/sqrt(F_i) (Config's init_exponent): the units leave the linear regime.
    assert_grad_matches_fd(COMPONENTS[name], seed=11, exponent=0.5)


# --- the brute-force connection graph ----------------------------------------------------------
@pytest.fixture(scope="module", params=["sum", "mean"])
def graph(request):
    return ref.ConnectionGraph(Config(subsampling=request.param).scale)


def test_graph_counts(graph):
    assert graph.connections_per_layer() == paper.CONNECTIONS
    assert sum(graph.connections_per_layer().values()) == paper.TOTAL_CONNECTIONS == 340_908
    assert graph.parameters_per_layer() == paper.PARAMETERS
    assert sum(graph.parameters_per_layer().values()) == paper.TOTAL_PARAMETERS
    # every parameter is used, and each connection row is distinct
    used = np.unique(np.concatenate([c.pidx for c in graph.conn.values()]))
    np.testing.assert_array_equal(used, np.arange(-1, layout.N_PARAMS))
    for c in graph.conn.values():
        assert np.unique(np.stack([c.src, c.dst, c.pidx]), axis=1).shape[1] == len(c.src)


@pytest.mark.parametrize("seed", [20, 21])
def test_graph_matches_reference(graph, seed):
    rng, params, image = random_net(seed)
    config = Config(subsampling={1.0: "sum", 0.25: "mean"}[graph.scale])
    act, gact = ref.forward(params, image, config), graph.forward(params, image)
    for key in ("x1", "x2", "x3", "x4", "x5", "x6", "a1", "a2", "a3", "a4", "a5", "a6", "y"):
        np.testing.assert_allclose(gact[key], act[key], rtol=1e-10, atol=1e-12, err_msg=key)
    label = int(rng.integers(10))
    for kind, j in (("map", 0.1), ("mle", 1.0)):
        _, grad = ref.loss_and_grad(params, image, label, config.replace(loss=kind, j=j))
        np.testing.assert_allclose(graph.gradient(params, image, label, kind, j), grad,
                                   rtol=1e-10, atol=1e-14 * np.abs(grad).max())
    h = ref.hessian_diag(params, image, config)
    np.testing.assert_allclose(graph.hessian_diag(params, image), h, rtol=1e-10,
                               atol=1e-14 * h.max())


# --- Eq. (27) against the exact Gauss-Newton diagonal ------------------------------------------
# Blocks on which hessian_diag is exactly diag(J^T D J) (gauss_newton_diag_exact's docstring).
EXACT = {"rbf": ("f6.", "c5."), "softmax": ("out.", "f6.")}
ARCHITECTURES = {
    "1998-sum-d2=3": Config(subsampling="sum", output_d2=3.0),
    "1998-mean": Config(),
    "logistic-average-full-rbf": Config(activation="logistic", pooling="average", c3="full",
                                        loss="mle"),
    "relu-max-table-rbf": Config(activation="relu", pooling="max"),
    "tanh-max-full-softmax": Config(pooling="max", c3="full", output="softmax", loss="ce"),
    "logistic-trainable-table-softmax": Config(activation="logistic", output="softmax",
                                               loss="ce"),
    "relu-average-table-softmax": Config(activation="relu", pooling="average", output="softmax",
                                         loss="ce"),
    "modern": Config(**MODERN),
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_hessian_diag_vs_exact_gauss_newton(name):
    config = ARCHITECTURES[name]
    lay = layout.Layout.of(config)
    _, params, image = random_net(30, config, exponent=0.5)
    h = ref.hessian_diag(params, image, config)
    exact = ref.gauss_newton_diag_exact(params, image, config)
    assert np.all(h >= 0) and np.all(exact >= 0)
    for block in lay.shapes:
        hv, ev = lay.view(h, block), lay.view(exact, block)
        assert ev.max() > 0, block
        if block.startswith(EXACT[config.output]):  # one path per (parameter, output row)
            np.testing.assert_allclose(hv, ev, rtol=1e-9, atol=1e-15 * ev.max(), err_msg=block)
        else:  # re-converging paths: eq. (27) drops the cross terms
            assert not np.allclose(hv, ev, rtol=1e-3, atol=0), block
        print(f"{name} {block:10s} sum eq.(27) / sum exact GN = {hv.sum() / ev.sum():.3f}")


def pool_h_by_hand(config, coef, x_in, x_out, h_out):
    """Eq. (27) through one S layer, unit by unit: h_x_in, and h of its coef and bias."""
    fprime = ref.ACTIVATIONS[config.activation][1]
    h_in, h_coef, h_bias = np.zeros(x_in.shape), np.zeros(len(x_out)), np.zeros(len(x_out))
    for c, i, j in np.ndindex(x_out.shape):
        rows, cols = slice(2 * i, 2 * i + 2), slice(2 * j, 2 * j + 2)
        if config.pooling == "max":
            _, at = first_max_brute_force(x_in[c, rows, cols])
            h_in[c, 2 * i + at // 2, 2 * j + at % 2] = h_out[c, i, j]
        elif config.pooling == "average":
            h_in[c, rows, cols] = 0.25**2 * h_out[c, i, j]
        else:
            h_a = fprime(x_out[c, i, j]) ** 2 * h_out[c, i, j]
            h_in[c, rows, cols] = (coef[c] * config.scale) ** 2 * h_a
            h_coef[c] += h_a * config.scale**2 * np.sum(x_in[c, rows, cols] ** 2)
            h_bias[c] += h_a
    return h_in, h_coef, h_bias


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_hessian_diag_below_c5_by_hand(name):
    # Below the exact blocks there is no brute-force oracle but the 1998 ConnectionGraph, so
    # take hessian_diag's own h_a5 (= h of c5.bias) and redo eq. (27) down to C1 by hand: S4
    # and S2 unit by unit, C3 by the (separately checked) conv_bbprop. Each bias's h is the
    # sum of its units' h_a.
    config = ARCHITECTURES[name]
    lay = layout.Layout.of(config)
    _, params, image = random_net(34, config, exponent=0.5)
    act, h = ref.forward(params, image, config), ref.hessian_diag(params, image, config)
    p, hv = lay.views(params), lay.views(h)
    fprime = ref.ACTIVATIONS[config.activation][1]
    h_x4 = ((p["c5.weight"] ** 2).T @ hv["c5.bias"]).reshape(act["x4"].shape)
    h_x3, h_s4c, h_s4b = pool_h_by_hand(config, p.get("s4.coef"), act["x3"], act["x4"], h_x4)
    h_a3 = fprime(act["x3"]) ** 2 * h_x3
    np.testing.assert_allclose(hv["c3.bias"], h_a3.sum(axis=(1, 2)), rtol=1e-10)
    h_x2 = ref.conv_bbprop(act["x2"], p["c3.weight"], lay.c3_link_out, lay.c3_link_in, h_a3)[0]
    h_x1, h_s2c, h_s2b = pool_h_by_hand(config, p.get("s2.coef"), act["x1"], act["x2"], h_x2)
    np.testing.assert_allclose(hv["c1.bias"], (fprime(act["x1"]) ** 2 * h_x1).sum(axis=(1, 2)),
                               rtol=1e-10)
    if config.pooling == "trainable":
        for block, expect in (("s4.coef", h_s4c), ("s4.bias", h_s4b), ("s2.coef", h_s2c),
                              ("s2.bias", h_s2b)):
            np.testing.assert_allclose(hv[block], expect, rtol=1e-10, err_msg=block)


def test_softmax_hessian_diag_is_ce_hessian_on_out():
    # y is linear in out.*, so there d2E/dw^2 = p_i (1 - p_i) x6_m^2 is the true Hessian
    # diagonal: compare with second differences of the loss itself.
    config = COMPONENTS["modern"]
    lay = layout.Layout.of(config)
    rng, params, image = random_net(32, config, exponent=0.5)
    label = int(rng.integers(10))
    h = ref.hessian_diag(params, image, config)
    idx = np.concatenate([rng.choice(np.arange(*lay.offsets["out.weight"]), 30, replace=False),
                          np.arange(*lay.offsets["out.bias"])])
    e = lambda: ref.loss(ref.forward(params, image, config)["y"], label, "ce")  # noqa: E731
    d2 = np.array([second_diff(e, params[k:k + 1], h=1e-3)[0] for k in idx])  # O(h^2) error
    np.testing.assert_allclose(h[idx], d2, rtol=1e-5, atol=1e-9)


def test_relu_average_is_relu_trainable_with_unit_coefficients():
    # Block means of ReLU outputs are >= 0, and where > 0 the ReLU after trainable pooling is
    # the identity with f' = 1; where 0, the 4 inputs are dead, so no gradient passes either
    # way. So the two networks agree on the forward, the gradient and eq. (27): a check of
    # the average-pooling wiring, second derivatives included, by another code path.
    avg = Config(activation="relu", pooling="average")
    trainable = Config(activation="relu", pooling="trainable", subsampling="mean")
    lay_a, lay_t = layout.Layout.of(avg), layout.Layout.of(trainable)
    rng, p_a, image = random_net(33, avg, exponent=0.5)
    p_t = np.zeros(lay_t.n_params)
    for name in lay_a.shapes:
        lay_t.view(p_t, name)[...] = lay_a.view(p_a, name)
    for name in ("s2.coef", "s4.coef"):
        lay_t.view(p_t, name)[...] = 1.0
    act_a, act_t = ref.forward(p_a, image, avg), ref.forward(p_t, image, trainable)
    for key in ("x2", "x4", "y"):
        np.testing.assert_allclose(act_a[key], act_t[key], rtol=1e-13, atol=1e-15)
    label = int(rng.integers(10))
    for fa, ft in ((ref.loss_and_grad(p_a, image, label, avg)[1],
                    ref.loss_and_grad(p_t, image, label, trainable)[1]),
                   (ref.hessian_diag(p_a, image, avg), ref.hessian_diag(p_t, image, trainable))):
        for name in lay_a.shapes:
            np.testing.assert_allclose(lay_a.view(fa, name), lay_t.view(ft, name), rtol=1e-12,
                                       atol=1e-14 * np.abs(fa).max(), err_msg=name)


def test_hessian_scales_with_output_d2():
    _, params, image = random_net(31)
    np.testing.assert_allclose(ref.hessian_diag(params, image, Config(output_d2=6.0)),
                               3 * ref.hessian_diag(params, image, Config(output_d2=2.0)),
                               rtol=1e-12)


# --- predict and validation --------------------------------------------------------------------
def test_predict_and_validation():
    _, params, image = random_net(40)
    images = np.stack([image, image[::-1], image.T])
    expect = [np.argmin(ref.forward(params, im)["y"]) for im in images]
    np.testing.assert_array_equal(ref.predict(params, images), expect)
    with pytest.raises(ValueError):
        ref.forward(params[:-1], image)
    with pytest.raises(ValueError):
        ref.forward(params, image[:28, :28])
    with pytest.raises(ValueError):
        ref.forward(params, image, COMPONENTS["modern"])  # 60,000 values, 61,706 expected
    with pytest.raises(ValueError):
        ref.loss(np.zeros(10), 0, "mse")


def test_predict_softmax_is_argmax():
    config = COMPONENTS["softmax"]
    rng, params, image = random_net(41, config, exponent=0.5)
    images = np.stack([image, image[::-1], image.T, image[:, ::-1], -image])
    ys = np.stack([ref.forward(params, im, config)["y"] for im in images])
    assert np.any(ys.argmax(axis=1) != ys.argmin(axis=1))  # the test tells them apart
    np.testing.assert_array_equal(ref.predict(params, images, config), ys.argmax(axis=1))
