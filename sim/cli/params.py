"""``params``: every scenario key with its default, range, source and meaning.

The list is generated from the scenario dataclasses (:mod:`sim.fleet.scenario`), so it
cannot drift from what :func:`~sim.fleet.scenario.load_scenario` accepts.
``planshift params`` prints it as a table; ``planshift params --markdown`` prints
``docs/parameters.md`` (regenerate it with
``.venv/bin/python run_sim.py params --markdown > docs/parameters.md``; a test checks that
the file is up to date).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, NamedTuple

from .common import EXIT_OK

__all__ = ["Param", "markdown", "parameters", "register"]

SOURCES = {"doc": "Microsoft documentation (NUMBERS.md)", "3p": "third-party figure",
           "model": "modelling assumption"}


class Param(NamedTuple):
    """One scenario key as documented: its path, type, default, range, source, meaning."""

    key: str
    kind: str
    default: str
    range: str
    source: str
    doc: str


def _format(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_format(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _bound(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}" if abs(value) < 1e5 else f"{value:,.0f}".replace(",", "_")
    if isinstance(value, int) and abs(value) >= 1e5:
        return f"{value:_}"
    return _format(value)


def _kind_name(kind: Any) -> str:
    origin = typing.get_origin(kind)
    if origin is dict:
        return f"table of {_kind_name(typing.get_args(kind)[1])}"
    if origin is tuple:
        return f"list of {_kind_name(typing.get_args(kind)[0])}"
    if dataclasses.is_dataclass(kind):
        return "table"
    return {int: "integer", float: "number", str: "string", date: "date",
            bool: "boolean"}.get(kind, str(kind))


def _range(kind: Any, meta: Mapping[str, Any]) -> str:
    lo, hi = meta.get("lo"), meta.get("hi")
    text = f"{_bound(lo)} .. {_bound(hi)}"
    origin = typing.get_origin(kind)
    if kind is str:
        return f"{text} characters"
    if origin in (dict, tuple):
        item = typing.get_args(kind)[-1 if origin is dict else 0]
        if dataclasses.is_dataclass(item):
            return f"{text} entries"
        if item is str:
            return f"each {text} characters"
        return f"each {text}"
    return text


def _walk(cls: type, default: Any, prefix: str, source: str | None) -> Iterator[Param]:
    from ..fleet.distributions import Duration

    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        kind, meta = hints[spec.name], spec.metadata
        key = f"{prefix}{spec.name}"
        value = getattr(default, spec.name)
        own_source = source if source and meta["source"] == "model" else meta["source"]
        origin = typing.get_origin(kind)
        if kind is Duration:  # a distribution table; the keys of its default may be set too
            yield Param(key, "distribution", _format(value), _range(kind, meta), own_source,
                        meta["doc"])
            yield from _walk(type(value), value, f"{key}.", own_source)
            continue
        if dataclasses.is_dataclass(kind):
            yield from _walk(kind, value, f"{key}.", own_source)
            continue
        item = typing.get_args(kind)[-1] if origin in (dict, tuple) else None
        if origin is dict and dataclasses.is_dataclass(item):
            yield Param(key, _kind_name(kind), "(per key below)", _range(kind, meta),
                        own_source, meta["doc"])
            for name, entry in value.items():
                yield from _walk(item, entry, f"{key}.{name}.", own_source)
            continue
        if origin is tuple and dataclasses.is_dataclass(item):
            yield Param(key, _kind_name(kind), _format(scenario_plain(value)),
                        _range(kind, meta), own_source, meta["doc"])
            yield from _walk(item, item(), f"{key}[].", own_source)
            continue
        yield Param(key, _kind_name(kind), _format(value), _range(kind, meta), own_source,
                    meta["doc"])


def scenario_plain(value: Any) -> Any:
    from ..fleet.scenario import scenario_to_dict

    return scenario_to_dict(value)


def parameters() -> list[Param]:
    """Every key a scenario file or ``--set`` may set, in file order."""
    from ..fleet.scenario import Scenario

    return list(_walk(Scenario, Scenario(), "", None))


HEADER = """\
# Scenario parameters

Every key a scenario file (`sim/fleet/scenarios/*.toml`, or your own TOML file) or
`--set key.path=value` may set, with its default, its allowed range and the source of the
default. Generated from the scenario dataclasses in `sim/fleet/scenario.py`; do not edit
by hand. Regenerate with:

```sh
.venv/bin/python run_sim.py params --markdown > docs/parameters.md
```

`planshift params` prints the same list. Conventions:

- Durations are minutes unless the key says otherwise; every number of a duration is at
  most a year of minutes (525,600). A duration (type `distribution`) is a table naming
  its distribution (issue 10): `{median, sigma, cap}` (lognormal, the default),
  `{dist = "exponential", mean, cap}`, `{dist = "deterministic", value}`,
  `{dist = "gamma", shape, scale, cap}` or `{dist = "empirical", file = "x.csv", cap}`
  (a CSV of observed minutes, relative to the scenario file; or `values = [...]`);
  `cap = 0` means no cap. The keys listed under a duration are those of its default
  (lognormal) table; naming another `dist` replaces the table whole.
- A range `lo .. hi` bounds a number or date; for a string it bounds its length; for a
  table or list of numbers (weights) it bounds every item; for a table or list of tables
  it bounds the number of entries. `-` means no bound on that side.
- Weight tables are relative: they must be non-empty, with every weight >= 0 and a
  positive sum (`weekday_weights` has exactly 7 items, `hour_weights` 24).
- Demand factors (`month_end_factor`, campaign `factor`) are at most 100; retries grow
  at most a million-fold (`admin.backoff_factor ** (admin.max_attempts - 1) <= 1e6`).
- Dates: `run.start` and campaign starts lie in 1900-01-01 .. 2999-12-31, and the run
  (`run.start + run.horizon_days`) and every campaign end by 2999-12-31; campaigns do
  not start before `run.start`.
- Windows nest: `billing.mca_full_refund_days <= billing.mca_window_days` (P-CHG-05
  inside R-MAN-07).
- The behaviours of one blocker (`remediate + wait + manual + give_up`) sum to 1 and use
  only the actions its resolution allows (docs/rules.md, R-ELIG-01..10).
- Sources: `doc` = Microsoft documentation, `3p` = a third-party figure, `model` = a
  modelling assumption.

| key | type | default | range | source | meaning |
|---|---|---|---|---|---|
"""


def markdown() -> str:
    """``docs/parameters.md``: the header and one table row per parameter."""
    rows = [f"| `{p.key}` | {p.kind} | `{p.default}` | {p.range} | {p.source} | {p.doc} |"
            for p in parameters()]
    return HEADER + "\n".join(row.replace(" |  |", " | |") for row in rows) + "\n"


def _params(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown(), end="")
        return EXIT_OK
    rows = parameters()
    width = max(len(p.key) for p in rows)
    for p in rows:
        default = p.default if len(p.default) <= 40 else p.default[:37] + "..."
        print(f"{p.key:<{width}}  {default:<40}  {p.range:<22}  {p.source:<5}  {p.doc}"
              .rstrip())
    return EXIT_OK


def register(commands: Any) -> None:
    params = commands.add_parser(
        "params", help="list every scenario key with its default, range and source")
    params.add_argument("--markdown", action="store_true",
                        help="print docs/parameters.md (Markdown) instead of a table")
    params.set_defaults(handler=_params)
