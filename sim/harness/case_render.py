"""Verdict lines of ``evaluate``, written directly (CASES.md "Verdicts").

:func:`verdict_line` gives the very bytes ``json.dumps(verdict_to_json(verdict),
separators=(", ", ": "))`` gives (the form ``evaluate`` has always written: ASCII
only, keys in the CASES.md order), without building the dict first. Strings are
escaped by the standard library's own C escaper, numbers and dates are ASCII.
:func:`evaluate_line` is the whole fast road for one JSON line: typed decode
(:mod:`sim.harness.case_types`), :func:`sim.harness.cases.evaluate`, this rendering;
None sends the line down the strict road.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from json.encoder import encode_basestring_ascii as _text
from typing import Any

from ..rules.booking import book_line
from ..rules.catalog import Catalog
from ..rules.invoicing import DEFAULT_TERMS, BillingTerms
from ..rules.money import format_minor
from .case_types import decode_case
from .cases import FORMAT, Case, Verdict, evaluate

__all__ = ["evaluate_line", "verdict_line"]

_JSON_BOOL = {True: "true", False: "false", None: "null"}
_new_tuple = tuple.__new__


def _texts(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(map(_text, items)) + "]" if items else "[]"


_ZEROS: dict[int, str] = {}  # "0.00" per currency digits: most verdicts print one or two


def _zero(digits: int) -> str:
    text = _ZEROS.get(digits)
    if text is None:
        text = _ZEROS[digits] = format_minor(0, digits)
    return text


class _Printed(dict):
    """The JSON text of values printed so far, by value: a dict look-up is several times
    faster than ``date.isoformat`` or the escaper, and verdicts repeat a few thousand
    days and a few dozen codes (kinds, plans, rule IDs). Cleared at a bound."""

    def __init__(self, form: Callable[[Any], str]) -> None:
        super().__init__()
        self.form = form

    def __missing__(self, value: Any) -> str:
        if len(self) >= 1 << 16:
            self.clear()
        text = self[value] = self.form(value)
        return text


_ISO = _Printed(date.isoformat)
_CODE = _Printed(_text)  # only for values from closed sets, never ids


def _lines(verdict: Verdict, terms: BillingTerms) -> tuple[list[str], list[str]]:
    """The ``lines`` entries with invoice and cash dates, and the P-TIME-03 violations."""
    case = verdict.case
    tenant = case.tenant
    digits = case.digits
    account, method, country = tenant.billing_account, tenant.payment_method, tenant.country
    on = case.request.on
    lines: list[str] = []
    violations: list[str] = []
    for line in verdict.outcome.lines:  # type: ignore[union-attr]
        booked = book_line(line, account, method, country, on, terms)
        invoiced = _ISO[booked.invoiced]
        if booked.late:
            violations.append(f"INV-07 (P-TIME-03): credit on {line.subscription_id} invoiced "
                              f"{invoiced}, more than {terms.credit_invoice_limit_days} "
                              "days after the change")
        lines.append(
            f'{{"type": {_CODE[line.type]}, "subscription_id": '
            f'{_text(line.subscription_id)}, "plan": {_CODE[line.plan]}, '
            f'"start": "{_ISO[line.start]}", "end": "{_ISO[line.end]}", '
            f'"billing_days": {line.billing_days}, "cycle_days": {line.cycle_days}, '
            f'"quantity": {line.quantity}, "amount": "{format_minor(line.amount, digits)}", '
            f'"rule": {_CODE[line.rule]}, "invoice_date": "{invoiced}", '
            f'"cash_date": "{_ISO[booked.cash]}"}}')
    return lines, violations


def verdict_line(verdict: Verdict, terms: BillingTerms = DEFAULT_TERMS) -> str:
    """One verdict as its JSON line (no newline), byte for byte as ``json.dumps`` would."""
    case = verdict.case
    outcome = verdict.outcome
    digits = case.digits
    blockers = ", ".join([f'{{"code": {_CODE[rule.code]}, "rule": {_CODE[rule.rule_id]}}}'
                          for rule in verdict.blockers]) if verdict.blockers else ""
    if outcome is None:
        lines, violations = [], []
        alignment = effective = "null"
        net = overlap = _zero(digits)
        notes = "[]"
    else:
        lines, violations = _lines(verdict, terms)
        alignment = "null" if outcome.alignment is None else _text(outcome.alignment)
        effective = f'"{_ISO[outcome.effective]}"'
        net = format_minor(outcome.net, digits)
        overlap = format_minor(cost, digits) if (cost := outcome.overlap_cost) else _zero(digits)
        notes = _texts(outcome.notes)
    return (f'{{"format": {FORMAT}, "case_id": {_text(case.case_id)}, '
            f'"kind": {_CODE[case.request.kind]}, '
            f'"automatic_allowed": {_JSON_BOOL[verdict.automatic_allowed]}, '
            f'"blockers": [{blockers}], "alignment": {alignment}, "effective": {effective}, '
            f'"lines": [{", ".join(lines)}], "net": "{net}", "overlap_cost": "{overlap}", '
            f'"currency": {_CODE[case.currency]}, "rounding": {_CODE[case.rounding]}, '
            f'"notes": {notes}, "violations": {_texts(violations) if violations else "[]"}}}')


def evaluate_line(line: bytes, base: Catalog | None = None) -> str | None:
    """The verdict line of one well-formed JSON case line, or None: take the strict
    road (:mod:`sim.harness.case_files` and :func:`sim.harness.cases.evaluate_json`)."""
    fields = decode_case(line, base)
    if fields is None:
        return None
    # the fields are Case's, in order: the tuple becomes the Case without its constructor
    return verdict_line(evaluate(_new_tuple(Case, fields)))
