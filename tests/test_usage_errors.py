"""Bad input: one clear line on stderr, exit code 2, no traceback, the database untouched."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys

import pytest
from conftest import harvest, run_cli

from empiar_mirror.index import store


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
    store.open_database(db).close()
    for path in tmp_path.glob("ro.db-*"):
        path.unlink()
    db.chmod(0o444)
    before = db.read_bytes()
    try:
        # Whoever runs it, root included: the mode says read-only.
        for command in ("harvest", "reindex"):
            assert_one_line_error(run_cli(command, str(db)), "not writable")
        assert db.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.db"]
    finally:
        db.chmod(0o600)


def test_a_database_file_with_two_names_is_refused(tmp_path):
    db = tmp_path / "a.db"
    sqlite3.connect(db).close()
    os.link(db, tmp_path / "b.db")
    for name in ("a.db", "b.db"):
        assert_one_line_error(run_cli("harvest", str(tmp_path / name)), "hard links")


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


# Hostile documents given to `deposition`: one line and exit 2, in bounded time and memory. -----

DEPOSITION_GUARD_BYTES = 1 << 30  # the address space a deposition run may take here


def _bounded(*args: str) -> subprocess.CompletedProcess:
    """The CLI with its address space capped: a run that would blow up fails, never the host."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (DEPOSITION_GUARD_BYTES, DEPOSITION_GUARD_BYTES))

    return subprocess.run(
        [sys.executable, "-m", "empiar_mirror.harvester", *args],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
    )


ALIAS_BOMB = "id: 'x:1'\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
HOSTILE_DOCUMENTS = {
    "deep.json": ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    "deep.yaml": ("- " * 50_000 + "x\n", "nested too deeply"),
    "flow.yaml": ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    "bomb.yaml": (ALIAS_BOMB, "aliases"),
    "ids.json": (
        json.dumps({"id": "x:1", "studies": [{"id": {"a": 1}}], "persons": [{"id": [1]}]}),
        "not text",
    ),
}


@pytest.mark.parametrize("name", HOSTILE_DOCUMENTS)
def test_a_hostile_deposition_document_is_one_line(name, tmp_path):
    text, words = HOSTILE_DOCUMENTS[name]
    source = tmp_path / name
    source.write_text(text)
    result = _bounded("deposition", str(source), "-o", str(tmp_path / "out.json"))
    assert_one_line_error(result, str(source), words)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
