"""Proration and billing lines (PRORATION.md section 3; RULES.md R-BILL-01/02, R-PATH-02).

Every amount is computed by hand in a comment. Prices (built-in catalog, USD per
license per month): BUSINESS_BASIC P1Y 6.00; BUSINESS_STANDARD P1Y 12.50, P1M 15.00;
O365_E1 P1Y 10.00.

Calendar facts used below (P-CAL-02): an anchor of 2026-01-31 billed monthly has cycle
k=1 = 2026-02-28..2026-03-30 (31 days); an anchor of 2026-01-10 has cycle
k=0 = 2026-01-10..2026-02-09 (31 days) and k=2 = 2026-03-10..2026-04-09 (31 days).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from helpers import evaluate_case

from sim.rules.billing import (
    ALIGNMENTS,
    alignment_for,
    cancel_outcome,
    change_outcome,
    overlap_cost,
    reduce_outcome,
)
from sim.rules.catalog import builtin_catalog
from sim.rules.domain import Subscription
from sim.rules.money import ROUNDING_POLICIES, Price, prorate

HALF_UP = ROUNDING_POLICIES["line-half-up"]
CATALOG = builtin_catalog()
BASIC = CATALOG.plan("BUSINESS_BASIC")
STANDARD = CATALOG.plan("BUSINESS_STANDARD")


def subscription(**overrides) -> Subscription:
    fields = dict(subscription_id="s-1", plan="BUSINESS_BASIC", domain="contoso.com",
                  licenses=10, assigned=10, term="P1Y", billing_frequency="monthly",
                  anchor=date(2026, 1, 10))
    fields.update(overrides)
    return Subscription(**fields)


def amounts(verdict: dict) -> list[str]:
    assert "error" not in verdict, verdict
    return [line["amount"] for line in verdict["lines"]]


def net_of(verdict: dict) -> str:
    """P-CHG-08 check: the verdict's net equals the sum of its lines, in cents."""
    total = sum((Decimal(amount) for amount in amounts(verdict)), Decimal("0.00"))
    assert verdict["net"] == str(total)
    return verdict["net"]


# ------------------------------------------------------------------------- P-CHG-01


def test_prorated_line_formula_P_CHG_01():
    """P-CHG-01: amount = u * m * q * billing_days / cycle_days, rounded once."""
    # 6.00 * 1 * 10 * 16 / 31 = 960/31 = 30.967... -> 30.97 -> 3097 minor units
    assert prorate(Price(6, 1), 1, 10, 16, 31, 2, HALF_UP) == 3097
    # 12.50 * 1 * 10 * 16 / 31 = 2000/31 = 64.516... -> 64.52
    assert prorate(Price(25, 2), 1, 10, 16, 31, 2, HALF_UP) == 6452
    # annual cycle: 6.00 * 12 * 10 * 100 / 365 = 72000/365 = 197.260... -> 197.26
    assert prorate(Price(6, 1), 12, 10, 100, 365, 2, HALF_UP) == 19726
    # the whole cycle is u * m * q: 6.00 * 12 * 10 = 720.00
    assert prorate(Price(6, 1), 12, 10, 365, 365, 2, HALF_UP) == 72000
    # JPY has no minor unit: 1000 * 1 * 3 * 10 / 31 = 30000/31 = 967.74 -> 968
    assert prorate(Price(1000, 1), 1, 3, 10, 31, 0, HALF_UP) == 968


def test_rounding_policies_P_CHG_01():
    """P-CHG-01 with the PRORATION.md section 4 policies (unit vs line rounding)."""
    # unit price 6.00 * 16/31 = 3.0967...; truncated 3.09 * 10 = 30.90, half-up 3.10 * 10
    assert prorate(Price(6, 1), 1, 10, 16, 31, 2, ROUNDING_POLICIES["unit-truncate"]) == 3090
    assert prorate(Price(6, 1), 1, 10, 16, 31, 2, ROUNDING_POLICIES["unit-half-up"]) == 3100
    # an exact tie: 0.05 * 1 * 1 * 15/30 = 0.025 -> half up 0.03, half even 0.02
    assert prorate(Price(1, 20), 1, 1, 15, 30, 2, HALF_UP) == 3
    assert prorate(Price(1, 20), 1, 1, 15, 30, 2, ROUNDING_POLICIES["line-half-even"]) == 2


