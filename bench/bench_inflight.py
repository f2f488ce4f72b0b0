"""What one request waiting for a change worker holds in memory (issue 11, 10M tenants).

A saturated fleet (more switch work than its workers can do) keeps its queued requests
alive until a worker takes them: each is a SimPy process (a suspended generator) with
its tenant's domain objects, change row, random streams and credit-check life. This
script runs a fleet whose queue grows (default: 300,000 tenants, one worker), then walks
the objects reachable from a queued request's process, leaving out what the run shares
(the model, catalog, scenario, population, interned and widely shared strings, code),
and prints their ``sys.getsizeof`` bytes by type; then the process's RSS per request
in flight at the horizon, which adds allocator overhead and fragmentation.

    .venv/bin/python bench/bench_inflight.py
    .venv/bin/python bench/bench_inflight.py --tenants 200000 --set capacity.workers=1
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import types
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "sim/fleet/scenarios" / "baseline.toml"
SHARED_TYPES = {"FleetModel", "Environment", "Scenario", "Catalog", "Population", "Plan",
                "PriceList", "_Workers", "ndarray", "array", "method_descriptor",
                "builtin_function_or_method", "code", "LifeRates", "Clock", "frozenset",
                "NoneType", "bool"}
SHARED_KINDS = (type, types.ModuleType, types.FunctionType, types.CodeType,
                types.BuiltinFunctionType)


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def held_by(process: object, model: object) -> Counter:
    """Bytes by type of the objects reachable from `process`, without shared ones."""
    seen: set[int] = set()
    sizes: Counter = Counter()
    stack = [process]
    while stack:
        item = stack.pop()
        if (id(item) in seen or item is model or isinstance(item, SHARED_KINDS)
                or type(item).__name__ in SHARED_TYPES):
            continue
        if isinstance(item, str) and sys.getrefcount(item) > 20:
            continue  # interned or shared by many rows (plan ids, codes, dates' text)
        seen.add(id(item))
        sizes[type(item).__name__] += sys.getsizeof(item)
        if isinstance(item, types.MethodType):
            stack.append(item.__self__)
            continue
        stack.extend(gc.get_referents(item))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=300_000)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="scenario override (repeatable)")
    args = parser.parse_args(argv)
    from sim.fleet.runner import simulate
    from sim.fleet.scenario import load_scenario

    overrides = args.overrides or ["capacity.workers=1"]
    scenario = load_scenario(SCENARIO, [f"run.tenants={args.tenants}", *overrides])
    before = _rss_mib()
    started = time.perf_counter()
    seen: dict[str, object] = {}
    holder: list = []

    def at_horizon(fraction: float) -> None:
        # The last progress call comes before the run lets its open requests go.
        if fraction >= 1.0 and holder:
            model = holder[0]
            queue = model.workers.queue
            seen.update(queued=len(queue), tenants=len(model.tenants), rss=_rss_mib())
            if queue:
                request = queue[len(queue) // 2]
                process = next(callback.__self__ for callback in request.callbacks
                               if type(callback.__self__).__name__ == "Process")
                seen["sizes"] = held_by(process, model)

    import sim.fleet.runner as runner

    original = runner.FleetModel

    class Spied(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            holder.append(self)

    runner.FleetModel = Spied
    try:
        model = simulate(scenario, progress=at_horizon)
    finally:
        runner.FleetModel = original
    queued = seen.get("queued", 0)
    print(f"{args.tenants:,} tenants ({', '.join(overrides)}): {model.requests:,} requests, "
          f"{queued:,} waiting for a worker at the horizon, {seen.get('tenants', 0):,} "
          f"tenants held; {time.perf_counter() - started:.1f} s")
    if not queued:
        print("no queue: give fewer workers (--set capacity.workers=1) or more tenants")
        return 1
    sizes = seen["sizes"]
    total = sum(sizes.values())
    print(f"one queued request holds {total:,} bytes (sys.getsizeof, by type):")
    for name, size in sizes.most_common(14):
        print(f"  {size:>6,}  {name}")
    grown = seen["rss"] - before
    print(f"process RSS grew {grown:,.0f} MiB during the run: "
          f"{grown * 2**20 / queued:,.0f} bytes per queued request, including the "
          "population columns and allocator overhead")
    return 0


if __name__ == "__main__":
    sys.exit(main())
