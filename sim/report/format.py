"""Numbers for people: one place that turns a metric into text a finance reader signs off.

Durations in the largest sensible unit (minutes, hours, days), counts with thousands
separators, money with its currency's minor units (P-MONEY-02) and code, ratios as
percentages. Nothing here ever writes scientific notation or an offset. These functions
are for report.md, report.html, plot labels and compare's printed table only: JSON and
CSV keep the exact machine values.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..rules.money import minor_unit

__all__ = ["CURRENCY_UNIT", "format_count", "format_duration", "format_metric",
           "format_money", "format_number", "format_ratio", "money_unit"]

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 1440
CURRENCY_UNIT = re.compile(r"^([A-Z]{3})(?: (.+))?$")  # "USD" or "USD converted from JPY"


def format_count(value: int | float) -> str:
    """A whole number with thousands separators: ``1234567`` -> ``"1,234,567"``."""
    return f"{round(value):,d}"


def format_number(value: int | float | Decimal, digits: int | None = None) -> str:
    """A plain decimal with separators; 3 significant digits below 100, never an exponent.

    ``digits`` fixes the number of fraction digits instead.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return format_count(value)
    number = float(value)
    if not math.isfinite(number):
        return "n/a"
    if digits is None:
        magnitude = abs(number)
        digits = 0 if magnitude >= 100 or magnitude == 0 else min(
            6, 2 - math.floor(math.log10(magnitude)))
    text = f"{number:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_ratio(value: float) -> str:
    """A share as a percentage: ``0.578947`` -> ``"57.9%"``; tiny non-zero shares say so."""
    percent = float(value) * 100
    if not math.isfinite(percent):
        return "n/a"
    if percent != 0 and abs(percent) < 0.1:
        return "<0.1%" if percent > 0 else ">-0.1%"
    return f"{format_number(percent, 1)}%"


def format_duration(minutes: float) -> str:
    """Minutes in the largest sensible unit: ``36860`` -> ``"25.6 days"``."""
    value = float(minutes)
    if not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 2 * MINUTES_PER_DAY:
        return f"{format_number(value / MINUTES_PER_DAY, 1)} days"
    if magnitude >= 2 * MINUTES_PER_HOUR:
        return f"{format_number(value / MINUTES_PER_HOUR, 1)} hours"
    return f"{format_number(value, 1)} minutes"


def _exact(amount: Any) -> Decimal:
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):
        return Decimal(repr(amount))  # a compare delta; shown, never summed
    return Decimal(str(amount))


def format_money(amount: int | str | Decimal | float, currency: str,
                 minor: bool = False) -> str:
    """``"USD -1,234.56"``: the currency's minor units (P-MONEY-02), separators, the code.

    `amount` is a decimal string or Decimal of major units, or, with ``minor=True``, an
    integer of minor units. Extra precision (a delta) is rounded half-up for display only.
    """
    digits = minor_unit(currency)
    value = _exact(amount)
    if minor:
        value = value.scaleb(-digits)
    quantum = Decimal(1).scaleb(-digits)
    value = value.quantize(quantum, rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)
    return f"{currency} {value:,.{digits}f}"


def money_unit(unit: str) -> tuple[str, str] | None:
    """``"USD"`` -> ``("USD", "")``; ``"EUR converted"`` -> ``("EUR", "converted")``."""
    match = CURRENCY_UNIT.match(unit or "")
    if not match:
        return None
    try:
        minor_unit(match.group(1))
    except ValueError:
        return None
    return match.group(1), match.group(2) or ""


def format_metric(value: Any, unit: str) -> str:
    """One metric value with its unit, for people (report.md/html, compare's table).

    ``minutes``/``hours`` become durations, ``ratio`` a percentage, a currency code
    money, anything else a plain number followed by its unit.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    money = money_unit(unit)
    if money is not None:
        try:
            text = format_money(value, money[0])
        except (InvalidOperation, ValueError):
            return str(value)
        return f"{text} {money[1]}".rstrip()
    if isinstance(value, str):
        return value
    if unit == "minutes":
        return format_duration(value)
    if unit == "hours":
        return format_duration(float(value) * MINUTES_PER_HOUR)
    if unit == "ratio":
        return format_ratio(value)
    text = format_count(value) if isinstance(value, int) else format_number(value)
    return f"{text} {unit}".rstrip()
