"""When money moves: invoice and cash dates (PRORATION.md section 5 as amended
2026-11-30, R-BILL-03/04, INV-07).

Every expected date is derived by hand from the amended text in the test's docstring or
comment. MCA (P-TIME-01): the invoice on day D of a month carries the lines dated from
D+1 of the previous month through D; with D = 5, a line dated on the 1st..5th is on that
month's 5th, a line dated on the 6th or later on the next month's 5th. MOSA (P-TIME-02):
a change or cancellation credit is on the closing invoice the day after the change;
other lines on the day after the billing period they start in ends (span end + 1).

Dates used (2026): Mar 15 Sun, Mar 31 Tue, Apr 5 Sun, Nov 26 Thanksgiving (US),
Dec 24 Thu, Dec 25 Christmas, Jan 1 2027 New Year's Day.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta

import pytest
from helpers import evaluate_case, make_case
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.harness.cases import evaluate, parse_case, verdict_to_json
from sim.rules.billing import Line, cancel_outcome, change_outcome
from sim.rules.catalog import builtin_catalog
from sim.rules.domain import Subscription
from sim.rules.invoicing import (
    BillingTerms,
    cash_date,
    inv07_late_credit,
    invoice_date,
    late_credit,
)
from sim.rules.money import DEFAULT_POLICY, ROUNDING_POLICIES

ONE_DAY = timedelta(days=1)


def line(kind: str = "credit", start: date = date(2026, 3, 15),
         end: date = date(2026, 3, 30), amount: int = -3097, rule: str = "P-CHG-02") -> Line:
    return Line(kind, "s-1", "BUSINESS_BASIC", start, end, (end - start).days + 1, 31, 10,
                amount, rule)


def dates(verdict: dict, key: str) -> list[str]:
    assert "error" not in verdict, verdict
    return [entry[key] for entry in verdict["lines"]]


def walk_to_mca_invoice(dated: date, invoice_day: int) -> date:
    """Independent reference for P-TIME-01: step forward a day at a time from the line's
    date until a day that is its month's invoice day (clamped to the month's last day)."""
    day = dated
    while day.day != min(invoice_day, monthrange(day.year, day.month)[1]):
        day += ONE_DAY
    return day


def days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


# ------------------------------------------------------------------------ P-TIME-01


def test_mca_change_on_next_months_invoice_P_TIME_01():
    """P-TIME-01: MCA change on 2026-03-15, invoice day 5: 15 Mar is in the window
    6 Mar..5 Apr -> both keep-cycle lines on 2026-04-05."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"})
    assert dates(verdict, "invoice_date") == ["2026-04-05", "2026-04-05"]


def test_mca_december_change_invoiced_in_january_P_TIME_01():
    """P-TIME-01: 2026-12-15 is in the window 6 Dec..5 Jan -> 2027-01-05 (year wraps)."""
    assert invoice_date(line(start=date(2026, 12, 15), end=date(2026, 12, 30)), "MCA") == (
        date(2027, 1, 5))


@pytest.mark.parametrize(("on", "invoiced", "days"), [
    ("2026-07-01", "2026-07-05", 4),  # window 6 Jun..5 Jul: same month
    ("2026-07-02", "2026-07-05", 3),  # the old rule gave 2026-08-05, 34 days (late)
    ("2026-07-05", "2026-07-05", 0),  # the invoice day itself closes the window
    ("2026-07-06", "2026-08-05", 30),  # window 6 Jul..5 Aug: the longest wait
    ("2026-01-06", "2026-02-05", 30),  # window 6 Jan..5 Feb: 25 days to 31 Jan + 5
    ("2026-02-06", "2026-03-05", 27),  # window 6 Feb..5 Mar: 22 days to 28 Feb + 5
])
def test_mca_change_around_the_invoice_day_P_TIME_01(on, invoiced, days):
    """P-TIME-01: a line dated on or before the invoice day (5) is on that month's
    invoice; one dated after it on the next month's. The gap is at most 30 days."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            subscription={"anchor": "2025-12-20"}, request={"on": on})
    assert dates(verdict, "invoice_date") == [invoiced, invoiced]
    assert (date.fromisoformat(invoiced) - date.fromisoformat(on)).days == days
    assert verdict["violations"] == []


def test_mca_new_purchase_invoiced_next_day_P_TIME_01():
    """P-TIME-01: the new subscription of a new-term change is a new purchase: invoiced
    the next day; the credit goes on the monthly invoice."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"}, request={"term": "P1M"})
    assert verdict["alignment"] == "new-term"
    # credit (2026-03-15, window 6 Mar..5 Apr) -> 2026-04-05; new purchase -> 2026-03-16
    assert dates(verdict, "invoice_date") == ["2026-04-05", "2026-03-16"]


