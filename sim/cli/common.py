"""What every command of the command line shares: exit codes, errors, scenarios.

Progress displays live in :mod:`sim.cli.progress`.
"""

from __future__ import annotations

import argparse
import sys
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["EXIT_FINDING", "EXIT_OK", "EXIT_USAGE", "UsageError", "find_scenario"]

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


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def find_scenario(name: str) -> Path | Traversable:
    """A scenario file: an existing path, else ``./scenarios/NAME.toml`` in the current
    directory, else the scenario NAME shipped inside the package (``planshift params``
    lists every key a scenario may set)."""
    from ..fleet.scenario import packaged_scenarios

    path = Path(name)
    local = Path("scenarios") / f"{name}.toml"
    try:
        if path.is_file():
            return path
        if path.exists():
            raise UsageError(f"{name}: not a scenario file (a directory or a special file)")
        if local.is_file():
            return local
    except OSError as error:  # e.g. a name longer than the file system allows
        raise UsageError(f"{_short(name)}: not a usable scenario path ({error.strerror})"
                         ) from None
    packaged = packaged_scenarios()
    if name in packaged:
        return packaged[name]
    if name.endswith(".toml") or "/" in name or "\\" in name:
        raise UsageError(f"{name}: no such scenario file")
    known = sorted(packaged)
    raise UsageError(f"no scenario {name!r} (a .toml file, or one of: {', '.join(known)})")
