"""The checkpoint format (README.md, "Checkpoint format"): one .npz, no pickles.

Arrays (float64 unless said): c1.weight (6,1,5,5), c1.bias (6), s2.coef (6), s2.bias (6),
c3.weight (16,6,5,5) zero where Table I has no link, c3.bias (16), s4.coef (16), s4.bias (16),
c5.weight (120,16,5,5), c5.bias (120), f6.weight (84,120), f6.bias (84), output.prototypes
(10,84), the string `subsampling`, "sum" or "mean", the string `architecture` (JSON: the
component flags of config.py), `input_levels` (2): the background and foreground levels the
images were normalised to, and the string `dtype`: the floating-point type the network was
trained and is evaluated in ("float64" when absent, as in checkpoints written before it
existed). Other architectures drop s2.* and s4.* (parameter-free pooling), fill all of
c3.weight (c3 "full"), or replace output.prototypes by out.weight (10,84) and out.bias (10)
(softmax output). A checkpoint without `architecture` is the 1998 network.

`evaluate_from_formulas` computes the network from these arrays and the formulas alone, with
none of the package's kernels: it is how tests show a checkpoint means what the README says.
"""

import json
import os
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lecun98 import paper
from lecun98.config import Config, SUBSAMPLING
from lecun98.errors import Lecun98Error
from lecun98.layout import Layout

ARCHITECTURE = ("activation", "pooling", "subsampling", "c3", "output", "loss")
FULL_SHAPES = {  # checkpoint shapes of the blocks whose layout.py shapes differ
    "c1.weight": (6, 1, 5, 5),
    "c3.weight": (16, 6, 5, 5),
    "c5.weight": (120, 16, 5, 5),
}


def _shapes(layout: Layout) -> dict[str, tuple]:
    shapes = {n: FULL_SHAPES.get(n, sh) for n, sh in layout.shapes.items()}
    if layout.output == "rbf":
        shapes["output.prototypes"] = (paper.N_CLASSES, paper.F6_UNITS)
    return shapes


def to_arrays(params: np.ndarray, config: Config, levels=(paper.BACKGROUND, paper.FOREGROUND)):
    layout = Layout.of(config)
    v = layout.views(np.asarray(params, dtype=np.float64))  # float32 is stored exactly in float64
    shapes = _shapes(layout)
    out = {name: v[name].reshape(shapes[name]).copy() for name in layout.shapes if name != "c3.weight"}
    c3 = np.zeros(FULL_SHAPES["c3.weight"])
    c3[layout.c3_link_out, layout.c3_link_in] = v["c3.weight"]
    out["c3.weight"] = c3
    if layout.output == "rbf":
        out["output.prototypes"] = np.array(paper.RBF_PROTOTYPES)
    out["subsampling"] = np.array(config.subsampling)
    out["architecture"] = np.array(json.dumps({k: getattr(config, k) for k in ARCHITECTURE}))
    out["input_levels"] = np.array(levels, dtype=np.float64)
    out["dtype"] = np.array(config.dtype)
    return out


def from_arrays(arrays: dict[str, np.ndarray], config: Config) -> np.ndarray:
    layout = Layout.of(config)
    params = np.empty(layout.n_params)
    v = layout.views(params)
    for name in layout.shapes:
        if name != "c3.weight":
            v[name][...] = arrays[name].reshape(v[name].shape)
    v["c3.weight"][...] = arrays["c3.weight"][layout.c3_link_out, layout.c3_link_in]
    return params


