"""Comparing a billing system's verdict with the model's (HARNESS.md section 2).

:func:`compare` takes the model's verdict and the verdict of the system under test (SUT)
and returns a :class:`Comparison`: every differing field with both values, every class
of disagreement that applies, and the **primary class** (the first of :data:`CLASSES`).
Amounts compare exactly as decimals (``"7.5"`` equals ``"7.50"``); lines are matched by
``(type, plan, start, end)``. A SUT may add fields; a compared field it omits is a
``missing-field`` disagreement unless the caller narrows the compared fields.

A SUT's output is never trusted: a verdict that is not an object, or whose compared
fields have the wrong shape, is a :class:`MalformedVerdict` (a ``sut-error``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

__all__ = [
    "CLASSES",
    "COMPARED_FIELDS",
    "Comparison",
    "MalformedVerdict",
    "compare",
    "parse_fields",
]

# Primary-class order of HARNESS.md section 2.
CLASSES = ("sut-error", "allowed", "blocker-missing", "blocker-extra", "alignment",
           "line-missing", "line-extra", "span", "amount-minor-unit", "amount", "net",
           "overlap-cost", "missing-field")
COMPARED_FIELDS = ("automatic_allowed", "blockers", "alignment", "lines", "net",
                   "overlap_cost")
LINE_KEY = ("type", "plan", "start", "end")
LINE_COUNTS = ("quantity", "billing_days", "cycle_days")
_RANK = {name: index for index, name in enumerate(CLASSES)}


class MalformedVerdict(ValueError):
    """The SUT's verdict cannot be compared; the message says which field and why."""


class Comparison(NamedTuple):
    classes: tuple[str, ...]  # in primary-class order; empty when the verdicts agree
    differences: tuple[dict[str, Any], ...]  # {"field", "class", "model", "sut"}

    @property
    def agrees(self) -> bool:
        return not self.classes

    @property
    def primary(self) -> str | None:
        return self.classes[0] if self.classes else None


def parse_fields(text: str | None) -> frozenset[str]:
    """``--fields a,b``: the compared fields to keep; an unknown name is a ValueError."""
    if not text:
        return frozenset(COMPARED_FIELDS)
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(names - set(COMPARED_FIELDS))
    if unknown:
        raise ValueError(f"--fields: unknown field {', '.join(unknown)} "
                         f"(compared fields: {', '.join(COMPARED_FIELDS)})")
    return names


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise MalformedVerdict(f"{field}: expected a decimal string, got {_kind(value)}")
    try:
        result = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise MalformedVerdict(f"{field}: {value!r} is not a decimal number") from None
    if not result.is_finite():
        raise MalformedVerdict(f"{field}: {value!r} is not a finite number")
    return result


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _blocker_codes(value: Any, field: str) -> frozenset[str]:
    if not isinstance(value, list):
        raise MalformedVerdict(f"{field}: expected a list, got {_kind(value)}")
    codes = set()
    for index, entry in enumerate(value):
        code = entry.get("code") if isinstance(entry, dict) else entry
        if not isinstance(code, str):
            raise MalformedVerdict(f"{field}[{index}]: expected a blocker with a string code")
        codes.add(code)
    return frozenset(codes)


def _lines(value: Any, field: str) -> dict[tuple, list[Mapping[str, Any]]]:
    """Lines grouped by their matching key, each group in the verdict's order."""
    if not isinstance(value, list):
        raise MalformedVerdict(f"{field}: expected a list, got {_kind(value)}")
    grouped: dict[tuple, list[Mapping[str, Any]]] = {}
    for index, line in enumerate(value):
        path = f"{field}[{index}]"
        if not isinstance(line, dict):
            raise MalformedVerdict(f"{path}: expected an object, got {_kind(line)}")
        for key in LINE_KEY:
            if not isinstance(line.get(key), str):
                raise MalformedVerdict(f"{path}.{key}: expected a string, "
                                       f"got {_kind(line.get(key))}")
        grouped.setdefault(tuple(line[key] for key in LINE_KEY), []).append(line)
    return grouped


def _label(key: tuple) -> str:
    kind, plan, start, end = key
    return f"lines[{kind} {plan} {start}..{end}]"


def _minor_step(model_amount: Any) -> Decimal:
    """One minor unit of the model's amount string ("-3.57" -> 0.01, "3570" -> 1)."""
    text = str(model_amount)
    digits = len(text.split(".", 1)[1]) if "." in text else 0
    return Decimal(1).scaleb(-digits)


class _Collector:
    def __init__(self) -> None:
        self.classes: set[str] = set()
        self.differences: list[dict[str, Any]] = []

    def add(self, klass: str, field: str, model: Any, sut: Any) -> None:
        self.classes.add(klass)
        self.differences.append({"field": field, "class": klass, "model": model, "sut": sut})

    def result(self) -> Comparison:
        return Comparison(tuple(sorted(self.classes, key=_RANK.__getitem__)),
                          tuple(self.differences))


def _compare_line(found: _Collector, label: str, model: Mapping[str, Any],
                  sut: Mapping[str, Any]) -> bool:
    """Compare one matched pair of lines; True when they agree."""
    agrees = True
    for key in LINE_COUNTS:
        if key not in sut:
            found.add("missing-field", f"{label}.{key}", model.get(key), None)
            agrees = False
        elif sut[key] != model.get(key) or isinstance(sut[key], bool):
            found.add("span", f"{label}.{key}", model.get(key), sut[key])
            agrees = False
    if "amount" not in sut:
        found.add("missing-field", f"{label}.amount", model.get("amount"), None)
        return False
    model_amount = _decimal(model["amount"], f"model {label}.amount")
    sut_amount = _decimal(sut["amount"], f"{label}.amount")
    if model_amount != sut_amount:
        step = _minor_step(model["amount"])
        klass = "amount-minor-unit" if abs(model_amount - sut_amount) == step else "amount"
        found.add(klass, f"{label}.amount", model["amount"], sut["amount"])
        agrees = False
    return agrees


