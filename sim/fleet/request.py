"""The change-request room: one request from arrival to outcome, and the automatic path.

- The eligibility check (R-ELIG-01..12) reads the tenant's state *at that simulated
  moment*; the admin's reaction to each blocker (remediate, wait and retry, go manual,
  give up) follows the scenario, and a remediation is the row of
  :data:`sim.fleet.remediation.REMEDIATIONS` for its blocker.
- R-PATH-03: a manual change when users are to end on different plans (R-PATH-01), or
  when the admin meets a blocker and changes manually instead.
- The automatic change: R-AUTO-01 (MOSA checkout and finalisation) or R-AUTO-02 (MCA
  options: now or at renewal, fewer licenses, another term), then the switch on the
  capacity-limited ``workers`` resource with the subscription locked (R-AUTO-03),
  billing switched on the completion day (R-BILL-01).

Every draw comes from the tenant's own streams (``extras.streams``). Plans are those of
the tenant's price list (:meth:`sim.fleet.ledger.Ledger.money`), so every line is billed
in the tenant's currency with its minor unit (issue 12, P-MONEY-02).
"""

from __future__ import annotations

from typing import Any

from ..rules.billing import change_outcome
from ..rules.catalog import Plan
from ..rules.domain import Subscription, Tenant
from ..rules.eligibility import ChangeContext, check
from ..rules.flows import complete_automatic
from .population import DIRECTIONS, TenantExtras
from .remediation import REMEDIATIONS_BY_CODE
from .rows import AttemptRow, ChangeRow

__all__ = ["TERM_CHOICES", "ChangeRequests"]

_new_tuple = tuple.__new__
TERM_CHOICES = (("P1M", "monthly"), ("P1Y", "monthly"), ("P1Y", "annual"),
                ("P3Y", "annual"), ("P3Y", "triennial"))


