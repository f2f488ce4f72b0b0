"""Acceptance of issue 9 on a simulated fleet: export a 10,000-tenant baseline run
(stratified), then check the reference SUT with and without each seeded bug.

The exported verdicts must be what ``evaluate`` says of the exported cases, and the
fleet's own ledger lines for the same request must be the verdict's lines (the
exporter compares them as the fleet bills: ``fleet_mismatches``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sim.cli.common import find_scenario
from sim.fleet.scenario import load_scenario
from sim.harness.adapters import CommandAdapter
from sim.harness.cases import evaluate_json
from sim.harness.check import CheckOptions, run_check
from sim.harness.export import export_from_scenario

ROOT = Path(__file__).resolve().parent.parent
SUT = ROOT / "examples" / "sut" / "sut.py"
BUGS = ("per-unit-rounding", "billing-days-off-by-one", "month-end-unclamped",
        "ignore-blocking-addon", "mca-window-8-days", "credit-from-new-price",
        "mca-blockers-on-mosa")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    out = tmp_path_factory.mktemp("fleet") / "cases"
    scenario = load_scenario(find_scenario("baseline"), ["run.tenants=10000"])
    report, _ = export_from_scenario(scenario, out, stratify=20)
    cases = [json.loads(line) for line in (out / "cases.jsonl").open()]
    verdicts = [json.loads(line) for line in (out / "verdicts.jsonl").open()]
    return report, cases, verdicts


def test_exported_verdicts_are_the_models_and_the_fleets(baseline):
    report, cases, verdicts = baseline
    assert report["exported"] > 1000 and len(cases) == report["cases"] > 100
    assert verdicts == [evaluate_json(case) for case in cases]
    assert report["fleet_mismatches"] == []
    kinds = {case["request"]["kind"] for case in cases}
    assert kinds == {"change", "cancel", "reduce"}


def _check(cases, bug, folder):
    flags = f" --bug {bug}" if bug else ""
    with CommandAdapter(f"{sys.executable} {SUT} --serve-stdin{flags}") as adapter:
        return run_check(cases, adapter, folder, CheckOptions(shrink=False))


def test_the_reference_sut_agrees_with_every_exported_case(baseline, tmp_path):
    assert _check(baseline[1], None, tmp_path).exit_status == 0


@pytest.mark.parametrize("bug", BUGS)
def test_every_seeded_bug_is_caught_on_the_exported_fleet(baseline, bug, tmp_path):
    result = _check(baseline[1], bug, tmp_path)
    assert result.exit_status == 1 and result.disagreements > 0
