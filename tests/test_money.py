"""Exact money: minor units, decimal strings and the rounding policies.

Rule IDs: P-MONEY-01 (never a float), P-MONEY-02 (ISO 4217 minor units from Babel),
P-MONEY-03 (exact intermediates, one rounding step), P-CHG-01 (the prorated line),
P-RND-01..04 and the four policies of PRORATION.md section 4.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rules.billing import cancel_outcome, change_outcome, full_charge
from sim.rules.catalog import Plan
from sim.rules.domain import Subscription
from sim.rules.money import (
    DEFAULT_POLICY,
    MAX_MINOR,
    ROUNDING_POLICIES,
    Price,
    format_minor,
    minor_unit,
    parse_decimal,
    parse_minor,
    prorate,
)

LINE_HALF_UP = ROUNDING_POLICIES["line-half-up"]
LINE_HALF_EVEN = ROUNDING_POLICIES["line-half-even"]
UNIT_TRUNCATE = ROUNDING_POLICIES["unit-truncate"]
UNIT_HALF_UP = ROUNDING_POLICIES["unit-half-up"]


def price(text: str) -> Price:
    return Price.from_decimal(Decimal(text))


# --------------------------------------------------------------- minor units (P-MONEY-02)


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("EUR", 2), ("SEK", 2), ("JPY", 0), ("CLP", 0), ("KWD", 3), ("BHD", 3),
     ("IQD", 3), ("HUF", 2)],  # the last two are where CLDR (Babel) differs from ISO 4217
)
def test_p_money_02_minor_units_from_iso4217(currency: str, digits: int) -> None:
    """P-MONEY-02: the ISO 4217 minor unit of each currency, from the maintained tables."""
    from iso4217 import Currency

    assert minor_unit(currency) == digits
    assert Currency(currency).exponent == digits  # taken from the library, not a table


def test_p_money_02_code_without_minor_unit_raises() -> None:
    """Gold (XAU) is an ISO 4217 code with no minor unit: not a billing currency."""
    with pytest.raises(ValueError, match="no minor unit"):
        minor_unit("XAU")


@pytest.mark.parametrize("code", ["XYZ", "usd", "", "US", "DOLLAR"])
def test_p_money_02_unknown_currency_raises(code: str) -> None:
    """P-MONEY-02: a code that is not ISO 4217 is an error, not a default precision."""
    with pytest.raises(ValueError):
        minor_unit(code)


# ------------------------------------------------------- decimal strings (P-MONEY-01)


@pytest.mark.parametrize(
    ("amount", "digits", "text"),
    [
        (0, 2, "0.00"), (1, 2, "0.01"), (-1, 2, "-0.01"), (5, 2, "0.05"), (-5, 2, "-0.05"),
        (100, 2, "1.00"), (-3097, 2, "-30.97"), (123456789, 2, "1234567.89"),
        (0, 0, "0"), (968, 0, "968"), (-968, 0, "-968"),
        (0, 3, "0.000"), (28767, 3, "28.767"), (-7, 3, "-0.007"), (-1000, 3, "-1.000"),
    ],
)
def test_p_money_01_format_and_parse_minor(amount: int, digits: int, text: str) -> None:
    """P-MONEY-01: minor units <-> decimal strings with exactly `digits` fraction digits."""
    assert format_minor(amount, digits) == text
    assert parse_minor(text, digits) == amount


@pytest.mark.parametrize(
    ("text", "digits", "amount"),
    [("7.2", 2, 720), ("7", 2, 700), ("-0.5", 2, -50), ("12", 0, 12), ("1.5", 3, 1500),
     ("+3.10", 2, 310), ("0.000", 3, 0)],
)
def test_p_money_01_parse_minor_accepts_fewer_digits(text: str, digits: int, amount: int) -> None:
    """P-MONEY-01: fewer fraction digits than the currency has are exact."""
    assert parse_minor(text, digits) == amount


@pytest.mark.parametrize(
    ("text", "digits"),
    [("0.001", 2), ("1.234", 2), ("-30.975", 2), ("0.5", 0), ("-1.5", 0), ("12.0001", 3)],
)
def test_p_money_01_parse_minor_rejects_too_many_decimals(text: str, digits: int) -> None:
    """P-MONEY-01: more fraction digits than the currency has is an error, never rounded."""
    with pytest.raises(ValueError):
        parse_minor(text, digits)


@pytest.mark.parametrize("value", [1.5, 0.1, "abc", "", "NaN", "Infinity", "-inf", None, True,
                                   [1]])
def test_p_money_01_parse_rejects_floats_and_non_numbers(value: object) -> None:
    """P-MONEY-01: money is never a float; non-finite and non-numeric input is rejected."""
    with pytest.raises(ValueError):
        parse_minor(value, 2)
    with pytest.raises(ValueError):
        parse_decimal(value)


@settings(max_examples=300, deadline=None)
@given(amount=st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR),
       digits=st.sampled_from([0, 2, 3]))
def test_p_money_01_format_parse_round_trip(amount: int, digits: int) -> None:
    """P-MONEY-01: parse_minor(format_minor(n)) == n, and the string has `digits` decimals."""
    text = format_minor(amount, digits)
    assert parse_minor(text, digits) == amount
    assert Decimal(text) == Decimal(amount).scaleb(-digits)
    if digits:
        assert len(text.split(".")[1]) == digits
    else:
        assert "." not in text


def test_p_money_01_parse_minor_exact_or_rejected_beyond_28_significant_digits() -> None:
    """P-MONEY-01/03: exactness does not depend on the Decimal context precision (28).

    A 30-significant-digit amount beyond the supported range is rejected with ValueError
    (never rounded to 28 digits); inside the range, a 15-digit amount parses exactly
    (expected value written out by hand); more fraction digits than the currency has are
    rejected, never rounded silently.
    """
    with pytest.raises(ValueError):
        parse_minor("1234567890123456789012345678.90", 2)  # 30 digits: above MAX_MINOR
    assert parse_minor("1234567890123.45", 2) == 123456789012345
    assert parse_minor("-0.05", 2) == -5
    assert parse_minor("7", 0) == 7
    with pytest.raises(ValueError):
        parse_minor("1234567890123.451", 2)
    with pytest.raises(ValueError):
        parse_minor("0.5", 0)


# ------------------------------------------------------------ the four policies (section 4)


def test_rounding_policy_table() -> None:
    """PRORATION.md 4: four built-in policies, line-half-up is the default."""
    assert set(ROUNDING_POLICIES) == {"line-half-up", "line-half-even", "unit-truncate",
                                      "unit-half-up"}
    assert DEFAULT_POLICY == "line-half-up"
    assert not LINE_HALF_UP.per_unit and not LINE_HALF_EVEN.per_unit
    assert UNIT_TRUNCATE.per_unit and UNIT_HALF_UP.per_unit


def test_p_chg_01_usd_example_every_policy() -> None:
    """P-CHG-01: u=6.00, m=1, q=10, 16 of 31 days -> exact 30.9677...

    line policies round the line once (3096.77 cents -> 3097); unit policies round the
    unit price 3.0967... (309.677 cents) first: truncate 309*10, half up 310*10.
    """
    args = (price("6.00"), 1, 10, 16, 31, 2)
    assert prorate(*args, LINE_HALF_UP) == 3097
    assert prorate(*args, LINE_HALF_EVEN) == 3097
    assert prorate(*args, UNIT_TRUNCATE) == 3090
    assert prorate(*args, UNIT_HALF_UP) == 3100


def test_p_chg_01_jpy_example_zero_digits() -> None:
    """P-CHG-01 with 0 minor digits: u=1000, q=3, 10/31 -> exact 967.74 yen."""
    args = (price("1000"), 1, 3, 10, 31, 0)
    assert prorate(*args, LINE_HALF_UP) == 968
    assert prorate(*args, LINE_HALF_EVEN) == 968
    assert prorate(*args, UNIT_TRUNCATE) == 322 * 3  # unit 322.58 truncated
    assert prorate(*args, UNIT_HALF_UP) == 323 * 3  # unit 322.58 rounded up


def test_p_chg_01_kwd_example_three_digits_annual() -> None:
    """P-CHG-01 with 3 minor digits, m=12: u=1.250, q=7, 100/365 -> exact 28.767123 KWD."""
    args = (price("1.250"), 12, 7, 100, 365, 3)
    assert prorate(*args, LINE_HALF_UP) == 28767
    assert prorate(*args, LINE_HALF_EVEN) == 28767
    assert prorate(*args, UNIT_TRUNCATE) == 4109 * 7  # unit 4.109589 KWD
    assert prorate(*args, UNIT_HALF_UP) == 4110 * 7


def test_p_rnd_line_ties_half_up_vs_half_even() -> None:
    """Section 4: an exact .5 tie: half up goes up, half even goes to the even neighbour."""
    # 12.50 * 1/4 = 3.125 USD = 312.5 cents
    assert prorate(price("12.50"), 1, 1, 1, 4, 2, LINE_HALF_UP) == 313
    assert prorate(price("12.50"), 1, 1, 1, 4, 2, LINE_HALF_EVEN) == 312
    # 12.50 * 3/4 = 9.375 USD = 937.5 cents: both go to 938 (937 is odd)
    assert prorate(price("12.50"), 1, 3, 1, 4, 2, LINE_HALF_UP) == 938
    assert prorate(price("12.50"), 1, 3, 1, 4, 2, LINE_HALF_EVEN) == 938
    # 7.33 * 14/28 = 3.665 USD = 366.5 cents (a real Feb cycle)
    assert prorate(price("7.33"), 1, 1, 14, 28, 2, LINE_HALF_UP) == 367
    assert prorate(price("7.33"), 1, 1, 14, 28, 2, LINE_HALF_EVEN) == 366
    # 0 digits: 5 * 1/2 = 2.5 yen; 7 * 1/2 = 3.5 yen
    assert prorate(price("5"), 1, 1, 1, 2, 0, LINE_HALF_UP) == 3
    assert prorate(price("5"), 1, 1, 1, 2, 0, LINE_HALF_EVEN) == 2
    assert prorate(price("7"), 1, 1, 1, 2, 0, LINE_HALF_EVEN) == 4


def test_p_rnd_unit_truncate_vs_half_up_on_ties_and_below() -> None:
    """Section 4: unit policies round the unit price; a .5 tie per unit becomes q/2 units."""
    # unit 12.50 * 1/4 = 312.5 cents: truncate 312, half up 313, times q=10
    assert prorate(price("12.50"), 1, 10, 1, 4, 2, UNIT_TRUNCATE) == 3120
    assert prorate(price("12.50"), 1, 10, 1, 4, 2, UNIT_HALF_UP) == 3130
    # the line policy on the same input is exact (3125), showing the per-unit drift
    assert prorate(price("12.50"), 1, 10, 1, 4, 2, LINE_HALF_UP) == 3125
    # just below a half: 0.0049 USD = 0.49 cents -> truncate 0, half up 0
    assert prorate(price("0.0049"), 1, 100, 1, 1, 2, UNIT_TRUNCATE) == 0
    assert prorate(price("0.0049"), 1, 100, 1, 1, 2, UNIT_HALF_UP) == 0
    assert prorate(price("0.0049"), 1, 100, 1, 1, 2, LINE_HALF_UP) == 49


def test_p_rnd_full_cycle_is_exact_for_catalog_prices() -> None:
    """P-CHG-01: billing_days == cycle_days gives u*m*q exactly (no rounding needed)."""
    for policy in ROUNDING_POLICIES.values():
        assert prorate(price("22.00"), 12, 25, 365, 365, 2, policy) == 22 * 12 * 25 * 100
        assert full_charge(price("7.20"), 1, 3, 2, policy) == 2160
        assert full_charge(price("7.20"), 36, 2, 3, policy) == 7200 * 36 * 2


def test_p_rnd_zero_price_and_zero_days() -> None:
    """P-CHG-01: a free plan prorates to zero under every policy."""
    for policy in ROUNDING_POLICIES.values():
        assert prorate(price("0.00"), 12, 300, 100, 365, 2, policy) == 0


def test_p_money_03_prices_are_exact_rationals() -> None:
    """P-MONEY-03: a catalog price is an exact ratio, never a float."""
    assert price("7.20") == Price(36, 5)
    assert price("12.5000") == Price(25, 2)
    assert price("0.0049").to_decimal() == Decimal("0.0049")


# ------------------------------------------------------------ P-RND-04 (credits)


def _plan(plan_id: str, p1m: str, p1y: str) -> Plan:
    prices = {"P1M": Decimal(p1m), "P1Y": Decimal(p1y)}
    return Plan(
        id=plan_id, name=plan_id, product=plan_id, sector="commercial",
        services={"exchange": 2}, data_services=frozenset({"exchange"}), prices=prices,
        exact_prices={term: Price.from_decimal(value) for term, value in prices.items()},
    )


def _subscription(licenses: int, anchor: date, term: str = "P1M",
                  frequency: str = "monthly") -> Subscription:
    return Subscription("s-1", "ODD", "contoso.com", licenses, licenses, term, frequency,
                        anchor)


def test_p_rnd_04_credit_is_negated_rounded_magnitude_on_a_tie() -> None:
    """P-RND-04: MOSA cancel of 1 x 7.33 on Feb 15 2026 (14 of 28 days) = 3.665 USD.

    The credit is -(round half up of 366.5) = -367 cents, not round(-366.5) = -366;
    half even gives -366.
    """
    plan = _plan("ODD", "7.33", "7.33")
    subscription = _subscription(1, date(2026, 2, 1))
    on = date(2026, 2, 15)
    outcome = cancel_outcome(subscription, plan, on, "MOSA", 2, LINE_HALF_UP)
    (credit,) = outcome.lines
    assert (credit.type, credit.start, credit.end) == ("credit", on, date(2026, 2, 28))
    assert (credit.billing_days, credit.cycle_days, credit.amount) == (14, 28, -367)
    outcome = cancel_outcome(subscription, plan, on, "MOSA", 2, LINE_HALF_EVEN)
    assert outcome.lines[0].amount == -366
    outcome = cancel_outcome(subscription, plan, on, "MOSA", 2, UNIT_TRUNCATE)
    assert outcome.lines[0].amount == -366
    outcome = cancel_outcome(subscription, plan, on, "MOSA", 2, UNIT_HALF_UP)
    assert outcome.lines[0].amount == -367


@settings(max_examples=200, deadline=None)
@given(
    unit=st.decimals(min_value=0, max_value=500, places=2, allow_nan=False,
                     allow_infinity=False),
    licenses=st.integers(1, 300),
    day=st.integers(0, 27),
    digits=st.sampled_from([0, 2, 3]),
    policy=st.sampled_from(sorted(ROUNDING_POLICIES)),
)
def test_p_rnd_04_credit_and_charge_of_same_span_round_alike(
    unit: Decimal, licenses: int, day: int, digits: int, policy: str
) -> None:
    """P-RND-04: an MCA keep-cycle change to the same price credits exactly what it charges."""
    plan = _plan("ODD", str(unit), str(unit))
    subscription = _subscription(licenses, date(2026, 2, 1))
    on = date(2026, 2, 1 + day)
    rounding = ROUNDING_POLICIES[policy]
    outcome = change_outcome(subscription, plan, plan, on, licenses, "P1M", "monthly", "now",
                             "MCA", digits, rounding)
    credit, charge = outcome.lines
    assert outcome.alignment == "keep-cycle"
    assert (credit.start, credit.end) == (charge.start, charge.end)
    assert credit.amount == -charge.amount
    assert charge.amount == prorate(plan.price("P1M"), 1, licenses, 28 - day, 28, digits,
                                    rounding)
    assert outcome.net == 0


# ------------------------------------- independent high-precision reference (P-MONEY-03)

REFERENCE_MODES = {
    "line-half-up": (False, ROUND_HALF_UP),
    "line-half-even": (False, ROUND_HALF_EVEN),
    "unit-truncate": (True, ROUND_DOWN),
    "unit-half-up": (True, ROUND_HALF_UP),
}


def reference_prorate(unit: Decimal, months: int, quantity: int, billing_days: int,
                      cycle_days: int, digits: int, policy: str) -> int:
    """u*m*q*billing_days/cycle_days in minor units, by Decimal at 60 digits.

    60 significant digits are far more than needed: a non-tie quotient is at least
    1/(2*cycle_days) minor units away from a rounding boundary.
    """
    per_unit, mode = REFERENCE_MODES[policy]
    with localcontext() as context:
        context.prec = 60
        scale = Decimal(10) ** digits
        unit_value = unit * months * billing_days * scale / cycle_days
        if per_unit:
            return int(unit_value.quantize(Decimal(1), rounding=mode)) * quantity
        line_value = unit * months * quantity * billing_days * scale / cycle_days
        return int(line_value.quantize(Decimal(1), rounding=mode))


@st.composite
def proration_inputs(draw: st.DrawFn) -> tuple[str, int, int, int, int, int]:
    whole = draw(st.integers(0, 99_999))
    fraction_digits = draw(st.integers(0, 4))
    text = str(whole)
    if fraction_digits:
        fraction = draw(st.integers(0, 10**fraction_digits - 1))
        text += f".{fraction:0{fraction_digits}d}"
    months = draw(st.sampled_from([1, 12, 36]))
    quantity = draw(st.integers(1, 5000))
    cycle_days = draw(st.integers(28, 1096))
    billing_days = draw(st.integers(1, cycle_days))
    digits = draw(st.sampled_from([0, 2, 3]))
    return text, months, quantity, billing_days, cycle_days, digits


@settings(max_examples=600, deadline=None)
@given(inputs=proration_inputs(), policy=st.sampled_from(sorted(ROUNDING_POLICIES)))
def test_p_money_03_prorate_matches_decimal_reference(
    inputs: tuple[str, int, int, int, int, int], policy: str
) -> None:
    """P-MONEY-03 / P-CHG-01 / P-RND-*: prorate == 60-digit Decimal reference, every policy."""
    text, months, quantity, billing_days, cycle_days, digits = inputs
    expected = reference_prorate(Decimal(text), months, quantity, billing_days, cycle_days,
                                 digits, policy)
    got = prorate(price(text), months, quantity, billing_days, cycle_days, digits,
                  ROUNDING_POLICIES[policy])
    assert got == expected
    assert got >= 0  # a magnitude (P-RND-04)


@settings(max_examples=300, deadline=None)
@given(
    tie=st.integers(0, 10**6),
    digits=st.sampled_from([0, 2, 3]),
    quantity=st.integers(1, 50),
)
def test_p_rnd_exact_ties_match_reference(tie: int, digits: int, quantity: int) -> None:
    """Section 4: inputs built to land exactly on .5 of a minor unit, every policy.

    Price (2*tie+1) minor units, billing 1 of 2 days (cycle_days=2 keeps the tie exact).
    """
    unit = Decimal(2 * tie + 1).scaleb(-digits)
    for policy in ROUNDING_POLICIES:
        expected = reference_prorate(unit, 1, quantity, 1, 2, digits, policy)
        got = prorate(price(str(unit)), 1, quantity, 1, 2, digits, ROUNDING_POLICIES[policy])
        assert got == expected, policy
    # per unit the tie is tie + 0.5: half up -> tie + 1, truncate -> tie
    assert prorate(price(str(unit)), 1, quantity, 1, 2, digits, UNIT_HALF_UP) == (
        (tie + 1) * quantity)
    assert prorate(price(str(unit)), 1, quantity, 1, 2, digits, UNIT_TRUNCATE) == tie * quantity


def test_p_rnd_02_same_inputs_same_amounts_in_another_process() -> None:
    """P-RND-02: the same inputs under the same policy give the same amounts on every
    machine and run. A fresh interpreter with a different hash seed and a 6-digit Decimal
    context computes them; both must equal the amounts worked out by hand:
    26.40 * 12 * 17 * 200 / 366 = 179520/61 = 2942.9508... -> 2942.95 (line, half up or
    even); per unit 26.40 * 12 * 200 / 366 = 10560/61 = 173.1147... -> 173.11 (truncate
    and half up alike), times 17 = 2942.87.
    """
    import subprocess
    import sys

    expected = {"line-half-up": 294295, "line-half-even": 294295,
                "unit-truncate": 294287, "unit-half-up": 294287}
    script = (
        "import decimal, json;"
        "decimal.getcontext().prec = 6;"
        "from sim.rules.money import ROUNDING_POLICIES, Price, prorate;"
        "unit = Price.from_decimal(decimal.Decimal('26.40'));"
        "print(json.dumps({n: prorate(unit, 12, 17, 200, 366, 2, p)"
        " for n, p in ROUNDING_POLICIES.items()}))"
    )
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=True)
    import json

    assert json.loads(done.stdout) == expected
    here = {name: prorate(price("26.40"), 12, 17, 200, 366, 2, policy)
            for name, policy in ROUNDING_POLICIES.items()}
    assert here == expected


@pytest.mark.parametrize("text", ["1000000000000000000", "-1e18", "1e999999", "1E+30"])
def test_p_money_01_parse_minor_rejects_out_of_range(text: str) -> None:
    """Amounts beyond 10^18 - 1 minor units cannot be stored exactly: a clear error."""
    with pytest.raises(ValueError, match="out of range"):
        parse_minor(text, 0)


@pytest.mark.parametrize(("text", "ok"), [("9.99E+30", True), ("1E+31", False),
                                          ("-1E+31", False), ("1E-30", True),
                                          ("1E-31", False)])
def test_parse_decimal_range_guard_is_10_to_the_30(text: str, ok: bool) -> None:
    """Money beyond 10^30 (or finer than 10^-30) is a typo, not a price: rejected with a
    ValueError naming the value; at the bounds it is accepted exactly."""
    if ok:
        assert parse_decimal(text) == Decimal(text)
    else:
        with pytest.raises(ValueError, match=r"range|decimal places"):
            parse_decimal(text)
