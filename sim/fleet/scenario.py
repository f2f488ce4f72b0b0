"""Scenarios: every parameter of a fleet run, validated and immutable (NUMBERS.md).

A scenario is a TOML file (the shipped ones are package data in ``sim/fleet/scenarios/``)
that overrides the defaults below; every default is a number of ``NUMBERS.md`` (its source
in the field's ``source`` metadata) and every parameter carries a stated range (``lo`` and
``hi``), so that no count, factor, duration or money amount can be absurd.
:func:`load_scenario` rejects unknown keys, wrong types and out-of-range values with the
file, the key path and the reason (``file: key.path: reason``), and applies
``--set key.path=value`` overrides; cross-field checks live in
:mod:`sim.fleet.scenario_checks`. Durations are minutes unless the name says otherwise.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from .distributions import MINUTES_MAX, Duration, Lognormal, distribution_to_dict
from .remediation import BLOCKER_ACTIONS

__all__ = [
    "BLOCKER_ACTIONS",
    "Duration",
    "Lognormal",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "packaged_scenarios",
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


def P(default: Any, lo: Any = None, hi: Any = None, source: str = "model",
      doc: str = "") -> Any:
    """A scenario parameter with its range, its source (doc/3p/model) and a description.

    For a table or list of numbers (weights), ``lo``/``hi`` bound every item."""
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


# Ranges shared by many parameters (each one is documented in docs/parameters.md).
WEIGHT_MAX = 1e6  # a relative weight; the table is normalised by its (positive) sum
FACTOR_MAX = 100.0  # a demand multiplier: 100 x the ordinary rate on the days it covers
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)  # as cases (CASES.md)
NAME_MAX = 100  # characters of a scenario name
WEIGHTS = {"lo": 0.0, "hi": WEIGHT_MAX}


def _w(default: Any, doc: str = "") -> Any:
    """A table of relative weights: items in [0, 1e6], non-empty, positive sum."""
    return P(default, doc=doc, **WEIGHTS)


# ------------------------------------------------------------------------ distributions
# A duration parameter is a Duration (sim.fleet.distributions): a TOML table naming its
# distribution, lognormal when it names none (issue 10, part 1).


def _lognormal(median: float, sigma: float, cap: float = 0.0, source: str = "model",
               doc: str = "") -> Any:
    """A duration parameter, lognormal by default: every number in 0 .. MINUTES_MAX."""
    return P(Lognormal(median, sigma, cap), lo=0.0, hi=MINUTES_MAX, source=source, doc=doc)


# ---------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True)
class Meta:
    name: str = P("scenario", lo=1, hi=NAME_MAX,
                  doc="names the run (reports/<name>-<seed>); default the file name")
    question: str = P("", lo=0, hi=2000, doc="the question this scenario answers")


@dataclass(frozen=True, slots=True)
class Run:
    tenants: int = P(10_000, lo=1, hi=50_000_000, doc="tenants in the fleet")
    seed: int = P(1, lo=0, hi=2**63 - 1, doc="root seed (P-RND-02: same seed, same run)")
    start: date = P(date(2026, 1, 1), lo=FIRST_DAY, hi=LAST_DAY,
                    doc="first simulated UTC day; start + horizon ends by 2999-12-31")
    horizon_days: int = P(365, lo=1, hi=3660, doc="simulated days (up to ten years)")
    currency: str = P("local", lo=3, hi=5,
                      doc="'local': each tenant billed in its country's currency (issue 12); "
                          "or one ISO 4217 code with a catalog price list (P-MONEY-02)")


@dataclass(frozen=True, slots=True)
class Blockers:
    """Prevalence of each blocker condition in the population (R-ELIG-01..10)."""

    over_assigned: float = P(0.03, 0, 1, doc="R-ELIG-01: users > licenses")
    not_provisioned: float = P(0.01, 0, 1, doc="R-ELIG-02: incomplete provisioning")
    provisioning_minutes: Duration = _lognormal(
        240.0, 0.8, doc="R-ELIG-02 time to heal; lognormal only (drawn for the whole "
                        "population at once)")
    credit_check_pending: float = P(0.01, 0, 1, doc="R-ELIG-03: pending at the start")
    not_eligible: float = P(0.01, 0, 1, doc="R-ELIG-04")
    duplicate_product: float = P(0.02, 0, 1, doc="R-ELIG-05: a second subscription")
    unpaid_balance: float = P(0.10, 0, 1, doc="R-ELIG-09: share of invoice payers")
    other_problem: float = P(0.005, 0, 1, doc="R-ELIG-10")


@dataclass(frozen=True, slots=True)
class Population:
    mca_share: float = P(0.6, 0, 1, doc="tenants on an MCA account (the rest MOSA)")
    sectors: dict[str, float] = _w({"commercial": 0.92, "government": 0.03,
                                    "nonprofit": 0.05}, doc="tenants per sector (R-ELIG-06)")
    countries: dict[str, float] = _w({"US": 0.45, "GB": 0.15, "DE": 0.12, "SE": 0.08,
                                      "FR": 0.12, "JP": 0.08}, doc="ISO 3166 codes")
    payment_methods: dict[str, float] = _w({"card": 0.7, "invoice": 0.3},
                                           doc="how tenants pay (P-TIME-04)")
    wire_international: float = P(0.1, 0, 1, doc="invoice payers paying from abroad")
    users_median: float = P(12.0, lo=1.0, hi=100_000.0, doc="users per tenant (median)")
    users_sigma: float = P(1.1, 0.0, 4.0, doc="shape of users per tenant")
    seat_cap_business: int = P(300, lo=1, hi=1_000_000, source="doc",
                               doc="seats per Business plan")
    spare_licenses: float = P(0.1, 0, 5, doc="mean share of unassigned licenses")
    commercial_plans: dict[str, float] = _w({
        "BUSINESS_BASIC": 0.24, "BUSINESS_STANDARD": 0.22, "BUSINESS_PREMIUM": 0.14,
        "APPS_FOR_BUSINESS": 0.08, "APPS_FOR_ENTERPRISE": 0.02, "O365_E1": 0.08,
        "O365_E3": 0.08, "O365_E5": 0.02, "M365_E3": 0.05, "M365_E5": 0.01,
        "M365_F1": 0.02, "M365_F3": 0.04}, doc="plans of commercial tenants")
    government_plans: dict[str, float] = _w({"O365_G1": 0.5, "O365_G3": 0.5},
                                            doc="plans of government tenants")
    nonprofit_plans: dict[str, float] = _w({"BUSINESS_BASIC_NONPROFIT": 0.4,
                                            "BUSINESS_STANDARD_NONPROFIT": 0.2,
                                            "BUSINESS_PREMIUM_NONPROFIT": 0.4},
                                           doc="plans of nonprofit tenants")
    terms: dict[str, float] = _w({"P1M": 0.35, "P1Y": 0.6, "P3Y": 0.05},
                                 doc="subscription terms (P-CAL)")
    annual_term_billing: dict[str, float] = _w({"monthly": 0.55, "annual": 0.45},
                                               doc="billing frequency of P1Y terms")
    triennial_term_billing: dict[str, float] = _w({"monthly": 0.2, "annual": 0.5,
                                                   "triennial": 0.3},
                                                  doc="billing frequency of P3Y terms")
    add_on_share: float = P(0.25, 0, 1, doc="subscriptions with an add-on")
    add_ons: dict[str, float] = _w({"TEAMS_PHONE": 0.25, "AUDIO_CONFERENCING": 0.2,
                                    "DEFENDER_O365_P1": 0.2, "EXCHANGE_ARCHIVING": 0.12,
                                    "EXTRA_FILE_STORAGE": 0.1, "VISIO_PLAN_2": 0.1,
                                    "LEGACY_KIOSK_STORAGE": 0.03},
                                   doc="which add-on (R-ELIG-08)")
    customising_tenants: float = P(0.3, 0, 1, doc="tenants with per-user disabled services")
    customised_user_share: float = P(0.2, 0, 1, doc="their users with a disabled service")
    data_gb_per_user: Duration = _lognormal(8.0, 1.0, 0.0, doc="GB, not minutes; lognormal "
                                                               "only (drawn for the population)")
    unpaid_balance_median: float = P(400.0, lo=0.0, hi=1_000_000.0,
                                     doc="major units of the base currency (R-ELIG-09)")
    blockers: Blockers = P(Blockers())


@dataclass(frozen=True, slots=True)
class Campaign:
    start: date = P(date(2026, 3, 1), lo=FIRST_DAY, hi=LAST_DAY,
                    doc="first day; not before run.start")
    days: int = P(14, lo=1, hi=3660)
    factor: float = P(3.0, lo=0.0, hi=FACTOR_MAX, doc="demand multiplier on those days")


@dataclass(frozen=True, slots=True)
class Demand:
    request_share: float = P(0.3, 0, 1, doc="tenants that request a change in the horizon")
    weekday_weights: tuple[float, ...] = P((1.0, 1.1, 1.1, 1.0, 0.9, 0.15, 0.1),
                                           doc="7 weights, Monday first; positive sum",
                                           **WEIGHTS)
    hour_weights: tuple[float, ...] = P((0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.5, 2.0,
                                         2.0, 1.8, 1.2, 1.8, 2.0, 1.8, 1.4, 1.0, 0.6, 0.4,
                                         0.3, 0.2, 0.15, 0.1),
                                        doc="24 weights, 00 UTC first; positive sum",
                                        **WEIGHTS)
    month_end_days: int = P(3, lo=0, hi=15, doc="last days of a month with more demand")
    month_end_factor: float = P(2.0, lo=0.0, hi=FACTOR_MAX,
                                doc="demand multiplier on those days")
    campaigns: tuple[Campaign, ...] = P((), lo=0, hi=100, doc="at most 100 campaigns")
    directions: dict[str, float] = _w({"upgrade": 0.7, "lateral": 0.15, "downgrade": 0.15},
                                      doc="direction of a requested change")
    mca_partial_share: float = P(0.08, 0, 1, doc="R-PATH-02 partial moves")
    mca_partial_fraction: float = P(0.5, 0.01, 0.99, doc="share of licenses moved")
    mca_renewal_share: float = P(0.15, 0, 1, doc="R-AUTO-02 'at renewal' scheduling")
    term_change_share: float = P(0.1, 0, 1, doc="MCA changes of term or billing frequency")
    split_users_share: float = P(0.03, 0, 1, doc="R-PATH-03 users end on different plans")
# What an admin may do about each blocker: the remediation table's actions column
# (sim.fleet.remediation, one row per blocker of RULES.md section 3).


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What an admin does on meeting one blocker: probabilities summing to 1."""

    remediate: float = P(0.0, 0, 1, doc="fix the cause, then retry")
    wait: float = P(0.0, 0, 1, doc="wait, then retry")
    manual: float = P(0.0, 0, 1, doc="change manually instead (R-MAN-01..07)")
    give_up: float = P(0.0, 0, 1, doc="abandon the change")
    delay: Duration = _lognormal(120.0, 1.0, 0.0, doc="time before acting")


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
    response: Duration = _lognormal(30.0, 1.0, 0.0, doc="request to the first eligibility check")
    backoff_factor: float = P(2.0, lo=1.0, hi=10.0,
                              doc="each retry waits this much longer; "
                                  "backoff_factor ** (max_attempts - 1) <= 1e6")
    max_attempts: int = P(5, lo=1, hi=100, doc="attempts before after_max_attempts")
    after_max_attempts: str = P("manual", lo=1, hi=20, doc="'manual' or 'give_up'")
    blockers: dict[str, Behaviour] = P(_behaviours(), lo=1, hi=20,
                                       doc="one behaviour per blocker code")


