"""Synthetic tenant fleet: reproducible from the scenario and seed (issue 3, part 2).

The population is generated column-wise with numpy, in fixed blocks of tenants, each
block with its own random stream and always drawn whole: tenant ``i`` is the same
whatever the fleet size.
Columns are compact arrays (a million tenants take tens of MB); a tenant becomes a
:class:`sim.rules.domain.Tenant` object only when it requests a change
(:meth:`Population.materialise`). A large fleet is drawn in chunks of blocks
(:func:`population_chunks`): each chunk's records are written and only its requesting
tenants kept (:meth:`Population.requesting`), so the fleet is never held whole (issue
11). Company names come from a pool drawn once per seed (:mod:`sim.fleet.names`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from ..rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS
from ..rules.catalog import Catalog
from ..rules.domain import AddOnRef, Subscription, Tenant
from .demand import arrival_cdf as _arrival_cdf
from .demand import targets_by_direction as _targets_by_direction
from .names import name_pool as _name_pool
from .scenario import Scenario
from .streams import numpy_stream

__all__ = ["CHUNK", "DIRECTIONS", "Population", "TenantExtras", "generate_population", "join",
           "population_chunks"]

CHUNK = 65_536  # rows per record chunk
BLOCK = 16_384  # tenants drawn together, each block from its own keyed stream
DIRECTIONS = ("upgrade", "lateral", "downgrade")
ACCOUNTS = ("MOSA", "MCA")
SECTORS = ("commercial", "government", "nonprofit")
PAYMENTS = ("card", "invoice")
TERMS = tuple(TERM_MONTHS)
FREQUENCIES = tuple(BILLING_FREQUENCY_MONTHS)
TERM_MIN_DAYS = {"P1M": 28, "P1Y": 365, "P3Y": 1095}
# The columns a tenant's objects are built from, in the order materialise_many reads them.
MATERIALISED = ("plan", "term", "anchor_offset", "add_on", "provisioning_minutes",
                "licenses", "assigned", "frequency", "not_eligible", "other_problem",
                "customised", "duplicate", "duplicate_licenses", "country", "account",
                "payment", "unpaid_minor", "credit_check_pending", "data_gb_per_user",
                "wire_international")


def _choice(rng: np.random.Generator, weights: dict[str, float], keys: tuple[str, ...],
            size: int) -> np.ndarray:
    """Indices into `keys`, drawn with `weights` (keys absent from weights get 0)."""
    p = np.array([weights.get(key, 0.0) for key in keys], dtype=float)
    p /= p.sum()
    return rng.choice(len(keys), size=size, p=p).astype(np.int16)


_NO_INCIDENTS: frozenset[str] = frozenset()


@dataclass(slots=True)
class TenantExtras:
    """Simulation-only attributes of a tenant that the rules layer does not read."""

    index: int
    data_gb_per_user: float
    wire_international: bool
    provisioning_minutes: float  # 0 when fully provisioned
    streams: Any = None  # the tenant's random streams (sim.fleet.engine.TenantStreams)
    life: Any = None  # its credit checks (sim.fleet.life.CreditCheckLife)


class Population:
    """Column store of (part of) the fleet; row i is tenant ``index[i]``."""

    def __init__(self, scenario: Scenario, catalog: Catalog, plan_ids: tuple[str, ...],
                 countries: tuple[str, ...], add_on_ids: tuple[str, ...],
                 columns: dict[str, np.ndarray], names: list[str],
                 index: np.ndarray | None = None, first: int = 0) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.plan_ids = plan_ids
        self.countries = countries
        self.add_on_ids = add_on_ids
        self.columns = columns
        self.names = names
        self.size = len(columns["account"])
        # The tenant index of each row: first, first + 1, ... unless rows were selected.
        self.index = np.arange(first, first + self.size, dtype=np.int64) if index is None \
            else index
        self._anchors: dict[int, date] = {}  # anchor offset (days) -> date

    def requesting(self) -> Population:
        """The rows of the tenants that request a change (the others never materialise)."""
        keep = np.flatnonzero(self.columns["request_minute"] >= 0)
        return self._with({key: column[keep] for key, column in self.columns.items()},
                          self.index[keep])

    def _with(self, columns: dict[str, np.ndarray], index: np.ndarray) -> Population:
        return Population(self.scenario, self.catalog, self.plan_ids, self.countries,
                          self.add_on_ids, columns, self.names, index)

    def materialise(self, row: int) -> tuple[Tenant, TenantExtras]:
        """The tenant of `row` as light domain objects, for the rules layer and the
        processes (row i is tenant i unless rows were selected, :meth:`requesting`)."""
        return self.materialise_many([row])[0]

    def materialise_many(self, rows: Sequence[int] | np.ndarray
                         ) -> list[tuple[Tenant, TenantExtras]]:
        """:meth:`materialise` for several rows, reading each column once (fast)."""
        c = self.columns
        at = np.asarray(rows, dtype=np.int64)
        start = self.scenario.run.start
        anchors = self._anchors
        add_ons_catalog = self.catalog.add_ons
        names, pool = self.names, len(self.names)
        plan_ids, add_on_ids = self.plan_ids, self.add_on_ids
        countries = self.countries
        fixed = self.scenario.run.currency
        # Per country code: its billing currency (issue 12), looked up once per call.
        currencies = [self.catalog.currency_of(country) if fixed == "local" else fixed
                      for country in countries]
        result = []
        append = result.append
        for (index, plan_code, term_code, offset, add_on, provisioning, licenses, assigned,
             frequency_code, not_eligible, other_problem, customised, duplicate,
             duplicate_licenses, country, account, payment, unpaid, credit_check_pending,
             data_gb, wire_international) in zip(
                self.index[at].tolist(), *(c[key][at].tolist() for key in MATERIALISED),
                strict=True):
            domain = f"{names[index % pool]}-{index:x}.example"
            plan = plan_ids[plan_code]
            term = TERMS[term_code]
            frequency = FREQUENCIES[frequency_code]
            anchor = anchors.get(offset)
            if anchor is None:
                anchor = anchors[offset] = start + timedelta(days=offset)
            add_ons = []
            if add_on >= 0:
                add_on_id = add_on_ids[add_on]
                add_ons.append(AddOnRef(add_on_id, add_ons_catalog[add_on_id].blocks_change))
            # Positional: the field order of sim.rules.domain.Subscription and Tenant.
            subscriptions = [Subscription(
                f"s-{index:07d}-1", plan, domain, licenses, assigned, term, frequency,
                anchor, "provisioning" if provisioning > 0 else "active", provisioning == 0,
                add_ons, False, not not_eligible, other_problem, customised)]
            if duplicate:
                subscriptions.append(Subscription(
                    f"s-{index:07d}-2", plan, domain, duplicate_licenses, duplicate_licenses,
                    term, frequency, anchor))
            append((Tenant(f"t-{index:07d}", domain, countries[country], ACCOUNTS[account],
                           PAYMENTS[payment], subscriptions, unpaid, credit_check_pending,
                           _NO_INCIDENTS, currencies[country]),
                    TenantExtras(index, data_gb, wire_international, provisioning)))
        return result

    def rows(self, chunk_size: int = CHUNK) -> Iterator[dict[str, Any]]:
        """The population table in chunks of columns (Arrow arrays), for the record files.

        Built with Arrow's kernels and numpy, which run without the GIL: the record
        writer calls this in its background thread while the simulation goes on (issue
        11). Coded columns are their labels taken by code; identifiers are formatted by
        kernels too (``t-`` and the zero-padded index; the index in hex for domains).
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        c = self.columns
        start = self.scenario.run.start
        labels = {
            "account": ACCOUNTS, "sector": SECTORS, "country": self.countries,
            "payment": PAYMENTS, "plan": self.plan_ids, "term": TERMS,
            "frequency": FREQUENCIES,
            "add_on": (*self.add_on_ids, ""),  # -1 (no add-on) is the last label
        }
        texts = {key: pa.array(list(values), pa.string()) for key, values in labels.items()}
        names = pa.array(self.names, pa.string())
        companies = pa.array([name.replace("-", " ").title() for name in self.names],
                             pa.string())
        offsets = c["anchor_offset"]
        first = int(offsets.min()) if self.size else 0
        anchors = pa.array([(start + timedelta(days=first + n)).isoformat()
                            for n in range(int(offsets.max()) - first + 1 if self.size else 0)],
                           pa.string())
        for begin in range(0, self.size, chunk_size):
            end = min(begin + chunk_size, self.size)
            indices = self.index[begin:end]
            pool = pa.array(indices % len(self.names))
            domains = pc.binary_join_element_wise(names.take(pool), "-", _hex_texts(indices),
                                                  ".example", "")
            coded = {}
            for key, table in texts.items():
                codes = c[key][begin:end]
                if key == "add_on":
                    codes = np.where(codes < 0, len(table) - 1, codes)
                coded[key] = table.take(pa.array(codes))
            digits = pc.utf8_lpad(pc.cast(pa.array(indices), pa.string()), 7, "0")
            yield {
                "tenant_id": pc.binary_join_element_wise("t-", digits, ""),
                "company": companies.take(pool),
                "domain": domains,
                "admin_email": pc.binary_join_element_wise("admin@", domains, ""),
                "billing_account": coded["account"],
                "sector": coded["sector"],
                "country": coded["country"],
                "payment_method": coded["payment"],
                "plan": coded["plan"],
                "term": coded["term"],
                "billing_frequency": coded["frequency"],
                "anchor": anchors.take(pa.array(offsets[begin:end] - first)),
                "users": c["assigned"][begin:end],
                "licenses": c["licenses"][begin:end],
                "add_on": coded["add_on"],
                "duplicate_subscription": c["duplicate"][begin:end],
                "not_provisioned": c["provisioning_minutes"][begin:end] > 0,
                "not_eligible": c["not_eligible"][begin:end],
                "other_problem": c["other_problem"][begin:end],
                "credit_check_pending": c["credit_check_pending"][begin:end],
                "unpaid_balance_minor": c["unpaid_minor"][begin:end],
                "customised_users": c["customised"][begin:end],
                "requests_change": c["request_minute"][begin:end] >= 0,
            }


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_texts(values: np.ndarray) -> Any:
    """``format(v, "x")`` of each non-negative integer, as an Arrow string array built
    from its buffers (numpy only, no Python loop per value)."""
    import pyarrow as pa

    count = len(values)
    width = 16  # hex digits of a 64-bit value
    unsigned = values.astype(np.uint64)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = (unsigned[:, None] >> shifts[None, :]) & np.uint64(15)
    nonzero = nibbles != 0
    # the first significant digit; "0" keeps its last digit
    lead = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), width - 1)
    keep = np.arange(width)[None, :] >= lead[:, None]
    data = _HEX_DIGITS[nibbles[keep]]  # row by row, in order
    ends = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(width - lead, out=ends[1:])
    return pa.StringArray.from_buffers(count, pa.py_buffer(ends.tobytes()),
                                       pa.py_buffer(data.tobytes()))