def test_mca_scheduled_change_invoiced_day_after_renewal_P_TIME_01():
    """P-TIME-01: a scheduled change's charge is dated the renewal (2027-01-31), a new
    purchase, invoiced upfront the next day."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"schedule": "renewal"})
    assert dates(verdict, "invoice_date") == ["2027-02-01"]


def test_invoice_day_is_a_parameter_P_TIME_01():
    """P-TIME-01: the invoice day is a scenario parameter (default 5). 15 Mar with D = 1:
    window 2 Mar..1 Apr -> 04-01; D = 20: window 21 Feb..20 Mar -> 03-20."""
    credit = line()
    assert invoice_date(credit, "MCA") == date(2026, 4, 5)
    assert invoice_date(credit, "MCA", BillingTerms(invoice_day=1)) == date(2026, 4, 1)
    assert invoice_date(credit, "MCA", BillingTerms(invoice_day=20)) == date(2026, 3, 20)


@pytest.mark.parametrize("invoice_day", [0, 32, -5])
def test_invoice_day_outside_a_month_is_refused_P_TIME_01(invoice_day):
    with pytest.raises(ValueError, match="invoice_day"):
        BillingTerms(invoice_day=invoice_day)


def test_event_day_overrides_the_line_start_P_TIME_01():
    """A line's date is the day of its event; `event_day` overrides ``line.start``:
    dated 2026-03-03 -> window 6 Feb..5 Mar -> 03-05 (MCA); MOSA closing 03-04."""
    credit = line(start=date(2026, 3, 15))
    assert invoice_date(credit, "MCA", event_day=date(2026, 3, 3)) == date(2026, 3, 5)
    assert invoice_date(credit, "MOSA", event_day=date(2026, 3, 3)) == date(2026, 3, 4)


@pytest.mark.parametrize(("invoice_day", "dated", "invoiced"), [
    # D = 31: invoices 31 Jan, 28 Feb, 31 Mar, 30 Apr, 31 May; windows follow them.
    (31, "2026-01-31", "2026-01-31"),
    (31, "2026-02-01", "2026-02-28"),  # Feb window 1..28 Feb
    (31, "2026-02-28", "2026-02-28"),
    (31, "2026-03-01", "2026-03-31"),  # Mar window 1..31 Mar (30 days, the longest)
    (31, "2026-04-30", "2026-04-30"),  # 30-day month: clamped to the 30th
    (31, "2026-05-01", "2026-05-31"),
    (31, "2028-02-29", "2028-02-29"),  # leap February: clamped to the 29th
    # D = 30: Feb invoice 28 Feb (2026) / 29 Feb (2028); Mar 30; Apr 30.
    (30, "2026-01-31", "2026-02-28"),  # Feb window 31 Jan..28 Feb
    (30, "2026-03-01", "2026-03-30"),  # Mar window 1..30 Mar
    (30, "2026-03-31", "2026-04-30"),  # Apr window 31 Mar..30 Apr
    (30, "2028-01-31", "2028-02-29"),
    (30, "2028-03-01", "2028-03-30"),
    # D = 29: Feb invoice 28 Feb (2026) / 29 Feb (2028).
    (29, "2026-01-30", "2026-02-28"),  # Feb window 30 Jan..28 Feb
    (29, "2026-03-01", "2026-03-29"),  # Mar window 1..29 Mar
    (29, "2028-01-30", "2028-02-29"),
    (29, "2028-03-01", "2028-03-29"),
    # D = 28: never clamped; a leap day is after the February invoice.
    (28, "2026-01-29", "2026-02-28"),
    (28, "2026-02-28", "2026-02-28"),
    (28, "2026-03-01", "2026-03-28"),
    (28, "2028-02-29", "2028-03-28"),  # Mar window 29 Feb..28 Mar
    (28, "2028-02-28", "2028-02-28"),
    (30, "2026-11-30", "2026-11-30"),
    (30, "2026-12-01", "2026-12-30"),
    (31, "2026-12-01", "2026-12-31"),  # 30 days
])
def test_invoice_days_28_to_31_in_short_months_P_TIME_01(invoice_day, dated, invoiced):
    """P-TIME-01 with an invoice day past a month's end: the invoice is clamped to the
    month's last day, and the next window starts the day after that clamped invoice."""
    on = date.fromisoformat(dated)
    credit = line(start=on, end=on + timedelta(days=10))
    terms = BillingTerms(invoice_day=invoice_day)
    assert invoice_date(credit, "MCA", terms) == date.fromisoformat(invoiced)


