"""Reading scenario files and applying ``--set`` overrides (behind ``load_scenario``).

A scenario file is UTF-8 TOML (a byte-order mark is accepted); anything else, a missing or
unreadable file, a directory, TOML nested too deeply or an integer of over 4300 digits is
a :class:`~sim.fleet.scenario.ScenarioError` naming the file. An override is
``key.path=value`` with the value in TOML syntax (a bare word is a string). An empirical
duration's CSV file is read relative to the scenario file's folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from .scenario import Scenario, ScenarioError, scenario_from_dict
from .scenario_checks import BASE_DIR

__all__ = ["apply_overrides", "read_scenario"]


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ScenarioError(f"--set {text}: expected key.path=value")
    key, raw_value = text.split("=", 1)
    keys = [part.strip() for part in key.strip().split(".")]
    if not all(keys):
        raise ScenarioError(f"--set {text}: empty key in {key!r}")
    try:
        value = tomllib.loads(f"value = {raw_value}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw_value  # a bare word: take it as a string
    except RecursionError:
        raise ScenarioError(f"{key.strip()}: value nested too deeply (--set)") from None
    except ValueError as error:  # e.g. an integer literal of over 4300 digits
        raise ScenarioError(f"{key.strip()}: unreadable value (--set): {_why(error)}") from None
    return keys, value


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (values in TOML syntax) to a raw scenario dict."""
    for text in overrides:
        keys, value = _parse_override(text)
        node = raw
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"{'.'.join(keys[:depth + 1])}: expected a table, got "
                                    f"{type(child).__name__} (--set {text[:80]})")
            node = child
        node[keys[-1]] = value
    return raw


def _why(error: ValueError) -> str:
    text = str(error)
    return "an integer of over 4300 digits" if "digits" in text else text


def _read_toml(path: Path | Traversable) -> dict[str, Any]:
    """The TOML of a scenario file (UTF-8, an optional BOM); errors name the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a directory, not a scenario file") from None
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: {error}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: TOML nested too deeply") from None
    except ValueError as error:  # e.g. an integer literal of over 4300 digits
        raise ScenarioError(f"{path}: unreadable TOML: {_why(error)}") from None


def read_scenario(path: str | Path | Traversable, overrides: Iterable[str] = ()) -> Scenario:
    """Load a scenario file, apply overrides, validate; errors name file and key path."""
    if isinstance(path, str):
        path = Path(path)
    raw = _read_toml(path)
    meta = raw.setdefault("meta", {})
    if isinstance(meta, dict):
        meta.setdefault("name", Path(path.name).stem)
    base_dir = path.parent if isinstance(path, Path) else None  # empirical CSV files
    token = BASE_DIR.set(base_dir)
    try:
        apply_overrides(raw, overrides)
        return scenario_from_dict(raw)
    except ScenarioError as error:
        raise ScenarioError(f"{path}: {error}") from None
    finally:
        BASE_DIR.reset(token)
