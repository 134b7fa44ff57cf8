"""MNIST: the canonical IDX files, verified by checksum, and the paper's input normalisation.

Section III-A: 60,000 training and 10,000 test images of 28x28 pixels, each centred in a
32x32 field of background. Section II-B: background maps to -0.1 and foreground to 1.175.

The files live in `data/mnist/` (gzip or plain); `LECUN98_DATA` or a `data_dir` argument
points elsewhere. Every problem with a file is a one-line `DataError` naming the file.
"""

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from lecun98.errors import DataError, Lecun98Error
from lecun98.paper import BACKGROUND, FOREGROUND, IMAGE_SIZE, MNIST_SIZE, PAD

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
DATA_ENV = "LECUN98_DATA"

SPLIT_SIZE = {"train": 60_000, "test": 10_000}  # Section III-A
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# MD5 and size of the decompressed bytes (data/mnist/README.md).
MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
SIZE = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}

_IDX_NDIM = {0x00000801: 1, 0x00000803: 3}  # uint8 magic numbers: labels, images
_MISSING = (
    "missing (expected the canonical MNIST file; set LECUN98_DATA or --data-dir to its folder)"
)

_cache: dict[tuple[Path, str], tuple[np.ndarray, np.ndarray]] = {}


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The MNIST folder: `data_dir` if given, else $LECUN98_DATA, else DEFAULT_DATA_DIR."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser().resolve()


def _read_bytes(path: Path) -> bytes:
    """The decompressed contents of `path` (gzip if it ends in .gz)."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except gzip.BadGzipFile as exc:
        raise DataError(f"{path}: not a gzip file or corrupt gzip stream ({exc})") from None
    except EOFError:
        raise DataError(f"{path}: truncated gzip stream (the file is cut short)") from None
    except zlib.error as exc:
        raise DataError(f"{path}: corrupt gzip stream ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_idx(
    path: str | os.PathLike, expected_md5: str, expected_size: int | None = None
) -> np.ndarray:
    """Read a uint8 IDX file, `<name>.gz` or else plain `<name>`, verified by the MD5 of its
    decompressed bytes. Returns a read-only uint8 array shaped as its header says."""
    path = Path(path)
    gz = path if path.suffix == ".gz" else path.with_name(path.name + ".gz")
    plain = gz.with_suffix("")
    path = gz if gz.is_file() else plain if plain.is_file() else None
    if path is None:
        raise DataError(f"{gz}: {_MISSING}")

    data = _read_bytes(path)
    if expected_size is not None and len(data) != expected_size:
        raise DataError(
            f"{path}: decompressed size is {len(data):,} bytes, expected {expected_size:,} "
            "(file altered or truncated)"
        )
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if md5 != expected_md5:
        raise DataError(
            f"{path}: MD5 of the decompressed bytes is {md5}, expected {expected_md5} "
            "(file altered or truncated)"
        )

    magic = int.from_bytes(data[:4], "big")
    ndim = _IDX_NDIM.get(magic) if len(data) >= 4 else None
    if ndim is None:
        raise DataError(
            f"{path}: not a uint8 IDX file (magic number {magic:#010x}, "
            "expected 0x00000801 for labels or 0x00000803 for images)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: IDX header is truncated ({len(data)} bytes, expected {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = math.prod(shape)
    if len(data) - header != count:
        raise DataError(
            f"{path}: holds {len(data) - header:,} data bytes, its IDX header {shape} "
            f"expects {count:,}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_mnist_raw(
    split: str, data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,) uint8) of `split`, N = 60,000 or 10,000.

    The arrays are read-only and cached per (folder, split) for the life of the process.
    """
    if split not in FILES:
        raise Lecun98Error(f"unknown MNIST split {split!r}: expected 'train' or 'test'")
    folder = resolve_data_dir(data_dir)
    key = (folder, split)
    if key not in _cache:
        image_stem, label_stem = FILES[split]
        images = read_idx(folder / f"{image_stem}.gz", MD5[image_stem], SIZE[image_stem])
        labels = read_idx(folder / f"{label_stem}.gz", MD5[label_stem], SIZE[label_stem])
        _cache[key] = images, labels
    return _cache[key]