def generate_population(scenario: Scenario, catalog: Catalog, digits: int,
                        tenants: int | None = None) -> Population:
    """Draw the fleet of `scenario` (``run.tenants`` unless `tenants` is given), whole."""
    return join(list(population_chunks(scenario, catalog, digits, tenants)))


def population_chunks(scenario: Scenario, catalog: Catalog, digits: int,
                      tenants: int | None = None, chunk: int = CHUNK
                      ) -> Iterator[Population]:
    """The fleet in consecutive chunks of `chunk` tenants (a multiple of BLOCK), so a
    large fleet need never be held whole: its records are written and its tenants that
    request nothing dropped chunk by chunk (:meth:`Population.requesting`)."""
    population = scenario.population
    size = scenario.run.tenants if tenants is None else tenants
    seed = scenario.run.seed
    plan_ids = tuple(catalog.plans)
    countries = tuple(population.countries)
    add_on_ids = tuple(catalog.add_ons)
    targets = _targets_by_direction(catalog, plan_ids)
    arrival_cdf = _arrival_cdf(scenario)
    names = list(_name_pool(seed))
    for first in range(0, size, chunk):
        parts: list[dict[str, np.ndarray]] = []
        for begin in range(first, min(first + chunk, size), BLOCK):
            # A whole block is always drawn, then cut: tenant i is the same at any size.
            block = begin // BLOCK
            rng = numpy_stream(seed, "population", block)
            part = _chunk(rng, BLOCK, scenario, catalog, plan_ids, countries, add_on_ids,
                          digits, targets, arrival_cdf, numpy_stream(seed, "arrivals", block))
            count = min(BLOCK, size - begin)
            parts.append({key: column[:count] for key, column in part.items()})
        columns = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        yield Population(scenario, catalog, plan_ids, countries, add_on_ids, columns, names,
                         first=first)


