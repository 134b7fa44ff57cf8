"""The paper's pictures, drawn from our data, checkpoints and runs; and one study beyond the paper.

    prototypes            Fig. 3: the ten RBF prototypes (paper.py's 7x12 bitmaps)
    distortion_examples   Fig. 7: training digits and randomly distorted copies (distortions.py)
    training_size         Fig. 6: error vs training-set size, beside the paper's digitised points
    feature_maps          Figs. 2 and 4: C1 kernels and the C1..S4 maps of one test digit
    misclassified         Fig. 8: every test digit a run gets wrong (its predictions.npy)
    robustness            not in the paper: test error under rotation, scaling and shift, per net

Each function writes one PNG (its title also stored as the PNG's "Title" text) and returns its
path (misclassified: the path and the count); sizes and fonts are chosen to be read at ~700 px
wide in the README.
"""

import contextlib
import csv
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lecun98 import checkpoint, data, distortions, model, paper, reference
from lecun98.config import Config
from lecun98.errors import Lecun98Error
from lecun98.layout import Layout

DPI = 120
STYLE = {  # legible at ~700 px wide
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "figure.titlesize": 13,
}
INK = "gray_r"  # 0 / background white, high values / ink black, as printed in the paper

ROTATIONS = tuple(range(-40, 41, 5))  # degrees, counter-clockwise on screen
SCALES = tuple(round(0.6 + 0.1 * i, 1) for i in range(9))  # 0.6 .. 1.4
SHIFTS = tuple(range(-6, 7))  # pixels, dx = dy (right and down)


@contextlib.contextmanager
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        yield plt


def _save(plt, fig, out, title: str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI, metadata={"Title": title})
    plt.close(fig)
    return out