@pytest.mark.parametrize("year", [2026, 2028])  # 2028: leap year
@pytest.mark.parametrize("invoice_day", range(1, 32))
def test_mca_windows_tile_the_year_P_TIME_01(year, invoice_day):
    """P-TIME-01: every day of a year maps to exactly one MCA invoice, the first one on
    or after it; the days of one invoice are exactly (previous invoice, this invoice];
    no line waits more than 30 days (P-TIME-03)."""
    terms = BillingTerms(invoice_day=invoice_day)
    by_invoice: dict[date, list[date]] = {}
    for day in days_of(year):
        invoiced = invoice_date(line(start=day, end=day), "MCA", terms)
        assert invoiced == walk_to_mca_invoice(day, invoice_day), day
        assert 0 <= (invoiced - day).days <= 30, day
        by_invoice.setdefault(invoiced, []).append(day)
    # Independent: the invoice dates of the year and the next January, from the text.
    invoice_dates = [date(y, m, min(invoice_day, monthrange(y, m)[1]))
                     for y, m in [(year, m) for m in range(1, 13)] + [(year + 1, 1)]]
    previous = date(year - 1, 12, min(invoice_day, 31))
    for invoiced in invoice_dates:
        window = by_invoice.pop(invoiced, [])
        first = max(previous + ONE_DAY, date(year, 1, 1))
        last = min(invoiced, date(year, 12, 31))
        expected = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        assert window == expected, invoiced
        previous = invoiced
    assert by_invoice == {}  # no day went to any other date


# ------------------------------------------------------------------------ P-TIME-02


def test_mosa_change_credit_on_closing_invoice_P_TIME_02():
    """P-TIME-02: a MOSA change on 2026-03-15 closes the old subscription's billing: the
    credit is on the closing invoice 2026-03-16. The new subscription's first cycle is
    03-15..04-14, so its charge is on the invoice of the day after: 2026-04-15."""
    verdict = evaluate_case()
    assert [entry["type"] for entry in verdict["lines"]] == ["credit", "charge"]
    assert dates(verdict, "invoice_date") == ["2026-03-16", "2026-04-15"]


def test_mosa_cancel_credit_invoice_P_TIME_02():
    """P-TIME-02: MOSA cancel on 2026-01-20 -> closing invoice 2026-01-21 (the old rule:
    the day after the cycle 01-10..02-09, 2026-02-10)."""
    verdict = evaluate_case(subscription={"anchor": "2026-01-10"},
                            request={"kind": "cancel", "on": "2026-01-20",
                                     "target_plan": None})
    assert dates(verdict, "invoice_date") == ["2026-01-21"]


@pytest.mark.parametrize(("term", "frequency", "charge_invoice", "old_credit_invoice"), [
    # annual: new cycle 2026-03-15..2027-03-14; old cycle ended 2027-01-09
    ("P1Y", "annual", "2027-03-15", "2027-01-10"),
    # triennial: new cycle 2026-03-15..2029-03-14; old cycle ended 2029-01-09
    ("P3Y", "triennial", "2029-03-15", "2029-01-10"),
])
def test_mosa_annual_and_triennial_credits_next_day_P_TIME_02_INV_07(
        term, frequency, charge_invoice, old_credit_invoice):
    """P-TIME-02 / INV-07: a MOSA change on 2026-03-15 of a subscription anchored
    2026-01-10 and billed annually or triennially: the credit is invoiced the next day,
    2026-03-16 (the old rule put it on `old_credit_invoice`, 301 or 1,032 days later).
    The new subscription's charge is invoiced the day after its first cycle."""
    verdict = evaluate_case(subscription={"anchor": "2026-01-10", "term": term,
                                          "billing_frequency": frequency})
    assert dates(verdict, "invoice_date") == ["2026-03-16", charge_invoice]
    assert verdict["lines"][0]["type"] == "credit"
    assert verdict["violations"] == []
    assert date.fromisoformat(old_credit_invoice) > date(2026, 4, 14)  # would be late


