"""Property tests of case verdicts over generated valid cases (CASES.md, PRORATION.md).

Rule IDs: INV-03 / R-BILL-01 (billing switches on the change day, no gap, no overlap),
INV-04 (a credit never exceeds what was paid for the unused span), INV-05 / P-RND-01
(exact sums, the currency's minor unit), P-RND-04 (credits round like charges),
P-CHG-01..04 (proration and alignment), P-CAL-02 (cycles), P-MONEY-02/03.

Every expected number here is recomputed independently from the case dict: cycles by
a stdlib reference of add_months, prices from the catalog's decimal strings, and
proration with :class:`fractions.Fraction` and explicit rounding rules.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    CATALOG,
    CURRENCY_DIGITS,
    TERM_FREQUENCIES,
    cases,
    ref_add_months,
    ref_cycle,
    ref_term_end,
)

from sim.harness.cases import evaluate_json, parse_case
from sim.rules.calendar import BILLING_FREQUENCY_MONTHS

ONE_DAY = timedelta(days=1)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- reference arithmetic


def _round_half_up(value: Fraction) -> int:
    """Round a non-negative rational half up (ties away from zero)."""
    floor = value.numerator // value.denominator
    return floor + (1 if 2 * (value - floor) >= 1 else 0)


def _round_half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def _truncate(value: Fraction) -> int:
    return value.numerator // value.denominator


# policy -> (per unit?, rounding of a magnitude, max excess over exact per rounding step)
REFERENCE_POLICIES = {
    "line-half-up": (False, _round_half_up, Fraction(1, 2)),
    "line-half-even": (False, _round_half_even, Fraction(1, 2)),
    "unit-truncate": (True, _truncate, Fraction(0)),
    "unit-half-up": (True, _round_half_up, Fraction(1, 2)),
}


def ref_prorate(unit: Fraction, months: int, quantity: int, billing_days: int,
                cycle_days: int, digits: int, policy: str) -> int:
    """P-CHG-01 magnitude in minor units, computed with Fraction and the policy's rule."""
    per_unit, rounding, _ = REFERENCE_POLICIES[policy]
    unit_minor = unit * months * billing_days * 10**digits / cycle_days
    if per_unit:
        return rounding(unit_minor) * quantity
    return rounding(unit_minor * quantity)


def catalog_plans(case: dict[str, Any]) -> dict[str, dict[str, str]]:
    """plan id -> {term: price string}: the built-in catalog plus the case's own plans."""
    plans = {pid: {t: str(v) for t, v in plan.prices.items()}
             for pid, plan in CATALOG.plans.items()}
    for entry in case.get("catalog", {}).get("plans", []):
        plans[entry["id"]] = dict(entry["prices"])
    return plans


def unit_price(case: dict[str, Any], plan: str, term: str) -> Fraction:
    """The per-license monthly price of `plan` for `term` (P3Y falls back to P1Y)."""
    prices = catalog_plans(case)[plan]
    return Fraction(Decimal(prices.get(term, prices["P1Y"]) if term == "P3Y"
                            else prices[term]))


def the_subscription(case: dict[str, Any]) -> dict[str, Any]:
    wanted = case["request"]["subscription_id"]
    return next(s for s in case["tenant"]["subscriptions"] if s["subscription_id"] == wanted)


def digits_of(case: dict[str, Any]) -> int:
    return CURRENCY_DIGITS[case.get("currency", "USD")]


def policy_of(case: dict[str, Any]) -> str:
    return case.get("rounding", "line-half-up")


def requested_combo(case: dict[str, Any]) -> tuple[str, str, str]:
    """(term, billing frequency, schedule) of a change request, with CASES.md defaults."""
    request = case["request"]
    subscription = the_subscription(case)
    return (request.get("term", subscription["term"]),
            request.get("billing_frequency", subscription["billing_frequency"]),
            request.get("schedule", "now"))


def evaluate(case: dict[str, Any]) -> dict[str, Any]:
    verdict = evaluate_json(case)
    assert "error" not in verdict, (verdict, case)
    return verdict


# ------------------------------------------------------------------ strategy sanity


