"""Observers of a fleet run: what the engine tells the world as a request goes.

An observer is any object implementing some of the methods of :class:`FleetObserver`
(missing ones are skipped). The engine resolves the bound methods once, when it is
built (:func:`resolve_hooks`), so an event costs a loop over a short tuple and no
``getattr``. Observers receive the live domain objects (tenant, subscription, plans,
outcome): they must copy what they keep, and must not change them.

The invariant monitor (:mod:`sim.fleet.monitor`) is one such observer; the QA
harness's exporter (``sim/harness/export.py``) is another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, NamedTuple, Protocol

from ..rules.billing import BillingOutcome, Line
from ..rules.catalog import Plan
from ..rules.domain import Subscription, Tenant
from ..rules.eligibility import EligibilityRule

__all__ = ["HOOK_NAMES", "STEPS", "FleetObserver", "Hooks", "resolve_hooks"]

# The steps after which ``on_step`` is called (each changes licenses or assignments).
STEPS = (
    "remediate",  # R-ELIG-01/08/09/10 remediation applied to the tenant's state
    "consolidate",  # R-ELIG-05: users moved to one subscription, the other cancelled
    "automatic",  # R-AUTO-04..08: the automatic change completed
    "manual-buy",  # R-MAN-01 step 1: the new subscription bought
    "manual-fix",  # R-MAN-03/04/05: a failed step-2 check fixed (seats bought, ...)
    "manual-move",  # R-MAN-01 step 3: users moved
    "manual-close",  # R-MAN-01 step 4 / R-MAN-06/08: old subscription cancelled or reduced
)


class FleetObserver(Protocol):
    """The hooks an observer may implement; all arguments are positional, in this order."""

    def on_attempt(self, request_id: str, day: date, tenant: Tenant,
                   subscription: Subscription, current_plan: Plan, target_plan: Plan,
                   blockers: tuple[EligibilityRule, ...]) -> None:
        """Right after each eligibility check (R-ELIG-11), before any remediation."""

    def on_change_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, current_plan: Plan, target_plan: Plan,
                         licenses: int, term: str, billing_frequency: str, schedule: str,
                         outcome: BillingOutcome) -> None:
        """An automatic change's billing outcome, before the subscription is changed."""

    def on_cancel_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, plan: Plan, outcome: BillingOutcome
                         ) -> None:
        """A cancellation's outcome (P-CHG-05/06), before the subscription is removed."""

    def on_reduce_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, plan: Plan, licenses: int,
                         outcome: BillingOutcome) -> None:
        """A license reduction to `licenses` (P-CHG-07), before it is applied."""

    def on_line(self, request_id: str, tenant: Tenant, line: Line, invoiced: date,
                cash: date, changed_on: date) -> None:
        """Each ledger line as it is booked (P-TIME-01..04)."""

    def on_step(self, request_id: str, tenant: Tenant, step: str) -> None:
        """After every completed step that changes licenses or assignments (STEPS)."""

    def on_request_end(self, row: Any) -> None:
        """The request's change row, complete, as it is recorded (sim.fleet.rows)."""


HOOK_NAMES = ("on_attempt", "on_change_billed", "on_cancel_billed", "on_reduce_billed",
              "on_line", "on_step", "on_request_end")


class Hooks(NamedTuple):
    """For each hook, the bound methods of the observers that implement it."""

    on_attempt: tuple[Callable[..., None], ...]
    on_change_billed: tuple[Callable[..., None], ...]
    on_cancel_billed: tuple[Callable[..., None], ...]
    on_reduce_billed: tuple[Callable[..., None], ...]
    on_line: tuple[Callable[..., None], ...]
    on_step: tuple[Callable[..., None], ...]
    on_request_end: tuple[Callable[..., None], ...]


def resolve_hooks(observers: Iterable[Any]) -> Hooks:
    """The bound hook methods of `observers`, resolved once (missing ones skipped)."""
    observers = tuple(observers)
    return Hooks(*(tuple(getattr(observer, name) for observer in observers
                         if callable(getattr(observer, name, None)))
                   for name in HOOK_NAMES))
