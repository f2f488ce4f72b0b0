"""Field access for case objects (CASES.md): typed reads that name the field's path.

Every reader raises :class:`CaseError` with the path of the field at fault
(``tenant.subscriptions[0].licenses: must be <= 10,000,000, got 10000001``), so a
malformed case is always reported in the same form. Used by :mod:`sim.harness.cases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

__all__ = ["MAX_LICENSES", "MAX_YEAR", "MIN_YEAR", "MISSING", "CaseError", "choice", "count",
           "date_field", "describe", "get", "join", "object_field", "short", "text"]

# Dates a case may carry: terms and invoices of a date must stay representable (P3Y
# terms, invoices and wire settlements run a few years past the last day).
MIN_YEAR, MAX_YEAR = 1900, 2999
# Licenses and assigned users per subscription: far above any real tenant, low enough
# that no verdict amount can pass MAX_MINOR (see sim.harness.cases).
MAX_LICENSES = 10_000_000


class CaseError(ValueError):
    """A case is malformed; ``path`` names the field, the message says why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


MISSING = object()  # a field not given (None is a value)


def join(path: str, key: str) -> str:
    """The path of `key` inside the object at `path`."""
    return f"{path}.{key}" if path else key


def object_field(value: Any, path: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    """An object whose keys are all in `allowed` (an unknown key is named)."""
    if not isinstance(value, dict):
        raise CaseError(path, f"expected an object, got {describe(value)}")
    if not allowed.issuperset(value):
        for key in value:
            if key not in allowed:
                raise CaseError(join(path, key), "unknown field")
    return value


def describe(value: Any) -> str:
    """What kind of JSON value `value` is, for messages ("a list", "null")."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def get(obj: Mapping[str, Any], key: str, path: str, kind: type, default: Any = MISSING
        ) -> Any:
    """``obj[key]`` of exactly type `kind` (bool is not int), `default` when absent/null."""
    value = obj.get(key, MISSING)
    if type(value) is kind:  # the common case (JSON gives exact types; bool is not int)
        return value
    if value is MISSING or (value is None and default is not MISSING):
        if default is MISSING:
            raise CaseError(join(path, key), "missing")
        return default
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        expected = {str: "a string", bool: "a boolean", int: "an integer", list: "a list",
                    dict: "an object"}[kind]
        raise CaseError(join(path, key), f"expected {expected}, got {describe(value)}")
    return value


def choice(obj: Mapping[str, Any], key: str, path: str, choices: tuple[str, ...] | Mapping,
           default: Any = MISSING) -> str:
    """A string field that must be one of `choices`."""
    value = get(obj, key, path, str, default)
    if value not in choices:
        raise CaseError(join(path, key), f"{value!r} is not one of {', '.join(choices)}")
    return value


def date_field(obj: Mapping[str, Any], key: str, path: str, default: Any = MISSING) -> date:
    """A YYYY-MM-DD date within MIN_YEAR..MAX_YEAR."""
    value = get(obj, key, path, str, default)
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        raise CaseError(join(path, key), f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as error:
        raise CaseError(join(path, key), f"{value!r} is not a valid date: {error}") from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise CaseError(join(path, key), f"{value!r} is outside the supported years "
                        f"{MIN_YEAR}..{MAX_YEAR}")
    return parsed


def count(obj: Mapping[str, Any], key: str, path: str, minimum: int,
          default: Any = MISSING, maximum: int = MAX_LICENSES) -> int:
    """An integer count in ``minimum..maximum`` (both stated in the error)."""
    value = get(obj, key, path, int, default)
    if value < minimum:
        raise CaseError(join(path, key), f"must be >= {minimum}, got {value}")
    if value > maximum:
        raise CaseError(join(path, key), f"must be <= {maximum:,}, got {short(value)}")
    return value


def text(obj: Mapping[str, Any], key: str, path: str) -> str:
    """A required identifier: a non-empty string."""
    value = get(obj, key, path, str)
    if not value:
        raise CaseError(join(path, key), "must not be empty")
    return value


def short(value: int) -> str:
    """An integer for a message: a 5,000-digit one is summarised, not printed."""
    if value.bit_length() <= 128:
        return str(value)
    try:
        return f"an integer of {len(str(abs(value)))} digits"
    except ValueError:  # beyond Python's int-to-text limit (4300 digits)
        return f"an integer of about {value.bit_length() * 30103 // 100000 + 1} digits"
