"""Benchmark of the fleet simulator: tenants/s, SimPy events/s and peak memory per size.

For each fleet size (baseline scenario, 365 days) a fresh subprocess runs the scenario
the way ``run_sim.py run`` does (:func:`sim.fleet.runner.run_scenario`, Parquet records into
a temporary directory), or with ``--no-records`` through :func:`sim.fleet.runner.simulate`
with the no-op recorder. It reports wall and CPU seconds, tenants/s, SimPy events/s
and the process's peak RSS (``ru_maxrss``; one process per size, so each peak is that
size's own). Events are counted from SimPy's event ids (:attr:`FleetModel.events`), at
no cost per event.

Then, in the same subprocess, a bare SimPy reference: one toy process per tenant doing
about 16 timeouts a year over the same horizon. Its events/s is what SimPy itself does
on this machine; the ratio model/reference says how much of SimPy's speed the model
keeps (the model's events are fewer but each carries domain work).

    .venv/bin/python bench/bench_fleet.py                       # 10k and 100k tenants
    .venv/bin/python bench/bench_fleet.py --sizes 1000000       # a million, peak RSS
    .venv/bin/python bench/bench_fleet.py --sizes 1000000 --repeat 3 --no-reference
    .venv/bin/python bench/bench_fleet.py --no-records --pin 0
    .venv/bin/python bench/bench_fleet.py --sizes 10000000 --no-reference --set capacity.workers=40

Targets (issue 11, records written): 100,000 tenants in at most 3 s; 1,000,000 in at
most 30 s with peak RSS under 600 MiB; 10,000,000 complete with peak RSS under 2 GiB.
Records are encoded and compressed by a background thread, so a run uses a second core
for part of the time (CPU time can exceed wall time). On a busy machine the figures
vary by about a tenth from run to run; run a size twice before believing a verdict.

The baseline has 4 change workers, sized for 10,000 tenants: at 1,000,000 tenants the
switches need about 1.3 times the workers' time and at 10,000,000 about 13 times (0.13 at
100,000: 270,160 busy minutes of 4 x 525,600), so the queue (requests in flight, each
holding its tenant) grows all year. ``--set
capacity.workers=4000`` keeps the baseline's workers per tenant at 10,000,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "sim/fleet/scenarios" / "baseline.toml"
HORIZON_DAYS = 365
REFERENCE_TIMEOUTS_PER_YEAR = 16
# size -> (wall seconds at most, peak RSS MiB below); None: no target
TARGETS = {100_000: (3.0, None), 1_000_000: (30.0, 600.0), 10_000_000: (None, 2048.0)}
MINUTES_PER_DAY = 1440


def _max_rss_mib() -> float:
    # Linux reports kilobytes, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _events_processed(env) -> int:
    """Events a SimPy environment has processed: ids handed out minus those still queued."""
    return next(env._eid) - len(env._queue)


# ------------------------------------------------------------------ one size (child)


def _run_model(tenants: int, records: bool, overrides: list[str]) -> dict:
    from sim.fleet.allocator import prefer_system_allocator

    prefer_system_allocator()  # as `planshift run` does
    from sim.fleet.runner import run_scenario, simulate
    from sim.fleet.scenario import load_scenario

    scenario = load_scenario(SCENARIO, [f"run.tenants={tenants}",
                                        f"run.horizon_days={HORIZON_DAYS}", *overrides])
    marks: list[tuple[float, float]] = []

    def mark(_: float) -> None:
        marks.append((time.perf_counter(), time.process_time()))

    start, cpu_start = time.perf_counter(), time.process_time()
    if records:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
            result = run_scenario(scenario, Path(tmp) / "run",
                                  progress=mark)
            written = sum(f.stat().st_size for f in (Path(tmp) / "run").rglob("*")
                          if f.is_file())
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        events, requests, violations = result.events, result.requests, result.violations
    else:
        model = simulate(scenario, progress=mark)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        events, requests, violations = model.events, model.requests, model.violations
        written = 0
    # The progress hook is called at each 1% of simulated time: from its first to its
    # last call is 99% of the simulation; what comes before is mostly the population.
    steps = len(marks)
    simulation = (marks[-1][0] - marks[0][0]) * steps / (steps - 1)
    simulation_cpu = (marks[-1][1] - marks[0][1]) * steps / (steps - 1)
    setup = marks[0][0] - start - simulation / steps
    setup_cpu = marks[0][1] - cpu_start - simulation_cpu / steps
    return {"tenants": tenants, "records": records, "wall": wall, "cpu": cpu,
            "setup": setup, "setup_cpu": setup_cpu, "simulation": simulation,
            "simulation_cpu": simulation_cpu, "events": events,
            "requests": requests, "violations": violations, "bytes": written,
            "rss_mib": _max_rss_mib()}


def _tenant(env, rng: random.Random, mean_gap: float):
    """The toy tenant: wait, wait again, ... (no domain work at all)."""
    while True:
        yield env.timeout(rng.expovariate(1.0 / mean_gap))


def _run_reference(tenants: int) -> dict:
    import simpy

    env = simpy.Environment()
    rng = random.Random(0)
    mean_gap = HORIZON_DAYS * MINUTES_PER_DAY / REFERENCE_TIMEOUTS_PER_YEAR
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(tenants):
        env.process(_tenant(env, rng, mean_gap))
    env.run(until=HORIZON_DAYS * MINUTES_PER_DAY)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {"events": _events_processed(env), "wall": wall, "cpu": cpu}


def _child(tenants: int, records: bool, reference: bool, overrides: list[str]) -> None:
    result = _run_model(tenants, records, overrides)
    if reference:
        result["reference"] = _run_reference(tenants)
    print(json.dumps(result))


# ------------------------------------------------------------------------ the report


def _measure(tenants: int, records: bool, reference: bool, pin: int | None,
             overrides: list[str]) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(tenants),
               "--records" if records else "--no-records"]
    for override in overrides:
        command += ["--set", override]
    if not reference:
        command.append("--no-reference")
    if pin is not None:
        command += ["--pin", str(pin)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tenants} tenants failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(result: dict) -> str:
    tenants, wall, cpu = result["tenants"], result["wall"], result["cpu"]
    events = result["events"]
    pad = " " * 11
    lines = [
        f"{tenants:>9,} tenants: {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(setup {result['setup']:.1f} s wall / {result['setup_cpu']:.1f} s CPU, "
        f"simulation {result['simulation']:.1f} / {result['simulation_cpu']:.1f} s); "
        f"{result['requests']:,} requests, {result['violations']} violations, "
        f"{result['bytes'] / 2**20:.1f} MiB written",
        f"{pad}{tenants / wall:,.0f} tenants/s wall ({tenants / cpu:,.0f} CPU); "
        f"{events:,} events: {events / wall:,.0f} events/s wall ({events / cpu:,.0f} CPU), "
        f"{events / result['simulation_cpu']:,.0f} events/s CPU in the simulation",
        f"{pad}peak RSS {result['rss_mib']:,.0f} MiB",
    ]
    reference = result.get("reference")
    if reference:
        rate, cpu_rate = reference["events"] / reference["wall"], \
            reference["events"] / reference["cpu"]
        lines.append(
            f"{pad}reference (bare SimPy, {REFERENCE_TIMEOUTS_PER_YEAR} timeouts per tenant "
            f"per year): {reference['events']:,} events in {reference['wall']:.1f} s wall "
            f"({reference['cpu']:.1f} s CPU): {rate:,.0f} events/s wall ({cpu_rate:,.0f} CPU)")
        lines.append(
            f"{pad}model/reference events/s: {events / wall / rate:.2f} end to end (wall), "
            f"{events / cpu / cpu_rate:.2f} (CPU), "
            f"{events / result['simulation_cpu'] / cpu_rate:.2f} in the simulation (CPU)")
    seconds, rss = TARGETS.get(tenants, (None, None))
    if result["records"] and seconds is not None:
        verdict = "meets" if wall <= seconds else "MISSES"
        lines.append(f"{pad}{verdict} the {seconds:.0f} s target for {tenants:,} tenants "
                     f"with records ({wall:.1f} s wall, {cpu:.1f} s CPU)")
    if rss is not None:
        verdict = "meets" if result["rss_mib"] < rss else "MISSES"
        lines.append(f"{pad}{verdict} the {rss:,.0f} MiB peak-RSS target for "
                     f"{tenants:,} tenants ({result['rss_mib']:,.0f} MiB)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="comma-separated fleet sizes (default 10000,100000)")
    parser.add_argument("--records", dest="records", action="store_true", default=True,
                        help="write real Parquet records to a temporary directory (default)")
    parser.add_argument("--no-records", dest="records", action="store_false",
                        help="no records (the no-op recorder)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        default=True, help="skip the bare SimPy reference")
    parser.add_argument("--pin", type=int, metavar="CPU", help="pin each run to this CPU")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="runs per size, each in its own subprocess; the figures are "
                             "the fastest run's (the others measure the neighbours), with "
                             "every run's wall time and the median (default 1)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="scenario override (repeatable)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    _pin(args.pin)
    if args.child is not None:
        _child(args.child, args.records, args.reference, args.overrides)
        return 0
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    print(f"baseline scenario, {HORIZON_DAYS} days, "
          f"{'Parquet records' if args.records else 'no records'}, one subprocess per size; "
          f"Python {sys.version.split()[0]}"
          + "".join(f", {override}" for override in args.overrides)
          + (f", pinned to CPU {args.pin}" if args.pin is not None else ""))
    for tenants in sizes:
        runs = [_measure(tenants, args.records, args.reference, args.pin, args.overrides)
                for _ in range(max(1, args.repeat))]
        best = min(runs, key=lambda run: run["wall"])
        print(_report(best), flush=True)
        if len(runs) > 1:
            walls = sorted(run["wall"] for run in runs)
            print(f"{' ' * 11}{len(runs)} runs, wall {', '.join(f'{w:.1f}' for w in walls)} s "
                  f"(median {statistics.median(walls):.1f} s); peak RSS up to "
                  f"{max(run['rss_mib'] for run in runs):,.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
