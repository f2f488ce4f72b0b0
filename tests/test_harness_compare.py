"""Comparing a SUT's verdict with the model's (HARNESS.md section 2).

Verdicts here are written by hand; expected classes come from the HARNESS.md table.
"""

from __future__ import annotations

import copy

import pytest

from sim.harness.compare import CLASSES, MalformedVerdict, compare, parse_fields

MODEL = {
    "format": 1, "case_id": "c-1", "kind": "change", "automatic_allowed": True,
    "blockers": [], "alignment": "keep-cycle",
    "lines": [
        {"type": "credit", "subscription_id": "s-1", "plan": "BUSINESS_BASIC",
         "start": "2026-03-15", "end": "2026-03-30", "billing_days": 16, "cycle_days": 31,
         "quantity": 10, "amount": "-30.97"},
        {"type": "charge", "subscription_id": "s-1", "plan": "BUSINESS_STANDARD",
         "start": "2026-03-15", "end": "2026-03-30", "billing_days": 16, "cycle_days": 31,
         "quantity": 10, "amount": "64.52"},
    ],
    "net": "33.55", "overlap_cost": "0.00", "currency": "USD", "rounding": "line-half-up",
}


def sut(**changes):
    verdict = copy.deepcopy(MODEL)
    verdict.update(changes)
    return verdict


def with_line(index, **changes):
    verdict = copy.deepcopy(MODEL)
    verdict["lines"][index].update(changes)
    return verdict


def test_identical_verdicts_agree_and_extra_fields_are_ignored():
    result = compare(MODEL, sut(invoice_id="INV-9", notes=["x"]))
    assert result.agrees and result.primary is None and result.classes == ()


def test_amounts_compare_as_exact_decimals():
    # "7.5" equals "7.50": trailing zeros and a JSON integer are the same amount.
    assert compare(MODEL, sut(net="33.550", overlap_cost=0)).agrees
    assert compare(MODEL, with_line(0, amount="-30.9700")).agrees


def test_allowed_is_the_primary_class_before_blockers():
    result = compare(MODEL, sut(automatic_allowed=False,
                                blockers=[{"code": "OTHER", "rule": "R-ELIG-10"}],
                                alignment=None, lines=[], net="0.00"))
    assert result.primary == "allowed"
    assert result.classes == ("allowed", "blocker-extra", "alignment", "line-missing")


def test_blockers_compare_as_sets_of_codes():
    model = dict(MODEL, automatic_allowed=False, alignment=None, lines=[], net="0.00",
                 blockers=[{"code": "USERS_EXCEED_LICENSES", "rule": "R-ELIG-01"},
                           {"code": "OTHER", "rule": "R-ELIG-10"}])
    reordered = dict(model, blockers=[{"code": "OTHER"}, {"code": "USERS_EXCEED_LICENSES"}])
    assert compare(model, reordered).agrees
    missing = compare(model, dict(model, blockers=[{"code": "OTHER", "rule": "R-ELIG-10"}]))
    assert missing.classes == ("blocker-missing",)
    assert missing.differences[0]["model"] == "USERS_EXCEED_LICENSES"


def test_lines_match_by_type_plan_and_span_not_by_order():
    swapped = sut(lines=list(reversed(MODEL["lines"])))
    assert compare(MODEL, swapped).agrees
    moved = with_line(1, start="2026-03-16")
    assert compare(MODEL, moved).classes == ("line-missing", "line-extra")


def test_span_class_for_days_or_quantity():
    result = compare(MODEL, with_line(0, billing_days=15))
    assert result.classes == ("span",)
    assert result.differences[0]["field"].endswith(".billing_days")
    assert compare(MODEL, with_line(1, quantity=9)).primary == "span"


def test_one_minor_unit_is_its_own_class_and_more_is_amount():
    assert compare(MODEL, with_line(0, amount="-30.96"), ).classes == ("amount-minor-unit",)
    assert compare(MODEL, with_line(0, amount="-30.95")).classes == ("amount",)
    jpy = dict(MODEL, lines=[dict(MODEL["lines"][0], amount="-3570")], net="-3570")
    assert compare(jpy, dict(jpy, lines=[dict(jpy["lines"][0], amount="-3571")],
                             net="-3571")).primary == "amount-minor-unit"


def test_net_class_only_when_every_line_agrees():
    assert compare(MODEL, sut(net="33.56")).classes == ("net",)
    both = with_line(1, amount="64.53")
    both["net"] = "33.56"
    assert compare(MODEL, both).classes == ("amount-minor-unit",)
    assert compare(MODEL, sut(overlap_cost="1.00")).classes == ("overlap-cost",)


def test_missing_field_unless_fields_narrowed():
    verdict = sut()
    del verdict["overlap_cost"]
    assert compare(MODEL, verdict).classes == ("missing-field",)
    assert compare(MODEL, verdict, parse_fields("lines,net")).agrees
    line_without_amount = copy.deepcopy(MODEL)
    del line_without_amount["lines"][0]["amount"]
    assert compare(MODEL, line_without_amount).primary == "missing-field"


def test_parse_fields_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown field total"):
        parse_fields("net,total")


@pytest.mark.parametrize("bad", [
    [1, 2], "verdict", None,
    dict(MODEL, lines="none"),
    dict(MODEL, lines=[{"type": "credit"}]),
    dict(MODEL, blockers=[{"rule": "R-ELIG-01"}]),
    dict(MODEL, net="thirty"),
    dict(MODEL, net="NaN"),
    dict(MODEL, net=True),
])
def test_malformed_verdicts_raise_malformed_never_something_else(bad):
    with pytest.raises(MalformedVerdict):
        compare(MODEL, bad)


def test_an_error_record_is_malformed():
    with pytest.raises(MalformedVerdict, match="reported an error"):
        compare(MODEL, {"case_id": "c-1", "error": "boom"})


def test_class_order_is_the_harness_table():
    assert CLASSES[0] == "sut-error" and CLASSES[-1] == "missing-field"
    assert CLASSES.index("span") < CLASSES.index("amount-minor-unit") < CLASSES.index("amount")
