"""Hypothesis strategies for valid case dicts (CASES.md, format 1).

Every case these strategies build must pass validation against the built-in catalog
(:func:`sim.rules.catalog.builtin_catalog`): tenants with 1..3 subscriptions, MCA or MOSA,
every term/billing-frequency combination that fits (P-CAL-05: the frequency's months
divide the term's), anchors biased to month ends, ``on`` inside the current term,
and requests of kind ``change`` / ``cancel`` / ``reduce`` with valid fields:

- change: MOSA moves all licenses; MCA may move fewer (R-PATH-02); ``schedule:
  renewal`` is MCA only (R-AUTO-02); plan, term or frequency differs from the current.
- reduce: ``assigned <= licenses < current licenses`` (INV-06).

``clean`` tenants have no blocker (R-ELIG-01..10), so their changes are allowed and
produce billing lines; other tenants draw every flag freely.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from sim.rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS
from sim.rules.catalog import builtin_catalog
from sim.rules.money import ROUNDING_POLICIES, format_minor

CATALOG = builtin_catalog()
PLAN_IDS = tuple(sorted(CATALOG.plans))
COMMERCIAL_PLAN_IDS = tuple(p for p in PLAN_IDS if CATALOG.plans[p].sector == "commercial")
SERVICES = tuple(sorted(CATALOG.services))
ADD_ON_IDS = tuple(sorted(CATALOG.add_ons))
NON_BLOCKING_ADD_ONS = tuple(a for a in ADD_ON_IDS if not CATALOG.add_ons[a].blocks_change)

# P-CAL-05: a frequency fits a term when its months divide the term's months.
TERM_FREQUENCIES = tuple(
    (term, frequency)
    for term, term_months in TERM_MONTHS.items()
    for frequency, months in BILLING_FREQUENCY_MONTHS.items()
    if months <= term_months and term_months % months == 0
)
CURRENCY_DIGITS = {"USD": 2, "JPY": 0, "KWD": 3}
CURRENCIES = tuple(CURRENCY_DIGITS)
COUNTRIES = ("US", "SE", "GB", "JP", "KW", "DE")
POLICIES = tuple(sorted(ROUNDING_POLICIES))
KINDS = ("change", "cancel", "reduce")
STATUSES = ("active", "provisioning", "disabled", "expired", "suspended")

ONE_DAY = timedelta(days=1)


def ref_add_months(anchor: date, months: int) -> date:
    """Independent reference of P-CAL-02 (stdlib only): clamp to the month's last day."""
    year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    last = stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last))


def ref_term_end(anchor: date, term: str) -> date:
    """P-CAL-05 reference: the day before add_months(A, 1|12|36)."""
    return ref_add_months(anchor, TERM_MONTHS[term]) - ONE_DAY


def ref_cycle(anchor: date, months: int, on: date) -> tuple[date, date]:
    """P-CAL-02 reference: the (start, end) of the cycle containing `on`, by walking."""
    k = 0
    while ref_add_months(anchor, (k + 1) * months) <= on:
        k += 1
    return ref_add_months(anchor, k * months), ref_add_months(anchor, (k + 1) * months) - ONE_DAY


# ------------------------------------------------------------------- base strategies
#
# Cases are built in one composite from a few pre-built strategies (each draw of a
# fresh or nested strategy costs Hypothesis far more than the draw itself); booleans
# and small choices come from a few drawn 16-bit words (see Bits).

_ALL_DAYS = [date(2023, 1, 1) + timedelta(days=n) for n in range(5 * 365 + 1)]
MONTH_END_ANCHORS = [d for d in _ALL_DAYS if d.day >= 28]
# Every day 2023..2027, with days 28..31 (Jan 31, Feb 28/29, Apr 30, ...) first and twice more
# (Hypothesis favours the front of a sampled_from: about half the anchors are month ends).
ANCHOR_POOL = tuple(MONTH_END_ANCHORS * 2 + _ALL_DAYS)

_ANCHOR = st.sampled_from(ANCHOR_POOL)
_COMBO = st.sampled_from(TERM_FREQUENCIES)
_LICENSES = st.integers(1, 300)
_NUMBER = st.integers(0, 2**20 - 1)
_FLAGS = st.integers(0, 2**16 - 1)
_KIND = st.sampled_from(KINDS)
_ACCOUNT = st.sampled_from(("MCA", "MOSA"))
_CURRENCY = st.sampled_from(CURRENCIES)
_POLICY = st.sampled_from(POLICIES)
_COUNTRY = st.sampled_from(COUNTRIES)
_COUNT = st.integers(1, 3)
_PLAN = st.sampled_from(PLAN_IDS)
_PERMUTATION_SEED = st.integers(0, 10**9)


