"""Building and checking a scenario: types, ranges, and the rules between fields.

Every value is converted to its declared type and checked against the range its
parameter states (``lo``/``hi`` in the field metadata: the value of a number or date, the
length of a string, every item of a table or list of numbers, the number of items of a
table or list of tables). Then each section's cross-field rules apply: weight tables are
non-empty with a positive sum, the seven weekday and 24 hour weights are not all zero,
the behaviours of a blocker sum to 1 and use only the resolutions RULES.md section 3
allows (R-ELIG-01..10), the refund window nests in the MCA cancel window (P-CHG-05,
R-MAN-07), and the run and its campaigns lie within the years 1900..2999. A duration
parameter is parsed by :func:`sim.fleet.distributions.parse_distribution` (an empirical
CSV is read relative to the scenario file's folder, :data:`BASE_DIR`); the two drawn for
the whole population at once stay lognormal. ``run.currency`` is ``"local"`` or a
currency the catalog has a price list for (issue 12). A failure is a
:class:`ScenarioError` whose message is ``key.path: reason``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .distributions import NAMES, DistributionError, Duration, Lognormal, parse_distribution
from .scenario import (
    BLOCKER_ACTIONS,
    LAST_DAY,
    Admin,
    Behaviour,
    Billing,
    Blockers,
    Demand,
    FrozenDict,
    Population,
    Run,
    Scenario,
    ScenarioError,
    scenario_to_dict,
)

__all__ = ["BASE_DIR", "LOCAL", "build"]

RETRY_GROWTH_MAX = 1e6  # backoff_factor ** (max_attempts - 1)
LOCAL = "local"  # run.currency: each tenant billed in its country's currency
# The folder empirical CSV files are read from (the scenario file's; None: the cwd).
BASE_DIR: ContextVar[Path | None] = ContextVar("BASE_DIR", default=None)


def _fail(path: str, message: str) -> typing.NoReturn:
    raise ScenarioError(f"{path}: {message}")


def _describe(value: Any) -> str:
    text = value.isoformat() if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(kind: Any, value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(kind)
    if kind is Duration:
        if isinstance(value, Duration):
            return value
        try:
            return parse_distribution(value, path, BASE_DIR.get())
        except DistributionError as error:
            raise ScenarioError(str(error)) from None
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, Mapping):
            _fail(path, f"expected a table, got {type(value).__name__}")
        return build(kind, value, path)
    if origin is dict:
        value_kind = typing.get_args(kind)[1]
        if not isinstance(value, Mapping):
            _fail(path, f"expected a table, got {type(value).__name__}")
        if dataclasses.is_dataclass(value_kind):
            _check_count(len(value), path, meta)
        return FrozenDict({key: _convert(value_kind, item, f"{path}.{key}", meta)
                           for key, item in value.items()})
    if origin is tuple:
        item_kind = typing.get_args(kind)[0]
        if not isinstance(value, list | tuple):
            _fail(path, f"expected a list, got {type(value).__name__}")
        if dataclasses.is_dataclass(item_kind):
            _check_count(len(value), path, meta)
        return tuple(_convert(item_kind, item, f"{path}[{index}]", meta)
                     for index, item in enumerate(value))
    return _scalar(kind, value, path, meta)


def _scalar(kind: Any, value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            _fail(path, f"expected true or false, got {_describe(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, f"expected an integer, got {_describe(value)}")
        return _check_range(value, path, meta)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(path, f"expected a number, got {_describe(value)}")
        if isinstance(value, int) and abs(value) > 2**63:
            _fail(path, f"{_describe(value)} is out of range")
        if not math.isfinite(value):
            _fail(path, "must be a finite number")
        return _check_range(float(value), path, meta)
    if kind is str:
        if not isinstance(value, str):
            _fail(path, f"expected a string, got {_describe(value)}")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            _fail(path, "must not contain control characters")
        _check_count(len(value), path, meta, "characters")
        return value
    if kind is date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return _check_range(value, path, meta)
        if isinstance(value, str):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                pass
            else:
                return _check_range(parsed, path, meta)
        _fail(path, f"expected a date (YYYY-MM-DD), got {_describe(value)}")
    raise TypeError(f"unsupported parameter type {kind!r} at {path}")  # a schema bug


def _check_range(value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and value < lo:
        _fail(path, f"{_describe(value)} is below the minimum {lo}")
    if hi is not None and value > hi:
        _fail(path, f"{_describe(value)} is above the maximum {hi}")
    return value


def _check_count(count: int, path: str, meta: Mapping[str, Any], what: str = "items") -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and count < lo:
        _fail(path, f"{count} {what}, fewer than the minimum {lo}")
    if hi is not None and count > hi:
        _fail(path, f"{count} {what}, more than the maximum {hi}")


def build(cls: type, raw: Mapping[str, Any], path: str) -> Any:
    """An instance of the scenario section `cls` from `raw` over its defaults, checked."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = [name for name in fields if name[:3] == str(key)[:3]]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(f"{path}.{key}" if path else str(key), f"unknown key{hint}")
    values = {}
    for name, spec in fields.items():
        if name in raw:
            key_path = f"{path}.{name}" if path else name
            merged = _merge(hints[name], _default(spec), raw[name])
            values[name] = _convert(hints[name], merged, key_path, spec.metadata)
    instance = cls(**values)
    check = CHECKS.get(cls)
    if check is not None:
        check(instance, f"{path}." if path else "")
    return instance


