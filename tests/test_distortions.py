"""Section III-C's distortions: the compiled warp against scipy.ndimage, the maps, the pool,
and training on the pool (deterministic, resumable)."""

import numpy as np
import pytest
import scipy.ndimage as ndimage

from lecun98 import checkpoint, data, distortions, train
from lecun98.config import Config
from lecun98.errors import Lecun98Error

TINY = Config.from_dict(dict(passes=2, train_size=300, validation=200, hessian_patterns=50,
                             threads=1, distortions=2))


@pytest.fixture(scope="module")
def field():
    raw, labels = data.load_mnist_raw("train")
    return distortions.pad(raw[:64]), labels[:64]


def _scipy_warp(image, inverse):
    """scipy's bilinear resampling through the same (x, y) inverse map, rounded like warp."""
    a, b = inverse[:, :2], inverse[:, 2]
    matrix = np.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])  # (row, col) order
    v = ndimage.affine_transform(image.astype(np.float64), matrix, offset=(b[1], b[0]), order=1,
                                 mode="grid-constant", cval=0.0)
    return np.clip(np.floor(v + 0.5), 0, 255).astype(np.uint8)


def test_warp_matches_scipy_affine_transform(field):
    images, _ = field
    inverse = distortions.random_maps(len(images), distortions.Ranges(3, 0.2, 0.2, 0.4),
                                      np.random.default_rng(1))
    ours = distortions.apply(images, inverse)
    for k in range(len(images)):
        theirs = _scipy_warp(images[k], inverse[k])
        # the same arithmetic in another order: a value at .5 may round the other way
        assert np.abs(ours[k].astype(int) - theirs).max() <= 1
        assert np.mean(ours[k] != theirs) < 0.01
    assert not np.array_equal(ours, images)


def test_zero_ranges_and_identity_copy_the_images(field):
    images, _ = field
    inverse = distortions.random_maps(len(images), distortions.Ranges(0, 0, 0, 0),
                                      np.random.default_rng(0))
    assert np.array_equal(distortions.apply(images, inverse), images)
    assert np.array_equal(distortions.apply(images[:1], distortions.rotation(0.0)), images[:1])


def test_maps_move_the_digit_the_stated_way(field):
    images, _ = field
    one = images[:1].astype(np.float64)

    def centroid(img):
        rows, cols = np.indices(img.shape)
        return np.array([(cols * img).sum(), (rows * img).sum()]) / img.sum()

    before = centroid(one[0])
    shifted = distortions.apply(images[:1], distortions.similarity(shift=(3.0, -2.0)))[0]
    assert np.allclose(centroid(shifted.astype(float)) - before, (3.0, -2.0), atol=0.3)
    grown = distortions.apply(images[:1], distortions.similarity(scale=1.3))[0]
    assert (grown > 127).sum() > 1.3 * (images[0] > 127).sum()  # ink area grows ~1.3^2
    # squeeze q < 1: narrower and taller (forward map diag(s q, s / q))
    m = np.array([[[0.8, 0.0], [0.0, 1 / 0.8]]])
    squeezed = distortions.apply(images[:1], distortions.inverse_maps(m, np.zeros((1, 2))))[0]

    def spread(img, axis):
        w = img.astype(float).sum(axis=axis)
        x = np.arange(len(w))
        mean = (w * x).sum() / w.sum()
        return np.sqrt((w * (x - mean) ** 2).sum() / w.sum())

    assert spread(squeezed, 0) < 0.9 * spread(images[0], 0)  # columns: horizontal spread
    assert spread(squeezed, 1) > 1.1 * spread(images[0], 1)


def test_random_maps_stay_within_their_ranges():
    r = distortions.Ranges(2.0, 0.1, 0.2, 0.3)
    inv = distortions.random_maps(5000, r, np.random.default_rng(0))
    forward = np.linalg.inv(inv[:, :, :2])
    s2 = np.linalg.det(forward)  # s^2 (squeeze and shear keep the area)
    assert np.all(np.abs(np.sqrt(s2) - 1) <= 0.1 + 1e-12) and np.ptp(np.sqrt(s2)) > 0.15
    q = np.sqrt(forward[:, 0, 0] / forward[:, 1, 1])
    assert np.all(np.abs(q - 1) <= 0.2 + 1e-12) and np.ptp(q) > 0.3
    shear = forward[:, 0, 1] / forward[:, 0, 0]
    assert np.all(np.abs(shear) <= 0.3 + 1e-12) and np.ptp(shear) > 0.5
    assert np.allclose(forward[:, 1, 0], 0)
    c = np.full(2, distortions.CENTRE)
    shift = np.einsum("nij,nj->ni", forward, c - inv[:, :, 2]) - c  # t = M (c - b) - c
    assert np.all(np.abs(shift) <= 2.0 + 1e-9) and np.ptp(shift) > 3.5


