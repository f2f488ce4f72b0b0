"""The hand-computed example cases in scenarios/cases (CASES.md, format 1).

Every ``<name>.case.json`` has its expected verdict in ``<name>.verdict.json``, worked
out by hand from PRORATION.md (arithmetic in ``scenarios/cases/README.md``). The
evaluator must reproduce each verdict exactly, through the library
(:func:`sim.harness.cases.evaluate_json`) and through the command line (``run_sim.py
evaluate``). The examples must also keep covering every blocker family (R-ELIG-01..10),
R-ELIG-11/12, each alignment (P-CHG-02..04), R-PATH-02, the calendar edge cases, the
cancellation and reduction windows (P-CHG-05..07), the amended invoice timing (P-TIME-01/02
of 2026-11-30, INV-07), a zero-digit currency and every rounding policy. Deleting an
example makes a test fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sim.cli import main
from sim.harness.cases import evaluate_json, parse_case
from sim.rules.catalog import Catalog

CASES_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "cases"
CASE_SUFFIX = ".case.json"
VERDICT_SUFFIX = ".verdict.json"

Example = tuple[dict[str, Any], dict[str, Any]]  # (case, expected verdict)


def _name(path: Path, suffix: str) -> str:
    return path.name[: -len(suffix)]


def _load_examples() -> dict[str, Example]:
    examples = {}
    for case_path in sorted(CASES_DIR.glob(f"*{CASE_SUFFIX}")):
        name = _name(case_path, CASE_SUFFIX)
        verdict_path = CASES_DIR / f"{name}{VERDICT_SUFFIX}"
        case = json.loads(case_path.read_text(encoding="utf-8"))
        verdict = (json.loads(verdict_path.read_text(encoding="utf-8"))
                   if verdict_path.is_file() else None)
        examples[name] = (case, verdict)
    return examples


EXAMPLES = _load_examples()
NAMES = sorted(EXAMPLES)


# ------------------------------------------------------------------ files and their pairs


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 30


def test_every_case_has_a_verdict_and_every_verdict_a_case() -> None:
    cases = {_name(p, CASE_SUFFIX) for p in CASES_DIR.glob(f"*{CASE_SUFFIX}")}
    verdicts = {_name(p, VERDICT_SUFFIX) for p in CASES_DIR.glob(f"*{VERDICT_SUFFIX}")}
    assert cases - verdicts == set(), "cases without a .verdict.json"
    assert verdicts - cases == set(), "verdicts without a .case.json"


@pytest.mark.parametrize("name", NAMES)
def test_case_id_matches_file_name(name: str) -> None:
    case, verdict = EXAMPLES[name]
    assert case["case_id"] == name
    assert verdict is not None and verdict["case_id"] == name


def test_readme_lists_exactly_the_examples() -> None:
    """Each example has its hand arithmetic in the README table, and nothing else is listed."""
    readme = (CASES_DIR / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| ([a-z0-9][a-z0-9-]*[a-z0-9]) \|", readme, re.MULTILINE))
    listed.discard("case")
    assert listed == set(EXAMPLES)


# ------------------------------------------------------------------ verdicts reproduced


@pytest.mark.parametrize("name", NAMES)
def test_library_verdict_equals_hand_verdict(name: str) -> None:
    case, expected = EXAMPLES[name]
    assert evaluate_json(case) == expected


def test_cli_verdicts_equal_hand_verdicts(tmp_path: Path) -> None:
    out = tmp_path / "verdicts.jsonl"
    assert main(["evaluate", str(CASES_DIR), "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    assert len(records) == len(EXAMPLES)
    actual = {record["case_id"]: record for record in records}
    assert set(actual) == set(EXAMPLES)
    for name, (_, expected) in EXAMPLES.items():
        assert actual[name] == expected, name


# ---------------------------------------------------------------------- coverage of families

MCA_RULES = {"R-ELIG-02", "R-ELIG-03", "R-ELIG-07", "R-ELIG-10"}
NON_DEFAULT_POLICIES = ("line-half-even", "unit-truncate", "unit-half-up")


def _sub(case: dict[str, Any]) -> dict[str, Any]:
    wanted = case["request"]["subscription_id"]
    return next(s for s in case["tenant"]["subscriptions"] if s["subscription_id"] == wanted)


def _rules(verdict: dict[str, Any]) -> list[str]:
    return [blocker["rule"] for blocker in verdict["blockers"]]


def _account(case: dict[str, Any]) -> str:
    return case["tenant"]["billing_account"]


def _kind(case: dict[str, Any]) -> str:
    return case["request"]["kind"]


def _day_n(case: dict[str, Any]) -> int:
    """n in ``on = anchor + n`` (the MCA windows, CASES.md)."""
    on = date.fromisoformat(case["request"]["on"])
    return (on - date.fromisoformat(_sub(case)["anchor"])).days


def _credit_wait(case: dict[str, Any], verdict: dict[str, Any]) -> int | None:
    """Days from the request to the invoice of the first credit line, if there is one."""
    credits = [line for line in verdict["lines"] if line["type"] == "credit"]
    if not credits:
        return None
    return (date.fromisoformat(credits[0]["invoice_date"])
            - date.fromisoformat(case["request"]["on"])).days


def _catalog(case: dict[str, Any]) -> Catalog:
    """The built-in catalog with the case's own plans (CASES.md `catalog`)."""
    return parse_case(case).catalog


