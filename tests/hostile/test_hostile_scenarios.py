"""Hostile scenario files and ``--set`` overrides (issue 7, parts 3 and 4).

Each input goes through the real command line (``planshift run ... --tenants 50``) and
must end in exit 2 with a one-line ``file: key.path: reason`` message, never a traceback,
and without writing a run. The expected key paths come from the scenario schema as the
user sees it (docs/parameters.md), not from the validator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BASELINE = "baseline.toml"  # the packaged default scenario's file name

# (id, --set overrides, key path named in the message)
HOSTILE_SETS = [
    ("meta-not-a-table", ["meta=5"], "meta"),
    ("run-not-a-table", ["run=[1, 2]"], "run"),
    ("empty-terms", ["population.terms={}"], "population.terms"),
    ("empty-sectors", ["population.sectors={}"], "population.sectors"),
    ("empty-directions", ["demand.directions={}"], "demand.directions"),
    ("zero-sum-countries", ["population.countries={US = 0.0, GB = 0.0}"],
     "population.countries"),
    ("negative-weight", ["population.payment_methods={card = -1.0, invoice = 2.0}"],
     "population.payment_methods.card"),
    ("zero-weekdays", ["demand.weekday_weights=[0, 0, 0, 0, 0, 0, 0]"],
     "demand.weekday_weights"),
    ("zero-hours", ["demand.hour_weights=" + str([0] * 24)], "demand.hour_weights"),
    ("huge-hour-weight", ["demand.hour_weights=" + str([1e308] * 24)],
     "demand.hour_weights[0]"),
    ("users-median-1e300", ["population.users_median=1e300"], "population.users_median"),
    ("month-end-factor-1e308", ["demand.month_end_factor=1e308"],
     "demand.month_end_factor"),
    ("campaign-factor-1e308",
     ['demand.campaigns=[{start = "2026-03-02", days = 3, factor = 1e308}]'],
     "demand.campaigns[0].factor"),
    ("too-many-campaigns",
     ["demand.campaigns=[" + ", ".join(['{start = "2026-03-02"}'] * 101) + "]"],
     "demand.campaigns"),
    ("backoff-1e308", ["admin.backoff_factor=1e308"], "admin.backoff_factor"),
    ("backoff-explodes", ["admin.backoff_factor=10.0", "admin.max_attempts=100"],
     "admin.backoff_factor"),
    ("duration-1e308", ["capacity.switch.median=1e308"], "capacity.switch.median"),
    ("cap-inf", ["capacity.switch.cap=inf"], "capacity.switch.cap"),
    ("median-nan", ["manual.buy.median=nan"], "manual.buy.median"),
    ("sla-negative-inf", ["capacity.sla_minutes=-inf"], "capacity.sla_minutes"),
    ("incident-rate-1e308", ["incidents.teams.rate_per_year=1e308"],
     "incidents.teams.rate_per_year"),
    ("start-year-1", ["run.start=0001-01-01"], "run.start"),
    ("start-year-9999", ["run.start=9999-12-31"], "run.start"),
    ("horizon-past-2999", ["run.start=2999-06-01", "run.horizon_days=365"],
     "run.horizon_days"),
    ("campaign-year-9999",
     ['demand.campaigns=[{start = "9999-01-01", days = 3, factor = 2.0}]'],
     "demand.campaigns[0].start"),
    ("start-datetime", ["run.start=2026-01-01T10:00:00"], "run.start"),
    ("refund-longer-than-window",
     ["billing.mca_full_refund_days=30", "billing.mca_window_days=7"],
     "billing.mca_full_refund_days"),
    ("negative-tenants-in-file-section", ["capacity.workers=-4"], "capacity.workers"),
    ("negative-card-days", ["billing.mca_card_days=-1"], "billing.mca_card_days"),
    ("giant-integer", ["run.seed=" + "9" * 5000], "run.seed"),
    ("giant-integer-as-number", ["population.mca_share=" + "9" * 400],
     "population.mca_share"),
    ("seed-negative", ["run.seed=-1"], "run.seed"),
    ("wrong-type-list", ["capacity.workers=[4]"], "capacity.workers"),
    ("wrong-type-bool", ["billing.invoice_day=true"], "billing.invoice_day"),
    ("unknown-key", ["capacity.wokers=4"], "capacity.wokers"),
    ("name-with-control-char", ['meta.name="a\\u0000b"'], "meta.name"),
    ("name-too-long", ["meta.name=" + "x" * 500], "meta.name"),
    ("cancel-limit-huge", ["billing.mosa_cancel_limit=10000000000"],
     "billing.mosa_cancel_limit"),
    ("deeply-nested-value", ["population.terms=" + "[" * 3000 + "]" * 3000],
     "population.terms"),
]


def _run(cli, tmp_path: Path, scenario: str, *overrides: str):
    args = ["run", scenario, "--tenants", "50", "--out", str(tmp_path / "out"), "-q"]
    for override in overrides:
        args += ["--set", override]
    return cli(*args, cwd=tmp_path)


@pytest.mark.parametrize(("overrides", "key"), [pytest.param(o, k, id=i)
                                                for i, o, k in HOSTILE_SETS])
def test_hostile_set_is_exit_2_naming_file_and_key(cli, tmp_path, overrides, key):
    """A hostile --set: exit 2, no traceback, 'FILE: KEY.PATH: reason' on one line, and
    no run written."""
    result = _run(cli, tmp_path, "baseline", *overrides).assert_clean(2, BASELINE)
    message = result.err.strip().splitlines()[-1]
    assert f"{BASELINE}: {key}" in message or f"{BASELINE}: --set" in message, message
    assert key.split("[")[0].split(".")[-1] in message, message
    assert not (tmp_path / "out").exists()


# (id, file content as bytes, key path named in the message or None for file-level)
HOSTILE_FILES = [
    ("latin-1", "[meta]\nquestion = \"caf\xe9\"\n".encode("latin-1"), None),
    ("utf-16", "[run]\ntenants = 5\n".encode("utf-16"), None),
    ("binary", bytes(range(256)), None),
    ("bad-toml", b"[run\ntenants = 5\n", None),
    ("meta-5", b"meta = 5\n", "meta"),
    ("run-string", b'run = "fast"\n', "run"),
    ("deep-arrays", b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", None),
    ("empty-terms", b"[population]\nterms = {}\n", "population.terms"),
    ("zero-add-ons", b"[population.add_ons]\nTEAMS_PHONE = 0.0\n", "population.add_ons"),
    ("nan-share", b"[demand]\nrequest_share = nan\n", "demand.request_share"),
    ("window-nesting", b"[billing]\nmca_window_days = 0\n", "billing.mca_full_refund_days"),
    ("campaign-too-long",
     b"[run]\nstart = 2999-01-01\nhorizon_days = 30\n"
     b"[[demand.campaigns]]\nstart = 2999-01-02\ndays = 3000\n", "demand.campaigns[0].days"),
]


@pytest.mark.parametrize(("content", "key"), [pytest.param(c, k, id=i)
                                              for i, c, k in HOSTILE_FILES])
def test_hostile_scenario_file_is_exit_2_naming_file_and_key(cli, tmp_path, content, key):
    """A hostile scenario file (not UTF-8, not TOML, a section that is not a table, empty
    or zero-sum weights, NaN, windows that do not nest): exit 2, no traceback, the
    message names the file (and the key path where there is one)."""
    path = tmp_path / "hostile.toml"
    path.write_bytes(content)
    result = _run(cli, tmp_path, str(path)).assert_clean(2, str(path))
    message = result.err.strip().splitlines()[-1]
    assert message.count("\n") == 0
    if key is not None:
        assert f"{path}: {key}:" in message, message
    assert not (tmp_path / "out").exists()


def test_scenario_that_is_a_directory_or_missing_is_exit_2(cli, tmp_path):
    """A directory named like a scenario, or a missing .toml: exit 2 naming it."""
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    _run(cli, tmp_path, str(folder)).assert_clean(2, str(folder))
    _run(cli, tmp_path, str(tmp_path / "missing.toml")).assert_clean(2, "missing.toml")
    _run(cli, tmp_path, "no-such-scenario").assert_clean(2, "no-such-scenario", "baseline")


def test_a_good_scenario_still_runs_after_the_checks(cli, tmp_path):
    """The checks reject nonsense only: the boundaries themselves are accepted (a
    refund window equal to the MCA window, factor 100, a run ending on 2999-12-31)."""
    result = _run(cli, tmp_path, "baseline", "billing.mca_full_refund_days=7",
                  "demand.month_end_factor=100.0", "run.start=2999-12-01",
                  "run.horizon_days=31")
    result.assert_clean(0)
    assert list((tmp_path / "out").rglob("summary.json")) or (tmp_path / "out").exists()
