"""Exporting a simulated fleet's requests as cases and model verdicts (CASES.md format 1).

:class:`CaseExporter` is a fleet observer (:mod:`sim.fleet.observe`): every eligibility
check of a change request, every billed change, cancellation and reduction becomes one
case -- the tenant as it stood at that moment (its subscriptions, open incidents,
pending credit check, unpaid balance) and the request -- with the model's verdict
(:func:`~sim.harness.cases.evaluate_json`). Cases stream to disk as they come: memory
stays flat however large the fleet.

Selection (:func:`select_cases`) is a second pass over a spooled file: ``sample`` picks
exactly N cases, deterministically from a seed; ``stratify`` keeps at least K cases of
every stratum the fleet produced (each blocker code, account type, alignment, request
kind, rounding policy, month-end and leap-day anchor).
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from ..rules.billing import BillingOutcome
from ..rules.catalog import Catalog, Plan, builtin_catalog
from ..rules.domain import Subscription, Tenant
from ..rules.money import format_minor, minor_unit
from .cases import evaluate_json
from .coverage import Coverage
from .outputs import atomic_text, prepare_out_dir

__all__ = ["EXPORT_TOOL", "CaseExporter", "ExportError", "JsonLinesSink", "SpoolSink",
           "export_cases", "export_from_scenario", "strata", "write_selection"]

EXPORT_TOOL = "planshift cases"
MAX_MISMATCHES = 20  # fleet-vs-model mismatches kept for the report


class ExportError(ValueError):
    """A scenario whose cases the CASES.md format cannot express (bad input)."""


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """A plan entry for a case's ``catalog.plans`` (CASES.md)."""
    return {"id": plan.id, "product": plan.product, "sector": plan.sector,
            "services": dict(plan.services), "data_services": sorted(plan.data_services),
            "prices": {term: str(price) for term, price in plan.prices.items()}}


def subscription_to_json(subscription: Subscription) -> dict[str, Any]:
    return {
        "subscription_id": subscription.subscription_id, "plan": subscription.plan,
        "domain": subscription.domain, "status": subscription.status,
        "provisioned": subscription.provisioned, "licenses": subscription.licenses,
        "assigned": subscription.assigned, "term": subscription.term,
        "billing_frequency": subscription.billing_frequency,
        "anchor": subscription.anchor.isoformat(),
        "add_ons": [{"sku": a.sku, "blocks_change": a.blocks_change}
                    for a in subscription.add_ons],
        "change_in_progress": subscription.change_in_progress,
        "eligible_for_change": subscription.eligible_for_change,
        "other_problem": subscription.other_problem,
    }


def tenant_to_json(tenant: Tenant, digits: int) -> dict[str, Any]:
    """A copy of the tenant as it stands (the observer must not keep live objects)."""
    return {
        "tenant_id": tenant.tenant_id, "domain": tenant.domain, "country": tenant.country,
        "billing_account": tenant.billing_account, "payment_method": tenant.payment_method,
        "unpaid_balance": format_minor(tenant.unpaid_balance, digits),
        "credit_check_pending": tenant.credit_check_pending,
        "open_incidents": sorted(tenant.open_incidents),
        "subscriptions": [subscription_to_json(s) for s in tenant.subscriptions],
    }


def _window(days_in: int) -> str:
    """R-MAN-07 / P-CHG-05/07: the MCA windows' edges are day 0, days 1-6, day 7."""
    if days_in <= 0:
        return "day-0"
    return "days-1-6" if days_in <= 6 else ("day-7" if days_in == 7 else "later")


def strata(case: dict[str, Any], verdict: dict[str, Any]) -> list[str]:
    """The strata a case belongs to, for ``--stratify`` (issue 9): request kind, account
    type, rounding policy, each blocker code, alignment, a month-end or leap-day anchor,
    and for MCA cancellations and reductions the day of the 7-day window."""
    tenant = case["tenant"]
    request = case["request"]
    account = tenant["billing_account"]
    keys = [f"kind:{request['kind']}", f"account:{account}",
            f"rounding:{case.get('rounding', 'line-half-up')}"]
    keys.extend(f"blocker:{b['code']}" for b in verdict.get("blockers", []))
    if verdict.get("alignment"):
        keys.append(f"alignment:{verdict['alignment']}")
    for subscription in tenant["subscriptions"]:
        if subscription["subscription_id"] == request["subscription_id"]:
            anchor = subscription["anchor"]
            if anchor[5:] == "02-29":
                keys.append("anchor:leap-day")
            elif anchor[8:] > "28":
                keys.append("anchor:month-end")
            if account == "MCA" and request["kind"] != "change":
                days_in = (date.fromisoformat(request["on"]) - date.fromisoformat(anchor)).days
                keys.append(f"mca-window:{_window(days_in)}")
    return keys


