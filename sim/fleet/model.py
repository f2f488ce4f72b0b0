"""The discrete-event fleet model: SimPy processes enacting RULES.md (issue 3, part 3).

Processes, each citing the rules it enacts:

- ``_arrivals``: change requests arrive at pre-drawn times (demand profile).
- ``_change_request``: one request from arrival to outcome. The eligibility check
  (R-ELIG-01..12) reads the tenant's state *at that simulated moment*; the admin's
  reaction to each blocker (remediate, wait and retry, go manual, give up) follows the
  scenario; the automatic change (R-AUTO-01..08) runs on the capacity-limited
  ``workers`` resource with the subscription locked (R-AUTO-03); the manual change
  (R-MAN-01..08) goes through its four steps and traps.
- ``_incident``: service incidents open and close per service (R-ELIG-02).
- ``_credit_check``: a pending credit check clears after business days (R-ELIG-03).
- ``_provisioning``: a not fully provisioned subscription becomes active (R-ELIG-02).

The rules layer (:mod:`sim.rules.eligibility`, :mod:`sim.rules.billing`, :mod:`sim.rules.flows`,
:mod:`sim.rules.invoicing`) decides every step; this module only decides *when*. Records go
to a recorder (observer); invariants INV-01..06 are checked as the run goes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import simpy

from ..rules.billing import (
    BillingOutcome,
    Line,
    add_seats_outcome,
    cancel_outcome,
    change_outcome,
    full_charge,
    purchase_outcome,
    reduce_outcome,
)
from ..rules.calendar import (
    BILLING_FREQUENCY_MONTHS,
    add_business_days,
    add_months,
    term_end,
)
from ..rules.catalog import Catalog, Plan
from ..rules.domain import Subscription, Tenant
from ..rules.eligibility import ChangeContext, check, rule_set_for
from ..rules.flows import (
    check_manual_purchase,
    complete_automatic,
    data_services_at_risk,
    move_users_manually,
    old_subscription_action,
)
from ..rules.invoicing import BillingTerms, cash_date, invoice_date, late_credit
from ..rules.money import ROUNDING_POLICIES, prorate
from .clock import MINUTES_PER_DAY, Clock
from .population import DIRECTIONS, Population, TenantExtras
from .scenario import Lognormal, Scenario
from .streams import python_stream

__all__ = ["FleetModel", "InvariantViolation"]

TERM_CHOICES = (("P1M", "monthly"), ("P1Y", "monthly"), ("P1Y", "annual"),
                ("P3Y", "annual"), ("P3Y", "triennial"))
MAX_MANUAL_CHECKS = 20
ARRIVAL_BATCH = 256  # tenants materialised ahead of their arrival, together
# term_end is pure and a fleet has few distinct (anchor, term) pairs: remember them.
_term_end = lru_cache(maxsize=16_384)(term_end)
ONE_DAY = timedelta(days=1)


class _IsoDates(dict):
    """ISO text of dates, each formatted once (records carry several dates per row)."""

    def __missing__(self, day: date) -> str:
        text = self[day] = day.isoformat()
        return text


class _FifoQueue(deque):
    """A SimPy put queue as a deque: granting the head request is O(1), not O(queue)."""

    def pop(self, index: int = -1) -> Any:
        if index == 0:
            return self.popleft()
        if index == -1:
            return super().pop()
        value = self[index]
        del self[index]
        return value


class _Workers(simpy.Resource):
    """The change workers (R-AUTO-03): a SimPy resource whose queue may grow long."""

    PutQueue = _FifoQueue


class InvariantViolation(RuntimeError):
    """Raised in --strict mode at the first invariant violation."""


@dataclass(slots=True)
class ChangeRow:
    """The record of one change request, filled in as it goes (one row per request)."""

    request_id: str
    tenant_id: str
    billing_account: str
    sector: str
    country: str
    payment_method: str
    subscription_id: str
    current_plan: str
    target_plan: str
    direction: str
    requested_at: float
    requested_day: str
    licenses_before: int
    path: str = ""
    outcome: str = "pending"
    schedule: str = ""
    alignment: str = ""
    attempts: int = 0
    blockers_met: str = ""
    first_blockers: str = ""
    order_at: float | None = None
    started_at: float | None = None
    completed_at: float | None = None
    completed_day: str = ""
    queue_wait_min: float | None = None
    switch_min: float | None = None
    lead_time_min: float | None = None
    sla_breach: bool = False
    licenses_after: int | None = None
    users_moved: int = 0
    credit: int = 0
    charge: int = 0
    overlap_cost: int = 0
    overlap_days: int = 0
    customisations_lost: int = 0
    data_at_risk_gb: float = 0.0
    data_lost_gb: float = 0.0
    wrong_domain: bool = False
    too_few_licenses: bool = False
    inactive_new_subscription: bool = False
    backup_made: bool = False
    late_credit: bool = False
    wire_international: bool = False  # not recorded: how the tenant's cash moves (_book)

    def as_tuple(self) -> tuple:
        return (
            self.request_id, self.tenant_id, self.billing_account, self.sector, self.country,
            self.payment_method, self.subscription_id, self.current_plan, self.target_plan,
            self.direction, self.path, self.outcome, self.schedule, self.alignment,
            self.attempts, self.blockers_met, self.first_blockers, self.requested_at,
            self.order_at, self.started_at, self.completed_at, self.requested_day,
            self.completed_day, self.queue_wait_min, self.switch_min, self.lead_time_min,
            self.sla_breach, self.licenses_before, self.licenses_after, self.users_moved,
            self.credit, self.charge, self.credit + self.charge, self.overlap_cost,
            self.overlap_days, self.customisations_lost, round(self.data_at_risk_gb, 6),
            round(self.data_lost_gb, 6), self.wrong_domain, self.too_few_licenses,
            self.inactive_new_subscription, self.backup_made, self.late_credit,
        )


def _draw(rng: Any, spec: Lognormal) -> float:
    """One lognormal duration in minutes, capped where the scenario says so."""
    value = rng.lognormvariate(math.log(spec.median), spec.sigma) if spec.median > 0 else 0.0
    return min(value, spec.cap) if spec.cap > 0 else value


class FleetModel:
    """One simulated fleet over the scenario's horizon."""

    def __init__(self, scenario: Scenario, catalog: Catalog, population: Population,
                 recorder: Any, digits: int, strict: bool = False) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.population = population
        self.recorder = recorder
        self.digits = digits
        self.strict = strict
        self.tracing = bool(getattr(recorder, "trace_enabled", False))
        run = scenario.run
        self.env = simpy.Environment()
        self.clock = Clock(run.start, run.horizon_days)
        self.iso = _IsoDates()
        self.horizon = float(run.horizon_days * MINUTES_PER_DAY)
        self.workers = _Workers(self.env, capacity=scenario.capacity.workers)
        self.currency = run.currency
        billing = scenario.billing
        self.policy = ROUNDING_POLICIES[billing.rounding]
        self.terms = BillingTerms(billing.invoice_day, billing.mca_card_days,
                                  billing.mosa_card_days, billing.wire_business_days_domestic,
                                  billing.wire_business_days_international,
                                  billing.credit_invoice_limit_days)
        self.rules = {"MOSA": rule_set_for("MOSA"),
                      "MCA": rule_set_for("MCA", billing.mca_rules)}
        seed = run.seed
        self.rng_admin = python_stream(seed, "admin")
        self.rng_durations = python_stream(seed, "durations")
        self.rng_decisions = python_stream(seed, "decisions")
        self.rng_manual = python_stream(seed, "manual")
        self.rng_credit = python_stream(seed, "credit_checks")
        self.rng_incidents = {service: python_stream(seed, "incidents", n)
                              for n, service in enumerate(sorted(scenario.incidents))}
        self.open_incidents: dict[str, int] = {}
        self.open_services: frozenset[str] = frozenset()
        # Materialised tenants, only while a request of theirs is open (memory at 1M).
        self.tenants: dict[int, tuple[Tenant, TenantExtras]] = {}
        self._open_requests: dict[int, int] = {}
        self.active: dict[str, ChangeRow] = {}
        self.violations = 0
        self.violations_by_rule: dict[str, int] = {}
        self.late_credits = 0  # P-TIME-03 credit lines invoiced > 30 days after the change
        self.requests = 0
        self.completed = 0
        self._event_reads = 0

    @property
    def events(self) -> int:
        """SimPy events processed so far: scheduled minus still queued (for benchmarks).

        Read from the environment's event-id counter, so counting costs nothing per
        event. Each read takes one id; ids only order events, so that shifts nothing.
        """
        scheduled = next(self.env._eid) - self._event_reads
        self._event_reads += 1
        return scheduled - len(self.env._queue)

    # ------------------------------------------------------------------ plumbing

    def run(self, progress: Any = None, steps: int = 100) -> None:
        """Run to the horizon, calling ``progress(fraction)`` `steps` times on the way."""
        self.env.process(self._arrivals())
        for service in sorted(self.scenario.incidents):
            self.env.process(self._incident(service))
        self._capacity()
        for step in range(1, steps + 1):
            self.env.run(until=self.horizon * step / steps)
            if progress is not None:
                progress(step / steps)
        for row in self.active.values():  # still open at the horizon: outcome stays pending
            self.recorder.add("changes", row.as_tuple())
        self.active.clear()

    def _capacity(self) -> None:
        self.recorder.add("capacity", (self.env.now, len(self.workers.queue),
                                       self.workers.count))

    def _trace(self, request_id: str, event: str, detail: str = "") -> None:
        self.recorder.add("trace", (self.env.now, request_id, event, detail))

    def _violation(self, request_id: str, rule: str, detail: str) -> None:
        self.violations += 1
        self.violations_by_rule[rule] = self.violations_by_rule.get(rule, 0) + 1
        self.recorder.add("violations", (request_id, rule, self.env.now, detail))
        if self.strict:
            raise InvariantViolation(f"{rule} at t={self.env.now:.1f} min, {request_id}: "
                                     f"{detail}")

    def _today(self) -> date:
        return self.clock.date(self.env.now)

    def _renew(self, subscription: Subscription, day: date) -> None:
        """Renew the subscription up to `day`: its anchor becomes the last renewal.

        P-CAL-02: the anchor is the start or last renewal, and a term ends the day before
        ``add_months(anchor, term)``; the next term is anchored on the following day.
        """
        end = _term_end(subscription.anchor, subscription.term)
        while day > end:
            subscription.anchor = end + ONE_DAY
            end = _term_end(subscription.anchor, subscription.term)

    # ---------------------------------------------------------------- processes

    def _arrivals(self):
        """Change requests at their pre-drawn minutes (population demand columns).

        The requesting tenants are materialised a batch of arrivals ahead, so that each
        column is read once per batch rather than once per tenant.
        """
        population = self.population
        columns = population.columns
        minutes = columns["request_minute"]
        requesting = np.flatnonzero(minutes >= 0)
        order = requesting[np.argsort(minutes[requesting], kind="stable")]
        env = self.env
        for begin in range(0, len(order), ARRIVAL_BATCH):
            batch = order[begin:begin + ARRIVAL_BATCH]
            for index, minute, target, direction, materialised in zip(
                    batch.tolist(), minutes[batch].tolist(), columns["target"][batch].tolist(),
                    columns["direction"][batch].tolist(), population.materialise_many(batch),
                    strict=True):
                if minute > env.now:
                    yield env.timeout(minute - env.now)
                env.process(self._change_request(index, materialised, target, direction))

    def _incident(self, service: str):
        """R-ELIG-02: incidents of one service, Poisson arrivals, lognormal durations."""
        spec = self.scenario.incidents[service]
        if spec.rate_per_year <= 0:
            return
        rng = self.rng_incidents[service]
        mean_gap = 365.0 * MINUTES_PER_DAY / spec.rate_per_year
        env = self.env
        while True:
            yield env.timeout(rng.expovariate(1.0 / mean_gap))
            env.process(self._incident_window(service, _draw(rng, spec.duration)))

    def _incident_window(self, service: str, duration: float):
        self._set_incident(service, +1)
        yield self.env.timeout(duration)
        self._set_incident(service, -1)

    def _set_incident(self, service: str, delta: int) -> None:
        count = self.open_incidents.get(service, 0) + delta
        self.open_incidents[service] = count
        self.open_services = frozenset(s for s, n in self.open_incidents.items() if n > 0)

    def _credit_check(self, tenant: Tenant):
        """R-ELIG-03: a credit check stays pending for up to N business days (P-CAL-06)."""
        tenant.credit_check_pending = True
        days = self.rng_credit.randint(1, self.scenario.credit_checks.max_business_days)
        today = self._today()
        done = add_business_days(today, days, tenant.country)
        wait = self.clock.minutes(done) + (self.env.now % MINUTES_PER_DAY) - self.env.now
        yield self.env.timeout(max(wait, 0.0))
        tenant.credit_check_pending = False

    def _provisioning(self, subscription: Subscription, minutes: float):
        """R-ELIG-02: provisioning completes after a while; the subscription is active."""
        yield self.env.timeout(minutes)
        subscription.provisioned = True
        if subscription.status == "provisioning":
            subscription.status = "active"

    def _tenant(self, index: int, materialised: tuple[Tenant, TenantExtras]
                ) -> tuple[Tenant, TenantExtras]:
        """The tenant's objects: those of its open requests, else `materialised` (fresh)."""
        known = self.tenants.get(index)
        if known is not None:
            self._open_requests[index] += 1
            return known
        tenant, extras = materialised
        self.tenants[index] = materialised
        self._open_requests[index] = 1
        if extras.provisioning_minutes > 0:
            self.env.process(self._provisioning(tenant.subscriptions[0],
                                                extras.provisioning_minutes))
        if tenant.credit_check_pending:
            self.env.process(self._credit_check(tenant))
        return tenant, extras

    def _release_tenant(self, index: int) -> None:
        """Forget a tenant whose last open request ended (running processes keep theirs)."""
        left = self._open_requests[index] - 1
        if left:
            self._open_requests[index] = left
        else:
            del self._open_requests[index]
            del self.tenants[index]

    # ---------------------------------------------------------- a change request

    def _change_request(self, index: int, materialised: tuple[Tenant, TenantExtras],
                        target: int, direction: int):
        tenant, extras = self._tenant(index, materialised)
        yield from self._request(index, tenant, extras, target, direction)
        self._release_tenant(index)

    def _request(self, index: int, tenant: Tenant, extras: TenantExtras, target_code: int,
                 direction: int):
        env = self.env
        subscription = tenant.subscriptions[0]
        plans = self.catalog.plans
        current = plans[subscription.plan]
        target = plans[self.population.plan_ids[target_code]]
        self.requests += 1
        request_id = f"r-{index:07d}"
        row = ChangeRow(
            request_id, tenant.tenant_id, tenant.billing_account, current.sector,
            tenant.country, tenant.payment_method, subscription.subscription_id, current.id,
            target.id, DIRECTIONS[direction], env.now,
            self.iso[self._today()], subscription.licenses)
        row.wire_international = extras.wire_international
        self.active[request_id] = row
        if self.tracing:
            self._trace(request_id, "requested", f"{current.id}->{target.id}")
        yield env.timeout(_draw(self.rng_admin, self.scenario.admin.response))

        # R-PATH-03: a manual change when users are to end on different plans (R-PATH-01),
        # or (in _attempt) when the admin meets a blocker and changes manually instead.
        split_users = self.rng_decisions.random() < self.scenario.demand.split_users_share
        decision = "manual" if split_users else None
        seen: list[str] = []
        while decision is None:
            decision = yield from self._attempt(tenant, subscription, current, target, row,
                                                seen)
        row.blockers_met = ";".join(seen)
        if decision == "give_up":
            row.path = "none"
            row.outcome = "abandoned"
            self._finish(row)
        elif decision == "manual":
            row.path = "manual"
            yield from self._manual(tenant, extras, subscription, current, target, row,
                                    split_users)
        else:
            row.path = "automatic"
            yield from self._automatic(tenant, subscription, current, target, row)

    def _attempt(self, tenant: Tenant, subscription: Subscription, current: Plan,
                 target: Plan, row: ChangeRow, seen: list[str]):
        """One eligibility attempt (R-ELIG-11) and the admin's reaction to its blockers."""
        env = self.env
        admin = self.scenario.admin
        tenant.open_incidents = self.open_services
        self._renew(subscription, self._today())
        blockers = check(ChangeContext(tenant, subscription, current, target, self.catalog),
                         self.rules[tenant.billing_account])
        row.attempts += 1
        codes = [rule.code for rule in blockers]
        for code in codes:
            if code not in seen:
                seen.append(code)
        if row.attempts == 1:
            row.first_blockers = ";".join(codes)
        if not blockers:
            self._attempt_row(tenant, row, codes, "proceed", 0.0)
            return "automatic"
        behaviours = admin.blockers
        actions = []
        for code in codes:
            behaviour = behaviours[code]
            u = self.rng_decisions.random()
            if u < behaviour.remediate:
                actions.append("remediate")
            elif u < behaviour.remediate + behaviour.wait:
                actions.append("wait")
            elif u < behaviour.remediate + behaviour.wait + behaviour.manual:
                actions.append("manual")
            else:
                actions.append("give_up")
        if "give_up" in actions:
            self._attempt_row(tenant, row, codes, "give_up", 0.0)
            return "give_up"
        if "manual" in actions:
            self._attempt_row(tenant, row, codes, "manual", 0.0)
            return "manual"
        if row.attempts >= admin.max_attempts:
            self._attempt_row(tenant, row, codes, admin.after_max_attempts, 0.0)
            return admin.after_max_attempts
        factor = admin.backoff_factor ** (row.attempts - 1)
        delay = max(_draw(self.rng_admin, behaviours[code].delay) for code in codes) * factor
        action = "remediate" if "remediate" in actions else "wait"
        self._attempt_row(tenant, row, codes, action, delay)
        if self.tracing:
            self._trace(row.request_id, "blocked", f"{';'.join(codes)} -> {action}")
        yield env.timeout(delay)
        for code, chosen in zip(codes, actions, strict=True):
            if chosen == "remediate":
                self._remediate(code, tenant, subscription, row)
        return None

    def _attempt_row(self, tenant: Tenant, row: ChangeRow, codes: list[str], action: str,
                     delay: float) -> None:
        self.recorder.add("attempts", (
            row.request_id, row.tenant_id, row.billing_account, row.sector, row.attempts,
            self.env.now, self.iso[self._today()], ";".join(codes), len(codes), action,
            delay))

    def _remediate(self, code: str, tenant: Tenant, subscription: Subscription,
                   row: ChangeRow) -> None:
        """The resolution column of RULES.md section 3, applied to the tenant's state."""
        if code == "USERS_EXCEED_LICENSES":  # R-ELIG-01: unassign licenses
            subscription.assigned = subscription.licenses
            subscription.customised_users = min(subscription.customised_users,
                                                subscription.assigned)
        elif code == "ADDON_BLOCKS_CHANGE":  # R-ELIG-08: remove the add-on
            subscription.add_ons = [a for a in subscription.add_ons if not a.blocks_change]
        elif code == "UNPAID_INVOICE_BALANCE":  # R-ELIG-09: pay the balance
            tenant.unpaid_balance = 0
        elif code == "OTHER":  # R-ELIG-10: support resolves it
            subscription.other_problem = False
            if subscription.status in ("disabled", "expired", "suspended"):
                subscription.status = "active"
        elif code == "DUPLICATE_PLANS_SAME_PRODUCT":  # R-ELIG-05: consolidate
            self._consolidate(tenant, subscription, row)

    def _consolidate(self, tenant: Tenant, keep: Subscription, row: ChangeRow) -> None:
        """R-ELIG-05: move all users to one subscription and cancel the unused one."""
        product = self.catalog.plans[keep.plan].product
        day = self._today()
        for other in [s for s in tenant.subscriptions if s is not keep
                      and self.catalog.plans[s.plan].product == product]:
            free = keep.licenses - keep.assigned
            needed = max(other.assigned - free, 0)
            plan = self.catalog.plans[keep.plan]
            self._renew(keep, day)
            if needed:
                self._book(tenant, row, add_seats_outcome(keep, plan, day, needed, self.digits,
                                                          self.policy), day)
                keep.licenses += needed
            keep.assigned += other.assigned
            other.assigned = 0
            self._renew(other, day)
            outcome = cancel_outcome(other, self.catalog.plans[other.plan], day,
                                     tenant.billing_account, self.digits, self.policy,
                                     self.scenario.billing.mca_window_days,
                                     self.scenario.billing.mca_full_refund_days,
                                     self.scenario.billing.mosa_cancel_limit)
            self._book(tenant, row, outcome, day)
            row.overlap_cost += outcome.overlap_cost
            tenant.subscriptions.remove(other)

    # ------------------------------------------------------------ automatic path

    def _automatic(self, tenant: Tenant, subscription: Subscription, current: Plan,
                   target: Plan, row: ChangeRow):
        """R-AUTO-01 (MOSA checkout) / R-AUTO-02 (MCA options), then the switch."""
        env = self.env
        demand = self.scenario.demand
        decisions = self.rng_decisions
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
        else:
            # R-AUTO-01: place the order; it finalises within a few minutes.
            yield env.timeout(_draw(self.rng_durations, self.scenario.capacity.mosa_finalisation))
        row.schedule = schedule
        day = self._today()
        self._renew(subscription, day)
        outcome = None
        if schedule == "renewal":
            # P-CHG-04: billed at renewal; the switch itself runs on the renewal day.
            outcome = change_outcome(subscription, current, target, day, licenses, term,
                                     frequency, schedule, tenant.billing_account, self.digits,
                                     self.policy)
            start_at = self.clock.minutes(outcome.effective)
            if start_at >= self.horizon:
                row.outcome = "scheduled"
                row.alignment = outcome.alignment or ""
                self._finish(row)
                return
            subscription.change_in_progress = True  # a scheduled change is in progress
            yield env.timeout(start_at - env.now)
        row.order_at = env.now
        subscription.change_in_progress = True  # R-AUTO-03: the subscription is locked
        if self.tracing:
            self._trace(row.request_id, "order", f"schedule={schedule} licenses={licenses}")
        # An explicit release, not a ``with`` block: at the end of a run, closing each
        # still-queued request's block would remove it from the queue one by one, which
        # is quadratic in the queue length of a saturated fleet.
        claim = self.workers.request()
        self._capacity()
        yield claim
        row.started_at = env.now
        self._capacity()
        switch = _draw(self.rng_durations, self.scenario.capacity.switch)
        yield env.timeout(switch)  # R-AUTO-04: users keep service meanwhile
        self.workers.release(claim)
        self._capacity()
        row.completed_at = env.now
        row.queue_wait_min = row.started_at - row.order_at
        row.switch_min = switch
        row.lead_time_min = env.now - row.requested_at
        row.sla_breach = env.now - row.order_at > self.scenario.capacity.sla_minutes
        day = self._today()
        if outcome is None:
            # R-BILL-01: billing switches on the day the change completes.
            self._renew(subscription, day)
            outcome = change_outcome(subscription, current, target, day, licenses, term,
                                     frequency, schedule, tenant.billing_account, self.digits,
                                     self.policy)
        self._check_automatic_billing(row, subscription, current, outcome)
        old_id = subscription.subscription_id
        effects = complete_automatic(subscription, target, licenses, term, frequency,
                                     f"{old_id}-p")
        if effects.newly_unlicensed:
            self._violation(row.request_id, "INV-01",
                            f"{effects.newly_unlicensed} users left without a license")
        if not effects.data_kept:
            self._violation(row.request_id, "INV-02", "an automatic change lost data")
        changed = effects.new_subscription or subscription
        if effects.new_subscription is not None:
            tenant.subscriptions.append(effects.new_subscription)
        if outcome.alignment != "keep-cycle":  # P-CHG-03/04: a new term starts
            changed.anchor = outcome.effective
        self._book(tenant, row, outcome, day)
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
        self._finish(row)

    def _check_automatic_billing(self, row: ChangeRow, subscription: Subscription,
                                 current: Plan, outcome: BillingOutcome) -> None:
        """INV-03 and INV-04 on the lines of an automatic change."""
        credits = [line for line in outcome.lines if line.type == "credit"]
        charges = [line for line in outcome.lines if line.type == "charge"]
        if outcome.alignment == "scheduled":
            renewal_eve = outcome.effective - timedelta(days=1)
            ok = not credits and len(charges) == 1 and charges[0].start == outcome.effective \
                and renewal_eve == _term_end(subscription.anchor, subscription.term)
        else:
            ok = (len(credits) == 1 and credits[0].start == outcome.effective
                  and len(charges) == 1 and charges[0].start == outcome.effective)
        if not ok:
            self._violation(row.request_id, "INV-03",
                            "old billing does not end the day before the new one starts")
        months = BILLING_FREQUENCY_MONTHS[subscription.billing_frequency]
        price = current.price(subscription.term)
        for line in credits:
            paid = full_charge(price, months, line.quantity, self.digits, self.policy)
            if -line.amount > paid:
                self._violation(row.request_id, "INV-04",
                                f"credit {-line.amount} exceeds the {paid} paid for the cycle")

    # --------------------------------------------------------------- manual path

    def _manual(self, tenant: Tenant, extras: TenantExtras, old: Subscription, current: Plan,
                target: Plan, row: ChangeRow, split_users: bool):
        """R-MAN-01..08: buy, check, move, cancel (with the traps of each step)."""
        env = self.env
        manual = self.scenario.manual
        rng = self.rng_manual
        self._renew(old, self._today())
        users = old.assigned
        if split_users and users > 1:
            users = max(1, int(users * self.scenario.demand.mca_partial_fraction))
        at_risk = data_services_at_risk(current, target)
        if at_risk:  # R-MAN-02: share of the user's data held in the services at risk
            share = len(at_risk) / max(len(current.data_services), 1)
            row.data_at_risk_gb = users * extras.data_gb_per_user * share
        # Step 1: buy the new subscription (R-MAN-03: possibly for the wrong domain).
        yield env.timeout(_draw(rng, manual.buy))
        wrong = rng.random() < manual.wrong_domain
        inactive = rng.random() < manual.inactive_new_subscription
        too_few = rng.random() < manual.too_few_licenses and users > 1
        bought = users - max(1, users // 5) if too_few else users
        new = Subscription(f"{old.subscription_id}-m", target.id,
                           f"other-{tenant.domain}" if wrong else tenant.domain, bought, 0,
                           old.term, old.billing_frequency, self._today(),
                           status="provisioning" if inactive else "active")
        row.wrong_domain, row.inactive_new_subscription = wrong, inactive
        row.too_few_licenses = too_few
        if rng.random() < self.scenario.credit_checks.after_purchase \
                and not tenant.credit_check_pending:
            env.process(self._credit_check(tenant))
        # Step 2: both listed and active, enough licenses (R-MAN-03/04/05).
        extra_seats: list[tuple[date, int]] = []
        for _ in range(MAX_MANUAL_CHECKS):
            verdict = check_manual_purchase(tenant, new, old, users)
            if verdict.ok:
                break
            if self.tracing:
                self._trace(row.request_id, "manual-check", verdict.reason or "")
            if verdict.reason == "R-MAN-03":
                yield env.timeout(_draw(rng, manual.wrong_domain_fix))
                new.domain = tenant.domain  # bought again for the right organisation
                new.anchor = self._today()
            elif verdict.reason == "R-MAN-04":
                yield env.timeout(_draw(rng, manual.activation))
                new.status = "active"
                if old.status != "active":
                    old.status, old.provisioned = "active", True
            else:  # R-MAN-05: buy the missing licenses
                yield env.timeout(_draw(rng, manual.buy_more))
                extra_seats.append((self._today(), users - (new.licenses - new.assigned)))
                new.licenses = new.assigned + users
        else:
            row.outcome = "abandoned"
            self._finish(row)
            return
        # Back up before a downgrade, or lose that data (R-MAN-02, INV-02).
        if at_risk:
            if rng.random() < manual.backup_before_downgrade:
                row.backup_made = True
                yield env.timeout(users * manual.backup_minutes_per_user)
            else:
                row.data_lost_gb = row.data_at_risk_gb
        # Step 3: move the users (customisations are set up anew: counted as lost).
        yield env.timeout(users * manual.move_minutes_per_user)
        moved_day = self._today()
        old_held = old.assigned <= old.licenses  # INV-06 is checked where it held before
        row.customisations_lost = move_users_manually(old, new, users)
        row.users_moved = users
        for subscription, held in ((old, old_held), (new, True)):
            if held and subscription.assigned > subscription.licenses:
                self._violation(row.request_id, "INV-06",
                                f"{subscription.subscription_id}: assigned "
                                f"{subscription.assigned} > {subscription.licenses}")
        if row.data_lost_gb and row.backup_made:
            self._violation(row.request_id, "INV-02", "data lost although backed up")
        # Step 4: cancel the old subscription or remove its unneeded licenses (R-MAN-06/08).
        yield env.timeout(_draw(rng, manual.cancel_delay))
        day = self._today()
        self._renew(old, day)
        actions = old_subscription_action(old, tenant.billing_account, old.assigned,
                                          self.scenario.billing.mosa_cancel_limit)
        if actions[0] == "reduce-to-limit":  # P-CHG-06: one more admin step first
            yield env.timeout(_draw(rng, manual.buy))
            day = self._today()
            self._renew(old, day)
        billing = self.scenario.billing
        self._book(tenant, row, purchase_outcome(new, target, self.digits, self.policy),
                   new.anchor)
        for seat_day, added in extra_seats:
            self._book(tenant, row, add_seats_outcome(new, target, seat_day, added,
                                                      self.digits, self.policy), seat_day)
        if actions[-1] == "cancel":
            outcome = cancel_outcome(old, current, day, tenant.billing_account, self.digits,
                                     self.policy, billing.mca_window_days,
                                     billing.mca_full_refund_days, billing.mosa_cancel_limit)
            tenant.subscriptions.remove(old)
        elif old.assigned < old.licenses:
            outcome = reduce_outcome(old, current, day, max(old.assigned, 1),
                                     tenant.billing_account, self.digits, self.policy,
                                     billing.mca_window_days)
            if outcome.lines:
                old.licenses = max(old.assigned, 1)
        else:
            outcome = BillingOutcome(None, day, (), 0)
        self._book(tenant, row, outcome, day)
        # R-MAN-06: the moved users' old licenses were billed from the purchase to step 4.
        row.overlap_days = (day - new.anchor).days
        months = BILLING_FREQUENCY_MONTHS[old.billing_frequency]
        cycle_days = (add_months(moved_day, months) - moved_day).days
        double_billed = min(row.overlap_days, cycle_days)
        if double_billed > 0:
            row.overlap_cost += prorate(current.price(old.term), months, users, double_billed,
                                        cycle_days, self.digits, self.policy)
        row.overlap_cost += outcome.overlap_cost
        tenant.subscriptions.append(new)
        row.completed_at = env.now
        row.completed_day = self.iso[day]
        row.lead_time_min = env.now - row.requested_at
        row.licenses_after = new.licenses
        row.outcome = "manual"
        self.completed += 1
        self._finish(row)

    # ------------------------------------------------------------------ booking

    def _book(self, tenant: Tenant, row: ChangeRow, outcome: BillingOutcome, changed_on: date
              ) -> None:
        """Ledger rows for `outcome`'s lines with invoice and cash dates (P-TIME-01..04)."""
        account = tenant.billing_account
        international = row.wire_international
        total = 0
        for line in outcome.lines:
            invoiced = invoice_date(line, account, self.terms)
            late = late_credit(line, invoiced, changed_on, self.terms)
            if late:  # P-TIME-03: reported, never hidden (not an invariant: no --strict stop)
                row.late_credit = True
                self.late_credits += 1
            self._ledger(tenant, row, line, invoiced, late, changed_on, international)
            if line.amount < 0:
                row.credit += line.amount
            else:
                row.charge += line.amount
            total += line.amount
        if total != outcome.net:  # INV-05
            self._violation(row.request_id, "INV-05", f"lines sum {total} != net {outcome.net}")

    def _ledger(self, tenant: Tenant, row: ChangeRow, line: Line, invoiced: date, late: bool,
                changed_on: date, international: bool) -> None:
        cash = cash_date(line, invoiced, tenant.billing_account, tenant.payment_method,
                         tenant.country, international, self.terms)
        iso = self.iso
        self.recorder.add("ledger", (
            row.request_id, row.tenant_id, tenant.billing_account, tenant.payment_method,
            line.subscription_id, line.plan, line.type, line.rule, iso[line.start],
            iso[line.end], line.billing_days, line.cycle_days, line.quantity,
            line.amount, self.currency, self.policy.name, iso[changed_on],
            iso[invoiced], iso[cash], late, line.unit_price, line.months))

    def _finish(self, row: ChangeRow) -> None:
        self.active.pop(row.request_id, None)
        if self.tracing:
            self._trace(row.request_id, "finished", row.outcome)
        self.recorder.add("changes", row.as_tuple())

