"""Scenarios: every parameter of a fleet run, validated and immutable (NUMBERS.md).

A scenario is a TOML file in ``scenarios/`` that overrides the defaults below; every
default is a number of ``NUMBERS.md`` (its source in the field's ``source``
metadata). :func:`load_scenario` rejects unknown keys and out-of-range values with the
file, the key path and the reason, and applies ``--set key.path=value`` overrides.
Durations are minutes unless the name says otherwise.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

__all__ = [
    "BLOCKER_ACTIONS",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
]


class ScenarioError(ValueError):
    """A scenario is invalid: the message names the file, the key path and the reason."""


class FrozenDict(dict):
    """A read-only dict, so that a scenario is immutable all the way down (and pickles)."""

    def _readonly(self, *args: Any, **kwargs: Any) -> typing.NoReturn:
        raise TypeError("scenario parameters are immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _readonly
    __ior__ = _readonly

    def __reduce__(self) -> tuple:
        return (FrozenDict, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))


def P(default: Any, lo: float | None = None, hi: float | None = None, source: str = "model",
      doc: str = "") -> Any:
    """A scenario parameter with its range, its source (doc/3p/model) and a description."""
    meta = {"lo": lo, "hi": hi, "source": source, "doc": doc}
    if isinstance(default, dict | list | tuple) or dataclasses.is_dataclass(default):
        value = default
        return field(default_factory=lambda: _copy(value), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return FrozenDict(value)
    if isinstance(value, list):
        return tuple(value)
    return value


# ------------------------------------------------------------------------ distributions


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A positive duration: lognormal with this median and shape, optionally capped."""

    median: float = P(10.0, lo=0.0)
    sigma: float = P(0.8, lo=0.0, hi=5.0)
    cap: float = P(0.0, lo=0.0, doc="upper bound; 0 = none")


def _lognormal(median: float, sigma: float, cap: float = 0.0) -> Any:
    return P(Lognormal(median, sigma, cap))


# ---------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class Meta:
    name: str = P("scenario")
    question: str = P("", doc="the question this scenario answers")


@dataclass(frozen=True, slots=True)
class Run:
    tenants: int = P(10_000, lo=1, hi=50_000_000)
    seed: int = P(1, lo=0, hi=2**63 - 1)
    start: date = P(date(2026, 1, 1), doc="first simulated UTC day")
    horizon_days: int = P(365, lo=1, hi=3660)
    currency: str = P("USD", doc="ISO 4217 currency of the fleet (P-MONEY-02)")


@dataclass(frozen=True, slots=True)
class Blockers:
    """Prevalence of each blocker condition in the population (R-ELIG-01..10)."""

    over_assigned: float = P(0.03, 0, 1, doc="R-ELIG-01: users > licenses")
    not_provisioned: float = P(0.01, 0, 1, doc="R-ELIG-02: incomplete provisioning")
    provisioning_minutes: Lognormal = _lognormal(240.0, 0.8)
    credit_check_pending: float = P(0.01, 0, 1, doc="R-ELIG-03: pending at the start")
    not_eligible: float = P(0.01, 0, 1, doc="R-ELIG-04")
    duplicate_product: float = P(0.02, 0, 1, doc="R-ELIG-05: a second subscription")
    unpaid_balance: float = P(0.10, 0, 1, doc="R-ELIG-09: share of invoice payers")
    other_problem: float = P(0.005, 0, 1, doc="R-ELIG-10")


