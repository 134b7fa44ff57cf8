"""The trainable parameters as one flat vector with named views (STYLE 7).

Gradients and the Hessian diagonal use the same layout, so an SDLM step is one line and a
checkpoint is one array. Internal shapes (the 1998 LeNet-5's 60,000; other architectures of
config.py drop the subsampling blocks, widen c3.weight to 96 links, or add out.*):

    c1.weight (6, 5, 5)        c1.bias (6)     s2.coef (6)    s2.bias (6)
    c3.weight (60, 5, 5)       one 5x5 kernel per Table I link, links ordered by (C3 map, S2 map)
    c3.bias (16)               s4.coef (16)    s4.bias (16)
    c5.weight (120, 400)       C5 is a 5x5 convolution over a 5x5 input: a full connection;
                               column c*25 + u*5 + v is checkpoint weight [k, c, u, v]
    c5.bias (120)              f6.weight (84, 120)    f6.bias (84)
    out.weight (10, 84)        out.bias (10)          softmax output only
"""

import numpy as np

from lecun98 import paper

K = paper.KERNEL

# Parameter blocks in paper order; an architecture without a block (parameter-free pooling, the
# RBF output) gives it zero length. The compiled kernels get the block starts as one int array,
# `starts`, indexed by these constants; starts[END] is the parameter count.
BLOCKS = ("c1.weight", "c1.bias", "s2.coef", "s2.bias", "c3.weight", "c3.bias", "s4.coef",
          "s4.bias", "c5.weight", "c5.bias", "f6.weight", "f6.bias", "out.weight", "out.bias")
(C1W, C1B, S2C, S2B, C3W, C3B, S4C, S4B, C5W, C5B, F6W, F6B, OUTW, OUTB) = range(len(BLOCKS))
END = len(BLOCKS)
S4_INPUTS = paper.S4_MAPS * paper.S4_SIZE**2  # 400


