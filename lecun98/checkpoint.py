"""The checkpoint format (README.md, "Checkpoint format"): one .npz, no pickles.

Arrays (float64 unless said): c1.weight (6,1,5,5), c1.bias (6), s2.coef (6), s2.bias (6),
c3.weight (16,6,5,5) zero where Table I has no link, c3.bias (16), s4.coef (16), s4.bias (16),
c5.weight (120,16,5,5), c5.bias (120), f6.weight (84,120), f6.bias (84), output.prototypes
(10,84), and the string `subsampling`, "sum" or "mean".

`evaluate_from_formulas` computes the network from these arrays and the formulas alone, with
none of the package's kernels: it is how tests show a checkpoint means what the README says.
"""

import os
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from lecun98 import layout as L
from lecun98 import paper
from lecun98.config import SUBSAMPLING
from lecun98.errors import Lecun98Error

SHAPES = {
    "c1.weight": (6, 1, 5, 5),
    "c1.bias": (6,),
    "s2.coef": (6,),
    "s2.bias": (6,),
    "c3.weight": (16, 6, 5, 5),
    "c3.bias": (16,),
    "s4.coef": (16,),
    "s4.bias": (16,),
    "c5.weight": (120, 16, 5, 5),
    "c5.bias": (120,),
    "f6.weight": (84, 120),
    "f6.bias": (84,),
    "output.prototypes": (10, 84),
}


def to_arrays(params: np.ndarray, subsampling: str) -> dict[str, np.ndarray]:
    v = L.views(np.asarray(params, dtype=np.float64))  # float32 runs are stored exactly in float64
    out = {name: v[name].copy() for name in L.SHAPES}
    out["c1.weight"] = v["c1.weight"].reshape(SHAPES["c1.weight"]).copy()
    c3 = np.zeros(SHAPES["c3.weight"])
    c3[L.C3_LINK_OUT, L.C3_LINK_IN] = v["c3.weight"]
    out["c3.weight"] = c3
    out["c5.weight"] = v["c5.weight"].reshape(SHAPES["c5.weight"]).copy()
    out["output.prototypes"] = np.array(paper.RBF_PROTOTYPES)
    out["subsampling"] = np.array(subsampling)
    return out


def from_arrays(arrays: dict[str, np.ndarray]) -> np.ndarray:
    params = np.empty(L.N_PARAMS)
    v = L.views(params)
    for name in L.SHAPES:
        v[name][...] = arrays[name].reshape(v[name].shape) if name != "c3.weight" else 0.0
    v["c3.weight"][...] = arrays["c3.weight"][L.C3_LINK_OUT, L.C3_LINK_IN]
    return params


def save(path: str | os.PathLike, params: np.ndarray, subsampling: str) -> None:
    """Written to a temporary file, then renamed: a checkpoint is complete or absent."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **to_arrays(params, subsampling))
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """(flat parameters, subsampling) from a checkpoint; every problem is one clear line."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise Lecun98Error(f"{path}: no such checkpoint") from None
    except (OSError, ValueError, EOFError) as e:
        raise Lecun98Error(f"{path}: not a readable .npz checkpoint ({e})") from None
    missing = sorted((set(SHAPES) | {"subsampling"}) - set(arrays))
    if missing:
        raise Lecun98Error(f"{path}: missing array(s) {', '.join(missing)}")
    for name, shape in SHAPES.items():
        a = arrays[name]
        if a.shape != shape or a.dtype.kind != "f":
            raise Lecun98Error(f"{path}: {name} must be float {shape}, got {a.dtype} {a.shape}")
        if not np.isfinite(a).all():
            raise Lecun98Error(f"{path}: {name} contains NaN or infinity")
    subsampling = str(arrays["subsampling"])
    if subsampling not in SUBSAMPLING:
        raise Lecun98Error(f"{path}: subsampling must be 'sum' or 'mean', got {subsampling!r}")
    if np.any(arrays["c3.weight"][~paper.C3_TABLE.T]):
        raise Lecun98Error(f"{path}: c3.weight is non-zero where Table I has no connection")
    if not np.array_equal(arrays["output.prototypes"], paper.RBF_PROTOTYPES):
        raise Lecun98Error(f"{path}: output.prototypes differ from the paper's Fig. 3 bitmaps")
    return from_arrays({k: np.asarray(arrays[k], dtype=np.float64) for k in SHAPES}), subsampling


def evaluate_from_formulas(arrays: dict[str, np.ndarray], images: np.ndarray) -> np.ndarray:
    """Predicted classes (N,) from checkpoint arrays and normalised images (N, 32, 32)."""

    def f(a):  # eq. (6)
        return paper.SQUASH_A * np.tanh(paper.SQUASH_S * a)

    def conv(x, w, b):  # x (N,C,H,W), w (O,C,5,5): out[o,i,j] = b[o] + sum w[o,c,u,v] x[c,i+u,j+v]
        win = sliding_window_view(x, (5, 5), axis=(2, 3))  # (N, C, Ho, Wo, 5, 5)
        return np.einsum("nchwuv,ocuv->nohw", win, w, optimize=True) + b[None, :, None, None]

    def sub(x, coef, bias):  # 2x2 blocks, summed or averaged, times coef, plus bias
        n, c, h, w = x.shape
        blocks = x.reshape(n, c, h // 2, 2, w // 2, 2).sum(axis=(3, 5))
        blocks *= SUBSAMPLING[str(arrays["subsampling"])]
        return coef[None, :, None, None] * blocks + bias[None, :, None, None]

    out = []
    for start in range(0, len(images), 1000):
        x = images[start : start + 1000, None]
        x = f(conv(x, arrays["c1.weight"], arrays["c1.bias"]))
        x = f(sub(x, arrays["s2.coef"], arrays["s2.bias"]))
        x = f(conv(x, arrays["c3.weight"], arrays["c3.bias"]))
        x = f(sub(x, arrays["s4.coef"], arrays["s4.bias"]))
        x = f(conv(x, arrays["c5.weight"], arrays["c5.bias"]).reshape(len(x), -1))
        x = f(x @ arrays["f6.weight"].T + arrays["f6.bias"])
        y = ((x[:, None, :] - arrays["output.prototypes"][None]) ** 2).sum(axis=2)  # eq. (7)
        out.append(y.argmin(axis=1))
    return np.concatenate(out)
