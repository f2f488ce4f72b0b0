"""Eligibility of an automatic plan change, as a table of rules (RULES.md section 3).

Each row of :data:`ELIGIBILITY_RULES` carries its rule ID, blocker code, predicate,
resolution and the nearest partner-API error name. :func:`check` returns every row
whose predicate holds (R-ELIG-11), in rule-ID order; MCA accounts are checked against
the subset of R-ELIG-12 unless the caller passes another rule set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from .catalog import Catalog, Plan, lacks_data_service
from .domain import Subscription, Tenant

__all__ = [
    "BLOCKER_CODES",
    "ELIGIBILITY_RULES",
    "MCA_RULE_IDS",
    "RULES_BY_CODE",
    "ChangeContext",
    "EligibilityRule",
    "check",
    "rule_set_for",
]


class ChangeContext(NamedTuple):
    """What a predicate may look at: the tenant as it stands, and the requested change."""

    tenant: Tenant
    subscription: Subscription
    current: Plan
    target: Plan
    catalog: Catalog


class EligibilityRule(NamedTuple):
    rule_id: str
    code: str
    predicate: Callable[[ChangeContext], bool]
    resolution: str
    partner_error: str


def _users_exceed_licenses(context: ChangeContext) -> bool:
    subscription = context.subscription
    return subscription.assigned > subscription.licenses


def _not_provisioned_or_unhealthy(context: ChangeContext) -> bool:
    subscription = context.subscription
    if not subscription.provisioned or subscription.status == "provisioning":
        return True
    incidents = context.tenant.open_incidents
    return bool(incidents) and any(service in incidents for service in context.current.services)


def _change_or_credit_check_pending(context: ChangeContext) -> bool:
    return context.subscription.change_in_progress or context.tenant.credit_check_pending


def _subscription_not_eligible(context: ChangeContext) -> bool:
    return not context.subscription.eligible_for_change


def _duplicate_plans_same_product(context: ChangeContext) -> bool:
    subscriptions = context.tenant.subscriptions
    if len(subscriptions) < 2:
        return False  # one subscription cannot duplicate itself
    product = context.current.product
    plans = context.catalog.plans
    count = 0
    for subscription in subscriptions:
        plan = plans.get(subscription.plan)
        if plan is not None and plan.product == product:
            count += 1
    return count >= 2


def _government_or_nonprofit(context: ChangeContext) -> bool:
    return context.current.is_government_or_nonprofit


def _target_not_supported(context: ChangeContext) -> bool:
    return lacks_data_service(context.current, context.target)


def _addon_blocks_change(context: ChangeContext) -> bool:
    add_ons = context.subscription.add_ons
    return bool(add_ons) and any(add_on.blocks_change for add_on in add_ons)


def _unpaid_invoice_balance(context: ChangeContext) -> bool:
    tenant = context.tenant
    return tenant.payment_method == "invoice" and tenant.unpaid_balance > 0


INACTIVE_STATUSES = frozenset({"disabled", "expired", "suspended"})


def _other(context: ChangeContext) -> bool:
    # The residual blocker: an explicit "other problem" flag, or a subscription whose
    # status is not active for a reason none of the rows above names.
    subscription = context.subscription
    return subscription.other_problem or subscription.status in INACTIVE_STATUSES


# The MOSA blocker table (R-ELIG-01..10), ordered by rule ID.
ELIGIBILITY_RULES: tuple[EligibilityRule, ...] = (
    EligibilityRule("R-ELIG-01", "USERS_EXCEED_LICENSES", _users_exceed_licenses,
                    "unassign licenses until users <= licenses, then retry",
                    "other"),
    EligibilityRule("R-ELIG-02", "NOT_PROVISIONED_OR_UNHEALTHY", _not_provisioned_or_unhealthy,
                    "wait a few hours until all services are healthy, retry; "
                    "contact support if it persists",
                    "subscription_not_provisioned"),
    EligibilityRule("R-ELIG-03", "CHANGE_OR_CREDIT_CHECK_PENDING",
                    _change_or_credit_check_pending,
                    "wait until it finishes (credit checks take up to 2 business days), retry",
                    "concurrency_conflicts"),
    EligibilityRule("R-ELIG-04", "SUBSCRIPTION_NOT_ELIGIBLE", _subscription_not_eligible,
                    "change manually",
                    "subscription_does_not_have_any_upgrade_paths"),
    EligibilityRule("R-ELIG-05", "DUPLICATE_PLANS_SAME_PRODUCT", _duplicate_plans_same_product,
                    "move all users to one subscription, cancel the unused one, retry",
                    "conflicting_service_types"),
    EligibilityRule("R-ELIG-06", "GOVERNMENT_OR_NONPROFIT_PLAN", _government_or_nonprofit,
                    "change manually",
                    "subscription_does_not_have_any_upgrade_paths"),
    EligibilityRule("R-ELIG-07", "TARGET_NOT_SUPPORTED", _target_not_supported,
                    "change manually, after backing up data (R-MAN-02)",
                    "subscription_target_offer_not_found"),
    EligibilityRule("R-ELIG-08", "ADDON_BLOCKS_CHANGE", _addon_blocks_change,
                    "remove the add-on (it may be added back later) and retry, or change manually",
                    "subscription_add_ons_present"),
    EligibilityRule("R-ELIG-09", "UNPAID_INVOICE_BALANCE", _unpaid_invoice_balance,
                    "pay the balance, retry",
                    "other"),
    EligibilityRule("R-ELIG-10", "OTHER", _other,
                    "change manually or contact support",
                    "other"),
)

RULES_BY_CODE = {rule.code: rule for rule in ELIGIBILITY_RULES}
RULES_BY_ID = {rule.rule_id: rule for rule in ELIGIBILITY_RULES}
BLOCKER_CODES = tuple(rule.code for rule in ELIGIBILITY_RULES)

# R-ELIG-12: MCA accounts are checked with these rules only (a scenario may switch).
MCA_RULE_IDS = ("R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10")
MOSA_RULES = ELIGIBILITY_RULES
MCA_RULES = tuple(rule for rule in ELIGIBILITY_RULES if rule.rule_id in MCA_RULE_IDS)


def rule_set_for(billing_account: str, mca_rule_ids: Iterable[str] | None = None
                 ) -> tuple[EligibilityRule, ...]:
    """R-ELIG-12: the rows that apply to an account type; MCA may get another subset."""
    if billing_account == "MOSA":
        return MOSA_RULES
    if mca_rule_ids is None:
        return MCA_RULES
    wanted = frozenset(mca_rule_ids)
    unknown = wanted - RULES_BY_ID.keys()
    if unknown:
        raise ValueError(f"unknown eligibility rule IDs: {', '.join(sorted(unknown))}")
    return tuple(rule for rule in ELIGIBILITY_RULES if rule.rule_id in wanted)


def check(context: ChangeContext, rules: tuple[EligibilityRule, ...] | None = None
          ) -> list[EligibilityRule]:
    """R-ELIG-11: every blocker that holds, ordered by rule ID (empty: allowed)."""
    if rules is None:
        rules = rule_set_for(context.tenant.billing_account)
    return [rule for rule in rules if rule.predicate(context)]
