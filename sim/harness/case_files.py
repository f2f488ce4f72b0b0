"""Reading case files (CASES.md "Commands"): a JSON case, a JSON array, or JSON Lines.

The input is the user's, and may be hostile: a line nested 10,000 levels deep, an
integer literal of 5,000 digits, bytes that are not UTF-8, a repeated key, ``NaN``. Each
such line (or array element) costs only itself: it is yielded as an :class:`InputError`
naming the source and line (``cases.jsonl:3: ...``) in place of the case, and reading
goes on with the next one. JSON Lines stream a line (or, undecoded for the typed
decoder, up to a MiB of lines) at a time: flat memory.

JSON here is strict RFC 8259 JSON:

====================  =============================================================
input                 outcome
====================  =============================================================
UTF-8 BOM             accepted at the start of the input only
``NaN``/``Infinity``  error: not JSON numbers
repeated key          error naming the key's path (``tenant.subscriptions[0].plan``)
integer > 4300 dgts   error (Python's int conversion limit; no case field needs one)
nesting too deep      error (no case is nested more than 6 levels)
bytes not UTF-8       error for that line (JSON Lines) or file (JSON, JSON array)
====================  =============================================================
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .cases import CaseError

__all__ = ["InputError", "LineBatch", "Position", "decode_json", "decode_line",
           "read_case_file", "read_case_stream", "read_cases"]

BOM = b"\xef\xbb\xbf"


class InputError(CaseError):
    """A line or element that is not a case object's JSON; ``case_id`` when recoverable."""

    def __init__(self, message: str, case_id: str | None = None) -> None:
        super().__init__("", message)
        self.case_id = case_id


class Position:
    """Where the item last yielded came from: ``cases.jsonl:3``, ``cases.json[2]`` or
    ``case.json`` (a whole file). Updated in place by the readers, one store per item."""

    __slots__ = ("element", "line", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.line: int | None = None
        self.element: int | None = None

    def __str__(self) -> str:
        if self.element is not None:
            return f"{self.source}[{self.element}]"
        return self.source if self.line is None else f"{self.source}:{self.line}"


class _DuplicateKey(ValueError):
    pass


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # One C-level dict() per object; a repeated key shows as a shorter dict.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


_DECODER = json.JSONDecoder(object_pairs_hook=_strict_object, parse_constant=_no_constant)


class _Pairs(list):
    """An object as its list of (key, value) pairs, for finding a repeated key."""


_LENIENT = json.JSONDecoder(object_pairs_hook=_Pairs, parse_constant=lambda name: None,
                            parse_int=lambda text: 0)


def _duplicate_path(text: str, start: int = 0) -> tuple[str, str | None]:
    """The path of the first repeated key in document order, and the case_id if any."""
    root, _ = _LENIENT.raw_decode(text, start)
    case_id = None
    if isinstance(root, _Pairs):
        ids = [value for key, value in root if key == "case_id"]
        case_id = ids[0] if ids and isinstance(ids[0], str) else None
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:  # iterative: the value may be nested deeply
        path, value = stack.pop()
        if isinstance(value, _Pairs):
            seen: set[str] = set()
            for key, _item in value:
                if key in seen:
                    return (f"{path}.{key}" if path else key), case_id
                seen.add(key)
            stack.extend(reversed([(f"{path}.{key}" if path else key, item)
                                   for key, item in value]))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{index}]", item)
                                   for index, item in enumerate(value)]))
    return "?", case_id


def _describe(error: BaseException, text: str, start: int) -> tuple[str, str | None]:
    """A one-line reason for a value that failed strict decoding (and its case_id)."""
    if isinstance(error, _DuplicateKey):
        try:
            path, case_id = _duplicate_path(text, start)
        except (ValueError, RecursionError):
            return "repeated key in a JSON object", None
        return f"{path}: duplicate key (a JSON object must not repeat a key)", case_id
    if isinstance(error, json.JSONDecodeError):
        where = f"line {error.lineno}, column" if error.lineno > 1 else "column"
        return f"invalid JSON: {error.msg} ({where} {error.colno})", None
    if isinstance(error, RecursionError):
        return "invalid JSON: nested too deeply (a case has at most 6 levels)", None
    message = str(error)
    if "integer string conversion" in message:
        return ("invalid JSON: an integer literal of more than 4300 digits "
                "(no case field holds one)"), None
    return f"invalid JSON: {message}", None


def decode_json(text: str, where: str) -> Any:
    """One JSON value, strictly (see the table above), or an :class:`InputError`."""
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as error:
        message, case_id = _describe(error, text, len(text) - len(text.lstrip()))
        return InputError(f"{where}: {message}", case_id)


# ------------------------------------------------------------------------- JSON arrays

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SPECIAL = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR_END = re.compile(r"[^,\]}\s]*")


def _skip_value(text: str, index: int) -> int | None:
    """Index just after the JSON value at `index` (brackets and strings matched), or None
    when it never ends. Used only after a value failed, to go on with the next one."""
    if index >= len(text):
        return None
    if text[index] not in "[{":
        if text[index] == '"':
            match = _STRING_END.match(text, index + 1)
            return match.end() if match else None
        return _SCALAR_END.match(text, index).end()
    depth = 0
    while True:
        match = _SPECIAL.search(text, index)
        if match is None:
            return None
        char, index = match.group(), match.end()
        if char == '"':
            string = _STRING_END.match(text, index)
            if string is None:
                return None
            index = string.end()
        elif char in "[{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return index


def _where(source: str, text: str, index: int, element: int) -> str:
    return f"{source}[{element}] (line {text.count(chr(10), 0, index) + 1})"


