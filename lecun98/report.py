"""Figures and README tables, regenerated from the files in results/ (never typed by hand).

    python -m lecun98.report        (make report)

README.md holds generated blocks between `<!-- BEGIN name -->` and `<!-- END name -->`; each is
rewritten from results/ here, with the command that regenerates its data beside it.
"""

import csv
import json
import math
import re
from pathlib import Path

import numpy as np

from lecun98 import data, paper
from lecun98.assumptions import ASSUMPTIONS
from lecun98.config import DISTORTION_OUTPUT_D2, Config
from lecun98.distortions import Ranges
from lecun98.runinfo import REPO
from lecun98.stats import mean_sd
from lecun98.train import read_metrics

RESULTS = REPO / "results"
README = REPO / "README.md"


def _csv_rows(path: Path) -> list[dict]:
    """The rows of a CSV table in results/, as dicts of strings."""
    with path.open() as f:
        return list(csv.DictReader(f))


def _finish(plt, fig, ax, out: Path) -> Path:
    """Grid, legend, save and close: the end of every plot here."""
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def fig5(run_dir: Path, out: Path | None = None) -> Path:
    """Our error per pass over the paper's digitised Fig. 5."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    passes = [r["pass"] for r in rows]
    config = Config.from_file(run_dir / "config.json") if (run_dir / "config.json").exists() \
        else Config()
    modern = config.optimiser == "adam"  # epochs of mini-batches, not the 1998 passes
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    x_paper = np.arange(1, len(paper.FIG5_TEST_PCT) + 1)
    paper_label = "paper's 1998 net" if modern else "paper"
    ax.plot(x_paper, paper.FIG5_TEST_PCT, "o", mfc="none", color="C0",
            label=f"{paper_label}: test")
    ax.plot(x_paper, paper.FIG5_TRAIN_PCT, "s", mfc="none", color="C1",
            label=f"{paper_label}: training (on the fly)")
    ax.plot(passes, [r["eval_error_pct"] for r in rows], "-", color="C0", lw=2, label="ours: test")
    ax.plot(passes, [r["train_error_on_the_fly_pct"] for r in rows], "-", color="C1", lw=2,
            label="ours: training, on the fly")
    if all(math.isfinite(r["train_error_pct"]) for r in rows):
        ax.plot(passes, [r["train_error_pct"] for r in rows], "--", color="C1", lw=1.3,
                label=f"ours: training, after the {'epoch' if modern else 'pass'}")
    ax.set_yscale("log")
    ax.set_yticks([0.1, 0.2, 0.5, 1, 2, 5])
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(range(0, 21, 2))
    ax.set_xlabel("epoch (Adam, mini-batches of {})".format(config.batch) if modern
                  else "training pass")
    ax.set_ylabel("error rate (%)")
    ax.set_title("The modern LeNet-5 (markers: the paper's Fig. 5, the 1998 net)" if modern
                 else "LeNet-5 trained with distortions (markers: the paper's Fig. 5, without)"
                 if config.distortions else "LeNet-5 on MNIST (cf. Fig. 5 of LeCun et al. 1998)",
                 fontsize=10)
    return _finish(plt, fig, ax, out or run_dir / "fig5.png")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def results_block() -> str:
    run = RESULTS / "lenet5"
    if not (run / "summary.json").exists():
        return "_No results yet: run `make reproduce`._"
    s = json.loads((run / "summary.json").read_text())
    env = json.loads((run / "env.json").read_text())
    rows = read_metrics(run)
    head = _table(
        ["", "paper (Fig. 5 / Section III-C)", "ours"],
        [
            [f"test error after {s['passes']} passes", f"{paper.TEST_ERROR_PCT:.2f}%",
             f"**{s['test_error_pct']:.2f}%**"],
            ["test error from checkpoint.npz by the README formulas alone", "",
             f"{s['test_error_pct_from_checkpoint']:.2f}%"],
            ["training error (whole set, after the last pass)", f"{paper.TRAIN_ERROR_PCT:.2f}%",
             f"{s['train_error_pct']:.2f}%"],
            ["training time", "2-3 days (200 MHz R10000)",
             f"{s['train_seconds']:.0f} s ({s['patterns_per_second']:,.0f} patterns/s, 1 thread)"],
            ["wall time of the run, with the per-pass evaluations", "",
             f"{s['wall_seconds'] / 60:.1f} min"],
        ],
    )
    per_pass = _table(
        ["pass", "eta", "test: paper", "test: ours", "training on the fly: paper",
         "training on the fly: ours", "training after the pass: ours"],
        [[r["pass"], f"{r['eta']:.0e}", f"{paper.FIG5_TEST_PCT[r['pass'] - 1]:.2f}",
          f"{r['eval_error_pct']:.2f}", f"{paper.FIG5_TRAIN_PCT[r['pass'] - 1]:.2f}",
          f"{r['train_error_on_the_fly_pct']:.2f}", f"{r['train_error_pct']:.2f}"]
         for r in rows],
    )
    return (
        f"Generated by `make reproduce` (seed {s['seed']}, commit `{env['git_commit'][:12]}`, "
        f"{env['cpu']}), from `results/lenet5/`.\n\n{head}\n\n![Fig. 5](results/lenet5/fig5.png)"
        f"\n\n<details><summary>Error per pass (%)</summary>\n\nThe paper's columns are read "
        f"off its Fig. 5 (lecun98/paper.py), so they differ from its text's numbers in the "
        f"last digit.\n\n{per_pass}\n\n</details>"
    )


def seeds_block() -> str:
    path = RESULTS / "seeds" / "table.csv"
    if not path.exists():
        return "_No seed runs yet: run `make seeds`._"
    rows = _csv_rows(path)
    lines = []
    for dtype in ("float64", "float32"):
        mine = [r for r in rows if r["dtype"] == dtype]
        test = np.array([float(r["test_error_pct"]) for r in mine])
        train = np.array([float(r["train_error_pct"]) for r in mine])
        speed = np.mean([float(r["patterns_per_second"]) for r in mine])
        lines.append([dtype, len(mine), f"**{test.mean():.2f} ± {test.std(ddof=1):.2f}%**",
                      ", ".join(f"{e:.2f}" for e in test), f"{train.mean():.2f}%",
                      f"{speed:,.0f}"])
    return (
        "Generated by `make seeds` (`experiments/seeds.py`, part of `make reproduce`): "
        "config.py's defaults with only the seed and the arithmetic changed, 20 passes, test "
        "error after the last pass (mean ± sample standard deviation). Seed 0 in float64 is the "
        "run above. The paper reports one run: 0.95%.\n\n"
        + _table(["arithmetic", "seeds", "test error", "per seed (0, 1, 2)",
                  "training error", "patterns/s during the runs"], lines)
    )


def _sweep_table(root: Path) -> tuple[dict, str]:
    choice = json.loads((root / "choice.json").read_text())
    rows = _csv_rows(root / "sweep.csv")
    return choice, _table(
        ["factor", "option", "seeds", "validation error, mean of passes 16-20 (per seed)",
         "after pass 20"],
        [[r["factor"], r["option"], r["seeds"],
          f"{float(r['validation_error_pct_last5']):.2f}% ("
          + ", ".join(f"{float(v):.2f}" for k, v in r.items()
                      if k.startswith("seed") and k.endswith("_last5") and v)
          + ")", f"{float(r['validation_error_pct_final']):.2f}%"] for r in rows],
    )


def validation_block() -> str:
    root = RESULTS / "validation"
    if not (root / "choice.json").exists():
        return "_No validation sweep yet: run `make validate`._"
    choice, table = _sweep_table(root)
    modern = ""
    if (root / "modern" / "choice.json").exists():
        m, m_table = _sweep_table(root / "modern")
        modern = (
            "\n\nThe modern LeNet-5's open settings, the same way (float32, 20 epochs), from "
            f"`{json.dumps({k: m['baseline'][k] for k in ('batch', 'init', 'input')})}` "
            f"(seed noise {m['seed_noise_pct']:.2f} points):\n\n{m_table}\n\nChosen: "
            f"`{json.dumps(m['chosen'])}`: config.MODERN (tests/test_config.py checks). The "
            f"chosen combination scores **{m['chosen_validation_error_pct_last5']:.2f}%**.")
    distortions = ""
    if (root / "distortions" / "choice.json").exists():
        d, d_table = _sweep_table(root / "distortions")
        distortions = (
            "\n\nThe settings of Section III-C's protocol, the same way in float32: the "
            "distortion ranges (half-widths of the uniform draws: shift in pixels, scale, "
            "squeeze, shear; nine distorted copies of each of the 50,000 images, each pass "
            "drawing 50,000 patterns from the pool), the draw, and the output curvature "
            f"constant when training on the pool, from {_distortion_text(d['baseline'])} (seed "
            f"noise {d['seed_noise_pct']:.2f} points); the reference rows are the same network "
            f"trained without distortions:\n\n{d_table}\n\nChosen: "
            f"{_distortion_text({**d['baseline'], **d['chosen']})}. The "
            f"chosen combination scores **{d['chosen_validation_error_pct_last5']:.2f}%**.")
    if (root / "distortions_round2" / "choice.json").exists():
        d, d_table = _sweep_table(root / "distortions_round2")
        n = len(d["seeds"])
        distortions += (
            "\n\nRound 2: the output curvature constant moved in round 1, so the ranges and the "
            "draw move again, one at a time, from round 1's choice, with seeds "
            f"{_seeds_text(d['seeds'])} each (the rule's seed noise for {n}-seed means: the mean "
            f"|difference| of two single seeds times sqrt(2/{n}), {d['seed_noise_pct']:.2f} "
            "points):\n\n"
            f"{d_table}\n\nChosen: {_distortion_text({**d['baseline'], **d['chosen']})}: "
            "config.DISTORTION_RANGES and config.DISTORTED (tests/test_config.py checks). The "
            f"chosen combination scores **{d['chosen_validation_error_pct_last5']:.2f}%** "
            f"(mean of its {n} seeds).")
    return _choice_text(choice, table) + modern + distortions


def _seeds_text(seeds: list[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) \
        else ", ".join(map(str, seeds))


def _distortion_text(settings: dict) -> str:
    """A distortion sweep's settings: its ranges, draw and output curvature constant."""
    return (f"{Ranges(*settings['distortion_ranges']).describe()}, draw "
            f"{settings['distortion_draw']}, output_d2 {settings['output_d2']:g}")