class CaseExporter:
    """A fleet observer handing each request's case and model verdict to `sink`.

    `sink(case, verdict)` writes them (:class:`JsonLinesSink`, or a spool for a second
    selection pass); None only counts. Nothing but counters, rule coverage and a few
    mismatch notes is kept between events. A case is in its tenant's currency (issue 12:
    ``Tenant.currency``), with the plans it needs priced in that currency embedded in
    its ``catalog`` when they differ from the built-in (base) list.
    """

    def __init__(self, sink: Callable[[dict[str, Any], dict[str, Any]], None] | None,
                 currency: str = "USD", rounding: str = "line-half-up",
                 catalog: Catalog | None = None) -> None:
        self.sink = sink
        self.currency = currency  # kept for callers: each case takes its tenant's currency
        self._digits: dict[str, int] = {}  # currency -> minor unit (P-MONEY-02)
        self.rounding = rounding
        self.builtin = builtin_catalog()
        self.catalog = catalog
        self.sequence = 0
        self.exported = 0
        self.rejected: Counter[str] = Counter()  # model errors, by message head
        self.mismatches: list[str] = []  # fleet outcome vs model verdict (first few)
        self.rejections: list[str] = []  # cases the model rejected (first few)
        self.coverage = Coverage()

    # ----------------------------------------------------------------- fleet hooks

    def on_attempt(self, request_id: str, day: date, tenant: Tenant,
                   subscription: Subscription, current_plan: Plan, target_plan: Plan,
                   blockers: tuple) -> None:
        """A blocked check is a case of its own; an allowed one waits for its billing."""
        if blockers:
            request = {"kind": "change", "subscription_id": subscription.subscription_id,
                       "target_plan": target_plan.id, "on": day.isoformat()}
            self._emit(request_id, tenant, request, (current_plan, target_plan), None)

    def on_change_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, current_plan: Plan, target_plan: Plan,
                         licenses: int, term: str, billing_frequency: str, schedule: str,
                         outcome: BillingOutcome) -> None:
        request = {"kind": "change", "subscription_id": subscription.subscription_id,
                   "target_plan": target_plan.id, "on": day.isoformat(),
                   "licenses": licenses, "term": term,
                   "billing_frequency": billing_frequency, "schedule": schedule}
        self._emit(request_id, tenant, request, (current_plan, target_plan), outcome,
                   in_progress=subscription.subscription_id)

    def on_cancel_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, plan: Plan, outcome: BillingOutcome
                         ) -> None:
        request = {"kind": "cancel", "subscription_id": subscription.subscription_id,
                   "on": day.isoformat()}
        self._emit(request_id, tenant, request, (plan,), outcome)

    def on_reduce_billed(self, request_id: str, day: date, tenant: Tenant,
                         subscription: Subscription, plan: Plan, licenses: int,
                         outcome: BillingOutcome) -> None:
        request = {"kind": "reduce", "subscription_id": subscription.subscription_id,
                   "on": day.isoformat(), "licenses": licenses}
        self._emit(request_id, tenant, request, (plan,), outcome)

    # -------------------------------------------------------------------- building

    def _catalog_plans(self, tenant: Tenant, plans: Iterable[Plan]) -> list[dict[str, Any]]:
        """Plans the built-in catalog lacks or prices differently, embedded in the case."""
        wanted: dict[str, Plan] = {plan.id: plan for plan in plans}
        if self.catalog is not None:
            for subscription in tenant.subscriptions:
                plan = self.catalog.plans.get(subscription.plan)
                if plan is not None:
                    wanted.setdefault(plan.id, plan)
        return [plan_to_json(plan) for plan_id, plan in sorted(wanted.items())
                if self.builtin.plans.get(plan_id) != plan]

    def _emit(self, request_id: str, tenant: Tenant, request: dict[str, Any],
              plans: tuple[Plan, ...], outcome: BillingOutcome | None,
              in_progress: str | None = None) -> None:
        self.sequence += 1
        currency = tenant.currency  # issue 12: billed in its country's currency
        digits = self._digits.get(currency)
        if digits is None:
            digits = self._digits[currency] = minor_unit(currency)
        tenant_json = tenant_to_json(tenant, digits)
        if in_progress is not None:  # the change being billed is not "another" change
            for subscription in tenant_json["subscriptions"]:
                if subscription["subscription_id"] == in_progress:
                    subscription["change_in_progress"] = False
        case: dict[str, Any] = {"format": 1, "case_id": f"{request_id}#{self.sequence}",
                                "currency": currency, "rounding": self.rounding}
        extra = self._catalog_plans(tenant, plans)
        if extra:
            case["catalog"] = {"plans": extra}
        case["tenant"] = tenant_json
        case["request"] = request
        verdict = evaluate_json(case)
        if "error" in verdict:
            self.rejected[verdict["error"].split(":", 1)[0]] += 1
            if len(self.rejections) < MAX_MISMATCHES:
                self.rejections.append(f"{case['case_id']}: {verdict['error']}")
            return
        if outcome is not None:
            self._compare_outcome(case["case_id"], verdict, outcome, digits)
        self.exported += 1
        self.coverage.add(case, verdict)
        if self.sink is not None:
            self.sink(case, verdict)

    def _compare_outcome(self, case_id: str, verdict: dict[str, Any],
                         outcome: BillingOutcome, digits: int) -> None:
        """The fleet's own ledger lines must be the verdict's (export never drifts)."""
        fleet = [(line.type, line.plan, line.start.isoformat(), line.end.isoformat(),
                  format_minor(line.amount, digits)) for line in outcome.lines]
        model = [(line["type"], line["plan"], line["start"], line["end"], line["amount"])
                 for line in verdict["lines"]]
        overlap = format_minor(outcome.overlap_cost, digits)
        if fleet != model or overlap != verdict["overlap_cost"]:
            if len(self.mismatches) < MAX_MISMATCHES:
                self.mismatches.append(f"{case_id}: fleet {fleet} overlap {overlap}, "
                                       f"model {model} overlap {verdict['overlap_cost']}")
            else:
                self.mismatches[-1] = f"... and more (last: {case_id})"

    def report(self) -> dict[str, Any]:
        return {"tool": EXPORT_TOOL, "cases": self.exported, "seen": self.sequence,
                "rejected": dict(self.rejected), "rejections": self.rejections,
                "fleet_mismatches": self.mismatches}