@dataclass(frozen=True, slots=True)
class Incident:
    rate_per_year: float = P(8.0, lo=0.0, hi=10_000.0, doc="incidents per service-year")
    duration: Duration = _lognormal(180.0, 0.8, 0.0, doc="how long an incident lasts")


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
    workers: int = P(4, lo=1, hi=100_000, doc="parallel change workers")
    switch: Duration = _lognormal(10.0, 0.8, 60.0, source="doc",
                                  doc="service time of one switch (R-AUTO-03)")
    mosa_finalisation: Duration = _lognormal(3.0, 0.5, 30.0, source="doc",
                                             doc="R-AUTO-01 finalisation")
    sla_minutes: float = P(60.0, lo=1.0, hi=MINUTES_MAX, source="doc",
                           doc="order placed to completion")


@dataclass(frozen=True, slots=True)
class Manual:
    wrong_domain: float = P(0.05, 0, 1, doc="R-MAN-03 purchase for another domain")
    wrong_domain_fix: Duration = _lognormal(1440.0, 0.8, doc="R-MAN-03 buying again")
    inactive_new_subscription: float = P(0.15, 0, 1, doc="R-MAN-04")
    activation: Duration = _lognormal(60.0, 0.8, doc="R-MAN-04 activating it")
    too_few_licenses: float = P(0.1, 0, 1, doc="R-MAN-05")
    buy_more: Duration = _lognormal(60.0, 0.8, doc="R-MAN-05 buying the missing licenses")
    backup_before_downgrade: float = P(0.7, 0, 1, doc="R-MAN-02")
    backup_minutes_per_user: float = P(15.0, lo=0.0, hi=1440.0, doc="R-MAN-02 per user")
    buy: Duration = _lognormal(30.0, 0.8, doc="R-MAN-01 step 1, buying the new plan")
    move_minutes_per_user: float = P(2.0, lo=0.0, hi=1440.0, doc="R-MAN-06 per user")
    cancel_delay: Duration = _lognormal(2880.0, 1.5, 0.0,
                                        doc="time from moving users to step 4 (R-MAN-06)")