def _choice_text(choice: dict, table: str) -> str:
    return (
        "Generated by `make validate` (`experiments/validate_choices.py`): each run trains on "
        "the first 50,000 training images for the full 20-pass schedule and is scored on the "
        "last 10,000; one factor moves at a time from the baseline "
        f"`{json.dumps(choice['baseline'])}`. Rule: {choice['rule']}. Seed noise: "
        f"{choice['seed_noise_pct']:.2f} points. The test set is not used.\n\n{table}\n\n"
        f"Chosen: `{json.dumps(choice['chosen'])}`: config.py's defaults (tests/test_config.py "
        "checks they agree). Run as a whole on the same split, the chosen combination scores "
        f"**{choice['chosen_validation_error_pct_last5']:.2f}%** (mean of seeds 0 and 1)."
    )


def assumptions_block() -> str:
    values = Config().to_dict()
    run = RESULTS / "lenet5"
    values["pass1_steps"] = "(run make reproduce)"
    images, _ = data.load_mnist("train")
    values["input_mean"], values["input_var"] = float(images.mean()), float(images.var())
    if (run / "metrics.csv").exists():
        first = read_metrics(run)[0]
        values["pass1_steps"] = f"{first['step_min']:.1e} .. {first['step_max']:.3f}"
    values["distortion_ranges"] = Config().ranges.describe()
    values["distortion_output_d2"] = DISTORTION_OUTPUT_D2
    values["paper_distorted_pct"] = paper.TEST_ERROR_DISTORTED_PCT
    sweep = {}  # sweep factor (the distortion sweeps' prefixed "distortions:") -> its rounds
    for folder, prefix, label in (("", "", ""), ("distortions", "distortions:", ""),
                                  ("distortions_round2", "distortions:", "round 2")):
        root = RESULTS / "validation" / folder
        if not (root / "choice.json").exists():
            continue
        choice, options = json.loads((root / "choice.json").read_text()), {}
        if label:
            label += (f" (output_d2 {choice['baseline']['output_d2']:g}, seeds "
                      f"{_seeds_text(choice['seeds'])}): ")
        for r in _csv_rows(root / "sweep.csv"):
            factor = r["factor"]
            if factor == "reference":  # runs on the originals, beside the factor's rows
                factor = "output_d2" if "output_d2" in r["option"] else "distortion_ranges"
            options.setdefault(factor, []).append(
                f"{r['option']}: {float(r['validation_error_pct_last5']):.2f}%")
        noise = f"the seed noise, {choice['seed_noise_pct']:.2f} points"
        for factor, texts in options.items():
            kept = choice["chosen"][factor] == choice["baseline"][factor]
            verdict = (f"the baseline kept: no option beat it by more than {noise}" if kept
                       else f"moved from the baseline: beat it by more than {noise}")
            sweep.setdefault(prefix + factor, []).append(
                f"{label}{', '.join(texts)} ({verdict})")
    rows = []
    for a in ASSUMPTIONS:
        why = a.why.format(**values)
        if a.sweep_factor in sweep:
            why += " Validation error: " + "; ".join(sweep[a.sweep_factor]) + "."
        rows.append([f"`{a.id}`", a.paper, a.ours.format(**values), why, f"`{a.flag}`"])
    return _table(["id", "the paper", "this code", "why", "flag"], rows)


