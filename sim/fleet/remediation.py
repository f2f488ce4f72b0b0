"""What an admin can do about each blocker, and what remediating it does (RULES.md 3).

One table, :data:`REMEDIATIONS`, one row per blocker of
:data:`sim.rules.eligibility.ELIGIBILITY_RULES`: its rule ID and code, the admin
actions its resolution allows (:data:`BLOCKER_ACTIONS`, which scenarios are validated
against), and the state change ``remediate`` makes. The resolution text is the
eligibility row's (:attr:`Remediation.resolution`), so each fact lives in one place.

An effect is called as ``effect(model, tenant, subscription, row)`` after the admin's
delay; the model gives it the day, the catalog and the ledger (consolidation books a
seat purchase and a cancellation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..rules.billing import add_seats_outcome, cancel_outcome
from ..rules.domain import Subscription, Tenant
from ..rules.eligibility import INACTIVE_STATUSES, RULES_BY_ID

__all__ = ["BLOCKER_ACTIONS", "REMEDIATIONS", "REMEDIATIONS_BY_CODE", "Remediation",
           "seats_to_add"]

Effect = Callable[[Any, Tenant, Subscription, Any], None]


class Remediation(NamedTuple):
    rule_id: str
    code: str
    actions: tuple[str, ...]  # what an admin may do: remediate, wait, manual, give_up
    effect: Effect | None  # the state change of "remediate" (None: nothing to do)

    @property
    def resolution(self) -> str:
        """The resolution column of RULES.md section 3 (the eligibility row's text)."""
        return RULES_BY_ID[self.rule_id].resolution


def _unassign(model: Any, tenant: Tenant, subscription: Subscription, row: Any) -> None:
    """R-ELIG-01: unassign licenses until users <= licenses."""
    subscription.assigned = subscription.licenses
    subscription.customised_users = min(subscription.customised_users, subscription.assigned)


def _remove_add_on(model: Any, tenant: Tenant, subscription: Subscription, row: Any) -> None:
    """R-ELIG-08: remove the blocking add-on (it may be added back later)."""
    subscription.add_ons = [a for a in subscription.add_ons if not a.blocks_change]


def _pay_balance(model: Any, tenant: Tenant, subscription: Subscription, row: Any) -> None:
    """R-ELIG-09: pay the unpaid balance."""
    tenant.unpaid_balance = 0


def _support_fix(model: Any, tenant: Tenant, subscription: Subscription, row: Any) -> None:
    """R-ELIG-10: support resolves the other problem; an inactive subscription is active."""
    subscription.other_problem = False
    if subscription.status in INACTIVE_STATUSES:
        subscription.status = "active"


def seats_to_add(keep: Subscription, other: Subscription) -> int:
    """R-ELIG-05: licenses `keep` must gain so that the users of `other` fit (INV-06)."""
    return max(other.assigned - (keep.licenses - keep.assigned), 0)


def _consolidate(model: Any, tenant: Tenant, keep: Subscription, row: Any) -> None:
    """R-ELIG-05: move all users to one subscription and cancel the unused one (billed in
    the tenant's currency, issue 12)."""
    money = model.money(tenant.currency)  # the tenant's price list and minor unit
    plans = money.plans
    product = plans[keep.plan].product
    day = model.today()
    billing = model.scenario.billing
    for other in [s for s in tenant.subscriptions if s is not keep
                  and plans[s.plan].product == product]:
        needed = seats_to_add(keep, other)
        model.renew(keep, day)
        if needed:
            model.book(tenant, row, add_seats_outcome(keep, plans[keep.plan], day, needed,
                                                      money.digits, model.policy), day)
            keep.licenses += needed
            model.seats_added(tenant, day)  # a seat addition may start a credit check
        keep.assigned += other.assigned
        other.assigned = 0
        model.renew(other, day)
        plan = plans[other.plan]
        outcome = cancel_outcome(other, plan, day, tenant.billing_account, money.digits,
                                 model.policy, billing.mca_window_days,
                                 billing.mca_full_refund_days, billing.mosa_cancel_limit)
        for hook in model.hooks.on_cancel_billed:
            hook(row.request_id, day, tenant, other, plan, outcome)
        model.book(tenant, row, outcome, day)
        row.overlap_cost_minor += outcome.overlap_cost
        tenant.subscriptions.remove(other)


REMEDIATIONS: tuple[Remediation, ...] = (
    Remediation("R-ELIG-01", "USERS_EXCEED_LICENSES", ("remediate", "manual", "give_up"),
                _unassign),
    Remediation("R-ELIG-02", "NOT_PROVISIONED_OR_UNHEALTHY", ("wait", "manual", "give_up"),
                None),
    Remediation("R-ELIG-03", "CHANGE_OR_CREDIT_CHECK_PENDING", ("wait", "manual", "give_up"),
                None),
    Remediation("R-ELIG-04", "SUBSCRIPTION_NOT_ELIGIBLE", ("manual", "give_up"), None),
    Remediation("R-ELIG-05", "DUPLICATE_PLANS_SAME_PRODUCT",
                ("remediate", "manual", "give_up"), _consolidate),
    Remediation("R-ELIG-06", "GOVERNMENT_OR_NONPROFIT_PLAN", ("manual", "give_up"), None),
    Remediation("R-ELIG-07", "TARGET_NOT_SUPPORTED", ("manual", "give_up"), None),
    Remediation("R-ELIG-08", "ADDON_BLOCKS_CHANGE", ("remediate", "manual", "give_up"),
                _remove_add_on),
    Remediation("R-ELIG-09", "UNPAID_INVOICE_BALANCE", ("remediate", "manual", "give_up"),
                _pay_balance),
    Remediation("R-ELIG-10", "OTHER", ("remediate", "manual", "give_up"), _support_fix),
)

REMEDIATIONS_BY_CODE = {row.code: row for row in REMEDIATIONS}
# What an admin may do about each blocker (scenario validation reads this).
BLOCKER_ACTIONS: dict[str, tuple[str, ...]] = {row.code: row.actions for row in REMEDIATIONS}

