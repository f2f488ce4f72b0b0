"""Short names of the rule IDs, so a finance reader sees "P-CHG-05 MCA cancellation".

Every rule ID in report text (report.md, report.html, plot labels) goes through
:func:`rule_label`. The names are short paraphrases of the headings in RULES.md,
PRORATION.md and HARNESS.md (invariants).
"""

from __future__ import annotations

import re

__all__ = ["RULE_ID", "RULE_NAMES", "label_rule_ids", "rule_label"]

RULE_NAMES: dict[str, str] = {
    # Paths and automatic changes (RULES.md sections 2 and 4).
    "R-PATH-01": "whole-subscription change", "R-PATH-02": "MCA license-reduction path",
    "R-PATH-03": "manual when blocked",
    "R-AUTO-01": "MOSA automatic flow", "R-AUTO-02": "MCA automatic flow",
    "R-AUTO-03": "subscription locked in change", "R-AUTO-04": "no outage",
    "R-AUTO-05": "all users moved", "R-AUTO-06": "customisations reset",
    "R-AUTO-07": "multi-subscription users", "R-AUTO-08": "data kept",
    # Eligibility blockers (RULES.md section 3).
    "R-ELIG-01": "users exceed licenses", "R-ELIG-02": "not provisioned or unhealthy",
    "R-ELIG-03": "change or credit check pending", "R-ELIG-04": "subscription not eligible",
    "R-ELIG-05": "duplicate plans of a product", "R-ELIG-06": "government or nonprofit plan",
    "R-ELIG-07": "target lacks data services", "R-ELIG-08": "add-on blocks change",
    "R-ELIG-09": "unpaid invoice balance", "R-ELIG-10": "other problem",
    "R-ELIG-11": "every blocker reported", "R-ELIG-12": "MCA checks subset",
    "R-ELIG-13": "targets offered",
    # Billing and manual changes (RULES.md sections 5 and 6).
    "R-BILL-01": "old billing stops", "R-BILL-02": "prorated credit",
    "R-BILL-03": "credit invoice within 30 days", "R-BILL-04": "credit payout time",
    "R-MAN-01": "manual change steps", "R-MAN-02": "manual downgrade data loss",
    "R-MAN-03": "same organisation", "R-MAN-04": "new subscription activation",
    "R-MAN-05": "one license per moved user", "R-MAN-06": "old licenses billed",
    "R-MAN-07": "MCA cancellation credit", "R-MAN-08": "unneeded licenses",
    # Proration (PRORATION.md).
    "P-MONEY-01": "money never a float", "P-MONEY-02": "currency minor units",
    "P-MONEY-03": "exact intermediates",
    "P-CAL-01": "UTC calendar dates", "P-CAL-02": "charge cycles", "P-CAL-03": "cycle days",
    "P-CAL-04": "billing days", "P-CAL-05": "terms", "P-CAL-06": "business days",
    "P-CHG-01": "prorated line", "P-CHG-02": "keep-cycle change",
    "P-CHG-03": "new-term change", "P-CHG-04": "scheduled change",
    "P-CHG-05": "MCA cancellation", "P-CHG-06": "MOSA cancellation",
    "P-CHG-07": "license reduction", "P-CHG-08": "net of a change",
    "P-RND-01": "totals of rounded lines", "P-RND-02": "reproducible rounding",
    "P-RND-03": "rounding policies compared", "P-RND-04": "rounding on magnitude",
    "P-TIME-01": "MCA invoice day", "P-TIME-02": "MOSA closing invoice",
    "P-TIME-03": "credit within 30 days", "P-TIME-04": "cash dates",
    # Invariants (HARNESS.md).
    "INV-01": "every user licensed", "INV-02": "no data lost automatically",
    "INV-03": "each day billed once", "INV-04": "credit at most paid",
    "INV-05": "money exact", "INV-06": "licenses conserved", "INV-07": "credit invoiced in time",
}

RULE_ID = re.compile(r"\b(?:R-[A-Z]+|P-[A-Z]+|INV)-\d+\b")


def rule_label(rule_id: str) -> str:
    """``"P-CHG-05"`` -> ``"P-CHG-05 MCA cancellation"``; unknown IDs stay as they are."""
    name = RULE_NAMES.get(rule_id)
    return f"{rule_id} {name}" if name else rule_id


def label_rule_ids(text: str) -> str:
    """Every rule ID in free text followed by its name (once, where not already named)."""

    def replace(match: re.Match[str]) -> str:
        rule_id = match.group(0)
        name = RULE_NAMES.get(rule_id)
        if not name or text[match.end():match.end() + len(name) + 1] == f" {name}":
            return rule_id
        return f"{rule_id} {name}"

    return RULE_ID.sub(replace, text)
