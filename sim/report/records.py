"""Reading a finished run's records back (the report layer never sees a live model).

Every table is checked against the manifest's sha256 and row count first
(:mod:`sim.report.verify`), so a damaged or edited file is refused by name.
"""

from __future__ import annotations

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
        "request_id", "tenant_id", "billing_account", "sector", "payment_method", "currency",
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
               "currency", "policy", "changed_on", "invoice_date", "cash_date", "late_credit",
               "unit_price", "months"),
    "capacity": ("at", "queue_length", "busy_workers"),
    "violations": ("request_id", "rule", "at", "detail"),
    "population": ("tenant_id", "billing_account", "sector", "billing_frequency",
                   "requests_change"),
}


class RunError(ValueError):
    """A run directory is missing, incomplete or damaged."""


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
    """The wanted columns of one record file; a file that cannot be parsed is a RunError."""
    try:
        return _read_columns(path, columns)
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as error:
        raise RunError(f"{path}: damaged record file, cannot be read "
                       f"({type(error).__name__}: {str(error)[:120]})") from None


def _read_columns(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
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


def load_run(directory: str | Path, verify: bool = True) -> RunRecords:
    """Load the manifest and record tables of a run directory.

    With `verify` (the default) every table's sha256 and row count must match the
    manifest; without it only the paths are checked to stay inside the run directory.
    """
    from .verify import read_manifest, verify_tables

    directory = Path(directory)
    manifest = read_manifest(directory)
    for name in COLUMNS:
        if name not in manifest["tables"]:
            raise RunError(f"{directory}: manifest lists no {name!r} table")
    verified = verify_tables(directory, manifest, check=verify)
    tables = {name: _read(verified[name].path, columns) for name, columns in COLUMNS.items()}
    return RunRecords(directory, manifest, tables)