def _sector(case: dict[str, Any]) -> str:
    return _catalog(case).plans[_sub(case)["plan"]].sector


def _only(rule: str, condition: Callable[[dict[str, Any]], bool] = lambda case: True
          ) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    """An example whose only blocker is `rule`, with `condition` on the case."""
    return lambda case, verdict: _rules(verdict) == [rule] and condition(case)


def _mosa_only_condition_holds(case: dict[str, Any]) -> bool:
    """Some MOSA-only blocker (R-ELIG-01/04/05/06/08/09) holds in the case."""
    tenant = case["tenant"]
    sub = _sub(case)
    catalog = _catalog(case)
    product = catalog.plans[sub["plan"]].product
    same_product = [s for s in tenant["subscriptions"]
                    if catalog.plans[s["plan"]].product == product]
    blocking_add_on = any(
        add_on.get("blocks_change", catalog.add_ons[add_on["sku"]].blocks_change)
        for add_on in sub.get("add_ons", []))
    unpaid = (tenant["payment_method"] == "invoice"
              and Decimal(tenant.get("unpaid_balance", "0")) > 0)
    return (sub["assigned"] > sub["licenses"] or not sub.get("eligible_for_change", True)
            or len(same_product) >= 2 or _sector(case) != "commercial" or blocking_add_on
            or unpaid)


def _allowed(case: dict[str, Any], verdict: dict[str, Any], account: str,
             alignment: str) -> bool:
    return (_kind(case) == "change" and _account(case) == account
            and verdict["automatic_allowed"] is True and verdict["alignment"] == alignment)


def _cancel_or_reduce(kind: str, account: str, inside: bool
                      ) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    def holds(case: dict[str, Any], verdict: dict[str, Any]) -> bool:
        return (_kind(case) == kind and _account(case) == account
                and (_day_n(case) <= 6) == inside)
    return holds


