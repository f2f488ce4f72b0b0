"""The steps of the automatic and manual changes as pure state transitions (RULES.md 2, 4, 6).

The simulator decides *when* things happen; this module decides *what* a step does to
a tenant's subscriptions and whether it may proceed. Every function reads and updates
the light domain objects of :mod:`sim.rules.domain` and returns plain values, so the same
rules serve the discrete-event run and the unit tests.
"""

from __future__ import annotations

from typing import NamedTuple

from .catalog import Plan
from .domain import Subscription, Tenant

__all__ = [
    "AutomaticEffects",
    "ManualCheck",
    "check_manual_purchase",
    "complete_automatic",
    "data_services_at_risk",
    "licenses_assigned_ok",
    "move_users_manually",
    "old_subscription_action",
]

class AutomaticEffects(NamedTuple):
    users_moved: int
    customisations_lost: int
    data_kept: bool
    newly_unlicensed: int  # INV-01: must be 0
    new_subscription: Subscription | None  # the target of a partial move (R-PATH-02)


def _unlicensed(subscription: Subscription) -> int:
    return max(subscription.assigned - subscription.licenses, 0)


def complete_automatic(subscription: Subscription, target: Plan, licenses: int,
                       term: str, billing_frequency: str, new_subscription_id: str
                       ) -> AutomaticEffects:
    """Completion of an automatic change on `subscription` (R-AUTO-04..08, R-PATH-02).

    - R-AUTO-05 all users of the old subscription move; a partial MCA move (R-PATH-02)
      moves as many users as the new licenses cover into a new subscription, and the
      others stay on the old plan.
    - R-AUTO-06 per-user service customisations are not kept: they are counted as lost.
    - R-AUTO-07 users holding licenses from several subscriptions keep that pattern: the
      other subscriptions of the tenant are left untouched.
    - R-AUTO-08 all data is kept.
    - INV-01 the change leaves no user without a license who had one before.
    The subscription is updated in place and its change lock (R-AUTO-03) released.
    """
    unlicensed_before = _unlicensed(subscription)
    subscription.change_in_progress = False
    if licenses >= subscription.licenses:
        moved = subscription.assigned
        lost = subscription.customised_users
        subscription.plan = target.id
        subscription.licenses = licenses
        subscription.term = term
        subscription.billing_frequency = billing_frequency
        subscription.customised_users = 0
        newly_unlicensed = max(_unlicensed(subscription) - unlicensed_before, 0)
        return AutomaticEffects(moved, lost, True, newly_unlicensed, None)
    # Partial move (MCA): the moved users get the new licenses, the rest stay.
    moved = min(subscription.assigned, licenses)
    lost = min(subscription.customised_users, moved)
    subscription.licenses -= licenses
    subscription.assigned -= moved
    subscription.customised_users -= lost
    new = Subscription(new_subscription_id, target.id, subscription.domain, licenses, moved,
                       term, billing_frequency, subscription.anchor)
    newly_unlicensed = max(_unlicensed(subscription) + _unlicensed(new) - unlicensed_before, 0)
    return AutomaticEffects(moved, lost, True, newly_unlicensed, new)


def data_services_at_risk(current: Plan, target: Plan) -> tuple[str, ...]:
    """R-MAN-02: data-related services of `current` that `target` lacks or has lower."""
    return tuple(sorted(
        service for service in current.data_services
        if target.services.get(service, 0) < current.services[service]
    ))


class ManualCheck(NamedTuple):
    """Step 2 of R-MAN-01: may users move into the new subscription now?"""

    ok: bool
    reason: str | None  # rule ID of the first failing condition


def check_manual_purchase(tenant: Tenant, new: Subscription, old: Subscription,
                          users_to_move: int) -> ManualCheck:
    """R-MAN-01 step 2: both subscriptions listed and active, enough free licenses.

    - R-MAN-03 the new subscription must belong to the tenant's domain.
    - R-MAN-04 both must be ``active`` before users move.
    - R-MAN-05 one unassigned license per moved user in the new subscription.
    """
    if new.domain != tenant.domain:
        return ManualCheck(False, "R-MAN-03")
    if new.status != "active" or old.status != "active":
        return ManualCheck(False, "R-MAN-04")
    if new.licenses - new.assigned < users_to_move:
        return ManualCheck(False, "R-MAN-05")
    return ManualCheck(True, None)


def move_users_manually(old: Subscription, new: Subscription, users: int) -> int:
    """R-MAN-01 step 3: move `users` from `old` to `new`; returns customisations carried.

    Moving licenses by hand keeps no per-user customisation either: the admin sets up
    the new licenses, so customisations of the moved users are lost (counted by caller).
    """
    moved_customised = min(old.customised_users, users)
    old.assigned -= users
    old.customised_users -= moved_customised
    new.assigned += users
    return moved_customised


def licenses_assigned_ok(subscription: Subscription) -> bool:
    """INV-06: assigned <= purchased after every completed step."""
    return subscription.assigned <= subscription.licenses


def old_subscription_action(old: Subscription, billing_account: str, remaining_users: int,
                            mosa_cancel_limit: int) -> tuple[str, ...]:
    """R-MAN-01 step 4 / R-MAN-08: what to do with the old subscription.

    When some users stay (R-MAN-08) the unneeded licenses are removed (``reduce``);
    otherwise it is cancelled, MOSA subscriptions above the online limit being reduced
    to it first (P-CHG-06). Until then its licenses keep being billed (R-MAN-06).
    """
    if remaining_users > 0:
        return ("reduce",)
    if billing_account == "MOSA" and old.licenses > mosa_cancel_limit:
        return ("reduce-to-limit", "cancel")
    return ("cancel",)