class Bits:
    """Booleans and small choices taken one after another from drawn 16-bit words.

    A new word is drawn whenever the remaining entropy cannot cover a choice, so every
    choice stays (close to) uniform however many are taken.
    """

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.value = 0
        self.capacity = 1

    def take(self, n: int) -> int:
        while self.capacity < 64 * n:
            self.value = self.value * 65536 + self.draw(_FLAGS)
            self.capacity *= 65536
        self.value, rest = divmod(self.value, n)
        self.capacity //= n
        return rest

    def flag(self) -> bool:
        return self.take(2) == 1


def day_in_term(anchor: date, term: str, frequency: str, number: int, mode: int) -> date:
    """A day `on` inside the term: MCA window days 0..7, anywhere, the term's last day,
    or the last day of some charge cycle (P-CAL-02/05)."""
    last = ref_term_end(anchor, term)
    span = (last - anchor).days
    if mode == 0:
        return anchor + timedelta(days=number % min(8, span + 1))
    if mode == 1:
        return anchor + timedelta(days=number % (span + 1))
    if mode == 2:
        return last
    months = BILLING_FREQUENCY_MONTHS[frequency]
    k = number % (TERM_MONTHS[term] // months)
    return ref_add_months(anchor, (k + 1) * months) - ONE_DAY


def _subscription(draw: st.DrawFn, index: int, plan: str, clean: bool,
                  for_reduce: bool) -> dict[str, Any]:
    term, frequency = draw(_COMBO)
    licenses = draw(_LICENSES)
    bits = Bits(draw)
    number = draw(_NUMBER)
    if bits.flag():
        licenses = 1 + licenses % 30  # small subscriptions, around the MOSA limit of 25
    if for_reduce:
        licenses = max(licenses, 2)
        # assigned <= new licenses < licenses (INV-06)
        assigned = licenses - 1 if bits.flag() else number % licenses
    elif clean:
        assigned = licenses if bits.flag() else number % (licenses + 1)  # R-ELIG-01 clear
    else:
        assigned = number % (licenses + 6)
    pool = NON_BLOCKING_ADD_ONS if clean else ADD_ON_IDS
    add_ons = []
    for _ in range(bits.take(3)):
        sku = pool[bits.take(len(pool))]
        if any(entry["sku"] == sku for entry in add_ons):
            continue
        entry: dict[str, Any] = {"sku": sku}
        if bits.flag():  # explicit flag equal to the catalog's, or defaulted from it
            entry["blocks_change"] = CATALOG.add_ons[sku].blocks_change
        add_ons.append(entry)
    subscription: dict[str, Any] = {
        "subscription_id": f"s-{index + 1}",
        "plan": plan,
        "licenses": licenses,
        "assigned": assigned,
        "term": term,
        "billing_frequency": frequency,
        "anchor": draw(_ANCHOR).isoformat(),
    }
    if add_ons or bits.flag():
        subscription["add_ons"] = add_ons
    if bits.flag():
        subscription["domain"] = "contoso.com"
    if not clean:
        problems = Bits(draw)
        # each problem flag holds with probability 1/4, so some tenants are clear
        subscription.update(
            status=STATUSES[0] if problems.take(2) else STATUSES[problems.take(5)],
            provisioned=problems.take(4) != 0,
            change_in_progress=problems.take(4) == 0,
            eligible_for_change=problems.take(4) != 0,
            other_problem=problems.take(4) == 0,
        )
    elif bits.flag():
        subscription.update(status="active", provisioned=True, change_in_progress=False,
                            eligible_for_change=True, other_problem=False)
    return subscription


def _change_request(draw: st.DrawFn, subscription: dict[str, Any], account: str,
                    clean: bool, mirror_plan: str | None) -> dict[str, Any]:
    """A valid `change` request (CASES.md): differs in plan, term or frequency."""
    plan = subscription["plan"]
    current_combo = (subscription["term"], subscription["billing_frequency"])
    bits = Bits(draw)
    number = draw(_NUMBER)
    if mirror_plan is not None:
        target, combo = mirror_plan, current_combo
    else:
        # clean: only R-ELIG-13 targets (or the plan itself with another term/frequency)
        targets = (*(p.id for p in CATALOG.automatic_targets(plan)), plan)
        choices = targets if clean else PLAN_IDS
        target = choices[number % len(choices)]
        # half the changes keep term and frequency (P-CHG-02)
        if target == plan or bits.flag():
            others = [c for c in TERM_FREQUENCIES if target != plan or c != current_combo]
            combo = others[(number // 64) % len(others)]
        else:
            combo = current_combo
    request: dict[str, Any] = {"kind": "change",
                               "subscription_id": subscription["subscription_id"],
                               "target_plan": target}
    term, frequency = combo
    if term != current_combo[0] or bits.flag():
        request["term"] = term
    if frequency != current_combo[1] or bits.flag():
        request["billing_frequency"] = frequency
    if account == "MCA":
        if bits.flag():  # a partial move (R-PATH-02) or the full count, explicitly
            request["licenses"] = 1 + (number // 4096) % subscription["licenses"]
        schedules = ("now", None) if mirror_plan is not None else ("now", "renewal", None)
        schedule = schedules[bits.take(len(schedules))]
        if schedule is not None:
            request["schedule"] = schedule
    else:
        if bits.flag():
            request["licenses"] = subscription["licenses"]
        if bits.flag():
            request["schedule"] = "now"
    return request


# ------------------------------------------------------------------------------ cases


@st.composite
def cases(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS, clean: bool | None = None,
          accounts: tuple[str, ...] = ("MCA", "MOSA"), mirror: bool = False,
          currencies: tuple[str, ...] = CURRENCIES) -> dict[str, Any]:
    """A valid case dict. `clean=None` draws it; `mirror` adds a catalog copy of the plan.

    A mirror case changes a plan into an identical plan with another id and product
    (same services, same prices): with MCA, now, and unchanged term and frequency its
    credit and charge cover the same span at the same unit price (P-RND-04).
    """
    bits = Bits(draw)
    if clean is None:
        clean = bits.flag()
    kind = draw(_KIND) if kinds == KINDS else kinds[bits.take(len(kinds))]
    account = draw(_ACCOUNT) if len(accounts) == 2 else accounts[0]
    currency = draw(_CURRENCY) if currencies == CURRENCIES else currencies[
        bits.take(len(currencies))]
    policy = draw(_POLICY)
    count = draw(_COUNT)
    target_index = bits.take(count)
    if clean:
        # distinct commercial plans: no R-ELIG-05 duplicate, no R-ELIG-06
        seed = draw(_PERMUTATION_SEED)
        pool = list(COMMERCIAL_PLAN_IDS)
        plans = []
        for _ in range(count):
            plans.append(pool.pop(seed % len(pool)))
            seed //= 7
    else:
        plans = [draw(_PLAN) for _ in range(count)]
    subscriptions = [
        _subscription(draw, i, plans[i], clean, kind == "reduce" and i == target_index)
        for i in range(count)
    ]
    subscription = subscriptions[target_index]
    anchor = date.fromisoformat(subscription["anchor"])
    on = day_in_term(anchor, subscription["term"], subscription["billing_frequency"],
                     draw(_NUMBER), bits.take(4))

    case: dict[str, Any] = {"format": 1, "case_id": f"c-{draw(_NUMBER):06d}"}
    if currency != "USD" or bits.flag():
        case["currency"] = currency
    if policy != "line-half-up" or bits.flag():
        case["rounding"] = policy

    mirror_plan = None
    if mirror:
        source = CATALOG.plans[subscription["plan"]]
        mirror_plan = f"{source.id}_MIRROR"
        case["catalog"] = {"plans": [{
            "id": mirror_plan,
            "product": mirror_plan,
            "sector": source.sector,
            "services": dict(source.services),
            "data_services": sorted(source.data_services),
            "prices": {term: str(value) for term, value in source.prices.items()},
        }]}

    plan_services = set(CATALOG.plans[subscription["plan"]].services)
    incidents = [SERVICES[bits.take(len(SERVICES))] for _ in range(bits.take(3))]
    incidents = sorted(set(incidents))
    payment = ("card", "invoice")[bits.take(2)]
    if clean:
        incidents = [s for s in incidents if s not in plan_services]  # R-ELIG-02 clear
        balance = 0
        credit_check = False
    else:
        balance = 0 if bits.flag() else draw(_NUMBER)
        credit_check = bits.take(4) == 0
    tenant: dict[str, Any] = {
        "tenant_id": "t-000001",
        "domain": "contoso.com",
        "country": draw(_COUNTRY),
        "billing_account": account,
        "payment_method": payment,
        "subscriptions": subscriptions,
    }
    if balance or bits.flag():
        tenant["unpaid_balance"] = format_minor(balance, CURRENCY_DIGITS[currency])
    if credit_check or bits.flag():
        tenant["credit_check_pending"] = credit_check
    if incidents or bits.flag():
        tenant["open_incidents"] = incidents

    request: dict[str, Any]
    if kind == "change":
        request = _change_request(draw, subscription, account, clean, mirror_plan)
    elif kind == "cancel":
        request = {"kind": "cancel", "subscription_id": subscription["subscription_id"]}
    else:
        low = max(subscription["assigned"], 1)
        high = subscription["licenses"] - 1
        request = {"kind": "reduce", "subscription_id": subscription["subscription_id"],
                   "licenses": low + draw(_NUMBER) % (high - low + 1)}
    request["on"] = on.isoformat()
    case["tenant"] = tenant
    case["request"] = request
    return case
