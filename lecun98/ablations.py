"""One-factor ablations: each variant changes one component of a baseline LeNet-5 and nothing else.

Ablations are data: a Family groups the variants of one factor (e.g. the activation function)
that start from the same baseline, "1998" (the faithful network) or "modern" (the tutorials'),
given as Config objects. Every baseline and every variant trains once per seed into
<root>/<run name>/, whose finished form holds config.json, summary.json, metrics.csv and
predictions.npy (the predicted class of each test image, (10000,) int64). From those files:

    collect       one row per baseline and per variant: test error mean ± sd over seeds, the
                  difference from the baseline, an exact McNemar test pooled over the
                  seed-matched pairs, Holm-corrected over all variants
    write_table   table.csv;  readme_text  results/ablations/README.md;  summary_block  the
                  project README's block;  plot_ablations / plot_curves  the figures
    read_table    the rows back from table.csv: `python -m lecun98.ablations` rewrites the
                  texts and ablations.png from it without the run directories

Usage: python -m lecun98.ablations (no arguments; make ablations trains and writes everything).

A seed whose test error ends over FAILED_PCT did not train (chance is 90%): the texts say how
many seeds of a row did, since a mean ± sd over such seeds describes no network.
"""

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lecun98 import paper, train
from lecun98.config import MODERN, Config
from lecun98.errors import Lecun98Error
from lecun98.runner import run_many
from lecun98.stats import holm, mean_sd, pooled_mcnemar
from lecun98.train import read_metrics

COMMAND = "make ablations"
ALPHA = 0.05  # a variant is marked when its Holm-adjusted p is below this
FAILED_PCT = 50.0  # a seed over this test error did not train (ten classes: chance is 90%)
# table.csv's text columns; every other column is a number, a flag or empty (None)
TEXT_COLUMNS = ("kind", "baseline", "family", "title", "variant", "changes")


@dataclass(frozen=True)
class Variant:
    name: str  # row label, e.g. "ReLU"
    # the Config keys changed from the family's baseline, as (key, value) pairs so the
    # dataclass stays hashable; a dict is accepted and stored as its items, in order
    changes: tuple[tuple[str, object], ...]

    def __post_init__(self):
        items = self.changes.items() if isinstance(self.changes, dict) else self.changes
        changes = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in items)
        keys = [k for k, _ in changes]
        if not self.name.strip():
            raise Lecun98Error("a variant needs a name")
        if not changes:
            raise Lecun98Error(f"variant {self.name!r} changes nothing")
        if "seed" in keys:
            raise Lecun98Error(f"variant {self.name!r} changes the seed, which every run sets")
        if len(set(keys)) != len(keys):
            raise Lecun98Error(f"variant {self.name!r} changes a key twice: {keys}")
        object.__setattr__(self, "changes", changes)

    def changes_dict(self) -> dict:
        return dict(self.changes)

    def changes_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.changes)


@dataclass(frozen=True)
class Family:
    name: str  # e.g. "activation"; part of the run names
    title: str  # e.g. "Activation function"; the tables' factor column
    baseline: str  # a key of the baselines: "1998" or "modern"
    variants: tuple[Variant, ...]

    def __post_init__(self):
        object.__setattr__(self, "variants", tuple(self.variants))
        names = [v.name for v in self.variants]
        if not self.name.strip():
            raise Lecun98Error("a family needs a name")
        if not names:
            raise Lecun98Error(f"family {self.name!r} has no variants")
        if len(set(names)) != len(names):
            raise Lecun98Error(f"family {self.name!r} names a variant twice: {names}")


# --- Runs ---------------------------------------------------------------------------------------

def _safe(text: str) -> str:
    """Lower case, blanks -> '_', anything but [a-z0-9._=+-] (e.g. '/') -> '_'."""
    text = re.sub(r"\s+", "_", text.strip().lower())
    return re.sub(r"[^a-z0-9._=+-]", "_", text)


def run_name(what: str | tuple[Family, Variant], seed: int) -> str:
    """Directory name of one run: `what` is a baseline ("1998") or a (family, variant) pair."""
    if isinstance(what, str):
        label = f"{what}-baseline"
    else:
        family, variant = what
        label = f"{family.name}={variant.name}"
    return f"{_safe(label)}-seed={seed}"


