"""Settle the choices the paper leaves open on a validation split, never on the test set.

Each run trains on the first 50,000 training images with the paper's full 20-pass schedule and
is scored on the held-out last 10,000 (mean validation error over passes 16-20, all at
eta = 1e-5). One factor at a time moves away from a baseline. Seeds move the result about as
much as most factors, so every option of a contested factor runs with seeds 0 and 1, and:

  the option with the lowest mean over seeds is chosen, but it replaces the baseline option
  only if it beats it by more than the noise: the mean |seed 0 - seed 1| over all such pairs.

The chosen combination is then run as a whole (seeds 0 and 1) and its validation error is
recorded with the choice in results/validation/choice.json; config.py's defaults must match it
(tests/test_config.py).

The modern LeNet-5's settings that the tutorials leave open (batch 64 or 256, He or Glorot
initialisation, inputs in [0, 1] or standardised) are settled the same way, from config.MODERN
with the tutorials' He initialisation, in float32, into results/validation/modern/
(config.MODERN must match its choice.json).

The distortion ranges of Section III-C (nine distorted copies of each training image, as the
paper), the draw and the output curvature constant when training on the pool are settled the
same way in float32 into results/validation/distortions/, with the same network trained without
distortions alongside as a reference. Round 1 moved the output curvature constant, so a second
round (distortions2) moves the ranges and the draw again, one at a time, from round 1's choice,
into results/validation/distortions_round2/. In round 1 small and medium ranges, and the two
draws, were close (a step smaller than the seed noise, or little more), so round 2 runs six
seeds (0-5) each, and the noise shrinks as the means are over more seeds (below).
config.DISTORTION_RANGES, DISTORTED and DISTORTION_OUTPUT_D2 must match the last round's
choice.json.

The seed noise: the mean |difference| between two single seeds of one option, over every option
and pair of seeds, times sqrt(2 / n) for means over n seeds (n = 2: mean |seed 0 - seed 1|, the
rule's first form).
Usage: make validate [VALIDATE="1998 modern distortions distortions2"]
"""

import json
import sys
from pathlib import Path

import numpy as np

from lecun98.config import DISTORTION_RANGES, MODERN, Config
from lecun98.errors import Lecun98Error, run_script
from lecun98.runner import run_many
from lecun98.train import read_metrics, write_table

ROOT = Path("results/validation")
BASELINE = dict(loss="map", j=1.0, subsampling="mean", init_exponent=0.5, bias_init="zero",
                output_d2=2.0)
# factor -> {run name: the change from the baseline}
FACTORS = {
    "j": {"j=0.1": dict(j=0.1), "j=1": {}, "j=5": dict(j=5.0), "j=10": dict(j=10.0),
          "j=20": dict(j=20.0)},
    "loss": {"loss=map": {}, "loss=mle": dict(loss="mle")},
    "subsampling": {"subsampling=mean": {}, "subsampling=sum": dict(subsampling="sum")},
    "init_exponent": {"init=2.4/sqrt(F)": {}, "init=2.4/F": dict(init_exponent=1.0)},
    "bias_init": {"bias=zero": {}, "bias=uniform": dict(bias_init="uniform")},
    "output_d2": {"output_d2=2": {}, "output_d2=0.5": dict(output_d2=0.5),
                  "output_d2=8": dict(output_d2=8.0)},
}
COMMON = dict(validation=10_000, train_size=50_000, evaluate_train=False, threads=1)
SINGLE_SEED = {"subsampling", "init_exponent"}  # options that differ by whole points
# the sweep starts from the tutorials' He initialisation; its choice (Glorot) is config.MODERN
MODERN_BASELINE = dict(MODERN, dtype="float32", init="he")
MODERN_FACTORS = {
    "batch": {"batch=64": {}, "batch=256": dict(batch=256)},
    "init": {"init=he": {}, "init=glorot": dict(init="glorot")},
    "input": {"input=unit": {}, "input=standard": dict(input="standard")},
}
# (shift in pixels, scale, squeeze, shear): distortions.Ranges
RANGES = {"small": (1.0, 0.05, 0.05, 0.1), "medium": (2.0, 0.1, 0.1, 0.2),
          "large": (3.0, 0.15, 0.15, 0.3)}