@dataclass(frozen=True, slots=True)
class Billing:
    rounding: str = P("line-half-up", lo=1, hi=40, doc="P-RND-01, PRORATION.md section 4")
    invoice_day: int = P(5, lo=1, hi=31, source="doc",
                         doc="P-TIME-01 MCA invoice day (29..31 clamp to the month end)")
    mca_window_days: int = P(7, lo=0, hi=60, source="doc", doc="R-MAN-07 cancel window")
    mca_full_refund_days: int = P(1, lo=0, hi=60, source="doc",
                                  doc="P-CHG-05; <= mca_window_days (windows nest)")
    mosa_cancel_limit: int = P(25, lo=1, hi=1_000_000, source="doc", doc="P-CHG-06 licenses")
    mca_card_days: int = P(10, lo=0, hi=60, source="doc", doc="P-TIME-04")
    mosa_card_days: int = P(1, lo=0, hi=60, source="doc", doc="P-TIME-04")
    wire_business_days_domestic: int = P(4, lo=0, hi=60, source="doc", doc="P-TIME-04")
    wire_business_days_international: int = P(7, lo=0, hi=60, source="doc",
                                              doc="P-TIME-04")
    credit_invoice_limit_days: int = P(30, lo=0, hi=366, source="doc", doc="R-BILL-03")
    mca_rules: tuple[str, ...] = P(("R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10"),
                                   lo=1, hi=20, doc="R-ELIG-12 rule IDs applied to MCA")


