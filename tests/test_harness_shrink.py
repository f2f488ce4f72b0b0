"""Shrinking (HARNESS.md section 3) against an in-process fake SUT with a known defect.

The fake SUT answers the model's verdict, except that it reports a wrong alignment
whenever the requested subscription holds 3 or more licenses. The smallest case that
still shows it therefore has exactly 3 licenses; everything else can go.
"""

from __future__ import annotations

import copy

from sim.harness.adapters import Adapter
from sim.harness.cases import evaluate_json
from sim.harness.shrink import candidates, shrink

CASE = {
    "format": 1, "case_id": "c-big", "currency": "USD", "rounding": "line-half-up",
    "tenant": {
        "tenant_id": "t-1", "domain": "contoso.com", "country": "US",
        "billing_account": "MCA", "payment_method": "invoice", "unpaid_balance": "12.34",
        "credit_check_pending": False, "open_incidents": ["phone_system"],
        "subscriptions": [
            {"subscription_id": "s-0", "plan": "O365_E1", "licenses": 40, "assigned": 3,
             "term": "P1Y", "billing_frequency": "monthly", "anchor": "2025-05-30"},
            {"subscription_id": "s-1", "plan": "BUSINESS_BASIC", "licenses": 120,
             "assigned": 100, "term": "P1Y", "billing_frequency": "monthly",
             "anchor": "2025-07-31", "other_problem": False,
             "add_ons": [{"sku": "TEAMS_PHONE"}, {"sku": "VISIO_PLAN_2"}]},
        ],
    },
    "request": {"kind": "change", "subscription_id": "s-1",
                "target_plan": "BUSINESS_STANDARD", "on": "2025-09-15", "licenses": 120},
}


class AlignmentBug(Adapter):
    name = "fake"

    def __init__(self) -> None:
        self.calls = 0

    def stream(self, items):
        for key, case in items:
            self.calls += 1
            verdict = evaluate_json(case)
            subject = next(s for s in case["tenant"]["subscriptions"]
                           if s["subscription_id"] == case["request"]["subscription_id"])
            if subject["licenses"] >= 3 and verdict.get("alignment"):
                verdict = dict(verdict, alignment="new-term")
            yield key, case, verdict


def test_the_case_is_valid_and_the_fake_disagrees():
    verdict = evaluate_json(CASE)
    assert verdict["automatic_allowed"] is True and verdict["alignment"] == "keep-cycle"


def test_shrinks_to_the_smallest_case_with_the_same_class():
    sut = AlignmentBug()
    found = shrink(copy.deepcopy(CASE), "alignment", sut)
    tenant = found.case["tenant"]
    [subscription] = tenant["subscriptions"]
    assert subscription["subscription_id"] == "s-1"
    assert subscription["licenses"] == 3 and found.case["request"]["licenses"] == 3
    assert subscription["assigned"] <= 3 and not subscription["add_ons"]
    assert tenant["open_incidents"] == [] and tenant["unpaid_balance"] == "0"
    # The anchor moved toward 2026-01-01 (day <= 28), the request day along with it:
    # 2025-07-31 + 46 days = 2025-09-15 becomes 2026-01-28 + 46 days = 2026-03-15.
    assert subscription["anchor"] == "2026-01-28" and found.case["request"]["on"] == "2026-03-15"
    assert found.verdict == evaluate_json(found.case)
    assert found.sut_calls == sut.calls <= 200
    assert CASE["tenant"]["subscriptions"][1]["licenses"] == 120  # the input is not mutated


def test_the_budget_bounds_the_sut_calls():
    sut = AlignmentBug()
    found = shrink(copy.deepcopy(CASE), "alignment", sut, budget=3)
    assert sut.calls == 3 == found.sut_calls
    assert len(found.steps) <= 3


def test_candidates_follow_the_order_of_smaller():
    steps = [description for description, _ in candidates(CASE)]
    first = {kind: next(i for i, d in enumerate(steps) if d.startswith(kind))
             for kind in ("drop subscription", "drop add-on", "drop incident", "licenses",
                          "zero", "anchor")}
    assert list(first) == sorted(first, key=first.get)
    assert "drop subscription s-0" in steps and "drop subscription s-1" not in steps
