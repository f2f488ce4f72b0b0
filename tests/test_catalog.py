"""The product catalog (RULES.md section 1, NUMBERS.md "Prices", R-ELIG-06/07/08/13).

The built-in catalog is data (sim/data/catalog.toml); ``load_catalog`` validates a TOML
file and names the offending key path in every error.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sim.rules.catalog import CatalogError, builtin_catalog, load_catalog
from sim.rules.money import Price

CATALOG = builtin_catalog()

# NUMBERS.md "Prices": (annual, monthly) USD per user per month, reseller-reported.
NUMBERS_PRICES = {
    "BUSINESS_BASIC": ("6.00", "7.20"),
    "BUSINESS_STANDARD": ("12.50", "15.00"),
    "BUSINESS_PREMIUM": ("22.00", "26.40"),
    "O365_E1": ("10.00", "12.00"),
    "O365_E3": ("23.00", "27.60"),
    "O365_E5": ("38.00", "45.60"),
    "M365_E3": ("36.00", "43.20"),
}


def names() -> str:
    return " | ".join(plan.name for plan in CATALOG.plans.values())


# ------------------------------------------------------------------- built-in data


def test_builtin_has_at_least_14_plans():
    """The built-in catalog has >= 14 plans."""
    assert len(CATALOG.plans) >= 14


@pytest.mark.parametrize("family", [
    "Business Basic", "Business Standard", "Business Premium", "Apps for business",
    "Office 365 E1", "Office 365 E3", "Office 365 E5", "Microsoft 365 E3",
    "Microsoft 365 E5", "Microsoft 365 F1", "Microsoft 365 F3",
])
def test_builtin_covers_plan_family(family):
    """Each plan family of the issue has a commercial plan in the catalog."""
    assert any(plan.name.endswith(family) or plan.name == family
               for plan in CATALOG.plans.values() if plan.sector == "commercial"), names()


def test_builtin_government_and_nonprofit_plans_R_ELIG_06():
    """R-ELIG-06: >= 1 government and >= 2 nonprofit plans, flagged as such."""
    government = [p for p in CATALOG.plans.values() if p.sector == "government"]
    nonprofit = [p for p in CATALOG.plans.values() if p.sector == "nonprofit"]
    assert len(government) >= 1
    assert len(nonprofit) >= 2
    assert all(p.is_government_or_nonprofit for p in government + nonprofit)
    assert not any(p.is_government_or_nonprofit for p in CATALOG.plans.values()
                   if p.sector == "commercial")


def test_builtin_addons_some_blocking_R_ELIG_08():
    """R-ELIG-08: >= 6 add-ons, some blocking the change and some not."""
    assert len(CATALOG.add_ons) >= 6
    blocking = {a.id for a in CATALOG.add_ons.values() if a.blocks_change}
    assert blocking
    assert blocking != set(CATALOG.add_ons)
    assert "EXCHANGE_ARCHIVING" in blocking
    assert not CATALOG.add_ons["TEAMS_PHONE"].blocks_change


@pytest.mark.parametrize(("plan_id", "prices"), NUMBERS_PRICES.items())
def test_builtin_prices_match_numbers_md(plan_id, prices):
    """NUMBERS.md prices, as exact decimals (P-MONEY-01): P1Y annual, P1M monthly."""
    plan = CATALOG.plan(plan_id)
    annual, monthly = prices
    assert plan.prices["P1Y"] == Decimal(annual)
    assert plan.prices["P1M"] == Decimal(monthly)
    assert plan.price_source == "3p"


def test_builtin_prices_are_decimal_and_non_negative_P_MONEY_01():
    """P-MONEY-01: every price is a Decimal, never a float; P1M and P1Y are present."""
    for plan in CATALOG.plans.values():
        assert {"P1M", "P1Y"} <= set(plan.prices)
        for value in plan.prices.values():
            assert isinstance(value, Decimal)
            assert value >= 0


def test_data_services_of_builtin_plans_R_ELIG_07():
    """R-ELIG-07: Exchange and SharePoint are the data services; Apps for business has
    no mailbox (NUMBERS.md "Data-related services")."""
    assert {s.id for s in CATALOG.services.values() if s.data} == {"exchange", "sharepoint"}
    assert CATALOG.plan("BUSINESS_BASIC").data_services == {"exchange", "sharepoint"}
    assert CATALOG.plan("APPS_FOR_BUSINESS").data_services == frozenset()
    assert "exchange" not in CATALOG.plan("APPS_FOR_BUSINESS").services


# ------------------------------------------------------------------------ prices


def test_price_p3y_falls_back_to_p1y():
    """CASES.md: a plan's P3Y price falls back to its P1Y price when not given."""
    basic = CATALOG.plan("BUSINESS_BASIC")
    assert "P3Y" not in basic.prices
    assert basic.price("P3Y") == basic.price("P1Y") == Price(6, 1)
    assert basic.price("P1M") == Price.from_decimal(Decimal("7.20"))


