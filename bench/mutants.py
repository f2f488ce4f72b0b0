"""Mutation check: break the code on purpose and see the test suite notice (STYLE.md 21).

Each mutant is one textual change to one file of ``sim/`` (it must match exactly once),
applied to a fresh copy of the project in a temporary directory, never to the working
tree. The copy's tests run with the copy's package first on ``sys.path``; a mutant is
*killed* when pytest fails, *survives* when it passes. The script prints one line per
mutant and the kill rate (target 100%).

    .venv/bin/python bench/mutants.py             # every mutant, its listed test files
    .venv/bin/python bench/mutants.py --full      # every mutant against the whole suite
    .venv/bin/python bench/mutants.py --only cal  # mutants whose id contains 'cal'
    .venv/bin/python bench/mutants.py --jobs 2

By default each mutant runs the test files it names (the ones that should catch it) with
``-x``, which keeps the check to a few minutes; ``--full`` runs the whole suite instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("sim", "tests", "scenarios", "examples", "docs", "pyproject.toml", "run_sim.py")


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str


MUTANTS: tuple[Mutant, ...] = (
    # ------------------------------------------------------------------ rules layer
    Mutant("cal-gregorian-400", "sim/rules/calendar.py",
           "year % 100 != 0 or year % 400 == 0", "year % 100 != 0",
           ("tests/test_calendar.py",), "P-CAL-02: 2000 is a leap year (400-year rule)"),
    Mutant("cal-no-clamp", "sim/rules/calendar.py",
           "day = min(anchor.day, _days_in_month(year, month))",
           "day = min(anchor.day, 28)",
           ("tests/test_calendar.py",), "P-CAL-02: month-end anchors clamp, never drift to 28"),
    Mutant("money-range-guard", "sim/rules/money.py",
           "if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:",
           "if False:", ("tests/test_money.py", "tests/test_case_validation.py"),
           "parse_decimal rejects magnitudes beyond 10^30"),
    Mutant("money-half-even-as-up", "sim/rules/money.py",
           'RoundingPolicy("line-half-even", False, _round_half_even,',
           'RoundingPolicy("line-half-even", False, _round_half_up,',
           ("tests/test_money.py",), "P-RND: half to even differs from half up on ties"),
    Mutant("elig-drop-unpaid-row", "sim/rules/eligibility.py",
           'EligibilityRule("R-ELIG-09", "UNPAID_INVOICE_BALANCE", _unpaid_invoice_balance,',
           'EligibilityRule("R-ELIG-09", "UNPAID_INVOICE_BALANCE", lambda context: False,',
           ("tests/test_eligibility.py", "tests/test_examples.py"),
           "R-ELIG-09: the unpaid-invoice blocker is a row of the table"),
    Mutant("elig-target-downgrade", "sim/rules/catalog.py",
           "if target_services.get(service, 0) < current.services[service]:",
           "if target_services.get(service, 0) < current.services[service] - 1:",
           ("tests/test_eligibility.py",), "R-ELIG-07: a lower level is a downgrade"),
    Mutant("cal-billing-days-off-by-one", "sim/rules/calendar.py",
           "return (self.end - on).days + 1", "return (self.end - on).days",
           ("tests/test_calendar.py", "tests/test_billing.py"),
           "P-CAL-04: the event day is billed to the new state (both ends counted)"),
    Mutant("bill-mca-window-8-days", "sim/rules/billing.py",
           "return (on - subscription.anchor).days < window_days",
           "return (on - subscription.anchor).days <= window_days",
           ("tests/test_billing.py", "tests/test_examples.py"),
           "R-MAN-07 / P-CHG-05: day anchor+7 is outside the 7-day window"),
    Mutant("bill-full-refund-window", "sim/rules/billing.py",
           "if (on - subscription.anchor).days < mca_full_refund_days:",
           "if (on - subscription.anchor).days <= mca_full_refund_days:",
           ("tests/test_billing.py", "tests/test_examples.py"),
           "P-CHG-05: the full refund is for the first 24 hours only"),
    Mutant("inv-mca-invoice-window", "sim/rules/invoicing.py",
           "    if dated <= this_month:\n        return this_month",
           "    if dated < this_month:\n        return this_month",
           ("tests/test_invoicing.py",),
           "P-TIME-01: a line dated on the invoice day is on that invoice"),
    Mutant("inv-mosa-closing-invoice", "sim/rules/invoicing.py",
           "        return dated + ONE_DAY  # P-TIME-02: closing invoice",
           "        return line.end + ONE_DAY  # mutant: period end",
           ("tests/test_invoicing.py", "tests/test_examples.py"),
           "P-TIME-02 (amended): MOSA change credits on a closing invoice the next day"),
    Mutant("elig-mca-gets-mosa-rules", "sim/rules/eligibility.py",
           "        return MCA_RULES", "        return ELIGIBILITY_RULES",
           ("tests/test_eligibility.py", "tests/test_examples.py"),
           "R-ELIG-12: MCA accounts are checked with R-ELIG-02/03/07/10 only"),
    # ------------------------------------------------------------------ fleet model
    Mutant("model-order-start-swapped", "sim/fleet/request.py",
           "row.queue_wait_min = row.started_at - row.order_at",
           "row.order_at, row.started_at = row.started_at, row.order_at\n"
           "        row.queue_wait_min = row.started_at - row.order_at",
           ("tests/test_capacity_stats.py",), "order placed before the worker starts"),
    Mutant("model-one-retry-too-many", "sim/fleet/request.py",
           "if row.attempts >= admin.max_attempts:", "if row.attempts > admin.max_attempts:",
           ("tests/test_capacity_stats.py", "tests/test_fleet.py"),
           "admin.max_attempts caps the attempts of a request"),
    Mutant("model-consolidation-seat-short", "sim/fleet/remediation.py",
           "return max(other.assigned - (keep.licenses - keep.assigned), 0)",
           "return max(other.assigned - (keep.licenses - keep.assigned) - 1, 0)",
           ("tests/test_capacity_stats.py",), "R-ELIG-05 / INV-06: buy a seat for every user"),
    Mutant("monitor-inv07-blind", "sim/fleet/monitor.py",
           "if line.amount < 0 and late_credit(line, invoiced, changed_on, self.terms):",
           "if False:", ("tests/test_monitor.py",), "INV-07 is checked by the monitor"),
    Mutant("monitor-inv03-blind", "sim/fleet/monitor.py",
           "        if not billed_once(spans, first, last):",
           "        if False:", ("tests/test_monitor.py",), "INV-03 is recomputed from spans"),
    # ------------------------------------------------------------------ report
    Mutant("report-sla-denominator", "sim/report/stats.py",
           'summary.add("sla.breach_share", _share(breaches, processed.sum()), "ratio")',
           'summary.add("sla.breach_share", _share(breaches, len(changes)), "ratio")',
           ("tests/test_capacity_stats.py",), "SLA share over placed orders"),
    Mutant("report-daily-integral", "sim/report/stats.py",
           '"utilisation": np.diff(busy_integral) / (MINUTES_PER_DAY * workers),',
           '"utilisation": busy_integral[1:] / (MINUTES_PER_DAY * workers),',
           ("tests/test_capacity_stats.py",), "daily utilisation is a per-day integral"),
    Mutant("report-cash-gaps", "sim/report/finance.py",
           "table = sums.reindex(full, fill_value=0).reset_index()",
           "table = sums.reset_index()",
           ("tests/test_report_html.py", "tests/test_report.py", "tests/test_currencies.py"),
           "issue 12: the cash timeline has a row for every month"),
    # ------------------------------------------------------------------ records (issue 11)
    Mutant("records-chunk-boundary", "sim/fleet/records.py",
           "        if self._batched >= self.chunk_rows:",
           "        if self._batched > self.chunk_rows:",
           ("tests/test_records_writer.py",), "a row group is exactly chunk_rows rows"),
    Mutant("records-hex-zero", "sim/fleet/population.py",
           "lead = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), width - 1)",
           "lead = nonzero.argmax(axis=1)",
           ("tests/test_records_writer.py",), "the hex of 0 is one digit, as format(0, 'x')"),
    Mutant("fleet-keep-open-requests", "sim/fleet/engine.py",
           "        self._let_go()\n", "        pass\n",
           ("tests/test_fleet_scale.py",), "a run leaves no cyclic garbage per request"),
    # ------------------------------------------------------------------ harness
    Mutant("harness-minor-unit-class", "sim/harness/compare.py",
           'klass = "amount-minor-unit" if abs(model_amount - sut_amount) == step else "amount"',
           'klass = "amount"',
           ("tests/test_harness_compare.py",), "HARNESS.md 2: one-minor-unit differences"),
)


def copy_project(into: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis"))
        elif source.exists():
            shutil.copy2(source, into / name)


def apply(mutant: Mutant, into: Path) -> str | None:
    """Apply `mutant` inside the copy; None when done, else why it could not be."""
    path = into / mutant.file
    if not path.exists():
        return f"no file {mutant.file}"
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant.old)
    if count != 1:
        return f"the text to mutate occurs {count} times in {mutant.file}"
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return None


def run_one(mutant: Mutant | None, full: bool, timeout: float,
            tests: tuple[str, ...] = ()) -> tuple[str, float, str]:
    """(status, seconds, detail): status is killed, survived, error or timeout.

    With `mutant` None the copy is left as it is (the baseline: its tests must pass, or
    a "kill" would mean nothing)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="planshift-mutant-") as tmp:
        where = Path(tmp)
        copy_project(where)
        problem = apply(mutant, where) if mutant is not None else None
        if problem:
            return "error", 0.0, problem
        tests = ["tests"] if full else list(mutant.tests if mutant is not None else tests)
        env = dict(os.environ, PYTHONPATH=str(where), PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                   *tests]
        try:
            done = subprocess.run(command, cwd=where, env=env, capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return "timeout", time.perf_counter() - started, f"over {timeout:.0f} s"
        seconds = time.perf_counter() - started
        if done.returncode == 0:
            return "survived", seconds, "the tests passed with the mutant"
        if done.returncode in (1,):
            failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
            return "killed", seconds, failed[0] if failed else "tests failed"
        return "error", seconds, (done.stdout + done.stderr).strip().splitlines()[-1:][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the whole suite per mutant")
    parser.add_argument("--only", default="", help="mutants whose id contains this text")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only in m.id]
    if args.list:
        for mutant in chosen:
            print(f"{mutant.id:28} {mutant.file:32} {mutant.why}")
        return 0
    started = time.perf_counter()
    suites = sorted({("tests",) if args.full else m.tests for m in chosen})
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        baselines = dict(zip(suites, pool.map(
            lambda s: run_one(None, False, args.timeout, s), suites), strict=True))
        broken = {suite for suite, (status, _, _) in baselines.items() if status != "survived"}
        for suite in sorted(broken):
            print(f"baseline fails without any mutant: {' '.join(suite)}: {baselines[suite][2]}")
        runnable = [m for m in chosen if (("tests",) if args.full else m.tests) not in broken]
        results_by_id = dict(zip((m.id for m in runnable), pool.map(
            lambda m: run_one(m, args.full, args.timeout), runnable), strict=True))
    results = [results_by_id.get(m.id, ("error", 0.0, "its tests fail without the mutant"))
               for m in chosen]
    killed = 0
    for mutant, (status, seconds, detail) in zip(chosen, results, strict=True):
        killed += status == "killed"
        print(f"{status:8} {seconds:6.1f}s  {mutant.id:28} {detail}")
    total = len(chosen)
    rate = killed / total if total else 0.0
    print(f"\n{killed}/{total} mutants killed: kill rate {rate:.0%} "
          f"({time.perf_counter() - started:.0f} s, "
          f"{'whole suite' if args.full else 'listed tests'})")
    return 0 if killed == total else 1


if __name__ == "__main__":
    sys.exit(main())
