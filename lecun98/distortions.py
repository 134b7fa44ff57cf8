"""Random planar affine distortions, Section III-C: horizontal and vertical translation, scaling,
squeezing (horizontal compression with vertical elongation, or the reverse) and horizontal shear.

An image lives in the network's 32x32 field (the 28x28 digit with its 2-pixel background border),
as uint8 grey levels with 0 the background. A distortion is the forward map

    p_out = M (p_in - c) + c + t,   M = s * [[q, 0], [0, 1/q]] @ [[1, h], [0, 1]]

in (x = column, y = row) pixel coordinates about the field's centre c = (15.5, 15.5): scale
s = 1 + u_s, squeeze q = 1 + u_q (q < 1 compresses horizontally and stretches vertically), shear h,
shift t, each u drawn uniformly in +-its range (Ranges). The image is resampled through the
inverse map, bilinearly, with background outside the source field: what
scipy.ndimage.affine_transform(order=1, mode="grid-constant", cval=0) gives
(tests/test_distortions.py checks the compiled warp against it), compiled here because the
paper's pool is 540,000 copies.

The ranges are not in the paper: config.DISTORTION_RANGES holds the choice made on the validation
split (results/validation/distortions/ and distortions_round2/, make validate
VALIDATE="distortions distortions2").
"""

import dataclasses
import math

import numpy as np
from tqdm import tqdm

from lecun98.data import IMAGE_SIZE as FIELD  # the 32x32 field
from lecun98.data import MNIST_SIZE, PAD, check_uint8
from lecun98.errors import Lecun98Error
from lecun98.jit import kernel

CENTRE = (FIELD - 1) / 2.0  # 15.5, between the two middle pixels
CHUNK = 20_000  # images warped per compiled call (progress bar granularity)


@dataclasses.dataclass(frozen=True)
class Ranges:
    """Half-widths of the uniform draws: shift in pixels (each axis), and the relative scale,
    squeeze and horizontal shear (the chosen ones: Config().ranges)."""

    shift: float
    scale: float
    squeeze: float
    shear: float

    def __post_init__(self):
        for name, limit in (("shift", 8.0), ("scale", 0.5), ("squeeze", 0.5), ("shear", 1.0)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)
                    and 0 <= value <= limit):
                raise Lecun98Error(f"distortion range {name} must be in 0..{limit}, got {value!r}")

    def describe(self) -> str:
        return (f"shift ±{self.shift:g} px, scale ±{100 * self.scale:g}%, "
                f"squeeze ±{100 * self.squeeze:g}%, shear ±{self.shear:g}")


