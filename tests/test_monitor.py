"""The invariant monitor (sim.fleet.monitor): each of INV-01..07 fires on an injected fault.

Each test breaks one function the flows call (a rules function, or the one seam of the
fleet code where the fault lives: the ledger's tally, the consolidation's seat count),
runs a small fleet and finds the broken invariant in the violations table and the
manifest's count. The monitor recomputes every invariant from what it observes, so a
fault that only changes state (not a flag) is caught. A clean run of each shipped
scenario reports no violation (tests/test_fleet.py).
"""

from __future__ import annotations

import inspect
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import sim.fleet.ledger
import sim.fleet.manual
import sim.fleet.remediation
import sim.fleet.request
import sim.rules.booking
from sim.fleet.model import InvariantViolation
from sim.fleet.monitor import InvariantMonitor, billed_once
from sim.fleet.observe import HOOK_NAMES, FleetObserver
from sim.fleet.remediation import BLOCKER_ACTIONS, REMEDIATIONS
from sim.fleet.runner import run_scenario
from sim.fleet.scenario import load_scenario
from sim.rules.eligibility import ELIGIBILITY_RULES

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "sim/fleet/scenarios" / "baseline.toml"
SMALL = ["run.tenants=400"]


def run_with_fault(tmp_path: Path, overrides: list[str] = (), strict: bool = False):
    scenario = load_scenario(BASELINE, [*SMALL, *overrides])
    result = run_scenario(scenario, tmp_path / "run", strict=strict)
    violations = pq.read_table(tmp_path / "run" / "records" / "violations.parquet").to_pylist()
    return result, violations


def assert_fires(result, violations, rule: str) -> list[dict]:
    """`rule` is in the violations table and counted in the manifest (and nothing lost)."""
    by_rule = result.manifest["invariant_violations"]["by_rule"]
    rows = [row for row in violations if row["rule"] == rule]
    assert rows, f"{rule} did not fire: {by_rule}"
    assert by_rule[rule] == len(rows)
    assert result.manifest["invariant_violations"]["total"] == len(violations) \
        == result.violations
    return rows


def first_details(rows: list[dict]) -> list[str]:
    """The detail of each request's first violation (a fault persists into later steps)."""
    first: dict[str, str] = {}
    for row in rows:
        first.setdefault(row["request_id"], row["detail"])
    return list(first.values())


# ------------------------------------------------------------ one fault per invariant


def test_inv_01_fires_when_a_change_leaves_a_user_unlicensed(tmp_path, monkeypatch):
    """INV-01: the automatic change completes with one license fewer than users."""
    original = sim.fleet.request.complete_automatic

    def unlicensing(subscription, *args, **kwargs):
        effects = original(subscription, *args, **kwargs)
        changed = effects.new_subscription or subscription
        changed.licenses = changed.assigned - 1
        return effects  # its own count still says 0 unlicensed: the monitor recounts

    monkeypatch.setattr(sim.fleet.request, "complete_automatic", unlicensing)
    rows = assert_fires(*run_with_fault(tmp_path), "INV-01")
    assert all("without a license" in row["detail"] for row in rows)


def test_inv_02_fires_when_an_automatic_change_loses_data(tmp_path, monkeypatch):
    """INV-02 / R-AUTO-08: the automatic change reports that data was not kept."""
    original = sim.fleet.request.complete_automatic

    def losing(*args, **kwargs):
        return original(*args, **kwargs)._replace(data_kept=False)

    monkeypatch.setattr(sim.fleet.request, "complete_automatic", losing)
    rows = assert_fires(*run_with_fault(tmp_path), "INV-02")
    assert all("automatic change lost" in row["detail"] for row in rows)


