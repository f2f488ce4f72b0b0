"""The product catalog: plans, their services and prices, and add-ons (RULES.md section 1).

The catalog is data (``sim/rules/data/catalog.toml``), not Python literals. Loading it
validates every entry and names the offending key on error. Plans are light, frozen
objects; prices are kept both as Decimal (for people) and as exact ratios (for the
arithmetic in :mod:`sim.rules.money`).

Local price lists (issue 12): tenants are billed in their country's currency. The
catalog's ``[price_lists]`` table gives fixed list rates from the base (USD) list and the
rounding that turns a converted price into the currency's minor units (P-MONEY-02):
``local = round(usd * rate, minor_unit(currency), rounding)``. This is a *model*
(``price_lists.source``): Microsoft sets local prices per market; replace the rates or
the catalog to use real local price lists.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .calendar import TERM_MONTHS
from .money import Price, minor_unit, parse_decimal

__all__ = [
    "SECTORS",
    "AddOn",
    "Catalog",
    "CatalogError",
    "Plan",
    "PriceLists",
    "Service",
    "builtin_catalog",
    "load_catalog",
    "parse_plan",
]

SECTORS = ("commercial", "government", "nonprofit")
REQUIRED_TERMS = ("P1M", "P1Y")
PRICE_SOURCES = ("3p", "doc", "model")
LIST_ROUNDINGS = {"half-up": ROUND_HALF_UP, "half-even": ROUND_HALF_EVEN}


class CatalogError(ValueError):
    """A catalog entry is invalid; the message starts with the key path."""


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    data: bool  # holds customer data (R-ELIG-07, R-MAN-02)


@dataclass(frozen=True, slots=True)
class Plan:
    """A product with its services (each at a level) and prices per term."""

    id: str
    name: str
    product: str
    sector: str
    services: Mapping[str, int]
    data_services: frozenset[str]
    prices: Mapping[str, Decimal]
    seat_cap: int | None = None
    price_source: str = "model"
    exact_prices: Mapping[str, Price] = field(default_factory=dict, compare=False)
    currency: str = "USD"  # the currency of `prices` (the catalog's base list)
    local_prices: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict,
                                                              compare=False)
    exact_local_prices: Mapping[str, Mapping[str, Price]] = field(default_factory=dict,
                                                                  compare=False)

    def price(self, term: str, currency: str | None = None) -> Price:
        """Per-license monthly price for `term` in `currency` (default: the base list);
        P3Y falls back to P1Y (CASES.md); a currency without a price list is a KeyError."""
        if currency is None or currency == self.currency:
            exact = self.exact_prices
        else:
            exact = self.exact_local_prices.get(currency)
            if exact is None:
                raise KeyError(f"plan {self.id} has no {currency} price list")
        price = exact.get(term)
        if price is None:
            if term == "P3Y":
                return exact["P1Y"]
            raise KeyError(f"plan {self.id} has no price for term {term}")
        return price

    def prices_in(self, currency: str) -> Mapping[str, Decimal]:
        """The plan's list prices (Decimal, per term) in `currency`."""
        if currency == self.currency:
            return self.prices
        if currency not in self.local_prices:
            raise KeyError(f"plan {self.id} has no {currency} price list")
        return self.local_prices[currency]

    @property
    def is_government_or_nonprofit(self) -> bool:
        """R-ELIG-06: government and nonprofit plans cannot change automatically."""
        return self.sector != "commercial"


@dataclass(frozen=True, slots=True)
class AddOn:
    id: str
    name: str
    blocks_change: bool  # R-ELIG-08
    prices: Mapping[str, Decimal]
    price_source: str = "model"


def lacks_data_service(current: Plan, target: Plan) -> bool:
    """R-ELIG-07: the target lacks a data-related service of `current`, or has it lower."""
    target_services = target.services
    for service in current.data_services:
        if target_services.get(service, 0) < current.services[service]:
            return True
    return False


@dataclass(frozen=True)
class PriceLists:
    """Local price lists derived from the base list by fixed list rates (issue 12).

    ``local = (base * rates[currency]).quantize(minor unit of currency, rounding)``;
    `countries` maps an ISO 3166 country code to the currency its tenants are billed in."""

    base: str
    rates: Mapping[str, Decimal]
    countries: Mapping[str, str]
    rounding: str = "half-up"
    source: str = "model"
    note: str = ""

    @property
    def currencies(self) -> tuple[str, ...]:
        return (self.base, *sorted(c for c in self.rates if c != self.base))

    def convert(self, value: Decimal, currency: str) -> Decimal:
        """A base-list price in `currency`, rounded once to its minor unit (P-MONEY-02)."""
        if currency == self.base:
            return value
        quantum = Decimal(1).scaleb(-minor_unit(currency))
        return (value * self.rates[currency]).quantize(quantum, LIST_ROUNDINGS[self.rounding])

    def currency_of(self, country: str) -> str:
        """The billing currency of a tenant in `country` (the base currency if unlisted)."""
        return self.countries.get(country, self.base)

    def localise(self, plan: Plan) -> Plan:
        """`plan` with its prices in every listed currency."""
        local = {currency: {term: self.convert(value, currency)
                            for term, value in plan.prices.items()}
                 for currency in self.currencies if currency != self.base}
        exact = {currency: {term: Price.from_decimal(value) for term, value in terms.items()}
                 for currency, terms in local.items()}
        return replace(plan, currency=self.base, local_prices=local, exact_local_prices=exact)


