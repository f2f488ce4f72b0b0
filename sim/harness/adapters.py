"""Adapters: how the harness reaches a billing system under test (HARNESS.md section 1).

An adapter is named by one string, ``SCHEME:REST`` (:func:`open_adapter`):

- ``cmd:COMMAND`` -- one long-lived subprocess speaking JSON Lines, up to 64 cases in
  flight, a per-case timeout, restarted when it dies (:class:`CommandAdapter`);
- ``http://...`` / ``https://...`` -- one POST per case, bounded concurrency, retries
  with backoff on connection errors only (:class:`HttpAdapter`);
- ``file:PATH`` -- verdicts computed offline, matched by ``case_id`` (:class:`FileAdapter`).

Every adapter answers a stream of cases in order with :meth:`Adapter.stream`, yielding
``(key, case, answer)``; an answer is the SUT's verdict object or a :class:`SutError`
naming the reason. A SUT's output is never trusted and never raises: the only exception
that leaves an adapter is :class:`SutGaveUp` (the SUT failed too often in a row).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_TIMEOUT",
    "Adapter",
    "AdapterError",
    "CommandAdapter",
    "FileAdapter",
    "HttpAdapter",
    "SutError",
    "SutGaveUp",
    "encode_case",
    "open_adapter",
    "read_verdict",
]

DEFAULT_TIMEOUT = 10.0  # seconds per case (HARNESS.md 1)
PIPELINE_DEPTH = 64  # cases in flight on one cmd: process
MAX_RESTARTS = 5  # restarts in a row without a good answer, then give up
HTTP_CONCURRENCY = 8
HTTP_RETRIES = 3
_EOF = object()


class SutError(NamedTuple):
    """No usable verdict for one case; `reason` says why (class ``sut-error``)."""

    reason: str


class AdapterError(ValueError):
    """A malformed adapter string or an unreadable verdict file (bad input, exit 2)."""


class SutGaveUp(RuntimeError):
    """The SUT failed :data:`MAX_RESTARTS` times in a row; the check stops (exit 1)."""


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...)


def encode_case(case: Any) -> bytes:
    """One case as the compact JSON line a ``cmd:`` SUT reads (newline included).

    Raises TypeError or ValueError when `case` is not JSON-serialisable.
    """
    return _ENCODE(case).encode() + b"\n"


def read_verdict(text: str | bytes, case_id: Any) -> dict[str, Any] | SutError:
    """One answer checked for shape: a JSON object for this `case_id`, or a SutError."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        snippet = text[:80] if isinstance(text, str) else text[:80].decode("utf-8", "replace")
        return SutError(f"not JSON ({error}): {snippet!r}")
    if not isinstance(value, dict):
        return SutError(f"the answer is not a JSON object but {type(value).__name__}")
    if value.get("case_id") != case_id:
        return SutError(f"verdict for case_id {value.get('case_id')!r}, expected {case_id!r}")
    return value


class Adapter:
    """Base class: answer cases in order; :meth:`ask` answers one case."""

    name = "adapter"
    # True when stream() also takes ``(key, case, line)`` items, `line` being
    # :func:`encode_case` of `case` (sent as is, not encoded again).
    takes_lines = False

    def stream(self, items: Iterable[tuple[Any, dict[str, Any]]]
               ) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any] | SutError]]:
        raise NotImplementedError

    def ask(self, case: dict[str, Any]) -> dict[str, Any] | SutError:
        for _, _, answer in self.stream([(None, case)]):
            return answer
        return SutError("no answer")

    def close(self) -> None:
        """Release processes, threads and connections."""

    def __enter__(self) -> Adapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------- cmd:


class _Process:
    """One running SUT process with a reader and a writer thread (never blocks the caller)."""

    def __init__(self, argv: list[str], stderr_path: Path | None) -> None:
        self.stderr = open(stderr_path, "ab") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self.stderr)
        except OSError:
            self._close_stderr()
            raise
        self.answers: queue.SimpleQueue = queue.SimpleQueue()  # lists of lines, then _EOF
        self.ready: deque[bytes] = deque()
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        """Move whole lines from the SUT's stdout to `answers`, a chunk's lines at a time
        (one hand-over per read, not per line: the SUT may answer thousands a second)."""
        fd = self.popen.stdout.fileno()  # type: ignore[union-attr]
        partial = b""
        try:
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                lines = [line for line in lines if line.strip()]  # blank lines answer nothing
                if lines:
                    self.answers.put(lines)
        except (OSError, ValueError):
            pass
        self.answers.put(_EOF)

    def next_line(self, timeout: float) -> bytes | object | None:
        """The next answer line, _EOF when stdout closed, None after `timeout` seconds."""
        if not self.ready:
            try:
                item = self.answers.get(timeout=timeout)
            except queue.Empty:
                return None
            if item is _EOF:
                return _EOF
            self.ready.extend(item)
        return self.ready.popleft()

    def _write(self) -> None:
        stdin = self.popen.stdin
        while True:
            data = self.outbox.get()
            if data is None:
                break
            try:
                stdin.write(data)  # type: ignore[union-attr]
                if self.outbox.empty():  # a batch is written: let the SUT see it
                    stdin.flush()  # type: ignore[union-attr]
            except (OSError, ValueError):
                break

    def send(self, case: dict[str, Any], line: bytes | None = None) -> None:
        self.outbox.put(line if line is not None else encode_case(case))

    def exit_reason(self) -> str:
        try:
            status = self.popen.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return "the SUT closed its stdout"
        return f"the SUT exited with status {status}"

    def _close_stderr(self) -> None:
        if self.stderr is not subprocess.DEVNULL:
            self.stderr.close()

    def stop(self) -> None:
        self.outbox.put(None)
        if self.popen.poll() is None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()  # type: ignore[union-attr]
            try:
                self.popen.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._close_stderr()