def bench_block() -> str:
    path = RESULTS / "bench.json"
    if not path.exists():
        return "_No benchmark yet: run `make bench`._"
    b = json.loads(path.read_text())
    rows = []
    for m in b["measurements"]:
        target = ""
        if m.get("target") is not None:
            sign = "<=" if m["unit"] == "s" else ">="
            target = (f"{sign} {m['target']:,} {m['unit']}: "
                      + ("met" if m["meets_target"] else "**not met**"))
        rows.append([m["name"], m["value_text"], target])
    env = b["env"]
    return (f"Generated by `make bench` (`experiments/bench.py`) on {env['cpu']} "
            f"({env['cpu_count']} cores), Python {env['python']}, numba "
            f"{env['packages']['numba']}, numpy {env['packages']['numpy']}, commit "
            f"`{env['git_commit'][:12]}`; load average at the end "
            f"{b['load_average'][0]:.2f}:\n\n"
            + _table(["measurement", "figure", "target (issue 3)"], rows))


def modern_block() -> str:
    """results/modern/ (make reproduce's modern run) beside results/lenet5/."""
    runs = {"1998 LeNet-5": RESULTS / "lenet5", "modern LeNet-5": RESULTS / "modern"}
    if not all((r / "summary.json").exists() for r in runs.values()):
        return "_No modern run yet: run `make reproduce`._"
    rows = []
    for label, run in runs.items():
        s = json.loads((run / "summary.json").read_text())
        c = Config.from_file(run / "config.json")
        recipe = (f"{c.optimiser.upper()}, batch {c.batch}, lr {c.lr:g}" if c.optimiser == "adam"
                  else f"{c.optimiser.upper()}, per pattern")
        rows.append([label, f"{c.activation}, {c.pooling} pooling, C3 {c.c3}, {c.output} + "
                     f"{c.loss}, init {c.init}, input {c.input}", recipe, c.dtype,
                     f"**{s['test_error_pct']:.2f}%**", f"{s['train_seconds']:.0f} s"])
    return ("Generated by `make reproduce` (seed 0 of each) from `results/lenet5/` and "
            "`results/modern/`; over seeds: the 1998 one in the seeds block above, the modern "
            "one in the next block.\n\n"
            + _table(["network", "components", "training", "arithmetic", "test error",
                      "training time"], rows)
            + "\n\n![modern LeNet-5 per pass](results/modern/fig5.png)")


