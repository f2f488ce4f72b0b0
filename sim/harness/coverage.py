"""Rule coverage of a case set: which rule IDs its verdicts exercise (HARNESS.md section 4).

:data:`RULE_IDS` is the list of IDs a coverage report counts: every ID of RULES.md
sections 3-7 and every P-* ID of PRORATION.md (a test keeps it in step with the spec
files). :func:`exercised` names the IDs one case and its model verdict exercise;
:class:`Coverage` counts them over a case set, and lists the IDs no case exercises.
Some IDs describe a fleet over time (a change in progress, a manual migration) and no
single case can exercise them: :data:`FLEET_ONLY` marks them so the report says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FLEET_ONLY", "RULE_IDS", "Coverage", "exercised"]


def _ids(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}-{number:02d}" for number in range(1, count + 1))


# RULES.md sections 3-7, then PRORATION.md, in the spec's order.
RULE_IDS: tuple[str, ...] = (
    *_ids("R-ELIG", 13), *_ids("R-AUTO", 8), *_ids("R-BILL", 4), *_ids("R-MAN", 8),
    *_ids("INV", 7),
    *_ids("P-MONEY", 3), *_ids("P-CAL", 6), *_ids("P-CHG", 8), *_ids("P-RND", 4),
    *_ids("P-TIME", 4),
)
# Facts of a fleet over time, not of one request against one tenant snapshot.
FLEET_ONLY = frozenset({
    "R-AUTO-03", "R-AUTO-04", "R-AUTO-06", "R-AUTO-07", "R-AUTO-08",
    "R-MAN-01", "R-MAN-02", "R-MAN-03", "R-MAN-04", "R-MAN-05", "INV-01", "INV-02",
    "P-RND-03",
})
_ALWAYS = ("P-MONEY-01", "P-CAL-01", "P-CAL-05")
_WITH_LINES = ("P-CHG-01", "P-CHG-08", "P-MONEY-02", "P-MONEY-03", "P-CAL-03", "P-CAL-04",
               "P-RND-01", "P-RND-02", "INV-05", "R-BILL-04", "P-TIME-04")
_CREDIT = ("P-RND-04", "INV-04")
_CHANGE_CREDIT = ("R-BILL-02", "R-BILL-03", "INV-07", "P-TIME-03")
_ALIGNMENT = {"keep-cycle": "P-CHG-02", "new-term": "P-CHG-03", "scheduled": "P-CHG-04"}


def _subject(case: Mapping[str, Any]) -> Mapping[str, Any]:
    wanted = case["request"]["subscription_id"]
    for subscription in case["tenant"]["subscriptions"]:
        if subscription.get("subscription_id") == wanted:
            return subscription
    return {}


def exercised(case: Mapping[str, Any], verdict: Mapping[str, Any]) -> set[str]:
    """The rule IDs a valid case and its model verdict exercise (HARNESS.md 4)."""
    ids = set(_ALWAYS)
    tenant = case["tenant"]
    account = tenant["billing_account"]
    kind = verdict["kind"]
    blockers = verdict["blockers"]
    ids.update(blocker["rule"] for blocker in blockers)
    if kind == "change":
        if account == "MCA":
            ids.add("R-ELIG-12")  # MCA accounts are checked with the R-ELIG-12 subset
        if len(blockers) >= 2:
            ids.add("R-ELIG-11")  # every blocker is reported, not only the first
        if not any(blocker["rule"] == "R-ELIG-07" for blocker in blockers):
            ids.add("R-ELIG-13")  # the target keeps the data services: it is offered
    if verdict.get("automatic_allowed"):
        ids.update(("R-BILL-01", "R-AUTO-05", "R-AUTO-01" if account == "MOSA" else "R-AUTO-02"))
        if verdict["alignment"] != "scheduled":
            ids.add("INV-03")  # old plan billed to the day before, new from the day
    if verdict.get("alignment") in _ALIGNMENT:
        ids.add(_ALIGNMENT[verdict["alignment"]])
    lines = verdict["lines"]
    if lines:
        ids.update(_WITH_LINES)
        ids.add("P-TIME-01" if account == "MCA" else "P-TIME-02")
        if tenant.get("payment_method") == "invoice":
            ids.add("P-CAL-06")  # wire settlement counts business days
        ids.update(line["rule"] for line in lines if isinstance(line.get("rule"), str))
    if any(line["type"] == "credit" for line in lines):
        ids.update(_CREDIT)
        if kind == "change":
            ids.update(_CHANGE_CREDIT)
    if kind == "cancel":
        ids.update(("P-CHG-05", "R-MAN-07") if account == "MCA" else ("P-CHG-06",))
    elif kind == "reduce":
        ids.update(("P-CHG-07", "R-MAN-08", "INV-06"))
    if verdict.get("overlap_cost") not in (None, "0", "0.00", "0.000") and kind != "change":
        ids.add("R-MAN-06")  # the old licenses keep being billed (overlap cost)
    anchor = _subject(case).get("anchor", "")
    if isinstance(anchor, str) and anchor[8:10] > "28":
        ids.add("P-CAL-02")  # month-end clamping of the charge cycles
    return ids & _KNOWN


_KNOWN = frozenset(RULE_IDS)


class Coverage:
    """Counts of cases per rule ID over a stream of (case, verdict) pairs."""

    def __init__(self) -> None:
        self.cases = 0
        self.counts = dict.fromkeys(RULE_IDS, 0)

    def add(self, case: Mapping[str, Any], verdict: Mapping[str, Any]) -> set[str]:
        ids = exercised(case, verdict)
        self.cases += 1
        for rule_id in ids:
            self.counts[rule_id] += 1
        return ids

    def unexercised(self) -> list[str]:
        return [rule_id for rule_id in RULE_IDS if not self.counts[rule_id]]

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "rules": dict(self.counts),
            "unexercised": self.unexercised(),
            "fleet_only": sorted(FLEET_ONLY),
        }

    def table(self) -> str:
        """A plain-text table: ID, cases, and a note for unexercised IDs."""
        width = max(len(rule_id) for rule_id in RULE_IDS)
        rows = [f"{'rule':<{width}}  {'cases':>9}", f"{'-' * width}  {'-' * 9}"]
        for rule_id in RULE_IDS:
            count = self.counts[rule_id]
            note = ""
            if not count:
                note = ("  not exercised (a fleet-level rule)" if rule_id in FLEET_ONLY
                        else "  NOT EXERCISED")
            rows.append(f"{rule_id:<{width}}  {count:>9}{note}")
        missing = [rule_id for rule_id in self.unexercised() if rule_id not in FLEET_ONLY]
        rows.append(f"{self.cases} cases; {len(RULE_IDS) - len(self.unexercised())} of "
                    f"{len(RULE_IDS)} IDs exercised"
                    + (f"; unexercised case-level IDs: {', '.join(missing)}" if missing
                       else ""))
        return "\n".join(rows)
