"""Calendar of charge cycles, terms and business days (PRORATION.md section 2).

Rule IDs: P-CAL-01..06, R-BILL-01 (the event day belongs to the new state), INV-03
(each day of service is billed exactly once: cycles tile the term).

The acceptance test (:func:`test_p_cal_02_cycles_tile_every_term_across_leap_cycle`)
walks every change day of every term of every anchor on days 28..31 from 2023 to 2027,
for each term/billing-frequency combination, against an independent reference.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta

import pytest

from sim.rules.calendar import (
    BILLING_FREQUENCY_MONTHS,
    TERM_MONTHS,
    ChargeCycle,
    add_business_days,
    add_months,
    charge_cycle,
    cycles,
    days_inclusive,
    is_business_day,
    term_end,
)

ONE_DAY = timedelta(days=1)


def ref_add_months(anchor: date, months: int) -> date:
    """Independent reference for P-CAL-02 clamping, built on the standard library."""
    year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    last = stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last))


# ------------------------------------------------------------------------ add_months


def test_p_cal_02_jan_31_anchor_clamps_and_never_drifts() -> None:
    """P-CAL-02: Jan 31 -> Feb 29 (leap), Mar 31, Apr 30, ... always counted from A."""
    anchor = date(2024, 1, 31)
    got = [add_months(anchor, k) for k in range(14)]
    assert got == [
        date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
        date(2024, 5, 31), date(2024, 6, 30), date(2024, 7, 31), date(2024, 8, 31),
        date(2024, 9, 30), date(2024, 10, 31), date(2024, 11, 30), date(2024, 12, 31),
        date(2025, 1, 31), date(2025, 2, 28),
    ]


def test_p_cal_02_jan_31_non_leap_year_gives_feb_28() -> None:
    """P-CAL-02: in a common year the Feb cycle starts on the 28th, March back on the 31st."""
    anchor = date(2026, 1, 31)
    assert add_months(anchor, 1) == date(2026, 2, 28)
    assert add_months(anchor, 2) == date(2026, 3, 31)
    assert add_months(anchor, 3) == date(2026, 4, 30)


def test_p_cal_02_chained_add_months_would_drift_but_add_months_does_not() -> None:
    """P-CAL-02: counting from the previous result drifts to the 28th; from A it does not."""
    anchor = date(2025, 1, 31)
    chained = anchor
    for _ in range(3):
        chained = add_months(chained, 1)
    assert chained == date(2025, 4, 28)  # what a drifting implementation would bill
    assert add_months(anchor, 3) == date(2025, 4, 30)


def test_p_cal_02_feb_29_anchor() -> None:
    """P-CAL-02: a Feb 29 anchor gives the 29th every month and Feb 28 in common years."""
    anchor = date(2024, 2, 29)
    assert add_months(anchor, 1) == date(2024, 3, 29)
    assert add_months(anchor, 12) == date(2025, 2, 28)
    assert add_months(anchor, 13) == date(2025, 3, 29)
    assert add_months(anchor, 48) == date(2028, 2, 29)


def test_p_cal_02_year_rollover_and_large_offsets() -> None:
    """P-CAL-02: December + 1 rolls the year; 36 months is three years on."""
    assert add_months(date(2025, 12, 31), 1) == date(2026, 1, 31)
    assert add_months(date(2025, 12, 31), 2) == date(2026, 2, 28)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2027, 3, 31), 36) == date(2030, 3, 31)
    assert add_months(date(2025, 8, 15), 0) == date(2025, 8, 15)


def test_p_cal_02_add_months_matches_reference_for_every_day_of_four_years() -> None:
    """P-CAL-02: add_months agrees with a stdlib reference for 2023..2028, 0..40 months."""
    day = date(2023, 1, 1)
    while day <= date(2028, 12, 31):
        for months in (0, 1, 2, 3, 11, 12, 13, 24, 35, 36, 40):
            assert add_months(day, months) == ref_add_months(day, months), (day, months)
        day += ONE_DAY


# --------------------------------------------------------------------- term_end, days


@pytest.mark.parametrize(
    ("anchor", "term", "expected"),
    [
        (date(2026, 1, 31), "P1M", date(2026, 2, 27)),
        (date(2024, 1, 31), "P1M", date(2024, 2, 28)),
        (date(2026, 3, 15), "P1M", date(2026, 4, 14)),
        (date(2026, 1, 31), "P1Y", date(2027, 1, 30)),
        (date(2024, 2, 29), "P1Y", date(2025, 2, 27)),
        (date(2026, 1, 1), "P1Y", date(2026, 12, 31)),
        (date(2024, 2, 29), "P3Y", date(2027, 2, 27)),
        (date(2025, 3, 1), "P3Y", date(2028, 2, 29)),
        (date(2026, 1, 31), "P3Y", date(2029, 1, 30)),
    ],
)
def test_p_cal_05_term_end(anchor: date, term: str, expected: date) -> None:
    """P-CAL-05: a term ends on the day before add_months(A, 1|12|36)."""
    assert term_end(anchor, term) == expected


def test_p_cal_05_term_and_frequency_tables() -> None:
    """P-CAL-05 / P-CAL-02: months per term and per billing frequency."""
    assert TERM_MONTHS == {"P1M": 1, "P1Y": 12, "P3Y": 36}
    assert BILLING_FREQUENCY_MONTHS == {"monthly": 1, "annual": 12, "triennial": 36}


def test_p_cal_03_days_inclusive_counts_both_ends() -> None:
    """P-CAL-03/04: both ends counted."""
    assert days_inclusive(date(2026, 3, 1), date(2026, 3, 1)) == 1
    assert days_inclusive(date(2024, 2, 1), date(2024, 2, 29)) == 29
    assert days_inclusive(date(2024, 1, 1), date(2024, 12, 31)) == 366


# ----------------------------------------------------------------------- charge_cycle


def test_p_cal_02_charge_cycle_jan_31_monthly_in_leap_february() -> None:
    """P-CAL-02/03: anchor Jan 31 2024, monthly: Feb 29..Mar 30 is cycle 1 (31 days)."""
    cycle = charge_cycle(date(2024, 1, 31), 1, date(2024, 3, 30))
    assert cycle == ChargeCycle(1, date(2024, 2, 29), date(2024, 3, 30))
    assert cycle.cycle_days == 31
    cycle = charge_cycle(date(2024, 1, 31), 1, date(2024, 3, 31))
    assert cycle == ChargeCycle(2, date(2024, 3, 31), date(2024, 4, 29))
    assert cycle.cycle_days == 30


def test_p_cal_02_charge_cycle_jan_31_monthly_common_february() -> None:
    """P-CAL-02/03: anchor Jan 31 2026: cycle 0 is Jan 31..Feb 27 (28 days)."""
    cycle = charge_cycle(date(2026, 1, 31), 1, date(2026, 2, 27))
    assert cycle == ChargeCycle(0, date(2026, 1, 31), date(2026, 2, 27))
    assert cycle.cycle_days == 28
    assert charge_cycle(date(2026, 1, 31), 1, date(2026, 2, 28)) == ChargeCycle(
        1, date(2026, 2, 28), date(2026, 3, 30))


def test_p_cal_02_charge_cycle_annual_and_triennial() -> None:
    """P-CAL-02/03: annual cycle over Feb 29 has 366 days; triennial 1096 with one leap day."""
    cycle = charge_cycle(date(2023, 3, 31), 12, date(2024, 2, 29))
    assert cycle == ChargeCycle(0, date(2023, 3, 31), date(2024, 3, 30))
    assert cycle.cycle_days == 366
    cycle = charge_cycle(date(2024, 2, 29), 12, date(2025, 2, 28))
    assert cycle == ChargeCycle(1, date(2025, 2, 28), date(2026, 2, 27))
    assert cycle.cycle_days == 365
    cycle = charge_cycle(date(2024, 2, 29), 36, date(2026, 6, 1))
    assert cycle == ChargeCycle(0, date(2024, 2, 29), date(2027, 2, 27))
    assert cycle.cycle_days == 1095
    cycle = charge_cycle(date(2023, 5, 31), 36, date(2023, 5, 31))
    assert cycle.cycle_days == 1096


def test_p_cal_04_billing_days_counts_event_day() -> None:
    """P-CAL-04 / R-BILL-01: the event day is billed to the new state (included)."""
    cycle = charge_cycle(date(2026, 1, 31), 1, date(2026, 3, 15))
    assert cycle == ChargeCycle(1, date(2026, 2, 28), date(2026, 3, 30))
    assert cycle.billing_days(date(2026, 3, 15)) == 16  # Mar 15..Mar 30
    assert cycle.billing_days(cycle.start) == cycle.cycle_days == 31
    assert cycle.billing_days(cycle.end) == 1


def test_p_cal_04_billing_days_outside_cycle_rejected() -> None:
    """P-CAL-04: a day outside the cycle has no billing days."""
    cycle = ChargeCycle(0, date(2026, 1, 31), date(2026, 2, 27))
    with pytest.raises(ValueError):
        cycle.billing_days(date(2026, 2, 28))
    with pytest.raises(ValueError):
        cycle.billing_days(date(2026, 1, 30))


def test_p_cal_02_charge_cycle_before_anchor_rejected() -> None:
    """P-CAL-02: there is no cycle before the anchor."""
    with pytest.raises(ValueError):
        charge_cycle(date(2026, 1, 31), 1, date(2026, 1, 30))


def test_p_cal_02_cycles_lists_cycles_up_to_until() -> None:
    """P-CAL-02: `cycles` lists every cycle whose start is on or before `until`."""
    got = cycles(date(2024, 1, 31), 1, date(2024, 4, 30))
    assert got == [
        ChargeCycle(0, date(2024, 1, 31), date(2024, 2, 28)),
        ChargeCycle(1, date(2024, 2, 29), date(2024, 3, 30)),
        ChargeCycle(2, date(2024, 3, 31), date(2024, 4, 29)),
        ChargeCycle(3, date(2024, 4, 30), date(2024, 5, 30)),
    ]
    assert cycles(date(2024, 1, 31), 1, date(2024, 1, 30)) == []


# ------------------------------------------------------------- the acceptance test

TERM_FREQUENCIES = [
    (term, frequency)
    for term, term_months in TERM_MONTHS.items()
    for frequency, months in BILLING_FREQUENCY_MONTHS.items()
    if months <= term_months and term_months % months == 0
]

# Anchors on days 28..31 of every month from Jan 2023 to Dec 2027: Jan 31, Feb 28 and
# Feb 29 2024, the 30th/31st of every month, so the terms' change days cover the whole
# 2024..2027 leap cycle (and P3Y terms reach into 2030).
ACCEPTANCE_ANCHORS = [
    date(year, month, day)
    for year in range(2023, 2028)
    for month in range(1, 13)
    for day in (28, 29, 30, 31)
    if day <= stdlib_calendar.monthrange(year, month)[1]
]


def test_acceptance_anchor_set_covers_the_edge_dates() -> None:
    """The acceptance anchors include Jan 31 2024, Feb 29 2024 and Feb 28 of common years."""
    for anchor in (date(2024, 1, 31), date(2024, 2, 29), date(2025, 2, 28), date(2027, 1, 31),
                   date(2026, 4, 30), date(2027, 12, 31)):
        assert anchor in ACCEPTANCE_ANCHORS
    # 240 days 28..31, minus Feb 29..31 (15, but Feb 29 2024 exists), minus the 31st
    # of Apr, Jun, Sep, Nov (20).
    assert len(ACCEPTANCE_ANCHORS) == 5 * 12 * 4 - (5 * 3 - 1) - 4 * 5


@pytest.mark.parametrize(("term", "frequency"), TERM_FREQUENCIES)
def test_p_cal_02_cycles_tile_every_term_across_leap_cycle(term: str, frequency: str) -> None:
    """Acceptance (P-CAL-02..05, R-BILL-01, INV-03), for every anchor and every change day.

    - the term's cycles tile it: cycle 0 starts on the anchor, cycle k+1 starts the day
      after cycle k ends (no gap, no overlap), the last one ends on term_end;
    - every cycle starts on add_months(A, k*m) computed from A (reference), never drifting;
    - charge_cycle(A, m, D) is exactly the tiling cycle containing D, for every D in the term;
    - billing_days(D) + used days (cycle start .. D-1) == cycle_days.
    """
    months = BILLING_FREQUENCY_MONTHS[frequency]
    term_months = TERM_MONTHS[term]
    checked_days = 0
    for anchor in ACCEPTANCE_ANCHORS:
        last_day = term_end(anchor, term)
        assert last_day == ref_add_months(anchor, term_months) - ONE_DAY
        tiling = cycles(anchor, months, last_day)
        assert len(tiling) == term_months // months
        assert tiling[0].start == anchor
        assert tiling[-1].end == last_day
        for k, cycle in enumerate(tiling):
            assert cycle.index == k
            assert cycle.start == ref_add_months(anchor, k * months)
            assert cycle.start <= cycle.end
            if k + 1 < len(tiling):
                assert tiling[k + 1].start == cycle.end + ONE_DAY, (anchor, k)
            cycle_days = (cycle.end - cycle.start).days + 1
            assert cycle.cycle_days == cycle_days
            day = cycle.start
            while day <= cycle.end:
                found = charge_cycle(anchor, months, day)
                assert found == cycle, (anchor, term, frequency, day)
                used = (day - found.start).days
                assert found.billing_days(day) + used == found.cycle_days
                assert found.billing_days(day) == (found.end - day).days + 1
                day += ONE_DAY
                checked_days += 1
        # the day after the term starts the next term's first cycle (renewal day)
        renewal = last_day + ONE_DAY
        assert charge_cycle(anchor, months, renewal).start == renewal
    expected_days = sum(
        (ref_add_months(anchor, term_months) - anchor).days for anchor in ACCEPTANCE_ANCHORS
    )
    assert checked_days == expected_days


@pytest.mark.parametrize("months", [1, 12, 36])
def test_p_cal_02_cycle_lengths_are_bounded(months: int) -> None:
    """P-CAL-03: monthly cycles have 28..31 days, annual 365/366, triennial 1095/1096."""
    bounds = {1: (28, 31), 12: (365, 366), 36: (1095, 1096)}[months]
    for anchor in ACCEPTANCE_ANCHORS:
        for cycle in cycles(anchor, months, add_months(anchor, 72)):
            assert bounds[0] <= cycle.cycle_days <= bounds[1], (anchor, cycle)


# ---------------------------------------------------------------- business days (P-CAL-06)


def test_p_cal_06_weekend_is_not_a_business_day() -> None:
    """P-CAL-06: Saturdays and Sundays are skipped."""
    assert not is_business_day(date(2026, 3, 14), "US")  # Saturday
    assert not is_business_day(date(2026, 3, 15), "US")  # Sunday
    assert is_business_day(date(2026, 3, 16), "US")  # Monday
    assert add_business_days(date(2026, 3, 13), 1, "US") == date(2026, 3, 16)  # Fri -> Mon


def test_p_cal_06_us_independence_day_observed_2026() -> None:
    """P-CAL-06: July 4 2026 is a Saturday; Friday July 3 is the observed US holiday."""
    assert not is_business_day(date(2026, 7, 3), "US")
    assert add_business_days(date(2026, 7, 2), 1, "US") == date(2026, 7, 6)
    # Four business days from Wed Jul 1: Thu 2, (Fri 3 holiday, weekend), Mon 6, Tue 7, Wed 8.
    assert add_business_days(date(2026, 7, 1), 4, "US") == date(2026, 7, 8)


def test_p_cal_06_christmas_2026_and_country_specific_holidays() -> None:
    """P-CAL-06: Dec 25 2026 (Friday) is a holiday; holidays are the tenant country's."""
    assert not is_business_day(date(2026, 12, 25), "US")
    assert add_business_days(date(2026, 12, 24), 1, "US") == date(2026, 12, 28)
    # Swedish tenants also lose Boxing Day (Dec 26 is a Saturday in 2026, so use 2025: Fri).
    assert not is_business_day(date(2025, 12, 26), "SE")
    assert is_business_day(date(2025, 12, 26), "US")
    # US Thanksgiving is not a Swedish holiday.
    assert not is_business_day(date(2026, 11, 26), "US")
    assert is_business_day(date(2026, 11, 26), "SE")