def test_credit_is_negated_rounded_magnitude_P_CHG_01():
    """P-CHG-01 / P-RND-04: a credit of a tie rounds like a charge: 0.025 -> -0.03."""
    plans = [{"id": "NICKEL", "sector": "commercial", "services": {"exchange": 2},
              "prices": {"P1M": "0.05", "P1Y": "0.05"}}]
    # MOSA cancel on 2026-04-16 of a sub anchored 2026-04-01: cycle Apr 1..30 (30 days),
    # billing Apr 16..30 (15 days): 0.05 * 1 * 1 * 15/30 = 0.025
    verdict = evaluate_case(
        catalog={"plans": plans},
        subscription={"plan": "NICKEL", "licenses": 1, "assigned": 1,
                      "anchor": "2026-04-01"},
        request={"kind": "cancel", "on": "2026-04-16", "target_plan": None})
    assert amounts(verdict) == ["-0.03"]
    verdict = evaluate_case(
        catalog={"plans": plans}, rounding="line-half-even",
        subscription={"plan": "NICKEL", "licenses": 1, "assigned": 1,
                      "anchor": "2026-04-01"},
        request={"kind": "cancel", "on": "2026-04-16", "target_plan": None})
    assert amounts(verdict) == ["-0.02"]


# ------------------------------------------------------------------------- P-CHG-02


def test_mca_keep_cycle_change_P_CHG_02():
    """P-CHG-02: MCA keeping term and frequency: credit and charge over the same span."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"})
    assert verdict["alignment"] == "keep-cycle"
    assert verdict["effective"] == "2026-03-15"
    credit, charge = verdict["lines"]
    # cycle 2026-02-28..2026-03-30 = 31 days; 2026-03-15..2026-03-30 = 16 days
    assert (credit["type"], credit["plan"], credit["start"], credit["end"]) == (
        "credit", "BUSINESS_BASIC", "2026-03-15", "2026-03-30")
    assert (charge["type"], charge["plan"], charge["start"], charge["end"]) == (
        "charge", "BUSINESS_STANDARD", "2026-03-15", "2026-03-30")
    for line in (credit, charge):
        assert (line["billing_days"], line["cycle_days"], line["quantity"], line["rule"]) == (
            16, 31, 10, "P-CHG-02")
    # credit: 6.00 * 10 * 16/31 = 30.967 -> -30.97; charge: 12.50 * 10 * 16/31 = 64.516
    # -> 64.52; net 64.52 - 30.97 = 33.55
    assert amounts(verdict) == ["-30.97", "64.52"]
    assert net_of(verdict) == "33.55"
    assert verdict["overlap_cost"] == "0.00"


def test_keep_cycle_direct_P_CHG_02():
    """P-CHG-02 through ``change_outcome``: alignment from the ALIGNMENTS table."""
    sub = subscription(anchor=date(2026, 1, 31))
    outcome = change_outcome(sub, BASIC, STANDARD, date(2026, 3, 15), 10, "P1Y", "monthly",
                             "now", "MCA", 2, HALF_UP)
    assert outcome.alignment == "keep-cycle"
    assert [line.amount for line in outcome.lines] == [-3097, 6452]
    assert [line.rule for line in outcome.lines] == ["P-CHG-02", "P-CHG-02"]
    assert outcome.net == 3355  # P-CHG-08


# ------------------------------------------------------------------------- P-CHG-03


def test_mosa_change_is_new_term_P_CHG_03():
    """P-CHG-03: MOSA: credit the rest of the old cycle; new cycle anchored on the day."""
    verdict = evaluate_case()
    assert verdict["alignment"] == "new-term"
    assert verdict["effective"] == "2026-03-15"
    credit, charge = verdict["lines"]
    # credit: as P-CHG-02, 2026-03-15..2026-03-30, 6.00 * 10 * 16/31 -> -30.97
    assert (credit["start"], credit["end"], credit["billing_days"], credit["cycle_days"],
            credit["quantity"], credit["rule"]) == (
        "2026-03-15", "2026-03-30", 16, 31, 10, "P-CHG-03")
    # charge: new cycle 2026-03-15..2026-04-14 (31 days) in full: 12.50 * 10 = 125.00
    assert (charge["start"], charge["end"], charge["billing_days"], charge["cycle_days"],
            charge["quantity"], charge["rule"]) == (
        "2026-03-15", "2026-04-14", 31, 31, 10, "P-CHG-03")
    assert amounts(verdict) == ["-30.97", "125.00"]
    # net 125.00 - 30.97 = 94.03
    assert net_of(verdict) == "94.03"


def test_mca_change_of_term_is_new_term_P_CHG_03():
    """P-CHG-03: an MCA change to a P1M term starts a new term at the P1M price."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"term": "P1M", "billing_frequency": "monthly"})
    assert verdict["alignment"] == "new-term"
    charge = verdict["lines"][1]
    assert (charge["start"], charge["end"]) == ("2026-03-15", "2026-04-14")
    # credit -30.97 (as above); charge 15.00 (P1M) * 10 = 150.00; net 119.03
    assert amounts(verdict) == ["-30.97", "150.00"]
    assert net_of(verdict) == "119.03"


