"""Scenario files: NUMBERS.md defaults, validation, --set overrides, immutability.

A scenario is every parameter of a fleet run (NUMBERS.md: "every one of these must be a
scenario parameter, not a constant in code"). Invalid input is rejected with a
ScenarioError naming the file and the key path; the blocker behaviours may only use
the resolutions of RULES.md section 3 (R-ELIG-01..10).
"""

from __future__ import annotations

import dataclasses
import pickle
import tomllib
from datetime import date
from pathlib import Path

import pytest

from sim.fleet.scenario import (
    BLOCKER_ACTIONS,
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_from_dict,
    scenario_to_dict,
)
from sim.rules.eligibility import BLOCKER_CODES, MCA_RULE_IDS

REPO = Path(__file__).resolve().parent.parent
SCENARIO_FILES = sorted((REPO / "sim/fleet/scenarios").glob("*.toml"))
BASELINE = REPO / "sim/fleet/scenarios" / "baseline.toml"


def write(tmp_path: Path, text: str, name: str = "trial.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rejected(path: Path, overrides: list[str] | None = None) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, overrides or [])
    return str(caught.value)


# ---------------------------------------------------------------------- defaults


def test_defaults_are_the_numbers_md_values():
    """NUMBERS.md defaults: switch capped at 60 min (median 10), MOSA finalisation median
    3 min, credit check up to 2 business days (R-ELIG-03), retry wait median 4 h after
    NOT_PROVISIONED_OR_UNHEALTHY (R-ELIG-02), MCA window 7 days and full refund 1 day
    (R-MAN-07, P-CHG-05), MOSA cancel limit 25 (P-CHG-06), invoice day 5 (P-TIME-01),
    card 10/1 days and wire 4/7 business days (P-TIME-04), credit on an invoice within 30
    days (R-BILL-03), 300 seats per Business plan, MCA rules of R-ELIG-12."""
    s = Scenario()
    assert (s.capacity.switch.median, s.capacity.switch.cap) == (10.0, 60.0)
    assert s.capacity.sla_minutes == 60.0
    assert s.capacity.mosa_finalisation.median == 3.0
    assert s.credit_checks.max_business_days == 2
    not_provisioned = s.admin.blockers["NOT_PROVISIONED_OR_UNHEALTHY"]
    assert not_provisioned.delay.median == 240.0
    assert not_provisioned.wait > 0.5  # admins mostly wait and retry (R-ELIG-02)
    billing = s.billing
    assert billing.mca_window_days == 7
    assert billing.mca_full_refund_days == 1  # 24 h
    assert billing.mosa_cancel_limit == 25
    assert billing.invoice_day == 5
    assert (billing.mca_card_days, billing.mosa_card_days) == (10, 1)
    assert (billing.wire_business_days_domestic,
            billing.wire_business_days_international) == (4, 7)
    assert billing.credit_invoice_limit_days == 30
    assert billing.rounding == "line-half-up"
    assert billing.mca_rules == MCA_RULE_IDS == ("R-ELIG-02", "R-ELIG-03", "R-ELIG-07",
                                                 "R-ELIG-10")
    assert s.population.seat_cap_business == 300
    assert s.run.currency == "local"  # issue 12: each tenant billed in its own currency


def _field(cls: type, name: str) -> dataclasses.Field:
    return next(f for f in dataclasses.fields(cls) if f.name == name)


@pytest.mark.parametrize(("section", "name"), [
    ("capacity", "switch"), ("capacity", "mosa_finalisation"), ("capacity", "sla_minutes"),
    ("credit_checks", "max_business_days"), ("billing", "invoice_day"),
    ("billing", "mca_window_days"), ("billing", "mca_full_refund_days"),
    ("billing", "mosa_cancel_limit"), ("billing", "wire_business_days_domestic"),
    ("billing", "wire_business_days_international"),
    ("billing", "credit_invoice_limit_days"), ("population", "seat_cap_business"),
])
def test_documented_defaults_name_their_source(section, name):
    """NUMBERS.md: a default taken from Microsoft documentation is a parameter whose
    metadata says so (source 'doc')."""
    section_cls = type(getattr(Scenario(), section))
    assert _field(section_cls, name).metadata["source"] == "doc"


def test_every_blocker_has_a_behaviour_within_its_resolutions_R_ELIG_01_to_10():
    """R-ELIG-01..10: each blocker code has a default behaviour summing to 1 that uses only
    the actions its resolution allows."""
    blockers = Scenario().admin.blockers
    assert set(blockers) == set(BLOCKER_CODES) == set(BLOCKER_ACTIONS)
    for code, behaviour in blockers.items():
        total = behaviour.remediate + behaviour.wait + behaviour.manual + behaviour.give_up
        assert total == pytest.approx(1.0), code
        for action in ("remediate", "wait", "manual", "give_up"):
            if getattr(behaviour, action) > 0:
                assert action in BLOCKER_ACTIONS[code], (code, action)


# -------------------------------------------------------------- shipped scenarios


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_shipped_scenario_has_header_and_question(path):
    """Every scenario file starts with a comment header saying what it is and has a
    meta.question; it loads, and meta.name is the file name."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert len(header) >= 2, f"{path.name}: no comment header"
    assert len(" ".join(header).replace("#", "").split()) >= 8, header  # says something
    raw = tomllib.loads(text)
    assert raw.get("meta", {}).get("question", "").strip(), f"{path.name}: no meta.question"
    scenario = load_scenario(path)
    assert scenario.meta.name == path.stem
    assert scenario.meta.question == raw["meta"]["question"]


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_scenario_round_trips_through_its_dict_P_RND_02(path):
    """P-RND-02: the plain form stored in the manifest rebuilds the same scenario."""
    scenario = load_scenario(path)
    assert scenario_from_dict(scenario_to_dict(scenario)) == scenario


def test_scenario_is_immutable():
    """A scenario is a frozen dataclass: assigning any field, at any depth, raises."""
    scenario = load_scenario(BASELINE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.run = scenario.run  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.run.tenants = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.capacity.switch.cap = 120.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.admin.blockers["OTHER"].manual = 1.0  # type: ignore[misc]
    with pytest.raises((AttributeError, TypeError)):
        scenario.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        scenario.population.sectors["commercial"] = 0.0  # type: ignore[index]
    with pytest.raises(TypeError):
        scenario.admin.blockers.pop("OTHER")
    with pytest.raises(TypeError):
        scenario.incidents.update({})
    assert pickle.loads(pickle.dumps(scenario)) == scenario  # the executor seam pickles it
    assert scenario.run.tenants == 10_000
    assert isinstance(scenario.demand.weekday_weights, tuple)
    assert isinstance(scenario.billing.mca_rules, tuple)


def test_partial_tables_override_only_their_keys(tmp_path):
    """A section or nested table in a file overrides only the keys it names."""
    path = write(tmp_path, """
[capacity.switch]
median = 5.0

[admin.blockers.NOT_PROVISIONED_OR_UNHEALTHY]
wait = 0.8
manual = 0.15
""")
    scenario = load_scenario(path)
    assert scenario.capacity.switch.median == 5.0
    assert scenario.capacity.switch.cap == 60.0  # default kept
    behaviour = scenario.admin.blockers["NOT_PROVISIONED_OR_UNHEALTHY"]
    assert (behaviour.wait, behaviour.manual, behaviour.give_up) == (0.8, 0.15, 0.05)
    assert behaviour.delay.median == 240.0
    assert scenario.admin.blockers["OTHER"] == Scenario().admin.blockers["OTHER"]
    assert scenario.meta.name == "trial"  # defaults to the file's stem


# -------------------------------------------------------------------- rejections

UNKNOWN_KEYS = [
    ("foo = 1", "foo"),
    ("[run]\nfoo = 1", "run.foo"),
    ("[run]\ntenant = 5", "run.tenant"),
    ("[population.blockers]\nfoo = 0.1", "population.blockers.foo"),
    ("[population.data_gb_per_user]\nmedain = 8.0", "population.data_gb_per_user.medain"),
    ("[admin.blockers.USERS_EXCEED_LICENSES]\nfoo = 1.0",
     "admin.blockers.USERS_EXCEED_LICENSES.foo"),
    ("[incidents.exchange]\nrate = 3.0", "incidents.exchange.rate"),
    ("[[demand.campaigns]]\nstart = 2026-03-01\ndays = 3\nfactr = 2.0",
     "demand.campaigns[0].factr"),
]

OUT_OF_RANGE = [
    ("[run]\ntenants = 0", "run.tenants"),
    ("[run]\nhorizon_days = 5000", "run.horizon_days"),
    ("[population]\nmca_share = 1.5", "population.mca_share"),
    ("[population.blockers]\nover_assigned = -0.1", "population.blockers.over_assigned"),
    ("[population]\nsectors = { commercial = -1.0, government = 2.0 }",
     "population.sectors.commercial"),
    ("[population]\nusers_median = nan", "population.users_median"),
    ("[population]\nusers_median = inf", "population.users_median"),
    ("[billing]\ninvoice_day = 32", "billing.invoice_day"),
    ("[capacity]\nworkers = 0", "capacity.workers"),
    ("[capacity.switch]\nmedian = -1.0", "capacity.switch.median"),
    ("[incidents.exchange]\nrate_per_year = -1.0", "incidents.exchange.rate_per_year"),
    ("[demand]\nweekday_weights = [1.0, 1.0, 1.0]", "demand.weekday_weights"),
    ("[demand]\nhour_weights = [1.0]", "demand.hour_weights"),
    ("[[demand.campaigns]]\nstart = 2025-06-01\ndays = 3\nfactor = 2.0",
     "demand.campaigns[0].start"),
]

WRONG_TYPES = [
    ("run = 5", "run"),
    ('[run]\ntenants = "many"', "run.tenants"),
    ("[run]\ntenants = 1.5", "run.tenants"),
    ("[run]\ntenants = true", "run.tenants"),
    ('[run]\nstart = "yesterday"', "run.start"),
    ('[population]\nmca_share = "half"', "population.mca_share"),
    ("[population]\nsectors = 3", "population.sectors"),
    ('[demand]\nweekday_weights = "flat"', "demand.weekday_weights"),
    ("[meta]\nname = 5", "meta.name"),
    ("[capacity]\nswitch = 10", "capacity.switch"),
    ("[admin]\nmax_attempts = 2.0", "admin.max_attempts"),
    ('[billing]\nmca_rules = "R-ELIG-02"', "billing.mca_rules"),
]

PROBABILITIES = [
    ("[admin.blockers.USERS_EXCEED_LICENSES]\nremediate = 0.5",
     "admin.blockers.USERS_EXCEED_LICENSES"),
    ("[admin.blockers.OTHER]\nremediate = 0.6\nmanual = 0.6\ngive_up = 0.0",
     "admin.blockers.OTHER"),
    ("[population]\npayment_methods = { card = 0.0, invoice = 0.0 }",
     "population.payment_methods"),
]

NOT_ALLOWED = [  # RULES.md section 3: only the resolution column's actions
    ("[admin.blockers.SUBSCRIPTION_NOT_ELIGIBLE]\nremediate = 0.5\nmanual = 0.3\n"
     "give_up = 0.2", "admin.blockers.SUBSCRIPTION_NOT_ELIGIBLE.remediate"),  # R-ELIG-04
    ("[admin.blockers.NOT_PROVISIONED_OR_UNHEALTHY]\nremediate = 0.9\nwait = 0.0",
     "admin.blockers.NOT_PROVISIONED_OR_UNHEALTHY.remediate"),  # R-ELIG-02
    ("[admin.blockers.GOVERNMENT_OR_NONPROFIT_PLAN]\nwait = 0.85\nmanual = 0.0",
     "admin.blockers.GOVERNMENT_OR_NONPROFIT_PLAN.wait"),  # R-ELIG-06
    ("[admin.blockers.TARGET_NOT_SUPPORTED]\nremediate = 0.85\nmanual = 0.0",
     "admin.blockers.TARGET_NOT_SUPPORTED.remediate"),  # R-ELIG-07
]

UNKNOWN_NAMES = [
    ("[population]\ncommercial_plans = { FOO = 1.0 }", "population.commercial_plans.FOO"),
    ("[population]\ncommercial_plans = { O365_G1 = 1.0 }",
     "population.commercial_plans.O365_G1"),  # a government plan (R-ELIG-06)
    ("[population]\ngovernment_plans = { BUSINESS_BASIC = 1.0 }",
     "population.government_plans.BUSINESS_BASIC"),
    ("[population]\ncountries = { XX = 1.0 }", "population.countries.XX"),
    ("[population]\nadd_ons = { FAX_MACHINE = 1.0 }", "population.add_ons.FAX_MACHINE"),
    ("[population]\nsectors = { military = 1.0 }", "population.sectors.military"),
    ("[population]\nterms = { P2Y = 1.0 }", "population.terms.P2Y"),
    ("[demand]\ndirections = { sideways = 1.0 }", "demand.directions.sideways"),
    ("[incidents.fax]\nrate_per_year = 1.0", "incidents.fax"),
    ('[billing]\nrounding = "bankers"', "billing.rounding"),
    ('[run]\ncurrency = "XYZ"', "run.currency"),
    ('[billing]\nmca_rules = ["R-ELIG-02", "R-ELIG-99"]', "billing.mca_rules[1]"),
    ("[admin.blockers.FOO]\nmanual = 1.0", "admin.blockers.FOO"),
    ('[admin]\nafter_max_attempts = "retry"', "admin.after_max_attempts"),
]


SEMANTIC = [  # issue 7: weights, bounds, dates and windows that make no sense
    ("[population]\nterms = {}", "population.terms"),
    ("[population.countries]\nUS = 0.0", "population.countries"),
    ("[demand]\nweekday_weights = [0, 0, 0, 0, 0, 0, 0]", "demand.weekday_weights"),
    ("[demand]\nhour_weights = [" + ", ".join(["0"] * 24) + "]", "demand.hour_weights"),
    ("[population]\nusers_median = 1e300", "population.users_median"),
    ("[demand]\nmonth_end_factor = 1e308", "demand.month_end_factor"),
    ("[capacity.switch]\ncap = 1e308", "capacity.switch.cap"),
    ("[run]\nstart = 0001-01-01", "run.start"),
    ("[run]\nstart = 9999-12-31", "run.start"),
    ("[run]\nstart = 2999-12-31\nhorizon_days = 2", "run.horizon_days"),
    ("[run]\nstart = 2026-01-01T00:00:00", "run.start"),
    ("[billing]\nmca_full_refund_days = 8", "billing.mca_full_refund_days"),  # P-CHG-05
    ("[billing]\nmca_card_days = -1", "billing.mca_card_days"),
    ("[admin]\nbackoff_factor = 10.0\nmax_attempts = 10", "admin.backoff_factor"),
    ("meta = 5", "meta"),
    ('[meta]\nname = "a\\u0007b"', "meta.name"),
]


@pytest.mark.parametrize(("text", "key"), [
    *[pytest.param(t, k, id=f"semantic:{k}") for t, k in SEMANTIC],
    *[pytest.param(t, k, id=f"unknown-key:{k}") for t, k in UNKNOWN_KEYS],
    *[pytest.param(t, k, id=f"range:{k}") for t, k in OUT_OF_RANGE],
    *[pytest.param(t, k, id=f"type:{k}") for t, k in WRONG_TYPES],
    *[pytest.param(t, k, id=f"sum:{k}") for t, k in PROBABILITIES],
    *[pytest.param(t, k, id=f"action:{k}") for t, k in NOT_ALLOWED],
    *[pytest.param(t, k, id=f"unknown-name:{k}") for t, k in UNKNOWN_NAMES],
])
def test_invalid_scenario_is_rejected_naming_file_and_key(tmp_path, text, key):
    """Invalid scenarios (unknown keys at any depth, out-of-range values, wrong types,
    behaviours not summing to 1, actions a blocker's resolution does not allow (RULES.md
    section 3, R-ELIG-01..10), unknown plans, countries, add-ons, services, rounding
    policies, currencies and rule IDs (R-ELIG-12)) raise ScenarioError naming the file
    and the key path."""
    path = write(tmp_path, text)
    message = rejected(path)
    assert message.startswith(f"{path}: "), message
    assert f" {key}: " in f" {message.split(': ', 1)[1]}", message
    assert "\n" not in message


def test_unknown_key_suggests_the_close_name(tmp_path):
    """A misspelt key names the likely intended one."""
    message = rejected(write(tmp_path, "[run]\ntenant = 5"))
    assert "run.tenant: unknown key" in message and "'tenants'" in message


def test_missing_or_malformed_file_is_a_scenario_error(tmp_path):
    """A missing file or bad TOML is a ScenarioError naming the file."""
    missing = tmp_path / "nope.toml"
    assert rejected(missing).startswith(str(missing))
    bad = write(tmp_path, "[run\ntenants = 5")
    assert rejected(bad).startswith(str(bad))


# ---------------------------------------------------------------------- --set


def test_set_overrides_nested_keys_and_toml_values():
    """--set key.path=value: values in TOML syntax (numbers, dates, inline tables, lists,
    quoted strings); a bare word is a string; later overrides win; file values yield."""
    scenario = load_scenario(REPO / "sim/fleet/scenarios" / "month-end-surge.toml", [
        "capacity.workers=8",  # the file says 1
        "population.blockers.unpaid_balance=0.5",
        "population.payment_methods={card = 0.4, invoice = 0.6}",
        "capacity.switch={median = 5.0}",
        "run.start=2026-02-01",
        "demand.campaigns=[]",
        "meta.name=surge-8",
        'meta.question="How many workers?"',
        "billing.rounding=line-half-even",
        'billing.mca_rules=["R-ELIG-02", "R-ELIG-03"]',
        "demand.weekday_weights=[1, 1, 1, 1, 1, 0, 0]",
        "run.seed=3",
        "run.seed=4",
    ])
    assert scenario.capacity.workers == 8
    assert scenario.population.blockers.unpaid_balance == 0.5
    assert scenario.population.blockers.over_assigned == 0.03  # untouched sibling
    assert scenario.population.payment_methods == {"card": 0.4, "invoice": 0.6}
    assert (scenario.capacity.switch.median, scenario.capacity.switch.cap) == (5.0, 60.0)
    assert scenario.run.start == date(2026, 2, 1)
    assert scenario.demand.campaigns == ()
    assert scenario.meta.name == "surge-8"
    assert scenario.meta.question == "How many workers?"
    assert scenario.billing.rounding == "line-half-even"
    assert scenario.billing.mca_rules == ("R-ELIG-02", "R-ELIG-03")
    assert scenario.demand.weekday_weights == (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0)
    assert all(isinstance(w, float) for w in scenario.demand.weekday_weights)
    assert scenario.run.seed == 4
    assert scenario.run.tenants == 20_000  # from the file
    assert scenario.demand.month_end_factor == 12.0  # from the file


def test_set_overrides_incidents_per_service_R_ELIG_02():
    """R-ELIG-02: --set reaches a dict of tables (incidents per service), keeping the
    other keys of that service and the other services."""
    scenario = load_scenario(BASELINE, ["incidents.exchange.rate_per_year=200.0"])
    assert scenario.incidents["exchange"].rate_per_year == 200.0
    assert scenario.incidents["exchange"].duration.median == 180.0
    assert scenario.incidents["teams"] == Scenario().incidents["teams"]


@pytest.mark.parametrize(("override", "fragment"), [
    ("capacity.workers", "expected key.path=value"),
    ("capacity..workers=1", "empty key"),
    ("=1", "empty key"),
    ("capacity.nope=1", "capacity.nope: unknown key"),
    ("capacity.workers=many", "capacity.workers: expected an integer"),
    ("capacity.workers=0", "capacity.workers: 0 is below the minimum"),
    ("run.tenants.x=1", "run.tenants"),  # baseline sets run.tenants to a number
    ("population.mca_share=[0.5]", "population.mca_share: expected a number"),
    ("billing.rounding=bankers", "billing.rounding"),
])
def test_bad_set_is_rejected(override, fragment):
    """A bad --set (no '=', an empty key, an unknown key, a wrong or out-of-range value,
    a key below a non-table) is a ScenarioError naming the file and the problem."""
    message = rejected(BASELINE, [override])
    assert message.startswith(str(BASELINE)), message
    assert fragment in message, message


# ------------------------------------------------------------ files and packaging


def test_scenario_file_must_be_utf8_a_bom_is_accepted(tmp_path):
    """A scenario file must be UTF-8 (a byte-order mark is accepted); anything else is a
    ScenarioError naming the file and the offending byte."""
    bad = tmp_path / "latin.toml"
    bad.write_bytes('[meta]\nquestion = "caf\xe9"\n'.encode("latin-1"))
    assert rejected(bad) == f"{bad}: not UTF-8 text (byte 22)"  # 7 + 15 bytes precede the e-acute
    bom = tmp_path / "bom.toml"
    bom.write_bytes("\ufeff[run]\ntenants = 7\n".encode())
    assert load_scenario(bom).run.tenants == 7


def test_boundaries_are_accepted():
    """The stated bounds are inclusive: a refund window equal to the MCA window, a run
    ending on 2999-12-31, factor 100, users median 100,000."""
    scenario = load_scenario(BASELINE, [
        "billing.mca_full_refund_days=7", "billing.mca_window_days=7",
        "run.start=2999-12-01", "run.horizon_days=31", "demand.month_end_factor=100.0",
        "population.users_median=100000.0"])
    assert scenario.run.start == date(2999, 12, 1)
    assert scenario.billing.mca_full_refund_days == scenario.billing.mca_window_days == 7


def test_every_parameter_states_both_bounds():
    """Issue 7: every scalar parameter (and every weight table) carries lo and hi."""
    def walk(cls: type, path: str):
        for spec in dataclasses.fields(cls):
            default = spec.default if spec.default is not dataclasses.MISSING else (
                spec.default_factory())
            if dataclasses.is_dataclass(default):
                yield from walk(type(default), f"{path}{spec.name}.")
            else:
                yield f"{path}{spec.name}", spec.metadata

    unbounded = [key for key, meta in walk(Scenario, "")
                 if meta.get("lo") is None or meta.get("hi") is None]
    assert not unbounded, unbounded


def test_packaged_scenarios_are_the_files_in_the_package():
    """The shipped scenarios are read with importlib.resources from the package."""
    from sim.fleet.scenario import packaged_scenarios

    found = packaged_scenarios()
    assert sorted(found) == sorted(p.stem for p in SCENARIO_FILES)
    assert load_scenario(found["baseline"]) == load_scenario(BASELINE)


def test_find_scenario_looks_at_the_path_then_cwd_scenarios_then_the_package(
        tmp_path, monkeypatch):
    """`run NAME`: an existing file path wins, then ./scenarios/NAME.toml in the current
    directory, then the shipped scenario NAME; an unknown name lists the shipped ones."""
    from sim.cli.common import UsageError, find_scenario

    monkeypatch.chdir(tmp_path)
    assert Path(str(find_scenario("baseline"))) == BASELINE.resolve()
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "baseline.toml").write_text("[run]\ntenants = 3\n")
    assert find_scenario("baseline") == Path("scenarios/baseline.toml")
    own = write(tmp_path, "[run]\ntenants = 4\n", "mine.toml")
    assert find_scenario(str(own)) == own
    with pytest.raises(UsageError, match="month-end-surge"):
        find_scenario("no-such")
