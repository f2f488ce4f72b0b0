"""Shrinking a disagreement to a minimal case (HARNESS.md section 3).

:func:`shrink` tries one-step simplifications of a case in the order of "smaller"
(fewer subscriptions, add-ons, incidents, licenses -- a jump to 1..5, else halved, else
one fewer --, true flags, a smaller unpaid balance,
rounder prices, dates nearer 2026-01-01 with anchors on a day <= 28), keeps the first
that the model accepts and that still draws a disagreement of the **same primary class**
from the system under test, and repeats until no step helps or the budget of SUT calls
is spent. Candidates are tried in a fixed order, so the result is deterministic; the
model's verdict is recomputed for every candidate (the model, not the SUT, is the
reference), and a candidate the model rejects costs no SUT call.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from .adapters import Adapter, SutError
from .cases import CaseError, parse_case, verdict_to_json
from .cases import evaluate as evaluate_case
from .compare import COMPARED_FIELDS, MalformedVerdict, compare

__all__ = ["DEFAULT_BUDGET", "ShrinkResult", "candidates", "primary_class", "shrink"]

DEFAULT_BUDGET = 200  # SUT calls per disagreement
SIMPLE_DAY = date(2026, 1, 1)
SIMPLE_ANCHOR_DAY = 28  # P-CAL-02: anchors up to the 28th need no month-end clamping

Case = dict[str, Any]


class ShrinkResult(NamedTuple):
    case: Case
    verdict: dict[str, Any]  # the model's verdict on the shrunk case
    primary: str
    steps: tuple[str, ...]  # the simplifications kept, in order
    sut_calls: int


def primary_class(model: dict[str, Any], answer: dict[str, Any] | SutError,
                  fields: Iterable[str] = COMPARED_FIELDS) -> str | None:
    """The primary class of a SUT answer against the model's verdict (None: agrees)."""
    if isinstance(answer, SutError):
        return "sut-error"
    try:
        return compare(model, answer, fields).primary
    except MalformedVerdict:
        return "sut-error"


# ------------------------------------------------------------------ one-step edits


def _subject(case: Case) -> dict[str, Any]:
    wanted = case["request"]["subscription_id"]
    return next(s for s in case["tenant"]["subscriptions"] if s["subscription_id"] == wanted)


def _edit(case: Case, change: Callable[[Case], None]) -> Case:
    candidate = copy.deepcopy(case)
    change(candidate)
    return candidate


def _drop_subscriptions(case: Case) -> Iterator[tuple[str, Case]]:
    wanted = case["request"]["subscription_id"]
    for index, sub in enumerate(case["tenant"]["subscriptions"]):
        if sub["subscription_id"] != wanted:
            yield (f"drop subscription {sub['subscription_id']}",
                   _edit(case, lambda c, i=index: c["tenant"]["subscriptions"].pop(i)))


def _drop_add_ons(case: Case) -> Iterator[tuple[str, Case]]:
    for index, sub in enumerate(case["tenant"]["subscriptions"]):
        for position, add_on in enumerate(sub.get("add_ons") or []):
            yield (f"drop add-on {add_on.get('sku')} of {sub['subscription_id']}",
                   _edit(case, lambda c, i=index, p=position:
                         c["tenant"]["subscriptions"][i]["add_ons"].pop(p)))


def _drop_incidents(case: Case) -> Iterator[tuple[str, Case]]:
    for position, service in enumerate(case["tenant"].get("open_incidents") or []):
        yield (f"drop incident {service}",
               _edit(case, lambda c, p=position: c["tenant"]["open_incidents"].pop(p)))


def _set_licenses(case: Case, index: int, new: int) -> None:
    """Lower one subscription to `new` licenses, moving assigned and the request along."""
    sub = case["tenant"]["subscriptions"][index]
    old, assigned = sub["licenses"], sub["assigned"]
    sub["licenses"] = new
    sub["assigned"] = new + 1 if assigned > old else min(assigned, new)  # keep R-ELIG-01
    request = case["request"]
    if request["subscription_id"] != sub["subscription_id"] or "licenses" not in request:
        return
    wanted = request["licenses"]
    if request["kind"] == "reduce":
        request["licenses"] = max(1, min(wanted, new - 1))
        sub["assigned"] = min(sub["assigned"], request["licenses"])
    elif wanted == old:
        request["licenses"] = new
    elif wanted > old:  # a larger MCA move keeps its extra licenses
        request["licenses"] = new + min(wanted - old, 5)
    else:  # a partial MCA move (R-PATH-02) stays partial
        request["licenses"] = max(1, min(wanted, new - 1))


SMALL_COUNTS = (1, 2, 3, 4, 5)  # tried first: rounding bugs are not monotonic in licenses