def test_mca_change_of_frequency_is_new_term_P_CHG_03():
    """P-CHG-03: an MCA change to annual billing charges the first annual cycle in full."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"billing_frequency": "annual"})
    assert verdict["alignment"] == "new-term"
    charge = verdict["lines"][1]
    # new cycle 2026-03-15..2027-03-14 = 365 days; 12.50 * 12 * 10 = 1500.00
    assert (charge["start"], charge["end"], charge["billing_days"], charge["cycle_days"]) == (
        "2026-03-15", "2027-03-14", 365, 365)
    assert amounts(verdict) == ["-30.97", "1500.00"]
    assert net_of(verdict) == "1469.03"


# ------------------------------------------------------------------------- P-CHG-04


def test_scheduled_change_at_renewal_P_CHG_04():
    """P-CHG-04: effective on add_months(anchor, 12); no credit; first cycle charged."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"schedule": "renewal"})
    assert verdict["alignment"] == "scheduled"
    # renewal = add_months(2026-01-31, 12) = 2027-01-31
    assert verdict["effective"] == "2027-01-31"
    (charge,) = verdict["lines"]
    # first cycle 2027-01-31..2027-02-27 (add_months(2027-01-31, 1) = 2027-02-28, minus 1)
    assert (charge["type"], charge["plan"], charge["start"], charge["end"],
            charge["billing_days"], charge["cycle_days"], charge["quantity"],
            charge["rule"]) == (
        "charge", "BUSINESS_STANDARD", "2027-01-31", "2027-02-27", 28, 28, 10, "P-CHG-04")
    # 12.50 * 10 = 125.00
    assert amounts(verdict) == ["125.00"]
    assert net_of(verdict) == "125.00"


