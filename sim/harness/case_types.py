"""The fast road for well-formed cases: typed decoding of one JSON Lines case (CASES.md).

A case line is decoded by msgspec straight into the Structs below (types checked in C,
unknown fields refused), then checked against the same semantic rules as
:func:`sim.harness.cases.parse_case` (bounds, known plans and countries, request
against the tenant: R-PATH-01/02, INV-06, R-AUTO-02, P-CAL-05) and built into the same
domain objects. It only ever *accepts*: :func:`decode_case` returns None for anything
it does not vouch for (a type error, a bound, a repeated key, a catalog carried in the
case, a balance written unusually), and the caller then runs the strict reader and the
hand validator, whose ``<field path>: <message>`` errors stay the only error texts.
So the fast road changes speed, never a verdict or a message.

Strict JSON (:mod:`sim.harness.case_files`) refuses a repeated key; msgspec keeps the
last one. A repeat is caught by counting: every key of the line is followed by its own
``:`` (outside strings), so the line has at least as many colons as keys, and every
field a Struct holds came from at least one key. When the colons are exactly as many
as the fields held, no key was repeated; when there are more (a repeat, or a colon
inside a string such as ``"case_id": "a:b"``), the line takes the strict road.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import msgspec
from msgspec import UNSET, Struct, UnsetType

from ..rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS, supported_countries, term_end
from ..rules.catalog import Catalog, builtin_catalog
from ..rules.domain import (
    ACCOUNT_TYPES,
    PAYMENT_METHODS,
    SCHEDULES,
    STATUSES,
    AddOnRef,
    Request,
    Subscription,
    Tenant,
)
from ..rules.money import DEFAULT_POLICY, MAX_MINOR, ROUNDING_POLICIES, minor_unit, parse_minor
from .case_fields import MAX_LICENSES, MAX_YEAR, MIN_YEAR
from .cases import FORMAT, MAX_SUBSCRIPTIONS

__all__ = ["decode_case"]

_Text = str | None | UnsetType  # optional: absent or null takes the default
_Flag = bool | None | UnsetType


class AddOnIn(Struct, forbid_unknown_fields=True, gc=False):
    sku: str
    blocks_change: _Flag = UNSET


class SubscriptionIn(Struct, forbid_unknown_fields=True, gc=False):
    subscription_id: str
    plan: str
    licenses: int
    assigned: int
    term: str
    billing_frequency: str
    anchor: date
    domain: _Text = UNSET
    status: _Text = UNSET
    provisioned: _Flag = UNSET
    add_ons: list[AddOnIn] | UnsetType | None = UNSET
    change_in_progress: _Flag = UNSET
    eligible_for_change: _Flag = UNSET
    other_problem: _Flag = UNSET


class TenantIn(Struct, forbid_unknown_fields=True, gc=False):
    tenant_id: str
    domain: str
    country: str
    billing_account: str
    payment_method: str
    subscriptions: list[SubscriptionIn]
    unpaid_balance: _Text = UNSET
    credit_check_pending: _Flag = UNSET
    open_incidents: list[str] | UnsetType | None = UNSET


class RequestIn(Struct, forbid_unknown_fields=True, gc=False):
    kind: str
    subscription_id: str
    on: date
    target_plan: _Text = UNSET
    licenses: int | UnsetType | None = UNSET
    term: _Text = UNSET
    billing_frequency: _Text = UNSET
    schedule: _Text = UNSET


class CaseIn(Struct, forbid_unknown_fields=True, gc=False):
    case_id: str
    tenant: TenantIn
    request: RequestIn
    format: int | UnsetType = UNSET
    currency: _Text = UNSET
    rounding: _Text = UNSET
    catalog: msgspec.Raw | UnsetType = UNSET


_decode = msgspec.json.Decoder(CaseIn).decode
_astuple = msgspec.structs.astuple
_DecodeErrors = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)
_NULL = b"null"
_ZERO_TEXTS = frozenset(("0", "0.0", "0.00", "0.000"))  # the usual balance: 0 in any currency


# P-CAL-05: the (term, billing frequency) pairs whose cycles divide the term, as one set.
_TERM_FREQUENCIES = frozenset(
    (term, frequency) for term, term_months in TERM_MONTHS.items()
    for frequency, months in BILLING_FREQUENCY_MONTHS.items()
    if months <= term_months and term_months % months == 0)


class _Reject(Exception):
    """Not vouched for: the caller takes the strict road (which names the error)."""


def _or(value: object, default: object) -> object:
    return default if value is None or value is UNSET else value


def decode_case(line: bytes, base: Catalog | None = None) -> tuple | None:
    """The case fields of one JSON line, as ``(case_id, currency, digits, rounding,
    catalog, tenant, request)``, or None when the strict road must decide."""
    try:
        raw = _decode(line)
    except _DecodeErrors:
        return None
    try:
        return _build(raw, line.count(b":"), base or builtin_catalog())
    except (_Reject, ValueError, KeyError):
        return None


def _build(raw: CaseIn, key_count: int, catalog: Catalog) -> tuple:
    fields = _astuple(raw)
    case_id, tenant_in, request_in, version, currency, rounding, own_catalog = fields
    if own_catalog is not UNSET and bytes(own_catalog) != _NULL:
        raise _Reject  # a case's own catalog: the strict road (cached there)
    if (version is not UNSET and version != FORMAT) or not case_id:
        raise _Reject
    if currency is None or currency is UNSET:
        currency = "USD"
    digits = minor_unit(currency)  # ValueError: rejected
    if rounding is None or rounding is UNSET:
        rounding = DEFAULT_POLICY
    elif rounding not in ROUNDING_POLICIES:
        raise _Reject
    tenant, keys = _tenant(tenant_in, catalog, digits)
    request_fields = _astuple(request_in)
    request = _request(request_fields, tenant, catalog)
    # only the optional fields (after the first three of each) can be UNSET
    keys += 15 - fields[3:].count(UNSET) - request_fields[3:].count(UNSET)
    if keys != key_count:
        raise _Reject  # a repeated key (or a colon inside a string)
    return (case_id, currency, digits, rounding, catalog, tenant, request)


def _balance(text: str, digits: int) -> int:
    """``unpaid_balance`` in minor units; plain ``123.45`` here, the rest by parse_minor."""
    whole, dot, fraction = text.partition(".")
    if (whole.isascii() and whole.isdigit() and len(whole) <= 19 and len(fraction) <= digits
            and (not dot or (fraction.isascii() and fraction.isdigit()))):
        minor = int(whole + fraction.ljust(digits, "0"))  # no Decimal for the usual form
        if minor > MAX_MINOR:
            raise _Reject
        return minor
    return parse_minor(text, digits)  # ValueError: rejected


def _tenant(raw: TenantIn, catalog: Catalog, digits: int) -> tuple[Tenant, int]:
    fields = _astuple(raw)
    (tenant_id, domain, country, account, method, entries, balance_text, pending,
     incidents) = fields
    if (not tenant_id or country not in supported_countries() or account not in ACCOUNT_TYPES
            or method not in PAYMENT_METHODS or not 1 <= len(entries) <= MAX_SUBSCRIPTIONS):
        raise _Reject
    if incidents is None or incidents is UNSET:
        incidents = ()
    elif incidents and not catalog.services.keys() >= set(incidents):
        raise _Reject
    if balance_text is None or balance_text is UNSET or balance_text in _ZERO_TEXTS:
        balance = 0
    else:
        balance = _balance(balance_text, digits)
    if balance < 0:
        raise _Reject
    keys = 9 - fields[6:].count(UNSET)
    subscriptions = []
    plans, add_ons = catalog.plans, catalog.add_ons
    for entry in entries:
        subscription, entry_keys = _subscription(entry, domain, plans, add_ons)
        subscriptions.append(subscription)
        keys += entry_keys
    if len(entries) > 1 and len({subscription.subscription_id
                                 for subscription in subscriptions}) != len(entries):
        raise _Reject
    tenant = Tenant(tenant_id, domain, country, account, method, subscriptions, balance,
                    pending if pending is True else False, frozenset(incidents))
    return tenant, keys


def _subscription(raw: SubscriptionIn, tenant_domain: str, plans: Mapping, known: Mapping
                  ) -> tuple[Subscription, int]:
    fields = _astuple(raw)
    (subscription_id, plan, licenses, assigned, term, frequency, anchor, domain, status,
     provisioned, add_ons, in_progress, eligible, other) = fields
    if (not subscription_id or plan not in plans or (term, frequency) not in _TERM_FREQUENCIES
            or not 1 <= licenses <= MAX_LICENSES or not 0 <= assigned <= MAX_LICENSES
            or not MIN_YEAR <= anchor.year <= MAX_YEAR):
        raise _Reject  # (term, frequency): known, and P-CAL-05
    if status is None or status is UNSET:
        status = "active"
    elif status not in STATUSES:
        raise _Reject
    keys = 14 - fields[7:].count(UNSET)
    refs = []
    if add_ons:
        for entry in add_ons:
            if any(ref.sku == entry.sku for ref in refs):
                raise _Reject  # R-ELIG-08: each add-on once
            blocks = entry.blocks_change
            if blocks is UNSET:
                keys -= 1
                blocks = known[entry.sku].blocks_change  # KeyError: rejected
            elif blocks is None:
                blocks = known[entry.sku].blocks_change
            refs.append(AddOnRef(entry.sku, blocks))
            keys += 2
    subscription = Subscription(
        subscription_id, plan, tenant_domain if domain is None or domain is UNSET else domain,
        licenses, assigned, term, frequency, anchor, status,
        provisioned is not False, refs, in_progress is True, eligible is not False,
        other is True)
    return subscription, keys


def _request(fields: tuple, tenant: Tenant, catalog: Catalog) -> Request:
    kind, subscription_id, on, target, licenses, term, frequency, schedule = fields
    subscription = tenant.subscription(subscription_id)  # KeyError: rejected
    anchor, term_months = subscription.anchor, TERM_MONTHS[subscription.term]
    # P-CAL-05: `on` within the term. A term of m months lasts at least 28m - 1 days, so
    # a request at most 28m - 4 days after the anchor is inside it (no term_end call).
    days = on.toordinal() - anchor.toordinal()
    if (not MIN_YEAR <= on.year <= MAX_YEAR or days < 0
            or (days > 28 * term_months - 4 and on > term_end(anchor, subscription.term))):
        raise _Reject
    if kind == "change":
        return _change(fields, subscription, tenant.billing_account, catalog)
    if kind not in ("cancel", "reduce"):
        raise _Reject
    for value in (target, term, frequency, schedule):
        if value is not None and value is not UNSET:
            raise _Reject
    if kind == "cancel":
        if licenses is not None and licenses is not UNSET:
            raise _Reject
        return Request(kind, subscription_id, on)
    if (licenses is None or licenses is UNSET or not 1 <= licenses < subscription.licenses
            or licenses < subscription.assigned):
        raise _Reject  # INV-06
    return Request(kind, subscription_id, on, licenses=licenses)


def _change(fields: tuple, subscription: Subscription, account: str, catalog: Catalog
            ) -> Request:
    _kind, subscription_id, on, target, licenses, term, frequency, schedule = fields
    held = subscription.licenses
    licenses = _or(licenses, held)
    if (target is None or target is UNSET or target not in catalog.plans
            or not 1 <= licenses <= held or (account == "MOSA" and licenses != held)):
        raise _Reject  # R-PATH-01/02
    term = _or(term, subscription.term)
    frequency = _or(frequency, subscription.billing_frequency)
    if (term, frequency) not in _TERM_FREQUENCIES:
        raise _Reject  # unknown, or P-CAL-05
    schedule = _or(schedule, "now")
    if schedule not in SCHEDULES or (schedule == "renewal" and account != "MCA"):
        raise _Reject  # R-AUTO-02
    if (target == subscription.plan and term == subscription.term
            and frequency == subscription.billing_frequency):
        raise _Reject
    return Request("change", subscription_id, on, target, licenses, term, frequency, schedule)