def test_inv_02_fires_when_a_backed_up_manual_downgrade_loses_data(tmp_path, monkeypatch):
    """INV-02 / R-MAN-02: a manual downgrade with a backup that still loses data (the
    admin always backs up; the fault: step 3 drops the data at risk anyway)."""
    original = sim.fleet.manual.move_users_manually

    def moving_without_data(old, new, users):
        row = moving_without_data.row
        if row is not None and row.backup_made:
            row.data_lost_gb = row.data_at_risk_gb
        return original(old, new, users)

    moving_without_data.row = None
    manual = sim.fleet.manual.ManualChanges._manual

    def manual_spy(self, tenant, extras, old, current, target, row, split_users):
        moving_without_data.row = row
        return manual(self, tenant, extras, old, current, target, row, split_users)

    monkeypatch.setattr(sim.fleet.manual, "move_users_manually", moving_without_data)
    monkeypatch.setattr(sim.fleet.manual.ManualChanges, "_manual", manual_spy)
    rows = assert_fires(*run_with_fault(tmp_path, [
        "manual.backup_before_downgrade=1.0", "demand.split_users_share=1.0",
        "demand.directions={upgrade = 0.0, lateral = 0.0, downgrade = 1.0}"]), "INV-02")
    assert all("although backed up" in row["detail"] for row in rows)


def _without_credit(original):
    def outcome(*args, **kwargs):
        result = original(*args, **kwargs)
        return result._replace(lines=tuple(line for line in result.lines
                                           if line.type != "credit"))
    return outcome


def test_inv_03_fires_when_the_old_plan_is_billed_twice(tmp_path, monkeypatch):
    """INV-03 / R-BILL-01: the old subscription's credit is dropped, so the days from the
    change to its cycle's end are billed by the old plan and the new one."""
    monkeypatch.setattr(sim.fleet.request, "change_outcome",
                        _without_credit(sim.fleet.request.change_outcome))
    assert_fires(*run_with_fault(tmp_path), "INV-03")


def test_inv_04_fires_when_a_credit_exceeds_what_was_paid(tmp_path, monkeypatch):
    """INV-04: every change credit doubled (its span, so INV-03, is untouched)."""
    original = sim.fleet.request.change_outcome

    def doubled(*args, **kwargs):
        result = original(*args, **kwargs)
        return result._replace(lines=tuple(
            line._replace(amount=2 * line.amount) if line.amount < -1 else line
            for line in result.lines))

    monkeypatch.setattr(sim.fleet.request, "change_outcome", doubled)
    result, violations = run_with_fault(tmp_path)
    assert_fires(result, violations, "INV-04")
    assert "INV-03" not in result.manifest["invariant_violations"]["by_rule"]


def test_inv_05_fires_when_a_line_is_not_tallied(tmp_path, monkeypatch):
    """INV-05: the ledger books every line but its change row misses the credits; the
    monitor's own running sums of the booked lines disagree with the row."""
    original = sim.fleet.ledger.tally

    def tally_charges_only(row, line):
        if line.amount >= 0:
            original(row, line)

    monkeypatch.setattr(sim.fleet.ledger, "tally", tally_charges_only)
    rows = assert_fires(*run_with_fault(tmp_path), "INV-05")
    assert all("the change row says" in row["detail"] for row in rows)


DUPLICATES_REMEDIATED = [
    "population.mca_share=0.0", "population.blockers.duplicate_product=0.6",
    "admin.blockers.DUPLICATE_PLANS_SAME_PRODUCT="
    "{remediate = 1.0, wait = 0.0, manual = 0.0, give_up = 0.0}",
]


def test_inv_06_fires_when_a_consolidation_buys_one_seat_too_few(tmp_path, monkeypatch):
    """INV-06 / R-ELIG-05: consolidating duplicate subscriptions buys one license fewer
    than the users moved need (previously this left users unlicensed unnoticed)."""
    original = sim.fleet.remediation.seats_to_add
    monkeypatch.setattr(sim.fleet.remediation, "seats_to_add",
                        lambda keep, other: max(original(keep, other) - 1, 0))
    rows = assert_fires(*run_with_fault(tmp_path, DUPLICATES_REMEDIATED), "INV-06")
    assert all(detail.startswith("after consolidate") for detail in first_details(rows))


def test_inv_06_clean_consolidation_reports_nothing(tmp_path):
    """The same fleet without the fault: consolidations happen and nothing fires."""
    result, violations = run_with_fault(tmp_path, DUPLICATES_REMEDIATED)
    assert violations == [] and result.violations == 0


