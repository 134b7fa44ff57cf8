"""The run configuration: a frozen dataclass whose defaults come from paper.py (STYLE 12).

Every field the paper leaves open is named by an ASSUMPTION id; README.md's "Deviations &
assumptions" table gives the same ids, the evidence and the flag that changes each.
"""

import dataclasses
import json
import math
from pathlib import Path

from lecun98 import paper
from lecun98.errors import Lecun98Error

LOSSES = {"rbf": ("map", "mle"), "softmax": ("ce",)}  # by output layer
SUBSAMPLING = {"sum": 1.0, "mean": 0.25}
BIAS_INITS = ("zero", "uniform")
DTYPES = ("float64", "float32")
ACTIVATIONS = ("tanh", "relu", "logistic")
POOLINGS = ("trainable", "average", "max")
C3_KINDS = ("table", "full")
OUTPUTS = ("rbf", "softmax")
OPTIMISERS = ("sdlm", "sgd", "adam")
INPUTS = ("paper", "unit", "standard")
INITS = ("paper", "glorot", "he")
DISTORTION_DRAWS = ("pool", "per-image")
MAX_THREADS = 256  # Config.threads and evaluate's --threads: 1..MAX_THREADS
# Adam's constants (Kingma & Ba 2015, the tutorials' defaults); its rate is Config.lr
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8

# ASSUMPTION(distortion-ranges): half-widths of the uniform draws of Section III-C's distortions
# (shift in pixels, relative scale, squeeze, horizontal shear; distortions.Ranges), chosen on the
# validation split in two rounds: results/validation/distortions/ and distortions_round2/
# choice.json (make validate VALIDATE="distortions distortions2").
DISTORTION_RANGES = (2.0, 0.1, 0.1, 0.2)
# ASSUMPTION(distortion-curvature): the output curvature constant (Config.output_d2) of training
# on the distortion pool, chosen on the same validation split; without distortions 2 and 4 are
# equal there, so the runs on the originals keep the 1998 sweep's 2.
DISTORTION_OUTPUT_D2 = 4.0
# Section III-C's protocol: nine distorted copies of every training image (540,000), with the
# settings above (make reproduce's lenet5_distorted, Fig. 6's distorted points)
DISTORTED = {"distortions": 9, "output_d2": DISTORTION_OUTPUT_D2}

