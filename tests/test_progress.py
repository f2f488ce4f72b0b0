"""Progress of long commands on stderr (issue 12, point 5).

Silent with ``-q``; silent off a terminal unless ``--progress``, which prints plain lines
(no control codes) naming every phase: population, simulation, records, report; on a
terminal a display appears only after a delay. Time left is estimated from a moving
window, with none shown before 5% or 1 s. Progress never changes a run's files.
Expected values are worked out by hand in each test (clock values are chosen so).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.cli.progress import DELAY, Display, Eta, progress_display
from sim.fleet.progress import NO_PHASES, FractionPhases, as_phases, track

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b|\r")
RUN_PHASES = ("population", "simulation", "records", "report: load", "report: summarise",
              "report: tables", "report: plots", "report: documents")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# ----------------------------------------------------------------------- time left


def test_time_left_after_a_tenth_in_one_second_is_nine_seconds():
    eta = Eta(now=0.0)
    eta.add(1.0, 0.10)
    assert eta.seconds_left(1.0) == pytest.approx(9.0)  # 0.9 left at 0.1 per second


def test_no_time_left_shown_before_five_percent_or_one_second():
    """The old display's first value was elapsed/fraction - elapsed at the first call: a
    wild number from a few milliseconds. Here there is none until 5% or 1 s."""
    eta = Eta(now=0.0)
    eta.add(0.02, 0.001)  # naive estimate: 0.02 / 0.001 - 0.02 = 19.98 s
    assert eta.seconds_left(0.02) is None
    eta.add(0.3, 0.05)  # 5% reached: 0.95 left at 0.05 / 0.3 per second = 5.7 s
    assert eta.seconds_left(0.3) == pytest.approx(5.7)


def test_time_left_shown_after_one_second_even_below_five_percent():
    eta = Eta(now=0.0)
    eta.add(1.0, 0.01)
    assert eta.seconds_left(0.9) is None  # checked before 1 s of phase time
    assert eta.seconds_left(1.0) == pytest.approx(99.0)  # 0.99 left at 0.01 per second


def test_time_left_settles_on_the_recent_rate():
    """A slow start (1% a second for 10 s) is forgotten once it leaves the 5 s window:
    then 10% a second, so at 70% the time left is 3 s (the whole-phase average would say
    16 / 0.7 - 16 = 6.9 s)."""
    eta = Eta(now=0.0, window=5.0)
    for second in range(1, 11):
        eta.add(float(second), second / 100)
    for second, fraction in ((11, 0.2), (12, 0.3), (13, 0.4), (14, 0.5), (15, 0.6), (16, 0.7)):
        eta.add(float(second), fraction)
    assert eta.seconds_left(16.0) == pytest.approx(3.0)


def test_time_left_is_zero_when_done():
    eta = Eta(now=0.0)
    eta.add(0.5, 1.0)
    assert eta.seconds_left(0.5) == 0.0


# ----------------------------------------------------------------------- displays


def test_plain_lines_name_each_phase_and_tenths_of_long_ones():
    clock, stream = Clock(), io.StringIO()
    with Display(stream, "lines", delay=0.0, label="run: ", clock=clock) as phases:
        with track(phases, "population"):
            clock.now += 0.25
        with track(phases, "simulation") as phase:
            for step in range(1, 11):
                clock.now += 0.5  # 5 s in all: tenths shown from 1 s of phase time on
                phase.update(step / 10)
    assert stream.getvalue().splitlines() == [
        "run: population done in 0.2 s",  # 0.25 s shown with one decimal (half to even)
        "run: simulation 20% (1.0 s, about 4.0 s left)",
        "run: simulation 30% (1.5 s, about 3.5 s left)",
        "run: simulation 40% (2.0 s, about 3.0 s left)",
        "run: simulation 50% (2.5 s, about 2.5 s left)",
        "run: simulation 60% (3.0 s, about 2.0 s left)",
        "run: simulation 70% (3.5 s, about 1.5 s left)",
        "run: simulation 80% (4.0 s, about 1.0 s left)",
        "run: simulation 90% (4.5 s, about 0.5 s left)",
        "run: simulation done in 5.0 s",
    ]


def test_terminal_display_waits_for_the_delay():
    clock, stream = Clock(), Terminal()
    with Display(stream, "live", delay=DELAY, clock=clock) as phases:
        with track(phases, "population"):
            clock.now += DELAY / 2
        assert stream.getvalue() == ""  # a quick phase draws nothing
        with track(phases, "simulation") as phase:
            for step in range(1, 5):
                clock.now += DELAY / 2
                phase.update(step / 4)
        assert "simulation" in stream.getvalue()
        assert "population" not in stream.getvalue()  # finished before the display


def test_quick_terminal_run_prints_nothing():
    clock, stream = Clock(), Terminal()
    with Display(stream, "live", delay=DELAY, clock=clock) as phases:
        for name in ("population", "simulation", "records"):
            with track(phases, name, 4) as phase:
                clock.now += 0.1
                phase.advance(4)
    assert stream.getvalue() == ""


def test_display_choice():
    assert isinstance(progress_display(False, False, stream=Terminal()), Display)
    assert progress_display(False, True, stream=Terminal()).mode == "live"
    assert progress_display(False, True, stream=io.StringIO()).mode == "lines"
    for quiet, forced, stream in ((True, True, Terminal()), (True, True, io.StringIO()),
                                  (False, False, io.StringIO())):
        with progress_display(quiet, forced, stream=stream) as phases:
            assert phases is NO_PHASES


def test_a_plain_callable_sees_the_simulation_only():
    seen: list[float] = []
    phases = as_phases(seen.append)
    assert isinstance(phases, FractionPhases)
    with track(phases, "population") as phase:
        phase.update(0.5)
    with track(phases, "simulation") as phase:
        phase.update(0.25)
        phase.update(1.0)
    assert seen == [0.25, 1.0]
    assert as_phases(None) is NO_PHASES


def test_rich_is_not_imported_unless_a_display_is_drawn():
    code = ("import sys, io\n"
            "import sim.cli, sim.cli.run, sim.cli.runs, sim.fleet.runner, sim.report\n"
            "from sim.cli.progress import progress_display\n"
            "with progress_display(False, True, stream=io.StringIO()) as p:\n"
            "    p.phase('x', 2).advance(2)\n"
            "print('rich' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


# ----------------------------------------------------------------------- commands


class _Capture:
    """Capture stdout/stderr inside a module-scoped fixture (capsys is per test)."""

    def __enter__(self):
        self._saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        return self

    def __exit__(self, *exc):
        self.out, self.err = sys.stdout.getvalue(), sys.stderr.getvalue()
        sys.stdout, sys.stderr = self._saved


def _run(*argv: str) -> tuple[int, str, str]:
    with _Capture() as capture:
        status = main(list(argv))
    return status, capture.out, capture.err


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same tiny run three times: --progress, default (off a terminal), -q."""
    base = tmp_path_factory.mktemp("progress")
    results = {}
    for key, extra in (("progress", ["--progress"]), ("default", []),
                       ("quiet", ["-q", "--progress"])):
        out = base / key
        results[key] = (*_run("run", "baseline", "--tenants", "200", "--out", str(out),
                              *extra), out)
    return results