def test_scheduled_change_new_term_price_P_CHG_04():
    """P-CHG-04: a scheduled move to P1M is charged at the P1M price: 15.00 * 10."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"schedule": "renewal", "term": "P1M"})
    assert verdict["alignment"] == "scheduled"
    assert verdict["effective"] == "2027-01-31"
    assert amounts(verdict) == ["150.00"]


def test_alignment_table_P_CHG_02_03_04():
    """P-CHG-02..04: the ALIGNMENTS table; MOSA has no scheduled change."""
    assert alignment_for("MCA", "now", True) == "keep-cycle"
    assert alignment_for("MCA", "now", False) == "new-term"
    assert alignment_for("MOSA", "now", True) == "new-term"
    assert alignment_for("MOSA", "now", False) == "new-term"
    assert alignment_for("MCA", "renewal", True) == "scheduled"
    assert alignment_for("MCA", "renewal", False) == "scheduled"
    assert len(ALIGNMENTS) == 6
    with pytest.raises(ValueError, match="MOSA"):
        alignment_for("MOSA", "renewal", True)


# ------------------------------------------------------------------------- P-CHG-05


def mca_cancel(on: str, **subscription_overrides) -> dict:
    fields = {"anchor": "2026-01-10", **subscription_overrides}
    return evaluate_case(tenant={"billing_account": "MCA"}, subscription=fields,
                         request={"kind": "cancel", "on": on, "target_plan": None})


def test_mca_cancel_day_0_full_refund_P_CHG_05():
    """P-CHG-05: within 24 h (day 0) a full refund of the cycle's charge."""
    verdict = mca_cancel("2026-01-10")
    assert verdict["automatic_allowed"] is None
    assert verdict["blockers"] == []
    (credit,) = verdict["lines"]
    # cycle 2026-01-10..2026-02-09 = 31 days, all refunded: 6.00 * 10 = 60.00
    assert (credit["type"], credit["start"], credit["end"], credit["billing_days"],
            credit["cycle_days"], credit["quantity"], credit["rule"]) == (
        "credit", "2026-01-10", "2026-02-09", 31, 31, 10, "P-CHG-05")
    assert amounts(verdict) == ["-60.00"]
    assert net_of(verdict) == "-60.00"
    assert verdict["overlap_cost"] == "0.00"
    assert any("full refund" in note for note in verdict["notes"])


def test_mca_cancel_day_1_is_past_the_24_hour_full_refund_P_CHG_05():
    """P-CHG-05: the full refund is for the first 24 hours (day 0) only; on day 1 the rest
    of the cycle is credited: 2026-01-11..2026-02-09 = 30 of 31 days,
    6.00 * 10 * 30/31 = 58.0645... -> -58.06 (half up)."""
    verdict = mca_cancel("2026-01-11")
    (credit,) = verdict["lines"]
    assert (credit["start"], credit["end"], credit["billing_days"], credit["cycle_days"]) == (
        "2026-01-11", "2026-02-09", 30, 31)
    assert amounts(verdict) == ["-58.06"]
    assert not any("full refund" in note for note in verdict["notes"])


def test_mca_cancel_day_6_inside_window_P_CHG_05():
    """P-CHG-05 / R-MAN-07: day 6 is inside the 7-day window: credit the rest."""
    verdict = mca_cancel("2026-01-16")
    (credit,) = verdict["lines"]
    # 2026-01-16..2026-02-09 = 16 + 9 = 25 days: 6.00 * 10 * 25/31 = 48.387 -> -48.39
    assert (credit["start"], credit["end"], credit["billing_days"], credit["cycle_days"]) == (
        "2026-01-16", "2026-02-09", 25, 31)
    assert amounts(verdict) == ["-48.39"]
    assert net_of(verdict) == "-48.39"
    assert verdict["overlap_cost"] == "0.00"


def test_mca_cancel_day_7_outside_window_overlap_P_CHG_05():
    """P-CHG-05 / R-MAN-07: day 7 is outside: no lines; overlap to the end of the term."""
    verdict = mca_cancel("2026-01-17")
    assert verdict["lines"] == []
    assert verdict["net"] == "0.00"
    # rest of cycle k=0: 2026-01-17..2026-02-09 = 15 + 9 = 24 days:
    #   6.00 * 10 * 24/31 = 1440/31 = 46.4516 -> 46.45
    # later cycles k=1..11 of the annual term: 11 * 60.00 = 660.00
    # overlap = 46.45 + 660.00 = 706.45
    assert verdict["overlap_cost"] == "706.45"
    assert verdict["notes"]


def test_mca_cancel_later_cycle_overlap_P_CHG_05():
    """P-CHG-05: cancelling in cycle k=2 counts the rest of it plus cycles 3..11."""
    verdict = mca_cancel("2026-03-20")
    assert verdict["lines"] == []
    # cycle k=2: 2026-03-10..2026-04-09 (31 days); 2026-03-20..2026-04-09 = 12 + 9 = 21:
    #   60.00 * 21/31 = 1260/31 = 40.645 -> 40.65; cycles 3..11: 9 * 60.00 = 540.00
    assert verdict["overlap_cost"] == "580.65"


