"""Service-time distributions (issue 10, part 1): parsing, validation and draws.

References are the standard library's own variates and the textbook moments
(exponential mean m; gamma mean k*theta, variance k*theta^2), never the module itself.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import namedtuple
from pathlib import Path

import pytest

from sim.fleet.distributions import (
    Deterministic,
    DistributionError,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    parse_distribution,
)
from sim.fleet.rows import ChangeRow, columns_of
from sim.fleet.runner import simulate
from sim.fleet.scenario import (
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    scenario_to_dict,
)

PATH = "capacity.switch"
_ChangeTuple = namedtuple("_ChangeTuple", [name for name, _ in columns_of(ChangeRow)])


def test_a_table_without_dist_is_todays_lognormal_and_draws_the_same_numbers():
    spec = parse_distribution({"median": 10, "sigma": 0.8, "cap": 60}, PATH)
    assert spec == Lognormal(10.0, 0.8, 60.0)
    ours, reference = random.Random(42), random.Random(42)
    for _ in range(1000):  # what the model's _draw does today, step by step
        expected = min(reference.lognormvariate(math.log(10.0), 0.8), 60.0)
        assert spec.draw(ours) == expected


def test_exponential_mean_and_cap():
    spec = parse_distribution({"dist": "exponential", "mean": 10}, PATH)
    assert spec == Exponential(10.0, 0.0)
    rng = random.Random(1)
    draws = [spec.draw(rng) for _ in range(20_000)]
    assert statistics.fmean(draws) == pytest.approx(10.0, abs=4 * 10 / math.sqrt(20_000))
    capped = parse_distribution({"dist": "exponential", "mean": 10, "cap": 15}, PATH)
    assert max(capped.draw(rng) for _ in range(5000)) == 15.0


def test_gamma_moments():
    spec = parse_distribution({"dist": "gamma", "shape": 2, "scale": 5, "cap": 0}, PATH)
    assert spec == Gamma(2.0, 5.0, 0.0)
    rng = random.Random(7)
    draws = [spec.draw(rng) for _ in range(40_000)]
    assert statistics.fmean(draws) == pytest.approx(10.0, rel=0.02)
    assert statistics.variance(draws) == pytest.approx(50.0, rel=0.05)


@pytest.mark.parametrize("shape", [0.5, 3.0])
def test_gamma_distribution_matches_scipy(shape):
    from scipy import stats as scipy_stats

    rng = random.Random(11)
    draws = [Gamma(shape, 2.0).draw(rng) for _ in range(20_000)]
    assert scipy_stats.kstest(draws, scipy_stats.gamma(shape, scale=2.0).cdf).pvalue > 0.01


class UniformsOnly:
    """A stream offering only what the fleet's TenantStream offers."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def random(self) -> float:
        return self._rng.random()

    def lognormvariate(self, mu: float, sigma: float) -> float:
        return self._rng.lognormvariate(mu, sigma)

    def expovariate(self, rate: float) -> float:
        return self._rng.expovariate(rate)


def test_every_distribution_draws_from_a_tenant_stream(tmp_path):
    stream = UniformsOnly(5)
    for raw in ({"median": 10}, {"dist": "exponential", "mean": 3},
                {"dist": "gamma", "shape": 0.7, "scale": 2}, {"dist": "deterministic",
                                                               "value": 1},
                {"dist": "empirical", "values": [1, 2]}):
        assert parse_distribution(raw, PATH).draw(stream) >= 0.0


def test_deterministic():
    spec = parse_distribution({"dist": "deterministic", "value": 12.5}, PATH)
    assert spec == Deterministic(12.5)
    assert spec.draw(random.Random(0)) == 12.5 and spec.mean() == 12.5


def test_empirical_samples_observed_durations_with_replacement(tmp_path):
    (tmp_path / "observed.csv").write_text("ticket,minutes\nT1,4\nT2,8\nT3,15\n")
    spec = parse_distribution({"dist": "empirical", "file": "observed.csv"}, PATH, tmp_path)
    assert isinstance(spec, Empirical) and spec.values == (4.0, 8.0, 15.0)
    rng = random.Random(3)
    draws = [spec.draw(rng) for _ in range(3000)]
    assert set(draws) == {4.0, 8.0, 15.0}
    for value in (4.0, 8.0, 15.0):  # each about a third of the time
        assert draws.count(value) == pytest.approx(1000, abs=120)
    (tmp_path / "bare.csv").write_text("3.5\n7\n")
    bare = parse_distribution({"dist": "empirical", "file": "bare.csv", "cap": 5}, PATH,
                              tmp_path)
    assert bare.values == (3.5, 7.0) and bare.mean() == 5.25
    inline = parse_distribution({"dist": "empirical", "values": [3.5, 7]}, PATH)
    assert inline.values == (3.5, 7.0) and inline.file == ""


@pytest.mark.parametrize(("raw", "where", "why"), [
    ({"dist": "weibull"}, "capacity.switch.dist", "unknown distribution"),
    ({"dist": "gamma", "shape": 2}, "capacity.switch.scale", "required"),
    ({"dist": "gamma", "shape": 0, "scale": 5}, "capacity.switch.shape", "> 0"),
    ({"dist": "exponential", "mean": -1}, "capacity.switch.mean", "> 0"),
    ({"dist": "exponential", "mean": 10, "median": 3}, "capacity.switch.median",
     "unknown key"),
    ({"median": 10, "sigma": 9}, "capacity.switch.sigma", "maximum"),
    ({"median": "ten"}, "capacity.switch.median", "expected a number"),
    ({"dist": "deterministic", "value": float("nan")}, "capacity.switch.value", "finite"),
    ({"dist": "empirical", "file": "missing.csv"}, "capacity.switch.file", "cannot read"),
    ({"dist": "empirical"}, "capacity.switch", "either file or values"),
    ({"dist": "empirical", "values": [1, -2]}, "capacity.switch.values[1]", ">= 0"),
    (12, "capacity.switch", "expected a table"),
])
def test_validation_errors_name_the_key_path(raw, where, why, tmp_path):
    with pytest.raises(DistributionError) as caught:
        parse_distribution(raw, PATH, tmp_path)
    assert str(caught.value).startswith(f"{where}:")
    assert why in str(caught.value)


