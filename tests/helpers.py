"""Builders for valid case dicts (CASES.md, format 1) shared by the unit tests.

``make_case()`` returns a fresh, valid MOSA case: tenant ``t-1`` (contoso.com, US, card,
no balance) with one subscription ``s-1`` of 10 BUSINESS_BASIC licenses (all assigned),
term P1Y billed monthly, anchored on 2026-01-31; the request changes ``s-1`` to
BUSINESS_STANDARD on 2026-03-15. Every call builds new dicts, so tests may mutate them.

Keyword arguments override parts of it:

- ``tenant={...}``: merged into ``case["tenant"]`` (a non-dict replaces it; DROP removes);
- ``subscription={...}``: merged into ``case["tenant"]["subscriptions"][0]``;
- ``extra_subscriptions=[{...}, ...]``: each merged into a copy of the default
  subscription (ids default to ``s-2``, ``s-3``, ...) and appended;
- ``request={...}``: merged into ``case["request"]`` (as ``tenant``);
- any other keyword replaces a top-level key;
- anywhere, a value of :data:`DROP` removes the key.
"""

from __future__ import annotations

import copy
from typing import Any

from sim.harness.cases import evaluate_json

__all__ = ["DROP", "blocker_codes", "blocker_rules", "evaluate_case", "make_case",
           "make_subscription"]

DROP = object()  # sentinel: remove this key from the built case


def _merge(base: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    for key, value in (overrides or {}).items():
        if value is DROP:
            base.pop(key, None)
        else:
            base[key] = copy.deepcopy(value)
    return base


def make_subscription(**overrides: Any) -> dict[str, Any]:
    """A fresh valid subscription object (CASES.md `tenant.subscriptions[]`)."""
    subscription = {
        "subscription_id": "s-1",
        "plan": "BUSINESS_BASIC",
        "domain": "contoso.com",
        "status": "active",
        "provisioned": True,
        "licenses": 10,
        "assigned": 10,
        "term": "P1Y",
        "billing_frequency": "monthly",
        "anchor": "2026-01-31",
        "add_ons": [],
        "change_in_progress": False,
        "eligible_for_change": True,
        "other_problem": False,
    }
    return _merge(subscription, overrides)


def make_case(
    *,
    tenant: Any = None,
    subscription: dict[str, Any] | None = None,
    extra_subscriptions: list[dict[str, Any]] | None = None,
    request: Any = None,
    **top: Any,
) -> dict[str, Any]:
    """A fresh valid case dict with the given overrides (see the module docstring)."""
    case: dict[str, Any] = {
        "format": 1,
        "case_id": "c-1",
        "currency": "USD",
        "rounding": "line-half-up",
        "tenant": {
            "tenant_id": "t-1",
            "domain": "contoso.com",
            "country": "US",
            "billing_account": "MOSA",
            "payment_method": "card",
            "unpaid_balance": "0.00",
            "credit_check_pending": False,
            "open_incidents": [],
            "subscriptions": [make_subscription(**(subscription or {}))],
        },
        "request": {
            "kind": "change",
            "subscription_id": "s-1",
            "target_plan": "BUSINESS_STANDARD",
            "on": "2026-03-15",
        },
    }
    for number, extra in enumerate(extra_subscriptions or [], start=2):
        fields = {"subscription_id": f"s-{number}", **extra}
        case["tenant"]["subscriptions"].append(make_subscription(**fields))
    if isinstance(tenant, dict):
        _merge(case["tenant"], tenant)
    elif tenant is not None:
        top["tenant"] = tenant  # DROP or a value of the wrong type
    if isinstance(request, dict):
        _merge(case["request"], request)
    elif request is not None:
        top["request"] = request
    _merge(case, top)
    return case


def evaluate_case(**overrides: Any) -> dict[str, Any]:
    """``evaluate_json(make_case(**overrides))``: a verdict or an error record."""
    return evaluate_json(make_case(**overrides))


def blocker_codes(verdict: dict[str, Any]) -> list[str]:
    """The blocker codes of a verdict, in the order reported."""
    assert "error" not in verdict, verdict
    return [blocker["code"] for blocker in verdict["blockers"]]


def blocker_rules(verdict: dict[str, Any]) -> list[str]:
    """The blocker rule IDs of a verdict, in the order reported."""
    assert "error" not in verdict, verdict
    return [blocker["rule"] for blocker in verdict["blockers"]]
