"""How long work reports its progress, without knowing who shows it (issue 12, point 5).

A long job is a sequence of *phases* (population, simulation, records, report: load,
report: plots, ...). The code doing the work marks them through two small protocols and
never imports a display library; the command line adapts them to a terminal display
(:mod:`sim.cli.progress`, rich) or to plain lines for CI logs. The default,
:data:`NO_PHASES`, does nothing, so library callers and tests pay nothing.

Protocol, for any layer (fleet, report, harness ``check``, batch ``sweep``)::

    def work(items, progress: Phases = NO_PHASES) -> None:
        with track(progress, "my phase", total=len(items)) as phase:
            for item in items:
                ...
                phase.advance()          # one unit of `total` done
        # or, for work measured as a fraction: phase.update(0.25)

- ``phases.phase(name, total)`` starts a phase of `total` units (``total=1`` for a step
  that cannot be divided: it shows as running, then done) and returns a :class:`Phase`.
- ``phase.advance(n)`` adds `n` units; ``phase.update(fraction)`` sets the fraction done
  (0..1, for work measured in simulated time); ``phase.close()`` ends it (done or not).
- :func:`track` opens a phase and closes it on exit; on an error it calls the phase's
  optional ``abort()`` instead (a display then does not call the phase done), else
  ``close()``.
- Phases run one after another; a phase's name is its label (keep it short, lower case;
  prefix sub-phases with their group: ``"report: plots"``).
- Calls must be cheap and frequent calls harmless: displays throttle; call at most a few
  hundred times per phase (per chunk, per percent, per plot), not per event.
- Progress never changes results: output files are byte-identical with or without it.

Backward compatibility: where a plain callable ``progress(fraction)`` is accepted
(:func:`sim.fleet.runner.run_scenario`, :func:`sim.fleet.runner.simulate`),
:func:`as_phases` turns it into a :class:`Phases` that reports the ``simulation`` phase's
fraction to it and ignores the other phases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

__all__ = ["NO_PHASES", "FractionPhases", "NullPhase", "Phase", "Phases", "ProgressArg",
           "as_phases", "track"]

SIMULATION = "simulation"


@runtime_checkable
class Phase(Protocol):
    """One running phase of a job."""

    def advance(self, n: float = 1.0) -> None: ...

    def update(self, fraction: float) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Phases(Protocol):
    """Where a job reports its phases (a display, a log, or nothing)."""

    def phase(self, name: str, total: float = 1.0) -> Phase: ...


class NullPhase:
    """A phase nobody watches."""

    def advance(self, n: float = 1.0) -> None:
        pass

    def update(self, fraction: float) -> None:
        pass

    def close(self) -> None:
        pass


class _NoPhases:
    """The default sink: every phase is a :class:`NullPhase`."""

    def phase(self, name: str, total: float = 1.0) -> Phase:
        return NULL_PHASE


NULL_PHASE = NullPhase()
NO_PHASES: Phases = _NoPhases()


class _FractionPhase(NullPhase):
    def __init__(self, report: Callable[[float], None]) -> None:
        self.report = report

    def update(self, fraction: float) -> None:
        self.report(fraction)


class FractionPhases:
    """Adapts a legacy ``progress(fraction)`` callable: it sees the simulation phase only."""

    def __init__(self, report: Callable[[float], None]) -> None:
        self.report = report

    def phase(self, name: str, total: float = 1.0) -> Phase:
        return _FractionPhase(self.report) if name == SIMULATION else NULL_PHASE


ProgressArg = Phases | Callable[[float], None] | None


def as_phases(progress: ProgressArg) -> Phases:
    """A :class:`Phases` from what callers may pass: nothing, a sink, or a callable."""
    if progress is None:
        return NO_PHASES
    if isinstance(progress, Phases):
        return progress
    if callable(progress):
        return FractionPhases(progress)
    raise TypeError(f"progress: a Phases sink or a callable(fraction), not {progress!r}")


@contextmanager
def track(progress: ProgressArg, name: str, total: float = 1.0) -> Iterator[Phase]:
    """Open phase `name` of `total` units on `progress`; close it on exit (on an error:
    its ``abort()`` if it has one, else ``close()``)."""
    phase = as_phases(progress).phase(name, total)
    try:
        yield phase
    except BaseException:
        getattr(phase, "abort", phase.close)()
        raise
    phase.close()
