"""Numbers for people (issue 12, part 1): durations, counts, money, ratios, rule names.

Expected texts are written by hand; the property tests check that no input, however
large or small, ever comes out in scientific notation.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.report.format import (
    format_count,
    format_duration,
    format_metric,
    format_money,
    format_number,
    format_ratio,
)
from sim.report.names import RULE_NAMES, label_rule_ids, rule_label

SPEC = Path("/work/shared/spec")
SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


@pytest.mark.parametrize(("minutes", "text"), [
    (0, "0 minutes"), (45, "45 minutes"), (64.4, "64.4 minutes"), (119, "119 minutes"),
    (150, "2.5 hours"), (2879, "48 hours"),  # 47.98 h shows as 48 hours, still below 2 days
    (2880, "2 days"), (36860, "25.6 days"),  # the lead_time.p90 3.686e+04 minutes
])
def test_durations_in_the_largest_sensible_unit(minutes, text):
    assert format_duration(minutes) == text


def test_counts_have_thousands_separators():
    assert format_count(1234567) == "1,234,567"
    assert format_count(0) == "0"
    assert format_metric(156600.0, "GB") == "156,600 GB"  # the 1.566e+05
    assert format_metric(2962, "requests") == "2,962 requests"


@pytest.mark.parametrize(("amount", "currency", "text"), [
    ("-81181.72", "USD", "USD -81,181.72"),
    ("5753340", "USD", "USD 5,753,340.00"),  # the 5.75334e+06 USD
    ("1735368", "JPY", "JPY 1,735,368"),  # JPY has no minor unit (P-MONEY-02)
    ("0.005", "EUR", "EUR 0.01"),  # display rounds half-up to the minor unit
    ("-0.001", "SEK", "SEK 0.00"),  # never a negative zero
])
def test_money_with_minor_units_separators_and_code_p_money_02(amount, currency, text):
    assert format_money(amount, currency) == text
    assert format_metric(amount, currency) == text


def test_money_from_minor_units():
    assert format_money(-8118172, "USD", minor=True) == "USD -81,181.72"
    assert format_money(900, "JPY", minor=True) == "JPY 900"
    assert format_metric("12.50", "GBP converted") == "GBP 12.50 converted"


@pytest.mark.parametrize(("ratio", "text"), [
    (0.578947, "57.9%"), (0.04, "4%"), (1, "100%"), (0, "0%"), (0.0004, "<0.1%")])
def test_ratios_as_percentages(ratio, text):
    assert format_ratio(ratio) == text
    assert format_metric(ratio, "ratio") == text


def test_hours_and_missing_values():
    assert format_metric(42.2, "hours") == "42.2 hours"
    assert format_metric(141.6, "hours") == "5.9 days"
    assert format_metric(None, "minutes") == "n/a"
    assert format_number(float("inf")) == "n/a"


@given(st.floats(min_value=-1e18, max_value=1e18, allow_nan=False),
       st.sampled_from(["minutes", "hours", "ratio", "GB", "requests/hour", "USD", "JPY"]))
def test_no_scientific_notation_ever(value, unit):
    text = format_metric(value, unit)
    assert not SCIENTIFIC.search(text), text
    assert "e+" not in text and "e-" not in text


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False))
def test_format_number_keeps_the_magnitude(value):
    """Separators and rounding aside, the printed number is the number (relative 1%)."""
    text = format_number(value)
    shown = Decimal(text.replace(",", ""))
    assert abs(float(shown) - value) <= max(abs(value) * 0.01, 0.51)


# ---------------------------------------------------------------------------- rule names


def _spec_rule_ids() -> set[str]:
    text = "".join(path.read_text() for path in SPEC.glob("*.md"))
    return set(re.findall(r"\b(?:R-[A-Z]+|P-[A-Z]+|INV)-\d+\b", text))


@pytest.mark.skipif(not SPEC.is_dir(), reason="spec not available")
def test_every_rule_id_of_the_spec_has_a_short_name():
    missing = sorted(_spec_rule_ids() - set(RULE_NAMES))
    assert not missing


def test_rule_label_and_free_text():
    assert rule_label("P-CHG-05") == "P-CHG-05 MCA cancellation"
    assert rule_label("X-NEW-01") == "X-NEW-01"
    text = "credits (P-CHG-05) and R-ELIG-07 blockers"
    labelled = label_rule_ids(text)
    assert labelled == ("credits (P-CHG-05 MCA cancellation) and R-ELIG-07 target lacks "
                        "data services blockers")
    assert label_rule_ids(labelled) == labelled  # named once, never twice