def _array_items(text: str, source: str, position: Position) -> Iterator[Any]:
    """The elements of a JSON array one by one; a bad element costs only itself."""
    skip = _WHITESPACE.match
    index = skip(text, text.index("[") + 1).end()
    if text.startswith("]", index):
        index = skip(text, index + 1).end()
        if index != len(text):
            yield InputError(f"{source}: invalid JSON: extra data after the array")
        return
    element = 0
    while True:
        position.element = element
        try:
            value, end = _DECODER.raw_decode(text, index)
        except (ValueError, RecursionError) as error:
            message, case_id = _describe(error, text, index)
            yield InputError(f"{_where(source, text, index, element)}: {message}", case_id)
            end = _skip_value(text, index)
            if end is None:
                return
        else:
            yield value
        index = skip(text, end).end()
        if text.startswith(",", index):
            index = skip(text, index + 1).end()
            element += 1
            continue
        if text.startswith("]", index):
            if skip(text, index + 1).end() != len(text):
                yield InputError(f"{source}: invalid JSON: extra data after the array")
            return
        yield InputError(f"{_where(source, text, index, element)}: invalid JSON: "
                         "expected ',' or ']' after an element")
        return


# --------------------------------------------------------------------------- reading


def _whole(data: bytes, source: str, first_line: bytes, number: int, position: Position
           ) -> Iterator[Any]:
    """A whole input that is not JSON Lines: a JSON array or one (pretty-printed) case."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        yield InputError(f"{source}: not UTF-8 text ({error.reason} at byte {error.start})")
        return
    if text.lstrip().startswith("["):
        yield from _array_items(text, source, position)
        return
    value = decode_json(text, source)
    if not isinstance(value, InputError) or first_line.strip() == b"{":
        yield value  # one case, or a pretty-printed case that is broken: one error
        return
    yield from _lines(iter(data.split(b"\n")), source, number - 1, position)


def decode_line(line: bytes, source: str, number: int) -> Any:
    """One line of JSON Lines, strictly: the value, or an :class:`InputError` naming
    ``source:number``."""
    try:
        return _DECODER.decode(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        return InputError(f"{source}:{number}: not UTF-8 text ({error.reason})")
    except (ValueError, RecursionError):
        return decode_json(line.decode("utf-8"), f"{source}:{number}")


def _lines(lines: Iterator[bytes], source: str, number: int, position: Position
           ) -> Iterator[Any]:
    for line in lines:
        number += 1
        if not line.strip():
            continue
        position.line = number
        yield decode_line(line, source, number)


class LineBatch(NamedTuple):
    """JSON Lines read but not decoded: ``lines[i]`` is line ``first + i`` of the input
    (blank lines included, newlines removed)."""

    first: int
    lines: list[bytes]


BATCH_BYTES = 1 << 20  # JSON Lines are read up to a MiB at a time (flat memory)


def _batches(handle: BinaryIO, number: int) -> Iterator[LineBatch]:
    """The rest of `handle` in batches of whole lines, each as soon as it has arrived
    (``read1``: a pipe is not waited on until a MiB is there); a line longer than a
    batch is gathered whole, in linear time."""
    read = getattr(handle, "read1", handle.read)
    pending: list[bytes] = []  # the start of a line not yet ended
    while chunk := read(BATCH_BYTES):
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        lines = chunk.split(b"\n")
        if pending:
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending = []
        tail = lines.pop()
        if tail:
            pending.append(tail)
        yield LineBatch(number + 1, lines)
        number += len(lines)
    if pending:
        yield LineBatch(number + 1, [b"".join(pending)])


def read_case_stream(handle: BinaryIO, source: str, position: Position | None = None,
                     raw_lines: bool = False) -> Iterator[Any]:
    """Case objects (or :class:`InputError`\\ s) from a binary stream, in input order.

    The first non-blank line decides the form: ``[`` starts a JSON array (read whole); a
    line that is a whole JSON value, or looks like one object (``{...}``), starts JSON
    Lines (streamed); anything else is read whole as one pretty-printed case, falling
    back to JSON Lines when it is not one JSON value. `position`, if given, says where
    each item came from when it is yielded. With `raw_lines`, JSON Lines after the
    first come undecoded, in :class:`LineBatch` es (for a typed decoder; the caller
    skips blank lines and :func:`decode_line` gives what would have been yielded).
    """
    position = position if position is not None else Position(source)
    number, first = 0, b""
    while not first.strip():
        first = handle.readline()
        number += 1
        if not first:
            return
        if number == 1 and first.startswith(BOM):
            first = first[len(BOM):]
    stripped = first.strip()
    if stripped.startswith(b"["):
        yield from _whole(first + handle.read(), source, first, number, position)
        return
    try:
        value = _DECODER.decode(first.decode("utf-8"))
    except json.JSONDecodeError:
        if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
            yield from _whole(first + handle.read(), source, first, number, position)
            return
        value = decode_json(first.decode("utf-8"), f"{source}:{number}")
    except UnicodeDecodeError as error:
        value = InputError(f"{source}:{number}: not UTF-8 text ({error.reason})")
    except (ValueError, RecursionError):
        value = decode_json(first.decode("utf-8"), f"{source}:{number}")
    position.line = number
    yield value
    if raw_lines:
        yield from _batches(handle, number)
    else:
        yield from _lines(iter(handle), source, number, position)


def read_case_file(path: str | Path, position: Position | None = None) -> Iterator[Any]:
    """:func:`read_case_stream` over a file; JSON Lines are never held whole in memory."""
    path = Path(path)
    with path.open("rb") as handle:
        yield from read_case_stream(handle, str(path), position)


def read_cases(text: str, source: str = "<input>", position: Position | None = None
               ) -> Iterator[Any]:
    """:func:`read_case_stream` over text already in memory."""
    data = text.encode("utf-8", "surrogatepass")
    yield from read_case_stream(io.BytesIO(data), source, position)
