"""Case validation (CASES.md): every malformed input gives an error record naming the
exact field path, never a Python exception.

Error records are ``{"case_id": ..., "error": "<path>: <message>"}``. Rule IDs touched:
R-PATH-01/02 (partial moves), R-AUTO-02 (renewal schedule), P-CAL-05 (terms), INV-06
(reductions), P-MONEY-02 (currency minor units), R-ELIG-08 (add-ons).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from helpers import DROP, evaluate_case, make_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.harness.cases import CaseError, evaluate_json, parse_case
from sim.rules.catalog import builtin_catalog


def error_of(record: dict[str, Any]) -> str:
    assert set(record) == {"case_id", "error"}, record
    assert isinstance(record["error"], str)
    return record["error"]


def assert_error(path: str, *fragments: str, **overrides: Any) -> str:
    """The case built from `overrides` is rejected with an error at `path`."""
    record = evaluate_case(**overrides)
    error = error_of(record)
    assert error.startswith(f"{path}: "), error
    for fragment in fragments:
        assert fragment in error, (fragment, error)
    with pytest.raises(CaseError) as info:
        parse_case(make_case(**overrides))
    assert info.value.path == path
    return error


PLAN = {"id": "BASIC2", "sector": "commercial",
        "services": {"exchange": 2, "sharepoint": 2, "teams": 1},
        "prices": {"P1M": "7.20", "P1Y": "6.00"}}


def plan(**overrides: Any) -> dict[str, Any]:
    entry = copy.deepcopy(PLAN)
    for key, value in overrides.items():
        if value is DROP:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def test_valid_case_gives_verdict():
    """The helper's case is valid: a verdict, not an error record."""
    record = evaluate_case()
    assert "error" not in record
    assert record["format"] == 1
    assert record["case_id"] == "c-1"


def test_error_record_keeps_case_id():
    """An error record carries the case's id when it is a string."""
    record = evaluate_case(subscription={"term": "P2Y"})
    assert record["case_id"] == "c-1"
    record = evaluate_case(case_id=17, subscription={"term": "P2Y"})
    assert record["case_id"] is None


# ----------------------------------------------------------------- unknown fields


@pytest.mark.parametrize(
    ("path", "overrides"),
    [
        ("bogus", {"bogus": 1}),
        ("tenant.bogus", {"tenant": {"bogus": 1}}),
        ("tenant.subscriptions[0].bogus", {"subscription": {"bogus": True}}),
        ("tenant.subscriptions[1].color",
         {"extra_subscriptions": [{"plan": "O365_E1", "color": "red"}]}),
        ("tenant.subscriptions[0].add_ons[0].qty",
         {"subscription": {"add_ons": [{"sku": "TEAMS_PHONE", "qty": 2}]}}),
        ("request.bogus", {"request": {"bogus": None}}),
        ("catalog.extra", {"catalog": {"plans": [], "extra": 1}}),
    ],
)
def test_unknown_field_at_each_level(path, overrides):
    """CASES.md: unknown fields are rejected at every level, named by path."""
    assert_error(path, "unknown field", **overrides)


def test_unknown_key_in_case_plan():
    """A case-level plan with an unknown key names catalog.plans[0].<key>."""
    record = evaluate_case(catalog={"plans": [plan(colour="blue")]})
    assert error_of(record) == "catalog.plans[0].colour: unknown key"


# ----------------------------------------------------------------- missing fields


@pytest.mark.parametrize(
    "path",
    [
        "case_id", "tenant", "request",
        "tenant.tenant_id", "tenant.domain", "tenant.country", "tenant.billing_account",
        "tenant.payment_method", "tenant.subscriptions",
        "tenant.subscriptions[0].subscription_id", "tenant.subscriptions[0].plan",
        "tenant.subscriptions[0].licenses", "tenant.subscriptions[0].assigned",
        "tenant.subscriptions[0].term", "tenant.subscriptions[0].billing_frequency",
        "tenant.subscriptions[0].anchor",
        "request.kind", "request.subscription_id", "request.on", "request.target_plan",
    ],
)
def test_missing_required_field(path):
    """CASES.md: a required field that is absent is reported as `<path>: missing`."""
    parts = path.split(".")
    if parts[0] in ("case_id", "tenant", "request") and len(parts) == 1:
        overrides: dict[str, Any] = {parts[0]: DROP}
    elif parts[0] == "request":
        overrides = {"request": {parts[1]: DROP}}
    elif len(parts) == 2:
        overrides = {"tenant": {parts[1]: DROP}}
    else:
        overrides = {"subscription": {parts[2]: DROP}}
    record = evaluate_case(**overrides)
    assert error_of(record) == f"{path}: missing"


def test_missing_licenses_of_reduce_P_CHG_07():
    """P-CHG-07: a reduction needs `request.licenses`."""
    assert_error("request.licenses", "missing",
                 request={"kind": "reduce", "target_plan": DROP})


def test_optional_fields_take_defaults():
    """Optional fields (format, currency, rounding, status, flags, ...) may be absent."""
    record = evaluate_case(
        format=DROP, currency=DROP, rounding=DROP,
        tenant={"unpaid_balance": DROP, "credit_check_pending": DROP, "open_incidents": DROP},
        subscription={"status": DROP, "provisioned": DROP, "add_ons": DROP, "domain": DROP,
                      "change_in_progress": DROP, "eligible_for_change": DROP,
                      "other_problem": DROP})
    assert "error" not in record
    assert (record["currency"], record["rounding"]) == ("USD", "line-half-up")


# -------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("path", "value", "expected", "got"),
    [
        ("tenant.subscriptions[0].licenses", "10", "an integer", "a string"),
        ("tenant.subscriptions[0].licenses", True, "an integer", "a boolean"),  # bool != int
        ("tenant.subscriptions[0].licenses", 10.0, "an integer", "a number"),
        ("tenant.subscriptions[0].assigned", False, "an integer", "a boolean"),
        ("tenant.subscriptions[0].provisioned", 1, "a boolean", "an integer"),
        ("tenant.subscriptions[0].provisioned", "true", "a boolean", "a string"),
        ("tenant.subscriptions[0].other_problem", 0, "a boolean", "an integer"),
        ("tenant.subscriptions[0].anchor", 20260131, "a string", "an integer"),
        ("tenant.subscriptions[0].add_ons", "TEAMS_PHONE", "a list", "a string"),
        ("tenant.subscriptions[0].plan", ["BUSINESS_BASIC"], "a string", "a list"),
        ("tenant.credit_check_pending", "no", "a boolean", "a string"),
        ("tenant.unpaid_balance", 5, "a string", "an integer"),
        ("tenant.unpaid_balance", 0.5, "a string", "a number"),
        ("tenant.subscriptions", {}, "a list", "an object"),
        ("tenant.country", 1, "a string", "an integer"),
        ("request.licenses", True, "an integer", "a boolean"),
        ("request.licenses", "4", "an integer", "a string"),
        ("request.on", 1.5, "a string", "a number"),
        ("case_id", 42, "a string", "an integer"),
        ("currency", 840, "a string", "an integer"),
    ],
)
def test_wrong_type(path, value, expected, got):
    """Wrong JSON types are named: string vs integer vs boolean (True is not an int)."""
    record = evaluate_case(**overrides_at(path, value))
    assert error_of(record) == f"{path}: expected {expected}, got {got}"


def overrides_at(path: str, value: Any) -> dict[str, Any]:
    parts = path.split(".")
    if len(parts) == 1:
        return {parts[0]: value}
    if parts[0] == "request":
        return {"request": {parts[1]: value}}
    if len(parts) == 2:
        return {"tenant": {parts[1]: value}}
    return {"subscription": {parts[2]: value}}


@pytest.mark.parametrize("value", [[], "case", 3])
def test_tenant_and_request_must_be_objects(value):
    """`tenant` and `request` must be JSON objects."""
    for key in ("tenant", "request"):
        record = evaluate_case(**{key: value})
        error = error_of(record)
        assert error.startswith(f"{key}: "), error


def test_format_true_is_not_format_1():
    """`format` must be the integer 1: true (== 1 in Python) and "1" are rejected."""
    assert error_of(evaluate_case(format="1")).startswith("format: ")
    assert error_of(evaluate_case(format=2)).startswith("format: ")
    assert error_of(evaluate_case(format=True)).startswith("format: ")


# -------------------------------------------------------------------- enum values


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("tenant.billing_account", "EA"),
        ("tenant.payment_method", "cash"),
        ("tenant.subscriptions[0].status", "paused"),
        ("tenant.subscriptions[0].term", "P2Y"),
        ("tenant.subscriptions[0].billing_frequency", "weekly"),
        ("request.kind", "upgrade"),
        ("request.schedule", "later"),
        ("request.term", "p1y"),
        ("request.billing_frequency", "Monthly"),
        ("rounding", "bankers"),
    ],
)
def test_bad_enum_value(path, value):
    """Enum fields reject unknown values and list the allowed ones."""
    record = evaluate_case(**overrides_at(path, value))
    error = error_of(record)
    assert error.startswith(f"{path}: {value!r} is not one of "), error


def test_second_subscription_term_path():
    """The path names the list index: tenant.subscriptions[1].term."""
    record = evaluate_case(extra_subscriptions=[{"plan": "O365_E1", "term": "P5Y"}])
    assert error_of(record) == (
        "tenant.subscriptions[1].term: 'P5Y' is not one of P1M, P1Y, P3Y")
    with pytest.raises(CaseError) as info:
        parse_case(make_case(extra_subscriptions=[{"plan": "O365_E1", "term": "P5Y"}]))
    assert info.value.path == "tenant.subscriptions[1].term"


def test_billing_frequency_longer_than_term_P_CAL_05():
    """P-CAL-05: triennial billing does not fit a P1Y term."""
    assert_error("tenant.subscriptions[0].billing_frequency", "P-CAL-05",
                 subscription={"billing_frequency": "triennial"})
    assert_error("request.billing_frequency", "P-CAL-05",
                 tenant={"billing_account": "MCA"},
                 request={"term": "P1M", "billing_frequency": "annual"})


def test_unknown_open_incident_service():
    """`open_incidents` must name catalog services."""
    assert_error("tenant.open_incidents[1]", "unknown service",
                 tenant={"open_incidents": ["exchange", "warp_drive"]})


def test_unknown_country():
    """`country` must be a code with a holiday calendar (P-CAL-06)."""
    assert_error("tenant.country", "'XX'", tenant={"country": "XX"})


# -------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("tenant.subscriptions[0].anchor", "2026-02-30"),
        ("tenant.subscriptions[0].anchor", "2026/01/01"),
        ("tenant.subscriptions[0].anchor", "2026-1-31"),
        ("tenant.subscriptions[0].anchor", "31.01.2026"),
        ("tenant.subscriptions[0].anchor", "2026-01-31T00:00:00"),
        ("tenant.subscriptions[0].anchor", ""),
        ("request.on", "2026-02-29"),  # 2026 is not a leap year
        ("request.on", "2026-13-01"),
        ("request.on", "20260315"),
    ],
)
def test_bad_date(path, value):
    """Dates must be valid YYYY-MM-DD calendar dates (P-CAL-01)."""
    record = evaluate_case(**overrides_at(path, value))
    error = error_of(record)
    assert error.startswith(f"{path}: {value!r} is not a"), error


@pytest.mark.parametrize("on", ["2026-01-30", "2027-01-31", "2028-03-15"])
def test_request_on_outside_term(on):
    """`request.on` must fall inside the current term 2026-01-31..2027-01-30 (P-CAL-05)."""
    assert_error("request.on", "outside the current term", "2026-01-31..2027-01-30",
                 request={"on": on})


@pytest.mark.parametrize("on", ["2026-01-31", "2027-01-30"])
def test_request_on_term_edges_are_inside(on):
    """The first and the last day of the term are inside it."""
    assert "error" not in evaluate_case(request={"on": on})


# ------------------------------------------------------------------ plans, request


def test_unknown_subscription_plan():
    """A plan found neither in the built-in nor the case catalog is a bad input."""
    assert_error("tenant.subscriptions[0].plan", "unknown plan 'NOPE'",
                 subscription={"plan": "NOPE"})


def test_unknown_target_plan():
    """CASES.md: an unknown target plan is a bad input, not a blocker."""
    assert_error("request.target_plan", "unknown plan 'BUSINESS_ULTRA'",
                 request={"target_plan": "BUSINESS_ULTRA"})


