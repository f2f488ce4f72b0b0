"""The engine of a fleet run: SimPy environment, change workers, arrivals, incidents.

It owns *when* things happen and nothing about *what* they do: the change-request
process (:mod:`sim.fleet.request`), the manual path (:mod:`sim.fleet.manual`) and the
ledger (:mod:`sim.fleet.ledger`) are the rooms built on it, and observers
(:mod:`sim.fleet.observe`), among them the invariant monitor (:mod:`sim.fleet.monitor`),
hear what happens.

- arrivals: change requests at the population's pre-drawn minutes (demand profile);
- incidents: per service, Poisson arrivals, lognormal durations (R-ELIG-02);
- provisioning: a subscription still provisioning becomes active (R-ELIG-02);
- each requesting tenant gets its own random streams, keyed by (seed, tenant, purpose)
  (common random numbers), and its credit-check life (:mod:`sim.fleet.life`).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from itertools import repeat
from typing import Any

import numpy as np
import simpy

from ..rules.calendar import term_end
from ..rules.catalog import Catalog
from ..rules.domain import Subscription, Tenant
from ..rules.eligibility import rule_set_for
from ..rules.invoicing import BillingTerms
from ..rules.money import ROUNDING_POLICIES
from .clock import MINUTES_PER_DAY, Clock
from .demand import day_weights
from .life import CreditCheckLife, LifeRates
from .monitor import InvariantMonitor
from .observe import resolve_hooks
from .population import Population, TenantExtras
from .rows import ChangeRow, TraceRow, ViolationRow, change_row_tuple
from .scenario import Duration, Scenario
from .streams import TenantStream, python_stream, tenant_keys, tenant_stream, tenant_uniforms

__all__ = ["FleetEngine", "InvariantViolation", "TenantStreams", "draw"]

ARRIVAL_BATCH = 256  # tenants materialised ahead of their arrival, together
# Draws per stream computed ahead, vectorised, for each arriving tenant. Each tenant in
# flight keeps its batch's array alive: 8 instead of 4 was ~2% faster but cost 37 MiB of
# peak RSS at 1,000,000 tenants (45,000 in flight at the horizon), so 4 it stays.
PREDRAWN = 4
# Purposes whose first draws are computed ahead for a batch of arriving tenants.
BATCHED = ("admin", "durations", "decisions", "life")
# term_end is pure and a fleet has few distinct (anchor, term) pairs: remember them.
_term_end = lru_cache(maxsize=16_384)(term_end)
ONE_DAY = timedelta(days=1)


class InvariantViolation(RuntimeError):
    """Raised in --strict mode at the first invariant violation."""


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


class TenantStreams:
    """A tenant's random streams, one per purpose, keyed by (seed, tenant index, purpose).

    The streams of the :data:`BATCHED` purposes come with their first draws computed
    ahead, vectorised, for the tenant's arrival batch; the others (manual path, credit
    checks of simulated purchases) are made when first used (``__getattr__`` runs only
    for a missing slot).
    """

    __slots__ = ("admin", "credit_checks", "decisions", "durations", "index", "life",
                 "manual", "seed")

    def __init__(self, seed: int, index: int, admin: TenantStream, durations: TenantStream,
                 decisions: TenantStream, life: TenantStream) -> None:
        self.seed = seed
        self.index = index
        self.admin = admin
        self.durations = durations
        self.decisions = decisions
        self.life = life

    def __getattr__(self, purpose: str) -> TenantStream:
        stream = tenant_stream(self.seed, self.index, purpose)
        setattr(self, purpose, stream)
        return stream


def draw(rng: Any, spec: Duration) -> float:
    """One duration in minutes from the scenario's distribution (``spec.draw(rng)``)."""
    return spec.draw(rng)  # type: ignore[attr-defined]


