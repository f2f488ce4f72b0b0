"""Fleet acceptance tests: every scenario runs clean and its records reconcile.

Each shipped scenario (``scenarios/*.toml``, discovered, so a new file is tested
automatically) is run once per module at a small size and shared by the tests below:

- INV-01..07: zero invariant violations (manifest and violations table);
- INV-05 / P-CHG-08: every change's credit, charge and net equal the exact sums of its
  ledger lines; the decimal twins equal minor units / 10**digits (P-MONEY-01/02);
- R-BILL-01 / INV-03: a completed automatic change has one credit line of the old
  subscription and one charge line, both starting on the completion day;
- INV-02 / R-MAN-02: data is lost only by a manual change made without a backup.

Then determinism (P-RND-02), direction of effects (capacity, R-ELIG-02, R-ELIG-09),
--strict, R-AUTO-03 and streamed record files.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import sim.fleet.request
from sim.fleet.model import InvariantViolation
from sim.fleet.records import Recorder
from sim.fleet.runner import POPULATION_COLUMNS, run_scenario, simulate
from sim.fleet.scenario import load_scenario, scenario_from_dict
from sim.rules.calendar import BILLING_FREQUENCY_MONTHS, term_end
from sim.rules.catalog import builtin_catalog
from sim.rules.domain import Subscription, Tenant
from sim.rules.eligibility import ChangeContext, check, rule_set_for
from sim.rules.money import minor_unit

REPO = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted((REPO / "sim/fleet/scenarios").glob("*.toml"))
# Small enough for the test budget, large enough to meet every path; set
# PLANSHIFT_FLEET_TENANTS to run the per-scenario acceptance tests on a larger fleet.
FLEET_TENANTS = int(os.environ.get("PLANSHIFT_FLEET_TENANTS", "1000"))
AUTOMATIC_OUTCOMES = ("automatic", "automatic-after-remediation")
CHANGE_RULES = ("P-CHG-02", "P-CHG-03")  # the lines of an automatic change itself
MONEY_COLUMNS = {"changes": ("credit", "charge", "net", "overlap_cost"),
                 "ledger": ("amount",)}


# ------------------------------------------------------------------------- helpers


def read(run_dir: Path, table: str) -> list[dict[str, Any]]:
    """Rows of one Parquet record table as dicts (decimals stay Decimal)."""
    return pq.read_table(run_dir / "records" / f"{table}.parquet").to_pylist()


def digests(run_dir: Path) -> dict[str, str]:
    """sha256 of manifest.json and of every file under records/."""
    files = [run_dir / "manifest.json", *sorted((run_dir / "records").iterdir())]
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def run(tmp: Path, name: str, overrides: list[str], fmt: str = "parquet", **kwargs: Any):
    scenario = load_scenario(REPO / "sim/fleet/scenarios" / f"{name}.toml", overrides)
    return run_scenario(scenario, tmp, fmt=fmt, **kwargs)


def ledger_by_request(ledger: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in ledger:
        lines[line["request_id"]].append(line)
    return lines


# ------------------------------------------------------ independent references (stdlib only)


def reference_add_months(anchor: date, months: int) -> date:
    """P-CAL-02 with the standard library: count from the anchor, clamp to month end."""
    import calendar as stdlib_calendar

    year, month0 = divmod(anchor.month - 1 + months, 12)
    year += anchor.year
    last = stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last))


def reference_cycle(anchor: date, months: int, on: date) -> tuple[date, date]:
    """The charge cycle (inclusive) holding `on`: cycles k = 0, 1, ... from the anchor."""
    k = 0
    while reference_add_months(anchor, (k + 1) * months) <= on:
        k += 1
    return (reference_add_months(anchor, k * months),
            reference_add_months(anchor, (k + 1) * months) - timedelta(days=1))


def reference_amount(unit_price: str, months: int, quantity: int, billing_days: int,
                     cycle_days: int, digits: int, policy: str) -> int:
    """PRORATION.md section 4 with Decimal at 60 digits: the line (or the effective unit
    price, for unit-* policies) rounded to the minor unit as the policy names."""
    from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, localcontext

    modes = {"line-half-up": ROUND_HALF_UP, "line-half-even": ROUND_HALF_EVEN,
             "unit-truncate": ROUND_DOWN, "unit-half-up": ROUND_HALF_UP}
    step = Decimal(1).scaleb(-digits)
    with localcontext() as context:
        context.prec = 60
        unit = Decimal(unit_price) * months * billing_days / cycle_days
        if policy.startswith("unit-"):
            amount = unit.quantize(step, rounding=modes[policy]) * quantity
        else:
            amount = (unit * quantity).quantize(step, rounding=modes[policy])
    return int(amount.scaleb(digits))


class FleetRun:
    """One finished scenario run and its record tables, read once."""

    def __init__(self, path: Path, result: Any) -> None:
        self.path = path
        self.result = result
        self.manifest = result.manifest
        self.digits = self.manifest["digits_by_currency"]  # per currency (issue 12)
        self.changes = read(path, "changes")
        self.ledger = read(path, "ledger")
        self.violations = read(path, "violations")
        self.population = {row["tenant_id"]: row for row in read(path, "population")}
        self.lines = ledger_by_request(self.ledger)


@pytest.fixture(scope="module", params=SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def fleet(request, tmp_path_factory) -> FleetRun:
    """Each shipped scenario, run once at FLEET_TENANTS tenants (its own seed)."""
    path: Path = request.param
    scenario = load_scenario(path, [f"run.tenants={FLEET_TENANTS}"])
    out = tmp_path_factory.mktemp(path.stem) / "run"
    result = run_scenario(scenario, out)
    return FleetRun(out, result)


# --------------------------------------------------------------- every scenario


def test_scenarios_are_discovered():
    """The shipped scenarios are all found (a new file is picked up automatically)."""
    names = {p.stem for p in SCENARIO_FILES}
    assert {"baseline", "month-end-surge", "incident-storm", "public-sector"} <= names
    assert len(names) >= 7


def test_scenario_runs_without_invariant_violations_INV_01_to_06(fleet):
    """INV-01..INV-06: the manifest counts no violation and the violations table is empty."""
    manifest = fleet.manifest
    assert manifest["invariant_violations"] == {"total": 0, "by_rule": {}}
    assert fleet.violations == []
    assert manifest["tables"]["violations"]["rows"] == 0
    assert manifest["requests"] > 0 and manifest["completed"] > 0


def test_manifest_row_counts_match_record_files(fleet):
    """The manifest's row counts are the rows in the files; one change row per request."""
    tables = fleet.manifest["tables"]
    assert tables["changes"]["rows"] == len(fleet.changes) == fleet.manifest["requests"]
    assert tables["ledger"]["rows"] == len(fleet.ledger)
    assert tables["population"]["rows"] == len(fleet.population) == FLEET_TENANTS
    ids = [row["request_id"] for row in fleet.changes]
    assert len(set(ids)) == len(ids)
    assert set(fleet.lines) <= set(ids), "ledger lines of an unknown request"


