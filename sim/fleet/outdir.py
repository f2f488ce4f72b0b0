"""Where a run's records go, without ever losing a user's files (issue 7, part 1).

A run writes only into a directory it creates itself or one that already holds a finished
planshift run (its manifest.json carries ``"planshift_run": true``); anything else, a
folder of a user's notes, ``..``, a file, is refused before the simulation starts.
Replacing a finished run needs ``force``. Records are written into a temporary directory
unique to the process (``tempfile.mkdtemp`` beside the target) that is renamed into place
in one step; an old run is first moved aside in one step and only that verified run is
deleted. An advisory lock (``fcntl.flock`` on ``.<name>.lock`` beside the target) makes a
second run on the same directory fail at once instead of mixing files with the first.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RUN_ENTRIES", "RUN_MARKER", "OutputError", "Staging", "finished_run",
           "run_directory_name", "safe_component", "staged_output"]

RUN_MARKER = "planshift_run"  # manifest key whose value `true` says "a finished run"
# What a finished run directory holds (manifest and records, then the report files).
RUN_ENTRIES = frozenset({"manifest.json", "records", "summary.json", "tables", "plots",
                         "report.md", "report.html"})
MAX_COMPONENT = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class OutputError(ValueError):
    """The output directory cannot be used safely (reported with exit status 2)."""


def safe_component(name: str, fallback: str = "run") -> str:
    """`name` as one harmless path component: no separators, no leading dots, no `..`."""
    cleaned = _UNSAFE.sub("_", name).strip("._-")[:MAX_COMPONENT].strip("._-")
    return cleaned or fallback


def run_directory_name(name: str, seed: int, scenario: Mapping[str, Any] | None = None,
                       base: Mapping[str, Any] | None = None) -> str:
    """``<name>-<seed>``, plus a short stable hash when `scenario` differs from `base`.

    `scenario` and `base` are the scenario as run and as written in its file (seed left
    out: it is in the name already), so two different configurations never share a
    default directory, while the unmodified scenario keeps its plain name.
    """
    stem = f"{safe_component(name)}-{seed}"
    if scenario is None or base is None:
        return stem
    effective, original = _without_seed(scenario), _without_seed(base)
    if effective == original:
        return stem
    text = json.dumps(effective, sort_keys=True, default=str, separators=(",", ":"))
    return f"{stem}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:6]}"


def _without_seed(scenario: Mapping[str, Any]) -> dict[str, Any]:
    copy = {key: dict(value) if isinstance(value, Mapping) else value
            for key, value in scenario.items()}
    if isinstance(copy.get("run"), dict):
        copy["run"].pop("seed", None)
    return copy


def finished_run(directory: Path) -> dict[str, Any] | None:
    """The manifest of the finished planshift run in `directory`, or None if it is not one.

    Runs written before the marker existed are recognised by ``"package": "planshift"``
    with a table list.
    """
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(manifest, dict):
        return None
    if manifest.get(RUN_MARKER) is True:
        return manifest
    if manifest.get("package") == "planshift" and isinstance(manifest.get("tables"), dict):
        return manifest
    return None


def _check_target(out: Path, force: bool) -> bool:
    """Whether `out` exists and may be replaced; raises OutputError when it may not."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        kind = "a symbolic link" if out.is_symlink() else "a file"
        raise OutputError(f"{out}: exists and is {kind}, not a run directory; "
                          "choose another --out")
    if not out.exists():
        return False
    try:
        entries = sorted(entry.name for entry in out.iterdir())
    except OSError as error:
        raise OutputError(f"{out}: cannot read directory: {error.strerror}") from None
    if not entries:
        return True  # an empty directory: nothing to lose
    manifest = finished_run(out)
    if manifest is None:
        raise OutputError(f"{out}: directory exists and does not hold a planshift run "
                          f"(it has {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
                          f"e.g. {entries[0]!r}); refusing to write into it, choose another "
                          "--out")
    foreign = [name for name in entries if name not in RUN_ENTRIES] + _foreign_records(
        out, manifest)
    if foreign:
        raise OutputError(f"{out}: holds a planshift run but also {foreign[0]!r}, which a "
                          "run never writes; refusing to replace it, move that file first")
    if not force:
        raise OutputError(f"{out}: already holds a finished planshift run (scenario "
                          f"{manifest.get('scenario_name')!r}, seed {manifest.get('seed')}); "
                          "pass --force to replace it, or choose another --out")
    return True


def _foreign_records(out: Path, manifest: dict[str, Any]) -> list[str]:
    """Entries of records/ that are not record files the manifest lists."""
    tables = manifest.get("tables")
    listed = {entry.get("file") for entry in (tables if isinstance(tables, dict) else {}).values()
              if isinstance(entry, dict)}
    records = out / "records"
    if not records.is_dir() or records.is_symlink():
        return [] if not records.exists() else ["records"]
    return [f"records/{p.name}" for p in sorted(records.iterdir())
            if f"records/{p.name}" not in listed or not p.is_file() or p.is_symlink()]


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold ``.<name>.lock`` beside `out` for the whole run; fail at once if taken."""
    path = out.parent / f".{out.name}.lock"
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise OutputError(f"{out}: cannot create lock file {path}: {error.strerror}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise OutputError(f"{out}: another planshift run is writing this directory "
                                  f"(lock {path} is held); wait for it or choose another "
                                  "--out") from None
            raise
        yield
    finally:
        os.close(handle)  # closing releases the lock


@dataclass
class Staging:
    """A run's temporary directory and the target it becomes on :meth:`commit`."""

    target: Path
    directory: Path
    replace: bool
    force: bool
    committed: bool = False

    def commit(self) -> None:
        """Move the finished records into place; an old run is moved aside, then deleted."""
        aside = None
        if self.target.exists() or self.target.is_symlink():
            self.replace = _check_target(self.target, self.force)  # re-check under the lock
            aside = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old-",
                                          dir=self.target.parent))
            os.rename(self.target, aside)  # replaces the empty placeholder in one step
        try:
            os.rename(self.directory, self.target)
        except OSError:
            if aside is not None:
                os.rename(aside, self.target)  # put the old run back
            raise
        self.committed = True
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def staged_output(out: Path, force: bool = False) -> Iterator[Staging]:
    """A unique temporary directory for a run that will become `out` on commit.

    Every check happens here, before anything is simulated: `out` must be absent, empty,
    or a finished planshift run (`force` to replace it); its parent must be writable; no
    other run may hold its lock. Without a commit the temporary directory is removed.
    """
    out = Path(os.path.abspath(out))
    if out.name in ("", ".", "..") or out == out.parent:
        raise OutputError(f"{out}: not a usable output directory")
    replace = _check_target(out, force)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{parent}: cannot create the output's parent directory: "
                          f"{error.strerror}") from None
    if not parent.is_dir():
        raise OutputError(f"{parent}: not a directory")
    with _lock(out):
        replace = _check_target(out, force)  # again, now that no other run can change it
        try:
            directory = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial",
                                              dir=parent))
        except OSError as error:
            raise OutputError(f"{parent}: cannot write the run here: {error.strerror}") \
                from None
        staging = Staging(out, directory, replace, force)
        try:
            yield staging
        finally:
            if not staging.committed:
                shutil.rmtree(directory, ignore_errors=True)