def distorted_block() -> str:
    """results/lenet5_distorted/ (Section III-C) beside the paper's 0.8%."""
    run, plain = RESULTS / "lenet5_distorted", RESULTS / "lenet5"
    if not (run / "summary.json").exists():
        return "_No distortion-trained run yet: run `make reproduce`._"
    s = json.loads((run / "summary.json").read_text())
    c = Config.from_file(run / "config.json")
    rows = [["test error after 20 passes", f"{paper.TEST_ERROR_DISTORTED_PCT:.2f}%",
             f"**{s['test_error_pct']:.2f}%**"],
            ["test error from checkpoint.npz by the README formulas alone", "",
             f"{s['test_error_pct_from_checkpoint']:.2f}%"],
            ["training error (the 60,000 originals, after the last pass)", "",
             f"{s['train_error_pct']:.2f}%"],
            ["training time", "", f"{s['train_seconds']:.0f} s; wall time of the run (with "
             f"building the pool and the per-pass evaluations) {s['wall_seconds'] / 60:.1f} min"]]
    if (plain / "summary.json").exists():
        p = json.loads((plain / "summary.json").read_text())
        rows.insert(1, ["the same network without distortions (results/lenet5/)",
                        f"{paper.TEST_ERROR_PCT:.2f}%", f"{p['test_error_pct']:.2f}%"])
    means, sems = {}, {}
    for path, label in ((run / "seeds.csv", "with distortions"),
                        (RESULTS / "seeds" / "table.csv", "without distortions")):
        if path.exists():
            errors = [float(r["test_error_pct"]) for r in _csv_rows(path)
                      if r.get("dtype", "float64") == "float64"]
            means[label], sd = mean_sd(errors)
            sems[label] = sd / math.sqrt(len(errors))
            rows.append([f"test error {label}, seeds 0-{len(errors) - 1} (float64), mean ± sd",
                         "one run", f"{means[label]:.2f} ± {sd:.2f}% ("
                         + ", ".join(f"{e:.2f}" for e in errors) + ")"])
    verdict = ""
    if len(means) == 2 and (plain / "summary.json").exists():
        gain = means["without distortions"] - means["with distortions"]
        verdict = (
            f"\n\nOver seeds, training with distortions changes the mean test error by "
            f"{-gain:+.2f} points (the paper: "
            f"{paper.TEST_ERROR_DISTORTED_PCT - paper.TEST_ERROR_PCT:+.2f})"
            f"; the paper's {paper.TEST_ERROR_DISTORTED_PCT:.2f}% (one run) is "
            + ("met" if s["test_error_pct"] <= paper.TEST_ERROR_DISTORTED_PCT else "**not met**")
            + f" by the published run (seed {c.seed}); the mean over the seeds above is "
            f"{means['with distortions']:.3f}% (standard error {sems['with distortions']:.3f})"
            f". With the paper's 20-pass schedule the distortion-trained net ends with "
            f"{s['train_error_pct']:.2f}% error on the undistorted training images, against "
            f"{p['train_error_pct']:.2f}% without distortions." + _distortion_effects())
    passes = ""
    if (run / "passes.csv").exists():
        prows = _csv_rows(run / "passes.csv")
        passes = (
            "\n\nBeyond the paper's protocol (`experiments/distortion_passes.py`, part of `make "
            "reproduce`; nothing is chosen from it): the same nets, each with its own settings, "
            "trained for 40 passes, the schedule's last rate (1e-5) held for the 20 extra "
            "ones.\n\n"
            + _table(["distortions", "passes", "validation error, seeds 0 and 1 (mean of the "
                      "last 5 passes)", "test error, seed 0", "training error, seed 0"],
                     [["9 copies" if int(r["distortions"]) else "none", r["passes"],
                       f"{float(r['validation_error_pct_last5']):.2f}% ("
                       f"{float(r['validation_seed0_last5']):.2f}, "
                       f"{float(r['validation_seed1_last5']):.2f})",
                       f"{float(r['test_error_pct_seed0']):.2f}%",
                       f"{float(r['train_error_pct_seed0']):.2f}%"] for r in prows]))
    return (f"Generated by `make reproduce` (`experiments/reproduce.py lenet5_distorted`, seed "
            f"{c.seed}, {c.dtype}) from `results/lenet5_distorted/`: config.py's defaults "
            f"with {c.distortions} distorted copies of each training image "
            f"({c.ranges.describe()}) and the output curvature constant {c.output_d2:g} "
            f"({Config().output_d2:g} without distortions), both chosen on the validation split "
            "(`results/validation/distortions/`, `distortions_round2/`), the 20 passes each "
            "presenting 60,000 patterns drawn from the pool of 600,000.\n\n"
            + _table(["", "paper", "ours"], rows)
            + "\n\n![distortion-trained LeNet-5 per pass](results/lenet5_distorted/fig5.png)"
            + verdict
            + "\n\nThe other seeds: `experiments/distorted_seeds.py` (part of `make reproduce`)."
            + passes)