def _bare(ax, frame: str | None = None):
    """An image cell: no ticks, a thin frame of colour `frame` or none (a y label still shows)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(frame is not None)
        if frame is not None:
            spine.set_color(frame)
            spine.set_linewidth(0.8)


# --- Fig. 3 -------------------------------------------------------------------------------------
def prototype_bitmaps() -> np.ndarray:
    """(10, 12, 7) of +-1: the RBF prototypes of eq. (7) as the Fig. 3 bitmaps, row-major."""
    return paper.RBF_PROTOTYPES.reshape(paper.N_CLASSES, paper.BITMAP_ROWS, paper.BITMAP_COLS)


def prototypes(out) -> Path:
    """Fig. 3: the ten fixed RBF prototypes, +1 black, -1 white, in a 2 x 5 grid."""
    bitmaps = prototype_bitmaps()
    title = "The RBF output's fixed prototypes (Fig. 3): 7 x 12 bitmaps, +1 black, -1 white"
    with _pyplot() as plt:
        fig, axes = plt.subplots(2, 5, figsize=(7, 4.6), dpi=DPI)
        for digit, ax in enumerate(axes.ravel()):
            ax.imshow(bitmaps[digit], cmap=INK, vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks(np.arange(-0.5, paper.BITMAP_COLS), minor=True)
            ax.set_yticks(np.arange(-0.5, paper.BITMAP_ROWS), minor=True)
            ax.grid(which="minor", color="0.75", lw=0.5)
            ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
            ax.set_title(str(digit), fontsize=14)
        fig.suptitle("The RBF output's fixed prototypes (Fig. 3)\n"
                     "7 x 12 bitmaps of +-1 (+1 black), one per class")
        fig.tight_layout()
        return _save(plt, fig, out, title)


# --- Fig. 7 -------------------------------------------------------------------------------------
def distortion_examples(out, seed: int = 0, ranges: distortions.Ranges | None = None,
                        digits: int = 5, copies: int = 9) -> Path:
    """Fig. 7: the first training image of classes 0..digits-1, padded to 32 x 32, then `copies`
    random distortions of it (distortions.random_maps with `ranges`, default Config().ranges,
    drawn from np.random.default_rng(seed)); one row per digit."""
    if not 1 <= digits <= paper.N_CLASSES or not 1 <= copies <= 20:
        raise Lecun98Error(f"digits must be in 1..10 and copies in 1..20, got {digits}, {copies}")
    ranges = ranges or Config().ranges
    images, labels = data.load_mnist_raw("train")
    first = [int(np.flatnonzero(labels == d)[0]) for d in range(digits)]
    field = distortions.pad(np.ascontiguousarray(images[first]))  # (digits, 32, 32)
    inverse = distortions.random_maps(digits * copies, ranges, np.random.default_rng(seed))
    warped = distortions.apply(field, inverse, np.repeat(np.arange(digits), copies))
    warped = warped.reshape(digits, copies, distortions.FIELD, distortions.FIELD)
    title = f"Random distortions of training digits (cf. Fig. 7): {ranges.describe()}"
    with _pyplot() as plt:
        cols = copies + 1
        fig, axes = plt.subplots(digits, cols, figsize=(7, 7 * digits / cols + 1.0), dpi=DPI,
                                 squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.06})
        for row in range(digits):
            for col in range(cols):
                ax = axes[row, col]
                ax.imshow(field[row] if col == 0 else warped[row, col - 1], cmap=INK, vmin=0,
                          vmax=255, interpolation="nearest")
                _bare(ax)
                if col == 0:  # frame the original
                    for spine in ax.spines.values():
                        spine.set_visible(True)
                        spine.set_color("C0")
                        spine.set_linewidth(2)
        axes[0, 0].set_title("original", fontsize=10, color="C0")
        axes[0, 1].set_title(f"{copies} distorted copies", fontsize=10, loc="left")
        fig.suptitle(f"Random distortions of training digits (cf. Fig. 7)\n{ranges.describe()}"
                     f" (seed {seed})")
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.95 / fig.get_figheight())
        return _save(plt, fig, out, title)


# --- Fig. 6 -------------------------------------------------------------------------------------
def training_size(rows: list[dict], out) -> Path:
    """Fig. 6: test and training error (%) vs training-set size, our runs (rows of train_size,
    distortions (0 or 9), test_error_pct, train_error_pct; several seeds of one setting are
    averaged, each shown as a dot) beside the paper's digitised points (open markers)."""
    runs: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for r in rows:
        try:
            key = (int(r["train_size"]), int(r["distortions"]))
            runs.setdefault(key, []).append((float(r["test_error_pct"]),
                                             float(r["train_error_pct"])))
        except (KeyError, TypeError, ValueError) as e:
            raise Lecun98Error(f"training_size: each row needs train_size, distortions, "
                               f"test_error_pct and train_error_pct ({e!r} in {r!r})") from None
    if not runs:
        raise Lecun98Error("training_size: no rows to plot")
    title = "Error vs training-set size (cf. Fig. 6)"
    with _pyplot() as plt:
        import matplotlib.ticker as ticker

        fig, ax = plt.subplots(figsize=(7, 5.1), dpi=DPI)
        ax.plot(paper.FIG6_SIZES, paper.FIG6_TEST_PCT, "o", ms=9, mfc="none", mew=1.5, color="C0",
                label="paper: test, no distortions")
        ax.plot(paper.FIG6_SIZES, paper.FIG6_TRAIN_PCT, "s", ms=9, mfc="none", mew=1.5,
                color="C1", label="paper: training, no distortions")
        ax.plot([paper.FIG6_SIZES[-1]], [paper.FIG6_TEST_DISTORTED_PCT], "^", ms=10, mfc="none",
                mew=1.5,
                color="C2", label="paper: test, with distortions")
        series = (("test", 0, 0, "C0", "-"), ("training", 1, 0, "C1", "-"),
                  ("test", 0, 9, "C2", "--"), ("training", 1, 9, "C3", "--"))
        for what, col, dist, colour, style in series:
            keys = sorted(k for k in runs if (k[1] > 0) == (dist > 0))
            if not keys:
                continue
            sizes = [k[0] for k in keys]
            means = [np.mean([v[col] for v in runs[k]]) for k in keys]
            label = f"ours: {what}, {'with' if dist else 'no'} distortions"
            ax.plot(sizes, means, style, marker=".", ms=10, lw=2, color=colour, label=label)
            for k in keys:
                if len(runs[k]) > 1:
                    ax.plot([k[0]] * len(runs[k]), [v[col] for v in runs[k]], ".", ms=4,
                            color=colour, alpha=0.6)
        ax.set_xscale("log")
        sizes = sorted({k[0] for k in runs} | set(paper.FIG6_SIZES.tolist()))
        ax.set_xticks(sizes)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlim(min(sizes) / 1.25, max(sizes) * 1.25)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("training-set size (patterns)")
        ax.set_ylabel("error rate (%)")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9.5, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  frameon=False)
        fig.tight_layout()
        return _save(plt, fig, out, title)


