"""Reports of a finished run: statistics, plots and documents, from stored records only.

run -> records (sim.fleet.runner) | aggregate: :func:`summarise` | render: :func:`render`.
:func:`build_report` chains load, summarise and render for one run directory. Money is
reported per currency; ``fx=`` (a conversion table, ``--fx FILE``) adds converted totals.
"""

from __future__ import annotations

from pathlib import Path

from ..fleet.progress import NO_PHASES, Phases, track
from .format import format_metric
from .fx import FxError, FxTable, load_fx
from .names import RULE_NAMES, rule_label
from .records import RunError, RunRecords, load_run
from .render import render
from .stats import Summary, summarise

__all__ = ["RULE_NAMES", "FxError", "FxTable", "RunError", "RunRecords", "Summary",
           "build_report", "format_metric", "load_fx", "load_run", "render", "rule_label",
           "run_info", "summarise"]


def run_info(records: RunRecords, fx: FxTable | None = None) -> dict:
    """What the run was (scenario, seed, tenants, horizon...), for titles and summary.json."""
    manifest = records.manifest
    run = manifest["scenario"].get("run", {})
    info = {
        "scenario": manifest["scenario_name"],
        "question": manifest["scenario"]["meta"].get("question", ""),
        "seed": manifest["seed"],
        "tenants": manifest["tenants"],
        "start": run.get("start", ""),
        "horizon_days": run.get("horizon_days", 0),
        "currency": manifest["currency"],
        "rounding": manifest["rounding"],
        "record_format": manifest["record_format"],
        "version": manifest["version"],
    }
    if fx is not None:
        info["fx"] = {"target": fx.target, "source": fx.source,
                      "rates": {code: str(rate) for code, rate in sorted(fx.rates.items())}}
    return info


def build_report(directory: str | Path, plots: bool = True,
                 fx: FxTable | str | Path | None = None, verify: bool = True,
                 progress: Phases = NO_PHASES) -> dict[str, Path]:
    """Rebuild the report of the run in `directory` from its records alone.

    ``plots=False`` skips the plots (``--no-plots``); `fx` is a conversion table or the
    path of one (``--fx FILE``): the only way totals are summed across currencies.
    `verify` checks each record file against the manifest's sha256 (see load_run).
    `progress` (sim.fleet.progress) sees the phases report: load, report: summarise,
    report: tables, report: plots and report: documents.
    """
    table = load_fx(fx) if isinstance(fx, str | Path) else fx
    with track(progress, "report: load"):
        records = load_run(directory, verify=verify)
    with track(progress, "report: summarise"):
        summary = summarise(records, table)
    return render(summary, Path(directory), run_info(records, table), plots=plots,
                  progress=progress)