def _distortion_effects() -> str:
    """Without -> with distortions, from Fig. 6's and the robustness study's csv files."""
    parts = []
    path = RESULTS / "figures" / "fig6_training_size.csv"
    if path.exists():
        err = {(int(r["train_size"]), int(r["distortions"]) > 0): float(r["test_error_pct"])
               for r in _csv_rows(path)}
        sizes = sorted(n for n, d in err if d and (n, False) in err and n < 60_000)
        if sizes:
            parts.append("test error with " + ", ".join(
                f"{n:,} training images {err[n, False]:.2f}% -> {err[n, True]:.2f}%"
                for n in sizes) + " (Fig. 6)")
    path = RESULTS / "figures" / "robustness.csv"
    with_, without = "1998 LeNet-5, trained with distortions", "1998 LeNet-5"
    if path.exists():
        rows = _csv_rows(path)
        if rows and with_ in rows[0] and without in rows[0]:
            for transform, label in (("shift", "diagonal shifts (dx = dy, pixels)"),
                                     ("scale", "scales")):
                mine = [r for r in rows if r["transform"] == transform]
                values = [float(r["value"]) for r in mine]
                parts.append(
                    f"mean test error over the {label} {min(values):g}..{max(values):g} "
                    f"{np.mean([float(r[without]) for r in mine]):.1f}% -> "
                    f"{np.mean([float(r[with_]) for r in mine]):.1f}% (robustness figure)")
    return (" Without -> with distortions elsewhere: " + "; ".join(parts) + ".") if parts else ""