def test_change_amounts_equal_sums_of_ledger_lines_INV_05(fleet):
    """INV-05 / P-CHG-08 / P-RND-01: credit, charge and net of each change are the exact
    sums of its ledger lines (credits negative, charges positive)."""
    mismatches = []
    for row in fleet.changes:
        lines = fleet.lines.get(row["request_id"], [])
        credit = sum(line["amount_minor"] for line in lines if line["amount_minor"] < 0)
        charge = sum(line["amount_minor"] for line in lines if line["amount_minor"] >= 0)
        net = sum(line["amount_minor"] for line in lines)
        got = (row["credit_minor"], row["charge_minor"], row["net_minor"])
        if got != (credit, charge, net) or credit + charge != row["net_minor"]:
            mismatches.append((row["request_id"], got, (credit, charge, net)))
        for line in lines:  # P-RND-04: credits are negative (zero for a free plan)
            assert line["type"] in ("credit", "charge"), line
            assert (line["amount_minor"] <= 0) if line["type"] == "credit" \
                else (line["amount_minor"] >= 0), line
    assert not mismatches, mismatches[:5]


def test_ledger_total_equals_sum_of_change_nets_INV_05(fleet):
    """INV-05: per currency, the sum of the ledger lines equals the sum of the changes'
    nets, exactly (amounts of different currencies are never added up, issue 12)."""
    currencies = {row["currency"] for row in fleet.changes} | {
        line["currency"] for line in fleet.ledger}
    for currency in currencies:
        ledger_total = sum(line["amount_minor"] for line in fleet.ledger
                           if line["currency"] == currency)
        assert ledger_total == sum(row["net_minor"] for row in fleet.changes
                                   if row["currency"] == currency), currency
        decimal_total = sum((Decimal(line["amount"]) for line in fleet.ledger
                             if line["currency"] == currency), Decimal(0))
        assert decimal_total == Decimal(ledger_total).scaleb(-minor_unit(currency))