# --- Figs. 2 and 4 ------------------------------------------------------------------------------
def feature_maps(checkpoint_path, out, index: int = 0) -> Path:
    """Figs. 2 and 4: the six C1 kernels, then test image `index` (normalised to the checkpoint's
    levels) and its C1, S2, C3 and S4 maps (reference.forward); one grey scale per layer, black
    high. C3 and S4 take two rows of 8."""
    params, config, (background, foreground) = checkpoint.load(checkpoint_path)
    images, labels = data.load_mnist_raw("test")
    if not 0 <= index < len(images):
        raise Lecun98Error(f"index must be in 0..{len(images) - 1}, got {index}")
    image = data.normalise(np.ascontiguousarray(images[index:index + 1]), background=background,
                           foreground=foreground)[0]  # (32, 32)
    act = reference.forward(params, image, config)
    y = act["y"]
    predicted = int(np.argmin(y) if config.output == "rbf" else np.argmax(y))
    kernels = Layout.of(config).views(params)["c1.weight"].reshape(6, 5, 5)
    c3, s4 = act["x3"], act["x4"]  # (16, 10, 10), (16, 5, 5)
    s = "S2" if config.pooling == "trainable" else f"S2 ({config.pooling})"
    rows = [  # (label, maps, layer: rows of one layer share a grey scale)
        ("C1 kernels\n6 @ 5x5", kernels, "k"),
        ("input\n32x32", act["x0"], "x0"),
        ("C1\n6 @ 28x28", act["x1"], "x1"),
        (f"{s}\n6 @ 14x14", act["x2"], "x2"),
        ("C3 1-8\n10x10", c3[:8], "x3"),
        ("C3 9-16\n10x10", c3[8:], "x3"),
        (f"{s.replace('2', '4')} 1-8\n5x5", s4[:8], "x4"),
        (f"{s.replace('2', '4')} 9-16\n5x5", s4[8:], "x4"),
    ]
    scale = {"k": (-np.abs(kernels).max(), np.abs(kernels).max())}
    for name in ("x0", "x1", "x2", "x3", "x4"):
        scale[name] = (act[name].min(), act[name].max())
    faithful = (config.activation, config.pooling, config.c3, config.output) == (
        "tanh", "trainable", "table", "rbf")
    net = "the 1998 LeNet-5" if faithful else (
        f"{config.activation}, {config.pooling} pooling, {config.c3} C3, {config.output} output")
    title = (f"Feature maps of test digit #{index} (label {int(labels[index])}, predicted "
             f"{predicted}): {net}")
    with _pyplot() as plt:
        cols = 8
        fig, axes = plt.subplots(len(rows), cols, figsize=(7, 7.9), dpi=DPI,
                                 gridspec_kw={"wspace": 0.08, "hspace": 0.12})
        for (label, maps, layer), row in zip(rows, axes):
            lo, hi = scale[layer]
            for j, ax in enumerate(row):
                if j < len(maps):
                    ax.imshow(maps[j], cmap=INK, vmin=lo, vmax=hi, interpolation="nearest")
                    _bare(ax, frame="0.6")
                else:
                    ax.axis("off")
            row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10,
                              labelpad=6)
        fig.suptitle(f"Feature maps of test digit #{index} (label {int(labels[index])}, "
                     f"predicted {predicted})\n{net}")
        fig.text(0.01, 0.005, "one grey scale per layer (row pairs of C3, S4 share one); "
                 "black = high", fontsize=9, color="0.35", va="bottom")
        fig.subplots_adjust(left=0.17, right=0.99, bottom=0.035, top=0.91)
        return _save(plt, fig, out, title)


