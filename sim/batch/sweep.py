"""Sweeps: a grid of scenario variations x replications, as one tidy table.

``--vary capacity.workers=1,2,4,8`` lists values (TOML syntax each), ``--vary
demand.request_share=0.3:0.6:0.1`` a range (start:stop:step, stop included, computed in
Decimal so 0.1 steps do not drift). The grid is the product of the --vary options in the
order given; every point runs the same replication seeds (:mod:`sim.batch.replicate`:
common random numbers). Each finished task's metrics are written at once, atomically, to
``DIR/tasks/pNNN-rNNN.json``; a sweep started again on the same DIR with the same
configuration skips the tasks already there, so an interrupted sweep resumes. The table
``DIR/sweep.parquet`` + ``DIR/sweep.csv`` (one row per point x replication x metric) is
assembled from the task files in key order, so it is byte-identical however the sweep
was split, interrupted or run; ``DIR/points.csv`` has each point's mean and interval and
``DIR/plots/`` each chosen metric against the first varied parameter, with its band.
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .executor import executor_scope, run_tasks
from .replicate import aggregate_results, replication_seeds
from .tasks import Task, TaskResult, run_task

__all__ = ["MARKER", "PLOT_METRICS", "SweepError", "SweepResult", "Vary", "parse_vary",
           "run_sweep", "sweep_points"]

MARKER = "planshift_sweep"
PLOT_METRICS = ("queue_wait.p95", "peak.queue_wait.p95", "capacity.utilisation.time_mean",
                "sla.breach_share")


MAX_TASKS = 100_000  # points x replications of one sweep


class SweepError(ValueError):
    """A bad --vary option or a DIR that holds something else (exit status 2)."""


@dataclass(frozen=True)
class Vary:
    key: str
    values: tuple[Any, ...]


@dataclass
class SweepResult:
    directory: Path
    complete: bool
    tasks_run: int
    tasks_total: int
    points: list[dict[str, Any]]
    results: list[TaskResult]


def _value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()  # a bare word, as --set takes it


def _range(key: str, text: str) -> tuple[Any, ...]:
    parts = text.split(":")
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts)
    except (InvalidOperation, ValueError):
        raise SweepError(f"--vary {key}={text}: a range is start:stop:step, three "
                         "numbers") from None
    if not all(number.is_finite() for number in (start, stop, step)):
        raise SweepError(f"--vary {key}={text}: start, stop and step must be finite numbers")
    if step <= 0 or stop < start:
        raise SweepError(f"--vary {key}={text}: needs step > 0 and stop >= start")
    count = int((stop - start) / step) + 1
    if count > 10_000:
        raise SweepError(f"--vary {key}={text}: {count} values is too many")
    whole = all("." not in p and "e" not in p.lower() for p in parts)
    return tuple(int(start + i * step) if whole else float(start + i * step)
                 for i in range(count))


def parse_vary(text: str) -> Vary:
    """``key.path=v1,v2,...`` or ``key.path=start:stop:step``."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip() or not all(key.split(".")):
        raise SweepError(f"--vary {text}: expected key.path=v1,v2,... or key.path="
                         "start:stop:step")
    if ":" in values and "," not in values:
        return Vary(key, _range(key, values))
    parsed = tuple(_value(v) for v in values.split(","))
    if len(set(map(repr, parsed))) != len(parsed):
        raise SweepError(f"--vary {text}: a value is listed twice")
    return Vary(key, parsed)


def _set(raw: dict[str, Any], key: str, value: Any) -> None:
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SweepError(f"--vary {key}: {part} is not a table")
        node = child
    node[parts[-1]] = value


def sweep_points(base: dict[str, Any], varies: Sequence[Vary]) -> list[dict[str, Any]]:
    """The grid's points ({key: value}), each checked as a scenario before anything runs."""
    from ..fleet.scenario import ScenarioError, scenario_from_dict

    keys = [vary.key for vary in varies]
    if len(set(keys)) != len(keys):
        raise SweepError("--vary: the same key is varied twice")
    points = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*(vary.values for vary in varies))]
    for point in points:
        raw = json.loads(json.dumps(base))
        for key, value in point.items():
            _set(raw, key, value)
        try:
            scenario_from_dict(raw)
        except ScenarioError as error:
            raise SweepError(f"--vary {', '.join(f'{k}={v}' for k, v in point.items())}: "
                             f"{error}") from None
    return points


