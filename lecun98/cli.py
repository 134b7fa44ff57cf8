"""python -m lecun98 {train,evaluate}: bad arguments and files give one line and exit 2."""

import argparse
import dataclasses
import json

import numpy as np

from lecun98 import config as c
from lecun98.config import MAX_THREADS, Config
from lecun98.errors import Lecun98Error, run_script


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# the values a text flag takes, for --help (Config checks them)
_CHOICES = {"loss": tuple(dict.fromkeys(x for v in c.LOSSES.values() for x in v)),
            "subsampling": tuple(c.SUBSAMPLING),
            "bias_init": c.BIAS_INITS, "dtype": c.DTYPES, "activation": c.ACTIVATIONS,
            "pooling": c.POOLINGS, "c3": c.C3_KINDS, "output": c.OUTPUTS,
            "optimiser": c.OPTIMISERS, "input": c.INPUTS, "init": c.INITS,
            "distortion_draw": c.DISTORTION_DRAWS}


def _config_flags(parser: argparse.ArgumentParser) -> None:
    for field in dataclasses.fields(Config):
        if field.name == "eta":
            parser.add_argument("--eta", type=float, nargs="+", help="global rate per pass")
            continue
        if field.name == "distortion_ranges":
            parser.add_argument("--distortion-ranges", type=float, nargs=4,
                                metavar=("SHIFT", "SCALE", "SQUEEZE", "SHEAR"),
                                help=f"distortion half-widths (default {field.default})")
            continue
        kind = _boolean if isinstance(field.default, bool) else type(field.default)
        choices = "|".join(_CHOICES.get(field.name, ()))
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=None,
                            metavar=choices or None, help=f"(default {field.default})")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m lecun98", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train LeNet-5 (resumes an interrupted run)")
    t.add_argument("--config", help="JSON file of configuration keys (flags override it)")
    t.add_argument("--run-dir", default="runs/lenet5", help="output folder (default runs/lenet5)")
    t.add_argument("--data-dir", help="folder of the MNIST files (default data/mnist)")
    _config_flags(t)
    e = sub.add_parser("evaluate", help="test error and confusion matrix of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--data-dir", help="folder of the MNIST files (default data/mnist)")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _train(args) -> int:
    from lecun98.train import train

    values = Config.from_file(args.config).to_dict() if args.config else {}
    for field in dataclasses.fields(Config):
        v = getattr(args, field.name)
        if v is not None:
            values[field.name] = v
    config = Config.from_dict(values)
    summary = train(config, args.run_dir, data_dir=args.data_dir)
    print(json.dumps(summary, indent=2))
    return 0


def _evaluate(args) -> int:
    from lecun98 import checkpoint, data, model

    if not 1 <= args.threads <= MAX_THREADS:
        raise Lecun98Error(f"--threads must be in 1..{MAX_THREADS}, got {args.threads}")
    params, config, (background, foreground) = checkpoint.load(args.checkpoint)
    raw, labels = data.load_mnist_raw("test", args.data_dir)
    labels = labels.astype(np.int64)
    images = data.normalise(raw, background=background, foreground=foreground)
    classes, _ = model.predict(params, images, config, args.threads)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, classes), 1)
    errors = int((classes != labels).sum())
    result = {"test_error_pct": 100.0 * errors / len(labels), "errors": errors,
              "confusion": confusion.tolist()}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"test error {result['test_error_pct']:.2f}% ({errors} of {len(labels)})")
    print("confusion matrix (rows: true class, columns: predicted)")
    print("      " + " ".join(f"{c:5d}" for c in range(10)))
    for r in range(10):
        print(f"{r:5d} " + " ".join(f"{v:5d}" for v in confusion[r]))
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    return run_script(lambda: {"train": _train, "evaluate": _evaluate}[args.command](args),
                      "interrupted: finished passes are saved; run the same command to resume")
