"""The schema as a whole: documented, matching the lambda-ber models both ways, upgradable from
the pre-release layout, and searchable with sqlite-utils' own machinery."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke, query
from sqlite_utils import Database

from empiar_mirror.index import migrations, schema_doc
from empiar_mirror.index.archives import ARCHIVES
from empiar_mirror.index.lambda_ber.models import columns_by_table

ROOT = Path(__file__).resolve().parent.parent
PRERELEASE = Path(__file__).parent / "fixtures" / "prerelease-0.1.0.db"


def fresh() -> Database:
    db = Database(memory=True)
    migrations.migrations.apply(db)
    return db


def shape(db: Database) -> dict[str, list[str]]:
    """Table -> columns, in order, leaving out sqlite-utils' FTS shadow tables."""
    return {
        name: [c.name for c in db[name].columns]
        for name in db.table_names()
        if not any(name.startswith(f"{a.front_door}_fts_") for a in ARCHIVES.values())
    }


def test_docs_schema_md_is_current():
    assert (ROOT / "docs" / "schema.md").read_text() == schema_doc.render(), (
        "docs/schema.md is out of date: python -m empiar_mirror.index.schema_doc docs/schema.md"
    )


def test_every_model_field_has_its_column_and_every_column_its_field():
    db = fresh()
    for table, (cls, columns) in columns_by_table().items():
        assert set(columns) == set(db[table].columns_dict), f"{table} ({cls})"


def test_a_prerelease_file_opens_and_upgrades_to_todays_schema(tmp_path):
    db_path = tmp_path / "old.db"
    shutil.copy(PRERELEASE, db_path)
    assert query(db_path, "select name from _sqlite_migrations order by id") == [
        ("m001_initial",),
        ("m002_linked_records",),
        ("m003_incremental",),
    ]
    result = invoke("reindex", str(db_path))
    assert result.returncode == 0, result.stderr
    upgraded = Database(db_path)
    assert shape(upgraded) == shape(fresh())
    assert migrations.pending(upgraded) == []
    assert [r["accession"] for r in upgraded["empiar_entries"].rows] == [
        "EMPIAR-10442",
        "EMPIAR-90010",
    ]
    # The entries' search index came through, now kept by triggers.
    hits = list(upgraded["empiar_entries"].search('"EMD-90010"'))
    assert {h["accession"] for h in hits} == {"EMPIAR-90010"}


def test_newer_migrations_are_refused_by_name():
    db = fresh()
    db["_sqlite_migrations"].insert(
        {"migration_set": "empiar_mirror", "name": "m999_future", "applied_at": "2030-01-01"}
    )
    assert migrations.unknown_migrations(db) == ["m999_future"]


@pytest.mark.parametrize("archive", list(ARCHIVES.values()), ids=list(ARCHIVES))
def test_sqlite_utils_finds_and_searches_every_front_door(harvested_db, archive):
    db = Database(harvested_db)
    assert db[archive.front_door].detect_fts() == f"{archive.front_door}_fts"
    word = {"empiar": "tomography", "emdb": '"EMD-90010"', "pdb": "9Z01"}[archive.key]
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("sqlite-utils")),
            "search",
            str(harvested_db),
            archive.front_door,
            word,
            "-c",
            archive.key_column,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("[{"), result.stdout
