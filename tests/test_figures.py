import csv

import numpy as np
import pytest
from PIL import Image

from lecun98 import checkpoint, data, figures, model, paper
from lecun98.config import MODERN, Config
from lecun98.errors import Lecun98Error

MODERN_ARCH = Config().replace(**{k: MODERN[k] for k in checkpoint.ARCHITECTURE if k in MODERN})
N = 500  # test images for the robustness study here


def _title(path):
    assert path.exists() and path.stat().st_size > 5_000
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] >= 700
        return im.text["Title"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two fake run directories: the 1998 net at the paper's levels, the modern one at [0, 1]."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for label, config, levels in (("faithful", Config(), (paper.BACKGROUND, paper.FOREGROUND)),
                                  ("modern", MODERN_ARCH, (0.0, 1.0))):
        run = root / label
        run.mkdir()
        checkpoint.save(run / "checkpoint.npz", model.init_params(config, np.random.default_rng(0)),
                        config, levels)
        out[label] = run
    return out


def test_prototypes(tmp_path):
    bitmaps = figures.prototype_bitmaps()
    assert bitmaps.shape == (10, 12, 7)
    assert "".join("#" if v > 0 else "." for v in bitmaps[1, 9]) == ".######"  # Fig. 3's '1'
    assert "Fig. 3" in _title(figures.prototypes(tmp_path / "p.png"))


def test_distortion_examples_depend_on_the_seed_only(tmp_path):
    a = figures.distortion_examples(tmp_path / "a.png", seed=1, digits=2, copies=3)
    b = figures.distortion_examples(tmp_path / "b.png", seed=1, digits=2, copies=3)
    c = figures.distortion_examples(tmp_path / "c.png", seed=2, digits=2, copies=3)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    shift, scale = Config().distortion_ranges[:2]  # the chosen ranges are the default
    assert f"shift ±{shift:g} px, scale ±{100 * scale:g}%" in _title(a)
    with pytest.raises(Lecun98Error):
        figures.distortion_examples(tmp_path / "d.png", digits=11)


def test_misclassified_counts_the_wrong_predictions(tmp_path):
    _, labels = data.load_mnist_raw("test")
    predicted = labels.astype(np.int64)
    chosen = np.array([3, 50, 777, 9_999, 1_234, 4_000, 5])
    predicted[chosen] = (predicted[chosen] + 1) % 10
    np.save(tmp_path / "predictions.npy", predicted)
    wrong, true, pred = figures.misclassified_digits(tmp_path)
    assert np.array_equal(wrong, np.sort(chosen))
    assert np.array_equal(true, labels[wrong]) and np.array_equal(pred, (true + 1) % 10)
    png, count = figures.misclassified(tmp_path, tmp_path / "m.png")
    assert count == 7 and _title(png) == "7 misclassified test digits (0.07%)"


def test_misclassified_rejects_missing_or_short_predictions(tmp_path):
    with pytest.raises(Lecun98Error, match="no such file"):
        figures.misclassified(tmp_path, tmp_path / "m.png")
    np.save(tmp_path / "predictions.npy", np.zeros(9_999, np.int64))
    with pytest.raises(Lecun98Error, match="10,000"):
        figures.misclassified(tmp_path, tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()


def test_feature_maps(tmp_path, runs):
    images, labels = data.load_mnist_raw("test")
    index = 3
    title = _title(figures.feature_maps(runs["faithful"] / "checkpoint.npz", tmp_path / "f.png",
                                        index=index))
    params, config, (bg, fg) = checkpoint.load(runs["faithful"] / "checkpoint.npz")
    x = data.normalise(np.ascontiguousarray(images[index:index + 1]), background=bg, foreground=fg)
    cls, _ = model.predict(params, x, config, threads=1)
    assert f"test digit #{index} (label {labels[index]}, predicted {cls[0]})" in title
    with pytest.raises(Lecun98Error):
        figures.feature_maps(runs["faithful"] / "checkpoint.npz", tmp_path / "g.png", index=10_000)


def test_robustness_csv_and_identity_equals_plain_error(tmp_path, runs):
    png = figures.robustness(runs, tmp_path / "r.png", tmp_path / "r.csv", angles=(-20, 0, 20),
                             scales=(0.8, 1.0), shifts=(0, 3), limit=N)
    assert "rotated, scaled and shifted" in _title(png)
    with (tmp_path / "r.csv").open() as f:
        reader = csv.reader(f)
        assert next(reader) == ["transform", "value", "faithful", "modern"]
        rows = list(reader)
    assert [(r[0], float(r[1])) for r in rows] == [
        ("rotation", -20), ("rotation", 0), ("rotation", 20), ("scale", 0.8), ("scale", 1.0),
        ("shift", 0), ("shift", 3)]
    images, labels = data.load_mnist_raw("test")
    for k, label in enumerate(runs, start=2):
        params, config, (bg, fg) = checkpoint.load(runs[label] / "checkpoint.npz")
        x = data.normalise(np.ascontiguousarray(images[:N]), background=bg, foreground=fg)
        plain = model.error_pct(params, x, labels[:N], config)
        identity = [float(r[k]) for r in rows if (r[0], float(r[1])) in
                    {("rotation", 0), ("scale", 1.0), ("shift", 0)}]
        assert identity == pytest.approx([plain] * 3, abs=1e-4)
        assert {float(r[k]) for r in rows} != {plain}  # the transforms do change the answers


def test_training_size(tmp_path):
    rows = [{"train_size": str(n), "distortions": d, "test_error_pct": t, "train_error_pct": r}
            for n, d, t, r in ((15_000, 0, 1.7, 0.1), (30_000, 0, 1.2, 0.3), (60_000, 0, 1.0, 0.3),
                               (60_000, 0, 0.9, 0.25), (60_000, 9, 0.8, 0.5))]
    assert "Fig. 6" in _title(figures.training_size(rows, tmp_path / "t.png"))
    with pytest.raises(Lecun98Error):
        figures.training_size([{"train_size": 15_000}], tmp_path / "u.png")
    with pytest.raises(Lecun98Error):
        figures.training_size([], tmp_path / "u.png")