def test_mosa_credit_line_direct_P_TIME_02():
    """P-TIME-02: ``invoice_date`` of MOSA lines: a cancellation credit dated 02-10 ->
    02-11 whatever its span; a reduction credit ending 02-28 -> 03-01 (day after the
    billing period); a seat-addition charge ending 02-28 -> 03-01."""
    cancel = line(start=date(2026, 2, 10), end=date(2026, 12, 31), rule="P-CHG-06")
    reduce = line(start=date(2026, 2, 10), end=date(2026, 2, 28), rule="P-CHG-07")
    seats = line("charge", date(2026, 2, 10), date(2026, 2, 28), 1000, "P-CHG-01")
    assert invoice_date(cancel, "MOSA") == date(2026, 2, 11)
    assert invoice_date(reduce, "MOSA") == date(2026, 3, 1)
    assert invoice_date(seats, "MOSA") == date(2026, 3, 1)


def test_mosa_reduction_waits_for_the_period_end_P_TIME_02():
    """P-TIME-02: a MOSA reduction on 2026-03-15 of an annual cycle 2026-01-10..
    2027-01-09 is invoiced 2027-01-10; it is not a plan-change credit (INV-07)."""
    verdict = evaluate_case(subscription={"anchor": "2026-01-10", "assigned": 8,
                                          "billing_frequency": "annual"},
                            request={"kind": "reduce", "licenses": 8, "target_plan": None})
    assert dates(verdict, "invoice_date") == ["2027-01-10"]
    assert verdict["violations"] == []


# ------------------------------------------------------------------ P-TIME-03 / INV-07


def test_late_credit_function_INV_07():
    """INV-07 / P-TIME-03: ``late_credit`` flags plan-change and cancellation credits
    only, strictly over the limit (a billing system under test could issue these)."""
    changed = date(2026, 1, 2)
    credit = line(start=changed, end=date(2026, 1, 31))
    charge = line(kind="charge", start=changed, end=date(2026, 1, 31), amount=6452)
    assert late_credit(credit, date(2026, 2, 5), changed) is True  # 34 days
    assert late_credit(credit, date(2026, 2, 1), changed) is False  # 30 days
    assert late_credit(credit, date(2026, 2, 2), changed) is True  # 31 days
    assert late_credit(charge, date(2026, 2, 5), changed) is False
    assert late_credit(credit, date(2026, 2, 5), changed,
                       BillingTerms(credit_invoice_limit_days=40)) is False
    for rule in ("P-CHG-03", "P-CHG-05", "P-CHG-06"):
        assert late_credit(line(start=changed, rule=rule), date(2026, 2, 5), changed)
    reduction = line(start=changed, rule="P-CHG-07")  # P-TIME-02: at the period end
    assert late_credit(reduction, date(2026, 12, 31), changed) is False
    assert inv07_late_credit is late_credit


def test_late_credit_is_reported_in_the_verdict_INV_07():
    """INV-07 is reported, never hidden: with a 20-day limit (a billing system promising
    less than 30), the MCA credit of 2026-03-15 invoiced 2026-04-05 (21 days) is late;
    the charge is not checked. With the default 30 days there is no violation."""
    verdict = evaluate(parse_case(make_case(tenant={"billing_account": "MCA"})))
    strict = verdict_to_json(verdict, BillingTerms(credit_invoice_limit_days=20))
    assert len(strict["violations"]) == 1
    assert "2026-04-05" in strict["violations"][0]
    assert verdict_to_json(verdict)["violations"] == []


ACCOUNT_CREDITS = [("MCA", "P-CHG-02"), ("MCA", "P-CHG-03"), ("MCA", "P-CHG-05"),
                   ("MOSA", "P-CHG-03"), ("MOSA", "P-CHG-06")]
