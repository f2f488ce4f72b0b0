"""Local currencies (issue 12, part 4): price lists per currency, per-currency reports.

Expected values come from the catalog's TOML read with tomllib, Decimal arithmetic with
ISO 4217 minor units written by hand, and integer sums over the raw Parquet ledger.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.fleet.runner import run_scenario
from sim.fleet.scenario import ScenarioError, load_scenario
from sim.report import FxError, build_report, load_fx
from sim.rules.catalog import CatalogError, builtin_catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent
CATALOG_TOML = ROOT / "sim" / "rules" / "data" / "catalog.toml"
ISO_DIGITS = {"USD": 2, "EUR": 2, "GBP": 2, "SEK": 2, "JPY": 0}  # ISO 4217, by hand


def _raw_catalog() -> dict:
    return tomllib.loads(CATALOG_TOML.read_text())


# ------------------------------------------------------------------------ price lists


def test_price_lists_in_five_currencies_with_their_minor_units_p_money_02():
    """local = round_half_up(usd * rate, minor unit): the rule stated in the catalog."""
    raw = _raw_catalog()
    lists = raw["price_lists"]
    assert lists["source"] == "model" and lists["rounding"] == "half-up"
    catalog = builtin_catalog()
    assert set(catalog.currencies) >= set(ISO_DIGITS)
    for plan_id, entry in raw["plans"].items():
        plan = catalog.plan(plan_id)
        for term, usd in entry["prices"].items():
            assert plan.price(term) == plan.price(term, "USD")  # the old call still works
            assert Fraction(Decimal(usd)) == Fraction(*plan.price(term))
            for currency, rate in lists["rates"].items():
                quantum = Decimal(1).scaleb(-ISO_DIGITS[currency])
                expected = (Decimal(usd) * Decimal(rate)).quantize(quantum, ROUND_HALF_UP)
                assert plan.prices_in(currency)[term] == expected, (plan_id, currency)
                assert Fraction(*plan.price(term, currency)) == Fraction(expected)
                if currency == "JPY":
                    assert expected == expected.to_integral_value()


def test_business_basic_by_hand():
    plan = builtin_catalog().plan("BUSINESS_BASIC")  # USD 7.20 monthly, 6.00 annual
    assert plan.prices_in("JPY") == {"P1M": Decimal("1080"), "P1Y": Decimal("900")}
    assert plan.prices_in("GBP")["P1M"] == Decimal("5.69")  # 7.20 * 0.79 = 5.688
    assert plan.prices_in("SEK")["P1M"] == Decimal("75.60")
    assert plan.price("P3Y", "EUR") == plan.price("P1Y", "EUR")  # P3Y falls back to P1Y
    with pytest.raises(KeyError, match="no CHF price list"):
        plan.price("P1M", "CHF")


@pytest.mark.parametrize(("country", "currency"), [
    ("US", "USD"), ("GB", "GBP"), ("DE", "EUR"), ("FR", "EUR"), ("SE", "SEK"), ("JP", "JPY"),
    ("BR", "USD")])  # unlisted countries are billed from the base list
def test_tenants_billed_in_their_countrys_currency(country, currency):
    assert builtin_catalog().currency_of(country) == currency


def test_plans_added_to_the_catalog_get_local_prices():
    catalog = builtin_catalog()
    base = catalog.plan("O365_E1")
    extra = type(base)(id="CUSTOM", name="Custom", product="Custom", sector="commercial",
                       services=base.services, data_services=base.data_services,
                       prices=base.prices, exact_prices=base.exact_prices)
    merged = catalog.with_plans([extra])
    assert merged.plan("CUSTOM").prices_in("JPY") == catalog.plan("O365_E1").prices_in("JPY")


@pytest.mark.parametrize(("edit", "message"), [
    ('rates = { XYZ = "1.0" }', "catalog.price_lists.rates.XYZ: "),
    ('rates = { EUR = "-1" }', "catalog.price_lists.rates.EUR: rate must be > 0"),
    ('rates = { EUR = "0.92" }\ncountries = { JP = "JPY" }',
     "catalog.price_lists.countries.JP: no price list for 'JPY'"),
    ('rates = { EUR = "0.92" }\nrounding = "up"', "catalog.price_lists.rounding: 'up'"),
])
def test_bad_price_lists_name_the_key(tmp_path, edit, message):
    text = CATALOG_TOML.read_text()
    start = text.index("[price_lists]")
    end = text.index("[services]")
    path = tmp_path / "catalog.toml"
    path.write_text(text[:start] + "[price_lists]\n" + edit + "\n\n" + text[end:])
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    assert str(error.value).startswith(message)


# ------------------------------------------------------------- per-currency reports


def _rewrite_currency(run: Path, table_name: str, assign) -> pd.DataFrame:
    """Relabel each row's currency of one record table (by tenant), fix the manifest."""
    path = run / "records" / f"{table_name}.parquet"
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame["currency"] = [assign(tenant) for tenant in frame["tenant_id"]]
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["tables"][table_name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (run / "manifest.json").write_text(json.dumps(manifest))
    return frame


@pytest.fixture(scope="module")
def two_currency_run(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A synthetic two-currency run: a USD-only run whose tenants are relabelled JPY or
    USD (ledger lines and change rows alike), so expected totals are known by tenant."""
    run = tmp_path_factory.mktemp("currencies") / "run"
    scenario = load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                             ["run.tenants=400", "run.currency=USD"])
    run_scenario(scenario, run)

    def assign(tenant: str) -> str:
        return "JPY" if int(hashlib.sha256(tenant.encode()).hexdigest(), 16) % 2 else "USD"

    ledger = _rewrite_currency(run, "ledger", assign)
    _rewrite_currency(run, "changes", assign)
    build_report(run, plots=False)
    return run, ledger


def _exact(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-ISO_DIGITS[currency])


def test_each_currency_totals_equal_the_exact_sum_of_its_lines(two_currency_run):
    run, ledger = two_currency_run
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    assert metrics["finance.currencies"]["value"] == "JPY, USD"
    for currency in ("JPY", "USD"):
        amounts = [int(v) for v in ledger.loc[ledger["currency"] == currency, "amount_minor"]]
        assert len(amounts) > 10
        for name, expected in (("credits", sum(v for v in amounts if v < 0)),
                               ("charges", sum(v for v in amounts if v > 0)),
                               ("net", sum(amounts))):
            metric = metrics[f"finance.{name}.total.{currency}"]
            assert metric["unit"] == currency
            assert Decimal(metric["value"]) == _exact(expected, currency)
            if currency == "JPY":
                assert "." not in metric["value"]


def test_no_money_figure_sums_across_currencies(two_currency_run):
    run, ledger = two_currency_run
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    for name, metric in metrics.items():
        if metric["unit"] in ISO_DIGITS:
            assert name.endswith("." + metric["unit"]), name  # every money metric is one currency
    assert not any(name.endswith(".converted") for name in metrics)  # no --fx given
    # Every money table is grouped by currency, and each currency's rows add up to it.
    tables = {p.stem: pd.read_csv(p) for p in (run / "tables").glob("*.csv")}
    for name, table in tables.items():
        if any(column.endswith("_minor") for column in table.columns):
            assert "currency" in table.columns, name
    for name in ("finance_by_account", "finance_by_rule", "finance_by_payment_method"):
        table = tables[name]
        for currency in ("JPY", "USD"):
            expected = sum(int(v) for v in ledger.loc[ledger["currency"] == currency,
                                                      "amount_minor"])
            assert int(table.loc[table["currency"] == currency, "net_minor"].sum()) == expected
    # The cross-currency sum (yen and cents added up) appears nowhere.
    cross = sum(int(v) for v in ledger["amount_minor"])
    digits = re.compile(rf"(?<![\d,.]){cross}(?![\d])|{cross:,}")
    for path in [run / "summary.json", run / "report.md", *(run / "tables").glob("*.csv")]:
        assert not digits.search(path.read_text()), path.name


def test_fx_table_converts_and_labels_the_converted_totals(two_currency_run, tmp_path):
    run, ledger = two_currency_run
    fx = tmp_path / "fx.toml"
    fx.write_text('target = "USD"\n[rates]\nJPY = "0.0066"\n')
    build_report(run, plots=False, fx=fx)
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    net = {c: sum(int(v) for v in ledger.loc[ledger["currency"] == c, "amount_minor"])
           for c in ("JPY", "USD")}
    yen_in_usd = (Decimal(net["JPY"]) * Decimal("0.0066")).quantize(Decimal("0.01"),
                                                                    ROUND_HALF_UP)
    metric = metrics["finance.net.total.converted"]
    assert metric["unit"] == "USD converted"
    assert Decimal(metric["value"]) == _exact(net["USD"], "USD") + yen_in_usd
    assert "converted" in (run / "report.md").read_text()
    build_report(run, plots=False)  # leave the module's run as it was


def test_fx_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "fx.toml"
    path.write_text('target = "USD"\n[rates]\nJPY = "zero"\n')
    with pytest.raises(FxError, match=r"fx.toml.rates.JPY: 'zero' is not a decimal number"):
        load_fx(path)
    path.write_text('target = "USD"\n[rates]\nEUR = "1.08"\n')
    table = load_fx(path)
    with pytest.raises(FxError, match=r"no rate for JPY"):
        table.convert_minor(100, "JPY")


# ------------------------------------------------------- the fleet bills locally

COUNTRY_CURRENCY = {"US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "SE": "SEK",
                    "JP": "JPY"}  # the catalog's [price_lists].countries, by hand


def _expected_prices(currency: str) -> dict[str, set[Decimal]]:
    """Each plan's list prices in `currency`: USD * rate, half-up to the minor unit."""
    raw = _raw_catalog()
    rate = Decimal(raw["price_lists"]["rates"].get(currency, "1"))
    quantum = Decimal(1).scaleb(-ISO_DIGITS[currency])
    return {plan_id: {(Decimal(usd) * rate).quantize(quantum, ROUND_HALF_UP)
                      for usd in entry["prices"].values()}
            for plan_id, entry in raw["plans"].items()}


def _records(run: Path, table: str) -> pd.DataFrame:
    return pq.read_table(run / "records" / f"{table}.parquet").to_pandas()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The baseline at 2,000 tenants, each billed in its country's currency."""
    run = tmp_path_factory.mktemp("local") / "run"
    scenario = load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                             ["run.tenants=2000"])
    assert scenario.run.currency == "local"  # the default
    run_scenario(scenario, run)
    build_report(run, plots=False)
    return run


def test_baseline_run_bills_in_at_least_five_currencies(local_run):
    """Issue 12: each tenant billed in its country's currency, from that price list."""
    ledger = _records(local_run, "ledger")
    countries = dict(zip(_records(local_run, "population")["tenant_id"],
                         _records(local_run, "population")["country"], strict=True))
    assert len(set(ledger["currency"])) >= 5
    expected = {currency: _expected_prices(currency) for currency in ISO_DIGITS}
    for line in ledger.itertuples():
        assert line.currency == COUNTRY_CURRENCY[countries[line.tenant_id]], line
        if line.unit_price is not None:  # Plan.price(term, tenant currency), P-MONEY-02
            assert Decimal(line.unit_price) in expected[line.currency][line.plan], line
    changes = _records(local_run, "changes")
    for row in changes.itertuples():
        assert row.currency == COUNTRY_CURRENCY[countries[row.tenant_id]]
    manifest = json.loads((local_run / "manifest.json").read_text())
    assert manifest["currency"] == "local"
    assert manifest["currencies"] == sorted(set(ledger["currency"]))
    assert manifest["invariant_violations"]["total"] == 0


def test_local_totals_equal_the_exact_sum_of_each_currencys_lines(local_run):
    """Each currency's credits, charges and net equal the integer sums of its raw lines."""
    ledger = _records(local_run, "ledger")
    metrics = json.loads((local_run / "summary.json").read_text())["metrics"]
    for currency, lines in ledger.groupby("currency"):
        amounts = [int(v) for v in lines["amount_minor"]]
        for name, total in (("credits", sum(v for v in amounts if v < 0)),
                            ("charges", sum(v for v in amounts if v > 0)),
                            ("net", sum(amounts))):
            metric = metrics[f"finance.{name}.total.{currency}"]
            assert metric["unit"] == currency
            assert Decimal(metric["value"]) == _exact(total, currency), (name, currency)


def test_yen_amounts_have_no_minor_units_p_money_02(local_run):
    """JPY has 0 digits: the decimal text twin is a whole number of yen, per line."""
    for table, column in (("ledger", "amount"), ("changes", "net")):
        frame = _records(local_run, table)
        for row in frame.itertuples():
            text, minor = getattr(row, column), getattr(row, f"{column}_minor")
            digits = ISO_DIGITS[row.currency]
            assert Decimal(text) == Decimal(int(minor)).scaleb(-digits), (table, text)
            assert ("." in text) == (digits > 0), (table, row.currency, text)
    yen = _records(local_run, "ledger").query("currency == 'JPY'")
    assert len(yen) > 10


def test_a_fixed_currency_bills_every_tenant_from_its_price_list(tmp_path):
    scenario = load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                             ["run.tenants=300", "run.currency=EUR"])
    result = run_scenario(scenario, tmp_path / "run")
    ledger = _records(tmp_path / "run", "ledger")
    euro = _expected_prices("EUR")
    assert len(ledger) > 10 and set(ledger["currency"]) == {"EUR"}
    for line in ledger.itertuples():
        if line.unit_price is not None:
            assert Decimal(line.unit_price) in euro[line.plan], line
    assert result.manifest["currency"] == "EUR" and result.manifest["currencies"] == ["EUR"]