# --- Fig. 8 -------------------------------------------------------------------------------------
def misclassified_digits(run_dir) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(test indices, true labels, predicted classes) of the test digits a run gets wrong, from
    run_dir/predictions.npy (the predicted class of each of the 10,000 test images)."""
    path = Path(run_dir) / "predictions.npy"
    _, labels = data.load_mnist_raw("test")
    try:
        predicted = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise Lecun98Error(
            f"{path}: no such file (train.py writes it after the last pass)") from None
    except (OSError, ValueError, EOFError) as e:
        raise Lecun98Error(f"{path}: not a readable .npy file ({e})") from None
    if predicted.shape != labels.shape or predicted.dtype.kind not in "iu":
        raise Lecun98Error(f"{path}: expected {len(labels):,} integer test predictions, got "
                           f"{predicted.dtype} {predicted.shape}")
    if len(predicted) and not 0 <= predicted.min() <= predicted.max() < paper.N_CLASSES:
        raise Lecun98Error(f"{path}: predicted classes must be in 0..9")
    wrong = np.flatnonzero(predicted != labels)
    return wrong, labels[wrong].astype(np.int64), predicted[wrong].astype(np.int64)


def misclassified(run_dir, out, per_row: int = 14, most: int = 280) -> tuple[Path, int]:
    """Fig. 8: every test digit the run in run_dir misclassifies (the first `most` of them when
    there are more), in test-set order, each labelled true->predicted. Returns (the PNG, the
    number of misclassified digits its title gives)."""
    wrong, true, predicted = misclassified_digits(run_dir)
    images, labels = data.load_mnist_raw("test")
    count = len(wrong)
    pct = 100.0 * count / len(labels)
    title = f"{count} misclassified test digits ({pct:.2f}%)"
    shown = min(count, most)
    rows = max(1, -(-shown // per_row))
    note = (f"{Path(run_dir).name}, true→predicted"
            + (f", the first {shown} shown" if shown < count else "")
            + f" (the paper's Fig. 8: {paper.FIG8_MISCLASSIFIED})")
    with _pyplot() as plt:
        fig, axes = plt.subplots(rows, per_row, figsize=(7, 0.62 * rows + 0.9), dpi=DPI,
                                 squeeze=False)
        for k, ax in enumerate(axes.ravel()):
            if k >= shown:
                ax.axis("off")
                continue
            ax.imshow(images[wrong[k]], cmap=INK, vmin=0, vmax=255, interpolation="nearest")
            _bare(ax)
            ax.set_xlabel(f"{true[k]}→{predicted[k]}", fontsize=9, labelpad=1)
        fig.suptitle(f"{title}\n{note}", fontsize=11)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.22 / fig.get_figheight(),
                            top=1 - 0.62 / fig.get_figheight(), wspace=0.08, hspace=0.45)
        return _save(plt, fig, out, title), count


# --- Beyond the paper: robustness to geometric transformations ---------------------------------
def _transforms(angles, scales, shifts) -> list[tuple[str, float, np.ndarray]]:
    """(transform, value, (1, 2, 3) inverse map) of each point of the study."""
    return ([("rotation", a, distortions.rotation(a)) for a in angles]
            + [("scale", s, distortions.similarity(scale=s)) for s in scales]
            + [("shift", d, distortions.similarity(shift=(d, d))) for d in shifts])


def robustness_errors(runs: dict[str, Path], angles=ROTATIONS, scales=SCALES, shifts=SHIFTS,
                      limit: int | None = None, threads: int = 2, progress: bool = True):
    """Test error (%) of each run's checkpoint.npz on the test images (the first `limit`) rotated,
    scaled and shifted (dx = dy) in the 32x32 field: rows (transform, value, {label: error}).
    Each warped test set is made once and normalised once per set of input levels."""
    if not runs:
        raise Lecun98Error("robustness: no runs given")
    nets = {}  # label -> (params, config, levels, dtype)
    for label, run_dir in runs.items():
        params, config, levels = checkpoint.load(Path(run_dir) / "checkpoint.npz")
        dtype = np.dtype(config.dtype)
        nets[label] = (params.astype(dtype), config, levels, dtype)
    groups: dict[tuple, list[str]] = {}  # (levels, dtype) -> labels sharing one normalisation
    for label, (_, _, levels, dtype) in nets.items():
        groups.setdefault((levels, dtype.str), []).append(label)
    images, labels = data.load_mnist_raw("test")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    field = distortions.pad(np.ascontiguousarray(images))  # (N, 32, 32) uint8
    rows = []
    points = _transforms(angles, scales, shifts)
    for transform, value, inverse in tqdm(points, desc="robustness", unit="setting",
                                          disable=not progress, dynamic_ncols=True):
        warped = distortions.apply(field, np.repeat(inverse, len(field), axis=0))
        errors = {}
        for ((background, foreground), dtype), members in groups.items():
            x = data.normalise(warped, dtype=np.dtype(dtype), background=background,
                               foreground=foreground)
            for label in members:
                params, config, _, _ = nets[label]
                classes, _ = model.predict(params, x, config, threads)
                errors[label] = 100.0 * float(np.mean(classes != labels))
        rows.append((transform, value, {label: errors[label] for label in runs}))
    return rows


def robustness(runs: dict[str, Path], out, csv_out, angles=ROTATIONS, scales=SCALES,
               shifts=SHIFTS, limit: int | None = None, threads: int = 2) -> Path:
    """Not in the paper: test error (%) of each net (label -> run directory holding
    checkpoint.npz) vs rotation angle, scale factor and diagonal shift of the test digits; three
    panels, one line per net. csv_out gets transform,value,<label>,... (error %)."""
    rows = robustness_errors(runs, angles, scales, shifts, limit, threads)
    csv_out = Path(csv_out)
    csv_out.parent.mkdir(parents=True, exist_ok=True)
    with csv_out.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["transform", "value", *runs])
        for transform, value, errors in rows:
            writer.writerow([transform, f"{value:g}", *(f"{errors[k]:.4f}" for k in runs)])
    n = limit if limit is not None else data.SPLIT_SIZE["test"]
    title = "Test error of rotated, scaled and shifted test digits (not in the paper)"
    panels = (("rotation", "(a) rotation", "degrees, anticlockwise", 0, 20),
              ("scale", "(b) scaling", "scale factor", 1, 0.2),
              ("shift", "(c) diagonal shift", "pixels right and down", 0, 2))
    with _pyplot() as plt:
        import matplotlib.ticker as ticker

        fig, axes = plt.subplots(1, 3, figsize=(7.5, 4.4), dpi=DPI, sharey=True)
        for ax, (transform, name, unit, identity, step) in zip(axes, panels):
            mine = [r for r in rows if r[0] == transform]
            ax.axvline(identity, color="0.6", lw=1, ls=":")
            for k, label in enumerate(runs):
                ax.plot([r[1] for r in mine], [r[2][label] for r in mine], "-o", ms=3.5, lw=1.8,
                        color=f"C{k}", label=label)
            ax.xaxis.set_major_locator(ticker.MultipleLocator(step))
            ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_title(name)
            ax.set_xlabel(unit)
            ax.grid(True, which="major", alpha=0.3)
        axes[0].set_yscale("log")
        axes[0].set_yticks([0.5, 1, 2, 5, 10, 20, 50, 100])
        axes[0].yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axes[0].yaxis.set_minor_formatter(ticker.NullFormatter())
        axes[0].set_ylabel("test error (%)")
        fig.suptitle(f"Test error of rotated, scaled and shifted test digits\n"
                     f"({n:,} test images, warped in the 32x32 field; not in the paper)",
                     fontsize=12)
        handles, labels = axes[0].get_legend_handles_labels()
        ncol = len(labels)  # one legend row if it fits the width, else two columns
        if sum(len(label) + 8 for label in labels) > 90:
            ncol = min(2, len(labels))
        legend_rows = -(-len(labels) // ncol)
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
        fig.tight_layout(rect=(0, 0.02 + 0.06 * legend_rows, 1, 1))
        return _save(plt, fig, out, title)
