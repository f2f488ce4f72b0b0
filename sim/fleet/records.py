"""Record tables of a run, streamed to disk in chunks (issue 3, part 4).

The simulation hands plain tuples to a :class:`Recorder`; each table buffers a chunk of
rows and writes it as a Parquet row group (or CSV lines), so memory does not grow with
the fleet. Rows are turned into compact Arrow columns every :data:`BATCH_ROWS` rows
(a buffered tuple row costs several times its Arrow form), and the chunk's row group is
encoded, compressed and written by one background thread (Arrow releases the GIL
there), so the simulation goes on meanwhile (issue 11). The bytes are those of writing
each chunk at once: a chunk's batches are combined into contiguous columns first.

Money columns are integer minor units plus a decimal text twin built when the chunk is
written (P-MONEY-01: never a binary float): each line's amount as a fixed-point
string with the minor unit of that line's own ``currency`` column (P-MONEY-02; a run
bills several currencies, issue 12: "7.20" USD, "1080" JPY), so a table of money has a
``currency`` column.
:class:`NullRecorder` keeps nothing, for benchmarks and tests that only count.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..rules.money import Price, minor_unit
from .rows import ROW_CLASSES, columns_of

__all__ = ["SCHEMAS", "NullRecorder", "Recorder", "TableWriter", "file_sha256", "write_atomic",
           "write_json_atomic"]

S, INT, F, B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
MONEY = "money"  # marker: an int64 minor-unit column that also gets a decimal text twin
PRICE = "price"  # marker: an exact sim.rules.money.Price, written as a decimal string

# Arrow type of each field annotation of a row class (sim.fleet.rows).
_ARROW_TYPES = {"str": S, "int": INT, "int | None": INT, "float": F, "float | None": F,
                "bool": B, "Price | None": PRICE}


def _schema(cls: type) -> tuple[tuple[str, Any], ...]:
    """Column name -> type of a row class; ``*_minor`` int fields are money (a decimal twin,
    so the table needs a ``currency`` column)."""
    columns = []
    for name, annotation in columns_of(cls):
        kind = _ARROW_TYPES[annotation]
        columns.append((name, MONEY if name.endswith("_minor") and kind is INT else kind))
    if any(kind == MONEY for _, kind in columns) and "currency" not in dict(columns):
        raise TypeError(f"{cls.__name__} has money columns but no currency")  # a schema bug
    return tuple(columns)


# Column name -> type, per table, derived from the row classes (one place per column).
# Money columns "<name>_minor" get a "<name>" decimal text twin (per the row's currency).
SCHEMAS: dict[str, tuple[tuple[str, Any], ...]] = {
    name: _schema(cls) for name, cls in ROW_CLASSES.items()}


def _arrow_schema(columns: Sequence[tuple[str, Any]]) -> pa.Schema:
    fields = []
    for name, kind in columns:
        if kind == MONEY:
            fields.append(pa.field(name, pa.int64()))
            fields.append(pa.field(name.removesuffix("_minor"), pa.string()))
        elif kind == PRICE:
            fields.append(pa.field(name, pa.string()))
        else:
            fields.append(pa.field(name, kind))
    return pa.schema(fields)


@lru_cache(maxsize=4096)
def _price_text(price: Price | None) -> str | None:
    """An exact price as a plain decimal string (prices come from decimal strings)."""
    if price is None:
        return None
    return format(price.to_decimal().normalize(), "f")


_digits = lru_cache(maxsize=64)(minor_unit)


def _decimal_text(minor: pa.Array, currencies: pa.Array) -> pa.Array:
    """The decimal text twin of an int64 minor-unit column: each value as a fixed-point
    string with its row's currency digits (P-MONEY-02), without Python loops per row.

    A decimal128 value is stored as its unscaled integer: the minor units themselves,
    as 16-byte little-endian two's complement; Arrow casts it to text at the chosen
    scale, once per currency of the chunk.
    """
    count = len(minor)
    units = minor.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    words = np.empty((count, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63  # sign extension into the high word
    buffers = [pc.is_valid(minor).buffers()[1] if minor.null_count else None,
               pa.py_buffer(words.tobytes())]
    text = pa.nulls(count, pa.string())
    for currency in pc.unique(currencies).drop_null().to_pylist():
        scaled = pa.Array.from_buffers(pa.decimal128(20, _digits(currency)), count, buffers,
                                       null_count=minor.null_count)
        text = pc.if_else(pc.equal(currencies, currency), pc.cast(scaled, pa.string()), text)
    return text


BATCH_ROWS = 8_192  # rows per Arrow batch; a chunk (row group) is a whole number of them
MAX_PENDING = 2  # chunks handed to the background writer and not yet written, at most


class BackgroundWriter:
    """One thread that runs a recorder's writes in the order given (issue 11).

    At most :data:`MAX_PENDING` writes wait at any time (memory stays bounded when the
    disk is slower than the simulation). A failed write re-raises in the caller at the
    next :meth:`submit` or at :meth:`drain`, so an error is never lost.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planshift-records")
        self._pending: deque[Future] = deque()

    def submit(self, work: Any, *args: Any) -> None:
        while len(self._pending) >= MAX_PENDING:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(work, *args))

    def drain(self) -> None:
        """Wait for every write; the first failure is raised (the others are dropped)."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            for future in self._pending:
                future.cancel()
            self._pending.clear()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Inline:
    """:class:`BackgroundWriter`'s interface, run at once in the caller (CSV, tests)."""

    @staticmethod
    def submit(work: Any, *args: Any) -> None:
        work(*args)

    @staticmethod
    def drain() -> None:
        pass

    @staticmethod
    def shutdown() -> None:
        pass


