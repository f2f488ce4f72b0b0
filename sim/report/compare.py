"""Run-to-run regression: metric deltas with tolerances, and record-level identity.

``compare_runs(baseline, candidate, rtol, metrics)`` reads each run's summary.json
(building it from the records when missing), flags every metric whose relative change
exceeds `rtol`, and, for two runs of the same scenario and seed, says whether the
record files are identical and, if not, how many rows differ per table. Both runs'
record files are first checked against their manifests (:mod:`sim.report.verify`), and
"identical" is decided on the files' own sha256, never on what the manifests claim.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from .format import format_metric, format_ratio
from .records import RunError, load_run
from .verify import VerifiedTable, read_manifest, verify_tables

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
    warnings: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[MetricDelta]:
        return [delta for delta in self.deltas if delta.flagged]


def _summary(directory: Path, verify: bool) -> dict[str, Any]:
    path = directory / "summary.json"
    if not path.is_file():
        from . import build_report

        build_report(directory, verify=verify)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise RunError(f"{path}: invalid JSON: {str(error)[:120]}") from None
    metrics = summary.get("metrics") if isinstance(summary, dict) else None
    if not isinstance(metrics, dict) or not all(isinstance(m, dict) for m in metrics.values()):
        raise RunError(f"{path}: no 'metrics' object of metric entries")
    return summary


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
                 metrics: list[str] | None = None, atol: float = 1e-9,
                 verify: bool = True) -> Comparison:
    """Compare two run directories; `metrics` are names or glob patterns (default: all).

    With `verify` (the default) both runs' record files must match their manifests'
    sha256 and row counts (RunError naming the damaged file otherwise).
    """
    if not (math.isfinite(rtol) and rtol >= 0) or not (math.isfinite(atol) and atol >= 0):
        raise RunError(f"tolerances must be finite numbers >= 0 (rtol {rtol}, atol {atol})")
    base_dir, cand_dir = Path(baseline), Path(candidate)
    base_manifest, cand_manifest = read_manifest(base_dir), read_manifest(cand_dir)
    base_files = verify_tables(base_dir, base_manifest, check=verify, hashes=True)
    cand_files = verify_tables(cand_dir, cand_manifest, check=verify, hashes=True)
    base, cand = _summary(base_dir, verify), _summary(cand_dir, verify)
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
        units = [str(side["metrics"][name].get("unit", "")) for side in (base, cand)
                 if name in side["metrics"]]
        if len(set(units)) > 1:  # e.g. two currencies: amounts are never subtracted
            deltas.append(MetricDelta(name, " vs ".join(units), a, b, None, None, True))
            continue
        deltas.append(_delta(name, units[0], a, b, rtol, atol))
    same = (base_manifest["scenario"] == cand_manifest["scenario"]
            and base_manifest["seed"] == cand_manifest["seed"])
    comparison = Comparison(deltas, same, warnings=_differences(base_manifest, cand_manifest))
    if same:
        _compare_records(base_dir, cand_dir, base_files, cand_files, comparison)
    return comparison


def _differences(base: dict[str, Any], cand: dict[str, Any]) -> list[str]:
    """Warnings for runs that are not like for like: scenario, currency, planshift version."""
    warnings = []
    for key, label in (("scenario_name", "scenario"), ("currency", "currency"),
                       ("version", "planshift version")):
        if base.get(key) != cand.get(key):
            warnings.append(f"the runs differ in {label}: {base.get(key)!r} (baseline) vs "
                            f"{cand.get(key)!r} (candidate)")
    return warnings


def _compare_records(base_dir: Path, cand_dir: Path, base_files: dict[str, VerifiedTable],
                     cand_files: dict[str, VerifiedTable], comparison: Comparison) -> None:
    """Identity from the files' own sha256 (computed, not taken from the manifests)."""
    names = sorted(set(base_files) | set(cand_files))
    same_hash = {name: name in base_files and name in cand_files
                 and base_files[name].sha256 == cand_files[name].sha256 for name in names}
    comparison.identical_records = all(same_hash.values())
    if comparison.identical_records:
        return
    base_run, cand_run = load_run(base_dir, verify=False), load_run(cand_dir, verify=False)
    for name in names:
        if same_hash[name]:
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
    """A fixed-width table of the deltas, numbers formatted for people (durations in the
    largest sensible unit, money with its currency's minor units, ratios as percentages,
    never scientific notation); flagged rows are marked with '!'. The machine values stay
    in summary.json."""
    rows = [d for d in comparison.deltas if d.flagged or not only_flagged]
    width = max([len(d.name) for d in rows] + [6])
    lines = [f"  {'metric':<{width}}  {'baseline':>20}  {'candidate':>20}  {'delta':>20}  "
             f"{'rel':>8}"]
    for d in rows:
        relative = "" if d.relative is None else (
            "new" if d.relative == float("inf") else format_ratio(d.relative))
        delta = "" if d.delta is None else format_metric(d.delta, d.unit)
        base_unit, _, cand_unit = d.unit.partition(" vs ")
        if cand_unit:  # different units on the two sides: each shown in its own
            delta = f"({d.unit}: not compared)"
        mark = "!" if d.flagged else " "
        lines.append(f"{mark} {d.name:<{width}}  {_cell(d.baseline, base_unit):>20}  "
                     f"{_cell(d.candidate, cand_unit or base_unit):>20}  {delta:>20}  "
                     f"{relative:>8}")
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


def _cell(value: Any, unit: str) -> str:
    return "" if value is None else format_metric(value, unit)
