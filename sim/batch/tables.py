"""The sweep's outputs: the tidy table, the per-point intervals, and the band plots.

``sweep.parquet`` / ``sweep.csv``: one row per point x replication x metric with the
columns ``point``, one column per varied key, ``replication``, ``seed``, ``metric``,
``unit``, ``value`` (float, empty when the replication had none) and ``text`` (the value
exactly as summary.json has it: money as its decimal string). Built with pyarrow from
plain lists, so the same task results always give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = ["sweep_table", "write_sweep_outputs"]


def _column_type(values: Sequence[Any]) -> pa.DataType:
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    try:
        return float(Decimal(str(value)))  # money text: for the float column only
    except ArithmeticError:
        return None


def sweep_table(varies: Sequence[Any], results: Sequence[dict[str, Any]]) -> pa.Table:
    """The tidy table of `results` (task results in key order)."""
    columns: dict[str, list[Any]] = {"point": [], "replication": [], "seed": [],
                                     "metric": [], "unit": [], "value": [], "text": []}
    labels: dict[str, list[Any]] = {vary.key: [] for vary in varies}
    for result in results:
        point, replication = result["key"]
        for name, metric in result["metrics"].items():
            columns["point"].append(point)
            columns["replication"].append(replication)
            columns["seed"].append(result["seed"])
            columns["metric"].append(name)
            columns["unit"].append(metric["unit"])
            columns["value"].append(_number(metric["value"]))
            columns["text"].append("" if metric["value"] is None else str(metric["value"]))
            for key in labels:
                labels[key].append(result["labels"][key])
    arrays = {"point": pa.array(columns["point"], pa.int64())}
    for vary in varies:
        arrays[vary.key] = pa.array(labels[vary.key], _column_type(vary.values))
    arrays["replication"] = pa.array(columns["replication"], pa.int64())
    arrays["seed"] = pa.array(columns["seed"], pa.int64())
    for name in ("metric", "unit", "text"):
        arrays[name] = pa.array(columns[name], pa.string())
    arrays["value"] = pa.array(columns["value"], pa.float64())
    order = ["point", *(v.key for v in varies), "replication", "seed", "metric", "unit",
             "value", "text"]
    return pa.table({name: arrays[name] for name in order})


def _plot(metric: str, varies: Sequence[Any], points: Sequence[dict[str, Any]],
          aggregates: Sequence[dict[str, Any]], run_label: str = "") -> bytes | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_key = varies[0].key
    if _column_type(varies[0].values) == pa.string():
        return None
    groups: dict[tuple, list[int]] = {}
    for index, point in enumerate(points):
        rest = tuple((k, v) for k, v in point.items() if k != x_key)
        groups.setdefault(rest, []).append(index)
    figure, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        unit = ""
        for rest, indices in groups.items():
            rows = [(points[i][x_key], aggregates[i].get(metric)) for i in indices]
            rows = [(x, m) for x, m in rows if m is not None and m["mean"] is not None]
            if not rows:
                continue
            unit = rows[0][1]["unit"]
            xs = [x for x, _ in rows]
            means = [_number(m["mean"]) for _, m in rows]
            low = [_number(m["ci_low"]) if m["ci_low"] is not None else _number(m["mean"])
                   for _, m in rows]
            high = [_number(m["ci_high"]) if m["ci_high"] is not None else _number(m["mean"])
                    for _, m in rows]
            label = ", ".join(f"{k}={v}" for k, v in rest) or "mean"
            line = ax.plot(xs, means, marker="o", label=label)[0]
            ax.fill_between(xs, low, high, alpha=0.25, color=line.get_color())
        confidence = aggregates[0].get(metric, {}).get("confidence", 0.95) if aggregates else 0.95
        if _column_type(varies[0].values) == pa.int64():
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(x_key)
        ax.set_ylabel(f"{metric} ({unit})")
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))  # magnitudes: the axis starts at 0
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.set_title(f"How does {metric} change with {x_key}? Mean and "
                     f"{confidence:.0%} confidence band" + (f"\n{run_label}" if run_label else ""),
                     fontsize=10)
        ax.legend(fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(figure)
    return buffer.getvalue()


def _points_csv(varies: Sequence[Any], points: Sequence[dict[str, Any]],
                aggregates: Sequence[dict[str, Any]]) -> bytes:
    import csv

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    fields = ("mean", "sd", "ci_low", "ci_high", "n", "replications")
    writer.writerow(["point", *(v.key for v in varies), "metric", "unit", *fields])
    for index, (point, metrics) in enumerate(zip(points, aggregates, strict=True)):
        for name, metric in metrics.items():
            cells = ["" if metric[f] is None else metric[f] for f in fields]
            writer.writerow([index, *point.values(), name, metric["unit"], *cells])
    return text.getvalue().encode("utf-8")


def write_sweep_outputs(out: Path, varies: Sequence[Any], points: Sequence[dict[str, Any]],
                        results: Sequence[dict[str, Any]], replications: int,
                        confidence: float, plot_metrics: Sequence[str],
                        run_label: str = "") -> None:
    """Write sweep.parquet, sweep.csv, points.csv and plots/<metric>.png into `out`."""
    from ..fleet.records import write_atomic
    from .sweep import point_aggregates

    table = sweep_table(varies, results)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, compression="zstd")
    write_atomic(out / "sweep.parquet", buffer.getvalue().to_pybytes())
    text = io.BytesIO()
    pa_csv.write_csv(table, text)
    write_atomic(out / "sweep.csv", text.getvalue())
    aggregates = point_aggregates(points, results, replications, confidence)
    write_atomic(out / "points.csv", _points_csv(varies, points, aggregates))
    (out / "plots").mkdir(exist_ok=True)
    for metric in plot_metrics:
        if not any(metric in aggregate for aggregate in aggregates):
            continue  # an unknown name: no empty plot (the CLI names it)
        png = _plot(metric, varies, points, aggregates, run_label)
        if png is not None:
            write_atomic(out / "plots" / f"{metric}.png", png)