def test_unknown_request_subscription():
    """`request.subscription_id` must name a subscription of the tenant."""
    assert_error("request.subscription_id", "'s-9'", request={"subscription_id": "s-9"})


def test_mosa_partial_move_R_PATH_01():
    """R-PATH-01/02: fewer licenses than held is a partial move: MCA only."""
    assert_error("request.licenses", "MCA only", request={"licenses": 4})
    assert "error" not in evaluate_case(tenant={"billing_account": "MCA"},
                                        request={"licenses": 4})


def test_renewal_schedule_on_mosa_R_AUTO_02():
    """R-AUTO-02: scheduling at renewal is an MCA option."""
    assert_error("request.schedule", "MCA", request={"schedule": "renewal"})


def test_same_plan_same_term_is_nothing_to_change():
    """A change to the same plan, term and frequency is a bad request."""
    assert_error("request.target_plan", "nothing to change",
                 request={"target_plan": "BUSINESS_BASIC"})


@pytest.mark.parametrize("licenses", [10, 11])
def test_reduce_to_current_or_more_P_CHG_07(licenses):
    """P-CHG-07: a reduction must lower the count (10 held)."""
    assert_error("request.licenses", "fewer than the 10",
                 subscription={"assigned": 3},
                 request={"kind": "reduce", "licenses": licenses, "target_plan": DROP})


def test_reduce_below_assigned_INV_06():
    """INV-06: reducing below the assigned licenses (7) is rejected."""
    assert_error("request.licenses", "below the 7 assigned",
                 subscription={"assigned": 7},
                 request={"kind": "reduce", "licenses": 6, "target_plan": DROP})
    assert "error" not in evaluate_case(
        subscription={"assigned": 7},
        request={"kind": "reduce", "licenses": 7, "target_plan": DROP})


@pytest.mark.parametrize("field", ["target_plan", "term", "billing_frequency", "schedule",
                                   "licenses"])
def test_cancel_rejects_change_fields(field):
    """A cancel request takes no change fields."""
    value = {"target_plan": "BUSINESS_STANDARD", "term": "P1Y",
             "billing_frequency": "monthly", "schedule": "now", "licenses": 3}[field]
    request = {"kind": "cancel", "target_plan": DROP, field: value}
    assert_error(f"request.{field}", "not used by a 'cancel' request", request=request)


@pytest.mark.parametrize(("path", "value", "fragment"), [
    ("tenant.subscriptions[0].licenses", 0, "must be >= 1"),
    ("tenant.subscriptions[0].assigned", -1, "must be >= 0"),
    ("request.licenses", 0, "must be >= 1"),
])
def test_counts_out_of_range(path, value, fragment):
    """License counts: at least 1 license, at least 0 assigned."""
    record = evaluate_case(**overrides_at(path, value))
    assert error_of(record) == f"{path}: {fragment}, got {value}"


def test_empty_subscriptions():
    """A tenant needs at least one subscription."""
    assert_error("tenant.subscriptions", "at least one", tenant={"subscriptions": []})


# ----------------------------------------------------------------------- money


def test_unknown_currency_P_MONEY_02():
    """P-MONEY-02: the currency must be an ISO 4217 code."""
    assert_error("currency", "ISO 4217", currency="XXY")
    assert_error("currency", "ISO 4217", currency="usd")


def test_unpaid_balance_too_many_decimals_P_MONEY_02():
    """P-MONEY-02: more fraction digits than the currency's minor unit is an error."""
    assert_error("tenant.unpaid_balance", "more than 2 decimal places",
                 tenant={"unpaid_balance": "1.005"})
    assert_error("tenant.unpaid_balance", "more than 0 decimal places",
                 currency="JPY", tenant={"unpaid_balance": "1.5"})
    assert "error" not in evaluate_case(currency="JPY", tenant={"unpaid_balance": "1500"})
    assert "error" not in evaluate_case(currency="KWD", tenant={"unpaid_balance": "1.005"})


@pytest.mark.parametrize("value", ["abc", "-1.00", "NaN", "Infinity", ""])
def test_unpaid_balance_not_a_non_negative_amount(value):
    """`unpaid_balance` is a non-negative, finite decimal string."""
    assert_error("tenant.unpaid_balance", tenant={"unpaid_balance": value})