class FleetEngine:
    """One simulated fleet over the scenario's horizon: the clock, workers and arrivals."""

    def __init__(self, scenario: Scenario, catalog: Catalog, population: Population,
                 recorder: Any, digits: int, strict: bool = False,
                 observers: Iterable[Any] = ()) -> None:
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
        self.currency = run.currency  # "local" or one ISO code (issue 12)
        self.price_lists: dict[str, Any] = {}  # currency -> ledger.PriceList, on first use
        self.currencies_seen: set[str] = set()  # currencies of the booked lines
        billing = scenario.billing
        self.policy = ROUNDING_POLICIES[billing.rounding]
        self.terms = BillingTerms(billing.invoice_day, billing.mca_card_days,
                                  billing.mosa_card_days, billing.wire_business_days_domestic,
                                  billing.wire_business_days_international,
                                  billing.credit_invoice_limit_days)
        self.rules = {"MOSA": rule_set_for("MOSA"),
                      "MCA": rule_set_for("MCA", billing.mca_rules)}
        self.seed = run.seed
        self.rng_incidents = {service: python_stream(run.seed, "incidents", n)
                              for n, service in enumerate(sorted(scenario.incidents))}
        self.life_rates = LifeRates(scenario, self.clock, day_weights(scenario))
        self.open_incidents: dict[str, int] = {}
        self.open_services: frozenset[str] = frozenset()
        # Materialised tenants, only while a request of theirs is open (memory at 1M).
        self.tenants: dict[int, tuple[Tenant, TenantExtras]] = {}
        self._open_requests: dict[int, int] = {}
        self.active: dict[str, ChangeRow] = {}
        self.violations = 0
        self.violations_by_rule: dict[str, int] = {}
        self.late_credits = 0  # INV-07 credit lines invoiced > 30 days after the change
        self.requests = 0
        self.completed = 0
        self._event_reads = 0
        self._final_events: int | None = None  # the count at the horizon (_let_go)
        self.monitor = InvariantMonitor(self._violation, catalog, digits, self.policy,
                                        self.terms)
        self.hooks = resolve_hooks((self.monitor, *observers))

    @property
    def events(self) -> int:
        """SimPy events processed so far: scheduled minus still queued (for benchmarks).

        Read from the environment's event-id counter, so counting costs nothing per
        event. Each read takes one id; ids only order events, so that shifts nothing.
        """
        if self._final_events is not None:
            return self._final_events
        scheduled = next(self.env._eid) - self._event_reads
        self._event_reads += 1
        return scheduled - len(self.env._queue)

    def run(self, progress: Any = None, steps: int = 100) -> None:
        """Run to the horizon, calling ``progress(fraction)`` `steps` times on the way."""
        self.env.process(self._arrivals())
        for service in sorted(self.scenario.incidents):
            self.env.process(self._incident(service))
        self.capacity_row()
        for step in range(1, steps + 1):
            self.env.run(until=self.horizon * step / steps)
            if progress is not None:
                progress(step / steps)
        for row in self.active.values():  # still open at the horizon: outcome stays pending
            self.recorder.add("changes", change_row_tuple(row))
        self.active.clear()
        self._let_go()

    def _let_go(self) -> None:
        """The horizon: the processes still open are closed and their objects freed.

        Their rows are recorded already (outcome pending) and nothing of theirs runs
        again: the generators hold no ``finally``, so closing one only drops its frame.
        Each waiting process and its event refer to each other, so without this only a
        full garbage collection frees them: a saturated 10,000,000-tenant fleet ends with
        about 1.8 million requests queued for a worker, and the collections at exit took
        over three minutes after the run (issue 11). :attr:`events` keeps its count.
        """
        self._final_events = self.events
        waiting = [entry[-1] for entry in self.env._queue]
        waiting.extend(self.workers.queue)
        self.env._queue.clear()
        self.workers.queue.clear()
        self.workers.users.clear()
        for event in waiting:
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks or ():
                process = getattr(callback, "__self__", None)
                if isinstance(process, simpy.events.Process):
                    process._generator.close()
                    process._target = None
        self.tenants.clear()
        self._open_requests.clear()

    # ------------------------------------------------------------------ plumbing

    def capacity_row(self) -> None:
        # A plain tuple in CapacityRow's field order: three rows per switch, and a
        # NamedTuple's constructor is a Python call (issue 11).
        workers = self.workers
        self.recorder.add("capacity", (self.env.now, len(workers.queue), len(workers.users)))

    def trace(self, request_id: str, event: str, detail: str = "") -> None:
        self.recorder.add("trace", TraceRow(self.env.now, request_id, event, detail))

    def _violation(self, request_id: str, rule: str, detail: str) -> None:
        self.violations += 1
        self.violations_by_rule[rule] = self.violations_by_rule.get(rule, 0) + 1
        self.recorder.add("violations", ViolationRow(request_id, rule, self.env.now, detail))
        if self.strict:
            raise InvariantViolation(f"{rule} at t={self.env.now:.1f} min, {request_id}: "
                                     f"{detail}")

    def today(self) -> date:
        return self.clock.date(self.env.now)

    def renew(self, subscription: Subscription, day: date) -> None:
        """Renew the subscription up to `day`: its anchor becomes the last renewal.

        P-CAL-02: the anchor is the start or last renewal, and a term ends the day before
        ``add_months(anchor, term)``; the next term is anchored on the following day.
        """
        end = _term_end(subscription.anchor, subscription.term)
        while day > end:
            subscription.anchor = end + ONE_DAY
            end = _term_end(subscription.anchor, subscription.term)

    def finish(self, row: ChangeRow) -> None:
        self.active.pop(row.request_id, None)
        if self.tracing:
            self.trace(row.request_id, "finished", row.outcome)
        for hook in self.hooks.on_request_end:
            hook(row)
        self.recorder.add("changes", change_row_tuple(row))

    def seats_added(self, tenant: Tenant, day: date) -> None:
        """A purchase or seat addition: it may start a credit check (R-ELIG-03)."""
        index = int(tenant.tenant_id[2:])
        known = self.tenants.get(index)
        if known is not None and known[1].life is not None:
            known[1].life.purchase(self.env.now)

    # ---------------------------------------------------------------- processes

    def _arrivals(self):
        """Change requests at their pre-drawn minutes (population demand columns).

        The requesting tenants are materialised a batch of arrivals ahead, so that each
        column is read once per batch rather than once per tenant, and the first draws
        of their streams are computed together, vectorised.
        """
        population = self.population
        columns = population.columns
        minutes = columns["request_minute"]
        requesting = np.flatnonzero(minutes >= 0)  # rows; population.index: their tenants
        # By minute, ties by tenant index (rows are in tenant order).
        order = requesting[np.argsort(minutes[requesting], kind="stable")]
        del requesting
        env = self.env
        for begin in range(0, len(order), ARRIVAL_BATCH):
            batch = order[begin:begin + ARRIVAL_BATCH]
            indices = population.index[batch]
            streams = self._batch_streams(indices)
            for index, minute, target, direction, materialised, tenant_streams in zip(
                    indices.tolist(), minutes[batch].tolist(), columns["target"][batch].tolist(),
                    columns["direction"][batch].tolist(), population.materialise_many(batch),
                    streams, strict=True):
                if minute > env.now:
                    yield env.timeout(minute - env.now)
                env.process(self._change_request(index, materialised, target, direction,
                                                 tenant_streams))

    def _batch_streams(self, batch: np.ndarray) -> list[TenantStreams]:
        """The streams of a batch of tenants, their first draws computed together into
        one float array that the batch's streams share (purpose-major, PREDRAWN each)."""
        seed = self.seed
        keys = [tenant_keys(seed, batch, purpose) for purpose in BATCHED]
        ahead = array("d", tenant_uniforms(np.concatenate(keys), PREDRAWN).tobytes())
        size = len(batch) * PREDRAWN
        columns = [map(TenantStream, purpose_keys.tolist(), repeat(ahead),
                       range(p * size, (p + 1) * size, PREDRAWN), repeat(PREDRAWN))
                   for p, purpose_keys in enumerate(keys)]  # the order of TenantStreams'
        return list(map(TenantStreams, repeat(seed), batch.tolist(), *columns))

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
            env.process(self._incident_window(service, draw(rng, spec.duration)))

    def _incident_window(self, service: str, duration: float):
        self._set_incident(service, +1)
        yield self.env.timeout(duration)
        self._set_incident(service, -1)

    def _set_incident(self, service: str, delta: int) -> None:
        count = self.open_incidents.get(service, 0) + delta
        self.open_incidents[service] = count
        self.open_services = frozenset(s for s, n in self.open_incidents.items() if n > 0)

    def _provisioning(self, subscription: Subscription, minutes: float):
        """R-ELIG-02: provisioning completes after a while; the subscription is active."""
        yield self.env.timeout(minutes)
        subscription.provisioned = True
        if subscription.status == "provisioning":
            subscription.status = "active"

    def tenant(self, index: int, materialised: tuple[Tenant, TenantExtras],
               streams: TenantStreams) -> tuple[Tenant, TenantExtras]:
        """The tenant's objects: those of its open requests, else `materialised` (fresh)."""
        known = self.tenants.get(index)
        if known is not None:
            self._open_requests[index] += 1
            return known
        tenant, extras = materialised
        extras.streams = streams
        extras.life = CreditCheckLife(self.life_rates, streams, tenant.country, self.env.now)
        self.tenants[index] = materialised
        self._open_requests[index] = 1
        if extras.provisioning_minutes > 0:
            self.env.process(self._provisioning(tenant.subscriptions[0],
                                                extras.provisioning_minutes))
        return tenant, extras

    def release_tenant(self, index: int) -> None:
        """Forget a tenant whose last open request ended (running processes keep theirs)."""
        left = self._open_requests[index] - 1
        if left:
            self._open_requests[index] = left
        else:
            del self._open_requests[index]
            del self.tenants[index]
