"""Peak-period capacity metrics, so an annual mean does not hide month-end waits.

A capacity planner signs off on the busiest days, not the year: these metrics are the
capacity metrics of :mod:`sim.report.stats` restricted to a window of days, by default
the last three days of every month (``month-end:3``; ``busiest:N`` takes the N days with
the most orders placed instead). Changes scheduled at renewal (R-AUTO-02, P-CHG-04: they
all start at 00:00 on the renewal day) are reported apart from on-demand ones, over the
whole horizon and in the window. Everything is computed from the stored records
(``sim.report.load_run``), as the report is. A change still queued at the end of the
horizon has no queue wait and is left out, as in ``sim.report.stats``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ..report.records import RunRecords

__all__ = ["DEFAULT_WINDOW", "PeakWindow", "parse_window", "peak_metrics", "window_mask"]

MINUTES_PER_DAY = 1440.0
PERCENTILES = (50, 95, 99)
SCHEDULES = (("now", "on_demand"), ("renewal", "at_renewal"))
_WINDOW = re.compile(r"^(month-end|busiest):(\d+)$")


@dataclass(frozen=True)
class PeakWindow:
    """`kind` 'month-end' (last `days` days of each month) or 'busiest' (top `days` days)."""

    kind: str = "month-end"
    days: int = 3

    def __str__(self) -> str:
        return f"{self.kind}:{self.days}"


DEFAULT_WINDOW = PeakWindow()


def parse_window(text: str) -> PeakWindow:
    """``month-end:K`` or ``busiest:K`` (K >= 1 days); ValueError naming the option."""
    match = _WINDOW.match(text.strip())
    if match is None or int(match.group(2)) < 1:
        raise ValueError(f"--peak-window {text!r}: expected month-end:K or busiest:K with "
                         "K >= 1 days, e.g. month-end:3")
    return PeakWindow(match.group(1), int(match.group(2)))


def window_mask(start: date, days: int, window: PeakWindow,
                orders_per_day: np.ndarray) -> np.ndarray:
    """Which of the horizon's `days` days (from `start`) are in the window."""
    if window.kind == "busiest":
        order = np.lexsort((np.arange(days), -orders_per_day[:days]))  # most, then earliest
        mask = np.zeros(days, dtype=bool)
        mask[order[:window.days]] = True
        return mask
    mask = np.zeros(days, dtype=bool)
    for index in range(days):
        day = start + timedelta(days=index)
        last = calendar.monthrange(day.year, day.month)[1]
        mask[index] = day.day > last - window.days
    return mask


def _add(metrics: dict[str, dict[str, Any]], name: str, value: Any, unit: str) -> None:
    if isinstance(value, np.integer | np.bool_):
        value = int(value)
    elif isinstance(value, float | np.floating):
        value = round(float(value), 6) if np.isfinite(value) else None
    metrics[name] = {"value": value, "unit": unit}


def _waits(metrics: dict, prefix: str, frame: pd.DataFrame) -> None:
    """Orders, queue-wait mean and percentiles and SLA breach share of `frame`'s changes."""
    waits = frame["queue_wait_min"].dropna().to_numpy(dtype=float)
    _add(metrics, f"{prefix}.orders", len(frame), "changes")
    _add(metrics, f"{prefix}.queue_wait.mean", waits.mean() if len(waits) else 0.0, "minutes")
    for p in PERCENTILES:
        value = float(np.percentile(waits, p)) if len(waits) else 0.0
        _add(metrics, f"{prefix}.queue_wait.p{p}", value, "minutes")
    breaches = frame["sla_breach"].fillna(False).astype(bool)
    _add(metrics, f"{prefix}.sla.breach_share",
         float(breaches.mean()) if len(frame) else 0.0, "ratio")


def _time_weighted(capacity: pd.DataFrame, horizon: float, in_window: np.ndarray
                   ) -> tuple[float, float, int]:
    """Time-mean queue length and busy workers over the window days, and the max queue."""
    at = capacity["at"].to_numpy(dtype=float)
    order = np.argsort(at, kind="stable")
    at = at[order]
    queue = capacity["queue_length"].to_numpy(dtype=float)[order]
    busy = capacity["busy_workers"].to_numpy(dtype=float)[order]
    days = np.flatnonzero(in_window)
    if len(at) == 0 or len(days) == 0:
        return 0.0, 0.0, 0
    # Cut the steps at day boundaries: each piece lies in one step and one day.
    bounds = np.concatenate([days * MINUTES_PER_DAY, (days + 1) * MINUTES_PER_DAY])
    cuts = np.unique(np.concatenate([at, np.clip(bounds, 0.0, horizon)]))
    index = np.searchsorted(at, cuts, side="right") - 1
    valid = index >= 0
    cuts, index = cuts[valid], index[valid]
    cuts, index = cuts[cuts < horizon], index[cuts < horizon]
    lengths = np.diff(np.append(cuts, horizon))
    inside = in_window[np.minimum((cuts // MINUTES_PER_DAY).astype(int), len(in_window) - 1)]
    window_minutes = float(len(days) * MINUTES_PER_DAY)
    queue_mean = float((queue[index] * lengths)[inside].sum()) / window_minutes
    busy_mean = float((busy[index] * lengths)[inside].sum()) / window_minutes
    queue_max = int(queue[index][inside].max()) if inside.any() else 0
    return queue_mean, busy_mean, queue_max


def peak_metrics(records: RunRecords, window: PeakWindow = DEFAULT_WINDOW
                 ) -> dict[str, dict[str, Any]]:
    """Capacity metrics over the peak window and by schedule (name -> value and unit)."""
    changes = records.tables["changes"]
    horizon = records.horizon_minutes
    days = int(horizon // MINUTES_PER_DAY)
    start = date.fromisoformat(records.manifest["scenario"]["run"]["start"])
    ordered = changes[changes["order_at"].notna()]
    order_day = np.floor(ordered["order_at"].to_numpy(dtype=float) / MINUTES_PER_DAY)
    order_day = np.clip(order_day.astype(int), 0, max(days - 1, 0))
    per_day = np.bincount(order_day, minlength=days)
    in_window = window_mask(start, days, window, per_day)
    metrics: dict[str, dict[str, Any]] = {}
    _add(metrics, "peak.window.days", int(in_window.sum()), "days")
    peak = ordered[in_window[order_day]] if len(ordered) else ordered
    _waits(metrics, "peak", peak)
    queue_mean, busy_mean, queue_max = _time_weighted(records.tables["capacity"], horizon,
                                                      in_window)
    _add(metrics, "peak.capacity.queue_length.time_mean", queue_mean, "changes")
    _add(metrics, "peak.capacity.queue_length.max", queue_max, "changes")
    _add(metrics, "peak.capacity.utilisation.time_mean", busy_mean / max(records.workers, 1),
         "ratio")
    for schedule, label in SCHEDULES:
        _waits(metrics, label, ordered[ordered["schedule"] == schedule])
        _waits(metrics, f"peak.{label}", peak[peak["schedule"] == schedule])
    return metrics