FIGURES = (
    ("fig3_prototypes.png", "Fig. 3: the RBF prototypes (`paper.RBF_PROTOTYPES`), fixed, "
     "never trained."),
    ("fig7_distortions.png", "Fig. 7: training digits and distorted copies drawn with the "
     "chosen ranges (`distortions.pool` draws the same way)."),
    ("fig8_misclassified.png", "Fig. 8: every test digit the distortion-trained net gets "
     "wrong (true -> predicted)."),
    ("feature_maps.png", "Figs. 2 and 4: the C1 kernels of `results/lenet5/`, and the C1, S2, "
     "C3 and S4 feature maps of one test digit."),
    ("fig6_training_size.png", "Fig. 6: test and training error against the size of the "
     "training set, without and with distortions (`experiments/training_size.py`; "
     "[csv](results/figures/fig6_training_size.csv)); open markers: the paper."),
    ("robustness.png", "Beyond the paper: test error of the three nets on the 10,000 test "
     "digits rotated, scaled and shifted ([csv](results/figures/robustness.csv))."),
)


def figures_block() -> str:
    root = RESULTS / "figures"
    shown = [(f, text) for f, text in FIGURES if (root / f).exists()]
    if not shown:
        return "_No figures yet: run `make reproduce` (or `make figures` after it)._"
    return ("Generated by `make figures` (`experiments/figures.py`) and "
            "`experiments/training_size.py`, both part of `make reproduce`, into "
            "`results/figures/`.\n\n"
            + "\n\n".join(f"{text}\n\n![{f}](results/figures/{f})" for f, text in shown))


