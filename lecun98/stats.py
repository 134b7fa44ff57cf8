"""Comparing trained networks on the same test images: exact McNemar tests, Holm's correction.

Two classifiers scored on the same images are a paired sample: only the images exactly one of
them gets right (the discordant pairs) say which is better, and under "no difference" each such
image is equally likely to favour either, so the count is Binomial(n_discordant, 1/2)
(McNemar 1947, in its exact form). Many comparisons at once are corrected by Holm's step-down
(Holm 1979), which controls the family-wise error rate without assuming independence.
"""

from typing import NamedTuple

import numpy as np
from scipy.stats import binomtest

from lecun98.errors import Lecun98Error


class McNemar(NamedTuple):
    a_only: int  # images A classifies correctly and B does not
    b_only: int  # the reverse
    p: float  # exact two-sided p-value of "A and B are equally accurate"


def _classes(name: str, array, labels: np.ndarray | None = None) -> np.ndarray:
    """array as a 1-D integer array, as long as labels when given."""
    array = np.asarray(array)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise Lecun98Error(f"{name} must be a 1-D array of integer classes, got "
                           f"{array.dtype} of shape {array.shape}")
    if labels is not None and len(array) != len(labels):
        raise Lecun98Error(f"{name} has {len(array)} entries for {len(labels)} labels")
    return array


def _counts(pred_a, pred_b, labels) -> tuple[int, int]:
    labels = _classes("labels", labels)
    right_a = _classes("pred_a", pred_a, labels) == labels
    right_b = _classes("pred_b", pred_b, labels) == labels
    return int(np.sum(right_a & ~right_b)), int(np.sum(right_b & ~right_a))


def _exact(a_only: int, b_only: int) -> McNemar:
    n = a_only + b_only
    p = 1.0 if n == 0 else float(binomtest(a_only, n, 0.5).pvalue)
    return McNemar(a_only, b_only, p)


def mcnemar(pred_a, pred_b, labels) -> McNemar:
    """Exact McNemar test of classifier A against B from their predicted classes (n,)."""
    return _exact(*_counts(pred_a, pred_b, labels))


def pooled_mcnemar(pairs, labels) -> McNemar:
    """One exact test over several (pred_a, pred_b) pairs on the same labels.

    The pairs are matched by seed (A's seed s against B's seed s); their discordant counts are
    summed, i.e. the seed pairs' test images are treated as one paired sample. This tests the
    trained networks on these images; the spread over seeds is reported separately (mean_sd).
    """
    pairs = list(pairs)
    if not pairs:
        raise Lecun98Error("pooled_mcnemar needs at least one pair of predictions")
    a_only = b_only = 0
    for pred_a, pred_b in pairs:
        a, b = _counts(pred_a, pred_b, labels)
        a_only, b_only = a_only + a, b_only + b
    return _exact(a_only, b_only)


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (m,), in the input order; reject where < alpha."""
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    if not np.all((p >= 0) & (p <= 1)):  # also rejects NaN
        raise Lecun98Error(f"p-values must lie in [0, 1], got {p.tolist()}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    # the i-th smallest (0-based) is multiplied by m - i, then made non-decreasing, capped at 1
    stepped = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted


def mean_sd(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; NaN for a single value)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(v) == 0:
        raise Lecun98Error("mean_sd needs at least one value")
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return float(v.mean()), sd