def test_decimal_columns_are_exact_minor_units_P_MONEY_01(fleet):
    """P-MONEY-01/02: every decimal money column (text) equals minor / 10**digits of its
    row's currency exactly and carries exactly that currency's digits (as Decimal)."""
    for table, rows in (("changes", fleet.changes), ("ledger", fleet.ledger)):
        for row in rows:
            digits = minor_unit(row["currency"])
            for column in MONEY_COLUMNS[table]:
                value, minor = Decimal(row[column]), row[f"{column}_minor"]
                assert value == Decimal(minor).scaleb(-digits), (table, column, row)
                assert value.as_tuple().exponent == -digits, (table, column, value)
    assert fleet.manifest["currency"] == "local"  # the shipped scenarios bill locally
    assert {line["currency"] for line in fleet.ledger} == set(fleet.manifest["currencies"])
    assert fleet.digits == {c: minor_unit(c) for c in fleet.manifest["currencies"]}
    assert {line["policy"] for line in fleet.ledger} <= {fleet.manifest["rounding"]}


def test_automatic_change_switches_billing_on_completion_day_R_BILL_01_INV_03(fleet):
    """R-BILL-01 / INV-03: every completed automatic change has exactly one credit line of
    its old subscription and one charge line, both starting on its completed_day (no gap,
    no overlap); keep-cycle charges the credited span (P-CHG-02), new-term charges a full
    first cycle (P-CHG-03)."""
    checked = 0
    for row in fleet.changes:
        if row["outcome"] not in AUTOMATIC_OUTCOMES:
            continue
        checked += 1
        day = row["completed_day"]
        assert day, row
        lines = [line for line in fleet.lines[row["request_id"]]
                 if line["rule"] in CHANGE_RULES]
        credits = [line for line in lines if line["type"] == "credit"]
        charges = [line for line in lines if line["type"] == "charge"]
        assert len(credits) == 1 and len(charges) == 1, (row["request_id"], lines)
        (credit,), (charge,) = credits, charges
        assert credit["subscription_id"] == row["subscription_id"], credit
        assert credit["start"] == day and charge["start"] == day, (day, credit, charge)
        assert charge["subscription_id"] in (row["subscription_id"],
                                             row["subscription_id"] + "-p")
        assert credit["changed_on"] == charge["changed_on"] == day
        assert 1 <= credit["billing_days"] <= credit["cycle_days"]
        if row["alignment"] == "keep-cycle":
            assert (charge["end"], charge["billing_days"]) == (credit["end"],
                                                                credit["billing_days"])
        else:
            assert row["alignment"] == "new-term", row
            assert charge["billing_days"] == charge["cycle_days"], charge
    if fleet.manifest["scenario"]["population"]["sectors"].get("commercial", 0) > 0.5:
        assert checked > 20, "too few automatic changes to test R-BILL-01"


def test_scheduled_change_charges_from_the_renewal_day_P_CHG_04_INV_03(fleet):
    """P-CHG-04 / INV-03: a scheduled change that took effect has no credit and one charge
    line starting on the day it completed (the renewal day)."""
    for row in fleet.changes:
        if row["outcome"] != "scheduled" or not row["completed_day"]:
            continue
        lines = fleet.lines[row["request_id"]]
        change_lines = [line for line in lines if line["rule"] == "P-CHG-04"]
        assert [line["type"] for line in change_lines] == ["charge"], lines
        assert change_lines[0]["start"] == row["completed_day"]


def last_renewal(anchor: date, term: str, on: date) -> date:
    """P-CAL-02/05: the anchor of the term containing `on` (start or last renewal): a
    term ends the day before ``add_months(A, term)`` and the next starts the day after."""
    while on > term_end(anchor, term):
        anchor = term_end(anchor, term) + timedelta(days=1)
    return anchor