def test_mca_cancel_annual_billing_overlap_P_CHG_05():
    """P-CHG-05: annual term billed annually: overlap is the rest of the only cycle."""
    verdict = mca_cancel("2026-06-01", billing_frequency="annual")
    assert verdict["lines"] == []
    # cycle 2026-01-10..2027-01-09 = 365 days; 2026-06-01..2027-01-09 = 214 + 9 = 223 days
    # 6.00 * 12 * 10 * 223/365 = 160560/365 = 439.890 -> 439.89; no later cycle
    assert verdict["overlap_cost"] == "439.89"


def test_overlap_cost_direct_P_CHG_05():
    """P-CHG-05: ``overlap_cost`` in minor units (as test above: 70645)."""
    assert overlap_cost(subscription(), BASIC, 10, date(2026, 1, 17), 2, HALF_UP) == 70645
    # last cycle (k=11: 2026-12-10..2027-01-09, 31 days) on its last day: 60.00 * 1/31
    # = 1.935 -> 1.94, no later cycle
    assert overlap_cost(subscription(), BASIC, 10, date(2027, 1, 9), 2, HALF_UP) == 194


def test_cancel_outcome_direct_P_CHG_05():
    """P-CHG-05 through ``cancel_outcome``: day 6 in, day 7 out."""
    inside = cancel_outcome(subscription(), BASIC, date(2026, 1, 16), "MCA", 2, HALF_UP)
    assert [line.amount for line in inside.lines] == [-4839]
    assert inside.overlap_cost == 0
    outside = cancel_outcome(subscription(), BASIC, date(2026, 1, 17), "MCA", 2, HALF_UP)
    assert outside.lines == ()
    assert outside.overlap_cost == 70645
    assert outside.net == 0


# ------------------------------------------------------------------------- P-CHG-06


def test_mosa_cancel_30_licenses_note_same_credit_P_CHG_06():
    """P-CHG-06: MOSA cancel of 30 licenses: a note about the 25 limit, full credit."""
    verdict = evaluate_case(
        subscription={"anchor": "2026-01-10", "licenses": 30, "assigned": 30},
        request={"kind": "cancel", "on": "2026-01-20", "target_plan": None})
    (credit,) = verdict["lines"]
    # 2026-01-20..2026-02-09 = 12 + 9 = 21 of 31 days:
    #   6.00 * 30 * 21/31 = 3780/31 = 121.935 -> -121.94
    assert (credit["start"], credit["end"], credit["billing_days"], credit["quantity"],
            credit["rule"]) == ("2026-01-20", "2026-02-09", 21, 30, "P-CHG-06")
    assert amounts(verdict) == ["-121.94"]
    assert net_of(verdict) == "-121.94"
    assert len(verdict["notes"]) == 1
    assert "25" in verdict["notes"][0]
    assert "30" in verdict["notes"][0]


def test_mosa_cancel_25_licenses_no_note_P_CHG_06():
    """P-CHG-06 threshold: 25 licenses cancel online, no note."""
    verdict = evaluate_case(
        subscription={"anchor": "2026-01-10", "licenses": 25, "assigned": 25},
        request={"kind": "cancel", "on": "2026-01-20", "target_plan": None})
    # 6.00 * 25 * 21/31 = 3150/31 = 101.6129 -> -101.61
    assert amounts(verdict) == ["-101.61"]
    assert verdict["notes"] == []


def test_mosa_cancel_any_time_P_CHG_06():
    """P-CHG-06: MOSA credits at any time, even well past 7 days; no overlap."""
    verdict = evaluate_case(
        subscription={"anchor": "2026-01-10"},
        request={"kind": "cancel", "on": "2026-03-20", "target_plan": None})
    # cycle k=2, 21 of 31 days: 6.00 * 10 * 21/31 = 40.645 -> -40.65
    assert amounts(verdict) == ["-40.65"]
    assert verdict["overlap_cost"] == "0.00"


# ------------------------------------------------------------------------- P-CHG-07


def reduce(on: str, account: str, licenses: int = 4) -> dict:
    return evaluate_case(
        tenant={"billing_account": account},
        subscription={"anchor": "2026-01-10", "licenses": 10, "assigned": 4},
        request={"kind": "reduce", "on": on, "licenses": licenses, "target_plan": None})


