"""``targets``: questions about the catalog."""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_OK, UsageError


def _targets(args: argparse.Namespace) -> int:
    from ..rules.catalog import builtin_catalog

    catalog = builtin_catalog()
    if args.plan not in catalog.plans:
        raise UsageError(f"unknown plan {args.plan!r}; known: {', '.join(catalog.plans)}")
    for plan in catalog.automatic_targets(args.plan):
        print(f"{plan.id}\t{plan.name}")
    return EXIT_OK



def register(commands: Any) -> None:
    targets = commands.add_parser(
        "targets", help="list the automatic-change targets of a plan (R-ELIG-13)")
    targets.add_argument("plan", help="plan id, e.g. BUSINESS_BASIC")
    targets.set_defaults(handler=_targets)
