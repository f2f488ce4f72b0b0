"""How long reporting a run takes, and how much memory it needs next to its records.

    python bench/bench_report.py                 # simulate 100k tenants, then report
    python bench/bench_report.py --run-dir DIR   # report an existing run directory

Prints the seconds for load + summarise + render (target: at most 20 s for a
100,000-tenant run on this machine), the peak RSS of the reporting step measured in a
fresh process, and the size of the record files it read.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _report_in_child(run_dir: Path) -> dict:
    code = (
        "import json, resource, time, sys\n"
        "t = time.perf_counter()\n"
        "from sim.report import load_run, summarise, render\n"
        "from sim.report import run_info\n"
        "from pathlib import Path\n"
        f"d = Path({str(run_dir)!r})\n"
        "t0 = time.perf_counter(); records = load_run(d); t1 = time.perf_counter()\n"
        "summary = summarise(records); t2 = time.perf_counter()\n"
        "render(summary, d, run_info(records)); t3 = time.perf_counter()\n"
        "print(json.dumps({'load': t1 - t0, 'summarise': t2 - t1, 'render': t3 - t2,\n"
        "  'total_with_imports': t3 - t,\n"
        "  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="an existing run directory")
    parser.add_argument("--tenants", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir
        if run_dir is None:
            from sim.fleet.runner import run_scenario
            from sim.fleet.scenario import load_scenario

            scenario = load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                                     [f"run.tenants={args.tenants}"])
            run_dir = Path(tmp) / "run"
            started = time.perf_counter()
            run_scenario(scenario, run_dir)
            print(f"simulated {args.tenants:,} tenants in {time.perf_counter() - started:.1f} s")
        records_mb = sum(p.stat().st_size for p in (run_dir / "records").iterdir()) / 2**20
        manifest = json.loads((run_dir / "manifest.json").read_text())
        rows = {name: table["rows"] for name, table in manifest["tables"].items()}
        figures = _report_in_child(run_dir)
        print(f"records: {records_mb:.1f} MiB on disk, rows {rows}")
        print(f"report: load {figures['load']:.2f} s, summarise {figures['summarise']:.2f} s, "
              f"render {figures['render']:.2f} s, total {figures['total_with_imports']:.2f} s "
              f"(with imports; target <= 20 s)")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"report peak RSS: {figures['peak_rss_mb']:.0f} MiB (this process: {own:.0f} MiB)")


if __name__ == "__main__":
    main()
