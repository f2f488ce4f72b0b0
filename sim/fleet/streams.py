"""Random streams: one root seed, one independent stream per purpose (no global state).

Each purpose has a fixed spawn key, so adding a new purpose, or a new draw in one
purpose, never shifts the numbers another purpose sees. Vectorised work (population,
arrivals) uses numpy Generators keyed by (seed, purpose, block of tenants).

Per-tenant draws in the simulation (common random numbers, issue 8 part 3) come from
:class:`TenantStream`, keyed by (seed, tenant index, purpose): a tenant's admin delays,
switch time or manual steps do not move when another tenant retries once more, when
capacity changes, or when the fleet grows. A numpy Generator per tenant costs about
25 us and a seeded ``random.Random`` about 12 us (measured); a SplitMix64 counter
stream costs well under 1 us to create, so it is what a million tenants use.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

__all__ = ["STREAMS", "TenantStream", "numpy_stream", "python_stream", "tenant_key",
           "tenant_keys", "tenant_stream", "tenant_uniforms"]

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
    "life": 11,
}

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
TWO_PI = 2.0 * math.pi
UNIT = 2.0 ** -53
INDEX_MULTIPLIER = 0xD1B54A32D192ED03
_Random = random.Random  # its Python-level distributions use only self.random()


def _sequence(seed: int, purpose: str, *sub: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(STREAMS[purpose], *sub))


def numpy_stream(seed: int, purpose: str, *sub: int) -> np.random.Generator:
    """A numpy Generator for `purpose` (and optional sub-keys such as a block index)."""
    return np.random.Generator(np.random.PCG64(_sequence(seed, purpose, *sub)))


def python_stream(seed: int, purpose: str, *sub: int) -> random.Random:
    """A ``random.Random`` for scalar draws of `purpose`, seeded from the same tree."""
    state = _sequence(seed, purpose, *sub).generate_state(4, dtype=np.uint64)
    return random.Random(int.from_bytes(state.tobytes(), "little"))


def _mix(value: int) -> int:
    """The SplitMix64 finaliser: a bijection of 64-bit integers with full avalanche."""
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK
    return value ^ (value >> 31)


class TenantStream:
    """A counter-based stream of one (seed, tenant, purpose): draw k is
    ``SplitMix64(key + k * golden)`` (k = 1, 2, ...), so it is cheap to create and can be
    computed ahead, vectorised, for a batch of tenants (:func:`tenant_uniforms`); draws
    beyond the precomputed ones continue the same sequence one at a time.

    The precomputed draws are read from ``ahead[at:end]``, a float array shared by the
    streams of a batch (8 bytes a draw, no float objects held per tenant: a large fleet
    may have hundreds of thousands of requests waiting for a worker).
    Offers the few ``random.Random`` methods the model uses.
    """

    __slots__ = ("ahead", "at", "drawn", "end", "key")

    def __init__(self, key: int, ahead: Sequence[float] | None = None, at: int = 0,
                 count: int | None = None) -> None:
        self.key = key
        self.ahead = ahead
        self.at = at
        count = (len(ahead) - at if ahead is not None else 0) if count is None else count
        self.end = at + count
        self.drawn = count  # draws taken once the precomputed ones are used

    def random(self) -> float:
        """A uniform float in [0, 1) with 53 random bits."""
        at = self.at
        if at < self.end:
            self.at = at + 1
            return self.ahead[at]  # type: ignore[index]
        self.drawn = drawn = self.drawn + 1
        return (_mix((self.key + drawn * GOLDEN) & MASK) >> 11) * UNIT

    def lognormvariate(self, mu: float, sigma: float) -> float:
        """exp(mu + sigma * Z), Z standard normal by Box-Muller (one value per pair)."""
        at = self.at
        if at + 2 <= self.end:
            self.at = at + 2
            ahead = self.ahead
            u, v = 1.0 - ahead[at], ahead[at + 1]  # type: ignore[index]
        else:
            u, v = 1.0 - self.random(), self.random()  # u in (0, 1]: a finite logarithm
        return math.exp(mu + sigma * math.sqrt(-2.0 * math.log(u)) * math.cos(TWO_PI * v))

    def expovariate(self, rate: float) -> float:
        return -math.log(1.0 - self.random()) / rate

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high], both included."""
        return low + int(self.random() * (high - low + 1))

    def randrange(self, stop: int) -> int:
        return int(self.random() * stop)

    # The other distributions of ``random.Random`` need only ``self.random()``.
    uniform = _Random.uniform
    normalvariate = _Random.normalvariate
    gammavariate = _Random.gammavariate
    weibullvariate = _Random.weibullvariate
    triangular = _Random.triangular


def _purpose_key(seed: int, purpose: str) -> int:
    return _mix((seed * GOLDEN + STREAMS[purpose]) & MASK)


def tenant_key(seed: int, index: int, purpose: str) -> int:
    """The 64-bit key of the stream of `purpose` for tenant `index` (root `seed`)."""
    return _mix(_purpose_key(seed, purpose) ^ ((index * INDEX_MULTIPLIER) & MASK))


def tenant_stream(seed: int, index: int, purpose: str) -> TenantStream:
    """The stream of `purpose` for tenant `index` of a run with root `seed`."""
    return TenantStream(tenant_key(seed, index, purpose))


def _mix_array(values: np.ndarray) -> np.ndarray:
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def tenant_keys(seed: int, indices: np.ndarray, purpose: str) -> np.ndarray:
    """:func:`tenant_key` for many tenants at once (uint64, wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        spread = indices.astype(np.uint64) * np.uint64(INDEX_MULTIPLIER)
        return _mix_array(np.uint64(_purpose_key(seed, purpose)) ^ spread)


def tenant_uniforms(keys: np.ndarray, count: int) -> np.ndarray:
    """The first `count` draws of each key's stream, as a (len(keys), count) array."""
    steps = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN)
    with np.errstate(over="ignore"):
        mixed = _mix_array(keys[:, None] + steps[None, :])
    return (mixed >> np.uint64(11)).astype(np.float64) * UNIT