CYCLE_DAYS = {"monthly": 30, "annual": 364, "triennial": 1095}


@pytest.mark.parametrize("invoice_day", [1, 5, 28, 29, 30, 31])
def test_inv07_holds_for_every_change_day_INV_07(invoice_day):
    """INV-07 over three years of change days, every credit kind, account type and
    billing frequency: MOSA -> the next day; MCA -> the first invoice day on or after
    the change (walked day by day); never more than 30 days, never flagged."""
    terms = BillingTerms(invoice_day=invoice_day)
    for year in (2026, 2027, 2028):
        for day in days_of(year):
            mca = walk_to_mca_invoice(day, invoice_day)
            for account, rule in ACCOUNT_CREDITS:
                expected = mca if account == "MCA" else day + ONE_DAY
                for span in CYCLE_DAYS.values():
                    credit = line(start=day, end=day + timedelta(days=span), rule=rule)
                    invoiced = invoice_date(credit, account, terms)
                    assert invoiced == expected, (account, rule, day)
                    assert (invoiced - day).days <= 30
                    assert not late_credit(credit, invoiced, day, terms)


CATALOG = builtin_catalog()
FREQUENCY_TERM = {"monthly": ("P1M", "P1Y"), "annual": ("P1Y",), "triennial": ("P3Y",)}


@st.composite
def changes(draw: st.DrawFn) -> tuple[Subscription, str, str, date, int]:
    frequency = draw(st.sampled_from(sorted(FREQUENCY_TERM)))
    term = draw(st.sampled_from(FREQUENCY_TERM[frequency]))
    anchor = draw(st.dates(date(2024, 1, 1), date(2029, 12, 31)))
    offset = draw(st.integers(0, 36 * 31))
    account = draw(st.sampled_from(["MCA", "MOSA"]))
    kind = draw(st.sampled_from(["change", "cancel"]))
    subscription = Subscription("s-1", "BUSINESS_BASIC", "contoso.com", 10, 10, term,
                                frequency, anchor)
    return subscription, account, kind, anchor + timedelta(days=offset), draw(
        st.integers(1, 31))


@settings(max_examples=300, deadline=None)
@given(changes())
def test_inv07_property_through_the_billing_lines_INV_07(drawn):
    """INV-07 on the lines :mod:`sim.rules.billing` really produces (P-CHG-02/03/05/06)
    for random anchors, frequencies, change days, accounts and invoice days: every
    credit is invoiced 0..30 days after the change (MOSA: exactly 1) and not late."""
    subscription, account, kind, on, invoice_day = drawn
    basic, standard = CATALOG.plans["BUSINESS_BASIC"], CATALOG.plans["BUSINESS_STANDARD"]
    policy = ROUNDING_POLICIES[DEFAULT_POLICY]
    if kind == "change":
        outcome = change_outcome(subscription, basic, standard, on, 10, subscription.term,
                                 subscription.billing_frequency, "now", account, 2, policy)
    else:
        outcome = cancel_outcome(subscription, basic, on, account, 2, policy,
                                 mca_window_days=10**6)  # always inside: a credit
    terms = BillingTerms(invoice_day=invoice_day)
    credits = [entry for entry in outcome.lines if entry.type == "credit"]
    assert credits
    for credit in credits:
        invoiced = invoice_date(credit, account, terms)
        days = (invoiced - on).days
        assert (days == 1) if account == "MOSA" else (0 <= days <= 30)
        assert not late_credit(credit, invoiced, on, terms)


# ------------------------------------------------------------------------ P-TIME-04


def test_card_mca_within_10_days_P_TIME_04():
    """P-TIME-04: MCA card payers: invoice 2026-04-05 + 10 days = 2026-04-15."""
    verdict = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "card"})
    assert dates(verdict, "cash_date") == ["2026-04-15", "2026-04-15"]


def test_card_mosa_next_day_P_TIME_04():
    """P-TIME-04: MOSA card payers: the day after the invoice (credit: closing invoice
    2026-03-16 -> 03-17; new subscription's charge 2026-04-15 -> 04-16)."""
    verdict = evaluate_case(tenant={"billing_account": "MOSA", "payment_method": "card"})
    assert dates(verdict, "invoice_date") == ["2026-03-16", "2026-04-15"]
    assert dates(verdict, "cash_date") == ["2026-03-17", "2026-04-16"]


