"""Random streams: one root seed, one independent stream per purpose (no global state).

Each purpose has a fixed spawn key, so adding a new purpose, or a new draw in one
purpose, never shifts the numbers another purpose sees. Vectorised work (population,
arrivals) uses numpy Generators; per-event draws in the simulation loop use
``random.Random`` seeded from the same SeedSequence, which is several times faster for
one scalar at a time.
"""

from __future__ import annotations

import random

import numpy as np

__all__ = ["STREAMS", "numpy_stream", "python_stream"]

# Stable spawn keys. Never renumber: append new purposes at the end.
STREAMS: dict[str, int] = {
    "population": 1,
    "arrivals": 2,
    "names": 3,
    "incidents": 4,
    "admin": 5,
    "durations": 6,
    "decisions": 7,
    "manual": 8,
    "credit_checks": 9,
    "requests": 10,
}


def _sequence(seed: int, purpose: str, *sub: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(STREAMS[purpose], *sub))


def numpy_stream(seed: int, purpose: str, *sub: int) -> np.random.Generator:
    """A numpy Generator for `purpose` (and optional sub-keys such as a chunk index)."""
    return np.random.Generator(np.random.PCG64(_sequence(seed, purpose, *sub)))


def python_stream(seed: int, purpose: str, *sub: int) -> random.Random:
    """A ``random.Random`` for scalar draws of `purpose`, seeded from the same tree."""
    state = _sequence(seed, purpose, *sub).generate_state(4, dtype=np.uint64)
    return random.Random(int.from_bytes(state.tobytes(), "little"))
