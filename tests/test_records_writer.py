"""The record writer (issue 11): Arrow batches, background writes, the allocator.

Expected bytes come from pyarrow's own writer called directly, one row group per chunk,
so the batching and the background thread are checked against what a plain write of the
same rows gives.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.fleet import records
from sim.fleet.records import BATCH_ROWS, Recorder
from sim.fleet.rows import CapacityRow


def _capacity_rows(count: int) -> list[tuple]:
    return [CapacityRow(n * 0.5, n % 97, n % 5) for n in range(count)]


@pytest.mark.parametrize("count", [0, 1, BATCH_ROWS - 1, 2 * BATCH_ROWS,
                                   2 * BATCH_ROWS + 3, 5 * BATCH_ROWS + 17])
def test_batched_background_bytes_equal_a_direct_write(tmp_path, count):
    """chunk_rows = 2 batches: the file is byte for byte what writing each chunk of rows
    at once with pyarrow gives (same row groups, same encoding)."""
    chunk = 2 * BATCH_ROWS
    recorder = Recorder(tmp_path, "parquet", chunk_rows=chunk)
    rows = _capacity_rows(count)
    for row in rows:
        recorder.add("capacity", row)
    assert recorder.close()["capacity"] == count

    schema = pa.schema([("at", pa.float64()), ("queue_length", pa.int64()),
                        ("busy_workers", pa.int64())])
    expected = tmp_path / "expected.parquet"
    writer = pq.ParquetWriter(expected, schema, compression="zstd")
    for begin in range(0, count, chunk):
        part = rows[begin:begin + chunk]
        writer.write_table(pa.table({"at": [r[0] for r in part],
                                     "queue_length": [r[1] for r in part],
                                     "busy_workers": [r[2] for r in part]}, schema=schema))
    writer.close()
    written = tmp_path / "capacity.parquet"
    assert written.read_bytes() == expected.read_bytes()
    assert pq.ParquetFile(written).num_row_groups == -(-count // chunk)


def test_a_failed_background_write_is_raised_at_close(tmp_path, monkeypatch):
    """A write that fails in the background thread is not lost: close() raises it."""
    def broken(self, table):
        raise OSError("disk full (test)")

    monkeypatch.setattr(records.TableWriter, "_write_table", broken)
    recorder = Recorder(tmp_path, "parquet", chunk_rows=BATCH_ROWS)
    with pytest.raises(OSError, match="disk full"):
        for row in _capacity_rows(3 * BATCH_ROWS):
            recorder.add("capacity", row)
        recorder.close()


def test_pending_background_writes_are_bounded(monkeypatch):
    """At most MAX_PENDING writes wait: a further submit waits for the oldest."""
    import threading

    gate = threading.Event()
    started = []
    writer = records.BackgroundWriter()
    try:
        for n in range(records.MAX_PENDING):
            writer.submit(lambda n=n: (started.append(n), gate.wait(5)))
        done = threading.Event()

        def submit_one_more():
            writer.submit(lambda: None)
            done.set()

        thread = threading.Thread(target=submit_one_more)
        thread.start()
        assert not done.wait(0.2), "a third write was queued while two were pending"
        gate.set()
        assert done.wait(5)
        thread.join()
        writer.drain()
    finally:
        gate.set()
        writer.shutdown()
    assert started == list(range(records.MAX_PENDING))


def _pool_in_child(env: dict[str, str]) -> list[str]:
    code = ("import os, sys; from sim.fleet.allocator import prefer_system_allocator; "
            "prefer_system_allocator(); import pyarrow as pa; "
            "print(pa.default_memory_pool().backend_name); "
            "print(os.environ.get('ARROW_DEFAULT_MEMORY_POOL', '-'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    return out.split()


def test_system_allocator_is_chosen_and_the_environment_restored():
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    assert _pool_in_child(env) == ["system", "-"]


def test_the_users_allocator_choice_wins():
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}
    backend, variable = _pool_in_child(env)
    assert variable == "jemalloc"
    assert backend in ("jemalloc", "mimalloc", "system")  # jemalloc if built in
    assert backend != "system"


def test_population_builds_domain_objects_in_their_field_order():
    """sim.fleet.population builds Subscription and Tenant positionally (hot path): their
    fields must stay in this order, or tenants would get the wrong attributes."""
    from dataclasses import fields

    from sim.rules.domain import Subscription, Tenant

    assert [f.name for f in fields(Subscription)] == [
        "subscription_id", "plan", "domain", "licenses", "assigned", "term",
        "billing_frequency", "anchor", "status", "provisioned", "add_ons",
        "change_in_progress", "eligible_for_change", "other_problem", "customised_users"]
    assert [f.name for f in fields(Tenant)] == [
        "tenant_id", "domain", "country", "billing_account", "payment_method",
        "subscriptions", "unpaid_balance", "credit_check_pending", "open_incidents",
        "currency"]


def test_capacity_rows_are_in_the_schema_order(tmp_path):
    """The engine records capacity rows as plain tuples: (at, queue, busy) by the schema."""
    from sim.fleet.rows import columns_of

    assert [name for name, _ in columns_of(CapacityRow)] == ["at", "queue_length",
                                                            "busy_workers"]


def test_hex_texts_match_python_formatting():
    """The domains' hex part, built from buffers, equals format(v, "x") (by the stdlib)."""
    import numpy as np

    from sim.fleet.population import _hex_texts

    values = [0, 1, 9, 10, 15, 16, 255, 256, 4095, 65_535, 1_000_000, 9_999_999,
              10_000_000, 2**31 - 1, 2**32, 2**48 + 5, 2**63 - 1]
    assert _hex_texts(np.array(values, dtype=np.int64)).to_pylist() == [
        format(v, "x") for v in values]
    assert _hex_texts(np.array([], dtype=np.int64)).to_pylist() == []


def test_population_record_identifiers_past_seven_digits():
    """Tenant ids pad to seven digits and grow past them, as f"t-{i:07d}" does; domains
    and e-mails carry the hex index (checked against Python's own formatting)."""
    from pathlib import Path

    import numpy as np

    from sim.fleet.population import generate_population
    from sim.fleet.scenario import load_scenario
    from sim.rules.catalog import builtin_catalog

    root = Path(__file__).resolve().parents[1]
    scenario = load_scenario(root / "sim/fleet/scenarios/baseline.toml", ["run.tenants=50"])
    population = generate_population(scenario, builtin_catalog(), 2)
    population.index = np.array([0, 7, 1_234_567, 9_999_999, 12_345_678] * 10,
                                dtype=np.int64)
    (columns,) = list(population.rows())
    ids = columns["tenant_id"].to_pylist()
    domains = columns["domain"].to_pylist()
    for n, index in enumerate(population.index.tolist()):
        name = population.names[index % len(population.names)]
        assert ids[n] == f"t-{index:07d}"
        assert domains[n] == f"{name}-{index:x}.example"
        assert columns["admin_email"][n].as_py() == f"admin@{name}-{index:x}.example"
