"""Tenants, subscriptions and requests as the rules layer sees them (RULES.md section 1).

These are light, slotted dataclasses: the simulator keeps one per tenant and mutates
them as its processes run, and case files are parsed into the same objects, so the
rules layer reads one shape whichever side calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "ACCOUNT_TYPES",
    "PAYMENT_METHODS",
    "REQUEST_KINDS",
    "SCHEDULES",
    "STATUSES",
    "AddOnRef",
    "Request",
    "Subscription",
    "Tenant",
]

ACCOUNT_TYPES = ("MCA", "MOSA")
PAYMENT_METHODS = ("card", "invoice")  # invoice payers settle by wire transfer (P-TIME-04)
STATUSES = ("active", "provisioning", "disabled", "expired", "suspended")
REQUEST_KINDS = ("change", "cancel", "reduce")
SCHEDULES = ("now", "renewal")


@dataclass(slots=True)
class AddOnRef:
    sku: str
    blocks_change: bool  # R-ELIG-08


@dataclass(slots=True)
class Subscription:
    subscription_id: str
    plan: str
    domain: str
    licenses: int
    assigned: int
    term: str
    billing_frequency: str
    anchor: date
    status: str = "active"
    provisioned: bool = True
    add_ons: list[AddOnRef] = field(default_factory=list)
    change_in_progress: bool = False
    eligible_for_change: bool = True
    other_problem: bool = False
    customised_users: int = 0  # users with some service disabled (R-AUTO-06)


@dataclass(slots=True)
class Tenant:
    tenant_id: str
    domain: str
    country: str
    billing_account: str
    payment_method: str
    subscriptions: list[Subscription]
    unpaid_balance: int = 0  # minor units of `currency`
    credit_check_pending: bool = False
    open_incidents: frozenset[str] = frozenset()
    currency: str = "USD"  # ISO 4217: the tenant is billed in it (issue 12, P-MONEY-02)

    def subscription(self, subscription_id: str) -> Subscription:
        for subscription in self.subscriptions:
            if subscription.subscription_id == subscription_id:
                return subscription
        raise KeyError(subscription_id)


@dataclass(slots=True)
class Request:
    """One request against one subscription, on one UTC day (CASES.md `request`)."""

    kind: str
    subscription_id: str
    on: date
    target_plan: str | None = None
    licenses: int | None = None
    term: str | None = None
    billing_frequency: str | None = None
    schedule: str = "now"