def _merge(kind: Any, default: Any, value: Any) -> Any:
    """A partial table overrides only the keys it names (also in a table of tables); a
    duration naming another distribution than its default replaces it whole."""
    if isinstance(default, Duration) and isinstance(value, Mapping):
        if value.get("dist", "lognormal") != NAMES[type(default)]:
            return value
        return {**scenario_to_dict(default), **value}
    if dataclasses.is_dataclass(default) and isinstance(value, Mapping):
        return {**scenario_to_dict(default), **value}
    if (typing.get_origin(kind) is dict and isinstance(default, dict)
            and dataclasses.is_dataclass(typing.get_args(kind)[1])
            and isinstance(value, Mapping)):
        merged = {key: scenario_to_dict(item) for key, item in default.items()}
        for key, item in value.items():
            base = merged.get(key, {})
            merged[key] = {**base, **item} if isinstance(item, Mapping) else item
        return merged
    return value


def _default(spec: dataclasses.Field) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return None


# ------------------------------------------------------------------ cross-field rules


def _weights(weights: Mapping[str, float], path: str, allowed: Iterable[str] | None = None,
             ) -> None:
    """A weight table: known keys, weights >= 0, at least one key, a positive sum."""
    allowed_set = set(allowed) if allowed is not None else None
    for key, value in weights.items():
        if allowed_set is not None and key not in allowed_set:
            expected = (", ".join(sorted(allowed_set)) if len(allowed_set) <= 20
                        else f"{len(allowed_set)} known codes")
            _fail(f"{path}.{key}", f"unknown key (expected one of {expected})")
        if value < 0:
            _fail(f"{path}.{key}", "weights must be >= 0")
    if not weights:
        _fail(path, "needs at least one weight (an empty table)")
    if sum(weights.values()) <= 0:
        _fail(path, "weights must not all be zero")


def _check_population(population: Population, prefix: str) -> None:
    from ..rules.calendar import supported_countries
    from ..rules.catalog import builtin_catalog

    catalog = builtin_catalog()
    _weights(population.sectors, prefix + "sectors", ("commercial", "government", "nonprofit"))
    _weights(population.countries, prefix + "countries", supported_countries())
    _weights(population.payment_methods, prefix + "payment_methods", ("card", "invoice"))
    for name, sector in (("commercial_plans", "commercial"),
                         ("government_plans", "government"),
                         ("nonprofit_plans", "nonprofit")):
        _weights(getattr(population, name), prefix + name,
                 [p.id for p in catalog.plans.values() if p.sector == sector])
    _weights(population.terms, prefix + "terms", ("P1M", "P1Y", "P3Y"))
    _weights(population.annual_term_billing, prefix + "annual_term_billing",
             ("monthly", "annual"))
    _weights(population.triennial_term_billing, prefix + "triennial_term_billing",
             ("monthly", "annual", "triennial"))
    _weights(population.add_ons, prefix + "add_ons", catalog.add_ons)
    _lognormal_only(population.data_gb_per_user, prefix + "data_gb_per_user")


def _check_demand(demand: Demand, prefix: str) -> None:
    for name, count, what in (("weekday_weights", 7, "7 weights, Monday first"),
                              ("hour_weights", 24, "24 weights, 00 UTC first")):
        weights = getattr(demand, name)
        if len(weights) != count:
            _fail(prefix + name, f"needs {what}, got {len(weights)}")
        if min(weights) < 0:
            _fail(prefix + name, "weights must be >= 0")
        if sum(weights) <= 0:
            _fail(prefix + name, "weights must not all be zero")
    _weights(demand.directions, prefix + "directions", ("upgrade", "lateral", "downgrade"))
    for index, campaign in enumerate(demand.campaigns):
        if campaign.start + timedelta(days=campaign.days - 1) > LAST_DAY:
            _fail(f"{prefix}campaigns[{index}].days", f"the campaign ends after {LAST_DAY}")


