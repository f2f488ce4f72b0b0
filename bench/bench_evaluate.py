"""Benchmark of the ``run_sim.py evaluate`` path: verdicts per second on one core.

Generates cases with :func:`sim.harness.casegen.generate_cases` and serialises them to JSON
Lines in memory (not timed). Then, in this one process and thread (``--pin CPU`` also
pins it to one CPU), times the full per-case path of ``run_sim.py evaluate``:
``json.loads -> evaluate_json -> json.dumps``, in wall-clock and CPU time. Figures
need an otherwise idle core: a busy neighbour on a sibling hyperthread slows the
process by up to half without showing up as lost CPU time.

A second, shorter pass over a sample splits the time into parse (``json.loads`` +
``parse_case``), evaluate (``evaluate``) and render (``verdict_to_json`` +
``json.dumps``). Peak memory is the process's ``ru_maxrss`` (which includes the input
held in memory); ``--tracemalloc`` adds the peak of traced Python allocations during a
pass over the sample, which stays tiny when nothing accumulates from case to case.

    .venv/bin/python bench/bench_evaluate.py              # 100,000 cases
    .venv/bin/python bench/bench_evaluate.py --cases 20000 --out /tmp/verdicts.jsonl

``--out`` writes the verdict lines (after timing) for byte-for-byte comparisons of
the output before and after an optimisation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc

from sim.harness.casegen import generate_cases
from sim.harness.cases import evaluate, evaluate_json, parse_case, verdict_to_json

TARGET_PER_SECOND = 10_000
SEPARATORS = (", ", ": ")  # as sim.cli writes verdicts


def _pin(cpu: int | None) -> str:
    if cpu is None:
        return "not pinned to a CPU"
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _max_rss_mib() -> float:
    # Linux reports kilobytes, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _full_path(lines: list[str], keep: bool) -> tuple[float, float, list[str], int]:
    """The timed loop: exactly what ``run_sim.py evaluate`` does per case.

    Returns wall-clock seconds, CPU seconds, the verdict lines (if `keep`) and the
    number of error records.
    """
    loads, dumps = json.loads, json.dumps
    out: list[str] = []
    errors = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for line in lines:
        record = evaluate_json(loads(line))
        text = dumps(record, separators=SEPARATORS)
        if "error" in record:
            errors += 1
        if keep:
            out.append(text)
    return time.perf_counter() - start, time.process_time() - cpu_start, out, errors


def _stages(lines: list[str]) -> tuple[float, float, float]:
    """Seconds spent in parse, evaluate and render over `lines`."""
    clock = time.perf_counter
    parse = evaluate_time = render = 0.0
    for line in lines:
        t0 = clock()
        case = parse_case(json.loads(line))
        t1 = clock()
        verdict = evaluate(case)
        t2 = clock()
        json.dumps(verdict_to_json(verdict), separators=SEPARATORS)
        t3 = clock()
        parse += t1 - t0
        evaluate_time += t2 - t1
        render += t3 - t2
    return parse, evaluate_time, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--sample", type=int, default=20_000,
                        help="cases in the stage-split and tracemalloc passes (default 20000)")
    parser.add_argument("--out", metavar="FILE", help="write the verdict JSON Lines here")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report the traced allocation peak of one sample pass")
    parser.add_argument("--pin", type=int, metavar="CPU", help="pin the process to this CPU")
    args = parser.parse_args(argv)

    pinning = _pin(args.pin)
    start = time.perf_counter()
    lines = [json.dumps(case) for case in generate_cases(args.cases, args.seed)]
    generated = time.perf_counter() - start
    input_mib = sum(len(line) for line in lines) / 2**20
    rss_before = _max_rss_mib()
    print(f"generated {len(lines):,} cases (seed {args.seed}, {input_mib:.1f} MiB JSON Lines) "
          f"in {generated:.1f} s; {pinning}; Python {sys.version.split()[0]}")

    # Warm the caches (catalog, currencies, countries, holidays) outside the timing.
    for line in lines[:100]:
        evaluate_json(json.loads(line))

    elapsed, cpu, out, errors = _full_path(lines, keep=args.out is not None)
    rate, cpu_rate = len(lines) / elapsed, len(lines) / cpu
    verdict = "meets" if rate >= TARGET_PER_SECOND else "BELOW"
    print(f"full path (json.loads -> evaluate_json -> json.dumps), {len(lines):,} cases: "
          f"{rate:,.0f} verdicts/s wall ({elapsed:.2f} s, {elapsed / len(lines) * 1e6:.1f} "
          f"us/case; {verdict} the {TARGET_PER_SECOND:,}/s target), {cpu_rate:,.0f} "
          f"verdicts/s CPU ({cpu:.2f} s); {errors} error record(s)")
    print(f"peak RSS (ru_maxrss): {_max_rss_mib():.1f} MiB "
          f"({rss_before:.1f} MiB after generating the input)")

    sample = lines[: args.sample]
    parse, evaluate_time, render = _stages(sample)
    total = parse + evaluate_time + render
    per_case = 1e6 / len(sample)
    print(f"stage split over {len(sample):,} cases: "
          f"parse {parse * per_case:.1f} us {parse / total:.0%} (json.loads + parse_case), "
          f"evaluate {evaluate_time * per_case:.1f} us {evaluate_time / total:.0%}, "
          f"render {render * per_case:.1f} us {render / total:.0%} "
          f"(verdict_to_json + json.dumps)")

    if args.tracemalloc:
        tracemalloc.start()
        _full_path(sample, keep=False)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"tracemalloc peak over a {len(sample):,}-case pass: {peak / 2**20:.2f} MiB")

    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.writelines(text + "\n" for text in out)
        print(f"wrote {len(out):,} verdict lines to {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
