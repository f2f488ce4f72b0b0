"""Large fleets in bounded memory (issue 11, parts 3-4): the population drawn in chunks,
only the requesting tenants kept, streams sharing their precomputed draws, the name pool.

Expected values come from independent computations: Faker itself for the names, the
whole-fleet population for the chunked one, SplitMix64 by hand for the streams.
"""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np
import pytest

from sim.fleet.names import NAME_POOL, name_pool
from sim.fleet.population import (
    BLOCK,
    generate_population,
    join,
    population_chunks,
)
from sim.fleet.runner import requesting_population
from sim.fleet.scenario import load_scenario
from sim.fleet.sizing import BASE_BYTES, BYTES_PER_TENANT, default_limit, estimate_peak_bytes
from sim.fleet.streams import GOLDEN, MASK, TenantStream, tenant_key
from sim.rules.catalog import builtin_catalog

SCENARIOS = Path(__file__).resolve().parents[1] / "sim/fleet/scenarios"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIOS / "baseline.toml", ["run.tenants=40000"])


@pytest.mark.parametrize("seed", [1, 2, 12345])
def test_name_pool_is_fakers_company_names(seed):
    """The replayed pool equals the slugs of a seeded en_US Faker's company() calls."""
    from faker import Faker

    faker = Faker("en_US")
    faker.seed_instance(seed)
    expected, seen = [], set()
    while len(expected) < NAME_POOL:
        word = faker.company().lower()
        slug = "".join(ch if ch.isalnum() else "-" for ch in word).strip("-")
        slug = "-".join(part for part in slug.split("-") if part)[:40]
        if slug and slug not in seen:
            seen.add(slug)
            expected.append(slug)
    assert name_pool(seed) == tuple(expected)


def test_chunks_are_the_whole_fleet_cut(scenario):
    """Chunks of 2 blocks (32,768 tenants) over 40,000 tenants: the first holds tenants
    0..32,767, the second 32,768..39,999, and joined they equal the whole population."""
    catalog = builtin_catalog()
    whole = generate_population(scenario, catalog, 2)
    chunks = list(population_chunks(scenario, catalog, 2, chunk=2 * BLOCK))
    assert [c.size for c in chunks] == [32_768, 7_232]
    assert chunks[1].index[0] == 32_768 and chunks[1].index[-1] == 39_999
    joined = join(chunks)
    assert np.array_equal(joined.index, np.arange(40_000))
    for name, column in whole.columns.items():
        assert np.array_equal(joined.columns[name], column), name


def test_requesting_rows_keep_their_tenant(scenario):
    """Only tenants with a request minute are kept; each row still materialises as its
    own tenant (id, plan) and population records are identical chunk by chunk."""
    catalog = builtin_catalog()
    whole = generate_population(scenario, catalog, 2)
    kept = requesting_population(scenario, catalog, 2)
    expected = np.flatnonzero(whole.columns["request_minute"] >= 0)
    assert np.array_equal(kept.index, expected)
    assert 0 < kept.size < whole.size
    for row in (0, kept.size // 2, kept.size - 1):
        index = int(expected[row])
        tenant, extras = kept.materialise(row)
        assert tenant.tenant_id == f"t-{index:07d}" and extras.index == index
        plan = whole.plan_ids[int(whole.columns["plan"][index])]
        assert tenant.subscriptions[0].plan == plan
    by_chunk = [rows for chunk in population_chunks(scenario, catalog, 2)
                for rows in chunk.rows()]
    at_once = list(whole.rows())
    assert len(by_chunk) == len(at_once) == 1
    for name, column in at_once[0].items():
        assert list(by_chunk[0][name]) == list(column), name


def test_stream_reads_shared_draws_then_continues():
    """A stream given draws 2..3 of a shared array returns them, then SplitMix64 draws
    3, 4, ... of its own key (computed here by hand)."""
    key = tenant_key(9, 123, "admin")

    def splitmix(k: int) -> float:
        z = (key + k * GOLDEN) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return ((z ^ (z >> 31)) >> 11) / 2**53

    shared = array("d", [0.25, splitmix(1), splitmix(2), 0.75])
    stream = TenantStream(key, shared, 1, 2)
    assert [stream.random() for _ in range(4)] == [splitmix(k) for k in (1, 2, 3, 4)]
    assert shared.tolist() == [0.25, splitmix(1), splitmix(2), 0.75]  # read, not consumed


def test_memory_estimate_allows_ten_million_by_default_on_24_gib():
    """10,000,000 tenants fit under 75% of a 24 GiB machine (18 GiB)."""
    assert estimate_peak_bytes(10_000_000) == BASE_BYTES + 10_000_000 * BYTES_PER_TENANT
    assert estimate_peak_bytes(10_000_000) < 0.75 * 24 * 2**30
    assert default_limit() > 0


def test_a_run_restores_the_callers_garbage_collection_settings():
    """simulate() raises the collection threshold and freezes its own objects at the
    end; afterwards the caller's threshold is back and the caller's frozen objects are
    still frozen (none of the run's stay frozen)."""
    import gc

    from sim.fleet.runner import simulate
    from sim.fleet.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / "baseline.toml",
                             ["run.tenants=200", "run.horizon_days=30"])
    before_threshold = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    simulate(scenario)  # the run's own objects are moved unwalked, never left frozen
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
    gc.disable()  # a caller that runs without the collector keeps it off
    try:
        simulate(scenario)
        assert not gc.isenabled()
    finally:
        gc.enable()
    keep = [object() for _ in range(10)]
    gc.freeze()  # the caller freezes objects of its own: the run must not unfreeze them
    frozen = gc.get_freeze_count()
    try:
        simulate(scenario)
        assert gc.get_threshold() == before_threshold
        # still frozen (some frozen objects may have been freed meanwhile, none added)
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
    assert keep


def test_a_run_leaves_no_cyclic_garbage_per_request():
    """Runs go without the cyclic collector (sim.fleet.runner._without_collections), which
    is safe only while reference counting frees what a run drops: the unreachable cycles
    left after a run (the model's own few) must not grow with the requests, saturated
    queue and manual paths included."""
    import gc

    from sim.fleet.runner import simulate
    from sim.fleet.scenario import load_scenario

    def garbage(tenants: int, *overrides: str) -> tuple[int, int]:
        scenario = load_scenario(SCENARIOS / "baseline.toml",
                                 [f"run.tenants={tenants}", *overrides])
        gc.collect()
        gc.disable()
        try:
            model = simulate(scenario)
            requests = model.requests
            del model
            return requests, gc.collect()
        finally:
            gc.enable()

    small_requests, small = garbage(300)
    # saturated: 1,045 requests still queued for the one worker at the horizon
    saturated = ("capacity.workers=1", "capacity.switch.median=2000", "capacity.switch.cap=0")
    for overrides in ((), saturated, ("demand.split_users_share=1.0",)):
        requests, found = garbage(6_000, *overrides)
        assert requests > 5 * small_requests
        assert found < small + 100, (overrides, found, small)