def _compare_lines(found: _Collector, model: Any, sut: Any) -> bool:
    """Match lines by (type, plan, start, end); True when every line agrees."""
    model_lines = _lines(model, "model lines")
    sut_lines = _lines(sut, "lines")
    agrees = True
    for key, model_group in model_lines.items():
        sut_group = sut_lines.get(key, [])
        for index, model_line in enumerate(model_group):
            label = _label(key) if len(model_group) == 1 else f"{_label(key)}#{index}"
            if index >= len(sut_group):
                found.add("line-missing", label, model_line, None)
                agrees = False
            elif not _compare_line(found, label, model_line, sut_group[index]):
                agrees = False
    for key, sut_group in sut_lines.items():
        for sut_line in sut_group[len(model_lines.get(key, [])):]:
            found.add("line-extra", _label(key), None, sut_line)
            agrees = False
    return agrees


_AGREED = Comparison((), ())
_PRESENT: dict[frozenset[str], tuple[str, ...]] = {}  # compared fields, in COMPARED_FIELDS order


def _present(fields: Iterable[str]) -> tuple[str, ...]:
    wanted = fields if isinstance(fields, frozenset) else frozenset(fields)
    present = _PRESENT.get(wanted)
    if present is None:
        present = _PRESENT[wanted] = tuple(f for f in COMPARED_FIELDS if f in wanted)
    return present


def _same_line(model: Mapping[str, Any], sut: Any) -> bool:
    """The SUT's line has the model's key, counts (ints, not booleans) and amount text."""
    if type(sut) is not dict:
        return False
    for key in LINE_KEY:
        if sut.get(key) != model.get(key):
            return False
    for key in LINE_COUNTS:
        value = sut.get(key)
        if value != model.get(key) or value is True or value is False:
            return False
    return sut.get("amount") == model.get("amount")


def _identical(model: Mapping[str, Any], sut: dict[str, Any], present: tuple[str, ...]
               ) -> bool:
    """A sufficient condition for agreement, cheap enough to try first on every verdict:
    every compared field present and equal as JSON values (amounts as the same text,
    lines in the model's order, ``automatic_allowed`` the same boolean or null). When it
    fails, the full comparison decides; when it holds, the full one finds nothing."""
    for field in present:
        if field not in sut:
            return False
        value = sut[field]
        if field == "automatic_allowed":
            if value is not model[field]:
                return False
        elif field == "lines":
            lines = model[field]
            if type(value) is not list or len(value) != len(lines):
                return False
            for model_line, sut_line in zip(lines, value, strict=True):
                if not _same_line(model_line, sut_line):
                    return False
        elif value != model[field] or type(value) is not type(model[field]):
            return False
    return True


def compare(model: Mapping[str, Any], sut: Any,
            fields: Iterable[str] = COMPARED_FIELDS) -> Comparison:
    """Every disagreement between the model's verdict and the SUT's (HARNESS.md 2).

    Raises :class:`MalformedVerdict` when the SUT's verdict cannot be compared.
    """
    if not isinstance(sut, dict):
        raise MalformedVerdict(f"the verdict is not a JSON object but {_kind(sut)}")
    present = _present(fields)
    if present and _identical(model, sut, present):
        return _AGREED  # every compared field is in `sut`, so it is no error report
    if "error" in sut and not any(field in sut for field in COMPARED_FIELDS):
        raise MalformedVerdict(f"the SUT reported an error: {str(sut['error'])[:200]}")
    found = _Collector()
    for field in present:
        if field not in sut:
            found.add("missing-field", field, model.get(field), None)
    if ("automatic_allowed" in present and "automatic_allowed" in sut
            and sut["automatic_allowed"] is not model["automatic_allowed"]):
        found.add("allowed", "automatic_allowed", model["automatic_allowed"],
                  sut["automatic_allowed"])
    if "blockers" in present and "blockers" in sut:
        model_codes = _blocker_codes(model["blockers"], "model blockers")
        sut_codes = _blocker_codes(sut["blockers"], "blockers")
        for code in sorted(model_codes - sut_codes):
            found.add("blocker-missing", "blockers", code, None)
        for code in sorted(sut_codes - model_codes):
            found.add("blocker-extra", "blockers", None, code)
    if ("alignment" in present and "alignment" in sut
            and sut["alignment"] != model["alignment"]):
        found.add("alignment", "alignment", model["alignment"], sut["alignment"])
    lines_agree = True
    if "lines" in present and "lines" in sut:
        lines_agree = _compare_lines(found, model["lines"], sut["lines"])
    for field, klass in (("net", "net"), ("overlap_cost", "overlap-cost")):
        if field not in present or field not in sut:
            continue
        if _decimal(model[field], f"model {field}") != _decimal(sut[field], field):
            # net is the sum of the lines (P-CHG-08): its own class only when every
            # line agrees; a line disagreement already explains it.
            if klass == "net" and not lines_agree:
                found.differences.append({"field": field, "class": None,
                                          "model": model[field], "sut": sut[field]})
            else:
                found.add(klass, field, model[field], sut[field])
    return found.result()
