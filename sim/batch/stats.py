"""Statistics across replications: means, Student-t intervals, Welch's test, Holm.

A metric's replications are independent draws (independent seeds), so its mean has the
Student-t confidence interval ``mean ± t(1-α/2, R-1) · sd / √R`` (sd with R-1 degrees of
freedom; the quantile from ``scipy.stats.t``). Float sums use ``math.fsum``, so the
figures do not depend on the order replications finished in. Money metrics are exact
decimal strings (P-MONEY-01): they are aggregated with ``Decimal`` (40 significant
digits) and written with two more decimal places than the currency has, rounded half to
even; only the t quantile itself is a float (as its shortest repr).

Two sets of replications are compared by Welch's unequal-variance t-test; a family of
metrics is corrected with Holm's step-down method (:func:`holm`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from scipy import stats as scipy_stats

__all__ = ["aggregate", "holm", "is_money", "t_quantile", "welch"]

DECIMAL = Context(prec=40, rounding=ROUND_HALF_EVEN)
EXTRA_PLACES = 2  # a money mean keeps two decimal places more than the currency


def t_quantile(confidence: float, df: float) -> float:
    """The two-sided Student-t quantile t(1 - (1 - confidence)/2, df)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return float(scipy_stats.t.ppf(0.5 + confidence / 2.0, df))


def is_money(values: Sequence[Any]) -> bool:
    """Whether the values are exact decimal strings (money metrics of summary.json)."""
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, str) for v in present)


def _float_interval(values: list[float], confidence: float) -> dict[str, Any]:
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return {"mean": mean, "sd": None, "half_width": None, "ci_low": None, "ci_high": None}
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "half_width": half, "ci_low": mean - half,
            "ci_high": mean + half}


def _places(texts: list[str]) -> int:
    return max(max(-Decimal(t).as_tuple().exponent, 0) for t in texts)


def _decimal_interval(texts: list[str], confidence: float) -> dict[str, Any]:
    values = [Decimal(t) for t in texts]
    n = len(values)
    quantum = Decimal(1).scaleb(-(_places(texts) + EXTRA_PLACES))

    def text(value: Decimal) -> str:
        return str(value.quantize(quantum, context=DECIMAL))

    mean = DECIMAL.divide(sum(values, Decimal(0)), Decimal(n))
    if n < 2:
        return {"mean": text(mean), "sd": None, "half_width": None, "ci_low": None,
                "ci_high": None}
    squares = sum((DECIMAL.power(v - mean, 2) for v in values), Decimal(0))
    sd = DECIMAL.sqrt(DECIMAL.divide(squares, Decimal(n - 1)))
    t = Decimal(repr(t_quantile(confidence, n - 1)))
    half = DECIMAL.divide(DECIMAL.multiply(t, sd), DECIMAL.sqrt(Decimal(n)))
    return {"mean": text(mean), "sd": text(sd), "half_width": text(half),
            "ci_low": text(DECIMAL.subtract(mean, half)),
            "ci_high": text(DECIMAL.add(mean, half))}


def aggregate(values: Sequence[Any], unit: str, confidence: float = 0.95) -> dict[str, Any]:
    """Mean, sd, Student-t interval and counts of one metric's replication values.

    `values` has one entry per replication (None where a replication had no value);
    ``n`` counts the values present, ``replications`` all of them. ``value`` repeats the
    mean, so a tool reading a single run's ``metrics[name]["value"]`` reads the mean.
    """
    present = [v for v in values if v is not None and not isinstance(v, bool | dict | list)]
    result: dict[str, Any] = {"unit": unit, "n": len(present), "replications": len(values),
                              "confidence": confidence}
    interval: dict[str, Any] = {"mean": None, "sd": None, "half_width": None,
                                "ci_low": None, "ci_high": None}
    try:
        if present and is_money(present):
            interval = _decimal_interval([str(v) for v in present], confidence)
        elif present:
            interval = _float_interval([float(v) for v in present], confidence)
    except (InvalidOperation, TypeError, ValueError):
        pass  # not a number: the values are kept, without an interval
    result.update(interval)
    result["value"] = interval["mean"]
    result["values"] = list(values)
    return result


def welch(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int
          ) -> tuple[float, float, float]:
    """Welch's t statistic, its Welch-Satterthwaite degrees of freedom and two-sided p.

    With no spread on either side the difference is exact: p is 0 if the means differ,
    1 if they are equal.
    """
    va, vb = sd_a * sd_a / n_a, sd_b * sd_b / n_b
    delta = mean_b - mean_a
    if va + vb == 0.0:
        return (math.inf if delta else 0.0), math.inf, (0.0 if delta else 1.0)
    t = delta / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va * va / (n_a - 1) + vb * vb / (n_b - 1))
    p = float(2.0 * scipy_stats.t.sf(abs(t), df))
    return t, df, p


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate control), input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted
