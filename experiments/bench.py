"""make bench: throughput of the faithful training pass and of evaluation -> results/bench.json.

Training is measured exactly as train.py runs a pass: the Hessian estimate on 500 patterns,
then one compiled per-pattern SDLM pass over all 60,000 training images, on one thread.
Evaluation is the 10,000 test images with 1 and 2 threads (best of 3). Run it on an idle
machine: other processes on the same cores lower every figure.
"""

import json
import os
import time
from pathlib import Path

import numpy as np

from lecun98 import data, model, runinfo
from lecun98 import layout as L
from lecun98.config import Config
from lecun98.kernels.rbf import MAP
from lecun98.network import new_workspace
from lecun98.sdlm import estimate_hessian, step_sizes, train_pass

OUT = Path("results/bench.json")


def main() -> None:
    config = Config()
    images, labels = data.load_mnist("train")
    test_images, _ = data.load_mnist("test")
    rng = np.random.default_rng(0)
    params = model.init_params(config, rng)
    order = rng.permutation(len(labels))
    ws = new_workspace()
    h, eps = np.empty(L.N_PARAMS), np.empty(L.N_PARAMS)
    sample = rng.choice(len(labels), config.hessian_patterns, replace=False)

    # compile (or load from the cache) outside the timings
    estimate_hessian(params, images, sample[:2], config.scale, config.output_d2, ws, h)
    step_sizes(h, config.eta[0], config.mu, eps)
    train_pass(params.copy(), eps, images, labels, order[:2], config.scale, MAP, config.j, ws,
               np.zeros(4))
    model.predict(params, test_images[:10], config.scale, 1)

    t0 = time.perf_counter()
    estimate_hessian(params, images, sample, config.scale, config.output_d2, ws, h)
    step_sizes(h, config.eta[0], config.mu, eps)
    t_hessian = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_pass(params, eps, images, labels, order, config.scale, MAP, config.j, ws, np.zeros(4))
    t_pass = time.perf_counter() - t0
    training = len(order) / (t_hessian + t_pass)

    measurements = [
        dict(name="faithful SDLM training, 1 thread (Hessian estimate included)",
             value=training, unit="patterns/s",
             value_text=f"{training:,.0f} patterns/s (a pass of 60,000 in {t_hessian + t_pass:.1f} s)"),
        dict(name="Hessian estimate on 500 patterns", value=t_hessian, unit="s",
             value_text=f"{t_hessian:.3f} s"),
    ]
    for threads in (1, 2):
        best = min(_timed(lambda: model.predict(params, test_images, config.scale, threads))
                   for _ in range(3))
        measurements.append(dict(
            name=f"evaluation of the 10,000 test images, {threads} thread{'s' * (threads > 1)}",
            value=len(test_images) / best, unit="images/s",
            value_text=f"{len(test_images) / best:,.0f} images/s ({best:.2f} s)"))

    result = {"env": runinfo.environment(), "load_average": os.getloadavg(),
              "measurements": measurements}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for m in measurements:
        print(f"{m['name']}: {m['value_text']}")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
