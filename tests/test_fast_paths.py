"""The throughput shortcuts (issues 9 and 11) change speed, never a result.

- compare's identical-verdict shortcut must not hide a disagreement the full comparison
  finds (HARNESS.md 2: ``automatic_allowed`` is a boolean, counts are integers);
- the cached calendar functions (P-CAL-02/05/06, P-TIME-01) answer as the uncached ones;
- format_minor (P-MONEY-01) agrees with the standard library's Decimal rendering;
- check's typed road gives the strict road's model verdict (CASES.md), and the bytes a
  ``cmd:`` SUT is sent are ``json.dumps(case, separators=(",", ":"))``.

Expected values come from hand-written verdicts, the standard library, or the
functions' own uncached bodies (``__wrapped__``), never from the shortcut under test.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from sim.harness.adapters import encode_case
from sim.harness.casegen import generate_cases
from sim.harness.cases import evaluate_json
from sim.harness.check import _model
from sim.harness.compare import compare
from sim.rules.calendar import add_business_days, add_months, term_end
from sim.rules.invoicing import mca_invoice_date
from sim.rules.money import format_minor

LINE = {"type": "credit", "subscription_id": "s-1", "plan": "BUSINESS_BASIC",
        "start": "2026-03-15", "end": "2026-03-30", "billing_days": 16, "cycle_days": 31,
        "quantity": 1, "amount": "-30.97"}
MODEL = {"case_id": "c-1", "automatic_allowed": True, "blockers": [],
         "alignment": "keep-cycle", "lines": [LINE], "net": "-30.97",
         "overlap_cost": "0.00"}


def _sut(**changes):
    verdict = copy.deepcopy(MODEL)
    verdict.update(changes)
    return verdict


def test_identical_verdicts_agree() -> None:
    assert compare(MODEL, _sut()).agrees


@pytest.mark.parametrize(("sut", "klass"), [
    (_sut(automatic_allowed=1), "allowed"),  # 1 == True, but not a boolean
    (_sut(lines=[dict(LINE, quantity=True)]), "span"),  # True == 1, but not a count
    (_sut(lines=[dict(LINE, amount="-30.96")]), "amount-minor-unit"),
    (_sut(net="-30.96"), "net"),
    (_sut(lines=[]), "line-missing"),
])
def test_a_near_identical_verdict_still_disagrees(sut, klass) -> None:
    assert compare(MODEL, sut).primary == klass


def test_equal_amounts_written_differently_agree_through_the_full_comparison() -> None:
    # "-30.970" is not the model's text, so the shortcut declines; the full rule agrees.
    assert compare(MODEL, _sut(lines=[dict(LINE, amount="-30.970")], net="-30.970")).agrees


def test_a_missing_compared_field_is_still_reported() -> None:
    verdict = _sut()
    del verdict["overlap_cost"]
    assert compare(MODEL, verdict).classes == ("missing-field",)


def test_cached_calendar_functions_answer_as_their_bodies() -> None:
    anchors = [date(2023, 1, 31), date(2024, 2, 29), date(2025, 8, 31), date(2026, 3, 14)]
    for anchor in anchors:
        for months in range(0, 40):
            assert add_months(anchor, months) == add_months.__wrapped__(anchor, months)
            assert add_months(anchor, months) == add_months.__wrapped__(anchor, months)
        for term, months in (("P1M", 1), ("P1Y", 12), ("P3Y", 36)):
            assert term_end(anchor, term) == add_months.__wrapped__(anchor, months) - \
                timedelta(days=1)
    day = date(2026, 1, 1)
    for offset in range(0, 400, 7):
        dated = day + timedelta(days=offset)
        for invoice_day in (1, 5, 28, 29, 31):
            assert mca_invoice_date(dated, invoice_day) == \
                mca_invoice_date.__wrapped__(dated, invoice_day)
        assert add_business_days(dated, 4, "US") == \
            add_business_days.__wrapped__(dated, 4, "US")


def test_add_months_clamps_from_the_anchor_when_cached() -> None:
    # P-CAL-02 by hand: Jan 31 + 1 month is Feb 29 in 2024, + 2 months is Mar 31.
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)
    assert add_months(date(2100, 1, 31), 1) == date(2100, 2, 28)  # not a leap year


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 4])
def test_format_minor_matches_decimal(digits) -> None:
    for amount in (0, 1, -1, 9, -9, 10, 99, 100, -100, 12345, -12345, 10**18 - 1):
        expected = str(Decimal(amount).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
        assert format_minor(amount, digits) == expected


def test_check_model_verdicts_are_the_strict_roads() -> None:
    cases = list(generate_cases(300, seed=7))
    cases.append(dict(cases[0], case_id="a:b"))  # a colon: the typed road declines
    cases.append(dict(cases[1], currency="JPY"))
    for case in cases:
        line = encode_case(case)
        assert line == json.dumps(case, separators=(",", ":")).encode() + b"\n"
        assert _model(case, line) == evaluate_json(case)
