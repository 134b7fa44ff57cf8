"""The plain-NumPy reference against finite differences, scipy, and the brute-force graph."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from lecun98 import layout, paper
from lecun98 import reference as ref
from finite_differences import fourth_order

EPS = np.finfo(np.float64).eps


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


def random_net(seed):
    rng = np.random.default_rng(seed)
    bound = paper.INIT_SCALE / layout.fan_in()
    params = rng.uniform(-bound, bound)  # Appendix A, biases included
    image = rng.uniform(paper.BACKGROUND, paper.FOREGROUND, (paper.IMAGE_SIZE, paper.IMAGE_SIZE))
    return rng, params, image


# --- squash, RBF, losses --------------------------------------------------------------------
def test_squash_constants_and_derivative():
    assert ref.squash(np.array([1.0, -1.0])) == pytest.approx([1.0, -1.0], abs=1e-4)  # eq. (6)
    a = np.linspace(-4, 4, 41)
    fd = (ref.squash(a + 1e-6) - ref.squash(a - 1e-6)) / 2e-6
    np.testing.assert_allclose(ref.squash_deriv_from_output(ref.squash(a)), fd, rtol=1e-7)


def test_rbf_bprop_fd():
    rng = np.random.default_rng(0)
    x, gy = rng.normal(size=84), rng.normal(size=10)
    fd = fd_grad(lambda: gy @ ref.rbf_fprop(x, paper.RBF_PROTOTYPES), x)
    np.testing.assert_allclose(ref.rbf_bprop(x, paper.RBF_PROTOTYPES, gy), fd, rtol=1e-6)


@pytest.mark.parametrize("kind,j", [("mle", 1.0), ("map", 0.0), ("map", 0.1), ("map", 1.0)])
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


# --- whole network against finite differences ----------------------------------------------------
def check_indices(rng, per_weight_block=20):
    """Every bias and coefficient; a random sample of each weight block."""
    idx = []
    for name, (a, b) in layout.OFFSETS.items():
        if name.endswith(".weight"):
            idx.append(rng.choice(np.arange(a, b), size=per_weight_block, replace=False))
        else:
            idx.append(np.arange(a, b))
    return np.concatenate(idx)


@pytest.mark.parametrize("scale", [1.0, 0.25])
@pytest.mark.parametrize("kind,j", [("map", 0.1), ("map", 1.0), ("mle", 1.0)])
def test_loss_and_grad_fd(kind, j, scale):
    rng, params, image = random_net(10)
    label = int(rng.integers(10))
    e, grad = ref.loss_and_grad(params, image, label, kind, j, scale)

    def energy(p):
        return ref.loss(ref.forward(p, image, scale)["y"], label, kind, j)

    assert e == energy(params)
    h = 1e-4
    idx = check_indices(rng)
    fd = fourth_order(energy, params, idx, h)
    noise = 100 * EPS * abs(e) / h  # rounding floor of the difference quotient, ~2e-10
    err = np.abs(fd - grad[idx])
    bad = err > 1e-5 * np.maximum(np.abs(fd), np.abs(grad[idx])) + noise
    names = [n for n, (a, b) in layout.OFFSETS.items() for k in idx[bad] if a <= k < b]
    assert not bad.any(), (names, err[bad], grad[idx][bad])


# --- the brute-force connection graph ----------------------------------------------------------
@pytest.fixture(scope="module", params=[1.0, 0.25], ids=["sum", "mean"])
def graph(request):
    return ref.ConnectionGraph(request.param)


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
    scale = graph.scale
    act, gact = ref.forward(params, image, scale), graph.forward(params, image)
    for key in ("x1", "x2", "x3", "x4", "x5", "x6", "a1", "a2", "a3", "a4", "a5", "a6", "y"):
        np.testing.assert_allclose(gact[key], act[key], rtol=1e-10, atol=1e-12, err_msg=key)
    label = int(rng.integers(10))
    for kind, j in (("map", 0.1), ("mle", 1.0)):
        _, grad = ref.loss_and_grad(params, image, label, kind, j, scale)
        np.testing.assert_allclose(graph.gradient(params, image, label, kind, j), grad,
                                   rtol=1e-10, atol=1e-14 * np.abs(grad).max())
    h = ref.hessian_diag(params, image, scale)
    np.testing.assert_allclose(graph.hessian_diag(params, image), h, rtol=1e-10,
                               atol=1e-14 * h.max())


# --- Eq. (27) against the exact Gauss-Newton diagonal ------------------------------------------
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_hessian_diag_vs_exact_gauss_newton(scale):
    _, params, image = random_net(30)
    h = ref.hessian_diag(params, image, scale)
    exact = ref.gauss_newton_diag_exact(params, image, scale)
    assert np.all(h >= 0) and np.all(exact >= 0)
    for name in layout.SHAPES:
        hv, ev = layout.view(h, name), layout.view(exact, name)
        if name.startswith(("f6.", "c5.")):  # one path per (parameter, F6 unit): exact
            np.testing.assert_allclose(hv, ev, rtol=1e-9, err_msg=name)
        else:  # re-converging paths: eq. (27) drops the cross terms
            assert not np.allclose(hv, ev, rtol=1e-3), name
        print(f"scale {scale} {name:10s} sum eq.(27) / sum exact GN = {hv.sum() / ev.sum():.3f}")


def test_hessian_scales_with_output_d2():
    _, params, image = random_net(31)
    np.testing.assert_allclose(ref.hessian_diag(params, image, output_d2=6.0),
                               3 * ref.hessian_diag(params, image, output_d2=2.0), rtol=1e-12)


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
        ref.loss(np.zeros(10), 0, "mse")
