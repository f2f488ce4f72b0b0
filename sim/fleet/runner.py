"""Run a scenario: population -> simulation -> record files + manifest (issue 3).

``run_scenario(scenario, out_dir)`` is the one entry point the CLI, tests and benches
use. Records are written into a temporary directory unique to the process that is
renamed into place only when the run completes (:mod:`sim.fleet.outdir`: a run never
writes over a user's files, replaces a finished run only with ``force``, and holds a lock
so two runs cannot mix their files), so an interrupted run never leaves a directory that
looks finished. The manifest holds no wall-clock data: two runs of the same scenario
and seed produce byte-identical files.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .. import __version__
from ..rules.catalog import Catalog, builtin_catalog
from ..rules.money import minor_unit
from .model import FleetModel
from .outdir import RUN_MARKER, staged_output
from .population import Population, join, population_chunks
from .progress import ProgressArg, as_phases, track
from .records import NullRecorder, Recorder, file_sha256, write_json_atomic
from .scenario import Scenario, scenario_to_dict

__all__ = ["POPULATION_COLUMNS", "RunResult", "base_currency", "run_scenario", "simulate"]


S, INT, B = pa.string(), pa.int64(), pa.bool_()
POPULATION_COLUMNS = (
    ("tenant_id", S), ("company", S), ("domain", S), ("admin_email", S),
    ("billing_account", S), ("sector", S), ("country", S), ("payment_method", S),
    ("plan", S), ("term", S), ("billing_frequency", S), ("anchor", S), ("users", INT),
    ("licenses", INT), ("add_on", S), ("duplicate_subscription", B), ("not_provisioned", B),
    ("not_eligible", B), ("other_problem", B), ("credit_check_pending", B),
    ("unpaid_balance_minor", INT), ("customised_users", INT), ("requests_change", B),
)


@dataclass
class RunResult:
    directory: Path | None
    manifest: dict[str, Any]
    requests: int
    completed: int
    violations: int
    events: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


def simulate(scenario: Scenario, recorder: Any = None, catalog: Catalog | None = None,
             strict: bool = False, progress: ProgressArg = None,
             observers: Iterable[Any] = ()) -> FleetModel:
    """Build the population and run the model; records go to `recorder` (default: none),
    events to `observers` (sim.fleet.observe) besides the invariant monitor. `progress`
    sees the phases population and simulation (sim.fleet.progress; a plain
    ``callable(fraction)`` sees the simulation only)."""
    catalog = catalog or builtin_catalog()
    # Lines are billed in each tenant's currency with its own minor unit (issue 12,
    # sim.fleet.ledger); `digits` is the base currency's, for the population's unpaid
    # balances (R-ELIG-09: only whether a balance is unpaid matters).
    digits = minor_unit(base_currency(scenario, catalog))
    with _without_collections():
        with track(progress, "population"):
            population = requesting_population(scenario, catalog, digits, recorder)
        model = FleetModel(scenario, catalog, population, recorder or NullRecorder(), digits,
                           strict, observers)
        with track(progress, "simulation") as phase:
            model.run(phase.update)
    return model


def requesting_population(scenario: Scenario, catalog: Catalog, digits: int,
                          recorder: Any = None) -> Population:
    """The tenants that request a change, the fleet drawn chunk by chunk.

    Each chunk's population records go to `recorder` (if it has the table) as it is
    drawn, made and written by the recorder's background writer while the next chunks
    are drawn and simulated, and the tenants that request nothing are dropped, so peak
    memory grows with the requesting tenants only (about a third of the fleet in the
    baseline)."""
    table = getattr(recorder, "tables", {}).get("population") if recorder else None
    parts = []
    for chunk in population_chunks(scenario, catalog, digits):
        if table is not None:
            table.write_columns_later(chunk.size, chunk.rows)
        parts.append(chunk.requesting())
    return join(parts)


def base_currency(scenario: Scenario, catalog: Catalog) -> str:
    """The fixed ``run.currency``, or for ``"local"`` the catalog's base currency."""
    currency = scenario.run.currency
    return catalog.currency if currency == "local" else currency


