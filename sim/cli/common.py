"""What every command of the command line shares: exit codes, errors, progress, scenarios."""

from __future__ import annotations

import argparse
import sys
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["EXIT_FINDING", "EXIT_OK", "EXIT_USAGE", "Progress", "UsageError", "find_scenario"]

EXIT_OK, EXIT_FINDING, EXIT_USAGE = 0, 1, 2
# The source checkout (meaningless in an installed package: nothing is read or written here).
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_SCENARIO = "baseline"


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 with usage on stderr
        self.print_usage(sys.stderr)
        raise UsageError(message)


def find_scenario(name: str) -> Path | Traversable:
    """A scenario file: an existing path, else ``./scenarios/NAME.toml`` in the current
    directory, else the scenario NAME shipped inside the package (``planshift params``
    lists every key a scenario may set)."""
    from ..fleet.scenario import packaged_scenarios

    path = Path(name)
    if path.is_file():
        return path
    if path.exists():
        raise UsageError(f"{name}: not a scenario file (a directory or a special file)")
    local = Path("scenarios") / f"{name}.toml"
    if local.is_file():
        return local
    packaged = packaged_scenarios()
    if name in packaged:
        return packaged[name]
    if name.endswith(".toml") or "/" in name or "\\" in name:
        raise UsageError(f"{name}: no such scenario file")
    known = sorted(packaged)
    raise UsageError(f"no scenario {name!r} (a .toml file, or one of: {', '.join(known)})")


class Progress:
    """A progress bar on stderr, shown only once a run has lasted a moment."""

    def __init__(self, enabled: bool, label: str, delay: float = 1.5) -> None:
        import time

        self.enabled = enabled
        self.label = label
        self.delay = delay
        self.started = time.perf_counter()
        self.shown = False
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, fraction: float) -> None:
        import time

        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        if elapsed < self.delay and fraction < 1.0:
            return
        if not self.shown and fraction >= 1.0:
            return  # finished before it was worth showing
        self.shown = True
        if self.tty:
            filled = int(fraction * 30)
            eta = elapsed / fraction - elapsed if fraction > 0 else 0.0
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                             f"{fraction:4.0%} {elapsed:5.1f}s eta {eta:4.0f}s")
            if fraction >= 1.0:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif int(fraction * 10) > self.last_decile:
            self.last_decile = int(fraction * 10)
            print(f"{self.label}: {fraction:.0%} ({elapsed:.1f}s)", file=sys.stderr)