# The modern LeNet-5 of the tutorials: every component replaced; the rest of Config as 1998.
# What the tutorials leave open (batch 64 or 256, He or Glorot, inputs [0, 1] or standardised)
# is chosen on the validation split: results/validation/modern/choice.json (make validate).
MODERN = {
    "activation": "relu", "pooling": "max", "c3": "full", "output": "softmax", "loss": "ce",
    "optimiser": "adam", "batch": 64, "lr": 1e-3, "input": "unit", "init": "glorot",
    "bias_init": "zero",
}


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = 0
    passes: int = paper.PASSES
    eta: tuple[float, ...] = tuple(paper.eta_schedule())  # per pass, Section III-B
    mu: float = paper.SDLM_MU
    hessian_patterns: int = paper.HESSIAN_PATTERNS
    # --- components: the defaults are the 1998 LeNet-5; MODERN above swaps every one ---
    # "tanh" A tanh(S a) (eq. 6), "relu", or "logistic" 1 / (1 + e^-a), in every layer C1..F6
    activation: str = "tanh"
    # S2, S4: "trainable" (Section II-B: 2x2 block times one coefficient per map, plus a bias,
    # then the activation), "average" or "max" (no parameters, no activation)
    pooling: str = "trainable"
    c3: str = "table"  # "table" (Table I, 60 of the 96 S2-C3 map pairs) or "full"
    # "rbf": distances to the fixed Fig. 3 prototypes, eq. (7), class = argmin; "softmax": a
    # trained 84 -> 10 layer of logits, class = argmax
    output: str = "rbf"
    # "sdlm" (Appendix C) or "sgd" (the same per-pattern passes and eta schedule, steps eta/mu:
    # SDLM without the curvature), or "adam" on mini-batches of `batch` at rate `lr`
    optimiser: str = "sdlm"
    batch: int = 1  # patterns per update: 1 for sdlm and sgd
    lr: float = 1e-3  # Adam's rate
    # "paper": [-0.1, 1.175] (Section II-B); "unit": [0, 1]; "standard": [0, 1] shifted and
    # scaled to mean 0, variance 1 over the training images (padding included)
    input: str = "paper"
    # weights uniform in +-bound: "paper" 2.4 / F_i ** init_exponent (Appendix A), "glorot"
    # sqrt(6 / (F_in + F_out)), "he" sqrt(6 / F_in); biases per bias_init
    init: str = "paper"
    # ASSUMPTION(loss): Eq. (9), the MAP criterion, is the one the MNIST results used.
    # "map" or "mle" with the RBF output, "ce" (cross-entropy) with softmax.
    loss: str = "map"
    # ASSUMPTION(j): the constant of Eq. (9); chosen on the validation split
    # (results/validation/), never on the test set.
    j: float = 10.0
    # ASSUMPTION(subsampling): "mean" (Section II-A) or "sum" (Section II-B); chosen on the
    # validation split, where the sum saturates C5 and diverges.
    subsampling: str = "mean"
    # ASSUMPTION(init): weights uniform in +-2.4 / F_i ** init_exponent. The paper's text says
    # 2.4 / F_i (init_exponent = 1); we use 1/2: see README.
    init_exponent: float = 0.5
    # ASSUMPTION(bias-init): "uniform" like the weights, or "zero" (the authors' later code);
    # chosen on the validation split.
    bias_init: str = "uniform"
    # ASSUMPTION(output-curvature): d2E/dx^2 given to each F6 output by the Hessian pass.
    output_d2: float = 2.0
    # Training patterns: the first `train_size` of the training images not held out.
    train_size: int = 60_000
    # When > 0, hold out the LAST `validation` training images and report the error on them
    # instead of on the test set (how open choices are settled).
    validation: int = 0
    # threads for evaluation, and slices of each mini-batch run in parallel (Adam): the batch's
    # gradient is summed slice by slice, so Adam's bits depend on this number
    threads: int = 2
    # Arithmetic of parameters, activations and steps: "float64" (the reference results) or
    # "float32" (about twice as fast, make bench; its accuracy over seeds: make seeds, README).
    dtype: str = "float64"
    # Measure the error on the whole training set after every pass (Fig. 5; on the undistorted
    # originals). Sweeps skip it.
    evaluate_train: bool = True
    # Section III-C: when > 0, train on a pool of the originals plus `distortions` randomly
    # distorted copies of each (the paper: 9, 540,000 copies), each pass presenting train_size
    # patterns drawn from the pool (ASSUMPTION(distortion-draw)); 0: the originals only.
    distortions: int = 0
    # (shift, scale, squeeze, shear) half-widths: DISTORTION_RANGES above
    distortion_ranges: tuple[float, ...] = DISTORTION_RANGES
    # ASSUMPTION(distortion-draw): how a pass picks its train_size patterns from the pool:
    # "pool", any train_size distinct patterns of the whole pool at random; "per-image", one of
    # the distortions + 1 versions (original or copy) of every training image, at random
    distortion_draw: str = "pool"

    def __post_init__(self):
        problems = []
        if not (isinstance(self.seed, int) and not isinstance(self.seed, bool) and self.seed >= 0):
            problems.append(f"seed must be an integer >= 0, got {self.seed!r}")
        for name, allowed in (("activation", ACTIVATIONS), ("pooling", POOLINGS),
                              ("c3", C3_KINDS), ("output", OUTPUTS), ("optimiser", OPTIMISERS),
                              ("input", INPUTS), ("init", INITS)):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if self.output in LOSSES and self.loss not in LOSSES[self.output]:
            problems.append(f"the {self.output} output takes loss {' or '.join(LOSSES[self.output])}"
                            f", got {self.loss!r}")
        if self.optimiser in ("sdlm", "sgd") and self.batch != 1:
            problems.append(f"{self.optimiser} updates after every pattern: batch must be 1")
        if not 1 <= self.batch <= 60_000:
            problems.append(f"batch must be in 1..60000, got {self.batch}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            problems.append(f"lr must be a positive number, got {self.lr}")
        if self.subsampling not in SUBSAMPLING:
            problems.append(f"subsampling must be 'sum' or 'mean', got {self.subsampling!r}")
        if self.bias_init not in BIAS_INITS:
            problems.append(f"bias_init must be one of {BIAS_INITS}, got {self.bias_init!r}")
        if not 1 <= self.passes <= 1000:
            problems.append(f"passes must be in 1..1000, got {self.passes}")
        if len(self.eta) != self.passes:
            problems.append(f"eta has {len(self.eta)} values for {self.passes} passes")
        if any(not (math.isfinite(e) and e > 0) for e in self.eta):
            problems.append("every eta must be a positive number")
        for name in ("mu", "output_d2"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                problems.append(f"{name} must be a positive number, got {getattr(self, name)}")
        if not (math.isfinite(self.j) and self.j >= 0):
            problems.append(f"j must be a finite number >= 0, got {self.j}")
        if not (math.isfinite(self.init_exponent) and self.init_exponent > 0):
            problems.append(f"init_exponent must be > 0, got {self.init_exponent}")
        if not 0 <= self.validation < 60_000:
            problems.append(f"validation must be in 0..59999, got {self.validation}")
        if not 1 <= self.train_size <= 60_000 - self.validation:
            problems.append(
                f"train_size must be in 1..{60_000 - self.validation}, got {self.train_size}"
            )
        if not 1 <= self.hessian_patterns <= self.train_size:
            problems.append(f"hessian_patterns must be in 1..train_size, got {self.hessian_patterns}")
        if not 1 <= self.threads <= MAX_THREADS:
            problems.append(f"threads must be in 1..{MAX_THREADS}, got {self.threads}")
        if self.dtype not in DTYPES:
            problems.append(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if not isinstance(self.evaluate_train, bool):
            problems.append(f"evaluate_train must be true or false, got {self.evaluate_train!r}")
        if not (isinstance(self.distortions, int) and 0 <= self.distortions <= 20):
            problems.append(f"distortions must be an integer in 0..20, got {self.distortions!r}")
        if self.distortion_draw not in DISTORTION_DRAWS:
            problems.append(f"distortion_draw must be one of {DISTORTION_DRAWS}, got "
                            f"{self.distortion_draw!r}")
        if len(self.distortion_ranges) != 4:
            problems.append("distortion_ranges needs 4 values (shift, scale, squeeze, shear), got "
                            f"{len(self.distortion_ranges)}")
        else:
            from lecun98.distortions import Ranges

            try:
                Ranges(*self.distortion_ranges)
            except Lecun98Error as e:
                problems.append(str(e))
        if problems:
            raise Lecun98Error("bad configuration: " + "; ".join(problems))

    @property
    def scale(self) -> float:
        return SUBSAMPLING[self.subsampling]

    @classmethod
    def from_dict(cls, values: dict) -> "Config":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise Lecun98Error(f"unknown configuration key(s): {', '.join(unknown)}")
        values = dict(values)
        if "passes" in values and "eta" not in values:
            values["eta"] = tuple(paper.eta_schedule(int(values["passes"])))
        for key in ("eta", "distortion_ranges"):
            if key in values:
                try:
                    values[key] = tuple(float(e) for e in values[key])
                except (TypeError, ValueError):
                    raise Lecun98Error(f"bad configuration: {key} must be a list of numbers, "
                                       f"got {values[key]!r}") from None
        try:
            return cls(**values)
        except TypeError as e:
            raise Lecun98Error(f"bad configuration: {e}") from None

    @classmethod
    def from_file(cls, path: str | Path) -> "Config":
        path = Path(path)
        try:
            values = json.loads(path.read_text())
        except OSError as e:
            raise Lecun98Error(f"{path}: cannot read configuration ({e.strerror})") from None
        except json.JSONDecodeError as e:
            raise Lecun98Error(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
        if not isinstance(values, dict):
            raise Lecun98Error(f"{path}: expected a JSON object of configuration keys")
        return cls.from_dict(values)

    def replace(self, **changes) -> "Config":
        return Config.from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["eta"] = list(self.eta)
        d["distortion_ranges"] = list(self.distortion_ranges)
        return d

    @property
    def ranges(self):
        """distortion_ranges as a distortions.Ranges."""
        from lecun98.distortions import Ranges

        return Ranges(*self.distortion_ranges)
