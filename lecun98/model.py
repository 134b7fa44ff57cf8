"""LeNet-5 at the Python level: counts checked against the paper, initialisation, prediction.

The per-pattern mathematics is in network.py (compiled); this module is what a user holds. A
Config names the architecture (its component flags); the parameters are a flat vector in
that architecture's layout.Layout.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lecun98 import layout as L
from lecun98 import paper
from lecun98.config import Config
from lecun98.errors import Lecun98Error
from lecun98.network import make_arch
from lecun98.sdlm import predict_into


def count_parameters() -> dict[str, int]:
    return L.FAITHFUL.count_parameters()


def count_connections() -> dict[str, int]:
    """Connections per layer from the geometry, a bias counting as one connection (II-B)."""
    k2 = paper.KERNEL**2
    return {
        "c1": paper.C1_MAPS * paper.C1_SIZE**2 * (k2 + 1),
        "s2": paper.S2_MAPS * paper.S2_SIZE**2 * (4 + 1),
        "c3": int(sum(paper.C3_SIZE**2 * (f + 1) for f in L.C3_FAN_IN)),
        "s4": paper.S4_MAPS * paper.S4_SIZE**2 * (4 + 1),
        "c5": paper.C5_UNITS * (L.S4_INPUTS + 1),
        "f6": paper.F6_UNITS * (paper.C5_UNITS + 1),
        "output": paper.N_CLASSES * paper.F6_UNITS,
    }


def check_counts() -> None:
    """The paper's parameter and connection counts (Section II-B), asserted."""
    assert count_parameters() == paper.PARAMETERS, count_parameters()
    assert sum(count_parameters().values()) == paper.TOTAL_PARAMETERS
    assert count_connections() == paper.CONNECTIONS, count_connections()
    assert sum(count_connections().values()) == paper.TOTAL_CONNECTIONS


check_counts()


def init_params(config: Config, rng: np.random.Generator) -> np.ndarray:
    """Every parameter uniform in +-bound, float64 in the config's Layout. Appendix A (init
    "paper"): bound 2.4 / F_i ** init_exponent, F_i the fan-in of the parameter's unit; Glorot:
    sqrt(6 / (F_in + F_out)); He: sqrt(6 / F_in). Biases get their unit's bound, or zero.

    ASSUMPTION(init) and ASSUMPTION(bias-init): see config.py and README.md."""
    layout = L.Layout.of(config)
    fan_in = layout.fan_in()
    if config.init == "paper":
        bound = paper.INIT_SCALE / fan_in ** config.init_exponent
    elif config.init == "glorot":
        bound = np.sqrt(6.0 / (fan_in + layout.fan_out()))
    else:
        bound = np.sqrt(6.0 / fan_in)
    params = rng.uniform(-1.0, 1.0, layout.n_params) * bound
    if config.bias_init == "zero":
        for name in layout.shapes:
            if name.endswith(".bias"):
                layout.view(params, name)[...] = 0.0
    return params


FLOATS = (np.float64, np.float32)


def check_images(images: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The compiled kernels trust their inputs: shapes and values are checked here; the images
    come back contiguous, in `dtype` (the parameters')."""
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (paper.IMAGE_SIZE, paper.IMAGE_SIZE):
        raise Lecun98Error(f"images must have shape (N, 32, 32), got {images.shape}")
    if images.dtype not in FLOATS:
        raise Lecun98Error(
            f"images must be float64 or float32 (normalised, data.normalise), got {images.dtype}")
    if not np.isfinite(images).all():
        raise Lecun98Error("images contain NaN or infinity")
    return np.ascontiguousarray(images, dtype=dtype)


def check_params(params: np.ndarray, config: Config) -> np.ndarray:
    params = np.asarray(params)
    n = L.Layout.of(config).n_params
    if params.shape != (n,) or params.dtype not in FLOATS:
        raise Lecun98Error(f"parameters of this architecture must be float64 or float32 of shape "
                           f"({n},), got {params.dtype} {params.shape}")
    if not np.isfinite(params).all():
        raise Lecun98Error("parameters contain NaN or infinity")
    return np.ascontiguousarray(params)


def predict(params: np.ndarray, images: np.ndarray, config: Config = Config(), threads: int = 2):
    """(classes (N,), outputs y (N, 10): RBF distances or logits) for normalised images
    (N, 32, 32), with the architecture of `config`."""
    params = check_params(params, config)
    images = check_images(images, params.dtype)
    arch = make_arch(config, params.dtype)
    n = images.shape[0]
    y = np.empty((n, paper.N_CLASSES), params.dtype)
    classes = np.empty(n, dtype=np.int64)
    bounds = np.linspace(0, n, max(1, min(threads, n)) + 1).astype(int)
    jobs = [(params, images[a:b], arch, y[a:b], classes[a:b]) for a, b in zip(bounds, bounds[1:])]
    if len(jobs) == 1:
        predict_into(*jobs[0])
    else:  # the kernel releases the GIL: plain threads run it in parallel
        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(lambda job: predict_into(*job), jobs))
    return classes, y


def error_pct(params, images, labels, config: Config = Config(), threads=2) -> float:
    classes, _ = predict(params, images, config, threads)
    return float(100.0 * np.mean(classes != labels))
