"""Benchmark of the QA harness: check throughput through cmd: and http:, export memory.

Prints three figures (issue 9 acceptance):

- cases/s of ``run_check`` through the ``cmd:`` adapter with the reference SUT
  (``examples/sut/sut.py --serve-stdin``), target >= 5,000/s;
- cases/s through ``http:`` (the reference SUT's ``--serve-http``), target >= 1,000/s;
- peak RSS of exporting 10^6 cases, target < 500 MB: :func:`sim.harness.export.export_cases`
  streaming 10^6 generated cases (casegen) through the exporter's spool, selection pass
  and coverage -- the writer the fleet exporter uses -- in a child process, so its RSS
  is its own; a fleet of 10^6 cases would need ~3 million simulated tenants;
- peak RSS and time of a real fleet export (``export_from_scenario`` on the baseline
  scenario, ``--fleet-tenants``, default 20,000), also in a child process.

The harness and the SUT run as two processes: on a 2-core machine shared with other
work, both figures depend on the neighbours. Cases are generated before timing.

    .venv/bin/python bench/bench_check.py                       # 20,000 cases each
    .venv/bin/python bench/bench_check.py --cases 5000 --export 100000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.harness.adapters import CommandAdapter, HttpAdapter
from sim.harness.casegen import generate_cases
from sim.harness.cases import evaluate_json
from sim.harness.check import CheckOptions, run_check

ROOT = Path(__file__).resolve().parent.parent
SUT = ROOT / "examples" / "sut" / "sut.py"
TARGETS = {"cmd": 5_000, "http": 1_000}
EXPORT_RSS_TARGET_MB = 500

EXPORT_CHILD = """
import resource, sys, tempfile
from pathlib import Path
from sim.harness.casegen import generate_cases
from sim.harness.export import export_cases
n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as folder:
    report = export_cases(generate_cases(n, seed=1), Path(folder) / "out", stratify=5)
print(report["exported"], report["cases"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
FLEET_CHILD = """
import resource, sys, tempfile
from pathlib import Path
from sim.cli.common import find_scenario
from sim.fleet.scenario import load_scenario
from sim.harness.export import export_from_scenario
scenario = load_scenario(find_scenario("baseline"), [f"run.tenants={sys.argv[1]}"])
with tempfile.TemporaryDirectory() as folder:
    report, _ = export_from_scenario(scenario, Path(folder) / "out", stratify=20)
print(report["exported"], report["cases"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _valid_cases(n: int) -> list[dict]:
    return [case for case in generate_cases(n, seed=2026) if "error" not in evaluate_json(case)]


def _time_check(adapter, cases: list[dict], label: str) -> float:
    with tempfile.TemporaryDirectory() as folder, adapter:
        started = time.perf_counter()
        result = run_check(cases, adapter, Path(folder) / "out", CheckOptions(shrink=False))
        seconds = time.perf_counter() - started
    rate = result.cases / seconds
    print(f"{label:<6} {result.cases:>8} cases in {seconds:6.2f} s = {rate:>8,.0f} cases/s "
          f"(target >= {TARGETS[label]:,}; exit {result.exit_status})")
    return rate


def _http_adapter() -> tuple[subprocess.Popen, HttpAdapter]:
    process = subprocess.Popen([sys.executable, str(SUT), "--serve-http", "0"],
                               stderr=subprocess.PIPE, text=True)
    url = process.stderr.readline().split("serving on ", 1)[1].strip()
    return process, HttpAdapter(url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--export", type=int, default=1_000_000, help="cases to export")
    parser.add_argument("--fleet-tenants", type=int, default=20_000)
    args = parser.parse_args(argv)
    cases = _valid_cases(args.cases)
    _time_check(CommandAdapter(f"{sys.executable} {SUT} --serve-stdin"), cases, "cmd")
    process, adapter = _http_adapter()
    try:
        _time_check(adapter, cases, "http")
    finally:
        process.kill()
        process.wait()
    for label, code, size in (("export", EXPORT_CHILD, args.export),
                              ("fleet", FLEET_CHILD, args.fleet_tenants)):
        started = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", code, str(size)], capture_output=True,
                               text=True, cwd=ROOT, check=True)
        exported, selected, rss_kb = map(int, child.stdout.split())
        source = "generated cases" if label == "export" else f"cases of {size:,} tenants"
        print(f"{label:<6} {exported:>8} {source} in {time.perf_counter() - started:6.1f} s, "
              f"{selected} kept by --stratify, peak RSS {rss_kb / 1024:,.0f} MB "
              f"(target < {EXPORT_RSS_TARGET_MB} MB)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"harness process (check) peak RSS {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
