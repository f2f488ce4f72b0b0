"""Progress of long commands on stderr: a rich display on a terminal, plain lines for logs.

Adapts the library's phases protocol (:mod:`sim.fleet.progress`) for the command line:

- quiet (``-q``): nothing at all;
- stderr not a terminal and no ``--progress``: nothing (logs and pipes stay clean);
- ``--progress`` off a terminal (CI logs): one line when each phase ends, and one per
  tenth of a phase that has run for DELAY seconds, without control codes;
- a terminal: a rich live display of the phases (bar, percent, elapsed, time left), shown
  only once the command has run for ``DELAY`` seconds, so quick runs print nothing
  (``--progress`` shows it at once).

Time left comes from :class:`Eta`: the rate over the last few seconds of the phase (a
moving window, so a slow start is forgotten), and nothing until the phase is 5% done or
has run 1 s. rich is imported only when a display is actually drawn, so commands that
never show one (``evaluate``, quiet runs, pipes) do not pay its import (~50 ms).

Harness ``check`` and batch ``sweep`` can use it the same way: ``with progress_display(
args.quiet, args.progress, label) as phases:`` and pass ``phases`` down.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TextIO

from ..fleet.progress import NO_PHASES, Phase, Phases

__all__ = ["DELAY", "Display", "Eta", "format_seconds", "progress_display"]

DELAY = 1.0  # seconds before a terminal display appears
WINDOW = 5.0  # seconds of recent progress the time left is estimated from
MIN_FRACTION, MIN_SECONDS = 0.05, 1.0  # no time left shown before either
REFRESH = 0.1  # seconds between redraws of the terminal display


class Eta:
    """Seconds left in a phase, from its rate over a moving window of recent samples."""

    def __init__(self, now: float, window: float = WINDOW) -> None:
        self.started = now
        self.window = window
        self.samples: deque[tuple[float, float]] = deque([(now, 0.0)])

    def add(self, now: float, fraction: float) -> None:
        self.samples.append((now, fraction))
        # keep one sample at or before the window's start, so the span covers the window
        while len(self.samples) > 2 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()

    def seconds_left(self, now: float) -> float | None:
        """None until the phase is MIN_FRACTION done or has run MIN_SECONDS."""
        last_time, last = self.samples[-1]
        if last >= 1.0:
            return 0.0
        if last < MIN_FRACTION and now - self.started < MIN_SECONDS:
            return None
        first_time, first = self.samples[0]
        if last_time <= first_time or last <= first:
            return None
        rate = (last - first) / (last_time - first_time)
        return (1.0 - last) / rate


def format_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class _Phase:
    """A phase as the display sees it: units done out of total, with its own clock."""

    def __init__(self, display: Display, name: str, total: float) -> None:
        self.display = display
        self.name = name
        self.total = total if total > 0 else 1.0
        self.done = 0.0
        self.started = display.clock()
        self.eta = Eta(self.started)
        self.closed = False
        self.task: Any = None  # the rich task id, once drawn
        self.decile = 0  # tenths already printed (lines mode)

    @property
    def fraction(self) -> float:
        return min(max(self.done / self.total, 0.0), 1.0)

    def advance(self, n: float = 1.0) -> None:
        self.done += n
        self._changed()

    def update(self, fraction: float) -> None:
        self.done = fraction * self.total
        self._changed()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.display.closed(self)

    def abort(self) -> None:
        """Stopped by an error: no longer drawn, and never called done."""
        self.closed = True

    def _changed(self) -> None:
        if not self.closed:
            self.eta.add(self.display.clock(), self.fraction)
            self.display.changed(self)


class Display:
    """Phases drawn on `stream`: ``mode`` "lines" (plain lines) or "live" (rich)."""

    def __init__(self, stream: TextIO, mode: str, delay: float = DELAY, label: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        if mode not in ("lines", "live"):
            raise ValueError(f"progress mode {mode!r}: lines or live")
        self.stream = stream
        self.mode = mode
        self.delay = delay
        self.label = label
        self.clock = clock
        self.started = clock()
        self.phases: list[_Phase] = []
        self.rich: Any = None  # the rich Progress, once shown (live mode)
        self.last_refresh = float("-inf")

    def phase(self, name: str, total: float = 1.0) -> Phase:
        phase = _Phase(self, name, total)
        self.phases.append(phase)
        self.changed(phase)
        return phase

    def _due(self) -> bool:
        return self.clock() - self.started >= self.delay

    def _time_left(self, phase: _Phase) -> str:
        left = phase.eta.seconds_left(self.clock())
        return "" if left is None else f"about {format_seconds(left)} left"

    def changed(self, phase: _Phase) -> None:
        if self.mode == "lines":
            decile = int(phase.fraction * 10 + 1e-9)
            running = self.clock() - phase.started
            if 0 < decile < 10 and decile > phase.decile and running >= DELAY and self._due():
                phase.decile = decile
                elapsed = format_seconds(running)
                left = self._time_left(phase)
                self._line(f"{phase.name} {decile * 10}% ({elapsed}"
                           f"{', ' + left if left else ''})")
        elif self.rich is not None or self._due():
            self._draw(phase, force=False)

    def closed(self, phase: _Phase) -> None:
        if self.mode == "lines":
            if self._due():
                self._line(f"{phase.name} done in {format_seconds(self.clock() - phase.started)}")
        elif self.rich is not None or self._due():
            self._draw(phase, force=True)

    def _line(self, text: str) -> None:
        self.stream.write(f"{self.label}{text}\n")
        self.stream.flush()

    def _draw(self, phase: _Phase, force: bool) -> None:
        if self.rich is None:
            self.rich = _start_rich(self.stream)
        progress = self.rich
        for each in self.phases:
            if each.task is None and (each is phase or not each.closed):
                each.task = progress.add_task(each.name, total=1.0, left="", elapsed="")
        if phase.task is not None:
            progress.update(phase.task, completed=1.0 if phase.closed else phase.fraction,
                            left="" if phase.closed else self._time_left(phase),
                            elapsed=format_seconds(self.clock() - phase.started))
        now = self.clock()
        if force or now - self.last_refresh >= REFRESH:
            self.last_refresh = now
            progress.refresh()

    def close(self, error: bool = False) -> None:
        """End the display: phases left open are closed, or aborted after an `error`."""
        for phase in self.phases:
            if error:
                phase.abort()
            else:
                phase.close()
        if self.rich is not None:
            self.rich.stop()
            self.rich = None

    def __enter__(self) -> Display:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        self.close(error=kind is not None)


def _start_rich(stream: TextIO) -> Any:
    """A started rich Progress on `stream`, refreshed by the caller only: no refresh
    thread, so the report's forked plot workers never inherit a lock held by one."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    progress = Progress(TextColumn("{task.description:<18}"), BarColumn(),
                        TaskProgressColumn(), TextColumn("{task.fields[elapsed]:>6}"),
                        TextColumn("{task.fields[left]}"),
                        console=Console(file=stream), auto_refresh=False, transient=True)
    progress.start()
    return progress


class _Quiet:
    def __enter__(self) -> Phases:
        return NO_PHASES

    def __exit__(self, *exc: object) -> None:
        pass


def progress_display(quiet: bool, forced: bool, label: str = "",
                     stream: TextIO | None = None) -> Display | _Quiet:
    """The progress display of a command, as a context manager yielding its Phases:
    nothing with `quiet`, nothing off a terminal unless `forced` (``--progress``: plain
    lines at once), on a terminal a rich display after DELAY (at once when forced)."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return _Quiet()
    terminal = bool(getattr(stream, "isatty", lambda: False)())
    if terminal:
        return Display(stream, "live", 0.0 if forced else DELAY, label)
    if forced:
        return Display(stream, "lines", 0.0, label)
    return _Quiet()