@PROPERTY_SETTINGS
@given(case=cases())
def test_generated_cases_are_valid(case: dict[str, Any]) -> None:
    """The strategies build only valid cases (CASES.md): parse_case accepts every one."""
    parsed = parse_case(case)
    subscription = the_subscription(case)
    anchor = date.fromisoformat(subscription["anchor"])
    on = date.fromisoformat(case["request"]["on"])
    assert anchor <= on <= ref_term_end(anchor, subscription["term"])
    assert (subscription["term"], subscription["billing_frequency"]) in TERM_FREQUENCIES
    assert parsed.digits == digits_of(case)


# ----------------------------------------------------------------------- (a) no errors


@PROPERTY_SETTINGS
@given(case=cases())
def test_valid_cases_evaluate_without_error(case: dict[str, Any]) -> None:
    """(a) A valid case never raises and never yields an error record (CASES.md)."""
    verdict = evaluate(case)
    request = case["request"]
    assert verdict["format"] == 1
    assert verdict["case_id"] == case["case_id"]
    assert verdict["kind"] == request["kind"]
    assert verdict["currency"] == case.get("currency", "USD")
    assert verdict["rounding"] == policy_of(case)
    if request["kind"] == "change":
        assert isinstance(verdict["automatic_allowed"], bool)
        assert verdict["automatic_allowed"] == (not verdict["blockers"])
        if not verdict["automatic_allowed"]:
            assert verdict["lines"] == [] and verdict["alignment"] is None
    else:
        assert verdict["automatic_allowed"] is None and verdict["blockers"] == []


@PROPERTY_SETTINGS
@given(case=cases(clean=True))
def test_clean_tenants_are_allowed_and_billed(case: dict[str, Any]) -> None:
    """R-ELIG-01..10: a tenant with no blocker condition gets an allowed change."""
    verdict = evaluate(case)
    if case["request"]["kind"] == "change":
        assert verdict["automatic_allowed"] is True, verdict["blockers"]
        assert verdict["blockers"] == []
        assert verdict["lines"]


# ------------------------------------------------------------- (b) INV-05 exact money


def _amount_pattern(digits: int) -> re.Pattern[str]:
    return re.compile(r"-?\d+" if digits == 0 else rf"-?\d+\.\d{{{digits}}}")


@PROPERTY_SETTINGS
@given(case=cases())
def test_inv_05_net_is_exact_sum_of_lines_in_minor_units(case: dict[str, Any]) -> None:
    """(b) INV-05 / P-RND-01 / P-CHG-08: net == exact sum of the line amounts; every
    amount has exactly the currency's minor-unit digits (P-MONEY-02); credits <= 0 <= charges.
    """
    verdict = evaluate(case)
    pattern = _amount_pattern(digits_of(case))
    amounts = []
    for line in verdict["lines"]:
        assert pattern.fullmatch(line["amount"]), line["amount"]
        amount = Decimal(line["amount"])
        amounts.append(amount)
        if line["type"] == "credit":
            assert amount <= 0
        else:
            assert line["type"] == "charge" and amount >= 0
    for key in ("net", "overlap_cost"):
        assert pattern.fullmatch(verdict[key]), (key, verdict[key])
    assert Decimal(verdict["net"]) == sum(amounts, Decimal(0))
    assert Decimal(verdict["overlap_cost"]) >= 0


# ------------------------------------------------------- (c) INV-04 credit bounded


def _credit_bounds(case: dict[str, Any], line: dict[str, Any]) -> None:
    subscription = the_subscription(case)
    assert line["subscription_id"] == subscription["subscription_id"]
    assert line["plan"] == subscription["plan"]
    digits = digits_of(case)
    policy = policy_of(case)
    per_unit, rounding, excess = REFERENCE_POLICIES[policy]
    months = BILLING_FREQUENCY_MONTHS[subscription["billing_frequency"]]
    unit = unit_price(case, subscription["plan"], subscription["term"])
    quantity = line["quantity"]
    billing_days, cycle_days = line["billing_days"], line["cycle_days"]
    start, end = date.fromisoformat(line["start"]), date.fromisoformat(line["end"])
    assert 1 <= billing_days <= cycle_days
    assert billing_days == (end - start).days + 1
    # the credited span lies in one real cycle of the old subscription (P-CAL-02/03)
    anchor = date.fromisoformat(subscription["anchor"])
    cycle_start, cycle_end = ref_cycle(anchor, months, start)
    assert end == cycle_end
    assert cycle_days == (cycle_end - cycle_start).days + 1

    credit = -Decimal(line["amount"]).scaleb(digits)
    assert credit == int(credit)
    credit = int(credit)
    # what was paid for that cycle: the full charge under the same policy
    paid = ref_prorate(unit, months, quantity, cycle_days, cycle_days, digits, policy)
    assert credit <= paid, (credit, paid)
    # the exact unused value, plus at most the policy's rounding excess
    exact = unit * months * quantity * billing_days * 10**digits / cycle_days
    slack = excess * quantity if per_unit else excess
    assert credit <= exact + slack, (credit, exact, slack)
    # and not less than the exact value minus one rounding step (per unit: q steps)
    shortfall = (Fraction(1) if rounding is _truncate else Fraction(1, 2))
    assert credit >= exact - shortfall * (quantity if per_unit else 1)
    if billing_days == cycle_days:
        assert credit == paid  # a full-cycle credit (e.g. the 24 h refund) refunds all paid