def _check(families, baselines: dict[str, Config], seeds) -> tuple[tuple, tuple]:
    families, seeds = tuple(families), tuple(seeds)
    if not baselines or not all(isinstance(c, Config) for c in baselines.values()):
        raise Lecun98Error("baselines must map names such as '1998' to Config objects")
    if len({f.name for f in families}) != len(families):
        raise Lecun98Error(f"two families share a name: {[f.name for f in families]}")
    for f in families:
        if f.baseline not in baselines:
            raise Lecun98Error(f"family {f.name!r} starts from baseline {f.baseline!r}, "
                               f"not one of {list(baselines)}")
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                            for s in seeds):
        raise Lecun98Error(f"seeds must be one or more integers, got {seeds}")
    if len(set(seeds)) != len(seeds):
        raise Lecun98Error(f"a seed is listed twice: {seeds}")
    return families, tuple(int(s) for s in seeds)


def variant_config(family: Family, variant: Variant, baselines: dict[str, Config],
                   seed: int) -> Config:
    """The family's baseline with the variant's changes and the seed."""
    base = baselines[family.baseline].replace(seed=seed)
    try:
        config = base.replace(**variant.changes_dict())
    except Lecun98Error as e:
        raise Lecun98Error(f"{family.name}={variant.name}: {e}") from None
    if config == base:
        raise Lecun98Error(f"{family.name}={variant.name}: {variant.changes_text()} is already "
                           f"the {family.baseline} baseline's value")
    return config


def all_runs(families, baselines: dict[str, Config], seeds) -> dict[str, Config]:
    """Every run, by directory name: each baseline and each variant for each seed.

    Seed by seed, so that an interrupted sweep holds whole seeds. A name asked for twice must
    mean the same config (it is then one run).
    """
    families, seeds = _check(families, baselines, seeds)
    runs = {}

    def add(name: str, config: Config) -> None:
        if name in runs and runs[name] != config:
            raise Lecun98Error(f"two different runs are both named {name}: rename a variant")
        runs[name] = config

    for s in seeds:
        for b, config in baselines.items():
            add(run_name(b, s), config.replace(seed=s))
        for f in families:
            for v in f.variants:
                add(run_name((f, v), s), variant_config(f, v, baselines, s))
    return runs


def run(families, baselines: dict[str, Config], seeds, root: str | os.PathLike,
        jobs: int = 2) -> dict[str, dict]:
    """Train every run not yet finished in root (resuming interrupted ones); their summaries."""
    return run_many(all_runs(families, baselines, seeds), root, jobs=jobs)


# --- Results ------------------------------------------------------------------------------------

def _load(run_dir: Path, config: Config, labels: np.ndarray) -> tuple[dict, np.ndarray]:
    """summary.json and predictions.npy of a finished run, checked against its config."""
    if Config.from_file(run_dir / "config.json") != config:
        raise Lecun98Error(f"{run_dir} was trained with another configuration than the "
                           f"ablation defines: delete it and run `{COMMAND}`")
    summary = json.loads((run_dir / "summary.json").read_text())
    if "test_error_pct" not in summary:
        raise Lecun98Error(f"{run_dir}/summary.json has no test_error_pct (a validation run?)")
    pred = np.load(run_dir / "predictions.npy", allow_pickle=False)
    if pred.shape != labels.shape or not np.issubdtype(pred.dtype, np.integer):
        raise Lecun98Error(f"{run_dir}/predictions.npy holds {pred.dtype} {pred.shape}, "
                           f"expected integer classes of shape {labels.shape}")
    # the predictions must be the summary's network: agree to within half an image
    error = 100 * np.mean(pred != labels)
    if abs(error - summary["test_error_pct"]) > 50 / len(labels):
        raise Lecun98Error(f"{run_dir}: predictions.npy gives {error:.2f}% test error but "
                           f"summary.json says {summary['test_error_pct']:.2f}%")
    return summary, pred


