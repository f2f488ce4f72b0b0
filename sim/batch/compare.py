"""Comparing runs with statistics: Welch's t-test per metric, Holm-corrected.

Two runs of one scenario at different seeds differ by chance in most metrics (issue 10:
a 5% relative tolerance flags 57-75 of 118), so replicated runs are judged by a test,
not a tolerance. A side is a replication set (``run --replications``: its summary.json
holds each metric's per-replication values) or several single run directories (one
value each). For every numeric metric, Welch's unequal-variance t-test gives a two-sided
p-value; the p-values of all tested metrics are adjusted together with Holm's step-down
method, and a metric is flagged when its adjusted p is below alpha = 1 - confidence
(default 0.95) AND its relative effect |mean_b - mean_a| / max(|mean_a|, |mean_b|) is at
least `min_effect` (default 0: significance alone). Holm keeps the chance of flagging
any metric of two equal configurations at most alpha, however many metrics there are.
Same-seed single runs are not a sampling question: ``compare --rtol`` judges them.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .stats import aggregate, holm, welch

__all__ = ["CompareError", "MetricTest", "StatComparison", "compare_replicated",
           "format_stat_comparison", "is_replication_set", "load_side"]


class CompareError(ValueError):
    """A side that cannot be compared statistically (exit status 2)."""


@dataclass
class Side:
    label: str
    seeds: list[int]
    units: dict[str, str]
    values: dict[str, list[Any]]


@dataclass
class MetricTest:
    name: str
    unit: str
    mean_a: Any
    mean_b: Any
    n_a: int
    n_b: int
    relative: float | None
    t: float | None
    df: float | None
    p: float | None
    p_holm: float | None = None
    flagged: bool = False


@dataclass
class StatComparison:
    tests: list[MetricTest]
    confidence: float
    min_effect: float
    same_seeds: bool

    @property
    def flagged(self) -> list[MetricTest]:
        return [test for test in self.tests if test.flagged]


def _read_summary(directory: Path) -> dict[str, Any]:
    path = directory / "summary.json"
    try:
        missing = not path.is_file()
        no_run = missing and not (directory / "manifest.json").is_file()
    except OSError as error:  # e.g. a name too long for the file system
        raise CompareError(f"{str(directory)[:120]}: {error.strerror or error}") from None
    if no_run:
        raise CompareError(f"{directory}: neither a run nor a replication set "
                           "(no summary.json or manifest.json)")
    if missing:
        from ..report import RunError, build_report

        try:
            build_report(directory)
        except RunError as error:  # a damaged run: its message names the file
            raise CompareError(str(error)) from None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CompareError(f"{path}: cannot read: {error}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise CompareError(f"{path}: not a planshift summary (no 'metrics' table)")
    return doc


def is_replication_set(directory: str | Path) -> bool:
    """Whether `directory` holds ``run --replications`` output (for ``compare`` to choose)."""
    from .replicate import MARKER

    try:
        doc = json.loads((Path(directory) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get(MARKER) is True


def load_side(paths: Sequence[str | Path]) -> Side:
    """One side of a comparison: a replication set, or single runs (one value each)."""
    units: dict[str, str] = {}
    values: dict[str, list[Any]] = {}
    seeds: list[int] = []
    for index, path in enumerate(paths):
        doc = _read_summary(Path(path))
        try:
            side = _add_summary(doc, path, index, len(paths), units, values, seeds)
        except (KeyError, TypeError, AttributeError) as error:
            raise CompareError(f"{Path(path) / 'summary.json'}: damaged summary "
                               f"({type(error).__name__}: {error})") from None
        if side is not None:
            return side
    return Side(", ".join(map(str, paths)), seeds, units, values)


def _add_summary(doc: dict[str, Any], path: str | Path, index: int, count: int,
                 units: dict[str, str], values: dict[str, list[Any]],
                 seeds: list[int]) -> Side | None:
    """Add one run's summary to a side; a replication set is a whole side (returned)."""
    from .replicate import MARKER

    if doc.get(MARKER) is True:
        if count != 1:
            raise CompareError(f"{path}: a replication set must be the only run of its "
                               "side")
        seeds = list(doc["run"]["seeds"])
        for name, metric in doc["metrics"].items():
            units[name] = metric["unit"]
            values[name] = list(metric["values"])
        return Side(str(path), seeds, units, values)
    seeds.append(doc.get("run", {}).get("seed"))
    for name, metric in doc["metrics"].items():
        units.setdefault(name, metric["unit"])
        values.setdefault(name, [None] * index).append(metric["value"])
    for name in values:
        values[name] += [None] * (index + 1 - len(values[name]))
    return None


