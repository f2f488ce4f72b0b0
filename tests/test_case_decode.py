"""The typed fast road of ``evaluate`` (issue 11): same verdicts, same errors, only faster.

The fast road (:func:`sim.harness.case_render.evaluate_line`: msgspec decoding, the
semantic checks of CASES.md, direct rendering) may only ever *accept*; whatever it
declines goes down the strict road (strict JSON + the hand validator). So for every
line, valid or hostile, its answer is either None or exactly the line the strict road
writes, which is taken here from the standard library (``json.loads`` in,
``json.dumps(..., separators=(", ", ": "))`` out).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from typing import Any

import pytest
from helpers import make_case

import sim.harness.case_files
import sim.harness.case_render
from sim.cli import main
from sim.harness.case_render import evaluate_line
from sim.harness.case_types import decode_case
from sim.harness.casegen import generate_cases
from sim.harness.cases import Case, evaluate_json, parse_case

SEPARATORS = (", ", ": ")
GENERATED = list(generate_cases(300, 11))


def strict_line(line: bytes) -> str:
    """What the strict road writes for a (decodable) line."""
    return json.dumps(evaluate_json(json.loads(line)), separators=SEPARATORS)


def as_line(case: Any) -> bytes:
    return json.dumps(case).encode()


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def test_generated_cases_all_take_the_fast_road_with_the_strict_roads_bytes():
    for case in GENERATED:
        line = as_line(case)
        fast = evaluate_line(line)
        assert fast is not None, case["case_id"]
        assert fast == strict_line(line)


def test_the_fast_road_builds_the_same_domain_objects_as_parse_case():
    # Field for field (Tenant, Subscription, Request are built positionally here: a field
    # added to the rules' domain objects must show up in both roads, or this fails).
    for case in [*GENERATED[:100], make_case()]:
        assert Case(*decode_case(as_line(case))) == parse_case(case), case["case_id"]


def test_the_helper_case_renders_as_worked_by_hand():
    # tests/helpers.py: MOSA change on 2026-03-15, P-CHG-03 credit -30.97, charge 125.00
    # (worked by hand in test_cli.py), net 94.03.
    verdict = json.loads(evaluate_line(as_line(make_case())))
    assert [line["amount"] for line in verdict["lines"]] == ["-30.97", "125.00"]
    assert verdict["net"] == "94.03"
    assert verdict["alignment"] == "new-term"


# Values that break one field or another: types, bounds, dates, emptiness.
HOSTILE_VALUES = [None, "", "x", -1, 0, 1, 10**7, 10**7 + 1, 2**70, True, False, 1.5, [], {},
                  ["x"], "2024-02-30", "1899-12-31", "3000-01-01", "2026-03-15", "P1M",
                  "P3Y", "monthly", "triennial", "MCA", "invoice", "renewal", "cancel",
                  "reduce", "1e3", "-5.00", "0.001", "12.5", "JPY", "BHD", "XAU",
                  "BUSINESS_PREMIUM", "O365_E3", "s-2", "unit-truncate"]


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every key path and list index path inside a case."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _mutate(case: dict[str, Any], path: tuple, action: str, value: Any) -> dict[str, Any]:
    case = copy.deepcopy(case)
    holder = case
    for step in path[:-1]:
        holder = holder[step]
    last = path[-1]
    if action == "drop" and isinstance(holder, dict):
        del holder[last]
    elif action == "unknown" and isinstance(holder, dict):
        holder["unexpected"] = value
    else:
        holder[last] = value
    return case


def _neighbours(case: dict[str, Any]) -> list[Any]:
    """Values near the case's own: every integer +-1, every string of the case (ids,
    plans, dates), so bounds such as "licenses >= assigned" are hit at their edges."""
    leaves = [_leaf(case, path) for path in _paths(case)]
    near = [number + step for number in leaves if type(number) is int for step in (-1, 0, 1)]
    return near + [text for text in leaves if isinstance(text, str)]


def _leaf(case: Any, path: tuple) -> Any:
    for step in path:
        case = case[step]
    return case


def _variants(case: dict[str, Any]) -> list[dict[str, Any]]:
    """Every single-field change of `case`: each key dropped, an unknown key added to each
    object, and each field set to each hostile value and each of the case's neighbours."""
    values = HOSTILE_VALUES + _neighbours(case)
    found = []
    for path in _paths(case):
        found.append(_mutate(case, path, "drop", None))
        found.append(_mutate(case, path, "unknown", 1))
        found += [_mutate(case, path, "set", value) for value in values]
    return found