def test_automatic_credit_spans_the_current_charge_cycle_P_CAL_02_INV_03(fleet):
    """P-CAL-02 / P-CAL-04 / INV-03: the credit of an automatic change runs from the
    completion day to the end of the charge cycle that contains it, counted with
    add_months from the subscription's anchor A (its start, from the population table,
    or last renewal), so the old plan is billed up to the day before the change."""
    wrong = []
    for row in fleet.changes:
        if row["outcome"] not in AUTOMATIC_OUTCOMES:
            continue
        tenant = fleet.population[row["tenant_id"]]
        months = BILLING_FREQUENCY_MONTHS[tenant["billing_frequency"]]
        for line in fleet.lines[row["request_id"]]:
            if line["type"] != "credit" or line["rule"] not in CHANGE_RULES:
                continue
            start = date.fromisoformat(line["start"])
            anchor = last_renewal(date.fromisoformat(tenant["anchor"]), tenant["term"], start)
            cycle_start, cycle_end = reference_cycle(anchor, months, start)
            expected = (cycle_end.isoformat(), (cycle_end - cycle_start).days + 1,
                        (cycle_end - start).days + 1)
            if (line["end"], line["cycle_days"], line["billing_days"]) != expected:
                wrong.append((row["request_id"], tenant["anchor"], tenant["term"],
                              line["start"], line["end"], line["cycle_days"], expected))
    assert not wrong, f"{len(wrong)} credit lines off their charge cycle, e.g. {wrong[:3]}"


def test_data_lost_only_by_manual_change_without_backup_INV_02(fleet):
    """INV-02 / R-AUTO-08 / R-MAN-02: an automatic change loses no data; a manual downgrade
    loses exactly the data at risk when no backup was made, and nothing when one was."""
    for row in fleet.changes:
        lost, at_risk = row["data_lost_gb"], row["data_at_risk_gb"]
        assert 0 <= lost <= at_risk, row
        if row["path"] != "manual":
            assert lost == 0, row
            assert not row["backup_made"], row
        elif row["outcome"] == "manual" and at_risk > 0:
            assert row["backup_made"] != (lost > 0), row
            if not row["backup_made"]:
                assert lost == at_risk, row
        if row["backup_made"]:
            assert lost == 0, row


def test_completed_changes_leave_no_user_unlicensed_INV_01_INV_06(fleet):
    """INV-01 / INV-06 / R-MAN-05: a completed change ends with a license for every user it
    moved, unless the subscription was already over-assigned before the request (an MCA
    account is not checked for R-ELIG-01, R-ELIG-12; the change must not make it worse)."""
    checked = 0
    for row in fleet.changes:
        if row["outcome"] not in (*AUTOMATIC_OUTCOMES, "manual"):
            continue
        assert row["licenses_after"] is not None and row["licenses_after"] >= 1, row
        tenant = fleet.population[row["tenant_id"]]
        if tenant["users"] <= tenant["licenses"]:
            checked += 1
            assert row["users_moved"] <= row["licenses_after"], row
        else:
            assert row["users_moved"] - row["licenses_after"] \
                <= tenant["users"] - tenant["licenses"], row
    assert checked > 0


def test_ledger_amounts_recompute_from_their_terms_P_CHG_01(fleet):
    """P-CHG-01 / P-RND-04 / P-RND-02: every ledger amount equals
    u * m * q * billing_days / cycle_days rounded under the run's policy, recomputed from
    the line's own unit price, months, quantity and days (a credit is the negated
    magnitude)."""
    assert fleet.ledger and "unit_price" in fleet.ledger[0]
    iso_digits = {"USD": 2, "EUR": 2, "GBP": 2, "SEK": 2, "JPY": 0}  # ISO 4217, by hand
    wrong = []
    for line in fleet.ledger:
        digits = iso_digits[line["currency"]]
        magnitude = reference_amount(line["unit_price"], line["months"], line["quantity"],
                                     line["billing_days"], line["cycle_days"], digits,
                                     fleet.manifest["rounding"])
        expected = -magnitude if line["type"] == "credit" else magnitude
        if line["amount_minor"] != expected:
            wrong.append((line["request_id"], line["rule"], line["amount_minor"], expected))
    assert not wrong, wrong[:5]


# The credits of a plan change or cancellation (P-TIME-02 as amended, INV-07); a license
# reduction's credit (P-CHG-07) goes on the invoice after its billing period instead.
CHANGE_CREDIT_RULES = ("P-CHG-02", "P-CHG-03", "P-CHG-05", "P-CHG-06")


