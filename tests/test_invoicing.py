"""When money moves: invoice and cash dates (PRORATION.md section 5, R-BILL-03/04).

Dates used (2026): Mar 15 Sun, Mar 31 Tue, Apr 5 Sun, Nov 26 Thanksgiving (US),
Dec 24 Thu, Dec 25 Christmas, Jan 1 2027 New Year's Day.
"""

from __future__ import annotations

from datetime import date

import pytest
from helpers import evaluate_case

from sim.rules.billing import Line
from sim.rules.invoicing import BillingTerms, cash_date, invoice_date, late_credit


def line(kind: str = "credit", start: date = date(2026, 3, 15),
         end: date = date(2026, 3, 30), amount: int = -3097, rule: str = "P-CHG-02") -> Line:
    return Line(kind, "s-1", "BUSINESS_BASIC", start, end, (end - start).days + 1, 31, 10,
                amount, rule)


def dates(verdict: dict, key: str) -> list[str]:
    assert "error" not in verdict, verdict
    return [entry[key] for entry in verdict["lines"]]


# ------------------------------------------------------------------------ P-TIME-01


def test_mca_change_on_next_months_invoice_P_TIME_01():
    """P-TIME-01: MCA keep-cycle lines go on the invoice of the 5th of the next month."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"})  # change on 2026-03-15
    assert dates(verdict, "invoice_date") == ["2026-04-05", "2026-04-05"]


def test_mca_december_change_invoiced_in_january_P_TIME_01():
    """P-TIME-01: a change on 2026-12-15 is invoiced on 2027-01-05 (year wraps)."""
    assert invoice_date(line(start=date(2026, 12, 15), end=date(2026, 12, 30)), "MCA") == (
        date(2027, 1, 5))


def test_mca_new_purchase_invoiced_next_day_P_TIME_01():
    """P-TIME-01: the new subscription of a new-term change is a new purchase: invoiced
    the next day; the credit waits for the monthly invoice."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"}, request={"term": "P1M"})
    assert verdict["alignment"] == "new-term"
    # credit (2026-03-15) -> 2026-04-05; new purchase (2026-03-15) -> 2026-03-16
    assert dates(verdict, "invoice_date") == ["2026-04-05", "2026-03-16"]


def test_mca_scheduled_change_invoiced_day_after_renewal_P_TIME_01():
    """P-TIME-01: a scheduled change starts a new purchase on the renewal (2027-01-31),
    invoiced upfront the next day."""
    verdict = evaluate_case(tenant={"billing_account": "MCA"},
                            request={"schedule": "renewal"})
    assert dates(verdict, "invoice_date") == ["2027-02-01"]


def test_invoice_day_is_a_parameter_P_TIME_01():
    """P-TIME-01: the invoice day is a scenario parameter (default 5)."""
    credit = line()
    assert invoice_date(credit, "MCA") == date(2026, 4, 5)
    assert invoice_date(credit, "MCA", BillingTerms(invoice_day=1)) == date(2026, 4, 1)


# ------------------------------------------------------------------------ P-TIME-02


def test_mosa_credit_on_day_after_billing_period_P_TIME_02():
    """P-TIME-02: a MOSA credit is invoiced the day after its billing period ends."""
    verdict = evaluate_case()  # MOSA change on 2026-03-15, old cycle ends 2026-03-30
    assert verdict["lines"][0]["type"] == "credit"
    assert verdict["lines"][0]["invoice_date"] == "2026-03-31"


def test_mosa_cancel_credit_invoice_P_TIME_02():
    """P-TIME-02: MOSA cancel on 2026-01-20 (cycle 2026-01-10..2026-02-09) -> 2026-02-10."""
    verdict = evaluate_case(subscription={"anchor": "2026-01-10"},
                            request={"kind": "cancel", "on": "2026-01-20",
                                     "target_plan": None})
    assert dates(verdict, "invoice_date") == ["2026-02-10"]


def test_mosa_invoice_date_direct_P_TIME_02():
    """P-TIME-02: ``invoice_date`` for a MOSA credit line ending 2026-02-28 -> 2026-03-01."""
    credit = line(start=date(2026, 2, 10), end=date(2026, 2, 28), rule="P-CHG-06")
    assert invoice_date(credit, "MOSA") == date(2026, 3, 1)


# ------------------------------------------------------------------------ P-TIME-03


def mca_change_on(on: str) -> dict:
    return evaluate_case(tenant={"billing_account": "MCA"},
                         subscription={"anchor": "2026-01-01"}, request={"on": on})


