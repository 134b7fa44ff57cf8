"""Training as Section III-B describes it: 20 passes of per-pattern SDLM in a fixed random order
(or plain SGD the same way, or, the modern recipe, Adam on shuffled mini-batches: Config.optimiser).

The schedule is Python; each SDLM / SGD pass is one compiled call (sdlm.train_pass) run in a
worker thread while this thread draws its progress bar; an Adam epoch is one compiled call per
mini-batch (minibatch.py).

With Config.distortions > 0 (Section III-C) the training set is a pool of the originals and
their distorted copies (distortions.pool, uint8, built once from the run's seed); each pass
presents train_size patterns drawn from it afresh (Datasets.for_pass), and the pass's Hessian
sample comes from those patterns. A run directory holds:

    config.json     the Config
    env.json        versions, CPU, git commit
    metrics.csv     one row per pass (written as each pass ends)
    state.npz       parameters (and Adam's moments) after the last finished pass (resume point;
                    removed at the end)
    checkpoint.npz  final parameters, in the documented checkpoint format
    predictions.npy the class given to each evaluation image (int64), after the last pass
    summary.json    written last: its presence means the run is complete

An interrupted run continues from its last finished pass when started again with the same
configuration; a finished run is left alone.
"""

import csv
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lecun98 import checkpoint, data, distortions, minibatch, model, runinfo
from lecun98.config import Config
from lecun98.errors import Lecun98Error
from lecun98.layout import Layout
from lecun98.network import make_arch, new_workspace
from lecun98.sdlm import DONE, ERRORS, LOSS_SUM, STOP, estimate_hessian, step_sizes, train_pass