FAMILIES: dict[str, Callable[[dict[str, Any], dict[str, Any]], bool]] = {
    # One example per blocker family (R-ELIG-01..10), each the only blocker.
    "R-ELIG-01 users exceed licenses": _only("R-ELIG-01"),
    "R-ELIG-02 open incident": _only(
        "R-ELIG-02", lambda c: bool(c["tenant"].get("open_incidents"))
        and _sub(c).get("provisioned", True) and _sub(c).get("status") != "provisioning"),
    "R-ELIG-02 not provisioned": _only(
        "R-ELIG-02", lambda c: not _sub(c).get("provisioned", True)
        or _sub(c).get("status") == "provisioning"),
    "R-ELIG-03 credit check pending": _only(
        "R-ELIG-03", lambda c: c["tenant"].get("credit_check_pending", False)),
    "R-ELIG-03 change in progress": _only(
        "R-ELIG-03", lambda c: _sub(c).get("change_in_progress", False)),
    "R-ELIG-04 not eligible": _only("R-ELIG-04"),
    "R-ELIG-05 duplicate product": _only("R-ELIG-05"),
    "R-ELIG-06 government": _only("R-ELIG-06", lambda c: _sector(c) == "government"),
    "R-ELIG-06 nonprofit": _only("R-ELIG-06", lambda c: _sector(c) == "nonprofit"),
    "R-ELIG-07 downgrade BUSINESS_BASIC -> APPS_FOR_BUSINESS": _only(
        "R-ELIG-07", lambda c: _sub(c)["plan"] == "BUSINESS_BASIC"
        and c["request"]["target_plan"] == "APPS_FOR_BUSINESS"),
    "R-ELIG-08 blocking add-on": _only("R-ELIG-08"),
    "R-ELIG-09 unpaid invoice balance": _only("R-ELIG-09"),
    "R-ELIG-10 other": _only("R-ELIG-10"),
    # R-ELIG-11: several blockers at once, all reported, ordered by rule ID.
    "R-ELIG-11 several blockers": lambda c, v: len(_rules(v)) >= 3
    and _rules(v) == sorted(_rules(v)) and v["automatic_allowed"] is False,
    "R-ELIG-11 every MOSA blocker": lambda c, v: _rules(v) == [
        f"R-ELIG-{n:02d}" for n in range(1, 11)],
    # R-ELIG-12: MCA checks 02/03/07/10 only.
    "R-ELIG-12 MCA allowed despite MOSA-only blockers": lambda c, v: _account(c) == "MCA"
    and v["automatic_allowed"] is True and _mosa_only_condition_holds(c),
    "R-ELIG-12 MCA reports only its rules": lambda c, v: _account(c) == "MCA"
    and bool(_rules(v)) and set(_rules(v)) <= MCA_RULES and _mosa_only_condition_holds(c),
    # Alignments.
    "P-CHG-03 MOSA upgrade, new term": lambda c, v: _allowed(c, v, "MOSA", "new-term"),
    "P-CHG-02 MCA keep-cycle upgrade": lambda c, v: _allowed(c, v, "MCA", "keep-cycle")
    and c["request"].get("licenses", _sub(c)["licenses"]) == _sub(c)["licenses"],
    "P-CHG-03 MCA change of term": lambda c, v: _allowed(c, v, "MCA", "new-term")
    and c["request"].get("term", _sub(c)["term"]) != _sub(c)["term"],
    "P-CHG-04 MCA scheduled at renewal": lambda c, v: _allowed(c, v, "MCA", "scheduled"),
    "R-PATH-02 MCA partial move": lambda c, v: _account(c) == "MCA"
    and v["automatic_allowed"] is True
    and c["request"].get("licenses", _sub(c)["licenses"]) < _sub(c)["licenses"],
    # Calendar.
    "P-CAL-02 month-end anchor, monthly, Feb/Mar": lambda c, v: _sub(c)["anchor"].endswith(
        "-01-31") and _sub(c)["billing_frequency"] == "monthly"
    and c["request"]["on"][5:7] in ("02", "03", "04") and bool(v["lines"]),
    "P-CAL-02 leap day": lambda c, v: (c["request"]["on"] == "2028-02-29"
                                       or _sub(c)["anchor"] == "2024-02-29")
    and bool(v["lines"]),
    # Cancellations (P-CHG-05/06) and reductions (P-CHG-07).
    "P-CHG-05 MCA cancel on day 3": lambda c, v: _kind(c) == "cancel"
    and _account(c) == "MCA" and _day_n(c) == 3 and len(v["lines"]) == 1,
    "P-CHG-05 MCA cancel on day 0, full refund": lambda c, v: _kind(c) == "cancel"
    and _account(c) == "MCA" and _day_n(c) == 0 and len(v["lines"]) == 1
    and v["lines"][0]["billing_days"] == v["lines"][0]["cycle_days"],
    "P-CHG-05 MCA cancel outside the window": lambda c, v: _kind(c) == "cancel"
    and _account(c) == "MCA" and _day_n(c) >= 7 and not v["lines"]
    and v["overlap_cost"].strip("0.") != "",
    "P-CHG-06 MOSA cancel over 25 licenses": lambda c, v: _kind(c) == "cancel"
    and _account(c) == "MOSA" and _sub(c)["licenses"] > 25
    and any("P-CHG-06" in note for note in v["notes"]),
    "P-CHG-07 MOSA reduce inside the window": _cancel_or_reduce("reduce", "MOSA", True),
    "P-CHG-07 MOSA reduce outside the window": _cancel_or_reduce("reduce", "MOSA", False),
    "P-CHG-07 MCA reduce inside the window": _cancel_or_reduce("reduce", "MCA", True),
    "P-CHG-07 MCA reduce outside the window": _cancel_or_reduce("reduce", "MCA", False),
    # When money moves (PRORATION.md section 5, amended 2026-11-30).
    "P-TIME-01 MCA change on or before the invoice day, same month": lambda c, v: _account(
        c) == "MCA" and _kind(c) == "change" and int(c["request"]["on"][8:]) <= 5
    and bool(v["lines"]) and v["lines"][0]["invoice_date"][:7] == c["request"]["on"][:7],
    "P-TIME-01 MCA credit after 30 days, the longest wait": lambda c, v: _account(c) == "MCA"
    and _credit_wait(c, v) == 30,
    "P-TIME-02 MOSA annual change credit on the closing invoice": lambda c, v: _account(
        c) == "MOSA" and _kind(c) == "change" and _sub(c)["billing_frequency"] == "annual"
    and _credit_wait(c, v) == 1,
    "P-TIME-02 MOSA cancellation credit on the closing invoice": lambda c, v: _account(
        c) == "MOSA" and _kind(c) == "cancel" and _credit_wait(c, v) == 1,
    # Money.
    "P-MONEY-02 JPY (0 minor digits)": lambda c, v: c.get("currency") == "JPY"
    and bool(v["lines"]),
    **{f"rounding {policy}": (lambda p: lambda c, v: c.get("rounding") == p
                              and bool(v["lines"]))(policy)
       for policy in NON_DEFAULT_POLICIES},
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_has_an_example(family: str) -> None:
    holds = FAMILIES[family]
    matches = [name for name, (case, verdict) in EXAMPLES.items() if holds(case, verdict)]
    assert matches, f"no example covers {family}"


def test_every_blocker_family_is_covered() -> None:
    rules = {rule for _, verdict in EXAMPLES.values() for rule in _rules(verdict)}
    assert rules >= {f"R-ELIG-{n:02d}" for n in range(1, 11)}


# ------------------------------------------------------------- invoice timing (P-TIME-01/02)

CLOSING_CREDITS = {"P-CHG-02", "P-CHG-03", "P-CHG-05", "P-CHG-06"}  # change or cancellation
INVOICE_DAY = 5  # NUMBERS.md default; the examples do not override it


def _walk_to_invoice_day(day: date) -> date:
    """P-TIME-01: the first day on or after `day` that is a month's invoice day."""
    while day.day != INVOICE_DAY:
        day += timedelta(days=1)
    return day


def _amended_invoice_date(case: dict[str, Any], line: dict[str, Any]) -> date:
    """The invoice date the amended P-TIME-01/02 give `line`, recomputed from the case."""
    dated = date.fromisoformat(line["start"])  # the event day of every example line
    closing = line["type"] == "credit" and line["rule"] in CLOSING_CREDITS
    if _account(case) == "MCA":
        if line["type"] == "charge" and line["rule"] in ("P-CHG-03", "P-CHG-04"):
            return dated + timedelta(days=1)  # new purchase, upfront
        return _walk_to_invoice_day(dated)
    if closing:
        return date.fromisoformat(case["request"]["on"]) + timedelta(days=1)
    return date.fromisoformat(line["end"]) + timedelta(days=1)


@pytest.mark.parametrize("name", NAMES)
def test_example_invoice_dates_follow_the_amended_text_P_TIME_01_02(name: str) -> None:
    """Every hand-written invoice date agrees with P-TIME-01/02 as amended 2026-11-30."""
    case, verdict = EXAMPLES[name]
    for line in verdict["lines"]:
        assert line["invoice_date"] == _amended_invoice_date(case, line).isoformat(), line


@pytest.mark.parametrize("name", NAMES)
def test_every_change_credit_within_30_days_INV_07(name: str) -> None:
    """INV-07: every credit of a change or cancellation is invoiced 0..30 days after the
    request, and no example reports a violation."""
    case, verdict = EXAMPLES[name]
    on = date.fromisoformat(case["request"]["on"])
    for line in verdict["lines"]:
        if line["type"] == "credit" and line["rule"] in CLOSING_CREDITS:
            assert 0 <= (date.fromisoformat(line["invoice_date"]) - on).days <= 30, line
    assert verdict["violations"] == []
