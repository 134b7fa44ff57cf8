import math

import numpy as np
import pytest

from lecun98.errors import Lecun98Error
from lecun98.stats import holm, mcnemar, mean_sd, pooled_mcnemar


def _pair():
    """30 images of class 0: A alone right on 10, B alone right on 2, both right on 8."""
    labels = np.zeros(30, dtype=np.int64)
    a, b = np.ones(30, dtype=np.int64), np.ones(30, dtype=np.int64)
    a[:10] = 0
    b[10:12] = 0
    a[12:20] = b[12:20] = 0
    return a, b, labels


def test_mcnemar_is_the_exact_binomial_test():
    a, b, labels = _pair()
    test = mcnemar(a, b, labels)
    # two-sided: 2 P(X <= 2), X ~ Binomial(12, 1/2) = 2 (1 + 12 + 66) / 4096
    assert (test.a_only, test.b_only) == (10, 2)
    assert test.p == pytest.approx(158 / 4096, rel=1e-12)
    assert test.p == pytest.approx(0.0385742, abs=1e-7)


def test_mcnemar_is_symmetric():
    a, b, labels = _pair()
    assert mcnemar(b, a, labels) == (2, 10, mcnemar(a, b, labels).p)


def test_mcnemar_without_discordant_pairs():
    a, _, labels = _pair()
    assert mcnemar(a, a.copy(), labels) == (0, 0, 1.0)


def test_pooled_mcnemar_sums_the_pairs():
    a, b, labels = _pair()
    test = pooled_mcnemar([(a, b), (a, b), (b, a)], labels)
    assert (test.a_only, test.b_only) == (22, 14)
    p = 2 * sum(math.comb(36, k) for k in range(15)) / 2**36
    assert test.p == pytest.approx(p, rel=1e-10)


def test_holm_worked_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.4, 0.6, 0.9]), [1.0, 1.0, 1.0])  # capped
    np.testing.assert_allclose(holm([0.02]), [0.02])
    assert holm([]).shape == (0,)


def test_mean_sd():
    assert mean_sd([1.0, 2.0, 4.0]) == pytest.approx((7 / 3, math.sqrt(7 / 3)))
    mean, sd = mean_sd([0.9])
    assert mean == 0.9 and math.isnan(sd)


@pytest.mark.parametrize("call, message", [
    (lambda a, b, y: mcnemar(a.astype(float), b, y), "pred_a must be a 1-D array of integer"),
    (lambda a, b, y: mcnemar(a, b[:-1], y), "pred_b has 29 entries for 30 labels"),
    (lambda a, b, y: mcnemar(a, b, y.reshape(5, 6)), "labels must be a 1-D array"),
    (lambda a, b, y: pooled_mcnemar([], y), "at least one pair"),
    (lambda a, b, y: holm([0.5, 1.5]), "p-values must lie in [0, 1]"),
    (lambda a, b, y: holm([0.5, float("nan")]), "p-values must lie in [0, 1]"),
    (lambda a, b, y: mean_sd([]), "at least one value"),
])
def test_bad_inputs_give_one_line_errors(call, message):
    with pytest.raises(Lecun98Error) as e:
        call(*_pair())
    assert message in str(e.value) and "\n" not in str(e.value)
