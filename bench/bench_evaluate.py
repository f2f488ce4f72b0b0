"""Benchmark of ``planshift evaluate``: verdicts per second on one core, the real CLI path.

Generates cases with :func:`sim.harness.casegen.generate_cases` and writes them as a
JSON Lines file (not timed). Then times the command itself, ``sim.cli.main(["evaluate",
FILE, "--out", OUT, "-q"])``, in this process and thread (``--pin CPU`` also pins it to
one CPU): file in, verdict lines out, exactly the code ``planshift evaluate`` runs
(reading, the typed decoder, the strict fallback, evaluation, rendering, the atomic
``--out``). Each of ``--repeat`` runs reports wall-clock and CPU time; the figure is the
best run (the machine is shared: the others measure the neighbours). Interpreter
start-up is not included; one more run in a child process (skip it: ``--no-child``)
gives the whole command's wall time and its peak RSS (VmHWM of that child).

The stage split times, in CPU time (less the cost of one clock reading) over a sample,
the three stages of the fast road one by one: decode
(:func:`sim.harness.case_types.decode_case`: msgspec, semantic checks, domain objects),
evaluate (:func:`sim.harness.cases.evaluate`) and render
(:func:`sim.harness.case_render.verdict_line`); and, for comparison, the strict road
(``json.loads`` + ``parse_case``, ``verdict_to_json`` + ``json.dumps``) that error and
unusual lines take.

    .venv/bin/python bench/bench_evaluate.py --pin 1              # 100,000 cases
    .venv/bin/python bench/bench_evaluate.py --cases 20000 --out /tmp/verdicts.jsonl

``--out`` keeps the verdict lines of the last run for byte-for-byte comparisons of the
output before and after an optimisation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.cli import main as cli_main
from sim.harness.case_render import verdict_line
from sim.harness.case_types import decode_case
from sim.harness.casegen import generate_cases
from sim.harness.cases import Case, evaluate, parse_case, verdict_to_json

TARGET_PER_SECOND = 50_000  # issue 11
SEPARATORS = (", ", ": ")  # as sim.cli writes verdicts


def _pin(cpu: int | None) -> str:
    if cpu is None:
        return "not pinned to a CPU"
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _max_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB, macOS: bytes
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _cli_run(cases: Path, out: Path) -> tuple[float, float]:
    """One ``evaluate`` run in this process: wall-clock and CPU seconds."""
    start, cpu_start = time.perf_counter(), time.process_time()
    status = cli_main(["evaluate", str(cases), "--out", str(out), "-q"])
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if status != 0:
        print(f"evaluate exited {status} (some case gave an error record)")
    return elapsed, cpu


_CHILD = """
import resource, sys
from sim.cli import main
status = main(sys.argv[1:])
try:  # VmHWM: this process image's own peak (ru_maxrss survives exec: it would count
      # the pages of the forked parent)
    with open("/proc/self/status") as status_file:
        print(next(line.split()[1] for line in status_file if line.startswith("VmHWM")))
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform ==
                                                                 "darwin" else 1))