def test_progress_lines_name_every_phase_without_control_codes(runs):
    status, stdout, stderr, _ = runs["progress"]
    assert status == 0
    assert not ANSI.search(stderr)
    lines = stderr.splitlines()
    for name in RUN_PHASES:
        assert any(line.startswith(f"baseline: {name} done in ") for line in lines), name
    assert all(line.startswith("baseline: ") for line in lines)
    assert "scenario baseline seed" in stdout  # the summary stays on stdout


def test_off_a_terminal_progress_is_silent_unless_asked(runs):
    status, stdout, stderr, _ = runs["default"]
    assert status == 0 and stderr == "" and "scenario baseline seed" in stdout


def test_quiet_prints_nothing_even_with_progress(runs):
    status, stdout, stderr, _ = runs["quiet"]
    assert status == 0 and stdout == "" and stderr == ""


def test_progress_changes_no_file(runs):
    """Records, summary and tables are byte-identical with and without progress."""
    directories = [runs[key][3] for key in ("progress", "default", "quiet")]
    names = sorted(str(p.relative_to(directories[0]))
                   for p in directories[0].rglob("*")
                   if p.is_file() and (p.parent.name in ("records", "tables")
                                       or p.name in ("summary.json", "manifest.json")))
    assert any(name.startswith("records/") for name in names)
    assert "summary.json" in names
    for name in names:
        first = (directories[0] / name).read_bytes()
        for other in directories[1:]:
            assert (other / name).read_bytes() == first, name


def test_report_command_progress(runs):
    directory = runs["default"][3]
    status, stdout, stderr = _run("report", str(directory), "--no-plots", "--progress")
    assert status == 0 and not ANSI.search(stderr)
    lines = stderr.splitlines()
    for name in ("report: load", "report: summarise", "report: tables", "report: documents"):
        assert any(line.startswith(f"{name} done in ") for line in lines), name
    status, stdout, stderr = _run("report", str(directory), "--no-plots")
    assert status == 0 and stderr == ""
    status, stdout, stderr = _run("report", str(directory), "--no-plots", "-q", "--progress")
    assert status == 0 and stdout == "" and stderr == ""


def test_a_phase_stopped_by_an_error_is_not_called_done():
    clock, stream = Clock(), io.StringIO()
    with pytest.raises(RuntimeError), Display(stream, "lines", delay=0.0,
                                              clock=clock) as phases:
        with track(phases, "population"):
            clock.now += 0.5
        phases.phase("records", 3).advance()  # left open, as an interrupted run leaves it
        with track(phases, "simulation"):
            raise RuntimeError("invariant violated")
    assert stream.getvalue() == "population done in 0.5 s\n"


def test_simulate_still_takes_a_plain_callable(tmp_path):
    """Backward compatibility (benches, older callers): ``progress(fraction)`` sees the
    simulation's fractions, rising to 1.0; the other phases are not passed to it."""
    from sim.fleet.runner import run_scenario
    from sim.fleet.scenario import load_scenario, packaged_scenarios

    scenario = load_scenario(packaged_scenarios()["baseline"], ["run.tenants=50"])
    seen: list[float] = []
    run_scenario(scenario, tmp_path / "run", progress=seen.append)
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == 1.0