def test_mosa_reduce_any_time_P_CHG_07():
    """P-CHG-07: MOSA: prorated credit for the removed licenses, at any time."""
    verdict = reduce("2026-03-20", "MOSA")
    (credit,) = verdict["lines"]
    # removed 10 - 4 = 6; 21 of 31 days: 6.00 * 6 * 21/31 = 756/31 = 24.387 -> -24.39
    assert (credit["quantity"], credit["billing_days"], credit["cycle_days"],
            credit["rule"]) == (6, 21, 31, "P-CHG-07")
    assert amounts(verdict) == ["-24.39"]
    assert verdict["effective"] == "2026-03-20"
    assert verdict["overlap_cost"] == "0.00"


def test_mca_reduce_inside_window_P_CHG_07():
    """P-CHG-07: MCA within 7 days of the start: credit for the removed licenses."""
    verdict = reduce("2026-01-12", "MCA")
    # 2026-01-12..2026-02-09 = 20 + 9 = 29 days: 6.00 * 6 * 29/31 = 1044/31 = 33.677
    assert amounts(verdict) == ["-33.68"]
    assert verdict["lines"][0]["quantity"] == 6
    assert verdict["effective"] == "2026-01-12"
    # day 6: 25 days: 6.00 * 6 * 25/31 = 900/31 = 29.032 -> -29.03
    assert amounts(reduce("2026-01-16", "MCA")) == ["-29.03"]


def test_mca_reduce_outside_window_effective_at_renewal_P_CHG_07():
    """P-CHG-07: MCA after 7 days: no credit, effective at renewal, overlap cost."""
    verdict = reduce("2026-01-17", "MCA")
    assert verdict["lines"] == []
    assert verdict["net"] == "0.00"
    # renewal = add_months(2026-01-10, 12)
    assert verdict["effective"] == "2027-01-10"
    # 6 removed licenses: rest of cycle 24/31: 6.00 * 6 * 24/31 = 864/31 = 27.871 -> 27.87
    # plus cycles 1..11: 11 * 36.00 = 396.00 -> 423.87
    assert verdict["overlap_cost"] == "423.87"
    assert any("2027-01-10" in note for note in verdict["notes"])


def test_reduce_outcome_direct_P_CHG_07():
    """P-CHG-07 through ``reduce_outcome`` (minor units)."""
    sub = subscription(assigned=4)
    inside = reduce_outcome(sub, BASIC, date(2026, 1, 12), 4, "MCA", 2, HALF_UP)
    assert [line.amount for line in inside.lines] == [-3368]
    outside = reduce_outcome(sub, BASIC, date(2026, 1, 17), 4, "MCA", 2, HALF_UP)
    assert outside.lines == ()
    assert outside.overlap_cost == 42387
    assert outside.effective == date(2027, 1, 10)
    mosa = reduce_outcome(sub, BASIC, date(2026, 1, 17), 4, "MOSA", 2, HALF_UP)
    # 24/31 days: 6.00 * 6 * 24/31 -> -27.87
    assert [line.amount for line in mosa.lines] == [-2787]
    assert mosa.overlap_cost == 0


# ------------------------------------------------------------------------- P-CHG-08


@pytest.mark.parametrize(
    ("overrides", "net"),
    [
        ({}, "94.03"),  # P-CHG-03 MOSA change
        ({"tenant": {"billing_account": "MCA"}}, "33.55"),  # P-CHG-02
        ({"tenant": {"billing_account": "MCA"}, "request": {"licenses": 4}},
         "13.42"),  # R-PATH-02
    ],
)
def test_net_is_sum_of_lines_P_CHG_08(overrides, net):
    """P-CHG-08: net = sum of the lines (P-RND-01: no re-rounding of the total)."""
    assert net_of(evaluate_case(**overrides)) == net


def test_outcome_net_property_P_CHG_08():
    """P-CHG-08: ``BillingOutcome.net`` is the sum of line amounts."""
    sub = subscription(anchor=date(2026, 1, 31))
    outcome = change_outcome(sub, BASIC, STANDARD, date(2026, 3, 15), 10, "P1Y", "monthly",
                             "now", "MOSA", 2, HALF_UP)
    assert outcome.net == sum(line.amount for line in outcome.lines) == -3097 + 12500