def save(path: str | os.PathLike, params: np.ndarray, config: Config,
         levels=(paper.BACKGROUND, paper.FOREGROUND)) -> None:
    """Written to a temporary file, then renamed: a checkpoint is complete or absent."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **to_arrays(params, config, levels))
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> tuple[np.ndarray, Config, tuple[float, float]]:
    """(flat parameters, the architecture as a Config, input levels) from a checkpoint; every
    problem is one clear line."""
    path = Path(path)
    try:
        f = np.load(path, allow_pickle=False)
        if isinstance(f, np.lib.npyio.NpzFile):
            with f:
                arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise Lecun98Error(f"{path}: no such checkpoint") from None
    except Exception as e:  # whatever a damaged file raises: BadZipFile, a bad CRC, EOFError...
        why = " ".join(str(e).split()) or type(e).__name__  # some of numpy's messages span lines
        raise Lecun98Error(f"{path}: not a readable .npz checkpoint ({why})") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise Lecun98Error(f"{path}: a single .npy array, not an .npz checkpoint (give the run's "
                           "checkpoint.npz)")
    if "subsampling" not in arrays:
        raise Lecun98Error(f"{path}: missing array(s) subsampling")
    subsampling = str(arrays["subsampling"])
    if subsampling not in SUBSAMPLING:
        raise Lecun98Error(f"{path}: subsampling must be 'sum' or 'mean', got {subsampling!r}")
    flags = {"subsampling": subsampling}  # a checkpoint without `architecture`: the 1998 one
    try:
        if "architecture" in arrays:
            flags = json.loads(str(arrays["architecture"]))
        config = Config().replace(**{k: flags[k] for k in ARCHITECTURE if k in flags},
                                  dtype=str(arrays.get("dtype", "float64")))
    except (ValueError, TypeError, Lecun98Error) as e:
        raise Lecun98Error(f"{path}: unreadable architecture or dtype ({e})") from None
    if config.subsampling != subsampling:
        raise Lecun98Error(f"{path}: architecture says subsampling {config.subsampling!r} but the "
                           f"subsampling array says {subsampling!r}; they must agree")
    try:
        levels = tuple(float(x) for x in np.ravel(arrays.get("input_levels",
                                                             (paper.BACKGROUND, paper.FOREGROUND))))
    except (TypeError, ValueError):
        levels = ()  # reported below
    layout = Layout.of(config)
    shapes = _shapes(layout)
    missing = sorted(set(shapes) - set(arrays))
    if missing:
        raise Lecun98Error(f"{path}: missing array(s) {', '.join(missing)}")
    for name, shape in shapes.items():
        a = arrays[name]
        if a.shape != shape or a.dtype.kind != "f":
            raise Lecun98Error(f"{path}: {name} must be float {shape}, got {a.dtype} {a.shape}")
        if not np.isfinite(a).all():
            raise Lecun98Error(f"{path}: {name} contains NaN or infinity")
    if len(levels) != 2 or not all(np.isfinite(levels)) or not levels[0] < levels[1]:
        raise Lecun98Error(f"{path}: input_levels must be two finite numbers, the background "
                           "below the foreground")
    if config.c3 == "table" and np.any(arrays["c3.weight"][~paper.C3_TABLE.T]):
        raise Lecun98Error(f"{path}: c3.weight is non-zero where Table I has no connection")
    if config.output == "rbf" and not np.array_equal(arrays["output.prototypes"], paper.RBF_PROTOTYPES):
        raise Lecun98Error(f"{path}: output.prototypes differ from the paper's Fig. 3 bitmaps")
    params = from_arrays({k: np.asarray(arrays[k], dtype=np.float64) for k in shapes}, config)
    return params, config, levels


def evaluate_from_formulas(arrays: dict[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """Predicted classes (N,) from checkpoint arrays and normalised images (N, 32, 32)."""
    flags = json.loads(str(arrays["architecture"])) if "architecture" in arrays else {}
    activation = flags.get("activation", "tanh")
    pooling = flags.get("pooling", "trainable")
    output = flags.get("output", "rbf")

    def f(a):
        if activation == "relu":
            return np.maximum(a, 0.0)
        if activation == "logistic":
            return 1.0 / (1.0 + np.exp(-a))
        return paper.SQUASH_A * np.tanh(paper.SQUASH_S * a)  # eq. (6)

    def conv(x, w, b):  # x (N,C,H,W), w (O,C,5,5): out[o,i,j] = b[o] + sum w[o,c,u,v] x[c,i+u,j+v]
        win = sliding_window_view(x, (5, 5), axis=(2, 3))  # (N, C, Ho, Wo, 5, 5)
        return np.einsum("nchwuv,ocuv->nohw", win, w, optimize=True) + b[None, :, None, None]

    def pool(x, name):  # 2x2 blocks: max, mean, or (sum or mean) times coef plus bias, then f
        n, c, h, w = x.shape
        blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
        if pooling == "max":
            return blocks.max(axis=(3, 5))
        if pooling == "average":
            return blocks.mean(axis=(3, 5))
        s = blocks.sum(axis=(3, 5)) * SUBSAMPLING[str(arrays["subsampling"])]
        coef, bias = arrays[f"{name}.coef"], arrays[f"{name}.bias"]
        return f(coef[None, :, None, None] * s + bias[None, :, None, None])

    out = []
    for start in range(0, len(images), 1000):
        x = images[start : start + 1000, None]
        x = f(conv(x, arrays["c1.weight"], arrays["c1.bias"]))
        x = pool(x, "s2")
        x = f(conv(x, arrays["c3.weight"], arrays["c3.bias"]))
        x = pool(x, "s4")
        x = f(conv(x, arrays["c5.weight"], arrays["c5.bias"]).reshape(len(x), -1))
        x = f(x @ arrays["f6.weight"].T + arrays["f6.bias"])
        if output == "softmax":
            out.append((x @ arrays["out.weight"].T + arrays["out.bias"]).argmax(axis=1))
        else:
            y = ((x[:, None, :] - arrays["output.prototypes"][None]) ** 2).sum(axis=2)  # eq. (7)
            out.append(y.argmin(axis=1))
    return np.concatenate(out)