class ChangeRequests:
    """Mixin of the fleet model: the change-request process and the automatic path."""

    def _change_request(self, index: int, materialised: tuple[Tenant, TenantExtras],
                        target_code: int, direction: int, streams: Any):
        """One request's process, from its arrival to its outcome; the tenant's objects
        are let go when its last open request ends (one frame per request: a saturated
        fleet keeps many of them waiting)."""
        tenant, extras = self.tenant(index, materialised, streams)
        env = self.env
        subscription = tenant.subscriptions[0]
        plans = self.money(tenant.currency).plans  # priced in the tenant's currency
        current = plans[subscription.plan]
        target = plans[self.population.plan_ids[target_code]]
        streams = extras.streams
        self.requests += 1
        request_id = f"r-{index:07d}"
        row = ChangeRow(
            request_id, tenant.tenant_id, tenant.billing_account, current.sector,
            tenant.country, tenant.payment_method, subscription.subscription_id, current.id,
            target.id, DIRECTIONS[direction], tenant.currency, requested_at=env.now,
            requested_day=self.iso[self.today()], licenses_before=subscription.licenses,
            wire_international=extras.wire_international)
        self.active[request_id] = row
        if self.tracing:
            self.trace(request_id, "requested", f"{current.id}->{target.id}")
        yield env.timeout(self.scenario.admin.response.draw(streams.admin))
        split_users = streams.decisions.random() < self.scenario.demand.split_users_share
        decision = "manual" if split_users else None
        seen: list[str] = []
        while decision is None:
            decision = yield from self._attempt(tenant, extras, subscription, current,
                                                target, row, seen)
        row.blockers_met = ";".join(seen)
        if decision == "give_up":
            row.path = "none"
            row.outcome = "abandoned"
            self.finish(row)
        elif decision == "manual":
            row.path = "manual"
            yield from self._manual(tenant, extras, subscription, current, target, row,
                                    split_users)
        else:
            row.path = "automatic"
            yield from self._automatic(tenant, extras, subscription, current, target, row)
        self.release_tenant(index)

    def _attempt(self, tenant: Tenant, extras: TenantExtras, subscription: Subscription,
                 current: Plan, target: Plan, row: ChangeRow, seen: list[str]):
        """One eligibility attempt (R-ELIG-11) and the admin's reaction to its blockers."""
        env = self.env
        admin = self.scenario.admin
        streams = extras.streams
        tenant.open_incidents = self.open_services
        tenant.credit_check_pending = extras.life.pending(env.now)  # R-ELIG-03
        day = self.today()
        self.renew(subscription, day)
        context = _new_tuple(ChangeContext, (tenant, subscription, current, target,
                                             self.catalog))
        blockers = tuple(check(context, self.rules[tenant.billing_account]))
        row.attempts += 1
        for hook in self.hooks.on_attempt:
            hook(row.request_id, day, tenant, subscription, current, target, blockers)
        codes = [rule.code for rule in blockers]
        for code in codes:
            if code not in seen:
                seen.append(code)
        if row.attempts == 1:
            row.first_blockers = ";".join(codes)
        if not blockers:
            self._attempt_row(row, codes, "proceed", 0.0)
            return "automatic"
        actions = [self._choose(code, streams.decisions.random()) for code in codes]
        for final in ("give_up", "manual"):
            if final in actions:
                self._attempt_row(row, codes, final, 0.0)
                return final
        if row.attempts >= admin.max_attempts:
            self._attempt_row(row, codes, admin.after_max_attempts, 0.0)
            return admin.after_max_attempts
        factor = admin.backoff_factor ** (row.attempts - 1)
        delay = max(admin.blockers[code].delay.draw(streams.admin) for code in codes) * factor
        action = "remediate" if "remediate" in actions else "wait"
        self._attempt_row(row, codes, action, delay)
        if self.tracing:
            self.trace(row.request_id, "blocked", f"{';'.join(codes)} -> {action}")
        yield env.timeout(delay)
        for code, chosen in zip(codes, actions, strict=True):
            effect = REMEDIATIONS_BY_CODE[code].effect
            if chosen == "remediate" and effect is not None:
                effect(self, tenant, subscription, row)
                step = "consolidate" if code == "DUPLICATE_PLANS_SAME_PRODUCT" else "remediate"
                for hook in self.hooks.on_step:
                    hook(row.request_id, tenant, step)
        return None

    def _choose(self, code: str, u: float) -> str:
        """The admin's action on one blocker, by the scenario's behaviour for it."""
        behaviour = self.scenario.admin.blockers[code]
        if u < behaviour.remediate:
            return "remediate"
        if u < behaviour.remediate + behaviour.wait:
            return "wait"
        if u < behaviour.remediate + behaviour.wait + behaviour.manual:
            return "manual"
        return "give_up"

    def _attempt_row(self, row: ChangeRow, codes: list[str], action: str, delay: float
                     ) -> None:
        # AttemptRow without its Python-level constructor (a row per attempt: hot).
        self.recorder.add("attempts", _new_tuple(AttemptRow, (
            row.request_id, row.tenant_id, row.billing_account, row.sector, row.attempts,
            self.env.now, self.iso[self.today()], ";".join(codes), len(codes), action,
            delay)))

    # ------------------------------------------------------------ automatic path

    def _options(self, tenant: Tenant, extras: TenantExtras, subscription: Subscription):
        """R-AUTO-02: an MCA admin's choices (schedule, licenses, term); MOSA: R-AUTO-01."""
        demand = self.scenario.demand
        decisions = extras.streams.decisions
        schedule = "now"
        licenses = subscription.licenses
        term, frequency = subscription.term, subscription.billing_frequency
        if tenant.billing_account == "MCA":
            if decisions.random() < demand.mca_renewal_share:
                schedule = "renewal"
            if licenses > 1 and decisions.random() < demand.mca_partial_share:
                licenses = max(1, int(licenses * demand.mca_partial_fraction))
            if decisions.random() < demand.term_change_share:
                options = [c for c in TERM_CHOICES if c != (term, frequency)]
                term, frequency = options[decisions.randrange(len(options))]
        return schedule, licenses, term, frequency

    def _automatic(self, tenant: Tenant, extras: TenantExtras, subscription: Subscription,
                   current: Plan, target: Plan, row: ChangeRow):
        """R-AUTO-01 (MOSA checkout) / R-AUTO-02 (MCA options), then the switch."""
        env = self.env
        schedule, licenses, term, frequency = self._options(tenant, extras, subscription)
        if tenant.billing_account != "MCA":
            # R-AUTO-01: place the order; it finalises within a few minutes.
            yield env.timeout(self.scenario.capacity.mosa_finalisation.draw(
                extras.streams.durations))
        row.schedule = schedule
        day = self.today()
        self.renew(subscription, day)
        outcome = None
        if schedule == "renewal":
            # P-CHG-04: billed at renewal; the switch itself runs on the renewal day.
            outcome = change_outcome(subscription, current, target, day, licenses, term,
                                     frequency, schedule, tenant.billing_account,
                                     self.money(tenant.currency).digits,
                                     self.policy)
            start_at = self.clock.minutes(outcome.effective)
            if start_at >= self.horizon:
                row.outcome = "scheduled"
                row.alignment = outcome.alignment or ""
                self.finish(row)
                return
            subscription.change_in_progress = True  # a scheduled change is in progress
            yield env.timeout(start_at - env.now)
        yield from self._switch(extras, subscription, row, schedule, licenses)
        day = self.today()
        if outcome is None:
            # R-BILL-01: billing switches on the day the change completes.
            self.renew(subscription, day)
            outcome = change_outcome(subscription, current, target, day, licenses, term,
                                     frequency, schedule, tenant.billing_account,
                                     self.money(tenant.currency).digits,
                                     self.policy)
        for hook in self.hooks.on_change_billed:
            hook(row.request_id, day, tenant, subscription, current, target, licenses, term,
                 frequency, schedule, outcome)
        self._complete(tenant, extras, subscription, target, row, outcome, day,
                       (licenses, term, frequency, schedule))

    def _switch(self, extras: TenantExtras, subscription: Subscription, row: ChangeRow,
                schedule: str, licenses: int):
        """R-AUTO-03/04: the locked subscription waits for a worker, then switches."""
        env = self.env
        row.order_at = env.now
        subscription.change_in_progress = True  # R-AUTO-03: the subscription is locked
        if self.tracing:
            self.trace(row.request_id, "order", f"schedule={schedule} licenses={licenses}")
        # An explicit release, not a ``with`` block: at the end of a run, closing each
        # still-queued request's block would remove it from the queue one by one, which
        # is quadratic in the queue length of a saturated fleet.
        claim = self.workers.request()
        self.capacity_row()
        yield claim
        row.started_at = env.now
        self.capacity_row()
        switch = self.scenario.capacity.switch.draw(extras.streams.durations)
        yield env.timeout(switch)  # R-AUTO-04: users keep service meanwhile
        self.workers.release(claim)
        self.capacity_row()
        row.completed_at = env.now
        row.queue_wait_min = row.started_at - row.order_at
        row.switch_min = switch
        row.lead_time_min = env.now - row.requested_at
        row.sla_breach = env.now - row.order_at > self.scenario.capacity.sla_minutes

    def _complete(self, tenant: Tenant, extras: TenantExtras, subscription: Subscription,
                  target: Plan, row: ChangeRow, outcome: Any, day: Any,
                  choice: tuple[int, str, str, str]) -> None:
        """R-AUTO-05..08: users move, billing switches (R-BILL-01), the lock is released."""
        licenses, term, frequency, schedule = choice
        effects = complete_automatic(subscription, target, licenses, term, frequency,
                                     f"{subscription.subscription_id}-p")
        changed = effects.new_subscription or subscription
        if effects.new_subscription is not None:
            tenant.subscriptions.append(effects.new_subscription)
        if not effects.data_kept:  # R-AUTO-08 says never; INV-02 is the monitor's check
            row.data_lost_gb = round(effects.users_moved * extras.data_gb_per_user, 6)
        for hook in self.hooks.on_step:
            hook(row.request_id, tenant, "automatic")
        if outcome.alignment != "keep-cycle":  # P-CHG-03/04: a new term starts
            changed.anchor = outcome.effective
        self.book(tenant, row, outcome, day)
        row.alignment = outcome.alignment or ""
        row.users_moved = effects.users_moved
        row.customisations_lost = effects.customisations_lost
        row.licenses_after = licenses
        if schedule == "renewal":
            row.outcome = "scheduled"
        elif row.attempts > 1:
            row.outcome = "automatic-after-remediation"
        else:
            row.outcome = "automatic"
        row.completed_day = self.iso[day]
        self.completed += 1
        self.finish(row)