@PROPERTY_SETTINGS
@given(case=cases())
def test_inv_04_credit_never_exceeds_what_was_paid(case: dict[str, Any]) -> None:
    """(c) INV-04 / P-CHG-08: every credit line is at most the full charge of its cycle
    (same plan, quantity, policy) and at most the exact unused value u*m*q*b/c plus the
    policy's rounding excess: 1/2 minor unit (line policies), q/2 (unit-half-up), 0
    (unit-truncate).
    """
    verdict = evaluate(case)
    for line in verdict["lines"]:
        if line["type"] == "credit":
            _credit_bounds(case, line)


# --------------------------------------------- (d) P-RND-04 credits round like charges


@PROPERTY_SETTINGS
@given(case=cases())
def test_p_rnd_04_every_line_is_the_signed_reference_magnitude(case: dict[str, Any]) -> None:
    """(d) P-RND-04 / P-CHG-01: each line's amount is +/- the reference magnitude of its
    plan, quantity and span, so a credit and a charge of the same span, plan and
    quantity are exact negatives.
    """
    verdict = evaluate(case)
    subscription = the_subscription(case)
    digits, policy = digits_of(case), policy_of(case)
    for line in verdict["lines"]:
        if line["type"] == "credit":
            term, frequency = subscription["term"], subscription["billing_frequency"]
        else:
            term, frequency, _ = requested_combo(case)
        months = BILLING_FREQUENCY_MONTHS[frequency]
        magnitude = ref_prorate(unit_price(case, line["plan"], term), months,
                                line["quantity"], line["billing_days"], line["cycle_days"],
                                digits, policy)
        sign = -1 if line["type"] == "credit" else 1
        assert Decimal(line["amount"]).scaleb(digits) == sign * magnitude, (line, magnitude)


@PROPERTY_SETTINGS
@given(case=cases(kinds=("change",), clean=True, accounts=("MCA",), mirror=True))
def test_p_rnd_04_mirror_change_credit_equals_minus_charge(case: dict[str, Any]) -> None:
    """(d) P-RND-04 / P-CHG-02: an MCA keep-cycle change to an identically priced plan:
    credit and charge share span and quantity, so credit == -charge and net == 0.
    """
    verdict = evaluate(case)
    assert verdict["alignment"] == "keep-cycle"
    credit, charge = verdict["lines"]
    assert (credit["type"], charge["type"]) == ("credit", "charge")
    for key in ("start", "end", "billing_days", "cycle_days", "quantity"):
        assert credit[key] == charge[key], key
    assert Decimal(credit["amount"]) == -Decimal(charge["amount"])
    assert Decimal(verdict["net"]) == 0


# ------------------------------------------------------------ (e) alignment table