@dataclass(frozen=True, slots=True)
class Population:
    mca_share: float = P(0.6, 0, 1)
    sectors: dict[str, float] = P({"commercial": 0.92, "government": 0.03, "nonprofit": 0.05})
    countries: dict[str, float] = P({"US": 0.45, "GB": 0.15, "DE": 0.12, "SE": 0.08,
                                     "FR": 0.12, "JP": 0.08})
    payment_methods: dict[str, float] = P({"card": 0.7, "invoice": 0.3})
    wire_international: float = P(0.1, 0, 1, doc="invoice payers paying from abroad")
    users_median: float = P(12.0, lo=1.0)
    users_sigma: float = P(1.1, 0.0, 4.0)
    seat_cap_business: int = P(300, lo=1, source="doc", doc="seats per Business plan")
    spare_licenses: float = P(0.1, 0, 5, doc="mean share of unassigned licenses")
    commercial_plans: dict[str, float] = P({
        "BUSINESS_BASIC": 0.24, "BUSINESS_STANDARD": 0.22, "BUSINESS_PREMIUM": 0.14,
        "APPS_FOR_BUSINESS": 0.08, "APPS_FOR_ENTERPRISE": 0.02, "O365_E1": 0.08,
        "O365_E3": 0.08, "O365_E5": 0.02, "M365_E3": 0.05, "M365_E5": 0.01,
        "M365_F1": 0.02, "M365_F3": 0.04})
    government_plans: dict[str, float] = P({"O365_G1": 0.5, "O365_G3": 0.5})
    nonprofit_plans: dict[str, float] = P({"BUSINESS_BASIC_NONPROFIT": 0.4,
                                           "BUSINESS_STANDARD_NONPROFIT": 0.2,
                                           "BUSINESS_PREMIUM_NONPROFIT": 0.4})
    terms: dict[str, float] = P({"P1M": 0.35, "P1Y": 0.6, "P3Y": 0.05})
    annual_term_billing: dict[str, float] = P({"monthly": 0.55, "annual": 0.45})
    triennial_term_billing: dict[str, float] = P({"monthly": 0.2, "annual": 0.5,
                                                  "triennial": 0.3})
    add_on_share: float = P(0.25, 0, 1, doc="subscriptions with an add-on")
    add_ons: dict[str, float] = P({"TEAMS_PHONE": 0.25, "AUDIO_CONFERENCING": 0.2,
                                   "DEFENDER_O365_P1": 0.2, "EXCHANGE_ARCHIVING": 0.12,
                                   "EXTRA_FILE_STORAGE": 0.1, "VISIO_PLAN_2": 0.1,
                                   "LEGACY_KIOSK_STORAGE": 0.03})
    customising_tenants: float = P(0.3, 0, 1, doc="tenants with per-user disabled services")
    customised_user_share: float = P(0.2, 0, 1, doc="their users with a disabled service")
    data_gb_per_user: Lognormal = _lognormal(8.0, 1.0, 0.0)
    unpaid_balance_median: float = P(400.0, lo=0.0, doc="major units")
    blockers: Blockers = P(Blockers())


@dataclass(frozen=True, slots=True)
class Campaign:
    start: date = P(date(2026, 3, 1))
    days: int = P(14, lo=1)
    factor: float = P(3.0, lo=0.0)


@dataclass(frozen=True, slots=True)
class Demand:
    request_share: float = P(0.3, 0, 1, doc="tenants that request a change in the horizon")
    weekday_weights: tuple[float, ...] = P((1.0, 1.1, 1.1, 1.0, 0.9, 0.15, 0.1))
    hour_weights: tuple[float, ...] = P((0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.5, 2.0,
                                         2.0, 1.8, 1.2, 1.8, 2.0, 1.8, 1.4, 1.0, 0.6, 0.4,
                                         0.3, 0.2, 0.15, 0.1))
    month_end_days: int = P(3, lo=0, hi=15, doc="last days of a month with more demand")
    month_end_factor: float = P(2.0, lo=0.0)
    campaigns: tuple[Campaign, ...] = P(())
    directions: dict[str, float] = P({"upgrade": 0.7, "lateral": 0.15, "downgrade": 0.15})
    mca_partial_share: float = P(0.08, 0, 1, doc="R-PATH-02 partial moves")
    mca_partial_fraction: float = P(0.5, 0.01, 0.99, doc="share of licenses moved")
    mca_renewal_share: float = P(0.15, 0, 1, doc="R-AUTO-02 'at renewal' scheduling")
    term_change_share: float = P(0.1, 0, 1, doc="MCA changes of term or billing frequency")
    split_users_share: float = P(0.03, 0, 1, doc="R-PATH-03 users end on different plans")


