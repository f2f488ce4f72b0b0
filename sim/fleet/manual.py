"""The manual-change room (R-MAN-01..08): buy, check, move, cancel, with each step's traps.

1. Buy the new subscription (R-MAN-03: possibly for the wrong domain; R-MAN-04: not yet
   active; R-MAN-05: too few licenses); a purchase may start a credit check.
2. Check both are listed and active with enough licenses; fix what fails and recheck.
3. Back up before a downgrade or lose that data (R-MAN-02), then move the users.
4. Cancel the old subscription or remove its unneeded licenses (R-MAN-06/08; P-CHG-06:
   a large MOSA subscription is reduced to the online limit first). The moved users'
   old licenses were billed from the purchase to this step (overlap cost, R-MAN-06).

Every draw comes from the tenant's ``manual`` stream; observers hear each step.
"""

from __future__ import annotations

from datetime import date

from ..rules.billing import (
    BillingOutcome,
    add_seats_outcome,
    cancel_outcome,
    purchase_outcome,
    reduce_outcome,
)
from ..rules.calendar import BILLING_FREQUENCY_MONTHS, add_months
from ..rules.catalog import Plan
from ..rules.domain import Subscription, Tenant
from ..rules.flows import (
    check_manual_purchase,
    data_services_at_risk,
    move_users_manually,
    old_subscription_action,
)
from ..rules.money import prorate
from .population import TenantExtras
from .rows import ChangeRow

__all__ = ["MAX_MANUAL_CHECKS", "ManualChanges"]

MAX_MANUAL_CHECKS = 20