def modern_seeds_figure(run_root: Path, out: Path | None = None) -> Path:
    """Test error per epoch of every seed's modern run (run_root/seed=N/metrics.csv), their mean,
    and the paper's 0.95% for scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {int(p.name.split("=")[1]): [r["eval_error_pct"] for r in read_metrics(p)]
              for p in sorted(run_root.glob("seed=*"))}
    if not curves:
        raise SystemExit(f"{run_root}: no seed=N runs")
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for seed, errors in sorted(curves.items()):
        ax.plot(range(1, len(errors) + 1), errors, "-", color="0.6", lw=0.8,
                label="one seed each" if seed == min(curves) else None)
        ax.plot(len(errors), errors[-1], "o", color="C0", ms=4,
                label="after the last epoch" if seed == min(curves) else None)
    epochs = min(len(e) for e in curves.values())
    mean = np.mean([e[:epochs] for e in curves.values()], axis=0)
    ax.plot(range(1, epochs + 1), mean, "-", color="k", lw=2, label=f"mean of {len(curves)} seeds")
    ax.axhline(paper.TEST_ERROR_PCT, color="C3", ls="--", lw=1,
               label=f"the paper's LeNet-5 ({paper.TEST_ERROR_PCT}%)")
    ax.set_ylim(0.6, 2.0)
    ax.set_xticks(range(0, epochs + 1, 2))
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")
    ax.set_title("Modern LeNet-5 (Adam 1e-3, batch 64, float32): test error per epoch by seed",
                 fontsize=10)
    return _finish(plt, fig, ax, out or run_root / "curves.png")


def modern_seeds_block() -> str:
    path = RESULTS / "modern_seeds" / "table.csv"
    if not path.exists():
        return "_No modern seed runs yet: run `make reproduce` (experiments/modern_seeds.py)._"
    rows = _csv_rows(path)
    final = np.array([float(r["test_error_pct"]) for r in rows])
    late_key = next(k for k in rows[0] if k.startswith("test_error_pct_last"))
    late = np.array([float(r[late_key]) for r in rows])
    best = np.array([float(r["test_error_pct_best_epoch"]) for r in rows])
    last = late_key.removeprefix("test_error_pct_last").removesuffix("_mean")
    seeds = f"{rows[0]['seed']}-{rows[-1]['seed']}"

    def stat(a):
        mean, sd = mean_sd(a)
        return f"{mean:.2f} ± {sd:.2f}% (range {a.min():.2f}-{a.max():.2f})"

    table = _table(["test error over seeds " + seeds, "mean ± sd (range)"], [
        ["after the last epoch (the protocol)", f"**{stat(final)}**"],
        [f"mean of the last {last} epochs", stat(late)],
        ["best epoch (chosen on the test set: an optimistic bound, not a result)", stat(best)],
    ])
    return (
        "Generated by `python experiments/modern_seeds.py` (part of `make reproduce`): the "
        f"modern run's config with only the seed changed, {len(rows)} seeds, all trained on "
        "this machine, `results/modern_seeds/`. Per seed (after the last epoch): "
        + ", ".join(f"{e:.2f}" for e in final) + ".\n\n" + table
        + "\n\n![modern LeNet-5, test error per epoch by seed](results/modern_seeds/curves.png)"
    )


def _stage_minutes() -> list[list]:
    """The stages of make reproduce with their runs' recorded wall times (minutes)."""

    def wall(run: Path) -> float | None:
        path = run / "summary.json"
        return json.loads(path.read_text())["wall_seconds"] / 60 if path.exists() else None

    stages = []
    for name, label in (("lenet5", "the 1998 LeNet-5"),
                        ("lenet5_distorted", "the distortion-trained LeNet-5"),
                        ("modern", "the modern LeNet-5")):
        minutes = wall(RESULTS / name)
        if minutes is not None:
            stages.append([label, 1, minutes, minutes])
    # seed 0 in float64 is results/lenet5 itself
    extra = [m for p in sorted((RESULTS / "seeds").glob("*-seed=*"))
             if p.name != "float64-seed=0" and (m := wall(p)) is not None]
    if extra:
        stages.append(["seeds (float64 and float32, 0-2)", len(extra), sum(extra),
                       sum(extra) / 2])
    path = RESULTS / "lenet5_distorted" / "seeds.csv"
    if path.exists():
        extra = [float(r["wall_seconds"]) / 60 for r in _csv_rows(path) if r["seed"] != "0"]
        stages.append([f"seeds 1-{len(extra)} with distortions", len(extra), sum(extra),
                       sum(extra) / 2])
    path = RESULTS / "modern_seeds" / "table.csv"
    if path.exists():
        extra = [float(r["wall_seconds"]) / 60 for r in _csv_rows(path)]
        stages.append([f"the modern LeNet-5 over {len(extra)} seeds", len(extra), sum(extra),
                       sum(extra) / 2])
    path = RESULTS / "ablations" / "table.csv"
    if path.exists():
        rows = _csv_rows(path)
        n = sum(int(r["seeds"]) for r in rows)
        total = sum(int(r["seeds"]) * float(r["train_minutes_mean"]) for r in rows)
        stages.append(["the ablations (training time only)", n, total, total / 2])
    path = RESULTS / "lenet5_distorted" / "passes.csv"
    if path.exists():
        # its validation-split runs are committed in results/validation/distortions/ and reused
        rows = [r for r in _csv_rows(path) if r["passes"] == "40"]
        test = sum(float(r["test_wall_seconds"]) for r in rows) / 60
        stages.append(["40 passes, with and without distortions (the test-set runs)", len(rows),
                       test, test / 2])
    path = RESULTS / "figures" / "fig6_training_size.csv"
    if path.exists():
        small = [float(r["wall_seconds"]) / 60 for r in _csv_rows(path)
                 if int(r["train_size"]) < 60_000]
        stages.append(["Fig. 6 (15,000 and 30,000 patterns)", len(small), sum(small),
                       sum(small) / 2])
    return stages