def _check_behaviour(behaviour: Behaviour, path: str) -> None:
    total = behaviour.remediate + behaviour.wait + behaviour.manual + behaviour.give_up
    if abs(total - 1.0) > 1e-9:
        _fail(path.rstrip("."), f"remediate + wait + manual + give_up must be 1, got {total:g}")


def _check_admin(admin: Admin, prefix: str) -> None:
    from ..rules.eligibility import BLOCKER_CODES

    if admin.after_max_attempts not in ("manual", "give_up"):
        _fail(prefix + "after_max_attempts", "must be 'manual' or 'give_up'")
    growth = admin.backoff_factor ** (admin.max_attempts - 1)
    if growth > RETRY_GROWTH_MAX:
        _fail(prefix + "backoff_factor", f"backoff_factor ** (max_attempts - 1) = {growth:.3g}"
              f" makes the last retry wait over {RETRY_GROWTH_MAX:g} times the first")
    for code, behaviour in admin.blockers.items():
        if code not in BLOCKER_CODES:
            _fail(f"{prefix}blockers.{code}", "unknown blocker code")
        allowed = BLOCKER_ACTIONS[code]
        for action in ("remediate", "wait", "manual", "give_up"):
            if getattr(behaviour, action) > 0 and action not in allowed:
                _fail(f"{prefix}blockers.{code}.{action}",
                      f"not possible for {code} (allowed: {', '.join(allowed)})")
    missing = set(BLOCKER_CODES) - set(admin.blockers)
    if missing:
        _fail(prefix + "blockers", f"missing {', '.join(sorted(missing))}")


def _check_billing(billing: Billing, prefix: str) -> None:
    from ..rules.eligibility import RULES_BY_ID
    from ..rules.money import ROUNDING_POLICIES

    if billing.rounding not in ROUNDING_POLICIES:
        _fail(prefix + "rounding", f"{billing.rounding!r} is not one of "
              f"{', '.join(ROUNDING_POLICIES)}")
    for index, rule in enumerate(billing.mca_rules):
        if rule not in RULES_BY_ID:
            _fail(f"{prefix}mca_rules[{index}]", f"unknown eligibility rule {rule!r}")
    if billing.mca_full_refund_days > billing.mca_window_days:  # P-CHG-05 inside R-MAN-07
        _fail(prefix + "mca_full_refund_days",
              f"{billing.mca_full_refund_days} days exceeds mca_window_days "
              f"{billing.mca_window_days} (the refund window must nest in the cancel window)")


def _check_run(run: Run, prefix: str) -> None:
    from ..rules.catalog import builtin_catalog
    from ..rules.money import minor_unit

    if run.currency != LOCAL:
        try:
            minor_unit(run.currency)
        except ValueError as error:
            _fail(prefix + "currency", str(error))
        currencies = builtin_catalog().currencies
        if run.currency not in currencies:
            _fail(prefix + "currency", f"no {run.currency} price list in the catalog "
                  f"({LOCAL!r} or one of {', '.join(currencies)})")
    last = run.start + timedelta(days=run.horizon_days - 1)
    if last > LAST_DAY:
        _fail(prefix + "horizon_days", f"the run would end on {last}, after {LAST_DAY}")


def _lognormal_only(spec: Duration, path: str) -> None:
    """The population's vectorised draws take only a lognormal (its median, sigma, cap)."""
    if not isinstance(spec, Lognormal):
        _fail(path + ".dist", f"only lognormal here, got {NAMES[type(spec)]!r} (drawn for "
              "the whole population at once)")


def _check_blockers(blockers: Blockers, prefix: str) -> None:
    _lognormal_only(blockers.provisioning_minutes, prefix + "provisioning_minutes")


def _check_scenario(scenario: Scenario, prefix: str) -> None:
    from ..rules.catalog import builtin_catalog

    services = builtin_catalog().services
    for service in scenario.incidents:
        if service not in services:
            _fail(f"incidents.{service}", "unknown service")
    for index, campaign in enumerate(scenario.demand.campaigns):
        if campaign.start < scenario.run.start:
            _fail(f"demand.campaigns[{index}].start",
                  f"{campaign.start} precedes run.start {scenario.run.start}")


CHECKS: dict[type, Callable[[Any, str], None]] = {
    Population: _check_population,
    Blockers: _check_blockers,
    Demand: _check_demand,
    Behaviour: _check_behaviour,
    Admin: _check_admin,
    Billing: _check_billing,
    Run: _check_run,
    Scenario: _check_scenario,
}
