"""Service-time distributions for duration parameters (issue 10, part 1).

A duration parameter (``capacity.switch``, an admin's response, ...) is a TOML table
naming its distribution; without ``dist`` it is today's lognormal::

    switch = { median = 10, sigma = 0.8, cap = 60 }                 # lognormal (default)
    switch = { dist = "exponential", mean = 10, cap = 0 }
    switch = { dist = "deterministic", value = 10 }
    switch = { dist = "gamma", shape = 2, scale = 5, cap = 60 }
    switch = { dist = "empirical", file = "switch-minutes.csv", cap = 0 }
    switch = { dist = "empirical", values = [4.0, 8.5, 15.0] }       # observed, inline

Durations are minutes; ``cap`` > 0 bounds a draw from above (0 = no bound). ``empirical``
reads one column of observed durations from a CSV (header row optional; a column named
``minutes`` is taken if there are several) relative to the scenario file, or takes them
inline as ``values``, and samples them with replacement. :func:`parse_distribution`
validates like every scenario key: the error names the key path. ``draw(rng)`` takes
the model's per-event stream (``random.Random`` or the fleet's ``TenantStream``: only
``random``, ``lognormvariate`` and ``expovariate`` are used); the lognormal draws
exactly as the model's ``draw`` does today (``lognormvariate(log(median), sigma)``, then
the cap), so wiring this in changes no existing run's records.

Every number is at most a year of minutes (``MINUTES_MAX``; sigma at most 5), so that no
duration can be absurd. :func:`distribution_to_dict` is the plain (TOML/JSON) form the
manifest keeps: a lognormal without ``dist`` (so existing manifests stay byte-identical),
an empirical distribution as inline ``values`` (a task stays self-contained on remote
workers). The scenario (:mod:`sim.fleet.scenario`) types every duration parameter as
:class:`Duration`, the common base of the five distributions.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DISTRIBUTIONS", "MINUTES_MAX", "Deterministic", "Distribution",
           "DistributionError", "Duration", "Empirical", "Exponential", "Gamma", "Lognormal",
           "distribution_to_dict", "parse_distribution"]

MINUTES_MAX = 525_600.0  # a duration is at most a year of minutes


class DistributionError(ValueError):
    """An invalid distribution table: the message starts with the key path."""


def _capped(value: float, cap: float) -> float:
    return min(value, cap) if cap > 0 else value


SIGMA_MAX = 5.0
CAP_DOC = "upper bound; 0 = none"


def _bounded(default: float, doc: str, hi: float = MINUTES_MAX) -> Any:
    """A distribution parameter with its range (as scenario parameters state theirs)."""
    return field(default=default, metadata={"lo": 0.0, "hi": hi, "source": "model",
                                            "doc": doc})


class Duration:
    """A duration parameter's distribution: one of the five classes below."""

    __slots__ = ()

    def __str__(self) -> str:
        """The TOML inline table, e.g. ``{dist = "exponential", mean = 10.0, cap = 0.0}``."""
        items = []
        for key, value in distribution_to_dict(self).items():  # type: ignore[arg-type]
            text = f'"{value}"' if isinstance(value, str) else (
                "[" + ", ".join(map(repr, value)) + "]" if isinstance(value, list)
                else repr(value))
            items.append(f"{key} = {text}")
        return "{" + ", ".join(items) + "}"


@dataclass(frozen=True, slots=True)
class Lognormal(Duration):
    median: float = _bounded(10.0, "median; 0 = always zero")
    sigma: float = _bounded(0.8, "shape (sd of the log)", SIGMA_MAX)
    cap: float = _bounded(0.0, CAP_DOC)

    def draw(self, rng: random.Random) -> float:
        value = rng.lognormvariate(math.log(self.median), self.sigma) if self.median > 0 \
            else 0.0
        return _capped(value, self.cap)

    def mean(self) -> float:
        """The uncapped mean, median * exp(sigma^2 / 2)."""
        return self.median * math.exp(self.sigma ** 2 / 2.0)


