"""Statistics of a run for QA, capacity planning and finance (issue 4, part 1).

``summarise(records) -> Summary``: flat metrics, each with its unit, plus tables
(DataFrames). Everything comes from the stored records; money stays in integer minor
units until it is formatted as an exact decimal string (P-MONEY-01, P-RND-01: totals
are sums of already-rounded lines). Percentiles are ``numpy.percentile`` (linear).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from .finance import finance
from .fx import FxTable
from .records import RunRecords

__all__ = ["OUTCOMES", "PERCENTILES", "Summary", "summarise"]

OUTCOMES = ("automatic", "automatic-after-remediation", "scheduled", "manual", "abandoned",
            "pending")
PERCENTILES = (50, 90, 95, 99)
MINUTES_PER_DAY = 1440.0
NO_PATH = "no path yet"


@dataclass
class Summary:
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    series: dict[str, pd.DataFrame] = field(default_factory=dict)  # for plots
    notes: dict[str, Any] = field(default_factory=dict)  # facts the report explains

    def add(self, name: str, value: Any, unit: str) -> None:
        if isinstance(value, np.integer | np.bool_):
            value = int(value)
        elif isinstance(value, np.floating):
            value = float(value)
        if isinstance(value, float):
            value = round(value, 6) if np.isfinite(value) else None
        self.metrics[name] = {"value": value, "unit": unit}


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def summarise(records: RunRecords, fx: FxTable | None = None) -> Summary:
    """All metrics and tables of a run; money per currency unless `fx` converts it."""
    summary = Summary()
    _run_metrics(records, summary)
    _failures(records, summary)
    _capacity(records, summary)
    finance(records, summary, fx)
    _impact(records, summary)
    return summary


def _run_metrics(records: RunRecords, summary: Summary) -> None:
    manifest = records.manifest
    changes = records.tables["changes"]
    summary.add("tenants", manifest["tenants"], "tenants")
    summary.add("requests", len(changes), "requests")
    summary.add("invariant_violations", manifest["invariant_violations"]["total"], "violations")


# ----------------------------------------------------------------------------- failures


def _explode_blockers(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    with_blockers = frame[frame[column].fillna("") != ""]
    exploded = with_blockers.assign(code=with_blockers[column].str.split(";")).explode("code")
    return exploded


def _failures(records: RunRecords, summary: Summary) -> None:
    changes = records.tables["changes"]
    attempts = records.tables["attempts"]
    requests = len(changes)
    # Outcome funnel.
    counts = changes["outcome"].value_counts()
    funnel = pd.DataFrame({"outcome": OUTCOMES,
                           "requests": [int(counts.get(o, 0)) for o in OUTCOMES]})
    funnel["share"] = funnel["requests"] / max(requests, 1)
    summary.tables["outcome_funnel"] = funnel
    for outcome, n in zip(funnel["outcome"], funnel["requests"], strict=True):
        summary.add(f"outcome.{outcome}.requests", n, "requests")
        summary.add(f"outcome.{outcome}.share", _share(n, requests), "ratio")
    # Attempts per change (only requests that reached an eligibility check).
    tried = changes.loc[changes["attempts"] > 0, "attempts"]
    summary.add("attempts.total", len(attempts), "attempts")
    summary.add("attempts.per_change.mean", tried.mean() if len(tried) else 0.0,
                "attempts/request")
    summary.add("attempts.per_change.max", int(tried.max()) if len(tried) else 0,
                "attempts/request")
    distribution = tried.value_counts().sort_index()
    summary.tables["attempts_per_change"] = pd.DataFrame(
        {"attempts": distribution.index.astype(int), "requests": distribution.values})
    # Blocker frequency: share of attempts and share of tenants, by account and sector.
    exploded = _explode_blockers(attempts, "blockers")
    n_attempts = max(len(attempts), 1)
    by_code = exploded.groupby("code").agg(
        attempts=("request_id", "size"), tenants=("request_id", "nunique"),
        hours_lost=("delay_min", lambda s: float(s.sum()) / 60.0))
    by_code = by_code.sort_values(["attempts", "tenants"], ascending=False)
    by_code["attempt_share"] = by_code["attempts"] / n_attempts
    by_code["tenant_share"] = by_code["tenants"] / max(requests, 1)
    summary.tables["blockers"] = by_code.reset_index()
    for code, row in by_code.iterrows():
        summary.add(f"blocker.{code}.attempts", int(row["attempts"]), "attempts")
        summary.add(f"blocker.{code}.attempt_share", row["attempt_share"], "ratio")
        summary.add(f"blocker.{code}.tenant_share", row["tenant_share"], "ratio")
        summary.add(f"blocker.{code}.hours_lost", row["hours_lost"], "hours")
    summary.add("attempts.blocked_share",
                _share((attempts["n_blockers"] > 0).sum(), len(attempts)), "ratio")
    by_group = (exploded.groupby(["billing_account", "sector", "code"]).size()
                .rename("attempts").reset_index())
    totals = attempts.groupby(["billing_account", "sector"]).size().rename("group_attempts")
    by_group = by_group.join(totals, on=["billing_account", "sector"])
    by_group["attempt_share"] = by_group["attempts"] / by_group["group_attempts"]
    summary.tables["blockers_by_account_sector"] = by_group
    # Manual-flow traps.
    manual = changes[changes["path"] == "manual"]
    summary.add("manual.requests", len(manual), "requests")
    for trap in ("wrong_domain", "too_few_licenses", "inactive_new_subscription"):
        summary.add(f"manual.trap.{trap}.rate",
                    float(manual[trap].mean()) if len(manual) else 0.0, "ratio")
    at_risk = manual[manual["data_at_risk_gb"] > 0]
    summary.add("manual.data_lost_without_backup.rate",
                float((at_risk["data_lost_gb"] > 0).mean()) if len(at_risk) else 0.0, "ratio")


# ----------------------------------------------------------------------------- capacity


def _time_weighted(capacity: pd.DataFrame, horizon: float) -> tuple[np.ndarray, ...]:
    at = capacity["at"].to_numpy(dtype=float)
    order = np.argsort(at, kind="stable")
    at = at[order]
    queue = capacity["queue_length"].to_numpy(dtype=float)[order]
    busy = capacity["busy_workers"].to_numpy(dtype=float)[order]
    ends = np.append(at[1:], horizon)
    durations = np.clip(ends - at, 0.0, None)
    return at, queue, busy, durations


def _integral_at(at: np.ndarray, values: np.ndarray, durations: np.ndarray,
                 points: np.ndarray) -> np.ndarray:
    """The integral of a step function (value held from each `at`) up to each point."""
    cumulative = np.concatenate([[0.0], np.cumsum(values * durations)])
    index = np.searchsorted(at, points, side="right") - 1
    result = np.zeros(len(points))
    valid = index >= 0
    i = index[valid]
    result[valid] = cumulative[i] + values[i] * (points[valid] - at[i])
    return result


def _capacity(records: RunRecords, summary: Summary) -> None:
    changes = records.tables["changes"]
    horizon = records.horizon_minutes
    workers = records.workers
    days = int(horizon // MINUTES_PER_DAY)
    start = date.fromisoformat(records.manifest["scenario"]["run"]["start"])
    # Arrivals and completions per hour and per day.
    requested_hour = np.floor(changes["requested_at"].to_numpy(dtype=float) / 60.0)
    completed = changes["completed_at"].dropna().to_numpy(dtype=float)
    hours = int(np.ceil(horizon / 60.0))
    per_hour_requests = np.bincount(requested_hour.astype(int), minlength=hours)[:hours]
    per_hour_completions = np.bincount(np.floor(completed / 60.0).astype(int),
                                       minlength=hours)[:hours]
    for name, series in (("requests", per_hour_requests), ("completions", per_hour_completions)):
        summary.add(f"capacity.{name}_per_hour.mean", series.mean(), f"{name}/hour")
        summary.add(f"capacity.{name}_per_hour.p99", np.percentile(series, 99), f"{name}/hour")
        summary.add(f"capacity.{name}_per_hour.max", int(series.max()) if len(series) else 0,
                    f"{name}/hour")
    per_day_requests = np.bincount((requested_hour // 24).astype(int), minlength=days)[:days]
    per_day_completions = np.bincount((completed // MINUTES_PER_DAY).astype(int),
                                      minlength=days)[:days]
    summary.add("capacity.requests_per_day.max", int(per_day_requests.max()), "requests/day")
    summary.add("capacity.completions_per_day.max", int(per_day_completions.max()),
                "completions/day")
    # Time-weighted queue length and utilisation.
    at, queue, busy, durations = _time_weighted(records.tables["capacity"], horizon)
    summary.add("capacity.workers", workers, "workers")
    summary.add("capacity.queue_length.time_mean",
                float((queue * durations).sum() / horizon) if len(at) else 0.0, "changes")
    summary.add("capacity.queue_length.max", int(queue.max()) if len(queue) else 0, "changes")
    summary.add("capacity.utilisation.time_mean",
                float((busy * durations).sum() / (horizon * workers)) if len(at) else 0.0,
                "ratio")
    boundaries = np.arange(days + 1) * MINUTES_PER_DAY
    busy_integral = _integral_at(at, busy, durations, boundaries)
    queue_integral = _integral_at(at, queue, durations, boundaries)
    day_index = pd.Index([start + timedelta(days=d) for d in range(days)], name="day")
    summary.series["daily"] = pd.DataFrame({
        "requests": per_day_requests,
        "completions": per_day_completions,
        "utilisation": np.diff(busy_integral) / (MINUTES_PER_DAY * workers),
        "queue_length": np.diff(queue_integral) / MINUTES_PER_DAY,
    }, index=day_index)
    summary.tables["daily_capacity"] = summary.series["daily"].reset_index()
    summary.series["queue_steps"] = pd.DataFrame({"at": at, "queue_length": queue,
                                                  "busy_workers": busy})
    # Percentiles of waits and durations.
    rows = []
    for column, label in (("queue_wait_min", "queue_wait"), ("switch_min", "switch"),
                          ("lead_time_min", "lead_time")):
        values = changes[column].dropna().to_numpy(dtype=float)
        for p in PERCENTILES:
            value = float(np.percentile(values, p)) if len(values) else 0.0
            summary.add(f"{label}.p{p}", value, "minutes")
            rows.append({"measure": label, "percentile": p, "minutes": value})
        summary.add(f"{label}.mean", float(values.mean()) if len(values) else 0.0, "minutes")
    summary.tables["duration_percentiles"] = pd.DataFrame(rows)
    processed = changes["order_at"].notna()
    breaches = int(changes.loc[processed, "sla_breach"].sum())
    summary.add("sla.breaches", breaches, "changes")
    summary.add("sla.breach_share", _share(breaches, processed.sum()), "ratio")


# ---------------------------------------------------------------------- customer impact


def _impact(records: RunRecords, summary: Summary) -> None:
    changes = records.tables["changes"]
    summary.add("impact.customisations_lost", int(changes["customisations_lost"].sum()),
                "user customisations")
    summary.add("impact.data_at_risk_gb", float(changes["data_at_risk_gb"].sum()), "GB")
    summary.add("impact.data_lost_gb", float(changes["data_lost_gb"].sum()), "GB")
    summary.add("impact.requests_with_data_lost", int((changes["data_lost_gb"] > 0).sum()),
                "requests")
    # A request that never reached a path (still pending) is labelled, never blank.
    path = changes["path"].fillna("").replace("", NO_PATH)
    by_path = changes.assign(path=path).groupby("path").agg(
        requests=("request_id", "size"),
        customisations_lost=("customisations_lost", "sum"),
        data_at_risk_gb=("data_at_risk_gb", "sum"),
        data_lost_gb=("data_lost_gb", "sum")).reset_index()
    summary.tables["impact_by_path"] = by_path
