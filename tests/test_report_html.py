"""report.html and report.md people sign off on (issue 12, parts 1, 2, 3 and 5).

The report of a small run, with a ledger relabelled into three currencies, is parsed with
the standard library's html.parser: every image has alt text, every link resolves inside
the run directory, no number is in scientific notation, every rule ID carries its name,
the cash timeline has one row per month without gaps, and no plot draws an empty
category.
"""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.fleet.runner import run_scenario
from sim.fleet.scenario import load_scenario
from sim.report import build_report, load_run, run_info, summarise
from sim.report.names import RULE_NAMES
from sim.report.plots import PLOTS, figure_of

ROOT = Path(__file__).resolve().parent.parent
SCIENTIFIC = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]?\d+\b")
RULE_ID = re.compile(r"\b(?:R-[A-Z]+|P-[A-Z]+|INV)-\d+\b")
CURRENCY_OF = {0: "USD", 1: "EUR", 2: "JPY"}


class Page(HTMLParser):
    """Images, links, ids, table rows and the visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tables: list[dict] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "img":
            self.images.append(attributes)
        elif tag == "a":
            self.links.append(attributes.get("href", ""))
        elif tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in_caption:
            self.tables[-1]["caption"] += data
        elif self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("html") / "run"
    scenario = load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                             ["run.tenants=400"])
    run_scenario(scenario, directory)
    path = directory / "records" / "ledger.parquet"
    table = pq.read_table(path)
    frame = table.to_pandas()
    frame["currency"] = [CURRENCY_OF[int(hashlib.sha256(t.encode()).hexdigest(), 16) % 3]
                         for t in frame["tenant_id"]]
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["tables"]["ledger"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))
    build_report(directory)
    return directory


@pytest.fixture(scope="module")
def page(run) -> Page:
    parser = Page()
    parser.feed((run / "report.html").read_text())
    return parser


def test_every_image_has_alt_text(page):
    assert len(page.images) == len(PLOTS)
    for image in page.images:
        assert len(image.get("alt", "").strip()) > 20, image.get("alt")
        assert image["src"].startswith("data:image/png;base64,")


def test_every_link_resolves_inside_the_run_directory(run, page):
    assert any(link.startswith("#") for link in page.links)  # a table of contents
    csv_links = [link for link in page.links if link.endswith(".csv")]
    assert sorted(csv_links) == sorted(f"tables/{p.name}" for p in (run / "tables").glob("*.csv"))
    for link in page.links:
        if link.startswith("#"):
            assert link[1:] in page.ids, link
        else:
            assert "://" not in link and not link.startswith("/"), link
            target = (run / link).resolve()
            assert target.is_relative_to(run.resolve()) and target.is_file(), link


def _texts(run: Path, page: Page) -> dict[str, str]:
    return {"report.md": (run / "report.md").read_text(), "report.html": " ".join(page.text)}


def test_no_scientific_notation(run, page):
    for name, text in _texts(run, page).items():
        assert not SCIENTIFIC.search(text), (name, SCIENTIFIC.search(text))


def test_every_rule_id_is_shown_with_its_name(run, page):
    for name, text in _texts(run, page).items():
        found = 0
        for match in RULE_ID.finditer(text):
            found += 1
            following = text[match.end():match.end() + 60]
            assert following.startswith(" " + RULE_NAMES[match.group(0)]), (name, following)
        assert found > 5, name
    alts = " ".join(image["alt"] for image in page.images)
    for match in RULE_ID.finditer(alts):
        assert alts[match.end():].startswith(" " + RULE_NAMES[match.group(0)])


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    result = []
    while f"{year:04d}-{month:02d}" <= last:
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def test_cash_timeline_has_one_row_per_month_without_gaps(run, page):
    ledger = pq.read_table(run / "records" / "ledger.parquet").to_pandas()
    months = _months(ledger["cash_date"].min()[:7], ledger["cash_date"].max()[:7])
    timeline = pd.read_csv(run / "tables" / "cash_timeline.csv")
    for (currency, method), rows in timeline.groupby(["currency", "payment_method"]):
        assert list(rows["month"]) == months, (currency, method)
        lines = ledger[(ledger["currency"] == currency) & (ledger["payment_method"] == method)]
        amounts = [int(v) for v in lines["amount_minor"]]
        assert int(rows["net_minor"].sum()) == sum(amounts)
        assert int(rows["credits_minor"].sum()) == sum(v for v in amounts if v < 0)
        assert int(rows["cumulative_net_minor"].iloc[-1]) == sum(amounts)
    assert set(timeline["currency"]) == set(ledger["currency"])
    cash_tables = [t for t in page.tables if t["caption"].startswith("Cash timeline")]
    assert len(cash_tables) == len(set(ledger["currency"]))
    for table in cash_tables:
        assert [row[0] for row in table["rows"][1:]] == months, table["caption"]
    if ledger["cash_date"].max() > "2026-12-31":  # the baseline horizon's last day
        assert "after the simulated horizon" in (run / "report.md").read_text()


def test_summary_paragraph_says_what_the_run_was(page):
    summary = " ".join(page.text)
    assert "This run simulated 400 tenants of the baseline scenario (seed 1" in summary
    for currency in ("EUR", "JPY", "USD"):
        assert f"in {currency}, credits {currency} " in summary


def _category_labels(figure) -> list[str]:
    figure.canvas.draw()
    labels = []
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels += [t.get_text() for t in axis.get_ticklabels() if t.get_visible()]
    return labels


def test_no_plot_has_an_empty_category(run):
    records = load_run(run)
    summary = summarise(records)
    # Blank categories as old records had them: an empty path row, an empty blocker code.
    summary.tables["impact_by_path"].loc[len(summary.tables["impact_by_path"])] = {
        "path": "", "requests": 3, "customisations_lost": 0, "data_at_risk_gb": 5.0,
        "data_lost_gb": 0.0}
    blank = summary.tables["blockers"].iloc[[0]].assign(code="")
    summary.tables["blockers"] = pd.concat([summary.tables["blockers"], blank])
    for name in PLOTS:
        figure = figure_of(name, summary, run_info(records))
        labels = _category_labels(figure)
        assert labels and all(label.strip() for label in labels), (name, labels)
        assert not any(SCIENTIFIC.search(label) for label in labels), name
        for ax in figure.axes:
            assert ax.xaxis.get_major_formatter().get_offset() == ""
            assert ax.yaxis.get_major_formatter().get_offset() == ""
            assert ax.get_yscale() == "linear" and ax.get_xscale() == "linear", name
        assert records.manifest["scenario_name"] in figure._suptitle.get_text(), name


def test_queue_axis_never_negative_and_money_axes_from_zero(run):
    records = load_run(run)
    summary = summarise(records)
    for name, check in (("utilisation", "y"), ("finance_by_account", "x"),
                        ("data_impact", "x"), ("outcome_funnel", "x")):
        figure = figure_of(name, summary, run_info(records))
        for ax in figure.axes:
            low = ax.get_ylim()[0] if check == "y" else ax.get_xlim()[0]
            assert low == 0, name


def test_no_plots_option_draws_nothing(tmp_path):
    scenario = load_scenario(ROOT / "sim/fleet/scenarios" / "baseline.toml",
                             ["run.tenants=300"])
    run_scenario(scenario, tmp_path / "run")
    build_report(tmp_path / "run", plots=False)
    assert not (tmp_path / "run" / "plots").exists()
    text = (tmp_path / "run" / "report.html").read_text()
    assert "<img" not in text and "--no-plots" in text
