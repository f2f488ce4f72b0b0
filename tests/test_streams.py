"""Per-tenant random streams (common random numbers, issue 8 part 3; STYLE 7).

Every draw for a tenant comes from streams keyed by (seed, tenant index, purpose), so a
parameter change moves only the draws it must: more workers change queue waits, not
switch durations; more incidents change the requests that meet one, not the others;
tenant i is the same in a fleet of 1,000 or 3,000. Credit checks are started by events
in the tenant's life, so how many attempts they block follows the calendar.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.stats import chi2_contingency

from sim.fleet.population import generate_population
from sim.fleet.runner import run_scenario
from sim.fleet.scenario import load_scenario
from sim.fleet.streams import (
    GOLDEN,
    MASK,
    TenantStream,
    tenant_key,
    tenant_keys,
    tenant_stream,
    tenant_uniforms,
)
from sim.rules.catalog import builtin_catalog

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "sim/fleet/scenarios"
INCIDENT = "NOT_PROVISIONED_OR_UNHEALTHY"


def records(run_dir: Path, table: str) -> list[dict]:
    return pq.read_table(run_dir / "records" / f"{table}.parquet").to_pylist()


def run(tmp: Path, name: str, overrides: list[str]) -> Path:
    run_scenario(load_scenario(SCENARIOS / f"{name}.toml", overrides), tmp)
    return tmp


# ----------------------------------------------------------------- the streams


def splitmix64(state: int) -> tuple[int, int]:
    """The reference SplitMix64 step (Steele, Lea and Flood 2014), for an independent
    check: returns (new state, output)."""
    state = (state + 0x9E3779B97F4A7C15) % 2**64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return state, z ^ (z >> 31)


def test_tenant_stream_is_splitmix64_and_batches_agree():
    """A stream's draws are SplitMix64 outputs from its key (53 high bits / 2**53), the
    same whether computed one at a time or ahead for a batch of tenants."""
    assert (GOLDEN, MASK) == (0x9E3779B97F4A7C15, 2**64 - 1)
    indices = np.array([0, 1, 7, 65_535, 999_999])
    keys = tenant_keys(42, indices, "admin")
    ahead = tenant_uniforms(keys, 5)
    for row, index in enumerate(indices.tolist()):
        key = tenant_key(42, index, "admin")
        assert key == int(keys[row])
        state, expected = key, []
        for _ in range(5):
            state, output = splitmix64(state)
            expected.append((output >> 11) / 2**53)
        one_by_one = tenant_stream(42, index, "admin")
        assert [one_by_one.random() for _ in range(5)] == expected == ahead[row].tolist()
        partly_ahead = TenantStream(key, ahead[row, :2].tolist())
        assert [partly_ahead.random() for _ in range(5)] == expected


def test_tenant_streams_are_distinct_per_tenant_purpose_and_seed():
    """Keys differ across tenants, purposes and seeds (no two streams coincide)."""
    keys = {tenant_key(seed, index, purpose) for seed in (1, 2) for index in range(200)
            for purpose in ("admin", "durations", "decisions", "manual", "life")}
    assert len(keys) == 2 * 200 * 5


def test_tenant_stream_distributions():
    """Uniforms have mean 1/2 and variance 1/12; log of a lognormal(mu, sigma) draw has
    mean mu and standard deviation sigma (within 5 standard errors, 40,000 draws)."""
    stream = tenant_stream(3, 11, "durations")
    n = 40_000
    uniforms = [stream.random() for _ in range(n)]
    assert all(0.0 <= u < 1.0 for u in uniforms)
    mean = sum(uniforms) / n
    assert abs(mean - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(sum((u - mean) ** 2 for u in uniforms) / n - 1 / 12) < 0.002
    logs = [math.log(stream.lognormvariate(1.5, 0.8)) for _ in range(n)]
    log_mean = sum(logs) / n
    assert abs(log_mean - 1.5) < 5 * 0.8 / math.sqrt(n)
    assert abs(math.sqrt(sum((x - log_mean) ** 2 for x in logs) / n) - 0.8) < 0.02
    integers = Counter(stream.randint(1, 5) for _ in range(n))
    assert set(integers) == {1, 2, 3, 4, 5}
    assert all(abs(count - n / 5) < 5 * math.sqrt(n * 0.2 * 0.8) for count in
               integers.values())
    random.Random(0)  # the standard library is not what draws here: nothing to reseed


# ---------------------------------------------------------- common random numbers


def test_tenant_i_is_the_same_whatever_the_fleet_size():
    """The population columns of tenants 0..999 are identical in fleets of 1,000 and
    3,000 tenants (and of 20,000, which spans two blocks of draws)."""
    catalog = builtin_catalog()
    scenario = load_scenario(SCENARIOS / "baseline.toml")
    small = generate_population(scenario, catalog, 2, tenants=1_000).columns
    large = generate_population(scenario, catalog, 2, tenants=3_000).columns
    larger = generate_population(scenario, catalog, 2, tenants=20_000).columns
    assert set(small) == set(large)
    for name, column in small.items():
        assert np.array_equal(column, large[name][:1_000]), name
        assert np.array_equal(large[name], larger[name][:3_000]), name


@pytest.fixture(scope="module")
def workers(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("workers")
    common = ["run.tenants=1500", "run.horizon_days=150"]
    return (run(base / "w4", "month-end-surge", [*common, "capacity.workers=4"]),
            run(base / "w1", "month-end-surge", [*common, "capacity.workers=1"]))


def test_more_workers_keep_every_switch_duration(workers):
    """Same seed, capacity.workers=4 vs 1: every change completed in both runs keeps its
    switch duration (R-AUTO-04) and its path; only the queue waits differ."""
    four, one = ({row["request_id"]: row for row in records(path, "changes")}
                 for path in workers)
    both = [rid for rid in four if four[rid]["switch_min"] is not None
            and one.get(rid, {}).get("switch_min") is not None]
    assert len(both) > 200
    for rid in both:
        assert four[rid]["switch_min"] == one[rid]["switch_min"], rid
        assert four[rid]["path"] == one[rid]["path"], rid
    waits = [(four[rid]["queue_wait_min"], one[rid]["queue_wait_min"]) for rid in both]
    assert sum(w1 for _, w1 in waits) > sum(w4 for w4, _ in waits)


def test_incidents_change_only_the_requests_that_meet_one(tmp_path):
    """Baseline vs incident-storm, same seed: every request that met no incident
    (R-ELIG-02) in either run keeps its admin delays (attempt times and delays), its
    switch duration and its path."""
    common = ["run.tenants=1500", "run.seed=11", "run.horizon_days=150"]
    base = run(tmp_path / "base", "baseline", common)
    storm = run(tmp_path / "storm", "incident-storm", common)
    attempts = {}
    met = set()
    for tag, path in (("base", base), ("storm", storm)):
        for row in records(path, "attempts"):
            attempts.setdefault((tag, row["request_id"]), []).append(
                (row["attempt"], row["at"], row["blockers"], row["action"], row["delay_min"]))
            if INCIDENT in row["blockers"].split(";"):
                met.add(row["request_id"])
    changes = {tag: {row["request_id"]: row for row in records(path, "changes")}
               for tag, path in (("base", base), ("storm", storm))}
    assert len(met) > 20, "the storm should block some requests"
    calm = [rid for rid in changes["base"] if rid not in met]
    assert len(calm) > 150
    for rid in calm:
        a, b = changes["base"][rid], changes["storm"][rid]
        assert attempts.get(("base", rid)) == attempts.get(("storm", rid)), rid
        assert (a["path"], a["switch_min"], a["requested_at"]) \
            == (b["path"], b["switch_min"], b["requested_at"]), rid


# ------------------------------------------------------------------- credit checks


def blocked_share_by_month(path: Path) -> tuple[list[str], list[int], list[int]]:
    """Months, attempts blocked by R-ELIG-03, and all attempts, per month."""
    total, blocked = Counter(), Counter()
    for row in records(path, "attempts"):
        month = row["day"][:7]
        total[month] += 1
        blocked[month] += "CHANGE_OR_CREDIT_CHECK_PENDING" in row["blockers"].split(";")
    months = sorted(total)
    return months, [blocked[m] for m in months], [total[m] for m in months]


def test_credit_check_backlog_blocked_share_varies_over_the_year_R_ELIG_03(tmp_path):
    """R-ELIG-03 / P-CAL-06: credit checks start with purchases, seat additions and
    payment changes in the tenants' lives, which follow the demand profile; a three-week
    March campaign (4x demand) brings four times the purchases, so the share of attempts
    a pending check blocks is far higher in March than in the rest of the year (with
    clocks started at each request it was the same every month). A chi-square test of
    homogeneity across months rejects a constant share."""
    campaign = "demand.campaigns=[{start = 2026-03-01, days = 21, factor = 4.0}]"
    path = run(tmp_path / "backlog", "credit-check-backlog", ["run.tenants=4000", campaign])
    months, blocked, total = blocked_share_by_month(path)
    assert len(months) == 12
    table = [blocked, [t - b for b, t in zip(blocked, total, strict=True)]]
    assert chi2_contingency(table)[1] < 1e-6
    shares = dict(zip(months, (b / t for b, t in zip(blocked, total, strict=True)),
                      strict=True))
    others = [share for month, share in shares.items() if month not in ("2026-03",
                                                                         "2026-04")]
    assert shares["2026-03"] > max(others) + 0.1, shares