def test_pool_is_originals_then_copies_and_seeded(field):
    raw, _ = data.load_mnist_raw("train")
    mild = distortions.Ranges(1.0, 0.05, 0.05, 0.1)
    p = distortions.pool(raw[:50], 3, mild, seed=7)
    assert p.shape == (200, 32, 32) and p.dtype == np.uint8
    assert np.array_equal(p[:50], distortions.pad(raw[:50]))
    assert np.array_equal(p, distortions.pool(raw[:50], 3, mild, seed=7))
    assert not np.array_equal(p, distortions.pool(raw[:50], 3, mild, seed=8))
    for c in range(1, 4):  # copy c of image i is a distortion of image i
        copy = p[c * 50:(c + 1) * 50].reshape(50, -1).astype(float)
        own = [np.corrcoef(copy[i], p[i].reshape(-1))[0, 1] for i in range(50)]
        other = [np.corrcoef(copy[i], p[(i + 1) % 50].reshape(-1))[0, 1] for i in range(50)]
        assert np.mean(own) > 0.7 > np.mean(other) + 0.2


@pytest.mark.parametrize("call, match", [
    (lambda: distortions.pad(np.zeros((2, 32, 32), np.uint8)), r"\(N, 28, 28\) uint8"),
    (lambda: distortions.apply(np.zeros((2, 28, 28), np.uint8), np.zeros((2, 2, 3))),
     r"\(N, 32, 32\) uint8"),
    (lambda: distortions.apply(np.zeros((2, 32, 32), np.uint8), np.zeros((2, 3, 3))),
     "shape"),
    (lambda: distortions.apply(np.zeros((2, 32, 32), np.uint8), np.zeros((3, 2, 3))),
     "3 maps for 2 images"),
    (lambda: distortions.apply(np.zeros((2, 32, 32), np.uint8), np.zeros((1, 2, 3)), [5]),
     "source"),
    (lambda: distortions.Ranges(-1, 0, 0, 0), "shift"),
    (lambda: distortions.pool(np.zeros((2, 28, 28), np.uint8), 21, Config().ranges, 0),
     "copies"),
])
def test_bad_input_is_one_clear_error(call, match):
    with pytest.raises(Lecun98Error, match=match):
        call()


def test_normalise_takes_the_32x32_field(field):
    images, _ = field
    raw, _ = data.load_mnist_raw("train")
    assert np.array_equal(data.normalise(images), data.normalise(raw[:64]))


def test_each_pass_draws_distinct_patterns_from_the_pool():
    ds = train.Datasets(TINY)
    ds.build_pool(seed=3)
    images, labels = ds.for_pass(11)
    assert images.shape == (300, 32, 32) and labels.shape == (300,)
    again, _ = ds.for_pass(11)
    other, _ = ds.for_pass(12)
    assert np.array_equal(images, again) and not np.array_equal(images, other)
    flat = images.reshape(300, -1)
    assert len(np.unique(flat, axis=0)) == 300  # distinct patterns (no repeats within a pass)
    originals = {row.tobytes() for row in ds.train_images.reshape(300, -1)}
    from_copies = sum(row.tobytes() not in originals for row in flat)
    assert 150 < from_copies < 250  # 2 of every 3 pool patterns are copies
    each = train.Datasets(TINY.replace(distortion_draw="per-image"))
    each.build_pool(seed=3)
    images, labels = each.for_pass(11)
    assert np.array_equal(labels, each.train_labels)  # one version of every image, in order
    versions = data.normalise(each._pool).reshape(3, 300, 32, 32)  # original, copy 1, copy 2
    picked = [[v for v in range(3) if np.array_equal(versions[v, i], images[i])]
              for i in range(300)]
    assert all(picked)  # every image i appears as one of its own versions
    assert len({p[0] for p in picked}) == 3
    plain, plain_labels = train.Datasets(TINY.replace(distortions=0)).for_pass(11)
    assert np.array_equal(plain, ds.train_images) and len(plain_labels) == 300


def test_training_on_the_pool_is_seeded_and_resumable(tmp_path, monkeypatch):
    a = train.train(TINY, tmp_path / "a", quiet=True)
    b = train.train(TINY, tmp_path / "b", quiet=True)
    pa = checkpoint.load(tmp_path / "a" / "checkpoint.npz")[0]
    assert np.array_equal(pa, checkpoint.load(tmp_path / "b" / "checkpoint.npz")[0])
    assert a["validation_error_pct"] == b["validation_error_pct"] < 90
    plain = train.train(TINY.replace(distortions=0), tmp_path / "plain", quiet=True)
    assert not np.array_equal(pa, checkpoint.load(tmp_path / "plain" / "checkpoint.npz")[0])
    assert plain["train_patterns"] == a["train_patterns"] == 300

    real, calls = train._run_pass, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "_run_pass", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train.train(TINY, tmp_path / "cut", quiet=True)
    monkeypatch.setattr(train, "_run_pass", real)
    train.train(TINY, tmp_path / "cut", quiet=True)
    assert np.array_equal(pa, checkpoint.load(tmp_path / "cut" / "checkpoint.npz")[0])