def test_late_credit_is_a_violation_P_TIME_03():
    """P-TIME-03 / R-BILL-03: MCA change on 2026-01-02 -> invoice 2026-02-05, 34 days
    after the change (> 30): the verdict reports a violation."""
    verdict = mca_change_on("2026-01-02")
    assert dates(verdict, "invoice_date") == ["2026-02-05", "2026-02-05"]
    assert len(verdict["violations"]) == 1  # the credit only; charges are not checked
    assert verdict["violations"][0].startswith("P-TIME-03")
    assert "2026-02-05" in verdict["violations"][0]


def test_credit_within_30_days_no_violation_P_TIME_03():
    """P-TIME-03: change on 2026-01-10 -> invoice 2026-02-05 = 26 days: no violation."""
    assert mca_change_on("2026-01-10")["violations"] == []


@pytest.mark.parametrize(("on", "late"), [
    ("2026-01-05", True),  # 2026-01-05 -> 2026-02-05 = 31 days > 30
    ("2026-01-06", False),  # 30 days: on the limit, fine
])
def test_thirty_day_threshold_P_TIME_03(on, late):
    """P-TIME-03: exactly 30 days is within the limit; 31 is late."""
    assert bool(mca_change_on(on)["violations"]) is late


def test_late_credit_function_P_TIME_03():
    """P-TIME-03: ``late_credit`` flags credits only, strictly over the limit."""
    changed = date(2026, 1, 2)
    credit = line(start=changed, end=date(2026, 1, 31))
    charge = line(kind="charge", start=changed, end=date(2026, 1, 31), amount=6452)
    assert late_credit(credit, date(2026, 2, 5), changed) is True  # 34 days
    assert late_credit(credit, date(2026, 2, 1), changed) is False  # 30 days
    assert late_credit(charge, date(2026, 2, 5), changed) is False
    assert late_credit(credit, date(2026, 2, 5), changed,
                       BillingTerms(credit_invoice_limit_days=40)) is False


def test_mosa_annual_cycle_credit_is_late_P_TIME_03():
    """P-TIME-02/03: a MOSA credit for an annual cycle is invoiced the day after the cycle
    ends (2027-01-10), months after the change: reported, never hidden."""
    verdict = evaluate_case(subscription={"anchor": "2026-01-10",
                                          "billing_frequency": "annual"})
    assert verdict["lines"][0]["invoice_date"] == "2027-01-10"
    assert len(verdict["violations"]) == 1


# ------------------------------------------------------------------------ P-TIME-04


def test_card_mca_within_10_days_P_TIME_04():
    """P-TIME-04: MCA card payers: invoice 2026-04-05 + 10 days = 2026-04-15."""
    verdict = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "card"})
    assert dates(verdict, "cash_date") == ["2026-04-15", "2026-04-15"]


def test_card_mosa_next_day_P_TIME_04():
    """P-TIME-04: MOSA card payers: the day after the invoice (credit 2026-03-31 ->
    2026-04-01; new purchase 2026-03-15 -> 2026-03-16)."""
    verdict = evaluate_case(tenant={"billing_account": "MOSA", "payment_method": "card"})
    assert dates(verdict, "invoice_date") == ["2026-03-31", "2026-03-15"]
    assert dates(verdict, "cash_date") == ["2026-04-01", "2026-03-16"]


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


@pytest.mark.parametrize("account", ["MCA", "MOSA"])
def test_credit_invoiced_within_30_days_R_BILL_03(account):
    """R-BILL-03: a mid-month monthly-billed change puts the credit on an invoice within
    30 days (MCA 2026-04-05 = 21 days, MOSA 2026-03-31 = 16 days): no violation."""
    verdict = evaluate_case(tenant={"billing_account": account})
    credit = verdict["lines"][0]
    assert credit["type"] == "credit"
    assert (date.fromisoformat(credit["invoice_date"]) - date(2026, 3, 15)).days <= 30
    assert verdict["violations"] == []


def test_credit_timing_depends_on_payment_method_R_BILL_04():
    """R-BILL-04: the same MCA credit (invoice 2026-04-05) reaches a card payer on
    2026-04-15 and an invoice payer on the invoice itself, 2026-04-05."""
    card = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "card"})
    invoice = evaluate_case(tenant={"billing_account": "MCA", "payment_method": "invoice"})
    assert card["lines"][0]["amount"] == invoice["lines"][0]["amount"] == "-30.97"
    assert card["lines"][0]["cash_date"] == "2026-04-15"
    assert invoice["lines"][0]["cash_date"] == "2026-04-05"