@dataclass(frozen=True, slots=True)
class Scenario:
    meta: Meta = P(Meta())
    run: Run = P(Run())
    population: Population = P(Population())
    demand: Demand = P(Demand())
    admin: Admin = P(Admin())
    incidents: dict[str, Incident] = P(_incidents(), lo=0, hi=100, doc="per service")
    credit_checks: CreditChecks = P(CreditChecks())
    capacity: Capacity = P(Capacity())
    manual: Manual = P(Manual())
    billing: Billing = P(Billing())


# ------------------------------------------------------------------------ building


def scenario_from_dict(raw: Mapping[str, Any]) -> Scenario:
    """A validated scenario from its plain form; ScenarioError names the key path."""
    from .scenario_checks import build

    if not isinstance(raw, Mapping):
        raise ScenarioError(f"expected a table of sections, got {type(raw).__name__}")
    try:
        return build(Scenario, raw, "")
    except RecursionError:
        raise ScenarioError("tables nested too deeply") from None


def scenario_to_dict(value: Any) -> Any:
    """A plain, TOML/JSON-friendly form of a scenario (dates as ISO strings; a lognormal
    duration without ``dist``, an empirical one with its values inline)."""
    if isinstance(value, Duration):
        return distribution_to_dict(value)  # type: ignore[arg-type]
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


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values in TOML syntax) to a raw scenario dict."""
    from .scenario_files import apply_overrides as apply

    return apply(raw, overrides)


def load_scenario(path: str | Path | Traversable, overrides: Iterable[str] = ()) -> Scenario:
    """Load a scenario file, apply overrides, validate; errors name file and key path."""
    from .scenario_files import read_scenario

    return read_scenario(path, overrides)


def packaged_scenarios() -> dict[str, Traversable]:
    """The scenarios shipped inside the package (``sim/fleet/scenarios/*.toml``), by name."""
    folder = resources.files(__package__) / "scenarios"
    return {entry.name[: -len(".toml")]: entry for entry in folder.iterdir()
            if entry.name.endswith(".toml") and entry.is_file()}