def test_price_p3y_given_is_used():
    """A plan with its own P3Y price uses it (M365_E3: P3Y 36.00)."""
    assert CATALOG.plan("M365_E3").price("P3Y") == Price(36, 1)


def test_price_unknown_term():
    """A term other than P1M/P1Y/P3Y has no price."""
    with pytest.raises(KeyError):
        CATALOG.plan("BUSINESS_BASIC").price("P2Y")


# ------------------------------------------------------------------- load_catalog

VALID = """\
format = 1
currency = "USD"

[services]
exchange = { data = true }
sharepoint = { data = true }
teams = { data = false }

[plans.BASIC]
name = "Basic"
sector = "commercial"
services = { exchange = 1, sharepoint = 1, teams = 1 }
prices = { P1M = "7.20", P1Y = "6.00" }

[add_ons.ARCHIVE]
blocks_change = true
prices = { P1M = "3.60", P1Y = "3.00" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_valid_catalog(tmp_path):
    """A minimal valid TOML catalog loads; data services default to `data = true` ones."""
    catalog = load_catalog(write(tmp_path, VALID))
    basic = catalog.plan("BASIC")
    assert basic.data_services == {"exchange", "sharepoint"}
    assert basic.price("P3Y") == Price(6, 1)
    assert catalog.add_ons["ARCHIVE"].blocks_change is True


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # unknown service
        ("services = { exchange = 1, sharepoint = 1, teams = 1 }",
         "services = { exchange = 1, warp = 1 }",
         "catalog.plans.BASIC.services.warp: unknown service"),
        # negative price
        ('prices = { P1M = "7.20", P1Y = "6.00" }', 'prices = { P1M = "7.20", P1Y = "-6.00" }',
         "catalog.plans.BASIC.prices.P1Y: negative price -6.00"),
        # missing term
        ('prices = { P1M = "7.20", P1Y = "6.00" }', 'prices = { P1M = "7.20" }',
         "catalog.plans.BASIC.prices.P1Y: missing price for term P1Y"),
        # unknown key in a plan
        ('sector = "commercial"', 'sector = "commercial"\ncolour = "blue"',
         "catalog.plans.BASIC.colour: unknown key"),
        # unknown key at the top level
        ("format = 1", "format = 1\nvendor = \"x\"", "catalog.vendor: unknown key"),
        # unknown key in a service
        ("teams = { data = false }", "teams = { data = false, level = 2 }",
         "catalog.services.teams.level: unknown key"),
        # add-on: missing term, negative price, missing blocks_change
        ('prices = { P1M = "3.60", P1Y = "3.00" }', 'prices = { P1Y = "3.00" }',
         "catalog.add_ons.ARCHIVE.prices.P1M: missing price for term P1M"),
        ('prices = { P1M = "3.60", P1Y = "3.00" }', 'prices = { P1M = "-3.60", P1Y = "3.00" }',
         "catalog.add_ons.ARCHIVE.prices.P1M: negative price -3.60"),
        ("blocks_change = true", "", "catalog.add_ons.ARCHIVE.blocks_change: missing"),
        # wrong types and values
        ('sector = "commercial"', 'sector = "military"',
         "catalog.plans.BASIC.sector: 'military' is not one of"),
        ('P1Y = "6.00" }', "P1Y = 6.0 }", "catalog.plans.BASIC.prices.P1Y: "),
        ('prices = { P1M = "7.20", P1Y = "6.00" }',
         'prices = { P1M = "7.20", P1Y = "6.00", P5Y = "5.00" }',
         "catalog.plans.BASIC.prices.P5Y: unknown term"),
        ("teams = 1 }", "teams = 0 }", "catalog.plans.BASIC.services.teams: level must"),
        ("exchange = { data = true }", 'exchange = { data = "yes" }',
         "catalog.services.exchange.data: expected bool"),
        ("format = 1", "format = 2", "catalog.format: unsupported catalog format"),
    ],
)
def test_load_bad_catalog_names_key_path(tmp_path, old, new, expected):
    """``load_catalog`` raises CatalogError whose message starts with the key path."""
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(info.value).startswith(expected), str(info.value)


def test_load_bad_toml_syntax(tmp_path):
    """A TOML syntax error is a CatalogError naming the file."""
    path = write(tmp_path, "[plans.BASIC\nsector = ")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(path) in str(info.value)


def test_load_missing_sections(tmp_path):
    """`services` and `plans` are required tables."""
    with pytest.raises(CatalogError, match=r"^catalog\.services: missing"):
        load_catalog(write(tmp_path, "format = 1\n"))
    with pytest.raises(CatalogError, match=r"^catalog\.plans: missing"):
        load_catalog(write(tmp_path, "[services]\nexchange = { data = true }\n"))


def test_catalog_error_is_value_error():
    """CatalogError is a ValueError (callers may catch either)."""
    assert issubclass(CatalogError, ValueError)
