"""Run-to-run regression: metric deltas with tolerances, and record-level identity.

``compare_runs(baseline, candidate, rtol, metrics)`` reads each run's summary.json
(building it from the records when missing), flags every metric whose relative change
exceeds `rtol`, and, for two runs of the same scenario and seed, says whether the
record files are identical and, if not, how many rows differ per table.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from .records import RunError, load_run

__all__ = ["Comparison", "MetricDelta", "compare_runs", "format_comparison"]


@dataclass
class MetricDelta:
    name: str
    unit: str
    baseline: Any
    candidate: Any
    delta: float | None
    relative: float | None
    flagged: bool


@dataclass
class Comparison:
    deltas: list[MetricDelta]
    same_scenario_and_seed: bool
    identical_records: bool | None = None
    rows_differing: dict[str, int] = field(default_factory=dict)

    @property
    def flagged(self) -> list[MetricDelta]:
        return [delta for delta in self.deltas if delta.flagged]


def _summary(directory: Path) -> dict[str, Any]:
    path = directory / "summary.json"
    if not path.is_file():
        from . import build_report

        build_report(directory)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunError(f"{path}: invalid JSON: {error}") from None


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return Decimal(int(value)) if isinstance(value, bool) else None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _delta(name: str, unit: str, a: Any, b: Any, rtol: float, atol: float) -> MetricDelta:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return MetricDelta(name, unit, a, b, None, None, a != b)
    delta = y - x
    scale = max(abs(x), abs(y))
    relative = float(abs(delta) / abs(x)) if x != 0 else (0.0 if delta == 0 else float("inf"))
    flagged = abs(delta) > Decimal(str(atol)) + Decimal(str(rtol)) * scale
    return MetricDelta(name, unit, a, b, float(delta), relative, flagged)


def compare_runs(baseline: str | Path, candidate: str | Path, rtol: float = 0.05,
                 metrics: list[str] | None = None, atol: float = 1e-9) -> Comparison:
    """Compare two run directories; `metrics` are names or glob patterns (default: all)."""
    base_dir, cand_dir = Path(baseline), Path(candidate)
    for directory in (base_dir, cand_dir):
        if not (directory / "manifest.json").is_file():
            raise RunError(f"{directory}: not a run directory (no manifest.json)")
    base, cand = _summary(base_dir), _summary(cand_dir)
    names = list(base["metrics"])
    names += [n for n in cand["metrics"] if n not in base["metrics"]]
    if metrics:
        unknown = [p for p in metrics if not any(fnmatch.fnmatchcase(n, p) for n in names)]
        if unknown:
            raise RunError(f"no metric matches {', '.join(unknown)}")
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in metrics)]
    deltas = []
    for name in names:
        a = base["metrics"].get(name, {}).get("value")
        b = cand["metrics"].get(name, {}).get("value")
        unit = (base["metrics"].get(name) or cand["metrics"].get(name))["unit"]
        deltas.append(_delta(name, unit, a, b, rtol, atol))
    base_manifest = json.loads((base_dir / "manifest.json").read_text(encoding="utf-8"))
    cand_manifest = json.loads((cand_dir / "manifest.json").read_text(encoding="utf-8"))
    same = (base_manifest["scenario"] == cand_manifest["scenario"]
            and base_manifest["seed"] == cand_manifest["seed"])
    comparison = Comparison(deltas, same)
    if same:
        _compare_records(base_dir, cand_dir, base_manifest, cand_manifest, comparison)
    return comparison


def _compare_records(base_dir: Path, cand_dir: Path, base_manifest: dict,
                     cand_manifest: dict, comparison: Comparison) -> None:
    base_tables, cand_tables = base_manifest["tables"], cand_manifest["tables"]
    comparison.identical_records = all(
        name in cand_tables and base_tables[name]["sha256"] == cand_tables[name]["sha256"]
        for name in base_tables) and set(base_tables) == set(cand_tables)
    if comparison.identical_records:
        return
    base_run, cand_run = load_run(base_dir), load_run(cand_dir)
    for name in sorted(set(base_tables) | set(cand_tables)):
        if base_tables.get(name, {}).get("sha256") == cand_tables.get(name, {}).get("sha256"):
            comparison.rows_differing[name] = 0
            continue
        left = base_run.tables.get(name, pd.DataFrame())
        right = cand_run.tables.get(name, pd.DataFrame())
        comparison.rows_differing[name] = _rows_differing(left, right)


def _rows_differing(left: pd.DataFrame, right: pd.DataFrame) -> int:
    """Rows present in one table and not the other, as multisets of whole rows."""
    columns = [c for c in left.columns if c in right.columns]
    if not columns:
        return max(len(left), len(right))
    left_hash = pd.util.hash_pandas_object(left[columns], index=False).value_counts()
    right_hash = pd.util.hash_pandas_object(right[columns], index=False).value_counts()
    both = left_hash.to_frame("l").join(right_hash.to_frame("r"), how="outer").fillna(0)
    return int((both["l"] - both["r"]).abs().sum())


def format_comparison(comparison: Comparison, only_flagged: bool = False) -> str:
    """A fixed-width table of the deltas; flagged rows are marked with '!'."""
    rows = [d for d in comparison.deltas if d.flagged or not only_flagged]
    width = max([len(d.name) for d in rows] + [6])
    lines = [f"  {'metric':<{width}}  {'baseline':>16}  {'candidate':>16}  {'delta':>14}  "
             f"{'rel':>8}  unit"]
    for d in rows:
        relative = "" if d.relative is None else (
            "inf" if d.relative == float("inf") else f"{d.relative:.2%}")
        delta = "" if d.delta is None else f"{d.delta:.6g}"
        mark = "!" if d.flagged else " "
        lines.append(f"{mark} {d.name:<{width}}  {_cell(d.baseline):>16}  "
                     f"{_cell(d.candidate):>16}  {delta:>14}  {relative:>8}  {d.unit}")
    lines.append(f"{len(comparison.flagged)} of {len(comparison.deltas)} metric(s) outside "
                 f"tolerance")
    if comparison.same_scenario_and_seed:
        if comparison.identical_records:
            lines.append("same scenario and seed: record files identical")
        else:
            detail = ", ".join(f"{name} {n}" for name, n in comparison.rows_differing.items())
            lines.append(f"same scenario and seed: record files differ (rows differing: "
                         f"{detail})")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
