"""Conversion tables (``--fx FILE``): the only way a report sums across currencies.

A table names its target currency and, for each other currency, how many target units
one unit is worth, as decimal strings (P-MONEY-01)::

    target = "USD"
    [rates]
    EUR = "1.08"
    JPY = "0.0066"

TOML or JSON. Each currency's exact total is converted once and rounded half-up to the
target's minor unit; the converted figures are labelled "converted" wherever shown.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

from ..rules.money import minor_unit, parse_decimal

__all__ = ["FxError", "FxTable", "load_fx", "parse_fx"]


MAX_RATE = Decimal("1e12")  # target units per unit: far above any real exchange rate
MAX_FILE_BYTES = 1 << 20  # a conversion table is a few lines


class FxError(ValueError):
    """A conversion table is invalid; the message names the file and key."""


@dataclass(frozen=True)
class FxTable:
    target: str
    rates: Mapping[str, Decimal]
    source: str = "fx table"

    def convert_minor(self, amount_minor: int, currency: str) -> int:
        """`amount_minor` of `currency` in minor units of the target, rounded half-up once."""
        if currency == self.target:
            return amount_minor
        if currency not in self.rates:
            raise FxError(f"{self.source}: no rate for {currency} (rates.{currency})")
        with localcontext() as context:  # exact for every amount and rate in bounds
            context.prec = 80
            major = Decimal(amount_minor).scaleb(-minor_unit(currency)) * self.rates[currency]
            return int(major.scaleb(minor_unit(self.target)).quantize(Decimal(1),
                                                                       ROUND_HALF_UP))


def parse_fx(raw: Any, source: str = "fx") -> FxTable:
    """Validate a conversion table already read into a mapping."""
    if not isinstance(raw, Mapping):
        raise FxError(f"{source}: expected a table with 'target' and 'rates'")
    unknown = sorted(set(raw) - {"target", "rates"})
    if unknown:
        raise FxError(f"{source}.{unknown[0]}: unknown key")
    target = raw.get("target")
    try:
        minor_unit(str(target))
    except ValueError as error:
        raise FxError(f"{source}.target: {error}") from None
    rates_raw = raw.get("rates")
    if not isinstance(rates_raw, Mapping) or not rates_raw:
        raise FxError(f"{source}.rates: expected a table of currency -> rate")
    rates: dict[str, Decimal] = {}
    for currency, text in rates_raw.items():
        try:
            minor_unit(currency)
            rate = parse_decimal(text)
        except ValueError as error:
            raise FxError(f"{source}.rates.{currency}: {error}") from None
        if rate <= 0:
            raise FxError(f"{source}.rates.{currency}: rate must be > 0, got {text}")
        if rate > MAX_RATE:
            raise FxError(f"{source}.rates.{currency}: rate must be at most {MAX_RATE:,f}, "
                          f"got {text}")
        rates[currency] = rate
    return FxTable(str(target), rates, source)


def load_fx(path: str | Path) -> FxTable:
    """Read a conversion table from a .toml or .json file; errors name the file."""
    path = Path(path)
    try:
        if path.exists() and not path.is_file():  # a folder, FIFO or device never ends well
            raise FxError(f"{path}: cannot read: not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise FxError(f"{path}: cannot read: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise FxError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; not a conversion table")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FxError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise FxError(f"{path}: {error}") from None
    return parse_fx(raw, str(path))
