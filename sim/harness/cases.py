"""Case files and verdicts: one tenant, one request, one verdict (CASES.md, format 1).

:func:`parse_case` turns a JSON object into domain objects, rejecting anything
malformed with a :class:`CaseError` whose message starts with the field path
(``tenant.subscriptions[0].term: ...``). :func:`evaluate` applies the rules layer and
returns a :class:`Verdict`; :func:`verdict_to_json` renders it in the stable format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from ..rules.billing import BillingOutcome, cancel_outcome, change_outcome, reduce_outcome
from ..rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS, supported_countries, term_end
from ..rules.catalog import Catalog, CatalogError, builtin_catalog, parse_plan
from ..rules.domain import (
    ACCOUNT_TYPES,
    PAYMENT_METHODS,
    REQUEST_KINDS,
    SCHEDULES,
    STATUSES,
    AddOnRef,
    Request,
    Subscription,
    Tenant,
)
from ..rules.eligibility import ChangeContext, EligibilityRule, check
from ..rules.invoicing import DEFAULT_TERMS, BillingTerms, cash_date, invoice_date, late_credit
from ..rules.money import DEFAULT_POLICY, ROUNDING_POLICIES, format_minor, minor_unit, parse_minor

__all__ = [
    "FORMAT",
    "Case",
    "CaseError",
    "Verdict",
    "evaluate",
    "evaluate_json",
    "parse_case",
    "read_case_file",
    "read_cases",
    "verdict_to_json",
]

FORMAT = 1
# Dates a case may carry: terms and invoices of a date must stay representable (P3Y
# terms, invoices and wire settlements run a few years past the last day).
MIN_YEAR, MAX_YEAR = 1900, 2999


class CaseError(ValueError):
    """A case is malformed; ``path`` names the field, the message says why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class Case(NamedTuple):
    case_id: str
    currency: str
    digits: int
    rounding: str
    catalog: Catalog
    tenant: Tenant
    request: Request


class Verdict(NamedTuple):
    case: Case
    blockers: tuple[EligibilityRule, ...]
    automatic_allowed: bool | None
    outcome: BillingOutcome | None


# ------------------------------------------------------------------------- field access

_MISSING = object()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: Any, path: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise CaseError(path, f"expected an object, got {_kind(value)}")
    if not allowed.issuperset(value):
        for key in value:
            if key not in allowed:
                raise CaseError(_join(path, key), "unknown field")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _get(obj: Mapping[str, Any], key: str, path: str, kind: type, default: Any = _MISSING
         ) -> Any:
    value = obj.get(key, _MISSING)
    if type(value) is kind:  # the common case (JSON gives exact types; bool is not int)
        return value
    if value is _MISSING or (value is None and default is not _MISSING):
        if default is _MISSING:
            raise CaseError(_join(path, key), "missing")
        return default
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        expected = {str: "a string", bool: "a boolean", int: "an integer", list: "a list",
                    dict: "an object"}[kind]
        raise CaseError(_join(path, key), f"expected {expected}, got {_kind(value)}")
    return value


def _choice(obj: Mapping[str, Any], key: str, path: str, choices: tuple[str, ...] | Mapping,
            default: Any = _MISSING) -> str:
    value = _get(obj, key, path, str, default)
    if value not in choices:
        raise CaseError(_join(path, key), f"{value!r} is not one of {', '.join(choices)}")
    return value


