"""Case files and verdicts: one tenant, one request, one verdict (CASES.md, format 1).

:func:`parse_case` turns a JSON object into domain objects, rejecting anything
malformed with a :class:`CaseError` whose message starts with the field path
(``tenant.subscriptions[0].term: ...``). :func:`evaluate` applies the rules layer and
returns a :class:`Verdict`; :func:`verdict_to_json` renders it in the stable format.
Reading files of cases (JSON, arrays, JSON Lines) is :mod:`sim.harness.case_files`.

Besides types and names, a case must make sense (semantic validation): its bounds are
in ``docs/cases.md``, each stated in the error message that enforces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..rules.billing import BillingOutcome, cancel_outcome, change_outcome, reduce_outcome
from ..rules.booking import book_line
from ..rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS, supported_countries, term_end
from ..rules.catalog import Catalog, builtin_catalog
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
from ..rules.invoicing import DEFAULT_TERMS, BillingTerms
from ..rules.money import (
    DEFAULT_POLICY,
    MAX_MINOR,
    ROUNDING_POLICIES,
    format_minor,
    minor_unit,
    parse_minor,
)
from .case_catalog import parse_case_catalog as _parse_catalog
from .case_fields import MISSING as _MISSING
from .case_fields import CaseError
from .case_fields import choice as _choice
from .case_fields import count as _count
from .case_fields import date_field as _date
from .case_fields import get as _get
from .case_fields import join as _join
from .case_fields import object_field as _object
from .case_fields import short as _short
from .case_fields import text as _text

__all__ = [
    "FORMAT",
    "Case",
    "CaseError",
    "Verdict",
    "evaluate",
    "evaluate_json",
    "parse_case",
    "verdict_to_json",
]

_new_tuple = tuple.__new__

FORMAT = 1
# Semantic bounds (docs/cases.md; licenses and assigned users are
# bounded by case_fields.MAX_LICENSES): far above any real tenant, low enough that no
# verdict amount can pass MAX_MINOR.
MAX_SUBSCRIPTIONS = 10_000


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

def _parse_subscription(raw: Any, path: str, tenant_domain: str, catalog: Catalog,
                        add_ons: Mapping) -> Subscription:
    obj = _object(raw, path, SUBSCRIPTION_FIELDS)
    plan = _get(obj, "plan", path, str)
    if plan not in catalog.plans:
        raise CaseError(_join(path, "plan"), f"unknown plan {plan!r}")
    term = _choice(obj, "term", path, TERM_MONTHS)
    frequency = _choice(obj, "billing_frequency", path, BILLING_FREQUENCY_MONTHS)
    _check_frequency(term, frequency, path)
    parsed_add_ons = _parse_add_ons(_get(obj, "add_ons", path, list, []), path, add_ons)
    licenses = _count(obj, "licenses", path, 1)
    return Subscription(
        subscription_id=_text(obj, "subscription_id", path),
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


def _parse_add_ons(entries: list[Any], path: str, add_ons: Mapping) -> list[AddOnRef]:
    """R-ELIG-08 inputs: each add-on once; `blocks_change` defaults from the catalog."""
    parsed: list[AddOnRef] = []
    for index, entry in enumerate(entries):
        add_on_path = f"{path}.add_ons[{index}]"
        add_on = _object(entry, add_on_path, frozenset({"sku", "blocks_change"}))
        sku = _get(add_on, "sku", add_on_path, str)
        if any(ref.sku == sku for ref in parsed):
            raise CaseError(_join(add_on_path, "sku"), f"duplicate add-on {sku!r}")
        known = add_ons.get(sku)
        default = known.blocks_change if known is not None else _MISSING
        try:
            blocks = _get(add_on, "blocks_change", add_on_path, bool, default)
        except CaseError:
            if default is _MISSING and "blocks_change" not in add_on:
                raise CaseError(_join(add_on_path, "blocks_change"),
                                f"missing (add-on {sku!r} is not in the catalog)") from None
            raise
        parsed.append(AddOnRef(sku, blocks))
    return parsed


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
        bound = (f" (at most {format_minor(MAX_MINOR, digits)}: MAX_MINOR minor units)"
                 if "out of range" in str(error) else "")
        raise CaseError(_join(path, "unpaid_balance"), f"{error}{bound}") from None
    if balance < 0:
        raise CaseError(_join(path, "unpaid_balance"), f"must be >= 0, got {balance_text}")
    raw_subscriptions = _get(obj, "subscriptions", path, list)
    if not raw_subscriptions:
        raise CaseError(_join(path, "subscriptions"), "must hold at least one subscription")
    if len(raw_subscriptions) > MAX_SUBSCRIPTIONS:
        raise CaseError(_join(path, "subscriptions"), f"must hold at most "
                        f"{MAX_SUBSCRIPTIONS:,} subscriptions, got {len(raw_subscriptions):,}")
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
        tenant_id=_text(obj, "tenant_id", path),
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
        if licenses > subscription.licenses:
            raise CaseError(_join(path, "licenses"),
                            f"a change moves at most the {subscription.licenses} licenses "
                            f"held, got {licenses} (R-PATH-01/02)")
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
        shown = _short(version) if type(version) is int else repr(version)[:40]
        raise CaseError("format", f"unsupported format {shown} (expected {FORMAT})")
    case_id = _text(obj, "case_id", "")
    currency = _get(obj, "currency", "", str, "USD")
    try:
        digits = minor_unit(currency)
    except ValueError as error:
        raise CaseError("currency", str(error)) from None
    rounding = _choice(obj, "rounding", "", ROUNDING_POLICIES, DEFAULT_POLICY)
    catalog = base or builtin_catalog()
    if obj.get("catalog") is not None:
        catalog = _parse_catalog(obj["catalog"], catalog, digits)
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
    # NamedTuples built with tuple.__new__, without their Python-level constructors:
    # this runs once per case of `evaluate` (issue 11).
    if request.kind == "change":
        target = plans[request.target_plan]
        blockers = check(_new_tuple(ChangeContext,
                                    (tenant, subscription, current, target, case.catalog)))
        if blockers:
            return _new_tuple(Verdict, (case, tuple(blockers), False, None))
        outcome = change_outcome(subscription, current, target, request.on, request.licenses,
                                 request.term, request.billing_frequency, request.schedule,
                                 account, case.digits, policy)
        return _new_tuple(Verdict, (case, (), True, outcome))
    if request.kind == "cancel":
        outcome = cancel_outcome(subscription, current, request.on, account, case.digits,
                                 policy)
    else:
        outcome = reduce_outcome(subscription, current, request.on, request.licenses, account,
                                 case.digits, policy)
    return _new_tuple(Verdict, (case, (), None, outcome))


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
            booked = book_line(line, tenant.billing_account, tenant.payment_method,
                               tenant.country, case.request.on, terms)
            invoiced = booked.invoiced
            if booked.late:
                violations.append(f"INV-07 (P-TIME-03): credit on {line.subscription_id} invoiced "
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
                "cash_date": booked.cash.isoformat(),
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
