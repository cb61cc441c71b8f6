"""Every public table as Parquet, for DuckDB, Polars, Spark and Trino: the same table and column
names and types as the SQLite file, without what the portal withholds. Written in row groups, so
memory stays bounded however large a table grows; a table of more than `split_rows` rows with an
`accession` column is split into files of consecutive accessions, so a reader prunes by range.

pyarrow comes with the optional extra `empiar-mirror[parquet]`."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from empiar_mirror.index.portal.limits import WITHHELD_COLUMNS

ROWS_PER_GROUP = 20_000
SPLIT_ROWS = 1_000_000


def arrow_type(declared: str) -> pa.DataType:
    """The Arrow type of a column, by SQLite's affinity rules for its declared type."""
    declared = declared.upper()
    if "INT" in declared:
        return pa.int64()
    if any(word in declared for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if "BLOB" in declared:
        return pa.binary()
    return pa.string()


def public_tables(conn: sqlite3.Connection, hidden: set[str]) -> list[str]:
    """The tables a reader of the portal sees: not hidden, not a search index's own."""
    return [
        name
        for (name,) in conn.execute(
            "select name from sqlite_master where type = 'table' and sql not like "
            "'CREATE VIRTUAL TABLE%' and name not like 'sqlite_%' order by name"
        )
        if name not in hidden and "_fts" not in name
    ]


def schema(conn: sqlite3.Connection, table: str) -> pa.Schema:
    return pa.schema(
        (name, arrow_type(declared))
        for _, name, declared, *_ in conn.execute(f"pragma table_info([{table}])")
        if (table, name) not in WITHHELD_COLUMNS
    )


def _column(values: list, kind: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # SQLite lets a cell hold another type than its column's: such a value reads as null
        # rather than stopping the export (an integral real in an integer column is kept).
        return pa.array([_fit(v, kind) for v in values], type=kind)


def _fit(value: object, kind: pa.DataType) -> object:
    if value is None:
        return None
    if pa.types.is_integer(kind):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
            return int(value)
        return value if isinstance(value, int) and abs(value) < 2**63 else None
    if pa.types.is_floating(kind):
        return float(value) if isinstance(value, int | float) else None
    if pa.types.is_string(kind):
        return value if isinstance(value, str) else str(value)
    return value if isinstance(value, bytes) else None


def _batches(cursor: sqlite3.Cursor, table_schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    while rows := cursor.fetchmany(ROWS_PER_GROUP):
        columns = list(zip(*rows, strict=True))
        yield pa.record_batch(
            [_column(list(c), f.type) for c, f in zip(columns, table_schema, strict=True)],
            schema=table_schema,
        )


def _write(path: Path, table_schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
    """One Parquet file, written under a temporary name and renamed into place."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    written = 0
    try:
        with pq.ParquetWriter(partial, table_schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                written += batch.num_rows
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return written


def export_table(
    conn: sqlite3.Connection, table: str, directory: Path, split_rows: int = SPLIT_ROWS
) -> int:
    """Write one table as `TABLE.parquet`, or as `TABLE/part-NNNNN.parquet` files of consecutive
    accessions when it is large; returns its rows."""
    table_schema = schema(conn, table)
    columns = ", ".join(f"[{name}]" for name in table_schema.names)
    (count,) = conn.execute(f"select count(*) from [{table}]").fetchone()
    if count <= split_rows or "accession" not in table_schema.names:
        cursor = conn.execute(f"select {columns} from [{table}]")
        return _write(directory / f"{table}.parquet", table_schema, _batches(cursor, table_schema))
    parts = directory / table
    parts.mkdir(exist_ok=True)
    written, part, after = 0, 0, ""
    while conn.execute(f"select 1 from [{table}] where accession > ? limit 1", [after]).fetchone():
        # A part ends at the first accession change past `split_rows`: no entry spans two.
        last = conn.execute(
            f"select accession from [{table}] where accession > ? order by accession "
            "limit 1 offset ?",
            [after, split_rows - 1],
        ).fetchone()
        cursor = conn.execute(
            f"select {columns} from [{table}] where accession > ? "
            + ("and accession <= ? " if last else "")
            + "order by accession",
            [after, last[0]] if last else [after],
        )
        written += _write(
            parts / f"part-{part:05d}.parquet", table_schema, _batches(cursor, table_schema)
        )
        if not last:
            break
        after, part = last[0], part + 1
    return written


def export(
    conn: sqlite3.Connection, directory: Path, hidden: set[str], split_rows: int = SPLIT_ROWS
) -> dict[str, int]:
    """Every public table into `directory`; returns the rows written per table."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        table: export_table(conn, table, directory, split_rows)
        for table in public_tables(conn, hidden)
    }