def test_amounts_use_currency_minor_unit_P_MONEY_02():
    """P-MONEY-02: JPY verdict amounts have no fraction digits."""
    record = evaluate_case(currency="JPY")
    assert record["net"].lstrip("-").isdigit()
    assert all("." not in line["amount"] for line in record["lines"])


# ------------------------------------------------------------------ subscriptions


def test_duplicate_subscription_ids():
    """Subscription ids are unique within a tenant; the second is named."""
    assert_error("tenant.subscriptions[1].subscription_id", "duplicate id 's-1'",
                 extra_subscriptions=[{"subscription_id": "s-1", "plan": "O365_E1"}])


def test_unknown_addon_without_blocks_change_R_ELIG_08():
    """R-ELIG-08: an add-on not in the catalog must say whether it blocks."""
    assert_error("tenant.subscriptions[0].add_ons[0].blocks_change", "missing", "'MYSTERY'",
                 subscription={"add_ons": [{"sku": "MYSTERY"}]})
    assert_error("tenant.subscriptions[0].add_ons[1].sku", "missing",
                 subscription={"add_ons": [{"sku": "TEAMS_PHONE"}, {"blocks_change": True}]})
    assert_error("tenant.subscriptions[0].add_ons[0].blocks_change", "a boolean",
                 subscription={"add_ons": [{"sku": "MYSTERY", "blocks_change": "yes"}]})


# ---------------------------------------------------------------- case catalogs


def test_case_plan_replaces_builtin_plan():
    """CASES.md: a case plan with a built-in id replaces it (here a cheaper BASIC)."""
    cheap = plan(id="BUSINESS_BASIC", prices={"P1M": "1.20", "P1Y": "1.00"})
    record = evaluate_case(catalog={"plans": [cheap]})
    # credit of the replaced plan: 1.00 * 10 * 16/31 = 160/31 = 5.161 -> -5.16
    assert record["lines"][0]["amount"] == "-5.16"


def test_case_plan_is_added():
    """A case plan with a new id is added beside the built-in ones."""
    record = evaluate_case(catalog={"plans": [plan()]}, request={"target_plan": "BASIC2"})
    assert "error" not in record
    assert record["lines"][1]["plan"] == "BASIC2"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (plan(services={"exchange": 2, "hyperdrive": 1}),
         "catalog.plans[0].services.hyperdrive: unknown service"),
        (plan(prices={"P1M": "-1.00", "P1Y": "6.00"}),
         "catalog.plans[0].prices.P1M: negative price -1.00"),
        (plan(prices={"P1M": "7.20"}),
         "catalog.plans[0].prices.P1Y: missing price for term P1Y"),
        (plan(prices={"P1M": "7.20", "P1Y": "6.00", "P2Y": "5.00"}),
         "catalog.plans[0].prices.P2Y: unknown term (expected one of P1M, P1Y, P3Y)"),
        (plan(id=DROP), "catalog.plans[0].id: missing"),
        (plan(sector="military"), "catalog.plans[0].sector: 'military' is not one of"),
        (plan(services={"exchange": 0}), "catalog.plans[0].services.exchange: level must"),
        (plan(data_services=["onedrive"]),
         "catalog.plans[0].data_services[0]: 'onedrive' is not a service of the plan"),
    ],
)
def test_bad_case_plan_names_catalog_path(entry, expected):
    """A bad case-level plan gives a clear error naming catalog.plans[0]...."""
    record = evaluate_case(catalog={"plans": [entry]})
    assert error_of(record).startswith(expected), record


def test_bad_second_case_plan_index():
    """The index of the bad plan is named: catalog.plans[1]."""
    record = evaluate_case(catalog={"plans": [plan(), plan(id="X", prices={"P1M": "-2"})]})
    assert error_of(record).startswith("catalog.plans[1].prices.P1M: negative price")


def test_case_plan_price_must_be_string_not_float_P_MONEY_01():
    """P-MONEY-01: a price given as a JSON float is rejected (no float money)."""
    record = evaluate_case(catalog={"plans": [plan(prices={"P1M": 7.2, "P1Y": "6.00"})]})
    assert error_of(record).startswith("catalog.plans[0].prices.P1M: ")