@dataclass(frozen=True, slots=True)
class Exponential(Duration):
    mean_minutes: float = _bounded(10.0, "mean (> 0)")
    cap: float = _bounded(0.0, CAP_DOC)

    def draw(self, rng: random.Random) -> float:
        if self.mean_minutes <= 0:
            return 0.0
        return _capped(rng.expovariate(1.0 / self.mean_minutes), self.cap)

    def mean(self) -> float:
        return self.mean_minutes


@dataclass(frozen=True, slots=True)
class Deterministic(Duration):
    value: float = _bounded(10.0, "every draw")

    def draw(self, rng: random.Random) -> float:
        return self.value

    def mean(self) -> float:
        return self.value


def _standard_normal(rng: random.Random) -> float:
    """Box-Muller from two uniforms (only ``rng.random()``: works on the model's streams)."""
    u, v = 1.0 - rng.random(), rng.random()
    return math.sqrt(-2.0 * math.log(u)) * math.cos(2.0 * math.pi * v)


def _gamma(rng: random.Random, shape: float) -> float:
    """Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 by the U^(1/shape) boost."""
    if shape < 1.0:
        return _gamma(rng, shape + 1.0) * (1.0 - rng.random()) ** (1.0 / shape)
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = _standard_normal(rng)
        v = (1.0 + c * x) ** 3
        if v <= 0.0:
            continue
        u = 1.0 - rng.random()
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v


@dataclass(frozen=True, slots=True)
class Gamma(Duration):
    shape: float = _bounded(2.0, "shape k (> 0)")
    scale: float = _bounded(5.0, "scale theta (> 0); mean k * theta")
    cap: float = _bounded(0.0, CAP_DOC)

    def draw(self, rng: random.Random) -> float:
        return _capped(_gamma(rng, self.shape) * self.scale, self.cap)

    def mean(self) -> float:
        return self.shape * self.scale


@dataclass(frozen=True, slots=True)
class Empirical(Duration):
    file: str = field(compare=False, metadata={  # "" when the values were given inline
        "lo": 0, "hi": 4096, "source": "model", "doc": "CSV file of observed durations"})
    values: tuple[float, ...] = field(metadata={"lo": 0.0, "hi": MINUTES_MAX,
                                                "source": "model", "doc": "observed"})
    cap: float = _bounded(0.0, CAP_DOC)

    def draw(self, rng: random.Random) -> float:
        return _capped(self.values[int(rng.random() * len(self.values))], self.cap)

    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)


Distribution = Lognormal | Exponential | Deterministic | Gamma | Empirical

# dist name -> (class, {TOML key: (field, lower bound, bound is exclusive)}); every
# number is also at most MINUTES_MAX (sigma at most SIGMA_MAX).
DISTRIBUTIONS: dict[str, tuple[type, dict[str, tuple[str, float, bool]]]] = {
    "lognormal": (Lognormal, {"median": ("median", 0.0, False),
                              "sigma": ("sigma", 0.0, False), "cap": ("cap", 0.0, False)}),
    "exponential": (Exponential, {"mean": ("mean_minutes", 0.0, True),
                                  "cap": ("cap", 0.0, False)}),
    "deterministic": (Deterministic, {"value": ("value", 0.0, False)}),
    "gamma": (Gamma, {"shape": ("shape", 0.0, True), "scale": ("scale", 0.0, True),
                      "cap": ("cap", 0.0, False)}),
    "empirical": (Empirical, {"file": ("file", 0.0, False), "values": ("values", 0.0, False),
                              "cap": ("cap", 0.0, False)}),
}
NAMES = {cls: name for name, (cls, _) in DISTRIBUTIONS.items()}
REQUIRED = {"exponential": ("mean",), "deterministic": ("value",),
            "gamma": ("shape", "scale")}


def _fail(path: str, message: str) -> DistributionError:
    return DistributionError(f"{path}: {message}")


