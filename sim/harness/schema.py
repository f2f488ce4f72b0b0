"""JSON Schema of the case and verdict formats (CASES.md format 1), for other tools.

Generated from the validator's own field sets and choice tables
(:mod:`sim.harness.cases`, :mod:`sim.rules.domain`, the calendar, rounding and blocker
tables), so the published schema and the validator cannot drift apart:
:func:`case_schema` raises if a field the validator accepts has no type here, or the
reverse. ``python -m sim.harness.schema docs/schema`` rewrites the published files;
a test checks that they are current. The schema checks shape; semantic rules (a day
inside the term, licenses against assigned) stay with the validator.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..rules.billing import ALIGNMENTS
from ..rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS
from ..rules.domain import ACCOUNT_TYPES, PAYMENT_METHODS, REQUEST_KINDS, SCHEDULES, STATUSES
from ..rules.eligibility import ELIGIBILITY_RULES
from ..rules.money import ROUNDING_POLICIES
from .cases import (
    CASE_FIELDS,
    FORMAT,
    REQUEST_FIELDS,
    SUBSCRIPTION_FIELDS,
    TENANT_FIELDS,
)

__all__ = ["SCHEMA_FILES", "case_schema", "render", "verdict_schema", "write_schemas"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "format": "date"}
DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
COUNT = {"type": "integer", "minimum": 0}
POSITIVE = {"type": "integer", "minimum": 1}


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _object(properties: dict[str, Any], fields: frozenset[str], required: tuple[str, ...],
            where: str) -> dict[str, Any]:
    """A closed object; its properties must be exactly the validator's `fields`."""
    if set(properties) != set(fields):
        raise RuntimeError(f"schema of {where} out of step with the validator: "
                           f"{sorted(set(properties) ^ set(fields))}")
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


def case_schema() -> dict[str, Any]:
    """The JSON Schema of a case (CASES.md "Case")."""
    plan = {"type": "object", "required": ["id", "sector", "services", "prices"],
            "properties": {"id": STRING, "name": STRING, "product": STRING,
                           "sector": _enum(("commercial", "government", "nonprofit")),
                           "services": {"type": "object",
                                        "additionalProperties": POSITIVE},
                           "data_services": {"type": "array", "items": STRING},
                           "prices": {"type": "object", "propertyNames": _enum(TERM_MONTHS),
                                      "additionalProperties": DECIMAL},
                           "seat_cap": POSITIVE, "price_source": STRING}}
    add_on = {"type": "object", "required": ["sku"], "additionalProperties": False,
              "properties": {"sku": STRING, "blocks_change": BOOLEAN}}
    subscription = _object({
        "subscription_id": STRING, "plan": STRING, "domain": STRING,
        "status": _enum(STATUSES), "provisioned": BOOLEAN, "licenses": POSITIVE,
        "assigned": COUNT, "term": _enum(TERM_MONTHS),
        "billing_frequency": _enum(BILLING_FREQUENCY_MONTHS), "anchor": DATE,
        "add_ons": {"type": "array", "items": add_on}, "change_in_progress": BOOLEAN,
        "eligible_for_change": BOOLEAN, "other_problem": BOOLEAN,
    }, SUBSCRIPTION_FIELDS, ("subscription_id", "plan", "licenses", "assigned", "term",
                             "billing_frequency", "anchor"), "a subscription")
    tenant = _object({
        "tenant_id": STRING, "domain": STRING, "country": STRING,
        "billing_account": _enum(ACCOUNT_TYPES), "payment_method": _enum(PAYMENT_METHODS),
        "unpaid_balance": DECIMAL, "credit_check_pending": BOOLEAN,
        "open_incidents": {"type": "array", "items": STRING},
        "subscriptions": {"type": "array", "minItems": 1, "items": subscription},
    }, TENANT_FIELDS, ("tenant_id", "domain", "country", "billing_account", "payment_method",
                       "subscriptions"), "the tenant")
    request = _object({
        "kind": _enum(REQUEST_KINDS), "subscription_id": STRING, "target_plan": STRING,
        "on": DATE, "licenses": POSITIVE, "term": _enum(TERM_MONTHS),
        "billing_frequency": _enum(BILLING_FREQUENCY_MONTHS), "schedule": _enum(SCHEDULES),
    }, REQUEST_FIELDS, ("kind", "subscription_id", "on"), "the request")
    case = _object({
        "format": {"const": FORMAT}, "case_id": STRING,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "rounding": _enum(ROUNDING_POLICIES),
        "catalog": {"type": "object", "required": ["plans"], "additionalProperties": False,
                    "properties": {"plans": {"type": "array", "items": plan}}},
        "tenant": tenant, "request": request,
    }, CASE_FIELDS, ("case_id", "tenant", "request"), "a case")
    return {"$schema": DRAFT, "$id": "https://planshift.example/schema/case.schema.json",
            "title": "planshift case (CASES.md format 1)", **case}


def verdict_schema() -> dict[str, Any]:
    """The JSON Schema of a verdict (CASES.md "Verdict"); a SUT may add fields."""
    line = {"type": "object",
            "required": ["type", "subscription_id", "plan", "start", "end", "billing_days",
                         "cycle_days", "quantity", "amount"],
            "properties": {"type": _enum(("credit", "charge")), "subscription_id": STRING,
                           "plan": STRING, "start": DATE, "end": DATE, "billing_days": COUNT,
                           "cycle_days": POSITIVE, "quantity": POSITIVE, "amount": DECIMAL,
                           "rule": STRING, "invoice_date": DATE, "cash_date": DATE}}
    blocker = {"type": "object", "required": ["code"],
               "properties": {"code": _enum(rule.code for rule in ELIGIBILITY_RULES),
                              "rule": _enum(rule.rule_id for rule in ELIGIBILITY_RULES)}}
    return {
        "$schema": DRAFT, "$id": "https://planshift.example/schema/verdict.schema.json",
        "title": "planshift verdict (CASES.md format 1)", "type": "object",
        "required": ["case_id", "kind", "automatic_allowed", "blockers", "alignment",
                     "lines", "net", "overlap_cost"],
        "properties": {
            "format": {"const": FORMAT}, "case_id": STRING, "kind": _enum(REQUEST_KINDS),
            "automatic_allowed": {"type": ["boolean", "null"]},
            "blockers": {"type": "array", "items": blocker},
            "alignment": {"enum": [*dict.fromkeys(ALIGNMENTS.values()), None]},
            "effective": {"type": ["string", "null"]},
            "lines": {"type": "array", "items": line},
            "net": DECIMAL, "overlap_cost": DECIMAL, "currency": STRING,
            "rounding": _enum(ROUNDING_POLICIES),
            "notes": {"type": "array", "items": STRING},
            "violations": {"type": "array", "items": STRING},
        },
    }


SCHEMA_FILES = {"case.schema.json": case_schema, "verdict.schema.json": verdict_schema}


def render(name: str) -> str:
    return json.dumps(SCHEMA_FILES[name](), indent=2) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMA_FILES:
        path = folder / name
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m sim.harness.schema docs/schema
    write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"))
