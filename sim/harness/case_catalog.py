"""The optional ``catalog`` of a case (CASES.md): plans added to, or replacing, the
built-in catalog, each price bounded so that no verdict amount can pass MAX_MINOR."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..rules.catalog import Catalog, CatalogError, parse_plan
from ..rules.money import format_minor
from .case_fields import CaseError
from .case_fields import describe as _kind
from .case_fields import get as _get
from .case_fields import join as _join
from .case_fields import object_field as _object

__all__ = ["MAX_PRICE_MINOR", "parse_case_catalog"]

MAX_PRICE_MINOR = 10**9  # per license per month, in the case currency's minor units

_catalog_cache: dict[tuple[int, int, str], tuple[Catalog, Catalog]] = {}


def parse_case_catalog(raw: Any, base: Catalog, digits: int) -> Catalog:
    obj = _object(raw, "catalog", frozenset({"plans"}))
    plans_raw = _get(obj, "plans", "catalog", list)
    # Merged catalogs are cached per base catalog object (the entry keeps its base alive,
    # so an id is never reused while cached), per currency digits and per plan list.
    try:
        key = json.dumps(plans_raw, sort_keys=True)
    except (RecursionError, ValueError):
        raise CaseError("catalog.plans", "nested too deeply to be a plan list") from None
    cached = _catalog_cache.get((id(base), digits, key))
    if cached is not None and cached[0] is base:
        return cached[1]
    plans = []
    seen: set[str] = set()
    for index, entry in enumerate(plans_raw):
        path = f"catalog.plans[{index}]"
        if not isinstance(entry, dict):
            raise CaseError(path, f"expected an object, got {_kind(entry)}")
        plan_id = _get(entry, "id", path, str)
        if plan_id in seen:
            raise CaseError(_join(path, "id"), f"duplicate plan id {plan_id!r} in the catalog")
        seen.add(plan_id)
        try:
            plans.append(parse_plan(plan_id, entry, base.services, path))
        except CatalogError as error:
            raise CaseError("", str(error)) from None
        _check_prices(plans[-1].prices, f"{path}.prices", digits)
    catalog = base.with_plans(plans)
    if len(_catalog_cache) < 256:
        _catalog_cache[id(base), digits, key] = (base, catalog)
    return catalog


def _check_prices(prices: Mapping[str, Any], path: str, digits: int) -> None:
    """Prices (per license per month) of at most MAX_PRICE_MINOR minor units."""
    for term, price in prices.items():
        if price.scaleb(digits) > MAX_PRICE_MINOR:
            raise CaseError(_join(path, term), f"{price} is above the bound of "
                            f"{format_minor(MAX_PRICE_MINOR, digits)} per license per "
                            "month (so no verdict amount can pass MAX_MINOR)")


