"""Peak-period metrics (issue 10, part 5) on hand-made records, computed by hand.

Horizon 2026-01-01 + 40 days: the month-end:3 window is 29-31 January (day indexes
28-30); February's end lies beyond the horizon.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.peak import PeakWindow, parse_window, peak_metrics, window_mask
from sim.report.records import RunRecords

DAY = 1440.0


def _records() -> RunRecords:
    nan = float("nan")
    changes = pd.DataFrame({
        "request_id": ["A", "B", "C", "D", "E"],
        "order_at": [28 * DAY + 60, 29 * DAY + 100, 5 * DAY, 30 * DAY + 10, nan],
        "queue_wait_min": [30.0, 90.0, 10.0, nan, nan],  # D still queued at the end
        "sla_breach": [False, True, False, None, None],
        "schedule": ["now", "renewal", "now", "now", ""],
    })
    capacity = pd.DataFrame({
        "at": [0.0, 28 * DAY + 60, 28 * DAY + 600, 31 * DAY],
        "queue_length": [0, 2, 0, 0],
        "busy_workers": [0, 1, 1, 0],
    })
    manifest = {"scenario": {"run": {"start": "2026-01-01", "horizon_days": 40},
                             "capacity": {"workers": 2}}}
    return RunRecords(Path("."), manifest, {"changes": changes, "capacity": capacity})


def test_month_end_window_by_hand():
    metrics = {k: v["value"] for k, v in peak_metrics(_records()).items()}
    assert metrics["peak.window.days"] == 3
    assert metrics["peak.orders"] == 3  # A, B, D
    assert metrics["peak.queue_wait.mean"] == 60.0  # (30 + 90) / 2; D has no wait yet
    assert metrics["peak.queue_wait.p95"] == pytest.approx(30 + 0.95 * 60)  # linear
    assert metrics["peak.sla.breach_share"] == pytest.approx(1 / 3)
    # Queue of 2 for 540 minutes in a 3-day window; one of two workers busy from
    # 28d+60 to the window's end.
    assert metrics["peak.capacity.queue_length.time_mean"] == pytest.approx(1080 / 4320)
    assert metrics["peak.capacity.queue_length.max"] == 2
    assert metrics["peak.capacity.utilisation.time_mean"] == pytest.approx(4260 / 8640,
                                                                          abs=1e-6)


def test_scheduled_at_renewal_reported_apart():
    metrics = {k: v["value"] for k, v in peak_metrics(_records()).items()}
    assert metrics["on_demand.orders"] == 3  # A, C, D
    assert metrics["on_demand.queue_wait.mean"] == 20.0
    assert metrics["at_renewal.orders"] == 1
    assert metrics["at_renewal.queue_wait.mean"] == 90.0
    assert metrics["at_renewal.sla.breach_share"] == 1.0
    assert metrics["peak.on_demand.orders"] == 2  # A, D
    assert metrics["peak.at_renewal.queue_wait.p95"] == 90.0


def test_busiest_window_takes_the_earliest_of_equal_days():
    metrics = peak_metrics(_records(), PeakWindow("busiest", 1))
    assert metrics["peak.orders"]["value"] == 1
    assert metrics["peak.queue_wait.mean"]["value"] == 10.0  # C, on day 5


def test_window_mask_month_end_in_a_leap_february():
    from datetime import date

    mask = window_mask(date(2028, 2, 20), 15, PeakWindow("month-end", 2), np.zeros(15))
    assert list(np.flatnonzero(mask)) == [8, 9]  # 28 and 29 February 2028


@pytest.mark.parametrize("text", ["month-end", "busiest:0", "weekly:3", "month-end:x"])
def test_bad_windows(text):
    with pytest.raises(ValueError, match="--peak-window"):
        parse_window(text)