# What an admin may do about each blocker; remediation exists only where the resolution
# is something the admin can do to the tenant's state (RULES.md section 3 table).
BLOCKER_ACTIONS: dict[str, tuple[str, ...]] = {
    "USERS_EXCEED_LICENSES": ("remediate", "manual", "give_up"),
    "NOT_PROVISIONED_OR_UNHEALTHY": ("wait", "manual", "give_up"),
    "CHANGE_OR_CREDIT_CHECK_PENDING": ("wait", "manual", "give_up"),
    "SUBSCRIPTION_NOT_ELIGIBLE": ("manual", "give_up"),
    "DUPLICATE_PLANS_SAME_PRODUCT": ("remediate", "manual", "give_up"),
    "GOVERNMENT_OR_NONPROFIT_PLAN": ("manual", "give_up"),
    "TARGET_NOT_SUPPORTED": ("manual", "give_up"),
    "ADDON_BLOCKS_CHANGE": ("remediate", "manual", "give_up"),
    "UNPAID_INVOICE_BALANCE": ("remediate", "manual", "give_up"),
    "OTHER": ("remediate", "manual", "give_up"),
}


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What an admin does on meeting one blocker: probabilities summing to 1."""

    remediate: float = P(0.0, 0, 1)
    wait: float = P(0.0, 0, 1)
    manual: float = P(0.0, 0, 1)
    give_up: float = P(0.0, 0, 1)
    delay: Lognormal = _lognormal(120.0, 1.0, 0.0)


def _behaviours() -> dict[str, Behaviour]:
    minutes_per_day = 1440.0
    return {
        "USERS_EXCEED_LICENSES": Behaviour(0.85, 0, 0.1, 0.05, Lognormal(90.0, 1.0)),
        "NOT_PROVISIONED_OR_UNHEALTHY": Behaviour(0, 0.9, 0.05, 0.05, Lognormal(240.0, 0.5)),
        "CHANGE_OR_CREDIT_CHECK_PENDING": Behaviour(0, 0.9, 0.05, 0.05,
                                                    Lognormal(minutes_per_day, 0.5)),
        "SUBSCRIPTION_NOT_ELIGIBLE": Behaviour(0, 0, 0.8, 0.2, Lognormal(240.0, 1.0)),
        "DUPLICATE_PLANS_SAME_PRODUCT": Behaviour(0.7, 0, 0.2, 0.1, Lognormal(480.0, 1.0)),
        "GOVERNMENT_OR_NONPROFIT_PLAN": Behaviour(0, 0, 0.85, 0.15, Lognormal(240.0, 1.0)),
        "TARGET_NOT_SUPPORTED": Behaviour(0, 0, 0.85, 0.15, Lognormal(240.0, 1.0)),
        "ADDON_BLOCKS_CHANGE": Behaviour(0.7, 0, 0.25, 0.05, Lognormal(60.0, 1.0)),
        "UNPAID_INVOICE_BALANCE": Behaviour(0.8, 0, 0.05, 0.15,
                                            Lognormal(3 * minutes_per_day, 0.8)),
        "OTHER": Behaviour(0.5, 0, 0.4, 0.1, Lognormal(2 * minutes_per_day, 1.0)),
    }


@dataclass(frozen=True, slots=True)
class Admin:
    response: Lognormal = _lognormal(30.0, 1.0, 0.0)
    backoff_factor: float = P(2.0, lo=1.0, doc="each retry waits this much longer")
    max_attempts: int = P(5, lo=1, hi=100)
    after_max_attempts: str = P("manual", doc="'manual' or 'give_up'")
    blockers: dict[str, Behaviour] = P(_behaviours())


@dataclass(frozen=True, slots=True)
class Incident:
    rate_per_year: float = P(8.0, lo=0.0)
    duration: Lognormal = _lognormal(180.0, 0.8, 0.0)


def _incidents() -> dict[str, Incident]:
    return {
        "exchange": Incident(10.0, Lognormal(180.0, 0.8)),
        "sharepoint": Incident(8.0, Lognormal(150.0, 0.8)),
        "teams": Incident(10.0, Lognormal(120.0, 0.8)),
        "onedrive": Incident(4.0, Lognormal(120.0, 0.8)),
        "intune": Incident(4.0, Lognormal(180.0, 0.8)),
    }


@dataclass(frozen=True, slots=True)
class CreditChecks:
    after_purchase: float = P(0.2, 0, 1, doc="purchases that start a credit check")
    max_business_days: int = P(2, lo=1, hi=30, source="doc", doc="up to 2 business days")


@dataclass(frozen=True, slots=True)
class Capacity:
    workers: int = P(4, lo=1, hi=100_000)
    switch: Lognormal = P(Lognormal(10.0, 0.8, 60.0), source="doc")
    mosa_finalisation: Lognormal = P(Lognormal(3.0, 0.5, 30.0), source="doc")
    sla_minutes: float = P(60.0, lo=1.0, source="doc", doc="order placed to completion")


@dataclass(frozen=True, slots=True)
class Manual:
    wrong_domain: float = P(0.05, 0, 1, doc="R-MAN-03 purchase for another domain")
    wrong_domain_fix: Lognormal = _lognormal(1440.0, 0.8)
    inactive_new_subscription: float = P(0.15, 0, 1, doc="R-MAN-04")
    activation: Lognormal = _lognormal(60.0, 0.8)
    too_few_licenses: float = P(0.1, 0, 1, doc="R-MAN-05")
    buy_more: Lognormal = _lognormal(60.0, 0.8)
    backup_before_downgrade: float = P(0.7, 0, 1, doc="R-MAN-02")
    backup_minutes_per_user: float = P(15.0, lo=0.0)
    buy: Lognormal = _lognormal(30.0, 0.8)
    move_minutes_per_user: float = P(2.0, lo=0.0)
    cancel_delay: Lognormal = P(Lognormal(2880.0, 1.5, 0.0),
                                doc="time from moving users to step 4 (R-MAN-06)")


@dataclass(frozen=True, slots=True)
class Billing:
    rounding: str = P("line-half-up", doc="PRORATION.md section 4")
    invoice_day: int = P(5, lo=1, hi=28, source="doc")
    mca_window_days: int = P(7, lo=0, hi=60, source="doc")
    mca_full_refund_days: int = P(1, lo=0, hi=60, source="doc")
    mosa_cancel_limit: int = P(25, lo=1, source="doc")
    mca_card_days: int = P(10, lo=0, source="doc")
    mosa_card_days: int = P(1, lo=0, source="doc")
    wire_business_days_domestic: int = P(4, lo=0, source="doc")
    wire_business_days_international: int = P(7, lo=0, source="doc")
    credit_invoice_limit_days: int = P(30, lo=0, source="doc")
    mca_rules: tuple[str, ...] = P(("R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10"),
                                   doc="R-ELIG-12")


@dataclass(frozen=True, slots=True)
class Scenario:
    meta: Meta = P(Meta())
    run: Run = P(Run())
    population: Population = P(Population())
    demand: Demand = P(Demand())
    admin: Admin = P(Admin())
    incidents: dict[str, Incident] = P(_incidents())
    credit_checks: CreditChecks = P(CreditChecks())
    capacity: Capacity = P(Capacity())
    manual: Manual = P(Manual())
    billing: Billing = P(Billing())


# --------------------------------------------------------------------------- building


def _fail(path: str, message: str) -> typing.NoReturn:
    raise ScenarioError(f"{path}: {message}")


def _convert(kind: Any, value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, Mapping):
            _fail(path, f"expected a table, got {type(value).__name__}")
        return _build(kind, value, path)
    if origin is dict:
        _key_kind, value_kind = typing.get_args(kind)
        if not isinstance(value, Mapping):
            _fail(path, f"expected a table, got {type(value).__name__}")
        return FrozenDict({key: _convert(value_kind, item, f"{path}.{key}", meta)
                           for key, item in value.items()})
    if origin is tuple:
        item_kind = typing.get_args(kind)[0]
        if not isinstance(value, list | tuple):
            _fail(path, f"expected a list, got {type(value).__name__}")
        return tuple(_convert(item_kind, item, f"{path}[{index}]", meta)
                     for index, item in enumerate(value))
    if kind is bool:
        if not isinstance(value, bool):
            _fail(path, f"expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"expected an integer, got {value!r}")
        return _check_range(value, path, meta)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(path, f"expected a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            _fail(path, "must be a finite number")
        return _check_range(float(value), path, meta)
    if kind is str:
        if not isinstance(value, str):
            _fail(path, f"expected a string, got {value!r}")
        return value
    if kind is date:
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        _fail(path, f"expected a date (YYYY-MM-DD), got {value!r}")
    raise TypeError(f"unsupported parameter type {kind!r} at {path}")  # a schema bug


def _check_range(value: float, path: str, meta: Mapping[str, Any]) -> float:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and value < lo:
        _fail(path, f"{value} is below the minimum {lo}")
    if hi is not None and value > hi:
        _fail(path, f"{value} is above the maximum {hi}")
    return value


def _build(cls: type, raw: Mapping[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = [name for name in fields if name[:3] == str(key)[:3]]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(f"{path}.{key}" if path else str(key), f"unknown key{hint}")
    values = {}
    for name, spec in fields.items():
        key_path = f"{path}.{name}" if path else name
        if name in raw:
            kind = hints[name]
            default = _default(spec)
            if dataclasses.is_dataclass(default) and isinstance(raw[name], Mapping):
                # a partial table overrides only the keys it names
                merged = {**scenario_to_dict(default), **raw[name]}
                values[name] = _convert(kind, merged, key_path, spec.metadata)
            elif (typing.get_origin(kind) is dict and isinstance(default, dict)
                  and dataclasses.is_dataclass(typing.get_args(kind)[1])
                  and isinstance(raw[name], Mapping)):
                merged_map = {k: scenario_to_dict(v) for k, v in default.items()}
                for item_key, item in raw[name].items():
                    base = merged_map.get(item_key, {})
                    merged_map[item_key] = ({**base, **item} if isinstance(item, Mapping)
                                            else item)
                values[name] = _convert(kind, merged_map, key_path, spec.metadata)
            else:
                values[name] = _convert(kind, raw[name], key_path, spec.metadata)
    instance = cls(**values)
    _validate(instance, path)
    return instance


def _default(spec: dataclasses.Field) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return None


def _weights(weights: Mapping[str, float], path: str, allowed: Iterable[str] | None = None,
             exact_keys: bool = False) -> None:
    allowed_set = set(allowed) if allowed is not None else None
    for key, value in weights.items():
        if allowed_set is not None and key not in allowed_set:
            expected = (", ".join(sorted(allowed_set)) if len(allowed_set) <= 20
                        else f"{len(allowed_set)} known codes")
            _fail(f"{path}.{key}", f"unknown key (expected one of {expected})")
        if value < 0:
            _fail(f"{path}.{key}", "weights must be >= 0")
    if exact_keys and allowed_set is not None:
        missing = allowed_set - set(weights)
        if missing:
            _fail(path, f"missing {', '.join(sorted(missing))}")
    if weights and sum(weights.values()) <= 0:
        _fail(path, "weights must not all be zero")


def _validate(instance: Any, path: str) -> None:
    """Cross-field checks that a field's own range cannot express."""
    prefix = f"{path}." if path else ""
    if isinstance(instance, Population):
        from ..rules.calendar import supported_countries
        from ..rules.catalog import builtin_catalog

        catalog = builtin_catalog()
        _weights(instance.sectors, prefix + "sectors", ("commercial", "government", "nonprofit"))
        _weights(instance.countries, prefix + "countries", supported_countries())
        _weights(instance.payment_methods, prefix + "payment_methods", ("card", "invoice"))
        for name, sector in (("commercial_plans", "commercial"),
                             ("government_plans", "government"),
                             ("nonprofit_plans", "nonprofit")):
            plans = getattr(instance, name)
            _weights(plans, prefix + name,
                     [p.id for p in catalog.plans.values() if p.sector == sector])
        _weights(instance.terms, prefix + "terms", ("P1M", "P1Y", "P3Y"))
        _weights(instance.annual_term_billing, prefix + "annual_term_billing",
                 ("monthly", "annual"))
        _weights(instance.triennial_term_billing, prefix + "triennial_term_billing",
                 ("monthly", "annual", "triennial"))
        _weights(instance.add_ons, prefix + "add_ons", catalog.add_ons)
    elif isinstance(instance, Demand):
        if len(instance.weekday_weights) != 7:
            _fail(prefix + "weekday_weights", "needs 7 weights, Monday first")
        if len(instance.hour_weights) != 24:
            _fail(prefix + "hour_weights", "needs 24 weights, 00 UTC first")
        if min(instance.weekday_weights + instance.hour_weights) < 0:
            _fail(prefix + "weekday_weights", "weights must be >= 0")
        _weights(instance.directions, prefix + "directions",
                 ("upgrade", "lateral", "downgrade"))
    elif isinstance(instance, Behaviour):
        total = instance.remediate + instance.wait + instance.manual + instance.give_up
        if abs(total - 1.0) > 1e-9:
            _fail(path, f"remediate + wait + manual + give_up must be 1, got {total:g}")
    elif isinstance(instance, Admin):
        from ..rules.eligibility import BLOCKER_CODES

        if instance.after_max_attempts not in ("manual", "give_up"):
            _fail(prefix + "after_max_attempts", "must be 'manual' or 'give_up'")
        for code, behaviour in instance.blockers.items():
            if code not in BLOCKER_CODES:
                _fail(f"{prefix}blockers.{code}", "unknown blocker code")
            allowed = BLOCKER_ACTIONS[code]
            for action in ("remediate", "wait", "manual", "give_up"):
                if getattr(behaviour, action) > 0 and action not in allowed:
                    _fail(f"{prefix}blockers.{code}.{action}",
                          f"not possible for {code} (allowed: {', '.join(allowed)})")
        missing = set(BLOCKER_CODES) - set(instance.blockers)
        if missing:
            _fail(prefix + "blockers", f"missing {', '.join(sorted(missing))}")
    elif isinstance(instance, Scenario):
        from ..rules.catalog import builtin_catalog

        services = builtin_catalog().services
        for service in instance.incidents:
            if service not in services:
                _fail(f"incidents.{service}", "unknown service")
        if instance.demand.campaigns:
            for index, campaign in enumerate(instance.demand.campaigns):
                if campaign.start < instance.run.start:
                    _fail(f"demand.campaigns[{index}].start",
                          f"{campaign.start} precedes run.start {instance.run.start}")
    elif isinstance(instance, Billing):
        from ..rules.eligibility import RULES_BY_ID
        from ..rules.money import ROUNDING_POLICIES

        if instance.rounding not in ROUNDING_POLICIES:
            _fail(prefix + "rounding", f"{instance.rounding!r} is not one of "
                  f"{', '.join(ROUNDING_POLICIES)}")
        for index, rule in enumerate(instance.mca_rules):
            if rule not in RULES_BY_ID:
                _fail(f"{prefix}mca_rules[{index}]", f"unknown eligibility rule {rule!r}")
    elif isinstance(instance, Run):
        from ..rules.money import minor_unit

        try:
            minor_unit(instance.currency)
        except ValueError as error:
            _fail(prefix + "currency", str(error))


