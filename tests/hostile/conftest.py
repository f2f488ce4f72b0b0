"""Shared helpers for the hostile-input suite (issue 7).

Every hostile test calls :func:`run_cli` (the real ``main`` in-process, so an uncaught
exception fails the test loudly) or :func:`run_subprocess` (the installed entry point, for
what only a real process shows: signals, FIFOs, concurrent runs) and then asserts the exit
status, that no traceback reached stderr, and that the message names the culprit.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    status: int
    out: str
    err: str

    def assert_clean(self, status: int, *needles: str) -> Result:
        """Exit `status`, no traceback, and stderr (or stdout) names every needle."""
        assert "Traceback" not in self.err, self.err
        assert "Traceback" not in self.out, self.out
        assert self.status == status, (self.status, self.out[-2000:], self.err[-2000:])
        for needle in needles:
            assert needle in self.err or needle in self.out, (needle, self.err[-2000:])
        return self


def run_cli(*args: str, stdin: str | bytes | None = None, cwd: Path | None = None) -> Result:
    """``planshift ARGS`` in this process, stdout/stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin, old_cwd = sys.stdin, Path.cwd()
    if stdin is not None:
        raw = stdin.encode() if isinstance(stdin, str) else stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="strict")
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(args))
    finally:
        sys.stdin = old_stdin
        os.chdir(old_cwd)
    return Result(status, out.getvalue(), err.getvalue())


def run_subprocess(*args: str, stdin: bytes | None = None, cwd: Path | None = None,
                   timeout: float = 120) -> Result:
    """``python run_sim.py ARGS`` as a real process."""
    proc = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], input=stdin,
                          capture_output=True, cwd=cwd, timeout=timeout, check=False)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli():
    return run_cli