@pytest.mark.parametrize("index", range(0, 300, 25))
def test_every_single_field_change_is_declined_or_rendered_exactly_as_strictly(index):
    declined = 0
    for variant in _variants(GENERATED[index]):
        line = as_line(variant)
        fast = evaluate_line(line)
        declined += fast is None
        assert fast is None or fast == strict_line(line), variant
    assert declined  # the hostile values are declined, not all vouched for


# A repeated key: strict JSON refuses it (the message below is the case_files table's);
# msgspec alone would keep the last value.
@pytest.mark.parametrize("spacing", ["", " ", "\t", "\r"])
def test_a_repeated_key_is_declined_and_reported_with_its_path(tmp_path, spacing):
    text = json.dumps(make_case(case_id="dup"))
    text = text.replace('"plan": "BUSINESS_BASIC"',
                        f'"plan": "BUSINESS_BASIC", "plan"{spacing}: "BUSINESS_PREMIUM"')
    assert decode_case(text.encode()) is None
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps(make_case(case_id="first")) + "\n" + text + "\n")
    status, out, _err = run("evaluate", str(path), "-q")
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert records[1] == {"case_id": "dup", "error": f"{path}:2: tenant.subscriptions[0].plan: "
                          "duplicate key (a JSON object must not repeat a key)"}


def test_a_colon_inside_a_string_takes_the_strict_road_to_the_same_verdict():
    line = as_line(make_case(case_id="a:b"))
    assert decode_case(line) is None  # more colons than keys: not vouched for
    assert json.loads(strict_line(line))["case_id"] == "a:b"


def test_non_ascii_ids_are_escaped_as_json_dumps_escapes_them():
    case = make_case(case_id="café-✓", subscription={"subscription_id": "s-é"},
                     request={"subscription_id": "s-é"})
    fast = evaluate_line(as_line(case))
    assert fast == strict_line(as_line(case))
    assert fast.isascii() and '"case_id": "caf\\u00e9-\\u2713"' in fast


def test_a_case_with_its_own_catalog_is_left_to_the_strict_road():
    plan = {"id": "CUSTOM", "name": "Custom", "product": "custom", "sector": "commercial",
            "services": {"EXCHANGE": 1}, "prices": {"P1Y": "4.00"}}
    case = make_case(catalog={"plans": [plan]})
    assert decode_case(as_line(case)) is None
    assert decode_case(as_line(make_case(catalog=None))) is not None  # null: no catalog


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("0", "USD", 0), ("0.10", "USD", 10), ("12.5", "USD", 1250), ("7", "JPY", 7),
    ("1.234", "BHD", 1234), ("00012.30", "USD", 1230), ("3.000", "USD", 300),
])
def test_unpaid_balance_in_integer_minor_units(text, currency, minor):
    case = make_case(currency=currency, tenant={"unpaid_balance": text})
    fields = decode_case(as_line(case))
    assert fields is not None and fields[5].unpaid_balance == minor


@pytest.mark.parametrize("text", ["12.345", "-1.00", "1e3", " 5", "1_000", "٣", "0.1", "1.", ".5",
                                  "1" * 25, "0" * 40 + "1.00", "1." + "0" * 40])
def test_unusual_balances_are_decided_by_the_strict_road(text):
    line = as_line(make_case(currency="JPY" if text == "0.1" else "USD",
                             tenant={"unpaid_balance": text}))
    fast = evaluate_line(line)
    assert fast is None or fast == strict_line(line)


def test_an_interrupt_on_the_fast_road_leaves_the_old_out_intact(tmp_path, monkeypatch):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(make_case(case_id=f"c-{n}")) + "\n" for n in range(3)))
    out = tmp_path / "v.jsonl"
    out.write_text("previous verdicts\n")
    calls: list[bytes] = []
    real = sim.harness.case_render.evaluate_line

    def interrupt(line: bytes, *args: Any) -> str | None:
        calls.append(line)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(line, *args)

    monkeypatch.setattr(sim.harness.case_render, "evaluate_line", interrupt)
    assert run("evaluate", str(path), "--out", str(out))[0] == 130
    assert out.read_text() == "previous verdicts\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cases.jsonl", "v.jsonl"]