def _point_scenario(base: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    raw = json.loads(json.dumps(base))
    for key, value in point.items():
        _set(raw, key, value)
    return raw


def _prepare(out: Path, config: dict[str, Any]) -> None:
    """DIR must be absent, empty or a sweep of the same configuration (then it resumes)."""
    from ..fleet.records import write_json_atomic

    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SweepError(f"{out}: exists and is not a directory; choose another --out")
    if out.exists() and any(out.iterdir()):
        try:
            existing = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            existing = None
        if not isinstance(existing, dict) or existing.get(MARKER) is not True:
            raise SweepError(f"{out}: directory exists and does not hold a planshift sweep; "
                             "refusing to write into it, choose another --out")
        if existing != config:
            raise SweepError(f"{out}: holds a sweep of another configuration (scenario, "
                             "--vary, --replications, --tenants or peak window differ); "
                             "choose another --out")
        return
    try:
        (out / "tasks").mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "sweep.json", config)
    except OSError as error:
        raise SweepError(f"{out}: cannot create the sweep directory "
                         f"({error.strerror or error}); choose another --out") from None


def _task_path(out: Path, key: tuple[int, ...]) -> Path:
    return out / "tasks" / f"p{key[0]:03d}-r{key[1]:03d}.json"


def _finished(out: Path, task: Task) -> bool:
    try:
        stored = json.loads(_task_path(out, task.key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stored.get("key") == list(task.key) and stored.get("seed") == task.seed


def run_sweep(scenario: Any, out_dir: str | Path, varies: Sequence[Vary], replications: int,
              jobs: int | None = None, executor: Executor | None = None, *,
              executor_spec: str | None = None, tenants: int | None = None,
              confidence: float = 0.95, peak_window: str = "month-end:3",
              plot_metrics: Sequence[str] = PLOT_METRICS, max_tasks: int | None = None,
              on_task: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run (or resume) the sweep into `out_dir`; `max_tasks` stops after that many new tasks."""
    from ..fleet.records import write_json_atomic
    from ..fleet.scenario import scenario_to_dict

    if not varies:
        raise SweepError("sweep needs at least one --vary")
    out = Path(out_dir).absolute()
    base = scenario_to_dict(scenario)
    size = math.prod(len(vary.values) for vary in varies)
    if size * replications > MAX_TASKS:  # before building the grid
        raise SweepError(f"--vary x --replications: {size:,} point(s) x {replications:,} "
                         f"replication(s) is {size * replications:,} tasks, above the "
                         f"limit {MAX_TASKS:,}; vary fewer values")
    points = sweep_points(base, varies)
    seeds = replication_seeds(scenario.run.seed, replications)
    config = {MARKER: True, "format": 1, "scenario": base, "tenants": tenants,
              "vary": [{"key": v.key, "values": list(v.values)} for v in varies],
              "replications": replications, "seeds": seeds, "peak_window": peak_window}
    _prepare(out, config)
    tasks = [Task((p, r), _point_scenario(base, point), seed, tenants, None, "parquet",
                  peak_window, point)
             for p, point in enumerate(points) for r, seed in enumerate(seeds)]
    pending = [task for task in tasks if not _finished(out, task)]
    done_count = [len(tasks) - len(pending)]  # finished before this call
    if max_tasks is not None:
        pending = pending[:max_tasks]

    def store(task: Task, result: TaskResult) -> None:
        write_json_atomic(_task_path(out, task.key), result)
        done_count[0] += 1
        if on_task is not None:
            on_task(done_count[0], len(tasks))

    if pending:
        with executor_scope(executor, executor_spec, jobs) as pool:
            run_tasks(pool, run_task, pending, key=lambda task: task.key, done=store)
    complete = all(_finished(out, task) for task in tasks)
    results = ([json.loads(_task_path(out, t.key).read_text(encoding="utf-8")) for t in tasks]
               if complete else [])
    if complete:
        from .tables import write_sweep_outputs

        size = tenants if tenants is not None else scenario.run.tenants
        label = (f"{scenario.meta.name}, seed {scenario.run.seed}, {size:,} tenants, "
                 f"{replications} replications per point")
        write_sweep_outputs(out, varies, points, results, replications, confidence,
                            plot_metrics, label)
    return SweepResult(out, complete, len(pending), len(tasks), points, results)


def point_aggregates(points: Sequence[dict[str, Any]], results: Sequence[TaskResult],
                     replications: int, confidence: float) -> list[dict[str, dict[str, Any]]]:
    """Each point's metrics aggregated over its replications (results in key order)."""
    return [aggregate_results(results[p * replications:(p + 1) * replications], confidence)
            for p in range(len(points))]