DISTORTION_BASELINE = dict(dtype="float32", distortions=9, distortion_ranges=RANGES["medium"],
                           distortion_draw="pool", output_d2=2.0)
DISTORTION_FACTORS = {
    "distortion_ranges": {f"ranges={k}": ({"distortion_ranges": v} if k != "medium" else {})
                          for k, v in RANGES.items()},
    "distortion_draw": {"draw=pool": {}, "draw=per-image": dict(distortion_draw="per-image")},
    # the output curvature constant (ASSUMPTION(output-curvature)): larger, smaller steps
    "output_d2": {"output_d2=2": {}, "output_d2=4": dict(output_d2=4.0),
                  "output_d2=8": dict(output_d2=8.0)},
}
DISTORTION_REFERENCES = {"no distortions": dict(distortions=0),
                         "no distortions, output_d2=4": dict(distortions=0, output_d2=4.0)}
# round 2: from round 1's choice (output_d2 4; tests/test_config.py checks), the ranges and the draw
DISTORTION_ROUND2_BASELINE = dict(DISTORTION_BASELINE, output_d2=4.0)
DISTORTION_ROUND2_FACTORS = {k: DISTORTION_FACTORS[k] for k in ("distortion_ranges",
                                                                "distortion_draw")}
ROUND2_SEEDS = tuple(range(6))
assert DISTORTION_RANGES in RANGES.values()


def _text(value) -> str:
    return "_".join(f"{v:g}" for v in value) if isinstance(value, (tuple, list)) else str(value)


def run_name(change: dict, seed: int) -> str:
    name = "-".join(f"{k}={_text(v)}" for k, v in change.items()) or "baseline"
    return name + (f"-seed={seed}" if seed else "")


def seed_noise(groups: list[list[float]]) -> float:
    """The rule's noise for means over n seeds: the mean |difference| between two single seeds of
    one option (over every option, every pair of its n seeds) times sqrt(2 / n); for n = 2 the
    mean |seed 0 - seed 1|. groups: each option's n scores, one per seed."""
    n = len(groups[0]) if groups else 0
    if n < 2 or any(len(g) != n for g in groups):
        raise ValueError(f"every option needs the same two or more seeds, got {groups}")
    return float(np.mean([abs(a - b) for g in groups for i, a in enumerate(g) for b in g[i + 1:]])
                 * np.sqrt(2 / n))