def test_invoice_payer_wire_and_credit_applied_P_TIME_04():
    """P-TIME-04: invoice payers: a charge settles by wire in 4 business days (invoice
    Sun 2026-04-05 -> Mon 6, Tue 7, Wed 8, Thu 9); a credit is applied on the invoice."""
    verdict = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "invoice"})
    assert dates(verdict, "invoice_date") == ["2026-04-05", "2026-04-05"]
    assert dates(verdict, "cash_date") == ["2026-04-05", "2026-04-09"]


def test_wire_skips_weekends_and_holidays_P_TIME_04():
    """P-TIME-04 / P-CAL-06: invoiced Thu 2026-12-24 (US): Fri 25 Christmas, Sat/Sun
    skipped; Mon 28, Tue 29, Wed 30, Thu 31 -> 2026-12-31 (4 domestic days). International
    (7): Fri 2027-01-01 holiday, weekend, Mon 4, Tue 5, Wed 6 -> 2027-01-06."""
    charge = line(kind="charge", amount=6452)
    invoiced = date(2026, 12, 24)
    assert cash_date(charge, invoiced, "MCA", "invoice", "US") == date(2026, 12, 31)
    assert cash_date(charge, invoiced, "MCA", "invoice", "US", international=True) == (
        date(2027, 1, 6))
    assert cash_date(charge, invoiced, "MOSA", "invoice", "US") == date(2026, 12, 31)


def test_wire_uses_tenant_country_holidays_P_TIME_04():
    """P-TIME-04 / P-CAL-06: invoiced Wed 2026-11-25: in the US Thu 26 is Thanksgiving
    (Fri 27, Mon 30, Tue Dec 1, Wed Dec 2); in Sweden it is a working day (Thu 26, Fri 27,
    Mon 30, Tue Dec 1)."""
    charge = line(kind="charge", amount=6452)
    invoiced = date(2026, 11, 25)
    assert cash_date(charge, invoiced, "MCA", "invoice", "US") == date(2026, 12, 2)
    assert cash_date(charge, invoiced, "MCA", "invoice", "SE") == date(2026, 12, 1)


def test_card_days_ignore_weekends_P_TIME_04():
    """P-TIME-04: card days are calendar days: invoice 2026-12-24 + 10 = 2027-01-03."""
    credit = line()
    assert cash_date(credit, date(2026, 12, 24), "MCA", "card", "US") == date(2027, 1, 3)
    assert cash_date(credit, date(2026, 12, 24), "MOSA", "card", "US") == date(2026, 12, 25)


def test_invoice_payer_credit_applied_on_invoice_date_P_TIME_04():
    """P-TIME-04: credits owed to invoice payers are applied to the invoice itself."""
    credit = line()
    for account in ("MCA", "MOSA"):
        assert cash_date(credit, date(2026, 4, 5), account, "invoice", "US") == date(2026, 4, 5)


# ------------------------------------------------------------------ R-BILL-03/04


@pytest.mark.parametrize(("account", "invoiced"), [
    ("MCA", "2026-04-05"),  # window 6 Mar..5 Apr: 21 days
    ("MOSA", "2026-03-16"),  # closing invoice: 1 day
])
def test_credit_invoiced_within_30_days_R_BILL_03(account, invoiced):
    """R-BILL-03: a change on 2026-03-15 puts the credit on an invoice within 30 days."""
    verdict = evaluate_case(tenant={"billing_account": account})
    credit = verdict["lines"][0]
    assert credit["type"] == "credit"
    assert credit["invoice_date"] == invoiced
    assert verdict["violations"] == []


def test_credit_timing_depends_on_payment_method_R_BILL_04():
    """R-BILL-04: the same MCA credit (invoice 2026-04-05) reaches a card payer on
    2026-04-15 and an invoice payer on the invoice itself, 2026-04-05."""
    card = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "card"})
    invoice = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "invoice"})
    assert card["lines"][0]["amount"] == invoice["lines"][0]["amount"] == "-30.97"
    assert card["lines"][0]["cash_date"] == "2026-04-15"
    assert invoice["lines"][0]["cash_date"] == "2026-04-05"