def test_case_plan_product_must_be_a_string():
    """`product` is a string naming the product (R-ELIG-05 compares it)."""
    record = evaluate_case(catalog={"plans": [plan(product=["BASIC"])]})
    assert error_of(record).startswith("catalog.plans[0].product: ")


def test_case_catalog_not_an_object():
    """`catalog` must be an object with a `plans` list."""
    assert error_of(evaluate_case(catalog=[])).startswith("catalog: ")
    assert error_of(evaluate_case(catalog={})) == "catalog.plans: missing"
    assert error_of(evaluate_case(catalog={"plans": [3]})).startswith("catalog.plans[0]: ")


def test_case_catalog_with_custom_base():
    """``parse_case(raw, base)``: the case catalog is merged into the given base, even
    when the same case plans were seen before with another base."""
    base = builtin_catalog().with_plans([parse_case(make_case(
        catalog={"plans": [plan(id="ONLY_IN_BASE")]})).catalog.plan("ONLY_IN_BASE")])
    raw = make_case(catalog={"plans": [plan(id="SHARED")]},
                    request={"target_plan": "ONLY_IN_BASE"})
    assert "error" in evaluate_json(raw)  # not in the built-in catalog
    record = evaluate_json(raw, base)
    assert "error" not in record, record
    assert record["lines"][1]["plan"] == "ONLY_IN_BASE"


# ------------------------------------------------------------- non-object cases


@pytest.mark.parametrize("raw", [None, [], [make_case()], "case", 7, 1.5, True])
def test_non_object_case(raw):
    """A case that is not a JSON object gives an error record, case_id null."""
    record = evaluate_json(raw)
    assert record["case_id"] is None
    assert "expected an object" in error_of(record)


# -------------------------------------------------------- extreme values (no crash)


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"subscription": {"anchor": "9999-06-01"}, "request": {"on": "9999-06-02"}},
         "tenant.subscriptions[0].anchor", "1900..2999"),
        ({"subscription": {"anchor": "9998-12-31"}, "request": {"on": "9999-12-30"}},
         "tenant.subscriptions[0].anchor", "1900..2999"),
        ({"subscription": {"anchor": "9998-12-31"},
          "request": {"kind": "cancel", "on": "9999-12-30", "target_plan": DROP}},
         "tenant.subscriptions[0].anchor", "1900..2999"),
        ({"tenant": {"unpaid_balance": "1e999999"}}, "tenant.unpaid_balance", "out of range"),
        ({"tenant": {"unpaid_balance": "1e-999999999"}}, "tenant.unpaid_balance", "range"),
        ({"subscription": {"licenses": 10**30, "assigned": 0}},
         "tenant.subscriptions[0].licenses", "10,000,000"),
        ({"catalog": {"plans": [plan(id="BUSINESS_BASIC",
                                     prices={"P1M": "1", "P1Y": "1e400"})]}},
         "catalog.plans[0].prices.P1Y", "out of range"),
    ],
    ids=["anchor-9999", "on-9999-12-30", "cancel-9999", "balance-1e999999",
         "balance-tiny", "licenses-1e30", "price-1e400"],
)
def test_extreme_values_are_errors_naming_their_field(overrides, path, fragment):
    """Out-of-range input is an error record naming the field and the bound it breaks
    (years 1900..2999, MAX_MINOR, 10,000,000 licenses), never an exception or a verdict."""
    record = evaluate_case(**overrides)
    error = error_of(record)
    assert error.startswith(f"{path}: "), error
    assert fragment in error, error


# ---------------------------------------------------------------- hypothesis

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)

INTERESTING = st.sampled_from([
    None, True, False, 0, 1, -1, 2, 10, 11, 10**12, 1.5, "", "x", "2026-02-30",
    "2026/01/01", "2026-01-31", "2026-03-15", "2027-01-30", "0001-01-01", "9999-12-31",
    "P1M", "P1Y", "P3Y", "monthly", "annual", "triennial", "MCA", "MOSA", "invoice", "card",
    "change", "cancel", "reduce", "now", "renewal", "BUSINESS_BASIC", "O365_E3",
    "APPS_FOR_BUSINESS", "O365_G1", "exchange", "s-1", "s-2", "0.00", "1.005", "-1", "NaN",
    "1e999999", [], {}, [{}], {"sku": "X"},
])