class ManualChanges:
    """Mixin of the fleet model: the manual path of a change request."""

    def _step(self, row: ChangeRow, tenant: Tenant, step: str) -> None:
        for hook in self.hooks.on_step:
            hook(row.request_id, tenant, step)

    def _manual(self, tenant: Tenant, extras: TenantExtras, old: Subscription, current: Plan,
                target: Plan, row: ChangeRow, split_users: bool):
        """R-MAN-01..08: buy, check, move, cancel (with the traps of each step)."""
        env = self.env
        manual = self.scenario.manual
        self.renew(old, self.today())
        users = old.assigned
        if split_users and users > 1:
            users = max(1, int(users * self.scenario.demand.mca_partial_fraction))
        at_risk = data_services_at_risk(current, target)
        if at_risk:  # R-MAN-02: share of the user's data held in the services at risk
            share = len(at_risk) / max(len(current.data_services), 1)
            row.data_at_risk_gb = round(users * extras.data_gb_per_user * share, 6)
        new = yield from self._buy(tenant, extras, old, target, row, users)
        extra_seats: list[tuple[date, int]] = []
        checked = yield from self._check(tenant, extras, old, new, row, users, extra_seats)
        if not checked:
            row.outcome = "abandoned"
            self.finish(row)
            return
        if at_risk:  # back up before a downgrade, or lose that data (R-MAN-02, INV-02)
            if extras.streams.manual.random() < manual.backup_before_downgrade:
                row.backup_made = True
                yield env.timeout(users * manual.backup_minutes_per_user)
            else:
                row.data_lost_gb = row.data_at_risk_gb
        # Step 3: move the users (customisations are set up anew: counted as lost).
        yield env.timeout(users * manual.move_minutes_per_user)
        moved_day = self.today()
        row.customisations_lost = move_users_manually(old, new, users)
        row.users_moved = users
        self._step(row, tenant, "manual-move")
        yield from self._close(tenant, extras, old, new, current, target, row, users,
                               extra_seats, moved_day)

    def _buy(self, tenant: Tenant, extras: TenantExtras, old: Subscription, target: Plan,
             row: ChangeRow, users: int):
        """Step 1 (R-MAN-03/04/05 traps drawn here); returns the new subscription."""
        manual = self.scenario.manual
        rng = extras.streams.manual
        yield self.env.timeout(manual.buy.draw(rng))
        wrong = rng.random() < manual.wrong_domain
        inactive = rng.random() < manual.inactive_new_subscription
        too_few = rng.random() < manual.too_few_licenses and users > 1
        bought = users - max(1, users // 5) if too_few else users
        new = Subscription(f"{old.subscription_id}-m", target.id,
                           f"other-{tenant.domain}" if wrong else tenant.domain, bought, 0,
                           old.term, old.billing_frequency, self.today(),
                           status="provisioning" if inactive else "active")
        row.wrong_domain, row.inactive_new_subscription = wrong, inactive
        row.too_few_licenses = too_few
        tenant.subscriptions.append(new)  # listed from its purchase on (R-MAN-03 aside)
        extras.life.purchase(self.env.now)  # a purchase may start a credit check
        self._step(row, tenant, "manual-buy")
        return new

    def _check(self, tenant: Tenant, extras: TenantExtras, old: Subscription,
               new: Subscription, row: ChangeRow, users: int,
               extra_seats: list[tuple[date, int]]):
        """Step 2: both listed and active, enough licenses (R-MAN-03/04/05); True if ok."""
        env = self.env
        manual = self.scenario.manual
        rng = extras.streams.manual
        for _ in range(MAX_MANUAL_CHECKS):
            verdict = check_manual_purchase(tenant, new, old, users)
            if verdict.ok:
                return True
            if self.tracing:
                self.trace(row.request_id, "manual-check", verdict.reason or "")
            if verdict.reason == "R-MAN-03":
                yield env.timeout(manual.wrong_domain_fix.draw(rng))
                new.domain = tenant.domain  # bought again for the right organisation
                new.anchor = self.today()
            elif verdict.reason == "R-MAN-04":
                yield env.timeout(manual.activation.draw(rng))
                new.status = "active"
                if old.status != "active":
                    old.status, old.provisioned = "active", True
            else:  # R-MAN-05: buy the missing licenses
                yield env.timeout(manual.buy_more.draw(rng))
                extra_seats.append((self.today(), users - (new.licenses - new.assigned)))
                new.licenses = new.assigned + users
                extras.life.purchase(env.now)
            self._step(row, tenant, "manual-fix")
        return False

    def _close(self, tenant: Tenant, extras: TenantExtras, old: Subscription,
               new: Subscription, current: Plan, target: Plan, row: ChangeRow, users: int,
               extra_seats: list[tuple[date, int]], moved_day: date):
        """Step 4 (R-MAN-06/08, P-CHG-06) and the bill of the whole manual change."""
        env = self.env
        yield env.timeout(self.scenario.manual.cancel_delay.draw(extras.streams.manual))
        day = self.today()
        self.renew(old, day)
        billing = self.scenario.billing
        actions = old_subscription_action(old, tenant.billing_account, old.assigned,
                                          billing.mosa_cancel_limit)
        if actions[0] == "reduce-to-limit":  # P-CHG-06: one more admin step first
            yield env.timeout(self.scenario.manual.buy.draw(extras.streams.manual))
            day = self.today()
            self.renew(old, day)
        digits = self.money(tenant.currency).digits  # `target`: the tenant's price list
        self.book(tenant, row, purchase_outcome(new, target, digits, self.policy),
                  new.anchor)
        for seat_day, added in extra_seats:
            self.book(tenant, row, add_seats_outcome(new, target, seat_day, added,
                                                     digits, self.policy), seat_day)
        outcome = self._close_old(tenant, old, current, row, day, actions[-1])
        self.book(tenant, row, outcome, day)
        self._step(row, tenant, "manual-close")
        self._overlap(old, current, row, users, new.anchor, moved_day, day, outcome, digits)
        row.completed_at = env.now
        row.completed_day = self.iso[day]
        row.lead_time_min = env.now - row.requested_at
        row.licenses_after = new.licenses
        row.outcome = "manual"
        self.completed += 1
        self.finish(row)

    def _close_old(self, tenant: Tenant, old: Subscription, current: Plan, row: ChangeRow,
                   day: date, action: str) -> BillingOutcome:
        """R-MAN-06/08: cancel the old subscription, or remove its unneeded licenses."""
        billing = self.scenario.billing
        if action == "cancel":
            outcome = cancel_outcome(old, current, day, tenant.billing_account,
                                     self.money(tenant.currency).digits,
                                     self.policy, billing.mca_window_days,
                                     billing.mca_full_refund_days, billing.mosa_cancel_limit)
            for hook in self.hooks.on_cancel_billed:
                hook(row.request_id, day, tenant, old, current, outcome)
            tenant.subscriptions.remove(old)
            return outcome
        if old.assigned < old.licenses:
            licenses = max(old.assigned, 1)
            outcome = reduce_outcome(old, current, day, licenses, tenant.billing_account,
                                     self.money(tenant.currency).digits, self.policy,
                                     billing.mca_window_days)
            for hook in self.hooks.on_reduce_billed:
                hook(row.request_id, day, tenant, old, current, licenses, outcome)
            if outcome.lines:
                old.licenses = licenses
            return outcome
        return BillingOutcome(None, day, (), 0)

    def _overlap(self, old: Subscription, current: Plan, row: ChangeRow, users: int,
                 bought_on: date, moved_day: date, day: date, outcome: BillingOutcome,
                 digits: int) -> None:
        """R-MAN-06: the moved users' old licenses were billed from the purchase to step 4
        (`current` priced in the tenant's currency, `digits` its minor unit)."""
        row.overlap_days = (day - bought_on).days
        months = BILLING_FREQUENCY_MONTHS[old.billing_frequency]
        cycle_days = (add_months(moved_day, months) - moved_day).days
        double_billed = min(row.overlap_days, cycle_days)
        if double_billed > 0:
            row.overlap_cost_minor += prorate(current.price(old.term, current.currency),
                                              months, users, double_billed, cycle_days,
                                              digits, self.policy)
        row.overlap_cost_minor += outcome.overlap_cost