def _lower_licenses(case: Case) -> Iterator[tuple[str, Case]]:
    """Jump to a small count, else halve, else decrement (the request's licenses along)."""
    for index, sub in enumerate(case["tenant"]["subscriptions"]):
        licenses = sub["licenses"]
        for new in dict.fromkeys((*SMALL_COUNTS, licenses // 2, licenses - 1)):
            if 1 <= new < licenses:
                yield (f"licenses of {sub['subscription_id']} {licenses} -> {new}",
                       _edit(case, lambda c, i=index, n=new: _set_licenses(c, i, n)))


# (field, the simple value) of the true flags a case can clear.
_SUBSCRIPTION_FLAGS = (("change_in_progress", False), ("other_problem", False),
                       ("eligible_for_change", True), ("provisioned", True),
                       ("status", "active"))


def _clear_flags(case: Case) -> Iterator[tuple[str, Case]]:
    if case["tenant"].get("credit_check_pending"):
        yield ("clear credit_check_pending",
               _edit(case, lambda c: c["tenant"].__setitem__("credit_check_pending", False)))
    for index, sub in enumerate(case["tenant"]["subscriptions"]):
        for field, simple in _SUBSCRIPTION_FLAGS:
            if field in sub and sub[field] != simple:
                yield (f"{field} of {sub['subscription_id']} -> {simple}",
                       _edit(case, lambda c, i=index, f=field, v=simple:
                             c["tenant"]["subscriptions"][i].__setitem__(f, v)))


def _zero_balance(case: Case) -> Iterator[tuple[str, Case]]:
    balance = case["tenant"].get("unpaid_balance")
    try:
        nonzero = balance is not None and Decimal(str(balance)) != 0
    except InvalidOperation:
        nonzero = False
    if nonzero:
        yield "zero the unpaid balance", _edit(
            case, lambda c: c["tenant"].__setitem__("unpaid_balance", "0"))


def _round_prices(case: Case) -> Iterator[tuple[str, Case]]:
    for index, plan in enumerate((case.get("catalog") or {}).get("plans") or []):
        for term, text in sorted((plan.get("prices") or {}).items()):
            try:
                value = Decimal(str(text))
            except InvalidOperation:
                continue
            rounded = value.quantize(Decimal(1)) if value != value.to_integral() else None
            if rounded is not None:
                yield (f"round the {term} price of {plan.get('id')} to {rounded}",
                       _edit(case, lambda c, i=index, t=term, r=str(rounded):
                             c["catalog"]["plans"][i]["prices"].__setitem__(t, r)))


def _simpler_anchors(anchor: date) -> Iterator[date]:
    if anchor.day > SIMPLE_ANCHOR_DAY:
        yield anchor.replace(day=SIMPLE_ANCHOR_DAY)
    if anchor.year != SIMPLE_DAY.year:
        yield anchor.replace(year=SIMPLE_DAY.year, day=min(anchor.day, SIMPLE_ANCHOR_DAY))
    if anchor.month != 1:
        yield anchor.replace(month=1)


def _move_dates(case: Case) -> Iterator[tuple[str, Case]]:
    """Move an anchor toward 2026-01-01 (day <= 28), the request day along with it."""
    wanted = case["request"]["subscription_id"]
    for index, sub in enumerate(case["tenant"]["subscriptions"]):
        try:
            anchor = date.fromisoformat(sub["anchor"])
        except (TypeError, ValueError):
            continue
        for new in _simpler_anchors(anchor):
            def move(c: Case, i: int = index, a: date = new, shift: int = (new - anchor).days,
                     subject: bool = sub["subscription_id"] == wanted) -> None:
                c["tenant"]["subscriptions"][i]["anchor"] = a.isoformat()
                if subject:  # keep the request the same number of days into the term
                    on = date.fromisoformat(c["request"]["on"])
                    c["request"]["on"] = (on + timedelta(days=shift)).isoformat()

            yield f"anchor of {sub['subscription_id']} {anchor} -> {new}", _edit(case, move)


STEPS = (_drop_subscriptions, _drop_add_ons, _drop_incidents, _lower_licenses, _clear_flags,
         _zero_balance, _round_prices, _move_dates)


def candidates(case: Case) -> Iterator[tuple[str, Case]]:
    """Every one-step simplification of `case`, in the order of HARNESS.md section 3."""
    for step in STEPS:
        yield from step(case)


# -------------------------------------------------------------------------- search


def _model(candidate: Case) -> dict[str, Any] | None:
    """The model's verdict, or None when the model rejects the candidate."""
    try:
        return verdict_to_json(evaluate_case(parse_case(candidate)))
    except (CaseError, KeyError, ValueError, TypeError, AttributeError):
        return None


def shrink(case: Case, primary: str, adapter: Adapter, budget: int = DEFAULT_BUDGET,
           fields: Iterable[str] = COMPARED_FIELDS) -> ShrinkResult:
    """The smallest case found that still disagrees with primary class `primary`."""
    fields = tuple(fields)
    current = case
    verdict = _model(case) or {}
    steps: list[str] = []
    calls = 0
    improved = True
    while improved and calls < budget:
        improved = False
        for description, candidate in candidates(current):
            model = _model(candidate)
            if model is None:
                continue
            if calls >= budget:
                break
            calls += 1
            if primary_class(model, adapter.ask(candidate), fields) == primary:
                current, verdict = candidate, model
                steps.append(description)
                improved = True
                break
    return ShrinkResult(current, verdict, primary, tuple(steps), calls)
