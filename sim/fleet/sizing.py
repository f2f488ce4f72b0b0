"""How much memory a run will need, estimated before anything is allocated (issue 7, part 4).

The population is drawn in chunks and only its requesting tenants are kept (about 25
bytes each), and the model keeps a few live objects per open request (about 6 KB each,
most of them requests waiting for a change worker), so the simulation's peak grows with
the fleet's backlog; at up to a million tenants the peak of a whole run is set by its
report step. The model below was fitted to the peak resident set size
(``/usr/bin/time -v``) of ``planshift run baseline --set run.currency=USD`` including its
report step, on CPython 3.11 / Linux x86-64 (issue 11):

    tenants           10,000    100,000    300,000    1,000,000
    peak RSS         224 MiB    371 MiB    603 MiB    1,274 MiB
    estimate         283 MiB    386 MiB    615 MiB    1,416 MiB

The points lie on no straight line (the report's fixed costs weigh most at 10,000); the
constants below lie above every measured point (2-27% high) so the estimate errs on the
safe side. The simulation alone (``bench/bench_fleet.py``, records written, no report)
peaked at 605 MiB for 1,000,000 tenants; at 10,000,000 tenants at 1,237 MiB with
``capacity.workers=100`` and at 10,114 MiB with the baseline's 4 workers (saturated: the
queue grows all year), below the 11.4 GiB estimated here. At the default limit on a
24 GiB machine the largest fleet accepted is about 15 million tenants; 50,000,000
tenants (about 56 GiB) is refused at once.

A fleet whose estimate is above the limit is refused before it starts (exit 2, with the
estimate); ``--max-memory`` raises the limit. The default limit is 75% of the machine's
physical memory (8 GiB when that cannot be read).
"""

from __future__ import annotations

import os
import re

__all__ = ["BASE_BYTES", "BYTES_PER_TENANT", "MemoryLimitError", "check_memory",
           "default_limit", "estimate_peak_bytes", "format_size", "parse_size"]

GIB = 1 << 30
# Fitted figures (see the module docstring), rounded up so the estimate errs on the high side.
BASE_BYTES = 272 << 20  # interpreter, numpy/pyarrow/pandas, plots of the report
BYTES_PER_TENANT = 1_200
FALLBACK_LIMIT = 8 * GIB
DEFAULT_FRACTION = 0.75
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


class MemoryLimitError(ValueError):
    """A run's estimated peak memory is above the allowed limit."""


def estimate_peak_bytes(tenants: int) -> int:
    """The estimated peak resident memory, in bytes, of a run of `tenants` tenants."""
    return BASE_BYTES + BYTES_PER_TENANT * max(int(tenants), 0)


def default_limit() -> int:
    """75% of physical memory, or 8 GiB where the machine does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return FALLBACK_LIMIT
    return int(total * DEFAULT_FRACTION) if total > 0 else FALLBACK_LIMIT


def parse_size(text: str) -> int:
    """``16G``, ``512M``, ``2.5GiB``, ``1073741824`` -> bytes (binary units)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 16G, 512M, 2.5GiB)")
    number, unit = match.groups()
    size = int(float(number) * _UNITS[unit.upper()])
    if size <= 0:
        raise ValueError(f"not a size: {text!r} (must be > 0)")
    return size


def format_size(size: int) -> str:
    """Bytes as a short human figure in binary units: ``1.5 GiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def check_memory(tenants: int, limit: int | None = None) -> int:
    """The estimate for `tenants`; raises MemoryLimitError when it is above `limit`
    (default: :func:`default_limit`)."""
    estimate = estimate_peak_bytes(tenants)
    allowed = default_limit() if limit is None else limit
    if estimate > allowed:
        raise MemoryLimitError(
            f"a run of {tenants:,} tenants needs about {format_size(estimate)} of memory "
            f"(estimate: {format_size(BASE_BYTES)} + {BYTES_PER_TENANT:,} bytes per tenant), "
            f"above the limit of {format_size(allowed)}; raise it with --max-memory SIZE "
            "(e.g. --max-memory 64G) or run fewer tenants")
    return estimate
