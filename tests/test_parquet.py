"""Every public table as Parquet, read back by DuckDB as its users read it: the same tables,
rows, columns and types as the SQLite file, nothing the portal withholds, and large tables split
by accession range."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from conftest import invoke

from empiar_mirror.index import parquet
from empiar_mirror.index.portal.metadata import hidden_tables


@pytest.fixture(scope="module")
def exported(harvested_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("parquet") / "tables"
    result = invoke("export", str(harvested_db), "--format", "parquet", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_every_public_table_reads_back_in_duckdb_as_in_sqlite(harvested_db, exported):
    conn = sqlite3.connect(harvested_db)
    tables = parquet.public_tables(conn, hidden_tables())
    assert {"empiar_entries", "emdb_maps", "pdb_models", "record_link", "dataset"} <= set(tables)
    assert not {"source_record", "record_version", "empiar_entries_fts"} & set(tables)
    assert sorted(p.stem for p in exported.glob("*.parquet")) == tables
    duck = duckdb.connect()
    for table in tables:
        path = exported / f"{table}.parquet"
        (rows,) = duck.execute(f"select count(*) from read_parquet('{path}')").fetchone()
        assert rows == conn.execute(f"select count(*) from [{table}]").fetchone()[0], table
    # The same columns and types: a real stays a double, an integer a bigint.
    described = dict(
        duck.execute(
            f"select column_name, column_type from (describe select * from "
            f"read_parquet('{exported / 'empiar_entries.parquet'}'))"
        ).fetchall()
    )
    assert described["resolution_best_a"] == "DOUBLE" and described["release_year"] == "BIGINT"
    assert described["title"] == "VARCHAR"
    # A join gives what SQLite gives.
    join = (
        "select e.accession, m.emdb_id, m.resolution_a from {e} e join {l} l using (accession) "
        "join {m} m using (emdb_id) order by 1, 2"
    )
    in_duckdb = duck.execute(
        join.format(
            **{
                k: f"read_parquet('{exported / f'{t}.parquet'}')"
                for k, t in (("e", "empiar_entries"), ("l", "empiar_emdb"), ("m", "emdb_maps"))
            }
        )
    ).fetchall()
    in_sqlite = conn.execute(join.format(e="empiar_entries", l="empiar_emdb", m="emdb_maps"))
    assert in_duckdb == in_sqlite.fetchall() and in_duckdb


def test_what_the_portal_withholds_is_not_exported(harvested_db, exported):
    duck = duckdb.connect()
    columns = [
        r[0]
        for r in duck.execute(
            "select column_name from (describe select * from read_parquet(?))",
            [str(exported / "person.parquet")],
        ).fetchall()
    ]
    assert "email" not in columns and "full_name" in columns
    assert sqlite3.connect(harvested_db).execute("select count(email) from person").fetchone()[0]


def test_a_large_table_is_split_by_accession_range(harvested_db, tmp_path):
    conn = sqlite3.connect(harvested_db)
    rows = parquet.export_table(conn, "metadata_check", tmp_path, split_rows=50)
    parts = sorted((tmp_path / "metadata_check").glob("part-*.parquet"))
    assert (
        len(parts) > 2 and rows == conn.execute("select count(*) from metadata_check").fetchone()[0]
    )
    duck = duckdb.connect()
    ranges = [
        duck.execute(f"select min(accession), max(accession) from read_parquet('{p}')").fetchone()
        for p in parts
    ]
    # Consecutive, and no entry in two parts.
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    (total,) = duck.execute(
        f"select count(*) from read_parquet('{tmp_path / 'metadata_check'}/*.parquet')"
    ).fetchone()
    assert total == rows


def test_parquet_usage_errors_are_one_line(harvested_db, tmp_path):
    for args, words in (
        (["--all", "-o", str(tmp_path / "x")], "name no ACCESSION"),
        ([], "-o DIR"),
    ):
        result = invoke("export", str(harvested_db), "--format", "parquet", *args)
        assert result.returncode == 2 and words in result.stderr, result.stderr
