"""Trust a stored run only after checking it against its manifest (issue 7, part 2).

A run's manifest.json lists every record table with its file, row count and sha256.
Before the report or a comparison reads a table, :func:`verify_tables` resolves the file
strictly inside the run directory (a manifest path such as ``../../etc/passwd`` is
refused), recomputes its sha256 and counts its rows; any difference names the damaged
file. With ``check=False`` (``--no-verify``) only the path containment is enforced.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..fleet.records import file_sha256  # one hash for writing and checking
from .records import RunError

__all__ = ["VerifiedTable", "file_sha256", "read_manifest", "verify_tables"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MANIFEST_KEYS = {"tables": dict, "scenario": dict, "digits": int, "currency": str,
                  "seed": int, "scenario_name": str}


@dataclass(frozen=True)
class VerifiedTable:
    name: str
    path: Path
    rows: int
    sha256: str | None  # the file's own hash (None when not computed)


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The manifest of the run in `directory`, checked for the fields the reports use."""
    directory = Path(directory)
    path = directory / "manifest.json"
    try:
        found = path.is_file()
    except OSError as error:  # e.g. a name longer than the file system allows
        shown = str(directory)
        shown = shown if len(shown) <= 80 else f"{shown[:80]}... ({len(shown)} characters)"
        raise RunError(f"{shown}: not a usable run directory ({error.strerror})") from None
    if not found:
        raise RunError(f"{directory}: not a run directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise RunError(f"{path}: not valid JSON ({type(error).__name__}: "
                       f"{str(error)[:120]})") from None
    except OSError as error:
        raise RunError(f"{path}: cannot read: {error.strerror}") from None
    if not isinstance(manifest, dict):
        raise RunError(f"{path}: not a run manifest (a JSON object was expected)")
    for key, kind in _MANIFEST_KEYS.items():
        value = manifest.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise RunError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    return manifest


def resolve_inside(directory: Path, relative: Any, where: str) -> Path:
    """`relative` (from the manifest) as a path that stays inside `directory`."""
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise RunError(f"{where}: 'file' must be a relative path inside the run directory")
    root = directory.resolve()
    candidate = (root / relative).resolve()
    if Path(relative).is_absolute() or not candidate.is_relative_to(root) or candidate == root:
        raise RunError(f"{where}: file {relative!r} is outside the run directory {directory}; "
                       "refusing to read it")
    return candidate


def _entry(directory: Path, name: str, entry: Any) -> tuple[Path, int, str]:
    where = f"{directory / 'manifest.json'}: table {name!r}"
    if not isinstance(entry, Mapping):
        raise RunError(f"{where}: not an object with file, rows and sha256")
    path = resolve_inside(directory, entry.get("file"), where)
    rows, digest = entry.get("rows"), entry.get("sha256")
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise RunError(f"{where}: 'rows' must be a whole number >= 0")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise RunError(f"{where}: 'sha256' must be 64 hexadecimal digits")
    if not path.is_file():
        raise RunError(f"{path}: record file missing (listed in the manifest as {name!r})")
    return path, rows, digest


def count_rows(path: Path) -> int:
    """Rows of a record file: the Parquet footer's count, or CSV records after the header."""
    try:
        if path.suffix == ".parquet":
            return pq.ParquetFile(path).metadata.num_rows
        with path.open(encoding="utf-8", newline="") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except (pa.ArrowException, OSError, UnicodeDecodeError, csv.Error, ValueError) as error:
        raise RunError(f"{path}: damaged record file, cannot be read "
                       f"({type(error).__name__}: {str(error)[:120]})") from None


def verify_tables(directory: str | Path, manifest: Mapping[str, Any], check: bool = True,
                  hashes: bool | None = None) -> dict[str, VerifiedTable]:
    """Every table the manifest lists, its file resolved inside `directory` and, when
    `check`, its sha256 and row count compared with the manifest (RunError naming the
    file on any difference). `hashes` (default: `check`) computes the files' hashes."""
    directory = Path(directory)
    hashes = check if hashes is None else hashes
    verified = {}
    for name, entry in sorted(manifest["tables"].items()):
        path, rows, digest = _entry(directory, name, entry)
        actual = file_sha256(path) if hashes else None
        if check and actual != digest:
            raise RunError(f"{path}: damaged or edited record file: its sha256 {actual[:12]}... "
                           f"does not match the manifest's {digest[:12]}... (--no-verify "
                           "reads it anyway)")
        if check:
            counted = count_rows(path)
            if counted != rows:
                raise RunError(f"{path}: {counted} rows, the manifest says {rows}")
        verified[name] = VerifiedTable(name, path, rows, actual)
    return verified