# -------------------------------------------------------------------- selection


def _choose(total: int, sample: int | None, seed: int) -> Iterator[int]:
    """Sorted indices of the sampled cases (all of them without a sample)."""
    if sample is None or sample >= total:
        yield from range(total)
        return
    yield from sorted(random.Random(seed).sample(range(total), sample))


def write_selection(spool: Path, total: int, out_dir: Path, sample: int | None,
                    stratify: int | None, seed: int = 0) -> Coverage:
    """Second pass over a spool of ``strata \\t case \\t verdict`` lines: write the selection.

    With `stratify` K every stratum gets at least K cases (or all the fleet produced);
    with only `stratify`, the selection is just those cases.
    """
    coverage = Coverage()
    filled: Counter[str] = Counter()
    chosen = _choose(total, sample if sample is not None or not stratify else 0, seed)
    next_chosen = next(chosen, None)
    cases_tmp = out_dir / ".cases.jsonl.tmp"
    verdicts_tmp = out_dir / ".verdicts.jsonl.tmp"
    with spool.open(encoding="utf-8") as source, \
            cases_tmp.open("w", encoding="utf-8") as cases_out, \
            verdicts_tmp.open("w", encoding="utf-8") as verdicts_out:
        for index, line in enumerate(source):
            keys_text, case_text, verdict_text = line.rstrip("\n").split("\t")
            keys = json.loads(keys_text)
            take = index == next_chosen
            if take:
                next_chosen = next(chosen, None)
            if not take and stratify and any(filled[key] < stratify for key in keys):
                take = True
            if take:
                filled.update(keys)
                cases_out.write(case_text + "\n")
                verdicts_out.write(verdict_text + "\n")
                coverage.add(json.loads(case_text), json.loads(verdict_text))
    os.replace(cases_tmp, out_dir / "cases.jsonl")
    os.replace(verdicts_tmp, out_dir / "verdicts.jsonl")
    return coverage


