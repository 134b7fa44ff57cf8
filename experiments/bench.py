"""make bench: the speed of every compiled path -> results/bench.json (README's speed table).

- faithful SDLM training, exactly as train.py runs a pass: the Hessian estimate on 500
  patterns, then one compiled per-pattern pass over all 60,000 training images; 1 thread;
  float64 (the reference arithmetic) and float32.
- evaluation of the 10,000 test images, 1 and 2 threads (best of 3).
- modern mini-batch training (config.MODERN: ReLU, max-pooling, full C3, softmax, Adam): an
  epoch over the 60,000 images (minibatch.train_epoch, best of 3), batch 64 and 256, 1 and 2
  threads (slices of each batch), float32, each in its own process.
- start-up: `python -m lecun98 train` on one pattern (one Hessian pattern, one training step,
  one validation image), with a warm Numba cache: the whole command's wall time, an upper
  bound on the time from the command to its first training step.

Run it on an idle machine: other processes on the same cores lower every figure. Each
measurement carries the issue's target where there is one.
Usage: make bench (python experiments/bench.py, no arguments).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lecun98 import data, model, runinfo
from lecun98.config import Config
from lecun98.errors import run_script
from lecun98.network import make_arch, new_workspace
from lecun98.sdlm import estimate_hessian, step_sizes, train_pass

OUT = Path("results/bench.json")
MODERN_SCRIPT = """
import json, sys, time
import numpy as np
from lecun98 import data, minibatch, model, network
from lecun98.config import MODERN, Config
batch, threads = int(sys.argv[1]), int(sys.argv[2])
config = Config().replace(**{**MODERN, "batch": batch, "threads": threads, "dtype": "float32"})
raw, labels = data.load_mnist_raw("train")
lo, hi = data.input_levels(config.input, raw)  # as train.Datasets
images = data.normalise(raw, dtype=np.float32, background=lo, foreground=hi)
labels = labels.astype(np.int64)
rng = np.random.default_rng(0)
params = model.init_params(config, rng).astype(np.float32)
adam = {"m": np.zeros_like(params), "v": np.zeros_like(params), "step": 0}
order = rng.permutation(len(labels))
arch = network.make_arch(config)
minibatch.train_epoch(params.copy(), dict(adam, m=adam["m"].copy(), v=adam["v"].copy()), images,
                      labels, order[:2 * batch], batch, 1e-3, arch, threads)  # compile or load
best = float("inf")
for _ in range(3):  # best of 3 epochs
    t0 = time.perf_counter()
    minibatch.train_epoch(params, adam, images, labels, order, batch, 1e-3, arch, threads)
    best = min(best, time.perf_counter() - t0)
print(json.dumps(len(order) / best))
"""


def faithful(dtype: str) -> list[dict]:
    config = Config(dtype=dtype)
    raw, labels = data.load_mnist_raw("train")
    images, labels = data.normalise(raw, dtype=dtype), labels.astype(np.int64)
    test_images = data.normalise(data.load_mnist_raw("test")[0], dtype=dtype)
    rng = np.random.default_rng(0)
    params = model.init_params(config, rng).astype(dtype)
    order = rng.permutation(len(labels))
    arch, ws = make_arch(config), new_workspace(np.dtype(dtype).type, params.size)
    h, eps = np.empty(params.size, dtype), np.empty(params.size, dtype)
    sample = rng.choice(len(labels), config.hessian_patterns, replace=False)

    # compile (or load from the cache) outside the timings
    estimate_hessian(params, images, sample[:2], arch, ws, h)
    step_sizes(h, config.eta[0], config.mu, eps)
    train_pass(params.copy(), eps, images, labels, order[:2], arch, ws, np.zeros(4))
    model.predict(params, test_images[:10], config, 1)

    t0 = time.perf_counter()
    estimate_hessian(params, images, sample, arch, ws, h)
    step_sizes(h, config.eta[0], config.mu, eps)
    t_hessian = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_pass(params, eps, images, labels, order, arch, ws, np.zeros(4))
    t_pass = time.perf_counter() - t0
    training = len(order) / (t_hessian + t_pass)
    out = [
        dict(name=f"faithful SDLM training, {dtype}, 1 thread (Hessian estimate included)",
             value=training, unit="patterns/s", target=10_000 if dtype == "float32" else None,
             value_text=f"{training:,.0f} patterns/s (a pass in {t_hessian + t_pass:.1f} s)"),
        dict(name=f"Hessian estimate on 500 patterns, {dtype}", value=t_hessian, unit="s",
             target=None, value_text=f"{t_hessian:.3f} s"),
    ]
    for threads in (1, 2):
        best = min(_timed(lambda: model.predict(params, test_images, config, threads))
                   for _ in range(3))
        out.append(dict(
            name=f"evaluation of the 10,000 test images, {dtype}, {threads} "
                 f"thread{'s' * (threads > 1)}",
            value=best, unit="s", target=0.25 if threads == 2 else None,
            value_text=f"{best:.3f} s ({len(test_images) / best:,.0f} images/s)"))
    return out


def modern_training() -> list[dict]:
    out = []
    for batch in (64, 256):
        for threads in (1, 2):
            done = subprocess.run([sys.executable, "-c", MODERN_SCRIPT, str(batch), str(threads)],
                                  capture_output=True, text=True, check=True)
            rate = json.loads(done.stdout.strip().splitlines()[-1])
            target = {(256, 1): 11_500, (256, 2): 18_000}.get((batch, threads))
            out.append(dict(
                name=f"modern mini-batch training (Adam), float32, batch {batch}, {threads} "
                     f"thread{'s' * (threads > 1)}",
                value=rate, unit="samples/s", target=target,
                value_text=f"{rate:,.0f} samples/s (an epoch in {60_000 / rate:.1f} s)"))
    return out


def start_up() -> dict:
    config = Config.from_dict(dict(passes=1, train_size=1, hessian_patterns=1, validation=1,
                                   evaluate_train=False, threads=1))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(json.dumps(config.to_dict()))
        command = [sys.executable, "-m", "lecun98", "train", "--config", f"{tmp}/config.json"]
        subprocess.run(command + ["--run-dir", f"{tmp}/warm"], check=True, capture_output=True)
        times = []
        for k in range(3):
            t0 = time.perf_counter()
            subprocess.run(command + ["--run-dir", f"{tmp}/run{k}"], check=True,
                           capture_output=True)
            times.append(time.perf_counter() - t0)
    best = min(times)
    return dict(name="start-up with a warm Numba cache: `python -m lecun98 train` on one "
                     "pattern, whole command", value=best, unit="s", target=3.0,
                value_text=f"{best:.2f} s")


def main() -> None:
    measurements = faithful("float64") + faithful("float32") + modern_training() + [start_up()]
    for m in measurements:
        if m["target"] is not None:
            smaller_is_better = m["unit"] == "s"
            m["meets_target"] = bool(m["value"] <= m["target"] if smaller_is_better
                                     else m["value"] >= m["target"])
    result = {"env": runinfo.environment(), "load_average": os.getloadavg(),
              "measurements": measurements}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    for m in measurements:
        mark = "" if m["target"] is None else f"   (target {m['target']:,}: " + (
            "met)" if m["meets_target"] else "NOT met)")
        print(f"{m['name']}: {m['value_text']}{mark}")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(run_script(main, interrupted="interrupted", usage=__doc__))