class CommandAdapter(Adapter):
    """``cmd:COMMAND``: a long-lived JSON Lines subprocess, pipelined, restarted on failure."""

    takes_lines = True

    def __init__(self, command: str, timeout: float = DEFAULT_TIMEOUT,
                 stderr_path: Path | None = None, depth: int = PIPELINE_DEPTH) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise AdapterError("cmd: needs a command, e.g. cmd:python sut.py --serve-stdin")
        self.name = f"cmd:{command}"
        self.timeout = timeout
        self.stderr_path = stderr_path
        self.depth = depth
        self.process: _Process | None = None
        self.failures_in_a_row = 0

    def _start(self) -> _Process:
        if self.process is None:
            try:
                self.process = _Process(self.argv, self.stderr_path)
            except OSError as error:
                raise SutGaveUp(f"cannot start {self.argv[0]!r}: {error}") from None
        return self.process

    def _fail(self, reason: str) -> SutError:
        """The head case failed: stop the process (restarted for the next case)."""
        if self.process is not None:
            self.process.stop()
            self.process = None
        self.failures_in_a_row += 1
        return SutError(reason)

    def _restart(self, last: SutError) -> _Process:
        """A new process, unless the SUT failed too often in a row: then give up."""
        if self.failures_in_a_row > MAX_RESTARTS:
            raise SutGaveUp(f"the SUT failed {self.failures_in_a_row} times in a row "
                            f"without a good answer (last: {last.reason}); giving up")
        return self._start()

    def stream(self, items: Iterable[tuple[Any, ...]]
               ) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any] | SutError]]:
        pending: deque[tuple[Any, ...]] = deque()
        try:
            yield from self._answers(iter(items), pending)
        finally:
            if pending:  # left early with answers still owed: the next stream starts afresh
                self.close()

    def _answers(self, source: Iterator[tuple[Any, ...]], pending: deque[tuple[Any, ...]]
                 ) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any] | SutError]]:
        exhausted = False
        since = time.monotonic()  # the head case's clock starts at the last answer
        while True:
            process = self._start() if (pending or not exhausted) else None
            while not exhausted and len(pending) < self.depth:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                pending.append(item)
                process.send(*item[1:3])  # type: ignore[union-attr]
            if not pending:
                return
            key, case = pending[0][:2]
            line = process.next_line(  # type: ignore[union-attr]
                max(0.0, since + self.timeout - time.monotonic()))
            if line is None or line is _EOF:
                reason = (f"no answer within {self.timeout:g} s" if line is None
                          else process.exit_reason())  # type: ignore[union-attr]
                pending.popleft()
                failure = self._fail(reason)
                yield key, case, failure
                process = self._restart(failure)
                for waiting in pending:  # the new process gets the cases still owed
                    process.send(*waiting[1:3])
                since = time.monotonic()
                continue
            pending.popleft()
            since = time.monotonic()
            answer = read_verdict(line, case.get("case_id"))
            if not isinstance(answer, SutError):
                self.failures_in_a_row = 0
            yield key, case, answer

    def close(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


# ---------------------------------------------------------------------------- file:


class FileAdapter(Adapter):
    """``file:PATH``: verdicts computed offline (JSON Lines), matched by ``case_id``."""

    def __init__(self, path: str | Path) -> None:
        self.name = f"file:{path}"
        self.verdicts: dict[str, Any] = {}
        self.unreadable: list[str] = []
        try:
            handle = open(path, "rb")  # noqa: SIM115
        except OSError as error:
            raise AdapterError(f"file:{path}: {error.strerror}") from None
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except (ValueError, UnicodeDecodeError, RecursionError):  # nesting too deep
                    self.unreadable.append(f"{path}:{number}: not a JSON verdict")
                    continue
                case_id = value.get("case_id") if isinstance(value, dict) else None
                if isinstance(case_id, str):
                    self.verdicts.setdefault(case_id, value)

    def stream(self, items: Iterable[tuple[Any, dict[str, Any]]]
               ) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any] | SutError]]:
        for key, case in items:
            verdict = self.verdicts.get(case.get("case_id"))
            yield key, case, verdict if verdict is not None else SutError("no verdict")


class StoredVerdicts(Adapter):
    """The verdicts stored beside a regression folder's cases, keyed by ``case_id``."""

    name = "stored verdicts"

    def __init__(self, verdicts: dict[str, Any]) -> None:
        self.verdicts = verdicts

    stream = FileAdapter.stream


from .http_adapter import HttpAdapter  # noqa: E402 (it builds on the classes above)


def open_adapter(text: str, timeout: float = DEFAULT_TIMEOUT,
                 stderr_path: Path | None = None, concurrency: int = HTTP_CONCURRENCY
                 ) -> Adapter:
    """The adapter named by ``SCHEME:REST`` (HARNESS.md section 1)."""
    scheme, _, rest = text.partition(":")
    if scheme == "cmd":
        return CommandAdapter(rest, timeout, stderr_path)
    if scheme in ("http", "https"):
        return HttpAdapter(text, timeout, concurrency)
    if scheme == "file":
        return FileAdapter(rest)
    raise AdapterError(f"--sut {text!r}: expected cmd:COMMAND, http://HOST:PORT/PATH, "
                       f"https://... or file:PATH")