class TableWriter:
    """Buffers rows of one table and writes them in chunks (Parquet row groups or CSV)."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, Any]], fmt: str,
                 chunk_rows: int = 65_536, background: Any = None) -> None:
        self.path = path
        self.columns = tuple(columns)
        self.names = [name for name, _ in self.columns]
        self.fmt = fmt
        self.chunk_rows = chunk_rows
        # Rows become an Arrow batch every `batch_rows`; a chunk is whole batches.
        self.batch_rows = BATCH_ROWS if chunk_rows % BATCH_ROWS == 0 else chunk_rows
        self.background = background or _Inline()
        self.schema = _arrow_schema(self.columns)
        self._currency = self.names.index("currency") if "currency" in self.names else -1
        # A buffered row as an Arrow struct: money as its int64 minor units, prices as text.
        self._row_type = pa.struct([
            pa.field(name, pa.int64() if kind == MONEY else pa.string() if kind == PRICE
                     else kind) for name, kind in self.columns])
        self._price_positions = [n for n, (_, kind) in enumerate(self.columns) if kind == PRICE]
        self.rows: list[tuple] = []
        self._batches: list[pa.RecordBatch] = []  # the chunk so far, as Arrow batches
        self._batched = 0  # rows in _batches
        self.count = 0
        self._writer: Any = None
        self._csv: Any = None

    def append(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_rows:
            self.batch()

    def write_columns(self, data: Mapping[str, Any]) -> None:
        """Write a chunk given as columns (used for the population table)."""
        table = pa.table({name: data[name] for name in self.names}, schema=self.schema)
        self.count += table.num_rows
        self.background.submit(self._write_table, table)

    def write_columns_later(self, rows: int, make: Callable[[], Iterable[Mapping[str, Any]]]
                            ) -> None:
        """Chunks of columns that the background writer makes and writes, `rows` in all
        (the population's: built by Arrow kernels, which do not hold the GIL)."""
        self.count += rows
        self.background.submit(self._make_and_write, make)

    def _make_and_write(self, make: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
        for data in make():
            self._write_table(pa.table({name: data[name] for name in self.names},
                                       schema=self.schema))

    def batch(self) -> None:
        """The buffered rows as one Arrow batch; a full chunk goes to the writer."""
        if self.rows:
            rows, self.rows = self.rows, []
            for position in self._price_positions:
                rows = [(*row[:position], _price_text(row[position]), *row[position + 1:])
                        for row in rows]
            # Rows to columns in one call: pyarrow reads the tuples as values of a struct.
            self._batches.append(
                pa.RecordBatch.from_struct_array(pa.array(rows, self._row_type)))
            self._batched += len(rows)
        if self._batched >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one chunk (a Parquet row group), in the background."""
        if self.rows:
            self.batch()  # the rows as a last batch; a full chunk is written from there
        if not self._batches:
            return
        batches, self._batches, self._batched = self._batches, [], 0
        self.count += sum(len(batch) for batch in batches)
        self.background.submit(self._write_batches, batches)

    def _write_batches(self, batches: list[pa.RecordBatch]) -> None:
        # Contiguous columns, as if the chunk had been converted at once: same bytes.
        (batch,) = pa.Table.from_batches(batches).combine_chunks().to_batches()
        del batches
        arrays = []
        for column, (_, kind) in zip(batch.columns, self.columns, strict=True):
            arrays.append(column)
            if kind == MONEY:
                arrays.append(_decimal_text(column, batch.column(self._currency)))
        self._write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def _write_table(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
            self._writer.write_table(table)
            return
        if self._csv is None:
            self._csv = self.path.open("w", newline="", encoding="utf-8")
            csv.writer(self._csv).writerow(table.column_names)
        writer = csv.writer(self._csv)
        columns = [column.to_pylist() for column in table.columns]
        for row in zip(*columns, strict=True):
            writer.writerow(_csv_value(value) for value in row)

    def close(self) -> None:
        """Write what is buffered and close the file (after the background writes)."""
        self.flush()
        self.background.drain()
        if self.fmt == "parquet":
            if self._writer is None:  # an empty table still gets a file with its schema
                self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
            self._writer.close()
        else:
            if self._csv is None:
                self._csv = self.path.open("w", newline="", encoding="utf-8")
                csv.writer(self._csv).writerow(self.schema.names)
            self._csv.close()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class NullRecorder:
    """Keeps nothing: the default observer (STYLE 9)."""

    trace_enabled = False

    def add(self, table: str, row: tuple) -> None:
        pass

    def close(self) -> dict[str, int]:
        return {}


class Recorder:
    """Writes every table of a run into `directory`, one file per table."""

    trace_enabled: bool

    def __init__(self, directory: Path, fmt: str, trace: bool = False,
                 chunk_rows: int = 65_536, population_columns: Sequence[tuple[str, Any]] = ()
                 ) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"unknown record format {fmt!r} (parquet or csv)")
        self.directory = directory
        self.fmt = fmt
        self.trace_enabled = trace
        self.tables: dict[str, TableWriter] = {}
        # Parquet chunks are written by one background thread (in order, table by table);
        # CSV conversion holds the GIL, so it is written in the caller.
        self.background = BackgroundWriter() if fmt == "parquet" else _Inline()
        suffix = ".parquet" if fmt == "parquet" else ".csv"
        for name, columns in SCHEMAS.items():
            if name == "trace" and not trace:
                continue
            self.tables[name] = TableWriter(directory / f"{name}{suffix}", columns, fmt,
                                            chunk_rows, self.background)
        if population_columns:
            self.tables["population"] = TableWriter(directory / f"population{suffix}",
                                                    population_columns, fmt, chunk_rows,
                                                    self.background)

    def add(self, table: str, row: tuple) -> None:
        # TableWriter.append inlined: one call per row on the simulation's hot path.
        writer = self.tables[table]
        rows = writer.rows
        rows.append(row)
        if len(rows) >= writer.batch_rows:
            writer.batch()

    def close(self) -> dict[str, int]:
        """Write every buffered row, wait for the background writes, close the files."""
        try:
            for writer in self.tables.values():  # one table's last chunk at a time:
                writer.close()  # the simulation's memory is still held (peak RSS)
        finally:
            self.background.shutdown()
        return {name: writer.count for name, writer in self.tables.items()}

    def files(self) -> dict[str, Path]:
        return {name: writer.path for name, writer in self.tables.items()}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary sibling, then rename it over `path` in one step.

    An interruption leaves either the old file or the new one, never half of either,
    and no temporary file behind.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """JSON (indented, one trailing newline) written with :func:`write_atomic`."""
    write_atomic(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