def _row(kind: str, baseline: str, family: str, title: str, variant: str, changes: str,
         seeds: tuple, loaded: list[tuple[dict, np.ndarray]]) -> dict:
    errors = [s["test_error_pct"] for s, _ in loaded]
    mean, sd = mean_sd(errors)
    return {
        "kind": kind, "baseline": baseline, "family": family, "title": title,
        "variant": variant, "changes": changes, "seeds": len(seeds),
        "test_error_mean": mean, "test_error_sd": sd,
        **{f"test_error_seed={s}": e for s, e in zip(seeds, errors)},
        # variant rows only: mean difference in points, McNemar counts (pooled over seeds)
        "delta_vs_baseline": None, "variant_only_right": None, "baseline_only_right": None,
        "p": None, "p_holm": None, "significant": None,
        "train_minutes_mean": float(np.mean([s["train_seconds"] for s, _ in loaded])) / 60,
    }


def collect(families, baselines: dict[str, Config], seeds, root: str | os.PathLike,
            labels) -> list[dict]:
    """Rows for every baseline followed by its families' variants (see _row for the keys).

    labels: (n,) the test labels. The variant's seed s is paired with its baseline's seed s.
    """
    families, seeds = _check(families, baselines, seeds)
    root, labels = Path(root), np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise Lecun98Error(f"labels must be 1-D integer classes, got {labels.dtype} "
                           f"{labels.shape}")
    runs = all_runs(families, baselines, seeds)
    missing = [n for n in runs if not ((root / n / "summary.json").exists()
                                       and (root / n / "predictions.npy").exists())]
    if missing:
        raise Lecun98Error(f"{len(missing)} of {len(runs)} ablation runs are missing or "
                           f"unfinished, e.g. {root / missing[0]}: run `{COMMAND}`")
    loaded = {n: _load(root / n, c, labels) for n, c in runs.items()}

    rows = []
    for b in baselines:
        base = [loaded[run_name(b, s)] for s in seeds]
        base_row = _row("baseline", b, "", "baseline", f"{b} LeNet-5", "", seeds, base)
        rows.append(base_row)
        for f in (f for f in families if f.baseline == b):
            for v in f.variants:
                mine = [loaded[run_name((f, v), s)] for s in seeds]
                row = _row("variant", b, f.name, f.title, v.name, v.changes_text(), seeds, mine)
                test = pooled_mcnemar([(p, q) for (_, p), (_, q) in zip(mine, base)], labels)
                row.update(delta_vs_baseline=row["test_error_mean"] - base_row["test_error_mean"],
                           variant_only_right=test.a_only, baseline_only_right=test.b_only,
                           p=test.p)
                rows.append(row)
    variants = [r for r in rows if r["kind"] == "variant"]
    for r, p in zip(variants, holm([r["p"] for r in variants])):
        r["p_holm"], r["significant"] = float(p), bool(p < ALPHA)
    return rows


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_table(rows: list[dict], path: str | os.PathLike) -> Path:
    """table.csv: one line per row, every key a column, floats to 4 significant digits."""
    return train.write_table(path, [{k: _cell(v) for k, v in r.items()} for r in rows])


def _value(text: str):
    if text in ("True", "False"):
        return text == "True"
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_table(path: str | os.PathLike) -> list[dict]:
    """The rows of a table.csv written by write_table (numbers as written: 4 digits)."""
    def bad(why: str) -> Lecun98Error:
        return Lecun98Error(f"{path}: not an ablation table ({why}): run `{COMMAND}`")

    try:
        with Path(path).open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise bad(str(e)) from None
    if not rows or not {"kind", "test_error_seed=0"} <= rows[0].keys():
        raise bad("no rows, or no kind and per-seed columns")
    if any(None in r or None in r.values() for r in rows):
        raise bad("a row with too few or too many cells")
    try:
        return [{k: v if k in TEXT_COLUMNS else _value(v) for k, v in r.items()} for r in rows]
    except ValueError as e:
        raise bad(str(e)) from None


# --- Text -----------------------------------------------------------------------------------

def _seeds(rows: list[dict]) -> list[str]:
    return [k.split("=", 1)[1] for k in rows[0] if k.startswith("test_error_seed=")]