@contextmanager
def _without_collections() -> Iterator[None]:
    """Run without cyclic garbage collections, restoring the caller's settings afterwards.

    A large fleet keeps a million or so live objects (open requests, their processes and
    tenants, buffered record rows); with the default thresholds the collector walks them
    hundreds of times and took about a third of a 1,000,000-tenant run, and even with a
    youngest generation of a million objects its walks cost 0.7 s of that run (issue
    11). A run makes no cyclic garbage per request: everything it drops is freed by
    reference counting (test_fleet_scale: the garbage left after a run does not grow
    with the fleet; the requests still open at the horizon are closed, see
    :meth:`sim.fleet.engine.FleetEngine._let_go`), so the collector is switched off for
    the run. Scopes nest: the outermost restores the caller's state. Switched back on
    with the run's young objects still counted, the next allocation would walk them all,
    so the outermost scope first moves them to the oldest generation unwalked (a freeze
    and unfreeze), unless the caller keeps objects frozen itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def run_scenario(scenario: Scenario, out_dir: Path, fmt: str = "parquet", trace: bool = False,
                 strict: bool = False, progress: ProgressArg = None,
                 catalog: Catalog | None = None, force: bool = False,
                 finish: Callable[[Path], Any] | None = None) -> RunResult:
    """Run `scenario` and write its records and manifest into `out_dir`.

    `out_dir` must be absent, empty or a finished planshift run (replaced only with
    `force`), else :class:`sim.fleet.outdir.OutputError` before anything is simulated.
    `finish(directory)` (e.g. building the report) runs on the complete temporary
    directory before it is moved into place, so it is part of the same atomic step.
    `progress` (sim.fleet.progress) sees the phases population, simulation and records.
    """
    with staged_output(Path(out_dir), force) as staging:
        result = _run_into(scenario, staging.directory, fmt, trace, strict, progress,
                           catalog)
        if finish is not None:
            finish(staging.directory)
        staging.commit()
    result.directory = staging.target
    return result


def _run_into(scenario: Scenario, partial: Path, fmt: str, trace: bool, strict: bool,
              progress: ProgressArg, catalog: Catalog | None) -> RunResult:
    """Simulate and write records and manifest into the (temporary) directory `partial`."""
    started = time.perf_counter()
    records_dir = partial / "records"
    records_dir.mkdir(parents=True)
    recorder = Recorder(records_dir, fmt, trace=trace, population_columns=POPULATION_COLUMNS)
    phases = as_phases(progress)
    with _without_collections():  # the last record chunks are written on close
        try:
            model = simulate(scenario, recorder, catalog, strict, phases)
        finally:
            files = sorted(recorder.files().items())
            writing = phases.phase("records", 1 + len(files))
            rows = recorder.close()
            writing.advance()
    tables = {}
    for name, path in files:
        tables[name] = {"file": f"records/{path.name}", "rows": rows[name],
                        "sha256": file_sha256(path)}
        writing.advance()
    writing.close()
    manifest = {
        "format": 1,
        RUN_MARKER: True,
        "package": "planshift",
        "version": __version__,
        "scenario_name": scenario.meta.name,
        "seed": scenario.run.seed,
        "tenants": scenario.run.tenants,
        "record_format": fmt,
        "currency": scenario.run.currency,  # "local" or the one ISO code (issue 12)
        "currencies": sorted(model.currencies_seen),  # of the ledger lines
        "digits": minor_unit(base_currency(scenario, model.catalog)),  # population balances
        "digits_by_currency": {c: minor_unit(c) for c in sorted(model.currencies_seen)},
        "rounding": scenario.billing.rounding,
        "requests": model.requests,
        "completed": model.completed,
        "invariant_violations": {"total": model.violations,
                                 "by_rule": dict(sorted(model.violations_by_rule.items()))},
        "tables": tables,
        "scenario": scenario_to_dict(scenario),
    }
    write_json_atomic(partial / "manifest.json", manifest)
    return RunResult(partial, manifest, model.requests, model.completed, model.violations,
                     model.events, time.perf_counter() - started, rows)