def test_no_change_credit_invoiced_late_INV_07_P_TIME_03(fleet):
    """INV-07 / P-TIME-03 / R-BILL-03 (amended 2026-11-30): every credit of a plan change
    or cancellation is on an invoice at most 30 days after the change, so no ledger line
    or change is flagged late, and INV-07 counts nothing in the manifest."""
    limit = fleet.manifest["scenario"]["billing"]["credit_invoice_limit_days"]
    checked = 0
    for line in fleet.ledger:
        days = (date.fromisoformat(line["invoice_date"])
                - date.fromisoformat(line["changed_on"])).days
        assert days >= 0, line
        if line["amount_minor"] < 0 and line["rule"] in CHANGE_CREDIT_RULES:
            checked += 1
            assert days <= limit, line
        assert not line["late_credit"], line
    assert not any(row["late_credit"] for row in fleet.changes)
    assert "INV-07" not in fleet.manifest["invariant_violations"]["by_rule"]
    assert checked > 0


@pytest.mark.parametrize("currency", ["JPY", "GBP"])
def test_amounts_carry_the_currency_digits_P_MONEY_02(tmp_path, currency):
    """P-MONEY-02 / INV-05: with one fixed currency (a catalog price list: JPY with 0
    digits, GBP with 2), amounts carry exactly its digits and reconcile with the ledger."""
    result = run(tmp_path / "run", "baseline", ["run.tenants=300", f"run.currency={currency}"])
    digits = minor_unit(currency)
    assert result.manifest["digits"] == digits
    assert result.manifest["digits_by_currency"] == {currency: digits}
    assert result.manifest["invariant_violations"]["total"] == 0
    ledger = read(tmp_path / "run", "ledger")
    changes = read(tmp_path / "run", "changes")
    assert ledger and {line["currency"] for line in ledger} == {currency}
    for line in ledger:
        assert Decimal(line["amount"]).as_tuple().exponent == -digits
        assert Decimal(line["amount"]) == Decimal(line["amount_minor"]).scaleb(-digits)
    for row in changes:
        assert Decimal(row["net"]).as_tuple().exponent == -digits
    assert sum(line["amount_minor"] for line in ledger) == sum(r["net_minor"] for r in changes)


# ------------------------------------------------------------- regressions (P-CAL-02)


def test_scheduled_change_of_month_end_monthly_anchor_runs_P_CAL_02_P_CHG_04(tmp_path):
    """P-CAL-02 / P-CHG-04 / R-AUTO-02: MCA changes scheduled at renewal on monthly terms,
    many anchored at a month end (Dec 29..31), take effect on a renewal day that is not
    in the past: the run completes with no violation. (With renewals counted from the
    first anchor but cycles from the last renewal this crashed with SimPy's 'Negative
    delay'.)"""
    scenario = scenario_from_dict({
        "run": {"tenants": 1000, "seed": 1, "horizon_days": 120},
        "population": {"mca_share": 1.0, "terms": {"P1M": 1.0, "P1Y": 0.0, "P3Y": 0.0}},
        "demand": {"mca_renewal_share": 1.0, "request_share": 1.0},
    })
    model = simulate(scenario)
    assert model.violations == 0
    assert model.requests == 1000


# ------------------------------------------------------------------ determinism


@pytest.fixture(scope="module")
def baseline_twice(tmp_path_factory):
    """baseline at 300 tenants, run twice; the second run in --strict mode, which must not
    change a clean run's records."""
    base = tmp_path_factory.mktemp("determinism")
    small = ["run.tenants=300"]
    first = run(base / "a", "baseline", small)
    second = run(base / "b", "baseline", small, strict=True)
    return base, first, second


def test_same_seed_gives_byte_identical_records_P_RND_02(baseline_twice):
    """P-RND-02: two runs of one scenario and seed write byte-identical record files and
    manifest (sha256 of every file under records/ and of manifest.json); --strict on a
    clean run (INV-01..06 hold) changes nothing."""
    base, first, _ = baseline_twice
    a, b = digests(base / "a"), digests(base / "b")
    assert a == b
    assert {"changes.parquet", "ledger.parquet", "attempts.parquet", "manifest.json"} <= set(a)
    for name, table in first.manifest["tables"].items():
        assert table["sha256"] == a[Path(table["file"]).name], name