@dataclass(frozen=True)
class Catalog:
    services: Mapping[str, Service]
    plans: Mapping[str, Plan]
    add_ons: Mapping[str, AddOn]
    currency: str = "USD"
    price_lists: PriceLists | None = None

    def plan(self, plan_id: str) -> Plan:
        return self.plans[plan_id]

    @property
    def currencies(self) -> tuple[str, ...]:
        """Currencies the catalog has price lists for (the base currency first)."""
        return self.price_lists.currencies if self.price_lists else (self.currency,)

    def currency_of(self, country: str) -> str:
        """Issue 12: the currency tenants in `country` are billed in (US->USD, JP->JPY...)."""
        return self.price_lists.currency_of(country) if self.price_lists else self.currency

    def automatic_targets(self, plan_id: str, same_sector: bool = True) -> list[Plan]:
        """R-ELIG-13: plans offered for an automatic change of a `plan_id` subscription.

        The catalog filtered by R-ELIG-07 (same or higher data services), without the
        plan itself; by default only plans of the same sector are offered.
        """
        current = self.plans[plan_id]
        return [
            plan
            for plan in self.plans.values()
            if plan.id != plan_id
            and (not same_sector or plan.sector == current.sector)
            and not lacks_data_service(current, plan)
        ]

    def with_plans(self, plans: Iterable[Plan]) -> Catalog:
        """A catalog where `plans` are added, replacing built-in plans of the same id."""
        merged = dict(self.plans)
        for plan in plans:
            merged[plan.id] = self.price_lists.localise(plan) if self.price_lists else plan
        return Catalog(self.services, merged, self.add_ons, self.currency, self.price_lists)


# ------------------------------------------------------------------------------ loading


def _require(mapping: Mapping[str, Any], key: str, path: str, kind: type | tuple) -> Any:
    if key not in mapping:
        raise CatalogError(f"{path}.{key}: missing")
    value = mapping[key]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise CatalogError(f"{path}.{key}: expected {name}, got {type(value).__name__}")
    return value


