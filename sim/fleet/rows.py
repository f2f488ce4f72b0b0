"""The rows of a run's record tables, one class per table (issue 8, part 4).

Each table's columns are the fields of its row class, in order; the record schemas
(:data:`sim.fleet.records.SCHEMAS`) are derived from these classes, so a column is
named and typed in one place and a row is never matched to its schema by position.
Money fields end in ``_minor`` (integer minor units, P-MONEY-01) of the row's ``currency``
(issue 12: a run bills each tenant in its own currency); prices are exact
:class:`sim.rules.money.Price` values. Rows of the hot tables are NamedTuples (a tuple
for the recorder, built by field name); the change row is a slotted dataclass filled in
as its request goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, NamedTuple

from ..rules.money import Price

__all__ = ["ROW_CLASSES", "AttemptRow", "CapacityRow", "ChangeRow", "LedgerRow", "TraceRow",
           "ViolationRow", "change_row_tuple", "columns_of"]

NOT_RECORDED = {"recorded": False}


@dataclass(slots=True)
class ChangeRow:
    """The record of one change request, filled in as it goes (one row per request)."""

    request_id: str
    tenant_id: str
    billing_account: str
    sector: str
    country: str
    payment_method: str
    subscription_id: str
    current_plan: str
    target_plan: str
    direction: str
    currency: str = ""  # ISO 4217: the tenant's, the currency of the *_minor columns
    path: str = ""
    outcome: str = "pending"
    schedule: str = ""
    alignment: str = ""
    attempts: int = 0
    blockers_met: str = ""
    first_blockers: str = ""
    requested_at: float = 0.0
    order_at: float | None = None
    started_at: float | None = None
    completed_at: float | None = None
    requested_day: str = ""
    completed_day: str = ""
    queue_wait_min: float | None = None
    switch_min: float | None = None
    lead_time_min: float | None = None
    sla_breach: bool = False
    licenses_before: int = 0
    licenses_after: int | None = None
    users_moved: int = 0
    credit_minor: int = 0
    charge_minor: int = 0
    net_minor: int = 0
    overlap_cost_minor: int = 0
    overlap_days: int = 0
    customisations_lost: int = 0
    data_at_risk_gb: float = 0.0
    data_lost_gb: float = 0.0
    wrong_domain: bool = False
    too_few_licenses: bool = False
    inactive_new_subscription: bool = False
    backup_made: bool = False
    late_credit: bool = False
    # How the tenant's cash moves (P-TIME-04): used by the ledger, not a column.
    wire_international: bool = field(default=False, metadata=NOT_RECORDED)


class AttemptRow(NamedTuple):
    """One eligibility check of a request and the admin's reaction (R-ELIG-11)."""

    request_id: str
    tenant_id: str
    billing_account: str
    sector: str
    attempt: int
    at: float
    day: str
    blockers: str
    n_blockers: int
    action: str
    delay_min: float


class LedgerRow(NamedTuple):
    """One booked billing line with its invoice and cash dates (P-TIME-01..04)."""

    request_id: str
    tenant_id: str
    billing_account: str
    payment_method: str
    subscription_id: str
    plan: str
    type: str
    rule: str
    start: str
    end: str
    billing_days: int
    cycle_days: int
    quantity: int
    amount_minor: int
    currency: str
    policy: str
    changed_on: str
    invoice_date: str
    cash_date: str
    late_credit: bool
    unit_price: Price | None
    months: int


class CapacityRow(NamedTuple):
    """The workers' queue and use after each change of either (R-AUTO-03)."""

    at: float
    queue_length: int
    busy_workers: int


class ViolationRow(NamedTuple):
    """One broken invariant (INV-01..07), as the monitor found it."""

    request_id: str
    rule: str
    at: float
    detail: str


class TraceRow(NamedTuple):
    at: float
    request_id: str
    event: str
    detail: str


ROW_CLASSES: dict[str, type] = {
    "changes": ChangeRow, "attempts": AttemptRow, "ledger": LedgerRow,
    "capacity": CapacityRow, "violations": ViolationRow, "trace": TraceRow,
}


def _annotations(cls: type) -> dict[str, str]:
    if hasattr(cls, "__dataclass_fields__"):
        return {f.name: str(f.type) for f in fields(cls) if f.metadata.get("recorded", True)}
    annotations = cls.__annotations__  # NamedTuple keeps them as ForwardRef
    return {name: getattr(annotations[name], "__forward_arg__", str(annotations[name]))
            for name in cls._fields}


def columns_of(cls: type) -> tuple[tuple[str, str], ...]:
    """(column name, annotation text) of the recorded fields of a row class, in order."""
    return tuple(_annotations(cls).items())


_CHANGE_COLUMNS = attrgetter(*(name for name, _ in columns_of(ChangeRow)))


def change_row_tuple(row: ChangeRow) -> tuple[Any, ...]:
    """The recorded columns of a change row, in schema order (one C call)."""
    return _CHANGE_COLUMNS(row)
