"""The random case generator (sim.harness.casegen): deterministic, valid, and covering the rules."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date

import pytest

from sim.harness.casegen import COUNTRIES, CURRENCIES, generate_case, generate_cases
from sim.harness.cases import evaluate_json
from sim.rules.calendar import BILLING_FREQUENCY_MONTHS, TERM_MONTHS, term_end
from sim.rules.domain import STATUSES
from sim.rules.eligibility import BLOCKER_CODES
from sim.rules.money import ROUNDING_POLICIES

N = 2_000
SEED = 20260315


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return list(generate_cases(N, SEED))


@pytest.fixture(scope="module")
def verdicts(cases: list[dict]) -> list[dict]:
    # Through JSON text, as `run_sim.py evaluate` sees the cases.
    return [evaluate_json(json.loads(json.dumps(case))) for case in cases]


def test_same_seed_gives_identical_cases() -> None:
    first = json.dumps(list(generate_cases(300, 7)))
    assert json.dumps(list(generate_cases(300, 7))) == first


def test_different_seeds_give_different_cases() -> None:
    assert list(generate_cases(50, 1)) != list(generate_cases(50, 2))


def test_generation_leaves_the_global_random_state_alone() -> None:
    random.seed(99)
    expected = random.random()
    random.seed(99)
    list(generate_cases(100, 3))
    assert random.random() == expected


def test_generate_case_draws_from_the_given_rng() -> None:
    assert generate_case(random.Random(5), 42) == generate_case(random.Random(5), 42)
    assert generate_case(random.Random(5), 42)["case_id"] == "c-000042"


def test_cases_are_json_ready(cases: list[dict]) -> None:
    assert json.loads(json.dumps(cases)) == cases


def test_every_case_evaluates_to_a_verdict(cases: list[dict], verdicts: list[dict]) -> None:
    errors = [(case, verdict) for case, verdict in zip(cases, verdicts, strict=True)
              if "error" in verdict]
    assert not errors, errors[:3]
    assert [v["case_id"] for v in verdicts] == [c["case_id"] for c in cases]


def test_every_blocker_appears(verdicts: list[dict]) -> None:
    """R-ELIG-01..10 each hold somewhere, while most change requests are allowed."""
    seen = Counter(blocker["code"] for v in verdicts for blocker in v["blockers"])
    assert set(BLOCKER_CODES) <= set(seen), set(BLOCKER_CODES) - set(seen)
    changes = [v for v in verdicts if v["kind"] == "change"]
    allowed = sum(v["automatic_allowed"] for v in changes)
    assert allowed > len(changes) / 2


def test_kinds_policies_and_alignments_all_appear(verdicts: list[dict]) -> None:
    assert {v["kind"] for v in verdicts} == {"change", "cancel", "reduce"}
    assert {v["rounding"] for v in verdicts} == set(ROUNDING_POLICIES)
    assert {v["currency"] for v in verdicts} == {currency for currency, _ in CURRENCIES}
    alignments = {v["alignment"] for v in verdicts if v["kind"] == "change"}
    assert {"keep-cycle", "new-term", "scheduled"} <= alignments


def test_tenant_and_subscription_coverage(cases: list[dict]) -> None:
    tenants = [case["tenant"] for case in cases]
    assert {t["billing_account"] for t in tenants} == {"MCA", "MOSA"}
    assert {t["payment_method"] for t in tenants} == {"card", "invoice"}
    assert {t["country"] for t in tenants} == set(COUNTRIES)
    assert {len(t["subscriptions"]) for t in tenants} == {1, 2, 3}
    subscriptions = [s for t in tenants for s in t["subscriptions"]]
    assert {s.get("status", "active") for s in subscriptions} == set(STATUSES)
    combos = {(s["term"], s["billing_frequency"]) for s in subscriptions}
    for term, frequency in combos:  # frequency months divide term months (P-CAL-05)
        assert TERM_MONTHS[term] % BILLING_FREQUENCY_MONTHS[frequency] == 0
    assert {term for term, _ in combos} == set(TERM_MONTHS)
    assert {frequency for _, frequency in combos} == set(BILLING_FREQUENCY_MONTHS)
    anchor_days = {date.fromisoformat(s["anchor"]).day for s in subscriptions}
    assert {28, 29, 30, 31} <= anchor_days
    assert any(s["anchor"].endswith("-02-29") for s in subscriptions)


def test_request_days_fall_inside_the_term_and_hit_the_mca_windows(cases: list[dict]) -> None:
    offsets = Counter()
    for case in cases:
        request = case["request"]
        subject = next(s for s in case["tenant"]["subscriptions"]
                       if s["subscription_id"] == request["subscription_id"])
        anchor = date.fromisoformat(subject["anchor"])
        on = date.fromisoformat(request["on"])
        assert anchor <= on <= term_end(anchor, subject["term"])
        offsets[(on - anchor).days] += 1
    assert all(offsets[day] > 0 for day in range(7))  # P-CHG-05/07 windows, day 0 included


def test_requests_are_consistent_with_their_subscription(cases: list[dict]) -> None:
    partial_mca_moves = 0
    for case in cases:
        request = case["request"]
        subject = next(s for s in case["tenant"]["subscriptions"]
                       if s["subscription_id"] == request["subscription_id"])
        account = case["tenant"]["billing_account"]
        if request["kind"] == "reduce":
            assert subject["assigned"] <= request["licenses"] < subject["licenses"]
        elif request["kind"] == "change":
            licenses = request.get("licenses", subject["licenses"])
            if account == "MOSA":
                assert licenses == subject["licenses"]
                assert request.get("schedule", "now") == "now"
            partial_mca_moves += licenses < subject["licenses"]
            assert (request["target_plan"], request.get("term", subject["term"]),
                    request.get("billing_frequency", subject["billing_frequency"])) != (
                subject["plan"], subject["term"], subject["billing_frequency"])
    assert partial_mca_moves > 0
