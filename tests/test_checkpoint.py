import zipfile

import numpy as np
import pytest

from lecun98 import checkpoint, model, paper, reference
from lecun98 import layout as L
from lecun98.config import MODERN, Config
from lecun98.errors import Lecun98Error

DOCUMENTED = {  # README.md, "Checkpoint format": the 1998 network
    "c1.weight": (6, 1, 5, 5), "c1.bias": (6,), "s2.coef": (6,), "s2.bias": (6,),
    "c3.weight": (16, 6, 5, 5), "c3.bias": (16,), "s4.coef": (16,), "s4.bias": (16,),
    "c5.weight": (120, 16, 5, 5), "c5.bias": (120,), "f6.weight": (84, 120), "f6.bias": (84,),
    "output.prototypes": (10, 84), "input_levels": (2,), "dtype": (),
}
MODERN_ARCH = Config().replace(**{k: MODERN[k] for k in checkpoint.ARCHITECTURE if k in MODERN})
ARCHS = {
    "mean": Config(), "sum": Config(subsampling="sum"), "modern": MODERN_ARCH,
    "logistic-average": Config(activation="logistic", pooling="average"),
}


@pytest.fixture(scope="module")
def params():
    p = model.init_params(Config(bias_init="uniform"), np.random.default_rng(3))
    return p


def test_round_trip_and_documented_shapes(tmp_path, params):
    path = tmp_path / "c.npz"
    checkpoint.save(path, params, Config(), (-0.1, 1.175))
    with np.load(path, allow_pickle=False) as f:
        for name, shape in DOCUMENTED.items():
            assert f[name].shape == shape
        assert str(f["subsampling"]) == "mean"
        assert not f["c3.weight"][~paper.C3_TABLE.T].any()  # zeros where Table I has no link
        assert np.count_nonzero(f["c3.weight"].any(axis=(2, 3))) == 60
    loaded, config, levels = checkpoint.load(path)
    assert config == Config() and levels == (-0.1, 1.175)
    assert np.array_equal(loaded, params)


def test_modern_round_trip(tmp_path):
    p = model.init_params(MODERN_ARCH, np.random.default_rng(5))
    checkpoint.save(tmp_path / "m.npz", p, MODERN_ARCH, (0.0, 1.0))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert f["out.weight"].shape == (10, 84) and f["c3.weight"].shape == (16, 6, 5, 5)
        assert "s2.coef" not in f.files and "output.prototypes" not in f.files
        assert f["c3.weight"].any(axis=(2, 3)).all()  # every S2-C3 pair
    loaded, config, levels = checkpoint.load(tmp_path / "m.npz")
    assert config == MODERN_ARCH and levels == (0.0, 1.0) and np.array_equal(loaded, p)


def test_the_precision_is_kept_and_defaults_to_float64(tmp_path, params):
    checkpoint.save(tmp_path / "f32.npz", params.astype(np.float32), Config(dtype="float32"))
    assert checkpoint.load(tmp_path / "f32.npz")[1].dtype == "float32"
    arrays = checkpoint.to_arrays(params, Config(dtype="float32"))
    del arrays["dtype"]  # written before the array existed
    assert checkpoint.load(_write(tmp_path / "old.npz", arrays))[1].dtype == "float64"


@pytest.mark.parametrize("arch", ARCHS)
def test_formulas_alone_give_the_models_predictions(arch):
    config = ARCHS[arch]
    params = model.init_params(config.replace(bias_init="uniform"), np.random.default_rng(3))
    rng = np.random.default_rng(4)
    images = rng.uniform(paper.BACKGROUND, paper.FOREGROUND, (40, 32, 32))
    classes, _ = model.predict(params, images, config)
    arrays = checkpoint.to_arrays(params, config)
    assert np.array_equal(checkpoint.evaluate_from_formulas(arrays, images), classes)
    assert np.array_equal(reference.predict(params, images[:5], config), classes[:5])


def _write(path, arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("damage, message", [
    (lambda a: a.pop("f6.bias"), "missing array"),
    (lambda a: a.__setitem__("c5.weight", a["c5.weight"][:, :8]), "c5.weight must be"),
    (lambda a: a.__setitem__("subsampling", np.array("max")), "subsampling must be"),
    (lambda a: a["c3.weight"].__setitem__((0, 3), 1.0), "Table I"),
    (lambda a: a["output.prototypes"].__setitem__((0, 0), 1.0), "Fig. 3"),
    (lambda a: a["c1.bias"].__setitem__(0, np.nan), "NaN"),
    (lambda a: a.__setitem__("input_levels", np.array("dark")), "input_levels must be"),
    (lambda a: a.__setitem__("input_levels", np.array([0.0, np.inf])), "input_levels must be"),
    (lambda a: a.__setitem__("input_levels", np.array([0.0, 0.0])), "input_levels must be"),
    (lambda a: a.__setitem__("input_levels", np.array([1.0, 0.0])), "input_levels must be"),
    (lambda a: a.__setitem__("subsampling", np.array("mean")), "must agree"),
    (lambda a: a.__setitem__("dtype", np.array("float16")), "dtype must be"),
])
def test_damaged_checkpoints_are_one_line_errors(tmp_path, params, damage, message):
    arrays = checkpoint.to_arrays(params, Config(subsampling="sum"))
    damage(arrays)
    with pytest.raises(Lecun98Error, match=message) as e:
        checkpoint.load(_write(tmp_path / "bad.npz", arrays))
    assert "\n" not in str(e.value)


def test_unreadable_checkpoints(tmp_path):
    with pytest.raises(Lecun98Error, match="no such checkpoint"):
        checkpoint.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(Lecun98Error, match="not a readable"):
        checkpoint.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "obj.npz", **{"c1.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(Lecun98Error):
        checkpoint.load(tmp_path / "obj.npz")


def test_truncated_flipped_and_npy_files_are_one_line_errors(tmp_path, params):
    good = tmp_path / "good.npz"
    checkpoint.save(good, params, Config())
    data = good.read_bytes()
    with zipfile.ZipFile(good) as z:  # a byte inside c5.weight's data: only the CRC sees it
        at = z.getinfo("c5.weight.npy").header_offset + 1000
    flipped = bytearray(data)
    flipped[at] ^= 0x40
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    for name in ("cut.npz", "flipped.npz"):
        with pytest.raises(Lecun98Error, match="not a readable .npz checkpoint") as e:
            checkpoint.load(tmp_path / name)
        assert "\n" not in str(e.value)
    np.save(tmp_path / "params.npy", params)
    with pytest.raises(Lecun98Error, match="not an .npz checkpoint"):
        checkpoint.load(tmp_path / "params.npy")


def test_counts_match_the_paper_and_the_brute_force_graph():
    model.check_counts()
    graph = reference.ConnectionGraph()
    assert graph.connections_per_layer() == model.count_connections() == paper.CONNECTIONS
    assert graph.parameters_per_layer() == model.count_parameters() == paper.PARAMETERS
    assert L.N_PARAMS == paper.TOTAL_PARAMETERS == 60_000