def test_p_cal_06_add_business_days_zero_and_year_boundary() -> None:
    """P-CAL-06: zero days returns the start; counting crosses New Year's Day."""
    assert add_business_days(date(2026, 3, 14), 0, "US") == date(2026, 3, 14)
    # Wed Dec 31 2025 + 1: Jan 1 2026 (Thu) is a holiday -> Fri Jan 2.
    assert add_business_days(date(2025, 12, 31), 1, "US") == date(2026, 1, 2)
    # 10 business days from Mon Jan 12 2026: MLK day Jan 19 is skipped -> Tue Jan 27.
    assert add_business_days(date(2026, 1, 12), 10, "US") == date(2026, 1, 27)


@pytest.mark.parametrize(("year", "february_days"),
                         [(1900, 28), (2000, 29), (2024, 29), (2100, 28), (2400, 29)])
def test_p_cal_02_gregorian_century_rule_for_month_end_anchors(year, february_days):
    """P-CAL-02 with the Gregorian 400-year rule (cases accept years 1900..2999): an
    anchor on Jan 31 gives a cycle from Feb 28 or 29 (29 only in 2000, 2024, 2400 here:
    divisible by 4, and by 400 when a century), then Mar 31. Worked by hand."""
    anchor = date(year, 1, 31)
    february = date(year, 2, february_days)
    assert add_months(anchor, 1) == february
    cycle = charge_cycle(anchor, 1, february)
    assert (cycle.start, cycle.end) == (february, date(year, 3, 30))
    assert cycle.cycle_days == 31  # Feb 28/29 .. Mar 30, both ends counted, in either case
    january = charge_cycle(anchor, 1, anchor)
    assert january.cycle_days == february_days  # Jan 31 .. Feb 27/28