def scenario_from_dict(raw: Mapping[str, Any]) -> Scenario:
    return _build(Scenario, raw, "")


def scenario_to_dict(value: Any) -> Any:
    """A plain, TOML/JSON-friendly form of a scenario (dates as ISO strings)."""
    if dataclasses.is_dataclass(value):
        return {f.name: scenario_to_dict(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: scenario_to_dict(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [scenario_to_dict(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected key.path=value")
    key, raw_value = text.split("=", 1)
    keys = key.strip().split(".")
    if not all(keys):
        raise ScenarioError(f"--set {text}: empty key in {key!r}")
    try:
        value = tomllib.loads(f"value = {raw_value}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw_value  # a bare word: take it as a string
    return keys, value


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values in TOML syntax) to a raw scenario dict."""
    for text in overrides:
        keys, value = _parse_override(text)
        node = raw
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"--set {text}: {key} is not a table")
            node = child
        node[keys[-1]] = value
    return raw


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Load a scenario file, apply overrides, validate; errors name file and key path."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: {error}") from None
    raw.setdefault("meta", {}).setdefault("name", path.stem)
    try:
        apply_overrides(raw, overrides)
        return scenario_from_dict(raw)
    except ScenarioError as error:
        raise ScenarioError(f"{path}: {error}") from None