METRICS = (
    "pass",
    "eta",
    "train_error_on_the_fly_pct",
    "train_error_pct",
    "eval_error_pct",
    "mean_loss",
    "step_min",
    "step_max",
    "seconds_train",
    "seconds_total",
)


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def write_table(path: str | os.PathLike, rows: list[dict], columns=None) -> Path:
    """rows as a CSV file with a header line: the given columns, or every key of the rows in
    the order first met (a missing one left empty); written to a temporary file and renamed, so
    a table is complete or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, restval="")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
    return path


class Datasets:
    """Training images and the evaluation set: the test set, or the held-out validation split."""

    def __init__(self, config: Config, data_dir=None):
        # the uint8 files, normalised only where used, straight into the run's dtype
        images, labels = data.load_mnist_raw("train", data_dir)
        labels = labels.astype(np.int64)
        if config.validation:
            train_idx, val_idx = data.train_validation_split(config.validation)
            eval_raw, self.eval_labels = images[val_idx], labels[val_idx]
            self.eval_name = "validation"
        else:
            train_idx = np.arange(len(images))
            eval_raw, eval_labels = data.load_mnist_raw("test", data_dir)
            self.eval_labels = eval_labels.astype(np.int64)
            self.eval_name = "test"
        train_idx = train_idx[: config.train_size]
        self.levels = data.input_levels(config.input, images[train_idx])
        lo, hi = self.levels
        self.train_images = data.normalise(images[train_idx], dtype=config.dtype, background=lo,
                                           foreground=hi)
        self.eval_images = data.normalise(eval_raw, dtype=config.dtype, background=lo,
                                          foreground=hi)
        self.train_labels = labels[train_idx]
        self._raw = images[train_idx] if config.distortions else None
        self._pool = self._pool_labels = self._pass_images = None
        self._config = config

    def build_pool(self, seed: int) -> None:
        """Section III-C's pool: the originals and config.distortions copies of each (uint8)."""
        c = self._config
        self._pool = distortions.pool(self._raw, c.distortions, c.ranges, seed, progress=True)
        self._pool_labels = np.tile(self.train_labels, c.distortions + 1)
        self._raw = None

    def for_pass(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The images and labels one pass presents: the training images, or with distortions
        train_size patterns drawn from the pool, normalised afresh (replacing the last pass's)."""
        if self._pool is None:
            return self.train_images, self.train_labels
        # ASSUMPTION(distortion-draw): the paper says only that each pass presents 60,000
        # patterns of the 600,000; Config.distortion_draw says which.
        rng, n = np.random.default_rng(seed), len(self.train_labels)
        if self._config.distortion_draw == "pool":  # any n distinct patterns of the pool
            draw = np.sort(rng.choice(len(self._pool), n, replace=False))
        else:  # "per-image": one version (original or copy) of every image
            draw = rng.integers(0, self._config.distortions + 1, size=n) * n + np.arange(n)
        lo, hi = self.levels
        self._pass_images = data.normalise(self._pool[draw], dtype=self._config.dtype,
                                           background=lo, foreground=hi)
        return self._pass_images, self._pool_labels[draw]


def _run_pass(params, eps, images, labels, order, arch, ws, desc):
    """One compiled pass in a worker thread; this thread shows progress and handles Ctrl-C."""
    progress = np.zeros(4)
    args = (params, eps, images, labels, order, arch, ws, progress)
    worker = threading.Thread(target=train_pass, args=args, daemon=True)
    bar = tqdm(total=len(order), desc=desc, unit="pat", leave=False, dynamic_ncols=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.25)
            done = int(progress[DONE])
            bar.update(done - bar.n)
            if done:
                bar.set_postfix(err=f"{100 * progress[ERRORS] / done:.2f}%",
                                loss=f"{progress[LOSS_SUM] / done:.3f}", refresh=False)
    except KeyboardInterrupt:
        progress[STOP] = 1.0
        worker.join()
        raise
    finally:
        bar.close()
    return progress


def _run_epoch(params, adam, images, labels, order, config, arch, desc):
    """One epoch of Adam (minibatch.train_epoch) with a progress bar; Ctrl-C stops between
    batches (the epoch is then redone on resume)."""
    with tqdm(total=len(order), desc=desc, unit="pat", leave=False, dynamic_ncols=True) as bar:
        return minibatch.train_epoch(params, adam, images, labels, order,
                                     config.batch, config.lr, arch, config.threads, bar.update)


def train(config: Config, run_dir: str | os.PathLike, data_dir=None, quiet: bool = False) -> dict:
    """Train (or resume) into run_dir; return the summary."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file of that name, no permission...
        raise Lecun98Error(f"{run_dir}: cannot make the run directory ({e.strerror}); choose "
                           "another --run-dir") from None
    config_path = run_dir / "config.json"
    if config_path.exists():
        previous = Config.from_file(config_path)
        if previous != config:
            raise Lecun98Error(
                f"{run_dir} holds a run with a different configuration; choose another --run-dir"
            )
        if (run_dir / "summary.json").exists():
            return json.loads((run_dir / "summary.json").read_text())
    ds = Datasets(config, data_dir)  # first: a run that cannot load its data claims no directory
    write_json(config_path, config.to_dict())
    write_json(run_dir / "env.json", runinfo.environment())

    rng = np.random.default_rng(config.seed)
    params = model.init_params(config, rng).astype(config.dtype)
    # ASSUMPTION(order): one constant random order for every pass (Section III-B).
    order = rng.permutation(len(ds.train_labels))
    hessian_seeds = rng.integers(0, 2**63 - 1, size=config.passes)
    # Adam, as the tutorials' data loaders do: a fresh random order every epoch
    epoch_seeds = rng.integers(0, 2**63 - 1, size=config.passes)
    # drawn after the others, so a run without distortions keeps its bits
    pool_seed = int(rng.integers(0, 2**63 - 1))
    draw_seeds = rng.integers(0, 2**63 - 1, size=config.passes)

    n = Layout.of(config).n_params
    adam = {"m": np.zeros(n, config.dtype), "v": np.zeros(n, config.dtype), "step": 0}
    rows, first = _resume(run_dir, params, adam, config.passes)
    if config.distortions and first < config.passes:
        ds.build_pool(pool_seed)
    arch = make_arch(config)
    ws = new_workspace(np.dtype(config.dtype).type, n)
    h, eps = np.empty(n, config.dtype), np.empty(n, config.dtype)
    say = (lambda *a: None) if quiet else (lambda *a: tqdm.write(" ".join(map(str, a))))
    t_start = time.perf_counter() - sum(r["seconds_total"] for r in rows)
    eval_classes = None  # the evaluation set's classes after the last pass (predictions.npy)
    for p in range(first, config.passes):
        t0 = time.perf_counter()
        desc = f"pass {p + 1}/{config.passes}"
        images, labels = ds.for_pass(draw_seeds[p])
        if config.optimiser == "adam":
            epoch = np.random.default_rng(epoch_seeds[p]).permutation(len(labels))
            progress = _run_epoch(params, adam, images, labels, epoch, config, arch, desc)
            steps = (config.lr, config.lr)
        else:
            if config.optimiser == "sdlm":
                # ASSUMPTION(hessian-sample): a fresh random sample each pass; h_kk is its mean.
                sample = np.random.default_rng(hessian_seeds[p]).choice(
                    len(labels), size=config.hessian_patterns, replace=False
                )
                estimate_hessian(params, images, sample, arch, ws, h)
            else:  # sgd: SDLM's steps without the curvature, eta / mu for every parameter
                h[:] = 0.0
            step_sizes(h, config.eta[p], config.mu, eps)
            progress = _run_pass(params, eps, images, labels, order, arch, ws, desc)
            steps = (float(eps.min()), float(eps.max()))
        t_train = time.perf_counter() - t0
        if not np.isfinite(params).all():
            raise Lecun98Error(f"training diverged in pass {p + 1} (non-finite parameters)")
        eval_classes, _ = model.predict(params, ds.eval_images, config, config.threads)
        row = {
            "pass": p + 1,
            "eta": config.eta[p],
            "train_error_on_the_fly_pct": 100 * progress[ERRORS] / len(order),
            "train_error_pct": model.error_pct(params, ds.train_images, ds.train_labels,
                                               config, config.threads)
            if config.evaluate_train else float("nan"),
            "eval_error_pct": float(100.0 * np.mean(eval_classes != ds.eval_labels)),
            "mean_loss": progress[LOSS_SUM] / len(order),
            "step_min": steps[0],
            "step_max": steps[1],
            "seconds_train": t_train,
            "seconds_total": time.perf_counter() - t0,
        }
        rows.append(row)
        np.savez(run_dir / "state.tmp.npz", params=params, passes_done=p + 1, adam_m=adam["m"],
                 adam_v=adam["v"], adam_step=adam["step"])
        os.replace(run_dir / "state.tmp.npz", run_dir / "state.npz")
        _write_metrics(run_dir, rows)
        say(f"pass {p + 1:2d}  eta {config.eta[p]:.0e}  on-the-fly {row['train_error_on_the_fly_pct']:.2f}%"
            f"  train {row['train_error_pct']:.2f}%  {ds.eval_name} {row['eval_error_pct']:.2f}%"
            f"  {row['seconds_train']:.1f}s")

    checkpoint.save(run_dir / "checkpoint.npz", params, config, ds.levels)
    if eval_classes is None:  # every pass was done before this call (resumed at the end)
        eval_classes, _ = model.predict(params, ds.eval_images, config, config.threads)
    np.save(run_dir / "predictions.tmp.npy", eval_classes)
    os.replace(run_dir / "predictions.tmp.npy", run_dir / "predictions.npy")
    train_seconds = sum(r["seconds_train"] for r in rows)
    summary = {
        "eval_set": ds.eval_name,
        f"{ds.eval_name}_error_pct": rows[-1]["eval_error_pct"],
        "train_error_pct": rows[-1]["train_error_pct"],
        "train_error_on_the_fly_pct": rows[-1]["train_error_on_the_fly_pct"],
        "passes": config.passes,
        "seed": config.seed,
        "train_patterns": len(order),
        "train_seconds": train_seconds,
        "wall_seconds": time.perf_counter() - t_start,
        "patterns_per_second": config.passes * len(order) / train_seconds,
    }
    write_json(run_dir / "summary.json", summary)
    (run_dir / "state.npz").unlink(missing_ok=True)  # checkpoint.npz holds the same parameters
    return summary


def _resume(run_dir: Path, params: np.ndarray, adam: dict, passes: int) -> tuple[list[dict], int]:
    """Rows and the next pass of an interrupted run (params and Adam's state updated in place),
    or a fresh start (both left as they are)."""
    state, metrics = run_dir / "state.npz", run_dir / "metrics.csv"
    if not (state.exists() and metrics.exists()):
        return [], 0
    start_over = "delete it (or the run directory) to start over"
    try:
        with np.load(state, allow_pickle=False) as f:
            saved = {k: f[k] for k in ("params", "adam_m", "adam_v")}
            step, done = int(f["adam_step"]), int(f["passes_done"])
    except Exception as e:  # whatever a damaged file raises: BadZipFile, KeyError, ValueError...
        raise Lecun98Error(f"{state}: unreadable resume state ({type(e).__name__}); "
                           f"{start_over}") from None
    fits = all(a.shape == params.shape and a.dtype.kind == "f" for a in saved.values())
    if not (fits and 1 <= done <= passes):
        raise Lecun98Error(f"{state}: resume state does not fit this run's configuration "
                           f"({len(params)} parameters, {passes} passes); {start_over}")
    try:
        rows = read_metrics(run_dir)[:done]
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise Lecun98Error(f"{metrics}: unreadable ({type(e).__name__}); {start_over}") from None
    if len(rows) != done:
        return [], 0
    params[...] = saved["params"]
    adam["m"][...], adam["v"][...], adam["step"] = saved["adam_m"], saved["adam_v"], step
    tqdm.write(f"resuming {run_dir} after pass {done}")
    return rows, done


def read_metrics(run_dir: str | os.PathLike) -> list[dict]:
    """The rows of a run's metrics.csv: floats, with "pass" an int."""
    with (Path(run_dir) / "metrics.csv").open() as f:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
    for r in rows:
        r["pass"] = int(r["pass"])
    return rows


def _write_metrics(run_dir: Path, rows: list[dict]) -> None:
    write_table(run_dir / "metrics.csv",
                [{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()}
                 for r in rows], METRICS)