class JsonLinesSink:
    """Writes cases and verdicts to two open JSON Lines files, one line each."""

    def __init__(self, cases: IO[str], verdicts: IO[str]) -> None:
        self.cases, self.verdicts = cases, verdicts

    def __call__(self, case: dict[str, Any], verdict: dict[str, Any]) -> None:
        self.cases.write(json.dumps(case, separators=(",", ":")) + "\n")
        self.verdicts.write(json.dumps(verdict, separators=(",", ":")) + "\n")


class SpoolSink:
    """A temporary file of ``strata \\t case \\t verdict`` lines, for a selection pass."""

    def __init__(self, folder: Path) -> None:
        handle, name = tempfile.mkstemp(prefix=".spool-", suffix=".tsv", dir=folder)
        self.path = Path(name)
        self.file = os.fdopen(handle, "w", encoding="utf-8")
        self.count = 0

    def __call__(self, case: dict[str, Any], verdict: dict[str, Any]) -> None:
        self.count += 1
        self.file.write(f"{json.dumps(strata(case, verdict))}\t"
                        f"{json.dumps(case, separators=(',', ':'))}\t"
                        f"{json.dumps(verdict, separators=(',', ':'))}\n")

    def close(self) -> None:
        self.file.close()

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def export_cases(cases: Iterable[dict[str, Any]], out_dir: Path, sample: int | None = None,
                 stratify: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Export ready-made cases (e.g. from casegen) with their model verdicts and coverage.

    The same files and selection as :func:`export_from_scenario`, without a fleet.
    """
    prepare_out_dir(out_dir, EXPORT_TOOL, marker="coverage.json")
    spool = SpoolSink(out_dir)
    rejected = 0
    try:
        for case in cases:
            verdict = evaluate_json(case)
            if "error" in verdict:
                rejected += 1
                continue
            spool(case, verdict)
        spool.close()
        coverage = write_selection(spool.path, spool.count, out_dir, sample, stratify, seed)
    finally:
        spool.discard()
    report = {**coverage.to_json(), "tool": EXPORT_TOOL, "exported": spool.count,
              "rejected": rejected, "sample": sample, "stratify": stratify, "seed": seed}
    atomic_text(out_dir / "coverage.json", json.dumps(report, indent=2) + "\n")
    return report


def _simulate(scenario: Any, catalog: Catalog | None, exporter: CaseExporter) -> None:
    """``simulate(scenario, catalog=..., observers=[exporter])``; until the runner takes
    observers, the same steps with the engine's ``observers`` argument."""
    import inspect

    from ..fleet import runner

    if "observers" in inspect.signature(runner.simulate).parameters:
        runner.simulate(scenario, catalog=catalog, observers=[exporter])
        return
    from ..fleet.model import FleetModel
    from ..fleet.population import generate_population
    from ..fleet.records import NullRecorder

    catalog = catalog or builtin_catalog()
    digits = minor_unit(runner.base_currency(scenario, catalog))
    population = generate_population(scenario, catalog, digits)
    FleetModel(scenario, catalog, population, NullRecorder(), digits, False,
               [exporter]).run(None)


def export_from_scenario(scenario: Any, out_dir: Path, sample: int | None = None,
                         stratify: int | None = None, seed: int = 0,
                         catalog: Catalog | None = None) -> tuple[dict[str, Any], Coverage]:
    """Simulate `scenario` and export its cases into `out_dir` (issue 9, item 1).

    Assumes the fleet hook ``sim.fleet.runner.simulate(scenario, observers=[...])``.
    """
    billing = scenario.billing
    defaults = {"mca_window_days": 7, "mca_full_refund_days": 1,
                "mca_rules": ("R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10")}
    for name, value in defaults.items():
        actual = getattr(billing, name)
        if (tuple(actual) if isinstance(value, tuple) else actual) != value:
            raise ExportError(f"billing.{name} = {actual!r}: cases carry the CASES.md "
                              f"default {value!r}; export a scenario that keeps it")
    prepare_out_dir(out_dir, EXPORT_TOOL, marker="coverage.json")
    spool = SpoolSink(out_dir)
    try:
        exporter = CaseExporter(spool, scenario.run.currency, billing.rounding, catalog)
        _simulate(scenario, catalog, exporter)
        spool.close()
        coverage = write_selection(spool.path, spool.count, out_dir, sample, stratify, seed)
    finally:
        spool.discard()
    report = {**coverage.to_json(), **exporter.report(), "exported": exporter.exported,
              "cases": coverage.cases, "sample": sample, "stratify": stratify, "seed": seed}
    atomic_text(out_dir / "coverage.json", json.dumps(report, indent=2) + "\n")
    return report, coverage
