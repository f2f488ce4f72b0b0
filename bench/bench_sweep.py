"""Parallel efficiency of a sweep, and what a task costs through each executor.

    python bench/bench_sweep.py                  # 16-task sweep at 2,000 tenants
    python bench/bench_sweep.py --tenants 5000 --days 90 --no-dask

Prints (1) the wall time of a 16-task sweep (4 worker counts x 4 replications of
month-end-surge) with --jobs 1 and --jobs 2 and the speed-up (target >= 1.8x on two
cores), each including its pool's start-up; (2) the per-task overhead of the process
pool and of a Dask LocalCluster (``dask://local``), measured with tasks that do nothing,
after each executor has started, and each executor's start-up time; (3) the same sweep
through dask://local with two workers. The machine may be shared: the script prints the
load average before and after, and figures taken under load are not the machine's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _nothing(task: int) -> int:
    return task


def _sweep(scenario, out: Path, jobs: int, spec: str | None = None) -> float:
    from sim.batch.sweep import parse_vary, run_sweep

    started = time.perf_counter()
    result = run_sweep(scenario, out, [parse_vary("capacity.workers=1,2,3,4")], 4, jobs=jobs,
                       executor_spec=spec)
    assert result.complete and result.tasks_run == 16
    return time.perf_counter() - started


def _overhead(spec: str | None, jobs: int, tasks: int) -> tuple[float, float]:
    """(start-up seconds, seconds per no-op task) of an executor."""
    from sim.batch.executor import make_executor, run_tasks

    started = time.perf_counter()
    pool = make_executor(spec, jobs)
    run_tasks(pool, _nothing, range(jobs * 2), key=lambda n: n)  # workers up and warm
    ready = time.perf_counter()
    run_tasks(pool, _nothing, range(tasks), key=lambda n: n)
    per_task = (time.perf_counter() - ready) / tasks
    pool.shutdown(wait=True)
    return ready - started, per_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    from sim.cli.common import find_scenario
    from sim.fleet.scenario import load_scenario

    scenario = load_scenario(find_scenario("month-end-surge"),
                             [f"run.tenants={args.tenants}", f"run.horizon_days={args.days}"])
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    work = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        one = _sweep(scenario, work / "one", 1)
        two = _sweep(scenario, work / "two", 2)
        same = ((work / "one" / "sweep.parquet").read_bytes()
                == (work / "two" / "sweep.parquet").read_bytes())
        print(f"16-task sweep ({args.tenants} tenants, {args.days} days): jobs 1 {one:.1f} s, "
              f"jobs 2 {two:.1f} s, speed-up {one / two:.2f}x (target >= 1.8x); tables "
              f"identical: {same}")
        startup, per_task = _overhead(None, 2, 400)
        print(f"process pool: start-up {startup:.2f} s, {per_task * 1e3:.2f} ms per no-op task")
        if not args.no_dask:
            from sim.batch.executor import ExecutorError

            try:
                startup, per_task = _overhead("dask://local", 2, 400)
            except ExecutorError as error:  # the optional extra is not installed
                print(f"dask://local: unavailable ({error})")
            else:
                print(f"dask://local: start-up {startup:.2f} s, {per_task * 1e3:.2f} ms per "
                      "no-op task")
                dask = _sweep(scenario, work / "dask", 2, "dask://local")
                same = ((work / "one" / "sweep.parquet").read_bytes()
                        == (work / "dask" / "sweep.parquet").read_bytes())
                print(f"16-task sweep through dask://local (2 workers): {dask:.1f} s; table "
                      f"identical: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