def _seed_errors(r: dict) -> list[float]:
    return [v for k, v in r.items() if k.startswith("test_error_seed=")]


def _failed(r: dict) -> int:
    return sum(v > FAILED_PCT for v in _seed_errors(r))


def _error_text(r: dict) -> str:
    sd = "" if math.isnan(r["test_error_sd"]) else f" ± {r['test_error_sd']:.2f}"
    seeds = ", ".join(f"{v:.2f}" for v in _seed_errors(r))
    failed = f"; seeds {seeds}: {_failed(r)} did not train" if _failed(r) else ""
    return f"{r['test_error_mean']:.2f}{sd} (n={r['seeds']}{failed})"


def _failed_note(rows: list[dict]) -> str:
    if not any(_failed(r) for r in rows):
        return ""
    return (f" \"did not train\": a seed ended over {FAILED_PCT:g}% test error (chance is "
            "90%): the row gives each seed, as its mean ± sd describes no network.")


def _p_text(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _table(header: list[str], lines: list[list]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in line) + " |" for line in lines]
    return "\n".join(out)


def readme_text(rows: list[dict], command: str = COMMAND,
                figures: tuple[str, ...] = ("ablations.png", "curves.png")) -> str:
    """results/ablations/README.md: the method, one table per baseline, the figures."""
    variants = [r for r in rows if r["kind"] == "variant"]
    seeds = _seeds(rows)
    parts = [
        "# Ablations: one factor at a time",
        "",
        f"Generated by `{command}` from the run directories; `table.csv` holds every number. "
        "Each variant changes one factor of a baseline LeNet-5 (the keys in backticks) and "
        f"trains with the same seeds as its baseline ({', '.join(seeds)}). Test error: after "
        "the last pass, mean ± sample standard deviation over the seeds, in %; Δ: variant "
        "mean minus baseline mean, in points. p: exact two-sided McNemar test of the variant "
        "against its baseline, the discordant test images summed over the seed-matched pairs "
        "(seed s against seed s), so it compares these trained networks on these images while "
        f"± gives the spread over seeds; Holm-corrected over all {len(variants)} variants. "
        f"`*`: p (Holm) < {ALPHA}." + _failed_note(rows),
    ]
    for b in dict.fromkeys(r["baseline"] for r in rows):
        lines = []
        for r in (r for r in rows if r["baseline"] == b):
            if r["kind"] == "baseline":
                lines.append(["baseline", f"**{r['variant']}**", _error_text(r), "", "", ""])
            else:
                lines.append([r["title"], f"{r['variant']} (`{r['changes']}`)", _error_text(r),
                              f"{r['delta_vs_baseline']:+.2f}", _p_text(r["p_holm"]),
                              "*" if r["significant"] else ""])
        parts += ["", f"## Starting from the {b} LeNet-5", "",
                  _table(["factor", "variant", "test error % (mean ± sd, n)",
                          "Δ vs baseline (points)", "p (Holm)", "mark"], lines)]
    for fig in figures:
        parts += ["", f"![{Path(fig).stem}]({fig})"]
    parts += ["", f"Regenerate with `{command}`: it trains only the runs not yet finished."]
    return "\n".join(parts) + "\n"


def summary_block(rows: list[dict], command: str = COMMAND,
                  details: str = "results/ablations/README.md") -> str:
    """The project README's compact table: one line per baseline and per variant."""
    lines = []
    for r in rows:
        if r["kind"] == "baseline":
            lines.append([r["baseline"], "baseline", f"**{r['variant']}**", _error_text(r), "",
                          ""])
        else:
            lines.append([r["baseline"], r["title"], r["variant"], _error_text(r),
                          f"{r['delta_vs_baseline']:+.2f}", "*" if r["significant"] else ""])
    return (f"Generated by `{command}`: test error %, mean ± sd over seeds; Δ in points from "
            f"the baseline; `*` McNemar p (Holm) < {ALPHA}.{_failed_note(rows)} Details: "
            f"[{details}]({details}).\n\n"
            + _table(["from", "factor", "variant", "test error %", "Δ", ""], lines))