def settle(root: Path, baseline: dict, factors: dict, single_seed=(), references=None,
           all_seeds=(0, 1)) -> dict:
    """Run every option (with all_seeds, or seed 0 only for a factor in single_seed), choose by
    the rule above, confirm the chosen combination, write sweep.csv and choice.json into root;
    return the choice. references ({label: change}) run with all_seeds beside the options, as
    rows of factor "reference" that take no part in the choice."""
    references = references or {}

    def seeds(factor: str) -> tuple[int, ...]:
        return (0,) if factor in single_seed else tuple(all_seeds)

    def score(name: str) -> tuple[float, float]:
        errors = [r["eval_error_pct"] for r in read_metrics(root / name)]
        return float(np.mean(errors[-5:])), errors[-1]

    runs = {}
    for factor, options in factors.items():
        for change in options.values():
            for seed in seeds(factor):
                runs[run_name(change, seed)] = Config.from_dict(
                    {**baseline, **COMMON, **change, "seed": seed})
    for change in references.values():
        for seed in all_seeds:
            runs[run_name(change, seed)] = Config.from_dict(
                {**baseline, **COMMON, **change, "seed": seed})
    run_many(runs, root, jobs=2)

    # every option run with all the seeds, once (a factor's default is the shared baseline run)
    changes = [change for factor, options in factors.items() if factor not in single_seed
               for change in options.values()] + list(references.values())
    groups = {run_name(change, 0): [score(run_name(change, s))[0] for s in all_seeds]
              for change in changes}
    noise = seed_noise(list(groups.values()))
    rows, choice = [], {}
    for factor, options in factors.items():
        means = {}
        for label, change in options.items():
            per_seed = {s: score(run_name(change, s)) for s in seeds(factor)}
            means[label] = float(np.mean([v[0] for v in per_seed.values()]))
            rows.append({"factor": factor, "option": label, "seeds": len(per_seed),
                         "validation_error_pct_last5": round(means[label], 4),
                         "validation_error_pct_final": round(float(np.mean(
                             [v[1] for v in per_seed.values()])), 4),
                         **{f"seed{s}_last5": round(v[0], 4) for s, v in per_seed.items()}})
        default = next(label for label, change in options.items() if not change)
        best = min(means, key=means.get)
        if means[default] - means[best] <= noise:
            best = default
        choice[factor] = options[best].get(factor, baseline[factor])
    for label, change in references.items():
        per_seed = {s: score(run_name(change, s)) for s in all_seeds}
        rows.append({"factor": "reference", "option": label, "seeds": len(per_seed),
                     "validation_error_pct_last5": round(float(np.mean(
                         [v[0] for v in per_seed.values()])), 4),
                     "validation_error_pct_final": round(float(np.mean(
                         [v[1] for v in per_seed.values()])), 4),
                     **{f"seed{s}_last5": round(v[0], 4) for s, v in per_seed.items()}})
    # the chosen combination, validated as a whole (the factors were moved one at a time); a run
    # of the very same configuration above is not run twice
    confirm = {}
    for s in all_seeds:
        config = Config.from_dict({**baseline, **COMMON, **choice, "seed": s})
        same = [name for name, c in runs.items() if c == config]
        confirm[same[0] if same else run_name({}, s).replace("baseline", "chosen")] = config
    run_many(confirm, root, jobs=2)
    chosen_score = float(np.mean([score(n)[0] for n in confirm]))
    write_table(root / "sweep.csv", rows)
    (root / "choice.json").write_text(json.dumps({
        "rule": "lowest mean validation error over passes 16-20 and over seeds, one factor at "
                "a time; an option replaces the baseline only if it beats it by more than the "
                "seed noise (" + ("mean |seed 0 - seed 1| over all pairs" if len(all_seeds) == 2
                                  else "mean |difference| between two seeds of one option, "
                                  f"times sqrt(2/{len(all_seeds)})") + ")",
        "seeds": list(all_seeds),
        "seed_noise_pct": round(noise, 4), "baseline": baseline, "chosen": choice,
        "chosen_validation_error_pct_last5": round(chosen_score, 4),
        "chosen_runs": sorted(confirm)}, indent=2)
        + "\n")
    print(json.dumps(choice, indent=2))
    return choice


SWEEPS = {
    "1998": lambda: settle(ROOT, BASELINE, FACTORS, SINGLE_SEED),
    "modern": lambda: settle(ROOT / "modern", MODERN_BASELINE, MODERN_FACTORS),
    "distortions": lambda: settle(ROOT / "distortions", DISTORTION_BASELINE, DISTORTION_FACTORS,
                                  references=DISTORTION_REFERENCES),
    "distortions2": lambda: settle(ROOT / "distortions_round2", DISTORTION_ROUND2_BASELINE,
                                   DISTORTION_ROUND2_FACTORS, all_seeds=ROUND2_SEEDS),
}


def main(names=tuple(SWEEPS)) -> None:
    unknown = [n for n in names if n not in SWEEPS]
    if unknown:
        raise Lecun98Error(f"unknown sweep(s) {' '.join(unknown)}: usage: python "
                           f"experiments/validate_choices.py [{' '.join(SWEEPS)}]")
    for name in names:
        SWEEPS[name]()


if __name__ == "__main__":
    sys.exit(run_script(lambda: main(tuple(sys.argv[1:]) or tuple(SWEEPS))))