sys.exit(status)
"""


def _child_run(cases: Path, out: Path) -> tuple[float, float]:
    """The whole command in a child process: wall seconds and its peak RSS in MiB."""
    command = [sys.executable, "-c", _CHILD, "evaluate", str(cases), "--out", str(out), "-q"]
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, int(done.stdout.split()[-1]) / 1024


def _stages(lines: list[bytes]) -> dict[str, float]:
    """Seconds per stage over `lines`: the fast road's three, and the strict road's."""
    clock = time.process_time  # CPU time: the neighbours' share of the core is not ours
    calls = 20_000
    start = clock()
    for _ in range(calls):
        clock()
    reading = (clock() - start) / calls  # each interval below holds about one reading
    spent = dict.fromkeys(("decode", "evaluate", "render", "strict parse", "strict render"),
                          -reading * len(lines))
    for line in lines:
        t0 = clock()
        case = Case(*decode_case(line))  # type: ignore[misc]
        t1 = clock()
        verdict = evaluate(case)
        t2 = clock()
        verdict_line(verdict)
        t3 = clock()
        parse_case(json.loads(line))
        t4 = clock()
        json.dumps(verdict_to_json(verdict), separators=SEPARATORS)
        t5 = clock()
        spent["decode"] += t1 - t0
        spent["evaluate"] += t2 - t1
        spent["render"] += t3 - t2
        spent["strict parse"] += t4 - t3
        spent["strict render"] += t5 - t4
    return spent


def _report_runs(runs: list[tuple[float, float]], count: int) -> None:
    for index, (elapsed, cpu) in enumerate(runs, 1):
        print(f"  run {index}: {count / elapsed:,.0f} verdicts/s wall ({elapsed:.2f} s), "
              f"{count / cpu:,.0f} verdicts/s CPU ({cpu:.2f} s)")
    best_wall = min(elapsed for elapsed, _ in runs)
    best_cpu = min(cpu for _, cpu in runs)
    median_cpu = statistics.median(cpu for _, cpu in runs)
    rate = count / best_cpu
    verdict = "meets" if rate >= TARGET_PER_SECOND else "BELOW"
    print(f"evaluate CLI, {count:,} cases: best {count / best_wall:,.0f} verdicts/s wall, "
          f"best {rate:,.0f} verdicts/s CPU ({best_cpu / count * 1e6:.1f} us/case; "
          f"median {count / median_cpu:,.0f}/s); {verdict} the {TARGET_PER_SECOND:,}/s "
          "target on CPU time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--repeat", type=int, default=3, help="timed CLI runs (default 3)")
    parser.add_argument("--sample", type=int, default=20_000,
                        help="cases in the stage-split pass (default 20000)")
    parser.add_argument("--out", metavar="FILE", help="keep the verdict JSON Lines here")
    parser.add_argument("--no-child", action="store_true",
                        help="skip the child-process run (whole command, peak RSS)")
    parser.add_argument("--pin", type=int, metavar="CPU", help="pin the process to this CPU")
    args = parser.parse_args(argv)

    pinning = _pin(args.pin)
    with tempfile.TemporaryDirectory(prefix="bench_evaluate.") as folder:
        cases = Path(folder, "cases.jsonl")
        out = Path(args.out) if args.out else Path(folder, "verdicts.jsonl")
        start = time.perf_counter()
        with cases.open("w", encoding="utf-8") as handle:
            for case in generate_cases(args.cases, args.seed):
                handle.write(json.dumps(case) + "\n")
        size = cases.stat().st_size / 2**20
        print(f"generated {args.cases:,} cases (seed {args.seed}, {size:.1f} MiB JSON Lines) "
              f"in {time.perf_counter() - start:.1f} s; {pinning}; "
              f"Python {sys.version.split()[0]}")
        lines = cases.read_bytes().splitlines()[: args.sample]
        warm = Path(folder, "warm.jsonl")
        warm.write_bytes(b"\n".join(lines[:200]) + b"\n")
        _cli_run(warm, out)  # imports, catalog, currencies, holidays: outside the timing

        runs = [_cli_run(cases, out) for _ in range(args.repeat)]
        _report_runs(runs, args.cases)
        if not args.no_child:
            wall, rss = _child_run(cases, Path(folder, "child.jsonl"))
            print(f"whole command in a child process (start-up included): {wall:.2f} s wall, "
                  f"{args.cases / wall:,.0f} verdicts/s; peak RSS {rss:.1f} MiB")
        print(f"this process's peak RSS: {_max_rss_mib():.1f} MiB")

        spent = _stages(lines)
        fast = spent["decode"] + spent["evaluate"] + spent["render"]
        per_case = 1e6 / len(lines)
        shares = ", ".join(f"{name} {spent[name] * per_case:.1f} us "
                           f"{spent[name] / fast:.0%}" for name in ("decode", "evaluate",
                                                                     "render"))
        print(f"stage split over {len(lines):,} cases (fast road): {shares}; "
              f"strict road for comparison: parse {spent['strict parse'] * per_case:.1f} us, "
              f"render {spent['strict render'] * per_case:.1f} us")
        if args.out:
            print(f"verdict lines of the last run in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