@PROPERTY_SETTINGS
@given(case=cases(kinds=("change",)))
def test_p_chg_02_04_alignment(case: dict[str, Any]) -> None:
    """(e) P-CHG-02: keep-cycle only for MCA, now, unchanged term and frequency;
    P-CHG-03: new-term for MOSA and for MCA changes of term or frequency;
    P-CHG-04: scheduled for MCA changes at renewal.
    """
    verdict = evaluate(case)
    if not verdict["automatic_allowed"]:
        assert verdict["alignment"] is None
        return
    subscription = the_subscription(case)
    term, frequency, schedule = requested_combo(case)
    keeps = term == subscription["term"] and frequency == subscription["billing_frequency"]
    account = case["tenant"]["billing_account"]
    if schedule == "renewal":
        expected = "scheduled"
    elif account == "MCA" and keeps:
        expected = "keep-cycle"
    else:
        expected = "new-term"
    assert verdict["alignment"] == expected
    if expected == "scheduled":
        # P-CHG-04: no credit; the new plan's first cycle is charged on the renewal day
        anchor = date.fromisoformat(subscription["anchor"])
        renewal = ref_term_end(anchor, subscription["term"]) + ONE_DAY
        (charge,) = verdict["lines"]
        assert charge["type"] == "charge"
        assert charge["start"] == renewal.isoformat() == verdict["effective"]
        months = BILLING_FREQUENCY_MONTHS[frequency]
        assert charge["end"] == (ref_add_months(renewal, months) - ONE_DAY).isoformat()
        assert charge["billing_days"] == charge["cycle_days"]


# ------------------------------------------- (f) INV-03 / R-BILL-01 span of a change


@PROPERTY_SETTINGS
@given(case=cases(kinds=("change",), clean=True))
def test_inv_03_now_change_switches_billing_on_the_change_day(case: dict[str, Any]) -> None:
    """(f) INV-03 / R-BILL-01 / P-CAL-04: for a change scheduled now, the credit runs
    from `on` to the last day of the old cycle containing `on` (the old plan is billed up
    to the day before) and the new plan's charge starts on `on`: no gap, no overlap.
    """
    verdict = evaluate(case)
    assert verdict["automatic_allowed"] is True
    _, frequency, schedule = requested_combo(case)
    if schedule != "now":
        return
    subscription = the_subscription(case)
    on = date.fromisoformat(case["request"]["on"])
    anchor = date.fromisoformat(subscription["anchor"])
    old_months = BILLING_FREQUENCY_MONTHS[subscription["billing_frequency"]]
    cycle_start, cycle_end = ref_cycle(anchor, old_months, on)
    credit, charge = verdict["lines"]
    assert (credit["type"], charge["type"]) == ("credit", "charge")
    assert credit["start"] == on.isoformat() == charge["start"] == verdict["effective"]
    assert credit["end"] == cycle_end.isoformat()
    assert credit["billing_days"] == (cycle_end - on).days + 1
    assert credit["cycle_days"] == (cycle_end - cycle_start).days + 1
    # partial MCA moves credit only the licenses that move (R-PATH-02)
    moved = case["request"].get("licenses", subscription["licenses"])
    assert credit["quantity"] == moved == charge["quantity"]
    if verdict["alignment"] == "keep-cycle":
        # P-CHG-02: same span of the same cycle; the term end does not move
        for key in ("end", "billing_days", "cycle_days"):
            assert charge[key] == credit[key], key
    else:
        # P-CHG-03: the new subscription is anchored on `on`, first cycle in full
        new_end = ref_add_months(on, BILLING_FREQUENCY_MONTHS[frequency]) - ONE_DAY
        assert charge["end"] == new_end.isoformat()
        assert charge["billing_days"] == charge["cycle_days"] == (new_end - on).days + 1


# ----------------------------------- month-end anchors around leap days, focused