# ------------------------------------------------------------------------- R-PATH-02


def test_partial_mca_move_credits_moved_licenses_R_PATH_02():
    """R-PATH-02: an MCA move of 4 of 10 licenses credits and charges 4 only."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"}, request={"licenses": 4})
    assert verdict["alignment"] == "keep-cycle"
    assert [line["quantity"] for line in verdict["lines"]] == [4, 4]
    # credit: 6.00 * 4 * 16/31 = 384/31 = 12.387 -> -12.39
    # charge: 12.50 * 4 * 16/31 = 800/31 = 25.806 -> 25.81; net 13.42
    assert amounts(verdict) == ["-12.39", "25.81"]
    assert net_of(verdict) == "13.42"


def test_partial_mca_move_new_term_R_PATH_02():
    """R-PATH-02: a partial MCA move to P1M: credit 4 old, charge 4 new for a full cycle."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"licenses": 4, "term": "P1M"})
    assert verdict["alignment"] == "new-term"
    # credit -12.39 (as above); charge 15.00 * 4 = 60.00
    assert amounts(verdict) == ["-12.39", "60.00"]
    assert [line["quantity"] for line in verdict["lines"]] == [4, 4]


# ------------------------------------------------------------------------- R-BILL-01


@pytest.mark.parametrize("account", ["MCA", "MOSA"])
def test_old_billing_stops_on_completion_day_R_BILL_01(account):
    """R-BILL-01 / INV-03: the credit of the old plan and the charge of the new one both
    start on the change day: the old plan is billed up to the day before."""
    verdict = evaluate_case(tenant={"billing_account": account})
    credit, charge = verdict["lines"]
    assert verdict["effective"] == "2026-03-15"
    assert credit["start"] == "2026-03-15"  # old billing stops here (day included)
    assert charge["start"] == "2026-03-15"  # new billing starts here
    # the credit runs to the end of the old cycle (2026-03-30), so the old plan stays
    # billed for 2026-02-28..2026-03-14 only
    assert credit["end"] == "2026-03-30"


def test_change_on_first_day_of_cycle_credits_whole_cycle_R_BILL_01():
    """R-BILL-01: a change on a cycle's first day credits the whole cycle (31/31)."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"on": "2026-02-28"})
    credit, charge = verdict["lines"]
    assert (charge["start"], charge["end"]) == ("2026-02-28", "2026-03-30")
    # cycle k=1 2026-02-28..2026-03-30 (31 days): 6.00 * 10 = 60.00; 12.50 * 10 = 125.00
    assert (credit["billing_days"], credit["cycle_days"]) == (31, 31)
    assert amounts(verdict) == ["-60.00", "125.00"]


# ------------------------------------------------------------------------- R-BILL-02


def test_credit_due_on_cheaper_plan_R_BILL_02():
    """R-BILL-02 / INV-04: a move to a cheaper plan leaves a prorated credit owed."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            subscription={"plan": "BUSINESS_STANDARD"},
                            request={"target_plan": "O365_E1"})
    # credit: 12.50 * 10 * 16/31 = 64.516 -> -64.52
    # charge: 10.00 * 10 * 16/31 = 1600/31 = 51.613 -> 51.61; net -12.91 (owed)
    assert amounts(verdict) == ["-64.52", "51.61"]
    assert net_of(verdict) == "-12.91"
    # INV-04: never more than was paid for the unused span (the credit line)
    assert abs(Decimal(verdict["net"])) <= abs(Decimal(verdict["lines"][0]["amount"]))


def test_credit_line_is_always_present_R_BILL_02():
    """R-BILL-02: an allowed immediate change always carries a credit for the old plan."""
    for account in ("MCA", "MOSA"):
        verdict = evaluate_case(tenant={"billing_account": account})
        assert [line["type"] for line in verdict["lines"]] == ["credit", "charge"]
        assert verdict["lines"][0]["plan"] == "BUSINESS_BASIC"
        assert verdict["lines"][0]["amount"].startswith("-")