def timing_block() -> str:
    stages = _stage_minutes()
    if not stages:
        return "_No runs yet: run `make reproduce`._"
    total = sum(s[3] for s in stages)
    longest = max(stages, key=lambda s: s[3])
    rows = [[label, n, f"{sum_:.1f}", f"{wall:.1f}"] for label, n, sum_, wall in stages]
    rows.append(["**total**", sum(s[1] for s in stages), f"{sum(s[2] for s in stages):.1f}",
                 f"**{total:.0f}**"])
    text = (f"make reproduce takes about **{total:.0f} minutes** on a 2-core machine like this one "
            "(first build of the kernels not counted: about 1-2 minutes per compiled entry point "
            "and arithmetic on a cold cache). ")
    if total > 60:
        runs = f"{longest[1]} run" + ("s" if longest[1] != 1 else "")
        text += f"Over an hour: most of it is {longest[0]}: {runs}, {longest[3]:.0f} min. "
    return (text + "Estimated from the runs' recorded times in results/ (the stages whose runs go "
            "two at a time count half their sum). The runs were recorded on more than one host of "
            "this kind (each run's env.json), some while other jobs shared the machine, which "
            "slows them: read the total as an estimate, not a measurement:\n\n"
            + _table(["stage", "runs", "sum of run times (min)", "wall time (min)"], rows))


def ablations_block() -> str:
    path = RESULTS / "ablations" / "summary.md"
    if not path.exists():
        return "_No ablations yet: run `make ablations`._"
    return path.read_text().strip()


BLOCKS = {
    "results": results_block,
    "seeds": seeds_block,
    "modern": modern_block,
    "modern_seeds": modern_seeds_block,
    "ablations": ablations_block,
    "distorted": distorted_block,
    "figures": figures_block,
    "timing": timing_block,
    "validation": validation_block,
    "assumptions": assumptions_block,
    "bench": bench_block,
}


def render_readme(path: Path = README) -> None:
    text = path.read_text()
    for name, block in BLOCKS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n)(?:.*?\n)?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no generated block {name!r}")
        content = block()
        text = pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)
    path.write_text(text)


def main() -> None:
    for name in ("lenet5", "lenet5_distorted", "modern"):
        if (RESULTS / name / "metrics.csv").exists():
            fig5(RESULTS / name)
    render_readme()
    print(f"rewrote {README.relative_to(REPO)} from results/")


if __name__ == "__main__":
    main()