@pytest.mark.parametrize(("value", "message"), [
    ("KWD", "run.currency: no KWD price list in the catalog"),
    ("XYZ", "run.currency: 'XYZ' is not an ISO 4217 currency code"),
    ("Local", "run.currency: 'Local' is not an ISO 4217 currency code"),
])
def test_run_currency_is_local_or_a_listed_code(value, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                      [f"run.currency={value}"])


def test_compare_never_subtracts_amounts_of_different_currencies(local_run, tmp_path):
    """issue 12: compare works per currency. Money metrics are named per currency (so a
    USD figure is only ever set against a USD figure), and a metric whose unit differs
    between the two runs (here one side relabelled EUR by hand) gets no numeric delta:
    it is flagged with both units named, never subtracted."""
    import json
    import shutil

    from sim.report.compare import compare_runs, format_comparison

    other = tmp_path / "other"
    shutil.copytree(local_run, other)
    summary_path = other / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    metric = summary["metrics"]["finance.credits.total.USD"]
    metric["unit"] = "EUR"
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    comparison = compare_runs(local_run, other, rtol=0.0)
    by_name = {delta.name: delta for delta in comparison.deltas}
    relabelled = by_name["finance.credits.total.USD"]
    assert relabelled.delta is None and relabelled.flagged
    assert relabelled.unit == "USD vs EUR"  # baseline's unit first
    money = [d for d in comparison.deltas if d.unit in {"USD", "EUR", "GBP", "SEK", "JPY"}]
    assert money and all(d.name.endswith("." + d.unit) for d in money)
    assert all(not d.flagged for d in money)  # same records: every same-unit delta is 0
    line = next(row for row in format_comparison(comparison).splitlines()
                if "finance.credits.total.USD" in row)
    assert line.startswith("!") and "USD vs EUR: not compared" in line
    assert "USD -" in line and "EUR -" in line  # each side in its own currency
