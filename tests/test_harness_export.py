"""The case exporter, selection and rule coverage (issue 9 items 1-2, HARNESS.md 4).

The exporter is driven here by calling its fleet hooks directly with domain objects
built by hand, as the fleet engine will; expected cases are written out field by field.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest

from sim.harness.casegen import generate_cases
from sim.harness.cases import evaluate_json
from sim.harness.coverage import FLEET_ONLY, RULE_IDS, Coverage, exercised
from sim.harness.export import CaseExporter, JsonLinesSink, export_cases, strata
from sim.rules.billing import cancel_outcome, change_outcome
from sim.rules.catalog import builtin_catalog
from sim.rules.domain import AddOnRef, Subscription, Tenant
from sim.rules.eligibility import RULES_BY_ID
from sim.rules.money import ROUNDING_POLICIES

SPEC = Path(__file__).resolve().parent.parent.parent / "shared" / "spec"
CATALOG = builtin_catalog()


def tenant(**changes):
    subscription = Subscription("s-1", "BUSINESS_BASIC", "contoso.com", 10, 10, "P1Y",
                                "monthly", date(2026, 1, 31),
                                add_ons=[AddOnRef("TEAMS_PHONE", False)])
    base = dict(tenant_id="t-1", domain="contoso.com", country="US",
                billing_account="MOSA", payment_method="invoice",
                subscriptions=[subscription], unpaid_balance=0,
                open_incidents=frozenset({"teams"}))
    base.update(changes)
    return Tenant(**base)


def exporter():
    cases, verdicts = io.StringIO(), io.StringIO()
    return CaseExporter(JsonLinesSink(cases, verdicts), "USD", "line-half-up"), cases, verdicts


def lines_of(buffer):
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_blocked_attempt_is_a_case_of_the_tenant_as_it_stood():
    export, cases, verdicts = exporter()
    snapshot = tenant(unpaid_balance=1234)  # an invoice payer with 12.34 unpaid: R-ELIG-09
    plans = CATALOG.plans
    export.on_attempt("r-7", date(2026, 3, 15), snapshot, snapshot.subscriptions[0],
                      plans["BUSINESS_BASIC"], plans["BUSINESS_STANDARD"],
                      (RULES_BY_ID["R-ELIG-02"], RULES_BY_ID["R-ELIG-09"]))
    snapshot.unpaid_balance = 0  # the live object changes later: the case must not
    [case] = lines_of(cases)
    assert case == {
        "format": 1, "case_id": "r-7#1", "currency": "USD", "rounding": "line-half-up",
        "tenant": {
            "tenant_id": "t-1", "domain": "contoso.com", "country": "US",
            "billing_account": "MOSA", "payment_method": "invoice",
            "unpaid_balance": "12.34", "credit_check_pending": False,
            "open_incidents": ["teams"],
            "subscriptions": [{
                "subscription_id": "s-1", "plan": "BUSINESS_BASIC", "domain": "contoso.com",
                "status": "active", "provisioned": True, "licenses": 10, "assigned": 10,
                "term": "P1Y", "billing_frequency": "monthly", "anchor": "2026-01-31",
                "add_ons": [{"sku": "TEAMS_PHONE", "blocks_change": False}],
                "change_in_progress": False, "eligible_for_change": True,
                "other_problem": False}],
        },
        "request": {"kind": "change", "subscription_id": "s-1",
                    "target_plan": "BUSINESS_STANDARD", "on": "2026-03-15"},
    }
    [verdict] = lines_of(verdicts)
    # teams is a service of BUSINESS_BASIC (R-ELIG-02); the balance blocks an invoice payer.
    assert [b["rule"] for b in verdict["blockers"]] == ["R-ELIG-02", "R-ELIG-09"]
    assert verdict["automatic_allowed"] is False


def test_an_allowed_attempt_waits_for_its_billing_and_matches_the_fleet_lines():
    export, cases, verdicts = exporter()
    snapshot = tenant(billing_account="MCA", open_incidents=frozenset())
    subscription = snapshot.subscriptions[0]
    current, target = CATALOG.plans["BUSINESS_BASIC"], CATALOG.plans["BUSINESS_STANDARD"]
    export.on_attempt("r-8", date(2026, 3, 15), snapshot, subscription, current, target, ())
    assert cases.getvalue() == ""
    subscription.change_in_progress = True  # the engine marks this very change
    outcome = change_outcome(subscription, current, target, date(2026, 3, 15), 10, "P1Y",
                             "monthly", "now", "MCA", 2, ROUNDING_POLICIES["line-half-up"])
    export.on_change_billed("r-8", date(2026, 3, 15), snapshot, subscription, current,
                            target, 10, "P1Y", "monthly", "now", outcome)
    [case], [verdict] = lines_of(cases), lines_of(verdicts)
    assert case["request"] == {"kind": "change", "subscription_id": "s-1",
                               "target_plan": "BUSINESS_STANDARD", "on": "2026-03-15",
                               "licenses": 10, "term": "P1Y", "billing_frequency": "monthly",
                               "schedule": "now"}
    assert case["tenant"]["subscriptions"][0]["change_in_progress"] is False
    # Keep-cycle (P-CHG-02): cycle 2026-02-28..2026-03-30 (31 days, anchor Jan 31),
    # 16 days from Mar 15: credit 6.00 * 10 * 16/31 = 30.967.. -> -30.97,
    # charge 12.50 * 10 * 16/31 = 64.516.. -> 64.52.
    assert [(line["type"], line["amount"]) for line in verdict["lines"]] == [
        ("credit", "-30.97"), ("charge", "64.52")]
    assert export.mismatches == []  # the fleet's own lines are the verdict's


def test_a_fleet_outcome_that_drifts_from_the_model_is_reported():
    export, _, _ = exporter()
    snapshot = tenant()
    subscription = snapshot.subscriptions[0]
    plan = CATALOG.plans["BUSINESS_BASIC"]
    wrong = cancel_outcome(subscription, plan, date(2026, 3, 1), "MOSA", 2,
                           ROUNDING_POLICIES["line-half-up"])  # billed for another day
    export.on_cancel_billed("r-9", date(2026, 3, 15), snapshot, subscription, plan, wrong)
    assert len(export.mismatches) == 1 and export.mismatches[0].startswith("r-9#1")


def test_reduce_and_a_case_the_model_rejects():
    export, cases, _ = exporter()
    snapshot = tenant()
    subscription = snapshot.subscriptions[0]
    subscription.assigned = 6
    plan = CATALOG.plans["BUSINESS_BASIC"]
    export.on_reduce_billed("r-10", date(2026, 3, 15), snapshot, subscription, plan, 7, None)
    export.on_reduce_billed("r-11", date(2026, 3, 15), snapshot, subscription, plan, 5, None)
    [case] = lines_of(cases)  # 5 < 6 assigned: INV-06, the model rejects it
    assert case["request"] == {"kind": "reduce", "subscription_id": "s-1",
                               "on": "2026-03-15", "licenses": 7}
    assert export.exported == 1 and sum(export.rejected.values()) == 1


def test_a_plan_the_builtin_catalog_lacks_is_embedded_in_the_case():
    from dataclasses import replace

    export, cases, _ = exporter()
    cheap = replace(CATALOG.plans["BUSINESS_BASIC"], prices={"P1M": 1, "P1Y": 1})
    snapshot = tenant()
    export.on_cancel_billed("r-12", date(2026, 3, 15), snapshot, snapshot.subscriptions[0],
                            cheap, None)
    [case] = lines_of(cases)
    assert case["catalog"]["plans"][0]["id"] == "BUSINESS_BASIC"
    assert case["catalog"]["plans"][0]["prices"] == {"P1M": "1", "P1Y": "1"}


def test_sample_is_deterministic_and_stratify_fills_every_stratum(tmp_path):
    cases = list(generate_cases(600, seed=3))
    first = export_cases(cases, tmp_path / "a", sample=50, seed=9)
    export_cases(cases, tmp_path / "b", sample=50, seed=9)
    assert first["cases"] == 50
    assert (tmp_path / "a/cases.jsonl").read_text() == (tmp_path / "b/cases.jsonl").read_text()
    report = export_cases(cases, tmp_path / "c", stratify=3)
    produced, kept = {}, {}
    for case in cases:
        verdict = evaluate_json(case)
        if "error" not in verdict:
            for key in strata(case, verdict):
                produced[key] = produced.get(key, 0) + 1
    for line in (tmp_path / "c/cases.jsonl").open():
        case = json.loads(line)
        for key in strata(case, evaluate_json(case)):
            kept[key] = kept.get(key, 0) + 1
    assert {key: min(count, 3) for key, count in produced.items()} == \
        {key: min(kept.get(key, 0), 3) for key in produced}
    assert report["cases"] < 200  # only what the strata need
    verdicts = [json.loads(line) for line in (tmp_path / "c/verdicts.jsonl").open()]
    assert verdicts == [evaluate_json(json.loads(line))
                        for line in (tmp_path / "c/cases.jsonl").open()]


def test_export_refuses_a_folder_of_other_files(tmp_path):
    from sim.harness.outputs import OutputError

    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(OutputError, match="choose a new directory"):
        export_cases([], tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


# ----------------------------------------------------------------------- coverage


def test_rule_ids_match_the_spec_files():
    if not SPEC.is_dir():
        pytest.skip("../shared/spec is not here")
    rules = (SPEC / "RULES.md").read_text()
    sections = rules[rules.index("## 3."):]  # sections 3-7
    expected = re.findall(r"(?:\*\*|\| )((?:R-[A-Z]+|INV)-\d\d)", sections)
    expected += sorted(set(re.findall(r"\*\*(P-[A-Z]+-\d\d)", (SPEC / "PRORATION.md")
                                      .read_text())), key=lambda i: (i.split("-")[1], i))
    assert sorted(RULE_IDS) == sorted(dict.fromkeys(expected))


def test_exercised_ids_of_a_blocked_mca_change_and_a_month_end_cancel():
    blocked = {"kind": "change", "blockers": [{"code": "OTHER", "rule": "R-ELIG-10"},
                                              {"code": "X", "rule": "R-ELIG-02"}],
               "automatic_allowed": False, "alignment": None, "lines": [],
               "overlap_cost": "0.00"}
    case = {"tenant": {"billing_account": "MCA", "subscriptions": [
        {"subscription_id": "s-1", "anchor": "2026-01-31"}]},
        "request": {"subscription_id": "s-1"}}
    ids = exercised(case, blocked)
    assert {"R-ELIG-02", "R-ELIG-10", "R-ELIG-11", "R-ELIG-12", "R-ELIG-13",
            "P-CAL-02"} <= ids
    assert "R-BILL-01" not in ids and "P-CHG-01" not in ids


def test_coverage_lists_unexercised_ids_and_marks_fleet_only_ones():
    coverage = Coverage()
    for case in generate_cases(300, seed=5):
        verdict = evaluate_json(case)
        if "error" not in verdict:
            coverage.add(case, verdict)
    unexercised = coverage.unexercised()
    assert set(unexercised) == set(FLEET_ONLY)  # every case-level ID is reached
    table = coverage.table()
    assert "R-AUTO-06" in table and "not exercised (a fleet-level rule)" in table
    assert coverage.to_json()["rules"]["R-ELIG-08"] > 0