def _number(value: Any, path: str, lower: float, exclusive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(path, "must be a finite number")
    if value < lower or (exclusive and value == lower):
        raise _fail(path, f"{value} must be {'>' if exclusive else '>='} {lower:g}")
    if value > MINUTES_MAX:
        raise _fail(path, f"{value} is above the maximum {MINUTES_MAX:g}")
    return float(value)


def _read_values(file: Any, path: str, base_dir: Path | None) -> tuple[float, ...]:
    if not isinstance(file, str) or not file:
        raise _fail(path, f"expected a CSV file name, got {file!r}")
    csv_path = Path(file) if base_dir is None or Path(file).is_absolute() else base_dir / file
    try:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except OSError as error:
        raise _fail(path, f"cannot read {csv_path}: {error.strerror}") from None
    column, first_line = 0, 1
    if rows and not _is_number(rows[0][0]):
        header = [cell.strip() for cell in rows.pop(0)]
        column = header.index("minutes") if "minutes" in header else 0
        first_line = 2
    values = []
    for line, row in enumerate(rows, start=first_line):
        cell = row[column].strip() if column < len(row) else ""
        if (not _is_number(cell) or not math.isfinite(float(cell)) or float(cell) < 0
                or float(cell) > MINUTES_MAX):
            raise _fail(path, f"{csv_path} line {line}: {cell!r} is not a duration in "
                              f"0 .. {MINUTES_MAX:g}")
        values.append(float(cell))
    if not values:
        raise _fail(path, f"{csv_path}: no observed durations")
    return tuple(values)


def _inline_values(raw: Any, path: str) -> tuple[float, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        raise _fail(path, "expected a non-empty list of durations")
    return tuple(_number(value, f"{path}[{index}]", 0.0, False)
                 for index, value in enumerate(raw))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_distribution(raw: Any, path: str, base_dir: Path | None = None) -> Distribution:
    """The distribution of TOML table `raw` at key path `path` (files relative to base_dir)."""
    if not isinstance(raw, Mapping):
        raise _fail(path, f"expected a table such as {{ dist = \"gamma\", shape = 2, "
                          f"scale = 5 }}, got {type(raw).__name__}")
    name = raw.get("dist", "lognormal")
    if name not in DISTRIBUTIONS:
        raise _fail(f"{path}.dist", f"unknown distribution {name!r} (one of "
                                    f"{', '.join(DISTRIBUTIONS)})")
    cls, keys = DISTRIBUTIONS[name]
    for key in raw:
        if key != "dist" and key not in keys:
            raise _fail(f"{path}.{key}", f"unknown key for a {name} distribution (allowed: "
                                         f"dist, {', '.join(keys)})")
    for key in REQUIRED.get(name, ()):
        if key not in raw:
            raise _fail(f"{path}.{key}", f"required for a {name} distribution")
    if name == "empirical" and ("file" in raw) == ("values" in raw):
        raise _fail(path, "an empirical distribution needs either file or values")
    values: dict[str, Any] = {}
    for key, (attribute, lower, exclusive) in keys.items():
        if key not in raw:
            continue
        if key == "file":
            values["file"] = raw[key]
            values["values"] = _read_values(raw[key], f"{path}.file", base_dir)
        elif key == "values":
            values["file"] = ""
            values["values"] = _inline_values(raw[key], f"{path}.values")
        else:
            values[attribute] = _number(raw[key], f"{path}.{key}", lower, exclusive)
    if name == "lognormal" and values.get("sigma", 0.0) > SIGMA_MAX:
        raise _fail(f"{path}.sigma", f"{values['sigma']} is above the maximum {SIGMA_MAX:g}")
    return cls(**values)


def distribution_to_dict(spec: Distribution) -> dict[str, Any]:
    """The plain form of `spec`: lognormal without ``dist``, empirical as inline values."""
    name = NAMES[type(spec)]
    out: dict[str, Any] = {} if name == "lognormal" else {"dist": name}
    for key, (attribute, _, _) in DISTRIBUTIONS[name][1].items():
        if key == "file":
            continue
        value = getattr(spec, attribute)
        out[key] = list(value) if key == "values" else value
    return out
