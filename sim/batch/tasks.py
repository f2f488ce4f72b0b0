"""One unit of batch work: a scenario at one seed, run and summarised.

A :class:`Task` carries everything its result depends on (the scenario as a plain dict,
the seed, the fleet size, where its records go), so :func:`run_task` is a pure function
of it: the same task gives the same metrics on any worker, process or machine. The
metrics are the flat metrics of ``summary.json`` (:func:`sim.report.summarise`) plus the
peak-period metrics of :mod:`sim.batch.peak`.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Task", "TaskResult", "run_task", "task_scenario"]

TaskResult = dict[str, Any]  # {"key", "seed", "metrics": {name: {"value", "unit"}}}


@dataclass(frozen=True)
class Task:
    """`scenario` (plain dict, as ``scenario_to_dict``) run at `seed` with `tenants`.

    `key` orders results (e.g. (point, replication)); `out_dir` keeps the run's records
    and its summary.json there (None: a temporary directory, removed afterwards).
    `peak_window` is ``month-end:K`` or ``busiest:K`` (:mod:`sim.batch.peak`).
    """

    key: tuple[int, ...]
    scenario: dict[str, Any]
    seed: int
    tenants: int | None = None
    out_dir: str | None = None
    record_format: str = "parquet"
    peak_window: str = "month-end:3"
    labels: dict[str, Any] = field(default_factory=dict)  # e.g. the sweep point's values


def task_scenario(task: Task) -> Any:
    """The validated Scenario of `task` (its seed and fleet size applied)."""
    from ..fleet.scenario import scenario_from_dict

    raw = copy.deepcopy(task.scenario)
    raw.setdefault("run", {})["seed"] = task.seed
    if task.tenants is not None:
        raw["run"]["tenants"] = task.tenants
    return scenario_from_dict(raw)


def _summarise(directory: Path, peak_window: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from ..report.records import load_run
    from ..report.stats import summarise
    from .peak import parse_window, peak_metrics

    records = load_run(directory)
    metrics = dict(summarise(records).metrics)
    metrics.update(peak_metrics(records, parse_window(peak_window)))
    manifest = records.manifest
    info = {key: manifest.get(key) for key in ("scenario_name", "seed", "tenants", "currency",
                                               "rounding", "record_format", "version")}
    info["scenario"] = info.pop("scenario_name")
    info["question"] = manifest["scenario"]["meta"].get("question", "")
    return metrics, info


def run_task(task: Task) -> TaskResult:
    """Run `task`'s scenario and return its metrics (and write summary.json if kept)."""
    from ..fleet.records import write_json_atomic
    from ..fleet.runner import run_scenario

    scenario = task_scenario(task)
    if task.out_dir is not None:
        directory = Path(task.out_dir)
        run_scenario(scenario, directory, fmt=task.record_format)
        metrics, info = _summarise(directory, task.peak_window)
        write_json_atomic(directory / "summary.json",
                          {"format": 1, "run": info, "metrics": metrics})
    else:
        with tempfile.TemporaryDirectory(prefix="planshift-task-") as temporary:
            directory = Path(temporary) / "run"
            run_scenario(scenario, directory, fmt=task.record_format)
            metrics, _info = _summarise(directory, task.peak_window)
    return {"key": list(task.key), "seed": task.seed, "labels": dict(task.labels),
            "metrics": metrics}