# Any date, with the edges of the calendar (years 1 and 9999) drawn often.
DATES = st.one_of(st.dates(), st.dates(max_value=date(2, 12, 31)),
                  st.dates(min_value=date(9998, 1, 1))).map(date.isoformat)


def base_cases() -> list[dict[str, Any]]:
    return [
        make_case(),
        make_case(tenant={"billing_account": "MCA", "payment_method": "invoice"},
                  request={"licenses": 4, "term": "P1M"}),
        make_case(tenant={"billing_account": "MCA"}, request={"schedule": "renewal"}),
        make_case(subscription={"anchor": "2026-01-10"},
                  request={"kind": "cancel", "on": "2026-01-20", "target_plan": DROP}),
        make_case(subscription={"anchor": "2026-01-10", "assigned": 3},
                  tenant={"billing_account": "MCA"},
                  request={"kind": "reduce", "on": "2026-01-20", "licenses": 4,
                           "target_plan": DROP}),
        make_case(catalog={"plans": [plan()]},
                  subscription={"add_ons": [{"sku": "TEAMS_PHONE"}]},
                  extra_subscriptions=[{"plan": "BASIC2"}]),
    ]


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every (container path) of a JSON value, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def mutated_cases(draw: st.DrawFn) -> Any:
    case = copy.deepcopy(draw(st.sampled_from(base_cases())))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        targets = paths(case)
        path = draw(st.sampled_from(targets))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        value = draw(st.one_of(INTERESTING, JSON, DATES))
        if not path:
            case = value if action == "replace" else case
            continue
        parent = case
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace":
            parent[path[-1]] = value
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = value
        else:
            parent.append(value)
    return case


def assert_record(record: Any) -> None:
    assert isinstance(record, dict)
    if "error" in record:
        assert set(record) == {"case_id", "error"}
        assert isinstance(record["error"], str) and record["error"]
        assert record["case_id"] is None or isinstance(record["case_id"], str)
    else:
        assert record["format"] == 1
        assert record["kind"] in ("change", "cancel", "reduce")