def test_the_cli_writes_the_same_bytes_as_the_strict_road(tmp_path):
    lines = [as_line(case) for case in GENERATED[:100]]
    lines.insert(50, b'{"case_id": "broken", "tenant": 1}')
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    status, out, _err = run("evaluate", str(path), "-q")
    assert status == 1
    expected = [strict_line(line) for line in lines]
    expected[50] = json.dumps({"case_id": "broken", "error": "tenant: expected an object, "
                               "got an integer"}, separators=SEPARATORS)
    assert out.splitlines() == expected


def test_decline_on_a_deeply_nested_catalog_is_not_a_crash():
    line = b'{"case_id": "deep", "catalog": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert decode_case(line) is None
    assert evaluate_line(line) is None


def test_lines_keep_their_numbers_across_small_batches(tmp_path, monkeypatch):
    """JSON Lines read in batches (here of 16 bytes, so every case line spans several
    reads) still name the line at fault; blank lines count as lines but not as cases."""
    monkeypatch.setattr(sim.harness.case_files, "BATCH_BYTES", 16)
    good = [as_line(make_case(case_id=f"g-{n}")) for n in range(3)]
    text = (good[0] + b"\n\n" + b'{"case_id": "cut"\n' + good[1] + b"\r\n\n\n"
            + b"[" * 5000 + b"\n" + good[2])  # no newline at the end
    path = tmp_path / "cases.jsonl"
    path.write_bytes(text)
    status, out, err = run("evaluate", str(path))
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert [record.get("case_id") for record in records] == ["g-0", None, "g-1", None, "g-2"]
    assert records[1]["error"].startswith(f"{path}:3: invalid JSON")
    assert records[3]["error"].startswith(f"{path}:7: invalid JSON")
    assert out.splitlines()[2] == strict_line(good[1])
    assert "5 case(s), 3 verdict(s), 2 error(s)" in err


@pytest.mark.parametrize("balance", ["0", "0.0", "0.00", "0.000", "-0", "00", "0e0",
                                     "0.001", "12.5"])
@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_balance_shortcuts_render_as_strictly(balance, currency):
    """The zero-balance shortcut of the fast road: every spelling either is declined or
    gives the strict road's bytes (USD 2, JPY 0, KWD 3 minor digits)."""
    case = make_case(tenant={"unpaid_balance": balance})
    case["currency"] = currency
    line = as_line(case)
    fast = evaluate_line(line)
    assert fast is None or fast == strict_line(line), (balance, currency)


@pytest.mark.parametrize(("term", "frequency"), [("P1M", "monthly"), ("P1Y", "annual"),
                                                 ("P3Y", "triennial")])
@pytest.mark.parametrize("anchor", ["2026-01-31", "2024-02-29", "2027-02-28", "2026-03-01"])
def test_requests_around_the_term_end_render_as_strictly(term, frequency, anchor):
    """P-CAL-05: the fast road's cheap in-term day count must agree with the strict road
    on the last day of the term and the day after it (the shortest term is 28 days)."""
    from datetime import date, timedelta

    start = date.fromisoformat(anchor)
    months = {"P1M": 1, "P1Y": 12, "P3Y": 36}[term]
    year, month0 = divmod(start.month - 1 + months, 12)
    import calendar as stdlib_calendar

    last_day = stdlib_calendar.monthrange(start.year + year, month0 + 1)[1]
    end = date(start.year + year, month0 + 1, min(start.day, last_day)) - timedelta(days=1)
    for on in (end - timedelta(days=1), end, end + timedelta(days=1)):
        case = make_case(subscription={"anchor": anchor, "term": term,
                                       "billing_frequency": frequency},
                         request={"on": on.isoformat(), "term": term,
                                  "billing_frequency": frequency})
        line = as_line(case)
        fast = evaluate_line(line)
        assert fast is None or fast == strict_line(line), (anchor, term, on)