def input_levels(kind: str, train_images: np.ndarray) -> tuple[float, float]:
    """(background, foreground) of Config.input: "paper" (-0.1, 1.175), Section II-B; "unit"
    (0, 1); "standard": the [0, 1] levels shifted and scaled so the given (uint8, N x 28 x 28)
    training images, padded to 32 x 32, have mean 0 and variance 1."""
    if kind == "paper":
        return BACKGROUND, FOREGROUND
    if kind == "unit":
        return 0.0, 1.0
    if kind != "standard":
        raise Lecun98Error(f"input must be 'paper', 'unit' or 'standard', got {kind!r}")
    counts = np.bincount(np.asarray(train_images, np.uint8).ravel(), minlength=256)
    counts[0] += len(train_images) * (IMAGE_SIZE**2 - MNIST_SIZE**2)  # the padding: zeros
    level = np.arange(256) / 255.0
    mean = counts @ level / counts.sum()
    sd = np.sqrt(counts @ (level - mean) ** 2 / counts.sum())
    return -mean / sd, (1.0 - mean) / sd


def check_uint8(images, sizes: tuple[int, ...], who: str) -> None:
    """One clear error unless images is an (N, s, s) uint8 array with s one of sizes."""
    if (
        not isinstance(images, np.ndarray)
        or images.dtype != np.uint8
        or images.ndim != 3
        or images.shape[1:] not in [(s, s) for s in sizes]
    ):
        got = (
            f"{images.dtype} array of shape {images.shape}"
            if isinstance(images, np.ndarray)
            else type(images).__name__
        )
        shapes = " or ".join(f"(N, {s}, {s})" for s in sizes)
        raise Lecun98Error(f"{who} expects a {shapes} uint8 array, got {got}")


def normalise(
    images: np.ndarray,
    *,
    dtype: DTypeLike = np.float64,
    background: float = BACKGROUND,
    foreground: float = FOREGROUND,
) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 32, 32): pad with background and map pixel p in 0..255 to
    background + (foreground - background) * p / 255. The defaults are the paper's levels
    (Section II-B, III-A); the modern network uses 0 and 1. (N, 32, 32) uint8 images, already in
    the field (distortions.pool), are mapped the same way without padding."""
    check_uint8(images, (MNIST_SIZE, IMAGE_SIZE), "normalise")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise Lecun98Error(f"normalise needs a floating dtype, got {dtype}")

    # ASSUMPTION(input-variance): the stated levels, though on MNIST they give a variance of
    # ~0.12, not the ~1 the paper says they give.
    levels = np.linspace(background, foreground, 256).astype(dtype)  # (256,), both ends exact
    # ASSUMPTION(padding): the 2-pixel border is background (-0.1), not zero.
    if images.shape[1] == IMAGE_SIZE:
        return levels[images]
    out = np.full((len(images), IMAGE_SIZE, IMAGE_SIZE), levels[0], dtype=dtype)  # (N, 32, 32)
    out[:, PAD : PAD + MNIST_SIZE, PAD : PAD + MNIST_SIZE] = levels[images]
    return out


def load_mnist(
    split: str, data_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32) float64 normalised, labels (N,) int64) of `split`; fresh arrays."""
    images, labels = load_mnist_raw(split, data_dir)
    return normalise(images), labels.astype(np.int64)


def train_validation_split(n_validation: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx, val_idx) into the 60,000 training images: validation is the last
    `n_validation` images, training the rest, in file order. The paper holds out nothing;
    this split is for model selection only."""
    n = SPLIT_SIZE["train"]
    if isinstance(n_validation, bool) or not isinstance(n_validation, (int, np.integer)):
        raise Lecun98Error(f"n_validation must be an integer, got {n_validation!r}")
    if not 0 < n_validation < n:
        raise Lecun98Error(f"n_validation must be in 1..{n - 1}, got {n_validation}")
    cut = n - int(n_validation)
    return np.arange(cut, dtype=np.int64), np.arange(cut, n, dtype=np.int64)
