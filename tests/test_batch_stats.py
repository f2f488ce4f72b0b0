"""Statistics across replications (issue 10, part 2): references computed independently.

Means and standard deviations come from the ``statistics`` module, t quantiles from a
printed t table (two-sided 95%: df 4 -> 2.776, df 9 -> 2.262), Welch's test from
``scipy.stats.ttest_ind``, Holm by hand, money means from Decimal arithmetic by hand.
"""

from __future__ import annotations

import math
import statistics
from decimal import Decimal

import pytest
from scipy import stats as scipy_stats

from sim.batch.stats import aggregate, holm, t_quantile, welch


def test_t_quantiles_match_a_printed_table():
    assert t_quantile(0.95, 4) == pytest.approx(2.776, abs=5e-4)
    assert t_quantile(0.95, 9) == pytest.approx(2.262, abs=5e-4)
    assert t_quantile(0.99, 4) == pytest.approx(4.604, abs=5e-4)


def test_float_interval():
    values = [12.0, 15.0, 11.0, 18.0, 14.0]
    result = aggregate(values, "minutes")
    mean, sd = statistics.mean(values), statistics.stdev(values)
    half = 2.7764451051977987 * sd / math.sqrt(5)
    assert result["mean"] == pytest.approx(14.0)
    assert result["sd"] == pytest.approx(sd)
    assert result["ci_low"] == pytest.approx(mean - half)
    assert result["ci_high"] == pytest.approx(mean + half)
    assert (result["n"], result["replications"], result["value"]) == (5, 5, result["mean"])


def test_money_is_aggregated_exactly_in_decimal():
    values = ["-0.10", "-0.20", "-0.20"]  # floats would give -0.16666666666666666
    result = aggregate(values, "USD")
    assert result["mean"] == "-0.1667"  # -0.5 / 3, two places more than the currency's
    # sd: deviations 1/15, -1/30, -1/30 -> variance (1/225 + 2/900) / 2 = 1/300
    assert Decimal(result["sd"]) == Decimal(1 / math.sqrt(300)).quantize(Decimal("0.0001"))
    assert isinstance(result["ci_low"], str) and isinstance(result["ci_high"], str)
    assert aggregate(["1200", "1300"], "JPY")["mean"] == "1250.00"


def test_missing_values_are_not_counted():
    result = aggregate([3, None, 5], "attempts")
    assert (result["n"], result["replications"], result["mean"]) == (2, 3, 4.0)
    assert result["values"] == [3, None, 5]


def test_one_replication_has_no_interval():
    result = aggregate([7.5], "minutes")
    assert result["mean"] == 7.5 and result["sd"] is None and result["ci_low"] is None


def test_welch_matches_scipy():
    a, b = [10.1, 9.8, 10.4, 10.0, 9.9], [11.2, 10.1, 12.5, 10.8, 11.9, 12.0]
    t, df, p = welch(statistics.mean(a), statistics.stdev(a), len(a),
                     statistics.mean(b), statistics.stdev(b), len(b))
    reference = scipy_stats.ttest_ind(b, a, equal_var=False)
    assert t == pytest.approx(reference.statistic)
    assert p == pytest.approx(reference.pvalue)
    va, vb = statistics.variance(a) / 5, statistics.variance(b) / 6
    assert df == pytest.approx((va + vb) ** 2 / (va ** 2 / 4 + vb ** 2 / 5))


def test_welch_without_spread_is_exact():
    assert welch(4.0, 0.0, 5, 1.0, 0.0, 5)[2] == 0.0
    assert welch(4.0, 0.0, 5, 4.0, 0.0, 5)[2] == 1.0


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04, 0.30 -> x4, x3, x2, x1 = 0.04, 0.06, 0.08, 0.30 (monotone)
    assert holm([0.04, 0.01, 0.30, 0.02]) == pytest.approx([0.08, 0.04, 0.30, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