def test_different_seed_changes_the_records_P_RND_02(baseline_twice, tmp_path):
    """P-RND-02: another seed draws another fleet: changes, ledger and manifest differ."""
    base, _, _ = baseline_twice
    run(tmp_path / "c", "baseline", ["run.tenants=300", "run.seed=2"])
    a, c = digests(base / "a"), digests(tmp_path / "c")
    for name in ("changes.parquet", "ledger.parquet", "population.parquet", "manifest.json"):
        assert a[name] != c[name], name


def test_csv_records_are_deterministic_and_exact_P_RND_02_P_MONEY_01(tmp_path):
    """P-RND-02 / P-MONEY-01: CSV records are byte-identical across runs; money columns
    are fixed-point strings with the currency's digits, equal to minor / 10**digits."""
    small = ["run.tenants=300"]
    first = run(tmp_path / "a", "baseline", small, fmt="csv")
    run(tmp_path / "b", "baseline", small, fmt="csv")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert first.manifest["record_format"] == "csv"
    with (tmp_path / "a" / "records" / "ledger.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == first.manifest["tables"]["ledger"]["rows"] > 0
    for row in rows:
        text, digits = row["amount"], minor_unit(row["currency"])
        assert "e" not in text.lower(), text
        assert len(text.partition(".")[2]) == digits and ("." in text) == (digits > 0), text
        assert Decimal(text) == Decimal(int(row["amount_minor"])).scaleb(-digits)


# ---------------------------------------------------------------- direction tests


def queue_waits(run_dir: Path) -> list[float]:
    return sorted(row["queue_wait_min"] for row in read(run_dir, "changes")
                  if row["queue_wait_min"] is not None)


def p95(values: list[float]) -> float:
    return values[min(len(values) - 1, int(0.95 * len(values)))]


def test_more_workers_shorten_queue_waits(tmp_path):
    """Capacity (R-AUTO-03 switch on a worker, SLA): month-end-surge with 8 workers queues
    clearly less than with 1 (mean and p95 wait, SLA breaches), same seed and demand."""
    common = ["run.tenants=1000", "run.horizon_days=120"]
    one = run(tmp_path / "w1", "month-end-surge", [*common, "capacity.workers=1"])
    eight = run(tmp_path / "w8", "month-end-surge", [*common, "capacity.workers=8"])
    assert one.requests == eight.requests
    w1, w8 = queue_waits(tmp_path / "w1"), queue_waits(tmp_path / "w8")
    assert len(w1) > 200 and len(w8) > 200
    mean1, mean8 = sum(w1) / len(w1), sum(w8) / len(w8)
    assert mean1 > mean8 + 1.0, (mean1, mean8)
    assert p95(w1) > p95(w8) + 5.0, (p95(w1), p95(w8))
    breaches = {tag: sum(row["sla_breach"] for row in read(tmp_path / tag, "changes"))
                for tag in ("w1", "w8")}
    assert breaches["w1"] >= breaches["w8"]


def blocker_attempts(run_dir: Path, code: str) -> int:
    return sum(code in row["blockers"].split(";") for row in read(run_dir, "attempts"))


DIRECTION_FLEET = ["run.tenants=1000", "run.seed=5"]


@pytest.fixture(scope="module")
def baseline_seed5(tmp_path_factory) -> Path:
    """The reference run of the blocker direction tests (baseline, 1,000 tenants, seed 5)."""
    out = tmp_path_factory.mktemp("direction") / "base"
    run(out, "baseline", DIRECTION_FLEET)
    return out


INCIDENT_RATES = {"exchange": 10.0, "sharepoint": 8.0, "teams": 10.0, "onedrive": 4.0,
                  "intune": 4.0}


def test_more_incidents_block_more_attempts_R_ELIG_02(baseline_seed5, tmp_path):
    """R-ELIG-02: with every service's incident rate x20, far more attempts meet
    NOT_PROVISIONED_OR_UNHEALTHY than in the baseline (same seed and fleet)."""
    defaults = load_scenario(REPO / "sim/fleet/scenarios" / "baseline.toml").incidents
    assert {service: spec.rate_per_year for service, spec in defaults.items()} \
        == INCIDENT_RATES
    storm = [f"incidents.{service}.rate_per_year={rate * 20}"
             for service, rate in INCIDENT_RATES.items()]
    run(tmp_path / "storm", "baseline", [*DIRECTION_FLEET, *storm])
    low = blocker_attempts(baseline_seed5, "NOT_PROVISIONED_OR_UNHEALTHY")
    high = blocker_attempts(tmp_path / "storm", "NOT_PROVISIONED_OR_UNHEALTHY")
    assert high > 4 * low + 20, (low, high)


def test_more_unpaid_invoices_block_more_attempts_R_ELIG_09(baseline_seed5, tmp_path):
    """R-ELIG-09: more invoice payers, more of them with an unpaid balance => far more
    attempts meet UNPAID_INVOICE_BALANCE (same seed and fleet)."""
    unpaid = ["population.payment_methods={card = 0.2, invoice = 0.8}",
              "population.blockers.unpaid_balance=0.6"]
    run(tmp_path / "unpaid", "baseline", [*DIRECTION_FLEET, *unpaid])
    low = blocker_attempts(baseline_seed5, "UNPAID_INVOICE_BALANCE")
    high = blocker_attempts(tmp_path / "unpaid", "UNPAID_INVOICE_BALANCE")
    assert high > 4 * low + 20, (low, high)


# ---------------------------------------------------------------------- --strict


def _unlicensing(original):
    """The automatic change completes with one license fewer than its users (INV-01)."""
    def complete(subscription, *args, **kwargs):
        effects = original(subscription, *args, **kwargs)
        changed = effects.new_subscription or subscription
        changed.licenses = changed.assigned - 1
        return effects
    return complete


def _without_credit(original):
    def outcome(*args, **kwargs):
        result = original(*args, **kwargs)
        return result._replace(lines=tuple(line for line in result.lines
                                           if line.type != "credit"))
    return outcome


@pytest.mark.parametrize(("target", "wrap", "rule"), [
    ("complete_automatic", _unlicensing, "INV-01"),
    ("change_outcome", _without_credit, "INV-03"),
], ids=["INV-01", "INV-03"])
def test_injected_violation_is_recorded_INV_01_INV_03(tmp_path, monkeypatch, target, wrap,
                                                      rule):
    """INV-01 / INV-03: an injected break (a user left unlicensed; the old subscription's
    credit line dropped) is recorded as violation rows and counted in the manifest."""
    monkeypatch.setattr(sim.fleet.request, target, wrap(getattr(sim.fleet.request, target)))
    result = run(tmp_path / "run", "baseline", ["run.tenants=300"])
    violations = read(tmp_path / "run", "violations")
    total = result.manifest["invariant_violations"]["total"]
    assert total > 0 and len(violations) == total == result.violations
    by_rule = result.manifest["invariant_violations"]["by_rule"]
    assert by_rule[rule] > 0 and sum(by_rule.values()) == total
    assert rule in {row["rule"] for row in violations}
    ids = {row["request_id"] for row in read(tmp_path / "run", "changes")}
    assert {row["request_id"] for row in violations} <= ids


@pytest.mark.parametrize(("target", "wrap", "rule"), [
    ("complete_automatic", _unlicensing, "INV-01"),
    ("change_outcome", _without_credit, "INV-03"),
], ids=["INV-01", "INV-03"])
def test_strict_run_stops_at_first_violation_INV_01_INV_03(tmp_path, monkeypatch, target,
                                                           wrap, rule):
    """INV-01 / INV-03 in --strict mode: the first violation raises InvariantViolation
    naming the rule, and no finished-looking output directory is left."""
    monkeypatch.setattr(sim.fleet.request, target, wrap(getattr(sim.fleet.request, target)))
    out = tmp_path / "run"
    with pytest.raises(InvariantViolation, match=rule):
        run(out, "baseline", ["run.tenants=300"], strict=True)
    assert not (out / "manifest.json").exists()


def test_strict_run_without_violation_completes_INV_01_to_06(baseline_twice):
    """INV-01..06: --strict does not stop a clean run (the second determinism run)."""
    base, _, strict = baseline_twice
    assert strict.violations == 0 and (base / "b" / "manifest.json").is_file()


# ------------------------------------------------------------------- R-AUTO-03


def _subscription(**kwargs: Any) -> Subscription:
    values = dict(subscription_id="s-1", plan="BUSINESS_BASIC", domain="contoso.com",
                  licenses=10, assigned=10, term="P1Y", billing_frequency="monthly",
                  anchor=date(2026, 1, 15))
    values.update(kwargs)
    return Subscription(**values)


@pytest.mark.parametrize("account", ["MOSA", "MCA"])
def test_second_check_during_change_reports_pending_R_AUTO_03_R_ELIG_03(account):
    """R-AUTO-03 / R-ELIG-03: while a change of a subscription is in progress, another
    eligibility check of it reports CHANGE_OR_CREDIT_CHECK_PENDING (for MCA too,
    R-ELIG-12); the tenant's other subscriptions stay changeable."""
    catalog = builtin_catalog()
    locked = _subscription()
    other = _subscription(subscription_id="s-2", plan="O365_E1")
    tenant = Tenant("t-1", "contoso.com", "US", account, "card", [locked, other])
    basic, standard = catalog.plans["BUSINESS_BASIC"], catalog.plans["BUSINESS_STANDARD"]
    e3 = catalog.plans["O365_E3"]

    def codes(subscription, current, target):
        context = ChangeContext(tenant, subscription, current, target, catalog)
        return [rule.code for rule in check(context, rule_set_for(account))]

    assert codes(locked, basic, standard) == []
    locked.change_in_progress = True
    assert codes(locked, basic, standard) == ["CHANGE_OR_CREDIT_CHECK_PENDING"]
    assert codes(other, catalog.plans["O365_E1"], e3) == []
    locked.change_in_progress = False
    assert codes(locked, basic, standard) == []


def test_model_locks_subscription_during_automatic_change_R_AUTO_03(monkeypatch):
    """R-AUTO-03 through the model: at the moment an automatic change completes, the
    subscription is still locked (a second check reports CHANGE_OR_CREDIT_CHECK_PENDING);
    right after completion the lock is released."""
    catalog = builtin_catalog()
    rules = rule_set_for("MOSA")
    seen: list[tuple[bool, bool]] = []
    original = sim.fleet.request.complete_automatic

    def second_check(subscription):
        tenant = Tenant("t-probe", subscription.domain, "US", "MOSA", "card", [subscription])
        plan = catalog.plans[subscription.plan]
        context = ChangeContext(tenant, subscription, plan, plan, catalog)
        return "CHANGE_OR_CREDIT_CHECK_PENDING" in [r.code for r in check(context, rules)]

    def spy(subscription, *args, **kwargs):
        during = second_check(subscription)
        effects = original(subscription, *args, **kwargs)
        seen.append((during, second_check(subscription)))
        return effects

    monkeypatch.setattr(sim.fleet.request, "complete_automatic", spy)
    scenario = load_scenario(REPO / "sim/fleet/scenarios" / "baseline.toml", ["run.tenants=300"])
    model = simulate(scenario)
    assert model.violations == 0
    assert len(seen) > 20
    assert all(during for during, _ in seen), "a subscription was not locked mid-change"
    assert not any(after for _, after in seen), "the lock outlived the change"


# ------------------------------------------------------------------ streamed records


def test_records_stream_in_chunks_with_all_rows(tmp_path):
    """Records are written in chunks (Parquet row groups): with chunk_rows=50 every row is
    still written, the tables hold several row groups, and their content equals that of a
    run written in one chunk (INV-05 totals unchanged)."""
    scenario = load_scenario(REPO / "sim/fleet/scenarios" / "baseline.toml", ["run.tenants=600"])
    tables = {}
    for tag, chunk in (("small", 50), ("large", 1_000_000)):
        directory = tmp_path / tag
        directory.mkdir()
        recorder = Recorder(directory, "parquet", chunk_rows=chunk,
                            population_columns=POPULATION_COLUMNS)
        model = simulate(scenario, recorder)
        rows = recorder.close()
        assert rows["changes"] == model.requests
        tables[tag] = (directory, rows)
    small_dir, small_rows = tables["small"]
    large_dir, large_rows = tables["large"]
    assert small_rows == large_rows
    for name in ("changes", "ledger", "attempts", "capacity"):
        path = small_dir / f"{name}.parquet"
        assert small_rows[name] > 100, name
        assert pq.ParquetFile(path).num_row_groups > 1, name
        assert pq.ParquetFile(path).metadata.num_rows == small_rows[name]
        assert pq.read_table(path).equals(pq.read_table(large_dir / f"{name}.parquet")), name
    assert pq.ParquetFile(large_dir / "changes.parquet").num_row_groups == 1