def join(parts: Sequence[Population]) -> Population:
    """One population of the rows of `parts`, in order (tenant indices kept)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    columns = {key: np.concatenate([part.columns[key] for part in parts])
               for key in first.columns}
    return first._with(columns, np.concatenate([part.index for part in parts]))


def _chunk(rng: np.random.Generator, n: int, scenario: Scenario, catalog: Catalog,
           plan_ids: tuple[str, ...], countries: tuple[str, ...],
           add_on_ids: tuple[str, ...], digits: int,
           targets: dict[tuple[int, int], np.ndarray], arrival_cdf: np.ndarray,
           arrival_rng: np.random.Generator) -> dict[str, np.ndarray]:
    population = scenario.population
    blockers = population.blockers
    demand = scenario.demand
    account = (rng.random(n) < population.mca_share).astype(np.int8)
    sector = _choice(rng, population.sectors, SECTORS, n)
    country = _choice(rng, population.countries, countries, n)
    payment = _choice(rng, population.payment_methods, PAYMENTS, n)
    wire_international = rng.random(n) < population.wire_international
    plan = np.empty(n, dtype=np.int16)
    for s, mix in enumerate((population.commercial_plans, population.government_plans,
                             population.nonprofit_plans)):
        mask = sector == s
        plan[mask] = _choice(rng, mix, plan_ids, int(mask.sum()))
    term = _choice(rng, population.terms, TERMS, n)
    frequency = np.zeros(n, dtype=np.int16)  # monthly
    for t, mix in ((1, population.annual_term_billing), (2, population.triennial_term_billing)):
        mask = term == t
        frequency[mask] = _choice(rng, mix, FREQUENCIES, int(mask.sum()))
    term_days = np.array([TERM_MIN_DAYS[t] for t in TERMS])[term]
    anchor_offset = -np.floor(rng.random(n) * term_days).astype(np.int32)
    users = np.maximum(1, np.rint(rng.lognormal(np.log(population.users_median),
                                                 population.users_sigma, n))).astype(np.int32)
    caps = np.array([catalog.plans[p].seat_cap or 1_000_000 for p in plan_ids])[plan]
    caps = np.where(caps == 300, population.seat_cap_business, caps)
    users = np.minimum(users, caps)
    spare = np.floor(users * rng.exponential(population.spare_licenses, n)).astype(np.int32)
    licenses = np.minimum(users + spare, np.maximum(caps, users))
    over = rng.random(n) < blockers.over_assigned
    excess = 1 + rng.poisson(2, n)
    licenses = np.where(over, np.maximum(users - excess, 1), licenses).astype(np.int32)
    assigned = np.where(over & (licenses >= users), licenses + 1, users).astype(np.int32)
    has_add_on = rng.random(n) < population.add_on_share
    add_on = np.where(has_add_on, _choice(rng, population.add_ons, add_on_ids, n), -1)
    blocked = _blocker_columns(rng, n, population, payment, digits)
    customising = rng.random(n) < population.customising_tenants
    customised = np.where(customising, rng.binomial(assigned, population.customised_user_share),
                          0).astype(np.int32)
    data_gb = _lognormal(rng, population.data_gb_per_user, n).astype(np.float32)
    direction, target, request_minute = _demand(rng, n, demand, plan, targets, arrival_cdf,
                                                arrival_rng)
    return {
        "account": account, "sector": sector, "country": country, "payment": payment,
        "wire_international": wire_international, "plan": plan, "term": term,
        "frequency": frequency, "anchor_offset": anchor_offset, "licenses": licenses,
        "assigned": assigned, "add_on": add_on.astype(np.int16), **blocked,
        "customised": customised, "data_gb_per_user": data_gb, "direction": direction,
        "target": target, "request_minute": request_minute,
    }


def _blocker_columns(rng: np.random.Generator, n: int, population, payment: np.ndarray,
                     digits: int) -> dict[str, np.ndarray]:
    """Blocker conditions of the tenants (R-ELIG-02/03/04/05/09/10), in drawing order."""
    blockers = population.blockers
    duplicate = rng.random(n) < blockers.duplicate_product
    duplicate_licenses = 1 + rng.poisson(2, n).astype(np.int32)
    provisioning = np.where(
        rng.random(n) < blockers.not_provisioned,
        _lognormal(rng, blockers.provisioning_minutes, n), 0.0)
    not_eligible = rng.random(n) < blockers.not_eligible
    other_problem = rng.random(n) < blockers.other_problem
    credit_check_pending = rng.random(n) < blockers.credit_check_pending
    unpaid = (payment == 1) & (rng.random(n) < blockers.unpaid_balance)
    balance = rng.lognormal(np.log(max(population.unpaid_balance_median, 1e-9)), 0.8, n)
    unpaid_minor = np.where(unpaid, np.maximum(1, np.rint(balance * 10**digits)), 0
                            ).astype(np.int64)
    return {"duplicate": duplicate, "duplicate_licenses": duplicate_licenses,
            "provisioning_minutes": provisioning, "not_eligible": not_eligible,
            "other_problem": other_problem, "credit_check_pending": credit_check_pending,
            "unpaid_minor": unpaid_minor}


def _demand(rng: np.random.Generator, n: int, demand, plan: np.ndarray,
            targets: dict[tuple[int, int], np.ndarray], arrival_cdf: np.ndarray,
            arrival_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who requests a change, in which direction, to which plan, and when (minutes)."""
    requests = rng.random(n) < demand.request_share
    direction = _choice(rng, demand.directions, DIRECTIONS, n)
    pick = rng.random(n)
    target = np.full(n, -1, dtype=np.int16)
    for (p, d), candidates in targets.items():
        mask = requests & (plan == p) & (direction == d)
        if mask.any():
            target[mask] = candidates[(pick[mask] * len(candidates)).astype(np.int64)]
    hours = np.searchsorted(arrival_cdf, arrival_rng.random(n), side="right")
    hours = np.minimum(hours, len(arrival_cdf) - 1)
    minute = (hours + arrival_rng.random(n)) * 60.0
    request_minute = np.where(requests, minute, -1.0)
    return direction, target, request_minute


def _lognormal(rng: np.random.Generator, spec, n: int) -> np.ndarray:
    values = rng.lognormal(np.log(max(spec.median, 1e-9)), spec.sigma, n)
    if spec.cap > 0:
        values = np.minimum(values, spec.cap)
    return values