def inverse_maps(matrices: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """(N, 2, 2) forward matrices M and (N, 2) shifts t (x, y) -> (N, 2, 3) inverse maps [A | b]
    with p_in = A p_out + b, in (x, y) pixel coordinates."""
    inv = np.linalg.inv(matrices)  # (N, 2, 2)
    c = np.full(2, CENTRE)
    b = c - np.einsum("nij,nj->ni", inv, c + shifts)  # A (p_out - c - t) + c
    return np.concatenate([inv, b[:, :, None]], axis=2)


def random_maps(n: int, ranges: Ranges, rng: np.random.Generator) -> np.ndarray:
    """n random distortions drawn within ranges: (n, 2, 3) inverse maps."""
    u = rng.uniform(-1.0, 1.0, size=(n, 5))  # shift x, shift y, scale, squeeze, shear
    shifts = u[:, :2] * ranges.shift
    s = 1.0 + u[:, 2] * ranges.scale
    q = 1.0 + u[:, 3] * ranges.squeeze
    h = u[:, 4] * ranges.shear
    m = np.zeros((n, 2, 2))
    m[:, 0, 0] = s * q
    m[:, 0, 1] = s * q * h
    m[:, 1, 1] = s / q
    return inverse_maps(m, shifts)


@kernel
def _sample(img, y, x):
    """Bilinear value of img at (row y, column x); 0 (background) outside the field."""
    y0 = math.floor(y)
    x0 = math.floor(x)
    fy = y - y0
    fx = x - x0
    total = 0.0
    for dy in range(2):
        r = int(y0) + dy
        if r < 0 or r >= img.shape[0]:
            continue
        wy = fy if dy else 1.0 - fy
        for dx in range(2):
            col = int(x0) + dx
            if col < 0 or col >= img.shape[1]:
                continue
            wx = fx if dx else 1.0 - fx
            total += wy * wx * img[r, col]
    return total


@kernel
def warp(images, source, inverse, out):
    """out[k] = images[source[k]] resampled through inverse[k] (N, 2, 3), uint8, rounded."""
    for k in range(out.shape[0]):
        img = images[source[k]]
        a = inverse[k]
        for i in range(out.shape[1]):
            for j in range(out.shape[2]):
                x = a[0, 0] * j + a[0, 1] * i + a[0, 2]
                y = a[1, 0] * j + a[1, 1] * i + a[1, 2]
                v = _sample(img, y, x)
                out[k, i, j] = np.uint8(min(255.0, max(0.0, math.floor(v + 0.5))))


def pad(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 32, 32) uint8 with a background (0) border."""
    check_uint8(images, (MNIST_SIZE,), "pad")
    out = np.zeros((len(images), FIELD, FIELD), np.uint8)
    out[:, PAD:PAD + MNIST_SIZE, PAD:PAD + MNIST_SIZE] = images
    return out


def apply(images: np.ndarray, inverse: np.ndarray, source=None,
          progress: bool = False) -> np.ndarray:
    """Warp 32x32 uint8 images through (K, 2, 3) inverse maps: image source[k] (default k) by map
    k, in chunks (a progress bar when progress is true). Returns (K, 32, 32) uint8."""
    check_uint8(images, (FIELD,), "distortions.apply")
    inverse = np.ascontiguousarray(inverse, dtype=np.float64)
    if inverse.ndim != 3 or inverse.shape[1:] != (2, 3):
        raise Lecun98Error(f"inverse maps must have shape (K, 2, 3), got {inverse.shape}")
    if source is None:
        if len(inverse) != len(images):
            raise Lecun98Error(f"{len(inverse)} maps for {len(images)} images")
        source = np.arange(len(images))
    source = np.ascontiguousarray(source, dtype=np.int64)
    if source.shape != (len(inverse),) or (
            len(source) and not 0 <= source.min() <= source.max() < len(images)):
        raise Lecun98Error("source must give one image index in range per map")
    out = np.empty((len(inverse), FIELD, FIELD), np.uint8)
    quiet = {} if progress else {"disable": True}  # else TQDM_DISABLE decides (runner.py)
    with tqdm(total=len(out), desc="distorting", unit="img", leave=False, dynamic_ncols=True,
              **quiet) as bar:
        for start in range(0, len(out), CHUNK):
            stop = min(start + CHUNK, len(out))
            warp(images, source[start:stop], inverse[start:stop], out[start:stop])
            bar.update(stop - start)
    return out


def pool(images: np.ndarray, copies: int, ranges: Ranges, seed: int,
         progress: bool = False) -> np.ndarray:
    """The paper's training pool: the (N, 28, 28) uint8 originals, padded to 32x32, followed by
    `copies` randomly distorted copies of each (copy c of image i at (c + 1) N + i): a
    ((copies + 1) N, 32, 32) uint8 array, the same for the same seed (540,000 copies: ~600 MB)."""
    if not (isinstance(copies, int) and 0 <= copies <= 20):
        raise Lecun98Error(f"copies must be an integer in 0..20, got {copies!r}")
    field = pad(images)
    n = len(field)
    rng = np.random.default_rng(seed)
    inverse = random_maps(copies * n, ranges, rng)
    source = np.tile(np.arange(n), copies)
    return np.concatenate([field, apply(field, inverse, source, progress)])


def rotation(degrees: float) -> np.ndarray:
    """The (1, 2, 3) inverse map of a rotation by `degrees` (counter-clockwise on screen) about
    the field's centre (robustness study)."""
    r = math.radians(degrees)
    m = np.array([[[math.cos(r), math.sin(r)], [-math.sin(r), math.cos(r)]]])
    return inverse_maps(m, np.zeros((1, 2)))


def similarity(scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """The (1, 2, 3) inverse map of a scaling about the centre, then a shift (x, y) in pixels."""
    return inverse_maps(np.array([[[scale, 0.0], [0.0, scale]]]), np.array([shift], float))
