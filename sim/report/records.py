"""Reading a finished run's records back (the report layer never sees a live model)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = ["RunError", "RunRecords", "load_run"]

# Only the columns the statistics use are read, so memory follows what is needed.
COLUMNS: dict[str, tuple[str, ...]] = {
    "changes": (
        "request_id", "tenant_id", "billing_account", "sector", "payment_method",
        "current_plan", "target_plan", "direction", "path", "outcome", "schedule",
        "alignment", "attempts", "blockers_met", "requested_at", "order_at", "started_at",
        "completed_at", "queue_wait_min", "switch_min", "lead_time_min", "sla_breach",
        "users_moved", "credit_minor", "charge_minor", "net_minor", "overlap_cost_minor",
        "overlap_days", "customisations_lost", "data_at_risk_gb", "data_lost_gb",
        "wrong_domain", "too_few_licenses", "inactive_new_subscription", "backup_made",
        "late_credit",
    ),
    "attempts": ("request_id", "billing_account", "sector", "attempt", "at", "blockers",
                 "n_blockers", "action", "delay_min"),
    "ledger": ("request_id", "tenant_id", "billing_account", "payment_method", "plan",
               "type", "rule", "billing_days", "cycle_days", "quantity", "amount_minor",
               "policy", "changed_on", "invoice_date", "cash_date", "late_credit",
               "unit_price", "months"),
    "capacity": ("at", "queue_length", "busy_workers"),
    "violations": ("request_id", "rule", "at", "detail"),
    "population": ("tenant_id", "billing_account", "sector", "billing_frequency",
                   "requests_change"),
}


class RunError(ValueError):
    """A run directory is missing or incomplete."""


@dataclass
class RunRecords:
    directory: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]

    @property
    def digits(self) -> int:
        return int(self.manifest["digits"])

    @property
    def currency(self) -> str:
        return str(self.manifest["currency"])

    @property
    def horizon_minutes(self) -> float:
        return float(self.manifest["scenario"]["run"]["horizon_days"]) * 1440.0

    @property
    def workers(self) -> int:
        return int(self.manifest["scenario"]["capacity"]["workers"])


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if path.suffix == ".parquet":
        schema = pq.read_schema(path)
        wanted = [c for c in columns if c in schema.names]
        return pq.read_table(path, columns=wanted).to_pandas()
    header = path.open(encoding="utf-8").readline().rstrip("\n").split(",")
    wanted = [c for c in columns if c in header]
    types = {name: kind for name, kind in _csv_types().items() if name in wanted}
    table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
        include_columns=wanted, column_types=types, strings_can_be_null=False))
    return table.to_pandas()


def _csv_types() -> dict[str, pa.DataType]:
    """The exact column types of the record tables, so CSV reads like Parquet."""
    from ..fleet.records import MONEY, PRICE, SCHEMAS
    from ..fleet.runner import POPULATION_COLUMNS

    types: dict[str, pa.DataType] = {}
    for columns in (*SCHEMAS.values(), POPULATION_COLUMNS):
        for name, kind in columns:
            types[name] = pa.int64() if kind == MONEY else (
                pa.string() if kind == PRICE else kind)
    return types


def load_run(directory: str | Path) -> RunRecords:
    """Load the manifest and record tables of a run directory."""
    directory = Path(directory)
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise RunError(f"{directory}: not a run directory (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunError(f"{manifest_path}: invalid JSON: {error}") from None
    tables = {}
    for name, columns in COLUMNS.items():
        entry = manifest.get("tables", {}).get(name)
        if entry is None:
            raise RunError(f"{directory}: manifest lists no {name!r} table")
        path = directory / entry["file"]
        if not path.is_file():
            raise RunError(f"{path}: record file missing")
        tables[name] = _read(path, columns)
    return RunRecords(directory, manifest, tables)