def _numbers(values: list[Any]) -> list[float] | None:
    present = [v for v in values if v is not None]
    try:
        return [float(Decimal(str(v))) for v in present if not isinstance(v, bool)]
    except ArithmeticError:
        return None


def _test(name: str, unit: str, a: list[Any], b: list[Any], confidence: float) -> MetricTest:
    x, y = _numbers(a), _numbers(b)
    agg_a, agg_b = aggregate(a, unit, confidence), aggregate(b, unit, confidence)
    test = MetricTest(name, unit, agg_a["mean"], agg_b["mean"], agg_a["n"], agg_b["n"],
                      None, None, None, None)
    if x is None or y is None or len(x) < 2 or len(y) < 2:
        return test  # not numeric, or too few values: not tested
    mean_a, mean_b = math.fsum(x) / len(x), math.fsum(y) / len(y)
    sd_a = math.sqrt(math.fsum((v - mean_a) ** 2 for v in x) / (len(x) - 1))
    sd_b = math.sqrt(math.fsum((v - mean_b) ** 2 for v in y) / (len(y) - 1))
    test.t, test.df, test.p = welch(mean_a, sd_a, len(x), mean_b, sd_b, len(y))
    scale = max(abs(mean_a), abs(mean_b))
    test.relative = abs(mean_b - mean_a) / scale if scale else 0.0
    return test


def compare_replicated(baseline: Sequence[str | Path], candidate: Sequence[str | Path],
                       confidence: float = 0.95, min_effect: float = 0.0,
                       metrics: Sequence[str] | None = None) -> StatComparison:
    """Welch's test per metric between two sides, flagged under Holm's correction."""
    if not 0.0 < confidence < 1.0:
        raise CompareError(f"--confidence must be between 0 and 1, got {confidence}")
    if not (math.isfinite(min_effect) and min_effect >= 0):
        raise CompareError(f"--min-effect must be a finite number >= 0, got {min_effect}")
    a, b = load_side(baseline), load_side(candidate)
    for side in (a, b):
        if len(side.seeds) < 2:
            raise CompareError(f"{side.label}: one run has no spread to test against; give "
                               "a replication set (run --replications R) or several runs "
                               "(for two runs of the same seed use compare --rtol)")
    names = list(a.units) + [n for n in b.units if n not in a.units]
    if metrics:
        unknown = [p for p in metrics if not any(fnmatch.fnmatchcase(n, p) for n in names)]
        if unknown:
            raise CompareError(f"no metric matches {', '.join(unknown)}")
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in metrics)]
    tests = [_test(name, a.units.get(name) or b.units[name],
                   a.values.get(name, [None] * len(a.seeds)),
                   b.values.get(name, [None] * len(b.seeds)), confidence) for name in names]
    tested = [test for test in tests if test.p is not None]
    alpha = 1.0 - confidence
    for test, adjusted in zip(tested, holm([t.p for t in tested]), strict=True):
        test.p_holm = adjusted
        test.flagged = adjusted < alpha and (test.relative or 0.0) >= min_effect
    return StatComparison(tests, confidence, min_effect, a.seeds == b.seeds)


def format_stat_comparison(comparison: StatComparison, only_flagged: bool = False) -> str:
    """A fixed-width table: means, n, relative effect, p and Holm-adjusted p per metric."""
    rows = [t for t in comparison.tests if t.flagged or not only_flagged]
    width = max([len(t.name) for t in rows] + [6])
    lines = [f"  {'metric':<{width}}  {'baseline':>14}  {'candidate':>14}  {'n':>5}  "
             f"{'rel':>8}  {'p':>9}  {'p_holm':>9}  unit"]
    for t in rows:
        cells = [_cell(t.mean_a), _cell(t.mean_b), f"{t.n_a}/{t.n_b}",
                 "" if t.relative is None else f"{t.relative:.2%}",
                 "untested" if t.p is None else f"{t.p:.3g}",
                 "" if t.p_holm is None else f"{t.p_holm:.3g}"]
        lines.append(f"{'!' if t.flagged else ' '} {t.name:<{width}}  {cells[0]:>14}  "
                     f"{cells[1]:>14}  {cells[2]:>5}  {cells[3]:>8}  {cells[4]:>9}  "
                     f"{cells[5]:>9}  {t.unit}")
    tested = sum(1 for t in comparison.tests if t.p is not None)
    lines.append(f"{len(comparison.flagged)} of {tested} tested metric(s) differ (Welch's "
                 f"t-test, Holm-adjusted p < {1 - comparison.confidence:.3g}"
                 + (f", relative effect >= {comparison.min_effect:.2%}"
                    if comparison.min_effect else "") + ")")
    if comparison.same_seeds:
        lines.append("both sides ran the same seeds (common random numbers): the unpaired "
                     "test is conservative here")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