def test_inv_06_fires_when_a_manual_move_over_assigns(tmp_path, monkeypatch):
    """INV-06 / R-MAN-05: step 3 assigns one user more in the new subscription than it
    has licenses for."""
    original = sim.fleet.manual.move_users_manually

    def over_assigning(old, new, users):
        carried = original(old, new, users)
        new.assigned = new.licenses + 1
        return carried

    monkeypatch.setattr(sim.fleet.manual, "move_users_manually", over_assigning)
    rows = assert_fires(*run_with_fault(tmp_path, ["demand.split_users_share=1.0"]),
                        "INV-06")
    assert all(detail.startswith("after manual-move") for detail in first_details(rows))


def test_inv_07_fires_when_a_change_credit_is_invoiced_late(tmp_path, monkeypatch):
    """INV-07 / P-TIME-03: every invoice dated 60 days later than P-TIME-01/02 say, so
    change credits land more than 30 days after their change."""
    original = sim.rules.booking.invoice_date
    monkeypatch.setattr(sim.rules.booking, "invoice_date",
                        lambda *args, **kwargs: original(*args, **kwargs)
                        + timedelta(days=60))
    rows = assert_fires(*run_with_fault(tmp_path), "INV-07")
    assert all("days after the change" in row["detail"] for row in rows)


def test_strict_stops_at_the_first_recomputed_violation(tmp_path, monkeypatch):
    """--strict: the monitor's first violation (here INV-05) stops the run."""
    monkeypatch.setattr(sim.fleet.ledger, "tally", lambda row, line: None)
    with pytest.raises(InvariantViolation, match="INV-05"):
        run_with_fault(tmp_path, strict=True)


# ------------------------------------------------------------------- recomputations


def ordinal(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def test_billed_once_counts_days_from_spans_INV_03():
    """INV-03 by hand: a January cycle paid (1..31), credited from the 15th, and the new
    plan charged from the 15th: every day once. A credit from the 16th leaves the 15th
    billed twice; a charge from the 16th leaves the 15th unbilled."""
    jan1, jan14, jan15, jan16, jan31 = (ordinal(f"2026-01-{d:02d}")
                                        for d in (1, 14, 15, 16, 31))
    paid = (jan1, jan31, 1)
    assert billed_once([paid, (jan15, jan31, -1), (jan15, jan31, 1)], jan1, jan31)
    assert not billed_once([paid, (jan16, jan31, -1), (jan15, jan31, 1)], jan1, jan31)
    assert not billed_once([paid, (jan15, jan31, -1), (jan16, jan31, 1)], jan1, jan31)
    assert billed_once([(jan1, jan14, 1), (jan15, jan31, 1)], jan1, jan31)
    assert not billed_once([(jan1, jan14, 1), (jan16, jan31, 1)], jan1, jan31)


# ----------------------------------------------------------------- the house's rooms


def test_monitor_hooks_match_the_observer_protocol():
    """The monitor implements the documented hooks with the documented arguments."""
    for name in HOOK_NAMES:
        documented = list(inspect.signature(getattr(FleetObserver, name)).parameters)
        implemented = list(inspect.signature(getattr(InvariantMonitor, name)).parameters)
        assert implemented == documented, name


def test_remediation_table_has_one_row_per_blocker_R_ELIG_01_to_10():
    """One place per fact: one remediation row per eligibility row, in the same order;
    its resolution is the eligibility row's text; the scenario's BLOCKER_ACTIONS is its
    actions column; only blockers whose resolution the admin can apply have an effect."""
    assert [(r.rule_id, r.code) for r in REMEDIATIONS] \
        == [(r.rule_id, r.code) for r in ELIGIBILITY_RULES]
    for remediation, rule in zip(REMEDIATIONS, ELIGIBILITY_RULES, strict=True):
        assert remediation.resolution == rule.resolution
        assert BLOCKER_ACTIONS[remediation.code] == remediation.actions
        assert (remediation.effect is not None) == ("remediate" in remediation.actions)
    # RULES.md section 3: waiting is the resolution of R-ELIG-02/03 only
    assert {r.rule_id for r in REMEDIATIONS if "wait" in r.actions} == {"R-ELIG-02",
                                                                        "R-ELIG-03"}
