"""MNIST loading: checksums, the README's checks, the paper's normalisation, clear errors."""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from lecun98 import data, paper
from lecun98.errors import DataError, Lecun98Error

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
LABELS = "t10k-labels-idx1-ubyte"


@pytest.fixture(scope="module")
def train() -> tuple[np.ndarray, np.ndarray]:
    return data.load_mnist("train")


def _link_split(folder: Path, split: str = "test", skip: str | None = None) -> Path:
    """Symlink the canonical files of `split` into `folder`, all but `skip`."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in data.FILES[split]:
        if stem != skip:
            (folder / f"{stem}.gz").symlink_to(data.DEFAULT_DATA_DIR / f"{stem}.gz")
    return folder


def _raw_bytes(stem: str) -> bytes:
    return gzip.decompress((data.DEFAULT_DATA_DIR / f"{stem}.gz").read_bytes())


def _idx(array: np.ndarray, magic: int) -> bytes:
    dims = b"".join(d.to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def _md5(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()


def _assert_one_line_naming(exc: pytest.ExceptionInfo, name: str) -> None:
    message = str(exc.value)
    assert name in message, message
    assert "\n" not in message, message


# --- The files and the README's checks ------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_raw_shapes_and_dtypes(split: str) -> None:
    images, labels = data.load_mnist_raw(split)
    n = data.SPLIT_SIZE[split]
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.uint8


@pytest.mark.parametrize("split, counts", [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_label_counts(split: str, counts: list[int]) -> None:
    _, labels = data.load_mnist_raw(split)
    assert np.bincount(labels, minlength=10).tolist() == counts


def test_first_train_labels() -> None:
    _, labels = data.load_mnist_raw("train")
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


def test_raw_arrays_are_cached_and_read_only() -> None:
    first = data.load_mnist_raw("test")
    second = data.load_mnist_raw("test", data.DEFAULT_DATA_DIR)
    assert first[0] is second[0] and first[1] is second[1]
    assert not first[0].flags.writeable and not first[1].flags.writeable


def test_unknown_split() -> None:
    with pytest.raises(Lecun98Error, match="unknown MNIST split 'valid'"):
        data.load_mnist_raw("valid")


# --- Normalisation (Section II-B) -------------------------------------------------------------


def test_load_mnist_shapes_and_dtypes(train: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = train
    assert images.shape == (60_000, 32, 32) and images.dtype == np.float64
    assert images.flags.c_contiguous
    assert labels.shape == (60_000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, data.load_mnist_raw("train")[1])


def test_training_images_levels(train: tuple[np.ndarray, np.ndarray]) -> None:
    images, _ = train
    raw, _ = data.load_mnist_raw("train")
    inner = images[:, 2:30, 2:30]  # (N, 28, 28)
    border = np.ones((32, 32), dtype=bool)
    border[2:30, 2:30] = False
    assert np.all(images[:, border] == -0.1)
    assert np.all(inner[raw == 0] == -0.1)
    assert np.all(inner[raw == 255] == 1.175)
    assert images.min() == -0.1 and images.max() == 1.175


def test_training_set_moments(train: tuple[np.ndarray, np.ndarray]) -> None:
    # Measured: mean 0.0275, variance 0.1231 over all 32x32 pixels. The paper's "mean roughly 0,
    # variance roughly 1" holds for the mean only: the variance of MNIST under this map is ~0.12.
    images, _ = train
    mean, var = images.mean(), images.var()
    assert abs(mean) < 0.05, f"mean {mean:.4f}, variance {var:.4f}"
    assert 0.10 < var < 0.15, f"mean {mean:.4f}, variance {var:.4f}"


def test_normalise_levels_and_padding() -> None:
    ramp = np.arange(256 * 4, dtype=np.int64).reshape(1, 32, 32)[:, :28, :28] % 256
    images = np.concatenate(
        [np.zeros((1, 28, 28)), np.full((1, 28, 28), 255), ramp]
    ).astype(np.uint8)
    x = data.normalise(images)  # (3, 32, 32)
    assert x.shape == (3, 32, 32) and x.dtype == np.float64 and x.flags.c_contiguous
    assert np.all(x[0] == paper.BACKGROUND)
    assert np.all(x[1, 2:30, 2:30] == paper.FOREGROUND)
    assert np.all(x[1, :2] == paper.BACKGROUND) and np.all(x[1, :, 30:] == paper.BACKGROUND)
    expected = paper.BACKGROUND + (paper.FOREGROUND - paper.BACKGROUND) * ramp[0] / 255
    np.testing.assert_allclose(x[2, 2:30, 2:30], expected, rtol=0, atol=1e-15)


def test_normalise_float32() -> None:
    x = data.normalise(np.array([[[0, 255] * 14] * 28], dtype=np.uint8), dtype=np.float32)
    assert x.dtype == np.float32 and x.shape == (1, 32, 32)
    assert x.min() == np.float32(-0.1) and x.max() == np.float32(1.175)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 28, 28), dtype=np.float64),
        np.zeros((28, 28), dtype=np.uint8),
        np.zeros((2, 28, 27), dtype=np.uint8),
        np.zeros((2, 32, 28), dtype=np.uint8),
        [[[0] * 28] * 28],
    ],
)
def test_normalise_rejects_bad_input(bad: object) -> None:
    with pytest.raises(Lecun98Error, match=r"expects a \(N, 28, 28\) or \(N, 32, 32\) uint8 array"):
        data.normalise(bad)


def test_normalise_rejects_integer_dtype() -> None:
    with pytest.raises(Lecun98Error, match="floating dtype"):
        data.normalise(np.zeros((1, 28, 28), dtype=np.uint8), dtype=np.int32)


# --- Bad files ----------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    folder = _link_split(tmp_path, skip=LABELS)
    with pytest.raises(DataError, match="missing") as exc:
        data.load_mnist_raw("test", folder)
    _assert_one_line_naming(exc, f"{LABELS}.gz")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda gz, raw: gz[: len(gz) // 2], "truncated gzip stream"),
        (lambda gz, raw: gzip.compress(raw[:8] + bytes([raw[8] ^ 1]) + raw[9:]), "MD5"),
        (lambda gz, raw: gzip.compress(raw[:-1]), "decompressed size is 10,007 bytes"),
        (lambda gz, raw: b"not a gzip file\n" * 8, "not a gzip file"),
        (lambda gz, raw: gz[:100] + bytes([gz[100] ^ 0xFF]) + gz[101:], "corrupt gzip stream"),
        (lambda gz, raw: gz[:-4] + bytes(4), "corrupt gzip stream"),
    ],
    ids=["truncated", "altered-byte", "short-payload", "not-gzip", "bad-deflate", "bad-trailer"],
)
def test_bad_file(tmp_path: Path, make, match: str) -> None:
    folder = _link_split(tmp_path, skip=LABELS)
    gz = (data.DEFAULT_DATA_DIR / f"{LABELS}.gz").read_bytes()
    (folder / f"{LABELS}.gz").write_bytes(make(gz, gzip.decompress(gz)))
    with pytest.raises(DataError, match=match) as exc:
        data.load_mnist_raw("test", folder)
    _assert_one_line_naming(exc, f"{LABELS}.gz")


def test_directory_in_place_of_file(tmp_path: Path) -> None:
    (tmp_path / f"{LABELS}.gz").mkdir()
    (tmp_path / LABELS).mkdir()
    with pytest.raises(DataError, match="missing") as exc:
        data.read_idx(tmp_path / f"{LABELS}.gz", data.MD5[LABELS])
    _assert_one_line_naming(exc, f"{LABELS}.gz")


def test_read_idx_round_trip(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    payload = _idx(images, 0x803)
    (tmp_path / "tiny").write_bytes(payload)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "tiny", _md5(payload)), images)
    labels = np.array([3, 1, 4], dtype=np.uint8)
    payload = _idx(labels, 0x801)
    (tmp_path / "tiny-labels.gz").write_bytes(gzip.compress(payload))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "tiny-labels", _md5(payload)), labels)


@pytest.mark.parametrize(
    "payload, match",
    [
        (_idx(np.zeros(3), 0x802), "not a uint8 IDX file"),
        (b"\x00\x00", "not a uint8 IDX file"),
        (_idx(np.zeros((2, 2, 2)), 0x803)[:10], "IDX header is truncated"),
        (_idx(np.zeros((2, 2, 2)), 0x803)[:-1], "holds 7 data bytes"),
        (_idx(np.zeros(3), 0x801) + b"\x00", "holds 4 data bytes"),
    ],
)
def test_read_idx_bad_header(tmp_path: Path, payload: bytes, match: str) -> None:
    (tmp_path / "tiny").write_bytes(payload)
    with pytest.raises(DataError, match=match) as exc:
        data.read_idx(tmp_path / "tiny", _md5(payload))
    _assert_one_line_naming(exc, "tiny")


# --- Where the files are ------------------------------------------------------------------------


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.resolve_data_dir() == Path(__file__).resolve().parent.parent / "data" / "mnist"
    monkeypatch.setenv(data.DATA_ENV, "")
    assert data.resolve_data_dir() == data.DEFAULT_DATA_DIR


def test_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _link_split(tmp_path / "elsewhere")
    monkeypatch.setenv(data.DATA_ENV, str(folder))
    assert data.resolve_data_dir() == folder.resolve()
    images, labels = data.load_mnist_raw("test")
    assert images.shape == (10_000, 28, 28)
    assert np.bincount(labels).tolist() == TEST_COUNTS
    assert data.resolve_data_dir(tmp_path) == tmp_path.resolve()


def test_env_override_bad_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="missing") as exc:
        data.load_mnist_raw("test")
    _assert_one_line_naming(exc, str(tmp_path / "nowhere"))


def test_uncompressed_fallback(tmp_path: Path) -> None:
    for stem in data.FILES["test"]:
        (tmp_path / stem).write_bytes(_raw_bytes(stem))
    images, labels = data.load_mnist_raw("test", tmp_path)
    canonical = data.load_mnist_raw("test")
    np.testing.assert_array_equal(images, canonical[0])
    np.testing.assert_array_equal(labels, canonical[1])


def test_gzip_preferred_over_plain(tmp_path: Path) -> None:
    _link_split(tmp_path)
    (tmp_path / LABELS).write_bytes(b"stale")
    _, labels = data.load_mnist_raw("test", tmp_path)
    assert np.bincount(labels).tolist() == TEST_COUNTS


# --- Validation split --------------------------------------------------------------------------


def test_train_validation_split_default() -> None:
    train_idx, val_idx = data.train_validation_split()
    assert train_idx.dtype == np.int64 and val_idx.dtype == np.int64
    np.testing.assert_array_equal(train_idx, np.arange(50_000))
    np.testing.assert_array_equal(val_idx, np.arange(50_000, 60_000))


def test_train_validation_split_custom() -> None:
    train_idx, val_idx = data.train_validation_split(1)
    assert len(train_idx) == 59_999 and val_idx.tolist() == [59_999]
    assert np.intersect1d(train_idx, val_idx).size == 0


@pytest.mark.parametrize("n", [0, -1, 60_000, 70_000, 2.5, True, "10"])
def test_train_validation_split_rejects(n: object) -> None:
    with pytest.raises(Lecun98Error, match="n_validation"):
        data.train_validation_split(n)