@settings(max_examples=200, deadline=None)
@given(
    anchor=st.sampled_from([date(2024, 1, 31), date(2024, 2, 29), date(2023, 12, 31),
                            date(2025, 1, 31), date(2027, 1, 31), date(2023, 3, 31)]),
    combo=st.sampled_from(TERM_FREQUENCIES),
    offset=st.integers(0, 1095),
    account=st.sampled_from(["MCA", "MOSA"]),
    policy=st.sampled_from(sorted(REFERENCE_POLICIES)),
    currency=st.sampled_from(sorted(CURRENCY_DIGITS)),
)
def test_inv_04_mosa_and_mca_cancel_at_month_end_anchors(
    anchor: date, combo: tuple[str, str], offset: int, account: str, policy: str,
    currency: str,
) -> None:
    """INV-04 / P-CHG-05 / P-CHG-06 at month-end anchors spanning Feb 29 2024.

    MOSA: a credit over the rest of the current cycle, any day. MCA: inside the 7-day
    window a credit (day 0: the whole cycle), afterwards no credit and an overlap cost.
    """
    term, frequency = combo
    last = ref_term_end(anchor, term)
    on = min(anchor + timedelta(days=offset), last)
    case = {
        "format": 1, "case_id": "c-leap", "currency": currency, "rounding": policy,
        "tenant": {
            "tenant_id": "t-1", "domain": "contoso.com", "country": "US",
            "billing_account": account, "payment_method": "card",
            "subscriptions": [{
                "subscription_id": "s-1", "plan": "BUSINESS_STANDARD", "licenses": 7,
                "assigned": 7, "term": term, "billing_frequency": frequency,
                "anchor": anchor.isoformat(),
            }],
        },
        "request": {"kind": "cancel", "subscription_id": "s-1", "on": on.isoformat()},
    }
    verdict = evaluate(case)
    days = (on - anchor).days
    months = BILLING_FREQUENCY_MONTHS[frequency]
    cycle_start, cycle_end = ref_cycle(anchor, months, on)
    if account == "MCA" and days > 6:
        # P-CHG-05: no credit; overlap cost = rest of this cycle + every later full cycle
        assert verdict["lines"] == []
        digits = CURRENCY_DIGITS[currency]
        unit = unit_price(case, "BUSINESS_STANDARD", term)
        rest = ref_prorate(unit, months, 7, (cycle_end - on).days + 1,
                           (cycle_end - cycle_start).days + 1, digits, policy)
        later = 0
        start = cycle_end + ONE_DAY
        while start <= last:
            later += 1
            start = ref_cycle(anchor, months, start)[1] + ONE_DAY
        full = ref_prorate(unit, months, 7, 1, 1, digits, policy)
        assert Decimal(verdict["overlap_cost"]).scaleb(digits) == rest + later * full
        return
    (credit,) = verdict["lines"]
    _credit_bounds(case, credit)
    assert Decimal(verdict["overlap_cost"]) == 0
    expected_start = cycle_start if account == "MCA" and days == 0 else on
    assert credit["start"] == expected_start.isoformat()
    assert credit["end"] == cycle_end.isoformat()


# ------------------------------------------- cancel and reduce (P-CHG-05..07)


@PROPERTY_SETTINGS
@given(case=cases(kinds=("cancel", "reduce")))
def test_p_chg_05_07_cancel_and_reduce_lines(case: dict[str, Any]) -> None:
    """P-CHG-05 (MCA cancel), P-CHG-06 (MOSA cancel), P-CHG-07 (reduction).

    MOSA: always one credit from `on` for all (cancel) or the removed (reduce) licenses;
    a cancellation above 25 licenses notes the extra reduce step. MCA: inside the 7-day
    window (days 0..6) one credit (a cancel on day 0 refunds the whole cycle), later no
    line and a positive overlap cost unless the plan is free.
    """
    verdict = evaluate(case)
    request = case["request"]
    subscription = the_subscription(case)
    anchor = date.fromisoformat(subscription["anchor"])
    on = date.fromisoformat(request["on"])
    days = (on - anchor).days
    account = case["tenant"]["billing_account"]
    quantity = (subscription["licenses"] if request["kind"] == "cancel"
                else subscription["licenses"] - request["licenses"])
    if account == "MCA" and days > 6:
        assert verdict["lines"] == []
        paid = unit_price(case, subscription["plan"], subscription["term"])
        if paid > 0 and digits_of(case) == 2 and policy_of(case).startswith("line"):
            assert Decimal(verdict["overlap_cost"]) > 0
        return
    (credit,) = verdict["lines"]
    assert credit["type"] == "credit"
    assert credit["quantity"] == quantity
    months = BILLING_FREQUENCY_MONTHS[subscription["billing_frequency"]]
    cycle_start, cycle_end = ref_cycle(anchor, months, on)
    full_refund = account == "MCA" and request["kind"] == "cancel" and days == 0
    assert credit["start"] == (cycle_start if full_refund else on).isoformat()
    assert credit["end"] == cycle_end.isoformat()
    assert Decimal(verdict["overlap_cost"]) == 0
    _credit_bounds(case, credit)
    if account == "MOSA" and request["kind"] == "cancel" and quantity > 25:
        assert any("P-CHG-06" in note for note in verdict["notes"])