def test_empirical_bad_row_names_file_and_line(tmp_path):
    (tmp_path / "bad.csv").write_text("minutes\n4\n-2\n")
    with pytest.raises(DistributionError, match=r"bad\.csv line 3: '-2'"):
        parse_distribution({"dist": "empirical", "file": "bad.csv"}, PATH, tmp_path)
    (tmp_path / "empty.csv").write_text("minutes\n")
    with pytest.raises(DistributionError, match="no observed durations"):
        parse_distribution({"dist": "empirical", "file": "empty.csv"}, PATH, tmp_path)


# ------------------------------------------------- wired into the scenario and the model

BASELINE = Path(__file__).resolve().parent.parent / "sim" / "fleet" / "scenarios" / \
    "baseline.toml"


def _scenario_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text('[run]\ntenants = 300\nseed = 4\nhorizon_days = 60\n' + body)
    return path


def test_every_duration_parameter_takes_a_distribution(tmp_path):
    (tmp_path / "switch.csv").write_text("minutes\n4\n8\n15\n")
    path = _scenario_file(tmp_path, '''
[capacity]
switch = { dist = "empirical", file = "switch.csv" }
mosa_finalisation = { dist = "deterministic", value = 2.0 }
[admin]
response = { dist = "exponential", mean = 20.0, cap = 90.0 }
[admin.blockers.OTHER]
delay = { dist = "gamma", shape = 2, scale = 30 }
[incidents.teams]
duration = { median = 50.0 }
''')
    scenario = load_scenario(path)  # the CSV is read next to the scenario file
    assert scenario.capacity.switch == Empirical("switch.csv", (4.0, 8.0, 15.0))
    assert scenario.capacity.mosa_finalisation == Deterministic(2.0)
    assert scenario.admin.response == Exponential(20.0, 90.0)
    assert scenario.admin.blockers["OTHER"].delay == Gamma(2.0, 30.0, 0.0)
    # A lognormal table without dist keeps the keys it does not name (sigma 0.8 default).
    assert scenario.incidents["teams"].duration == Lognormal(50.0, 0.8, 0.0)


def test_manifest_form_keeps_lognormal_bare_and_empirical_inline(tmp_path):
    (tmp_path / "switch.csv").write_text("4\n8\n")
    path = _scenario_file(tmp_path, '[capacity]\nswitch = { dist = "empirical", '
                                    'file = "switch.csv", cap = 6 }\n')
    scenario = load_scenario(path)
    plain = scenario_to_dict(scenario)
    assert plain["capacity"]["switch"] == {"dist": "empirical", "values": [4.0, 8.0],
                                           "cap": 6.0}
    assert plain["capacity"]["mosa_finalisation"] == {"median": 3.0, "sigma": 0.5,
                                                      "cap": 30.0}  # as before issue 10
    again = scenario_from_dict(json.loads(json.dumps(plain)))  # e.g. on a remote worker
    assert again == scenario


@pytest.mark.parametrize(("body", "message"), [
    ('[capacity]\nswitch = { dist = "weibull" }',
     "capacity.switch.dist: unknown distribution 'weibull'"),
    ('[capacity]\nswitch = { dist = "exponential", median = 3 }',
     "capacity.switch.median: unknown key for a exponential distribution"),
    ('[admin]\nresponse = { dist = "gamma", shape = 2 }',
     "admin.response.scale: required for a gamma distribution"),
    ('[capacity]\nswitch = { dist = "empirical", file = "missing.csv" }',
     "capacity.switch.file: cannot read"),
    ('[capacity]\nswitch = { dist = "deterministic", value = 600000 }',
     "capacity.switch.value: 600000 is above the maximum 525600"),
    ('[population.blockers]\nprovisioning_minutes = { dist = "exponential", mean = 60 }',
     "population.blockers.provisioning_minutes.dist: only lognormal here"),
])
def test_bad_distributions_name_the_file_and_key(tmp_path, body, message):
    path = _scenario_file(tmp_path, body)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert str(error.value).startswith(f"{path}: {message}"), str(error.value)


def test_a_run_draws_switch_durations_from_the_named_distribution(tmp_path):
    """A deterministic switch gives every queued change exactly that switch time, and an
    empirical one only its observed values (drawn from the tenant's durations stream)."""
    for raw, allowed in (('{ dist = "deterministic", value = 7.5 }', {7.5}),
                         ('{ dist = "empirical", values = [3.0, 11.0] }', {3.0, 11.0})):
        scenario = load_scenario(BASELINE, ["run.tenants=300", f"capacity.switch={raw}"])
        model = simulate(scenario, recorder=_Rows())
        switches = {row.switch_min for row in model.recorder.changes
                    if row.switch_min is not None}
        assert switches and switches <= allowed, (raw, switches)


class _Rows:
    """A recorder keeping the change rows (the model hands each as a tuple)."""

    trace_enabled = False

    def __init__(self) -> None:
        self.changes: list = []

    def add(self, table: str, row: tuple) -> None:
        if table == "changes":
            self.changes.append(_ChangeTuple(*row))

    def close(self) -> dict:
        return {}
