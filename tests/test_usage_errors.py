"""Bad input: one clear line on stderr, exit code 2, no traceback, the database untouched."""

from __future__ import annotations

import os
import sqlite3

import pytest
from conftest import harvest, run_cli


def assert_one_line_error(result, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("empiar-mirror: error:")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    "ids, word",
    [
        ("EMPIAR-1x", "not an EMPIAR accession"),
        ("10120-10100", "backwards"),
        (",", "no accessions"),
    ],
)
def test_bad_ids(tmp_path, ids, word):
    db = tmp_path / "new.db"
    result = run_cli("harvest", str(db), "--ids", ids)
    assert_one_line_error(result, "--ids", word)
    assert not db.exists()


def test_bad_url_from_option_and_environment(tmp_path):
    db = tmp_path / "new.db"
    assert_one_line_error(
        run_cli("harvest", str(db), "--empiar-api", "ftp://example/api"), "--empiar-api", "http"
    )
    assert_one_line_error(
        run_cli("harvest", str(db), env={"EMPIAR_MIRROR_RCSB_API": "not a url"}), "--rcsb-api"
    )
    assert not db.exists()


def test_unwritable_path(tmp_path):
    assert_one_line_error(
        run_cli("harvest", str(tmp_path / "missing-dir" / "x.db")), "does not exist"
    )
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root): no unwritable directory")
        assert_one_line_error(run_cli("harvest", str(locked / "x.db")), "not writable")
    finally:
        locked.chmod(0o700)


def test_read_only_database_file(tmp_path):
    db = tmp_path / "ro.db"
    sqlite3.connect(db).close()
    db.chmod(0o400)
    try:
        if os.access(db, os.W_OK):
            pytest.skip("running as a user who can write any file (root): no read-only file")
        assert_one_line_error(run_cli("harvest", str(db)), "not writable")
    finally:
        db.chmod(0o600)


def test_file_that_is_not_sqlite_is_left_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n")
    before = path.read_bytes()
    for command in (
        ["harvest", str(path)],
        ["status", str(path)],
        ["reindex", str(path)],
        ["serve", str(path)],
    ):
        assert_one_line_error(run_cli(*command), "not an SQLite database")
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_sqlite_file_from_another_program(tmp_path):
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("create table mine (x)")
    conn.commit()
    conn.close()
    assert_one_line_error(run_cli("status", str(db)), "not an empiar-mirror database")


def test_missing_database_for_read_commands(tmp_path):
    for command in ("status", "reindex", "serve"):
        assert_one_line_error(run_cli(command, str(tmp_path / "nope.db")), "does not exist")
    assert not (tmp_path / "nope.db").exists()


def test_newer_schema_is_refused_untouched(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db, "--ids", "EMPIAR-10442")
    conn = sqlite3.connect(db)
    conn.execute(
        "insert into _sqlite_migrations (migration_set, name, applied_at) "
        "values ('empiar_mirror', 'm999_from_the_future', '2030-01-01')"
    )
    conn.commit()
    conn.close()
    before = db.read_bytes()
    assert_one_line_error(harvest(server, db, run=run_cli), "newer empiar-mirror")
    assert db.read_bytes() == before


def test_click_usage_errors_are_one_line_too(tmp_path):
    assert_one_line_error(run_cli("harvest", str(tmp_path / "x.db"), "--limit", "many"), "--limit")
    assert_one_line_error(run_cli("harvest"), "DB_PATH")