class Layout:
    """The flat parameter vector of one architecture (Config's pooling, c3 and output flags).

    c3 "table": Table I as a list of links grouped by C3 map, link l reading S2 map
    c3_link_in[l] into C3 map c3_link_out[l] (60 links); "full": all 96 pairs, the same order."""

    def __init__(self, pooling: str = "trainable", c3: str = "table", output: str = "rbf"):
        self.pooling, self.c3, self.output = pooling, c3, output
        table = paper.C3_TABLE if c3 == "table" else np.ones_like(paper.C3_TABLE)
        self.c3_link_out, self.c3_link_in = (a.astype(np.int64) for a in np.nonzero(table.T))
        self.c3_fan_in = np.bincount(self.c3_link_out, minlength=paper.C3_MAPS) * K * K
        pools = pooling == "trainable"
        shapes = {
            "c1.weight": (paper.C1_MAPS, K, K),
            "c1.bias": (paper.C1_MAPS,),
            "s2.coef": (paper.S2_MAPS,) if pools else (0,),
            "s2.bias": (paper.S2_MAPS,) if pools else (0,),
            "c3.weight": (len(self.c3_link_out), K, K),
            "c3.bias": (paper.C3_MAPS,),
            "s4.coef": (paper.S4_MAPS,) if pools else (0,),
            "s4.bias": (paper.S4_MAPS,) if pools else (0,),
            "c5.weight": (paper.C5_UNITS, S4_INPUTS),
            "c5.bias": (paper.C5_UNITS,),
            "f6.weight": (paper.F6_UNITS, paper.C5_UNITS),
            "f6.bias": (paper.F6_UNITS,),
            "out.weight": (paper.N_CLASSES, paper.F6_UNITS) if output == "softmax" else (0, 0),
            "out.bias": (paper.N_CLASSES,) if output == "softmax" else (0,),
        }
        self.shapes = {n: sh for n, sh in shapes.items() if int(np.prod(sh))}  # present blocks
        sizes = [int(np.prod(shapes[n])) for n in BLOCKS]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # (15,)
        self.offsets = {n: (int(self.starts[i]), int(self.starts[i + 1]))
                        for i, n in enumerate(BLOCKS) if n in self.shapes}
        self.n_params = int(self.starts[END])

    @classmethod
    def of(cls, config) -> "Layout":
        return cls(config.pooling, config.c3, config.output)

    def view(self, flat: np.ndarray, name: str) -> np.ndarray:
        """The named block of a flat parameter (or gradient, or Hessian) vector, as a view."""
        a, b = self.offsets[name]
        return flat[a:b].reshape(self.shapes[name])

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        return {name: self.view(flat, name) for name in self.shapes}

    def layer_slice(self, layer: str) -> slice:
        """All parameters of one layer ("c1" .. "f6", "out") as a slice of the flat vector."""
        names = [n for n in self.shapes if n.startswith(layer + ".")]
        return slice(self.offsets[names[0]][0], self.offsets[names[-1]][1])

    def count_parameters(self) -> dict[str, int]:
        layers = dict.fromkeys(n.split(".")[0] for n in self.shapes)
        return {layer: self.layer_slice(layer).stop - self.layer_slice(layer).start
                for layer in layers}

    def _per_parameter(self, fill: dict[str, np.ndarray]) -> np.ndarray:
        f = np.empty(self.n_params)
        for name in self.shapes:
            layer, kind = name.split(".")
            v = self.view(f, name)
            per_unit = fill[layer]
            if layer == "c3" and kind == "weight":
                v[...] = per_unit[self.c3_link_out][:, None, None]
            elif v.ndim == 1:
                v[...] = per_unit
            else:
                v[...] = per_unit.reshape((-1,) + (1,) * (v.ndim - 1))
        return f

    def fan_in(self) -> np.ndarray:
        """F_i of the unit each parameter feeds (Appendix A), in the flat layout."""
        return self._per_parameter({
            "c1": np.full(paper.C1_MAPS, K * K),
            "s2": np.full(paper.S2_MAPS, 4),
            "c3": self.c3_fan_in,
            "s4": np.full(paper.S4_MAPS, 4),
            "c5": np.full(paper.C5_UNITS, S4_INPUTS),
            "f6": np.full(paper.F6_UNITS, paper.C5_UNITS),
            "out": np.full(paper.N_CLASSES, paper.F6_UNITS),
        })

    def fan_out(self) -> np.ndarray:
        """Units each input of a parameter's unit feeds (Glorot's F_out): C1 6 maps x 25 taps,
        C3 25 taps x the C3 maps reading the weight's S2 map (10 in Table I, 16 full), 1 for a
        subsampling input, the next layer's width for C5, F6 and OUT."""
        readers = np.bincount(self.c3_link_in, minlength=paper.S2_MAPS) * K * K  # per S2 map
        per_link = readers[self.c3_link_in]
        f = self._per_parameter({
            "c1": np.full(paper.C1_MAPS, paper.C1_MAPS * K * K),
            "s2": np.ones(paper.S2_MAPS),
            "c3": np.zeros(paper.C3_MAPS),  # per link, below
            "s4": np.ones(paper.S4_MAPS),
            "c5": np.full(paper.C5_UNITS, paper.C5_UNITS),
            "f6": np.full(paper.F6_UNITS, paper.F6_UNITS),
            "out": np.full(paper.N_CLASSES, paper.N_CLASSES),
        })
        self.view(f, "c3.weight")[...] = per_link[:, None, None]
        self.view(f, "c3.bias")[...] = readers.mean()
        return f


# The 1998 LeNet-5, asserted against the paper's counts (Section II-B); module-level names
# below are its layout.
FAITHFUL = Layout()
assert FAITHFUL.n_params == paper.TOTAL_PARAMETERS, FAITHFUL.n_params
assert FAITHFUL.count_parameters() == paper.PARAMETERS, FAITHFUL.count_parameters()

C3_LINK_OUT, C3_LINK_IN = FAITHFUL.c3_link_out, FAITHFUL.c3_link_in
C3_FAN_IN = FAITHFUL.c3_fan_in  # 75, 100 or 150
SHAPES = FAITHFUL.shapes
OFFSETS = FAITHFUL.offsets
N_PARAMS = FAITHFUL.n_params