# --- Figures --------------------------------------------------------------------------------

def _log_ticks(lo: float, hi: float) -> list[float]:
    """Round ticks from the one at or below lo to the one at or above hi (1-2-5, or finer
    when the range spans less than a decade)."""
    steps = (1, 2, 5) if hi > 10 * lo else (1, 1.5, 2, 3, 5, 7)
    ticks = [round(m * 10.0**e, 6) for e in range(-4, 3) for m in steps]
    below = [t for t in ticks if t <= lo] or ticks[:1]
    above = [t for t in ticks if t >= hi] or ticks[-1:]
    return [t for t in ticks if below[-1] <= t <= above[0]]


def _log_axis(axis, values) -> None:
    import matplotlib.ticker

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    axis.set_ticks(_log_ticks(v.min(), v.max()))
    axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def plot_ablations(rows: list[dict], path: str | os.PathLike) -> Path:
    """ablations.png: each row's mean ± sd (dots: single seeds), one panel per baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = [f"test_error_seed={s}" for s in _seeds(rows)]
    groups = {b: [r for r in rows if r["baseline"] == b]
              for b in dict.fromkeys(r["baseline"] for r in rows)}
    fig, axes = plt.subplots(len(groups), 1, sharex=True, squeeze=False, dpi=120,
                             figsize=(8, 1.4 * len(groups) + 0.3 * len(rows)),
                             height_ratios=[len(g) + 1 for g in groups.values()])
    for ax, (b, group) in zip(axes[:, 0], groups.items()):
        y = np.arange(len(group))[::-1]  # first row on top
        base = next(r for r in group if r["kind"] == "baseline")
        m, sd = base["test_error_mean"], base["test_error_sd"]
        ax.axvline(m, color="k", ls="--", lw=1)
        if math.isfinite(sd):
            ax.axvspan(m - sd, m + sd, color="0.9", zorder=0)
        for yi, r, prev in zip(y, group, [None] + group[:-1]):
            if prev is not None and r["family"] != prev["family"]:
                ax.axhline(yi + 0.5, color="0.75", lw=0.7)  # between two families
            colour = "k" if r["kind"] == "baseline" else "C3" if r["significant"] else "C0"
            sd = r["test_error_sd"] if math.isfinite(r["test_error_sd"]) else 0.0
            if _failed(r):  # no mean ± sd over seeds that did not train: the seeds alone
                ax.plot([r[k] for k in seeds], [yi] * len(seeds), "x", color=colour, ms=6)
                ax.annotate(f"{_failed(r)} of {len(seeds)} seeds did not train", (1, yi),
                            xycoords=("axes fraction", "data"), xytext=(-4, 6),
                            textcoords="offset points", ha="right", fontsize=7, color=colour)
                continue
            ax.errorbar(r["test_error_mean"], yi, xerr=sd, fmt="o", color=colour, capsize=3)
            ax.plot([r[k] for k in seeds], [yi] * len(seeds), ".", color=colour, alpha=0.45,
                    ms=5)
            if r["significant"]:
                ax.annotate("*", (r["test_error_mean"] + sd, yi), xytext=(5, -3),
                            textcoords="offset points", color=colour, fontsize=13)
        ax.set_yticks(y, [f"{r['title']}: {r['variant']}" for r in group], fontsize=8)
        ax.set_ylim(-0.7, len(group) - 0.3)
        ax.set_title(f"Starting from the {b} LeNet-5", loc="left", fontsize=10)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    ax = axes[-1, 0]
    ax.set_xscale("log")
    _log_axis(ax.xaxis, [r[k] for r in rows for k in seeds])
    ax.set_xlabel(f"test error (%) after the last pass: mean ± sd over {len(seeds)} seeds, "
                  "dots: single seeds\ndashed line and band: baseline mean ± sd; red *: "
                  f"McNemar p (Holm) < {ALPHA} against the baseline\nx: the seeds of a row "
                  f"where some seed ended over {FAILED_PCT:g}% (did not train)", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_curves(runs: dict[str, list[Path]], path: str | os.PathLike) -> Path:
    """curves.png: test and training error per pass, mean over each label's run dirs (thin
    lines: single runs), over the paper's Fig. 5 points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    x_paper = np.arange(1, len(paper.FIG5_TEST_PCT) + 1)
    ax.plot(x_paper, paper.FIG5_TEST_PCT, "o", mfc="none", color="0.3", label="paper: test")
    ax.plot(x_paper, paper.FIG5_TRAIN_PCT, "s", mfc="none", color="0.3",
            label="paper: training (on the fly)")
    shown = [paper.FIG5_TEST_PCT, paper.FIG5_TRAIN_PCT]
    for i, (label, dirs) in enumerate(runs.items()):
        tables = [read_metrics(d) for d in dirs]
        if not tables or len({len(t) for t in tables}) != 1:
            raise Lecun98Error(f"{label}: expected run dirs with the same number of passes, got "
                               f"{[len(t) for t in tables]}")
        passes = [r["pass"] for r in tables[0]]
        # whole-set training error where every run measured it, else the on-the-fly one
        whole = all(math.isfinite(r["train_error_pct"]) for t in tables for r in t)
        key, how = (("train_error_pct", "after each pass") if whole
                    else ("train_error_on_the_fly_pct", "on the fly"))
        test = np.array([[r["eval_error_pct"] for r in t] for t in tables])  # (runs, passes)
        train = np.array([[r[key] for r in t] for t in tables])
        for style, curves, what in (("-", test, "test"), ("--", train, f"training ({how})")):
            for c in curves:
                ax.plot(passes, c, style, color=f"C{i}", lw=0.8, alpha=0.3)
            ax.plot(passes, curves.mean(axis=0), style, color=f"C{i}", lw=2,
                    label=f"{label}: {what}, mean of {len(curves)}")
        shown += [test, train]
    ax.set_yscale("log", nonpositive="mask")
    _log_axis(ax.yaxis, np.concatenate([np.ravel(v) for v in shown]))
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("training pass")
    ax.set_ylabel("error rate (%)")
    ax.set_title("Error per pass over seeds (cf. Fig. 5 of LeCun et al. 1998)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


# --- The project's sweep --------------------------------------------------------------------------
SEEDS = (0, 1, 2)
ROOT = Path("runs/ablations")


def baselines() -> dict[str, Config]:
    """The two starting points: config.py's 1998 defaults and config.MODERN, both in float32 (the
    fast path; README "seeds" compares it with float64), one thread a run (two runs at a time),
    without the whole-training-set evaluation after each pass (curves use the on-the-fly error)."""
    common = dict(dtype="float32", threads=1, evaluate_train=False)
    return {"1998": Config().replace(**common), "modern": Config().replace(**MODERN, **common)}


def main(families, seeds=SEEDS, root: str | os.PathLike = ROOT, out: Path | None = None,
         jobs: int = 2) -> list[dict]:
    """Train what is missing (two runs at a time), print the rows; with `out`, write table.csv,
    README.md, ablations.png, curves.png and summary.md (the project README's block) there."""
    from lecun98 import data

    base = baselines()
    run(families, base, seeds, root, jobs)
    labels = data.load_mnist_raw("test")[1].astype(np.int64)
    rows = collect(families, base, seeds, root, labels)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_table(rows, out / "table.csv")
        plot_curves({f"{b} LeNet-5": [Path(root) / run_name(b, s) for s in seeds] for b in base},
                    out / "curves.png")
        write_texts(rows, out)
    print(summary_block(rows))
    return rows


def write_texts(rows: list[dict], out: Path) -> None:
    """README.md, ablations.png and summary.md (the project README's block) into out."""
    (out / "README.md").write_text(readme_text(rows))
    plot_ablations(rows, out / "ablations.png")
    (out / "summary.md").write_text(summary_block(rows) + "\n")


if __name__ == "__main__":  # the texts and ablations.png again, from results/ablations/table.csv
    import sys

    from lecun98.errors import run_script
    from lecun98.runinfo import REPO

    out = REPO / "results" / "ablations"
    sys.exit(run_script(lambda: write_texts(read_table(out / "table.csv"), out),
                        interrupted="interrupted", usage=__doc__))