def fast(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@fast(150)
@given(JSON)
def test_random_json_never_raises(raw):
    """Any JSON value gives an error record (or a verdict), never an exception."""
    assert_record(evaluate_json(raw))


@fast(250)
@given(mutated_cases())
def test_mutated_case_never_raises(raw):
    """Mutations of valid cases (replace, delete, add) give a verdict or an error record."""
    assert_record(evaluate_json(raw))


@fast(100)
@given(st.sampled_from(["subscription", "request"]),
       st.sampled_from(["anchor", "on"]), DATES)
def test_any_date_never_raises(where, key, day):
    """Any calendar date as anchor or request day: a verdict or an error record."""
    if where == "subscription" and key == "anchor":
        raw = make_case(subscription={"anchor": day})
    elif where == "request" and key == "on":
        raw = make_case(request={"on": day})
    else:
        raw = make_case(subscription={"anchor": day}, request={"on": day})
    assert_record(evaluate_json(raw))


# ------------------------------------------------ semantic bounds (issue 7, part 4)


def test_change_cannot_move_more_licenses_than_held_R_PATH_02():
    """R-PATH-01/02: a change moves at most the licenses held; 21 of 20 is bad input
    (it would charge 21 and credit 20). Exactly the 20 held is a verdict."""
    mca = {"billing_account": "MCA"}
    assert_error("request.licenses", "at most the 10 licenses held, got 11",
                 tenant=mca, request={"licenses": 11})
    assert_error("request.licenses", "at most the 20 licenses held, got 21",
                 tenant=mca, subscription={"licenses": 20, "assigned": 20},
                 request={"licenses": 21})
    assert "error" not in evaluate_case(tenant=mca, subscription={"licenses": 20,
                                                                  "assigned": 20},
                                        request={"licenses": 20})


@pytest.mark.parametrize("path, overrides", [
    ("tenant.subscriptions[0].licenses", {"subscription": {"licenses": 10_000_001}}),
    ("tenant.subscriptions[0].assigned", {"subscription": {"assigned": 10_000_001}}),
    ("request.licenses", {"tenant": {"billing_account": "MCA"},
                          "request": {"licenses": 10**40}}),
])
def test_counts_above_ten_million_are_errors(path, overrides):
    """Counts are bounded at 10,000,000 (stated in the message), never an overflow."""
    assert_error(path, "must be <= 10,000,000", **overrides)


def test_counts_at_the_bound_are_accepted():
    """10,000,000 licenses and assigned users is still a valid case."""
    record = evaluate_case(subscription={"licenses": 10_000_000, "assigned": 10_000_000})
    assert "error" not in record, record


def test_unpaid_balance_bound_is_max_minor():
    """unpaid_balance is at most MAX_MINOR = 10^18 - 1 minor units: 9999999999999999.99
    USD is accepted, one cent more is an error that states the bound."""
    assert "error" not in evaluate_case(tenant={"unpaid_balance": "9999999999999999.99"})
    assert_error("tenant.unpaid_balance", "at most 9999999999999999.99",
                 tenant={"unpaid_balance": "10000000000000000.00"})


@pytest.mark.parametrize("currency, limit, over", [
    ("USD", "10000000.00", "10000000.01"),  # 10^9 cents
    ("JPY", "1000000000", "1000000001"),  # no minor unit: 10^9 yen
    ("KWD", "1000000.000", "1000000.001"),  # 3 digits: 10^9 fils
])
def test_price_bound_per_currency(currency, limit, over):
    """A catalog price is at most 10^9 minor units per license per month."""
    at_limit = {"catalog": {"plans": [plan(prices={"P1M": "1", "P1Y": limit})]},
                "request": {"target_plan": "BASIC2"}, "currency": currency}
    assert "error" not in evaluate_case(**at_limit), evaluate_case(**at_limit)
    above = {"catalog": {"plans": [plan(prices={"P1M": "1", "P1Y": over})]},
             "request": {"target_plan": "BASIC2"}, "currency": currency}
    assert_error("catalog.plans[0].prices.P1Y", f"above the bound of {limit}", **above)


def test_worst_case_amounts_stay_within_max_minor():
    """At every bound at once (10^7 licenses, 10^9 minor units a month, a P3Y term billed
    triennially, cancelled on day 0), amounts are at most 3.6 * 10^17 minor units:
    10^9 * 36 * 10^7 = 3.6e17 < MAX_MINOR = 10^18 - 1 (worked by hand)."""
    worst = {"catalog": {"plans": [plan(id="BUSINESS_BASIC",
                                        prices={"P1M": "10000000.00", "P1Y": "10000000.00",
                                                "P3Y": "10000000.00"})]},
             "subscription": {"licenses": 10_000_000, "assigned": 0, "term": "P3Y",
                              "billing_frequency": "triennial", "anchor": "2026-03-15"},
             "request": {"kind": "cancel", "target_plan": DROP}}
    record = evaluate_case(**worst)
    assert "error" not in record, record
    amounts = [line["amount"] for line in record["lines"]] + [record["net"]]
    cents = [abs(int(amount.replace(".", ""))) for amount in amounts]
    assert max(cents) <= 36 * 10**9 * 10**7 < 10**18 - 1


@pytest.mark.parametrize("path, overrides", [
    ("case_id", {"case_id": ""}),
    ("tenant.tenant_id", {"tenant": {"tenant_id": ""}}),
    ("tenant.subscriptions[0].subscription_id", {"subscription": {"subscription_id": ""},
                                                 "request": {"subscription_id": ""}}),
])
def test_empty_identifiers_are_errors(path, overrides):
    assert_error(path, "must not be empty", **overrides)


def test_duplicate_add_on_and_plan_id_are_errors():
    """The same add-on twice on a subscription (R-ELIG-08 input) or the same plan id
    twice in a case catalog is nonsense, named by its path."""
    assert_error("tenant.subscriptions[0].add_ons[1].sku", "duplicate add-on 'X'",
                 subscription={"add_ons": [{"sku": "X", "blocks_change": False},
                                           {"sku": "X", "blocks_change": False}]})
    assert_error("catalog.plans[1].id", "duplicate plan id 'BASIC2'",
                 catalog={"plans": [plan(), plan()]})


def test_too_many_subscriptions_is_an_error():
    extra = [{"subscription_id": f"s-{n}"} for n in range(2, 10_002)]
    assert_error("tenant.subscriptions", "at most 10,000 subscriptions, got 10,001",
                 extra_subscriptions=extra)
