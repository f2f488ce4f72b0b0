"""Stored runs are verified before they are trusted (issue 7, part 2).

`report` and `compare` recompute every record file's sha256 and row count and compare
them with the manifest; a damaged, edited, missing or escaping file is refused with
exit 2 and its name, never a traceback. Expected hashes here come from hashlib directly.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.cli import main
from sim.fleet.runner import run_scenario
from sim.fleet.scenario import load_scenario
from sim.report import RunError, load_run
from sim.report.compare import compare_runs

REPO = Path(__file__).resolve().parent.parent
SCENARIO = next(p for p in (REPO / "sim" / "fleet" / "scenarios" / "baseline.toml",
                            REPO / "scenarios" / "baseline.toml") if p.is_file())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One small run per record format (no report: summaries are built on demand)."""
    root = tmp_path_factory.mktemp("verify")
    scenario = load_scenario(SCENARIO, ["run.tenants=250"])
    run_scenario(scenario, root / "parquet")
    run_scenario(scenario, root / "csv", fmt="csv")
    main(["report", str(root / "parquet"), "-q"])
    return {"parquet": root / "parquet", "csv": root / "csv"}


@pytest.fixture
def copy(runs, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(runs["parquet"], target)
    return target


def manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(directory: Path, data: dict) -> None:
    (directory / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


def cli(capsys, *args: str) -> tuple[int, str]:
    """(exit status, stderr followed by stdout)."""
    status = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return status, captured.err + captured.out


def test_manifest_hashes_and_rows_match_the_files(runs):
    """The manifest's figures, recomputed independently with hashlib and pyarrow."""
    for directory in runs.values():
        for name, entry in manifest(directory)["tables"].items():
            path = directory / entry["file"]
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), name
            if path.suffix == ".parquet":
                assert entry["rows"] == pq.read_metadata(path).num_rows, name


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def bit_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))


def edit_a_value(path: Path) -> None:
    """A valid Parquet file with one amount changed: only the hash can tell."""
    table = pq.read_table(path)
    amounts = table.column("amount_minor").to_pylist()
    amounts[0] += 1
    index = table.schema.get_field_index("amount_minor")
    table = table.set_column(index, table.schema.field(index), pa.array(amounts, pa.int64()))
    pq.write_table(table, path)


@pytest.mark.parametrize("damage", [truncate, bit_flip, edit_a_value],
                         ids=["truncated", "bit-flipped", "edited"])
def test_damaged_record_file_makes_report_and_compare_exit_2(runs, copy, capsys, damage):
    ledger = copy / "records" / "ledger.parquet"
    damage(ledger)
    status, err = cli(capsys, "report", str(copy), "-q")
    assert status == 2 and str(ledger) in err and "sha256" in err
    status, err = cli(capsys, "compare", str(runs["parquet"]), str(copy))
    assert status == 2 and str(ledger) in err
    status, err = cli(capsys, "compare", str(copy), str(runs["parquet"]))
    assert status == 2 and str(ledger) in err


def test_truncated_csv_record_file_is_refused(runs, tmp_path, capsys):
    target = tmp_path / "csv"
    shutil.copytree(runs["csv"], target)
    changes = target / "records" / "changes.csv"
    truncate(changes)
    status, err = cli(capsys, "report", str(target), "-q")
    assert status == 2 and str(changes) in err


def test_missing_record_file_is_named(copy, capsys):
    (copy / "records" / "capacity.parquet").unlink()
    status, err = cli(capsys, "report", str(copy), "-q")
    assert status == 2 and "capacity.parquet" in err and "missing" in err


@pytest.mark.parametrize("escape", ["../../../../etc/passwd", "/etc/passwd",
                                    "records/../../outside.parquet", "."])
def test_manifest_path_outside_the_run_is_refused(copy, capsys, escape):
    data = manifest(copy)
    data["tables"]["violations"]["file"] = escape
    write_manifest(copy, data)
    status, err = cli(capsys, "report", str(copy), "-q", "--no-verify")
    assert status == 2 and "outside the run directory" in err and "violations" in err
    assert "root:" not in err  # nothing of /etc/passwd is echoed


def test_row_count_edited_in_the_manifest_is_refused(copy, capsys):
    data = manifest(copy)
    data["tables"]["changes"]["rows"] += 1
    write_manifest(copy, data)
    status, err = cli(capsys, "report", str(copy), "-q")
    assert status == 2 and "changes.parquet" in err and "rows" in err


def test_no_verify_reads_an_edited_file_but_not_an_unparseable_one(copy, capsys):
    edit_a_value(copy / "records" / "ledger.parquet")
    assert cli(capsys, "report", str(copy), "-q", "--no-verify")[0] == 0
    garbage = copy / "records" / "attempts.parquet"
    garbage.write_bytes(b"not parquet at all")
    status, err = cli(capsys, "report", str(copy), "-q", "--no-verify")
    assert status == 2 and str(garbage) in err and "cannot be read" in err


def test_load_run_verifies_by_default(copy):
    bit_flip(copy / "records" / "population.parquet")
    with pytest.raises(RunError, match=r"population\.parquet"):
        load_run(copy)


def test_identical_verdict_comes_from_the_files_not_the_manifests(runs, copy, capsys):
    """The old compare said "identical" when the manifests' hash strings agreed."""
    status, text = cli(capsys, "compare", str(runs["parquet"]), str(copy))
    assert status == 0 and "record files identical" in text
    assert compare_runs(runs["parquet"], copy).identical_records is True
    edit_a_value(copy / "records" / "ledger.parquet")  # manifest still claims the old hash
    comparison = compare_runs(runs["parquet"], copy, verify=False)
    assert comparison.identical_records is False
    assert comparison.rows_differing["ledger"] == 2  # one row gone, one row new
    status, text = cli(capsys, "compare", str(runs["parquet"]), str(copy), "--no-verify")
    assert status in (0, 1) and "record files differ" in text and "ledger 2" in text


def test_compare_warns_when_runs_are_not_like_for_like(runs, copy, capsys):
    data = manifest(copy)
    data["currency"], data["version"] = "EUR", "0.0.0-other"
    write_manifest(copy, data)
    status, err = cli(capsys, "compare", str(runs["parquet"]), str(copy))
    assert status in (0, 1)
    assert "warning" in err and "currency" in err and "'EUR'" in err
    assert "planshift version" in err


@pytest.mark.parametrize("rtol", ["nan", "inf", "-inf", "-0.1"])
def test_compare_rejects_a_meaningless_tolerance(runs, capsys, rtol):
    status, err = cli(capsys, "compare", str(runs["parquet"]), str(runs["parquet"]),
                      "--rtol", rtol)
    assert status == 2 and "--rtol" in err


@pytest.mark.parametrize("text", ["{", "[]", '{"tables": 5}', "\xff\xfe garbage"])
def test_unusable_manifest_is_refused(copy, capsys, text):
    (copy / "manifest.json").write_bytes(text.encode("latin-1"))
    status, err = cli(capsys, "report", str(copy), "-q")
    assert status == 2 and "manifest.json" in err