def _date(obj: Mapping[str, Any], key: str, path: str, default: Any = _MISSING) -> date:
    value = _get(obj, key, path, str, default)
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise CaseError(_join(path, key), f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as error:
        raise CaseError(_join(path, key), f"{value!r} is not a valid date: {error}") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise CaseError(_join(path, key), f"{value!r} is outside the supported years "
                        f"{MIN_YEAR}..{MAX_YEAR}")
    return parsed


def _count(obj: Mapping[str, Any], key: str, path: str, minimum: int,
           default: Any = _MISSING) -> int:
    value = _get(obj, key, path, int, default)
    if value < minimum:
        raise CaseError(_join(path, key), f"must be >= {minimum}, got {value}")
    return value


# ------------------------------------------------------------------------------ parsing

CASE_FIELDS = frozenset({"format", "case_id", "currency", "rounding", "catalog", "tenant",
                         "request"})
TENANT_FIELDS = frozenset({"tenant_id", "domain", "country", "billing_account",
                           "payment_method", "unpaid_balance", "credit_check_pending",
                           "open_incidents", "subscriptions"})
SUBSCRIPTION_FIELDS = frozenset({"subscription_id", "plan", "domain", "status", "provisioned",
                                 "licenses", "assigned", "term", "billing_frequency", "anchor",
                                 "add_ons", "change_in_progress", "eligible_for_change",
                                 "other_problem"})
REQUEST_FIELDS = frozenset({"kind", "subscription_id", "target_plan", "on", "licenses", "term",
                            "billing_frequency", "schedule"})

_catalog_cache: dict[tuple[int, str], tuple[Catalog, Catalog]] = {}


def _parse_catalog(raw: Any, base: Catalog) -> Catalog:
    obj = _object(raw, "catalog", frozenset({"plans"}))
    plans_raw = _get(obj, "plans", "catalog", list)
    # Merged catalogs are cached per base catalog object (the entry keeps its base alive,
    # so an id is never reused while cached) and per plan list.
    key = json.dumps(plans_raw, sort_keys=True)
    cached = _catalog_cache.get((id(base), key))
    if cached is not None and cached[0] is base:
        return cached[1]
    plans = []
    for index, entry in enumerate(plans_raw):
        path = f"catalog.plans[{index}]"
        if not isinstance(entry, dict):
            raise CaseError(path, f"expected an object, got {_kind(entry)}")
        plan_id = _get(entry, "id", path, str)
        try:
            plans.append(parse_plan(plan_id, entry, base.services, path))
        except CatalogError as error:
            raise CaseError("", str(error)) from None
    catalog = base.with_plans(plans)
    if len(_catalog_cache) < 256:
        _catalog_cache[id(base), key] = (base, catalog)
    return catalog


def _parse_subscription(raw: Any, path: str, tenant_domain: str, catalog: Catalog,
                        add_ons: Mapping) -> Subscription:
    obj = _object(raw, path, SUBSCRIPTION_FIELDS)
    plan = _get(obj, "plan", path, str)
    if plan not in catalog.plans:
        raise CaseError(_join(path, "plan"), f"unknown plan {plan!r}")
    term = _choice(obj, "term", path, TERM_MONTHS)
    frequency = _choice(obj, "billing_frequency", path, BILLING_FREQUENCY_MONTHS)
    _check_frequency(term, frequency, path)
    parsed_add_ons = []
    for index, entry in enumerate(_get(obj, "add_ons", path, list, [])):
        add_on_path = f"{path}.add_ons[{index}]"
        add_on = _object(entry, add_on_path, frozenset({"sku", "blocks_change"}))
        sku = _get(add_on, "sku", add_on_path, str)
        known = add_ons.get(sku)
        default = known.blocks_change if known is not None else _MISSING
        try:
            blocks = _get(add_on, "blocks_change", add_on_path, bool, default)
        except CaseError:
            if default is _MISSING and "blocks_change" not in add_on:
                raise CaseError(_join(add_on_path, "blocks_change"),
                                f"missing (add-on {sku!r} is not in the catalog)") from None
            raise
        parsed_add_ons.append(AddOnRef(sku, blocks))
    licenses = _count(obj, "licenses", path, 1)
    return Subscription(
        subscription_id=_get(obj, "subscription_id", path, str),
        plan=plan,
        domain=_get(obj, "domain", path, str, tenant_domain),
        licenses=licenses,
        assigned=_count(obj, "assigned", path, 0),
        term=term,
        billing_frequency=frequency,
        anchor=_date(obj, "anchor", path),
        status=_choice(obj, "status", path, STATUSES, "active"),
        provisioned=_get(obj, "provisioned", path, bool, True),
        add_ons=parsed_add_ons,
        change_in_progress=_get(obj, "change_in_progress", path, bool, False),
        eligible_for_change=_get(obj, "eligible_for_change", path, bool, True),
        other_problem=_get(obj, "other_problem", path, bool, False),
    )


def _check_frequency(term: str, frequency: str, path: str, key: str = "billing_frequency"
                     ) -> None:
    term_months = TERM_MONTHS[term]
    months = BILLING_FREQUENCY_MONTHS[frequency]
    if months > term_months or term_months % months:
        raise CaseError(_join(path, key),
                        f"{frequency!r} billing does not fit a {term} term (P-CAL-05)")


def _parse_tenant(raw: Any, catalog: Catalog, digits: int) -> Tenant:
    path = "tenant"
    obj = _object(raw, path, TENANT_FIELDS)
    domain = _get(obj, "domain", path, str)
    country = _get(obj, "country", path, str)
    if country not in supported_countries():
        raise CaseError(_join(path, "country"),
                        f"{country!r} is not a country code with a holiday calendar")
    incidents = _get(obj, "open_incidents", path, list, [])
    for index, service in enumerate(incidents):
        if not isinstance(service, str) or service not in catalog.services:
            raise CaseError(f"{path}.open_incidents[{index}]", f"unknown service {service!r}")
    balance_text = _get(obj, "unpaid_balance", path, str, "0")
    try:
        balance = parse_minor(balance_text, digits)
    except ValueError as error:
        raise CaseError(_join(path, "unpaid_balance"), str(error)) from None
    if balance < 0:
        raise CaseError(_join(path, "unpaid_balance"), f"must be >= 0, got {balance_text}")
    raw_subscriptions = _get(obj, "subscriptions", path, list)
    if not raw_subscriptions:
        raise CaseError(_join(path, "subscriptions"), "must hold at least one subscription")
    subscriptions = [
        _parse_subscription(entry, f"{path}.subscriptions[{index}]", domain, catalog,
                            catalog.add_ons)
        for index, entry in enumerate(raw_subscriptions)
    ]
    seen: set[str] = set()
    for index, subscription in enumerate(subscriptions):
        if subscription.subscription_id in seen:
            raise CaseError(f"{path}.subscriptions[{index}].subscription_id",
                            f"duplicate id {subscription.subscription_id!r}")
        seen.add(subscription.subscription_id)
    return Tenant(
        tenant_id=_get(obj, "tenant_id", path, str),
        domain=domain,
        country=country,
        billing_account=_choice(obj, "billing_account", path, ACCOUNT_TYPES),
        payment_method=_choice(obj, "payment_method", path, PAYMENT_METHODS),
        subscriptions=subscriptions,
        unpaid_balance=balance,
        credit_check_pending=_get(obj, "credit_check_pending", path, bool, False),
        open_incidents=frozenset(incidents),
    )


def _parse_request(raw: Any, tenant: Tenant, catalog: Catalog) -> Request:
    path = "request"
    obj = _object(raw, path, REQUEST_FIELDS)
    kind = _choice(obj, "kind", path, REQUEST_KINDS)
    subscription_id = _get(obj, "subscription_id", path, str)
    try:
        subscription = tenant.subscription(subscription_id)
    except KeyError:
        raise CaseError(_join(path, "subscription_id"),
                        f"no subscription {subscription_id!r} in the tenant") from None
    on = _date(obj, "on", path)
    last_day = term_end(subscription.anchor, subscription.term)
    if not subscription.anchor <= on <= last_day:
        raise CaseError(_join(path, "on"), f"{on} is outside the current term "
                        f"{subscription.anchor}..{last_day}")
    account = tenant.billing_account
    if kind == "change":
        target = _get(obj, "target_plan", path, str)
        if target not in catalog.plans:
            raise CaseError(_join(path, "target_plan"), f"unknown plan {target!r}")
        licenses = _count(obj, "licenses", path, 1, subscription.licenses)
        if account == "MOSA" and licenses != subscription.licenses:
            raise CaseError(_join(path, "licenses"),
                            f"a MOSA change moves all {subscription.licenses} licenses; "
                            f"partial moves are MCA only (R-PATH-01/02)")
        term = _choice(obj, "term", path, TERM_MONTHS, subscription.term)
        frequency = _choice(obj, "billing_frequency", path, BILLING_FREQUENCY_MONTHS,
                            subscription.billing_frequency)
        _check_frequency(term, frequency, path)
        schedule = _choice(obj, "schedule", path, SCHEDULES, "now")
        if schedule == "renewal" and account != "MCA":
            raise CaseError(_join(path, "schedule"),
                            "scheduling at renewal is an MCA option (R-AUTO-02)")
        if (target == subscription.plan and term == subscription.term
                and frequency == subscription.billing_frequency):
            raise CaseError(_join(path, "target_plan"),
                            "same plan, term and billing frequency: nothing to change")
        return Request(kind, subscription_id, on, target, licenses, term, frequency, schedule)
    for key in ("target_plan", "term", "billing_frequency", "schedule"):
        if obj.get(key) is not None:
            raise CaseError(_join(path, key), f"not used by a {kind!r} request")
    if kind == "cancel":
        if obj.get("licenses") is not None:
            raise CaseError(_join(path, "licenses"), "not used by a 'cancel' request")
        return Request(kind, subscription_id, on)
    licenses = _count(obj, "licenses", path, 1)
    if licenses >= subscription.licenses:
        raise CaseError(_join(path, "licenses"), f"a reduction needs fewer than the "
                        f"{subscription.licenses} licenses held, got {licenses}")
    if licenses < subscription.assigned:
        raise CaseError(_join(path, "licenses"), f"{licenses} is below the "
                        f"{subscription.assigned} assigned licenses; unassign first (INV-06)")
    return Request(kind, subscription_id, on, licenses=licenses)


def parse_case(raw: Any, base: Catalog | None = None) -> Case:
    """Validate one case object (CASES.md) into domain objects, or raise CaseError."""
    obj = _object(raw, "", CASE_FIELDS)
    version = obj.get("format", FORMAT)
    if type(version) is not int or version != FORMAT:
        raise CaseError("format", f"unsupported format {version!r} (expected {FORMAT})")
    case_id = _get(obj, "case_id", "", str)
    currency = _get(obj, "currency", "", str, "USD")
    try:
        digits = minor_unit(currency)
    except ValueError as error:
        raise CaseError("currency", str(error)) from None
    rounding = _choice(obj, "rounding", "", ROUNDING_POLICIES, DEFAULT_POLICY)
    catalog = base or builtin_catalog()
    if obj.get("catalog") is not None:
        catalog = _parse_catalog(obj["catalog"], catalog)
    tenant = _parse_tenant(_get(obj, "tenant", "", dict), catalog, digits)
    request = _parse_request(_get(obj, "request", "", dict), tenant, catalog)
    return Case(case_id, currency, digits, rounding, catalog, tenant, request)


# ---------------------------------------------------------------------------- evaluation


def evaluate(case: Case) -> Verdict:
    """The rules layer's verdict on a parsed case."""
    request = case.request
    tenant = case.tenant
    subscription = tenant.subscription(request.subscription_id)
    plans = case.catalog.plans
    current = plans[subscription.plan]
    policy = ROUNDING_POLICIES[case.rounding]
    account = tenant.billing_account
    if request.kind == "change":
        target = plans[request.target_plan]
        blockers = check(ChangeContext(tenant, subscription, current, target, case.catalog))
        if blockers:
            return Verdict(case, tuple(blockers), False, None)
        outcome = change_outcome(subscription, current, target, request.on, request.licenses,
                                 request.term, request.billing_frequency, request.schedule,
                                 account, case.digits, policy)
        return Verdict(case, (), True, outcome)
    if request.kind == "cancel":
        outcome = cancel_outcome(subscription, current, request.on, account, case.digits,
                                 policy)
    else:
        outcome = reduce_outcome(subscription, current, request.on, request.licenses, account,
                                 case.digits, policy)
    return Verdict(case, (), None, outcome)


def verdict_to_json(verdict: Verdict, terms: BillingTerms = DEFAULT_TERMS) -> dict[str, Any]:
    """The stable JSON form of a verdict (CASES.md), with invoice and cash dates added."""
    case = verdict.case
    digits = case.digits
    tenant = case.tenant
    outcome = verdict.outcome
    lines = []
    violations = []
    if outcome is not None:
        for line in outcome.lines:
            invoiced = invoice_date(line, tenant.billing_account, terms)
            if late_credit(line, invoiced, case.request.on, terms):
                violations.append(f"P-TIME-03: credit on {line.subscription_id} invoiced "
                                  f"{invoiced.isoformat()}, more than "
                                  f"{terms.credit_invoice_limit_days} days after the change")
            lines.append({
                "type": line.type,
                "subscription_id": line.subscription_id,
                "plan": line.plan,
                "start": line.start.isoformat(),
                "end": line.end.isoformat(),
                "billing_days": line.billing_days,
                "cycle_days": line.cycle_days,
                "quantity": line.quantity,
                "amount": format_minor(line.amount, digits),
                "rule": line.rule,
                "invoice_date": invoiced.isoformat(),
                "cash_date": cash_date(line, invoiced, tenant.billing_account,
                                       tenant.payment_method, tenant.country,
                                       terms=terms).isoformat(),
            })
    return {
        "format": FORMAT,
        "case_id": case.case_id,
        "kind": case.request.kind,
        "automatic_allowed": verdict.automatic_allowed,
        "blockers": [{"code": rule.code, "rule": rule.rule_id} for rule in verdict.blockers],
        "alignment": outcome.alignment if outcome is not None else None,
        "effective": outcome.effective.isoformat() if outcome is not None else None,
        "lines": lines,
        "net": format_minor(outcome.net if outcome is not None else 0, digits),
        "overlap_cost": format_minor(outcome.overlap_cost if outcome is not None else 0, digits),
        "currency": case.currency,
        "rounding": case.rounding,
        "notes": list(outcome.notes) if outcome is not None else [],
        "violations": violations,
    }


def evaluate_json(raw: Any, base: Catalog | None = None) -> dict[str, Any]:
    """Parse, evaluate and render one case object; a bad case gives an error record."""
    try:
        return verdict_to_json(evaluate(parse_case(raw, base)))
    except CaseError as error:
        case_id = raw.get("case_id") if isinstance(raw, dict) else None
        return {"case_id": case_id if isinstance(case_id, str) else None, "error": str(error)}


# ------------------------------------------------------------------------------ reading


def read_cases(text: str, source: str = "<input>") -> Iterator[Any]:
    """Yield case objects from a JSON case, a JSON array, or JSON Lines.

    A line that is not JSON yields a :class:`CaseError` in its place, so the caller can
    report it and go on with the others.
    """
    stripped = text.strip()
    if not stripped:
        return
    if stripped[0] == "[":
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as error:
            yield CaseError("", f"{source}: invalid JSON: {error}")
            return
        yield from items
        return
    try:
        yield json.loads(stripped)
        return
    except json.JSONDecodeError:
        pass
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as error:
            yield CaseError("", f"{source}:{number}: invalid JSON: {error.msg} "
                            f"(column {error.colno})")


def read_case_file(path: str | Path) -> Iterator[Any]:
    """Like :func:`read_cases`, but streams JSON Lines from a file one line at a time.

    A JSON array or a single (pretty-printed) case is read whole; JSON Lines are never
    held in memory all at once, so a file of millions of cases evaluates in flat memory.
    A line that is not UTF-8 or not JSON yields a :class:`CaseError`; the rest go on.
    """
    path = Path(path)
    with path.open("rb") as handle:
        number, first = 0, b""
        while not first.strip():
            first = handle.readline()
            number += 1
            if not first:
                return
        try:
            first_object = json.loads(first)
        except (json.JSONDecodeError, UnicodeDecodeError):
            first_object = _MISSING
        if first_object is _MISSING or first.lstrip()[:1] == b"[":
            data = first + handle.read()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as error:
                yield CaseError("", f"{path}: not UTF-8 text ({error.reason})")
                return
            yield from read_cases(text, str(path))
            return
        yield first_object
        for line in handle:
            number += 1
            if not line.strip():
                continue
            try:
                yield json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield CaseError("", f"{path}:{number}: not UTF-8 text ({error.reason})")
            except json.JSONDecodeError as error:
                yield CaseError("", f"{path}:{number}: invalid JSON: {error.msg} "
                                f"(column {error.colno})")
