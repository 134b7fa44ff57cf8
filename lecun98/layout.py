"""The 60,000 trainable parameters as one flat vector with named views (STYLE 7).

Gradients and the Hessian diagonal use the same layout, so an SDLM step is one line and a
checkpoint is one array. Internal shapes:

    c1.weight (6, 5, 5)        c1.bias (6)     s2.coef (6)    s2.bias (6)
    c3.weight (60, 5, 5)       one 5x5 kernel per Table I link, links ordered by (C3 map, S2 map)
    c3.bias (16)               s4.coef (16)    s4.bias (16)
    c5.weight (120, 400)       C5 is a 5x5 convolution over a 5x5 input: a full connection;
                               column c*25 + u*5 + v is checkpoint weight [k, c, u, v]
    c5.bias (120)              f6.weight (84, 120)    f6.bias (84)
"""

import numpy as np

from lecun98 import paper

K = paper.KERNEL

# Table I as a list of links, grouped by C3 map: link l reads S2 map C3_LINK_IN[l] into C3 map
# C3_LINK_OUT[l]; the links of C3 map o are C3_LINK_START[o] .. C3_LINK_START[o + 1] - 1.
C3_LINK_OUT, C3_LINK_IN = (a.astype(np.int64) for a in np.nonzero(paper.C3_TABLE.T))
C3_LINK_START = np.searchsorted(C3_LINK_OUT, np.arange(paper.C3_MAPS + 1)).astype(np.int64)
N_C3_LINKS = len(C3_LINK_OUT)  # 60
C3_FAN_IN = np.bincount(C3_LINK_OUT, minlength=paper.C3_MAPS) * K * K  # 75, 100 or 150

S4_INPUTS = paper.S4_MAPS * paper.S4_SIZE**2  # 400

SHAPES = {
    "c1.weight": (paper.C1_MAPS, K, K),
    "c1.bias": (paper.C1_MAPS,),
    "s2.coef": (paper.S2_MAPS,),
    "s2.bias": (paper.S2_MAPS,),
    "c3.weight": (N_C3_LINKS, K, K),
    "c3.bias": (paper.C3_MAPS,),
    "s4.coef": (paper.S4_MAPS,),
    "s4.bias": (paper.S4_MAPS,),
    "c5.weight": (paper.C5_UNITS, S4_INPUTS),
    "c5.bias": (paper.C5_UNITS,),
    "f6.weight": (paper.F6_UNITS, paper.C5_UNITS),
    "f6.bias": (paper.F6_UNITS,),
}


def _offsets():
    out, start = {}, 0
    for name, shape in SHAPES.items():
        size = int(np.prod(shape))
        out[name] = (start, start + size)
        start += size
    return out, start


OFFSETS, N_PARAMS = _offsets()
assert N_PARAMS == paper.TOTAL_PARAMETERS, N_PARAMS
for _layer, _count in paper.PARAMETERS.items():
    _n = sum(b - a for name, (a, b) in OFFSETS.items() if name.startswith(_layer + "."))
    assert _n == _count, (_layer, _n, _count)

# Plain int offsets, frozen into the compiled kernels as constants.
C1W, C1B, S2C, S2B, C3W, C3B, S4C, S4B, C5W, C5B, F6W, F6B = (OFFSETS[n][0] for n in SHAPES)
END = N_PARAMS


def view(flat: np.ndarray, name: str) -> np.ndarray:
    """The named block of a flat parameter (or gradient, or Hessian) vector, as a view."""
    a, b = OFFSETS[name]
    return flat[a:b].reshape(SHAPES[name])


def views(flat: np.ndarray) -> dict[str, np.ndarray]:
    return {name: view(flat, name) for name in SHAPES}


def layer_slice(layer: str) -> slice:
    """All parameters of one layer ("c1" .. "f6") as a slice of the flat vector."""
    names = [n for n in SHAPES if n.startswith(layer + ".")]
    return slice(OFFSETS[names[0]][0], OFFSETS[names[-1]][1])


def fan_in() -> np.ndarray:
    """F_i of the unit each parameter feeds (Appendix A), in the flat layout."""
    f = np.empty(N_PARAMS)
    fill = {
        "c1": np.full(paper.C1_MAPS, K * K),
        "s2": np.full(paper.S2_MAPS, 4),
        "c3": C3_FAN_IN,
        "s4": np.full(paper.S4_MAPS, 4),
        "c5": np.full(paper.C5_UNITS, S4_INPUTS),
        "f6": np.full(paper.F6_UNITS, paper.C5_UNITS),
    }
    for name in SHAPES:
        layer, kind = name.split(".")
        v = view(f, name)
        per_unit = fill[layer]
        if layer == "c3" and kind == "weight":
            v[...] = per_unit[C3_LINK_OUT][:, None, None]
        elif v.ndim == 1:
            v[...] = per_unit
        else:
            v[...] = per_unit.reshape((-1,) + (1,) * (v.ndim - 1))
    return f