def _check_keys(mapping: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise CatalogError(f"{path}.{unknown[0]}: unknown key")


def _parse_prices(raw: Any, path: str, required: Iterable[str]) -> dict[str, Decimal]:
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{path}: expected a table of term -> price")
    prices: dict[str, Decimal] = {}
    for term, text in raw.items():
        if term not in TERM_MONTHS:
            raise CatalogError(f"{path}.{term}: unknown term (expected one of P1M, P1Y, P3Y)")
        try:
            value = parse_decimal(text)
        except ValueError as error:
            raise CatalogError(f"{path}.{term}: {error}") from None
        if value < 0:
            raise CatalogError(f"{path}.{term}: negative price {text}")
        prices[term] = value
    for term in required:
        if term not in prices:
            raise CatalogError(f"{path}.{term}: missing price for term {term}")
    return prices


PLAN_KEYS = ("id", "name", "product", "sector", "services", "data_services", "prices",
             "seat_cap", "price_source")


def parse_plan(
    plan_id: str, raw: Mapping[str, Any], services: Mapping[str, Service], path: str
) -> Plan:
    """Validate one plan entry; `data_services` defaults to the services marked `data`."""
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{path}: expected a table")
    _check_keys(raw, PLAN_KEYS, path)
    if "id" in raw and raw["id"] != plan_id:
        raise CatalogError(f"{path}.id: {raw['id']!r} differs from the key {plan_id!r}")
    for key in ("name", "product"):
        if key in raw and not isinstance(raw[key], str):
            raise CatalogError(f"{path}.{key}: expected a string, got {type(raw[key]).__name__}")
    sector = _require(raw, "sector", path, str)
    if sector not in SECTORS:
        raise CatalogError(f"{path}.sector: {sector!r} is not one of {', '.join(SECTORS)}")
    raw_services = _require(raw, "services", path, Mapping)
    levels: dict[str, int] = {}
    for service, level in raw_services.items():
        if service not in services:
            raise CatalogError(f"{path}.services.{service}: unknown service")
        if isinstance(level, bool) or not isinstance(level, int) or level < 1:
            raise CatalogError(f"{path}.services.{service}: level must be an integer >= 1")
        levels[service] = level
    if "data_services" in raw:
        data_list = raw["data_services"]
        if not isinstance(data_list, list) or not all(isinstance(s, str) for s in data_list):
            raise CatalogError(f"{path}.data_services: expected a list of service names")
        for index, service in enumerate(data_list):
            if service not in levels:
                raise CatalogError(
                    f"{path}.data_services[{index}]: {service!r} is not a service of the plan"
                )
        data_services = frozenset(data_list)
    else:
        data_services = frozenset(s for s in levels if services[s].data)
    prices = _parse_prices(_require(raw, "prices", path, Mapping), f"{path}.prices",
                           REQUIRED_TERMS)
    seat_cap = raw.get("seat_cap")
    if seat_cap is not None and (
        isinstance(seat_cap, bool) or not isinstance(seat_cap, int) or seat_cap < 1
    ):
        raise CatalogError(f"{path}.seat_cap: must be an integer >= 1")
    price_source = raw.get("price_source", "model")
    if price_source not in PRICE_SOURCES:
        raise CatalogError(f"{path}.price_source: {price_source!r} is not one of "
                           f"{', '.join(PRICE_SOURCES)}")
    return Plan(
        id=plan_id,
        name=raw.get("name", plan_id),
        product=raw.get("product", plan_id),
        sector=sector,
        services=levels,
        data_services=data_services,
        prices=prices,
        seat_cap=seat_cap,
        price_source=price_source,
        exact_prices={term: Price.from_decimal(value) for term, value in prices.items()},
    )


def _parse_price_lists(raw: Any, base: str, path: str) -> PriceLists:
    """Validate ``[price_lists]``: rates per ISO 4217 code, countries, rounding, source."""
    if not isinstance(raw, Mapping):
        raise CatalogError(f"{path}: expected a table")
    _check_keys(raw, ("rates", "countries", "rounding", "source", "note"), path)
    rates: dict[str, Decimal] = {}
    for currency, text in _require(raw, "rates", path, Mapping).items():
        try:
            minor_unit(currency)
            rate = parse_decimal(text)
        except ValueError as error:
            raise CatalogError(f"{path}.rates.{currency}: {error}") from None
        if rate <= 0:
            raise CatalogError(f"{path}.rates.{currency}: rate must be > 0, got {text}")
        rates[currency] = rate
    countries = dict(raw.get("countries", {}))
    for country, currency in countries.items():
        if currency != base and currency not in rates:
            raise CatalogError(f"{path}.countries.{country}: no price list for {currency!r}")
    rounding = raw.get("rounding", "half-up")
    if rounding not in LIST_ROUNDINGS:
        raise CatalogError(f"{path}.rounding: {rounding!r} is not one of "
                           f"{', '.join(LIST_ROUNDINGS)}")
    source = raw.get("source", "model")
    if source not in PRICE_SOURCES:
        raise CatalogError(f"{path}.source: {source!r} is not one of {', '.join(PRICE_SOURCES)}")
    return PriceLists(base, rates, countries, rounding, source, str(raw.get("note", "")))


def _parse_catalog(raw: Mapping[str, Any], source: str) -> Catalog:
    _check_keys(raw, ("format", "currency", "services", "plans", "add_ons", "price_lists"),
                source)
    if raw.get("format", 1) != 1:
        raise CatalogError(f"{source}.format: unsupported catalog format {raw['format']!r}")
    services: dict[str, Service] = {}
    for service_id, entry in _require(raw, "services", source, Mapping).items():
        path = f"{source}.services.{service_id}"
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{path}: expected a table")
        _check_keys(entry, ("data", "name"), path)
        services[service_id] = Service(service_id, entry.get("name", service_id),
                                       bool(_require(entry, "data", path, bool)))
    plans = {
        plan_id: parse_plan(plan_id, entry, services, f"{source}.plans.{plan_id}")
        for plan_id, entry in _require(raw, "plans", source, Mapping).items()
    }
    add_ons: dict[str, AddOn] = {}
    for add_on_id, entry in raw.get("add_ons", {}).items():
        path = f"{source}.add_ons.{add_on_id}"
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{path}: expected a table")
        _check_keys(entry, ("name", "blocks_change", "prices", "price_source"), path)
        add_ons[add_on_id] = AddOn(
            id=add_on_id,
            name=entry.get("name", add_on_id),
            blocks_change=_require(entry, "blocks_change", path, bool),
            prices=_parse_prices(_require(entry, "prices", path, Mapping), f"{path}.prices",
                                 REQUIRED_TERMS),
            price_source=entry.get("price_source", "model"),
        )
    currency = raw.get("currency", "USD")
    price_lists = None
    if "price_lists" in raw:
        price_lists = _parse_price_lists(raw["price_lists"], currency, f"{source}.price_lists")
        plans = {plan_id: price_lists.localise(plan) for plan_id, plan in plans.items()}
    return Catalog(services, plans, add_ons, currency, price_lists)


def load_catalog(path: str | Path) -> Catalog:
    """Load and validate a catalog TOML file; errors name the file and key path."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path}: {error}") from None
    return _parse_catalog(raw, "catalog")


_BUILTIN: Catalog | None = None


def builtin_catalog() -> Catalog:
    """The catalog shipped in the package (loaded once, then shared: it is immutable)."""
    global _BUILTIN
    if _BUILTIN is None:
        text = resources.files("sim.rules").joinpath("data/catalog.toml").read_text("utf-8")
        _BUILTIN = _parse_catalog(tomllib.loads(text), "catalog")
    return _BUILTIN
