"""Exact money: currencies, minor units and the rounding policies (PRORATION.md 1 and 4).

Amounts are held as integers of the currency's minor unit (P-MONEY-01); prices are
exact rationals ``(numerator, denominator)`` of major units, taken from decimal strings
once when a catalog is loaded. Every prorated amount is computed with integer
arithmetic and rounded exactly once, at the step the policy names (P-MONEY-03).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache
from typing import NamedTuple

__all__ = [
    "DEFAULT_POLICY",
    "ROUNDING_POLICIES",
    "Price",
    "RoundingPolicy",
    "format_minor",
    "minor_unit",
    "parse_decimal",
    "parse_minor",
    "prorate",
]


class Price(NamedTuple):
    """An exact price in major units: ``numerator / denominator`` (P-MONEY-03)."""

    numerator: int
    denominator: int

    @classmethod
    def from_decimal(cls, value: Decimal) -> Price:
        numerator, denominator = value.as_integer_ratio()
        return cls(numerator, denominator)

    def to_decimal(self) -> Decimal:
        return Decimal(self.numerator) / Decimal(self.denominator)


MAX_EXPONENT = 30  # money beyond 10^30 or finer than 10^-30 is a typo, not a price


def parse_decimal(text: object) -> Decimal:
    """A finite Decimal from a decimal string (never from a float: P-MONEY-01)."""
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected a decimal string, got {type(text).__name__}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise ValueError(f"{text!r} is out of range")
    if int(value.as_tuple().exponent) < -MAX_EXPONENT:
        raise ValueError(f"{text!r} has too many decimal places")
    return value


@cache
def minor_unit(currency: str) -> int:
    """P-MONEY-02: digits of the currency's minor unit, from the ISO 4217 tables.

    The `iso4217` package ships the maintenance agency's list (Babel's CLDR digits differ
    for a few codes, e.g. IQD, HUF). Codes without a minor unit (gold, test codes) and
    unknown codes are errors.
    """
    from iso4217 import Currency

    try:
        exponent = Currency(currency).exponent
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{currency!r} has no minor unit (not a currency for billing)")
    return exponent


def format_minor(amount: int, digits: int) -> str:
    """Minor units as a decimal string with exactly `digits` fraction digits."""
    if digits == 0:
        return str(amount)
    sign = ""
    if amount < 0:
        sign, amount = "-", -amount
    text = str(amount).rjust(digits + 1, "0")  # at least one digit before the point
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


MAX_MINOR = 10**18 - 1  # fits a signed 64-bit column and a decimal128(20, d)


def parse_minor(text: object, digits: int) -> int:
    """A decimal string as exact minor units (integer arithmetic, any number of digits).

    More fraction digits than the currency has is an error unless they are zeros, and so
    is a magnitude beyond :data:`MAX_MINOR` minor units.
    """
    value = parse_decimal(text)
    sign, digit_tuple, exponent = value.as_tuple()
    coefficient = int("".join(map(str, digit_tuple))) if digit_tuple else 0
    shift = int(exponent) + digits
    if coefficient and shift > 18:
        raise ValueError(f"{text!r} is out of range")
    if shift >= 0:
        minor = coefficient * 10**shift
    else:
        minor, remainder = divmod(coefficient, 10**-shift)
        if remainder:
            raise ValueError(f"{text!r} has more than {digits} decimal places")
    if minor > MAX_MINOR:
        raise ValueError(f"{text!r} is out of range")
    return -minor if sign else minor


# ------------------------------------------------------------------ rounding (section 4)


def _round_half_up(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def _round_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        return quotient + 1
    return quotient


def _truncate(numerator: int, denominator: int) -> int:
    return numerator // denominator


class RoundingPolicy(NamedTuple):
    """One row of the rounding table: where rounding happens and how (PRORATION.md 4)."""

    name: str
    per_unit: bool  # round the effective unit price, then multiply by the quantity
    round_ratio: object  # (numerator >= 0, denominator > 0) -> int, rounding a magnitude
    use: str


# The policy table. Rounding always acts on a non-negative magnitude (P-RND-04).
ROUNDING_POLICIES: dict[str, RoundingPolicy] = {
    policy.name: policy
    for policy in (
        RoundingPolicy("line-half-up", False, _round_half_up, "general finance modelling"),
        RoundingPolicy("line-half-even", False, _round_half_even, "banks, some ERPs"),
        RoundingPolicy("unit-truncate", True, _truncate, "partner-style per-unit statements"),
        RoundingPolicy("unit-half-up", True, _round_half_up, "legacy per-unit statements"),
    )
}
DEFAULT_POLICY = "line-half-up"
_SCALES = tuple(10**digits for digits in range(10))  # one minor unit per major, by digits


def prorate(
    price: Price,
    months_per_cycle: int,
    quantity: int,
    billing_days: int,
    cycle_days: int,
    digits: int,
    policy: RoundingPolicy,
) -> int:
    """P-CHG-01: ``u * m * q * billing_days / cycle_days`` in minor units, rounded per policy.

    Pure integer arithmetic: the same inputs give the same amount on every machine, run
    and worker count (P-RND-02).

    The result is the non-negative magnitude; a credit is its negation (P-RND-04).
    Line policies round the line once; unit policies round the effective unit price
    ``u * m * billing_days / cycle_days`` and multiply by ``q`` (P-MONEY-03).
    """
    scale = _SCALES[digits] if 0 <= digits < 10 else 10**digits
    unit_numerator = price.numerator * months_per_cycle * billing_days * scale
    denominator = price.denominator * cycle_days
    if policy.per_unit:
        return policy.round_ratio(unit_numerator, denominator) * quantity
    return policy.round_ratio(unit_numerator * quantity, denominator)
