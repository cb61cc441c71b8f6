"""A public mirror nobody can exhaust, and files and paths that never give a traceback.

The SQL page's hostile queries, through Datasette's test client, each end in an error and the
server serves the next request; the e-mail addresses stay in the file, out of what it serves.
Every path the CLI cannot use (a FIFO, /dev/null, a damaged file, a read-only file system, a bad
metadata file, standard output on /dev/full) is one line and exit status 2, the file untouched;
a disk that fills during a harvest is exit status 4, with the run recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import (
    GOOD_ENTRIES_COUNT,
    SAMPLE_DIR,
    backup_copy,
    close_datasette,
    harvest,
    invoke,
    query,
    run_cli,
)
from test_usage_errors import assert_one_line_error

from empiar_mirror.harvester.cli import EXIT_DISK_FULL
from empiar_mirror.harvester.replay import ReplayServer
from empiar_mirror.index import portal
from empiar_mirror.index.portal import charts, limits
from empiar_mirror.index.serve import make_datasette


def copy_of(db: Path, directory: Path, name: str = "copy.db") -> Path:
    """A self-contained copy of `db` (its WAL included), to change without touching `db`."""
    return backup_copy(db, directory / name)


def requests(
    db: Path, paths: list[str], settings: dict | None = None, metadata: dict | None = None
) -> list:
    """The answers of one Datasette serving `db`, to these requests in turn."""
    ds = make_datasette(db, metadata, settings=settings)

    async def go():
        await ds.invoke_startup()
        return [await ds.client.get(path) for path in paths]

    try:
        return asyncio.run(go())
    finally:
        close_datasette(ds)


def sql_path(db: Path, sql: str) -> str:
    return f"/{db.stem}.json?" + urlencode({"sql": sql, "_shape": "objects"})


# The public SQL page -----------------------------------------------------------------------

COUNT_ENTRIES = "select count(*) as n from empiar_entries"
ONE_KB_PATTERN = "[0z]" * 300
HOSTILE = {
    "zeroblob": ("select zeroblob(1000000000)", "too big"),
    "randomblob": ("select randomblob(1000000000)", "too big"),
    "replace-hex-zeroblob": ("select replace(hex(zeroblob(400000)), '0', '00000')", "too big"),
    "printf-precision": ("select printf('%.*c', 1e9, 'x')", "not authorized to use function"),
    "format-precision": ("select format('%.2000000000c', 'x')", "not authorized to use function"),
    "doubling-cte": (
        "with recursive c(s) as (select 'x' union all select s || s from c) "
        "select length(s) from c",
        "too big",
    ),
    "many-big-rows": (
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000) "
        "select zeroblob(1000000) from c",
        "over 16 MB",
    ),
    "endless-cte": (
        "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c",
        "took too long",
    ),
    "json-patch": ("select json_patch('{}', '{}')", "not authorized to use function"),
    "long-glob": (f"select hex(zeroblob(1000)) glob '{ONE_KB_PATTERN}'", "pattern too complex"),
    "wide-row": ("select " + ", ".join(["zeroblob(1000000)"] * 101), "too many columns"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_query_is_an_error_and_the_server_serves_on(harvested_db, name):
    sql, words = HOSTILE[name]
    hostile, after = requests(
        harvested_db, [sql_path(harvested_db, sql), sql_path(harvested_db, COUNT_ENTRIES)]
    )
    assert hostile.status_code == 400, hostile.text[:300]
    assert hostile.json()["ok"] is False
    assert words in hostile.json()["error"]
    assert after.status_code == 200, after.text[:300]
    assert after.json()["rows"] == [{"n": GOOD_ENTRIES_COUNT}]


def test_a_query_past_the_heap_limit_is_an_error_and_the_server_serves_on(harvested_db):
    # A sort kept in memory (temp_store) grows past SQLite's hard heap limit, given the time.
    sql = (
        "with recursive c(x) as (select 1 union all select x + 1 from c) "
        "select x, zeroblob(1000000) from c order by 1 desc limit 1 offset 100000000"
    )
    hostile, after = requests(
        harvested_db,
        [sql_path(harvested_db, sql), sql_path(harvested_db, COUNT_ENTRIES)],
        settings={"sql_time_limit_ms": 60_000},
        metadata={"plugins": {"empiar-mirror": {"query_time_limit_ms": 60_000}}},
    )
    assert hostile.status_code == 400, hostile.text[:300]
    assert "needs more memory" in hostile.json()["error"]
    assert after.json()["rows"] == [{"n": GOOD_ENTRIES_COUNT}]


def test_a_page_of_ordinary_rows_is_within_the_limits(harvested_db):
    [r] = requests(harvested_db, [sql_path(harvested_db, "select * from empiar_entries")])
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["rows"]) == GOOD_ENTRIES_COUNT


def test_every_connection_gets_the_limits():
    conn = sqlite3.connect(":memory:")
    portal.prepare_connection(conn)
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == limits.MAX_VALUE_BYTES
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH) == limits.MAX_SQL_BYTES
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH) == limits.MAX_PATTERN_BYTES
    assert conn.getlimit(sqlite3.SQLITE_LIMIT_COLUMN) == limits.MAX_COLUMNS
    assert conn.execute("pragma hard_heap_limit").fetchone()[0] == limits.HARD_HEAP_BYTES
    assert conn.execute("pragma soft_heap_limit").fetchone()[0] == limits.SOFT_HEAP_BYTES
    assert conn.execute("pragma temp_store").fetchone()[0] == 2  # memory
    with pytest.raises(sqlite3.DataError):
        conn.execute("select '" + "x" * limits.MAX_SQL_BYTES + "'")
    conn.close()


TRIMS = (
    "select trim('xxaxx', 'x'), ltrim('xxa', 'x'), rtrim('axx', 'x'), trim('éaé', 'é'), "
    "trim(12.5, '5'), trim(1e20, '1'), trim(0.1 + 0.2, '3'), trim(100.0, '1'), "
    "ltrim(12345, '21'), trim(x'78616178', 'x'), typeof(trim(x'78616178', 'x')), "
    "trim(null, 'x'), rtrim('ab', null), trim('  a  ')"
)


def test_trim_with_a_set_answers_as_sqlite_does_in_linear_time(harvested_db):
    own = sqlite3.connect(":memory:").execute(TRIMS).fetchone()
    # Quadratic in SQLite itself: half a minute of one uninterruptible call here, minutes at
    # MAX_VALUE_BYTES.
    big = (
        "select length(trim(hex(zeroblob(100000)), "
        "replace(hex(zeroblob(50000)), '0', 'z') || '0')) as n"
    )
    served, slow = requests(
        harvested_db,
        [f"/{harvested_db.stem}.json?" + urlencode({"sql": TRIMS}), sql_path(harvested_db, big)],
    )
    assert served.status_code == 200, served.text[:300]
    assert tuple(served.json()["rows"][0]) == own
    assert slow.json()["rows"] == [{"n": 0}]


# E-mail addresses ----------------------------------------------------------------------------


def test_email_addresses_stay_in_the_file_and_out_of_what_is_served(harvested_db):
    emails = [r[0] for r in query(harvested_db, "select email from person where email is not null")]
    assert emails, "the sample should hold some addresses"
    # The harvester's own connection still reads them.
    from empiar_mirror.index import store

    db = store.open_readonly(harvested_db)
    assert db.execute("select count(email) from person").fetchone()[0] == len(emails)
    db.close()

    name = harvested_db.stem
    answers = requests(
        harvested_db,
        [
            f"/{name}/person.json?_shape=objects&_size=max",
            f"/{name}/person.csv?_size=max",
            f"/{name}/person",
            sql_path(harvested_db, "select email from person"),
            sql_path(harvested_db, "select * from person"),
            sql_path(harvested_db, "select id from person where email is not null"),
            sql_path(harvested_db, "select EMAIL from PERSON"),
            sql_path(harvested_db, "select payload from record_version"),
            sql_path(harvested_db, "select row from shared_contribution"),
        ],
    )
    for answer in answers:
        assert answer.status_code == 200, answer.text[:300]
        for email in emails:
            assert email not in answer.text
    table, _, _, only_email, every_column, filtered, upper, payloads, rows = (
        a.json() if a.headers["content-type"].startswith("application/json") else None
        for a in answers
    )
    assert table["rows"] and all(r["email"] is None for r in table["rows"])
    assert {r["email"] for r in only_email["rows"]} == {None}
    assert {r["email"] for r in every_column["rows"]} == {None}
    assert filtered["rows"] == []
    assert {r["EMAIL"] for r in upper["rows"]} == {None}
    assert payloads["rows"] and {r["payload"] for r in payloads["rows"]} == {None}
    assert rows["rows"] and {r["row"] for r in rows["rows"]} == {None}
    # The file keeps the raw records too.
    assert query(harvested_db, "select count(payload) from record_version")[0][0] > 0


# Export and charts ---------------------------------------------------------------------------


def test_json_export_of_an_infinite_number_is_valid_json(harvested_db, tmp_path):
    db = copy_of(harvested_db, tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        changed = conn.execute(
            "update experiment_run set calibrated_pixel_size_value = 9e999 "
            "where id like 'empiar:EMPIAR-10442%'"
        ).rowcount
    conn.close()
    assert changed

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    result = invoke("export", str(db), "EMPIAR-10442", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout, parse_constant=refuse)
    assert document["experiment_runs"][0]["calibrated_pixel_size"]["numeric_value"] is None
    yaml_text = invoke("export", str(db), "EMPIAR-10442").stdout
    assert ".inf" in yaml_text


def test_a_release_date_in_year_zero_does_not_stretch_the_chart(harvested_db, tmp_path):
    db = copy_of(harvested_db, tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "update empiar_entries set release_date = '0000-01-01', release_year = 0 "
            "where accession = (select min(accession) from empiar_entries)"
        )
        conn.execute(
            "update empiar_entries set release_year = 9999 "
            "where accession = (select max(accession) from empiar_entries)"
        )
    conn.close()
    [r] = requests(db, ["/-/charts/releases.svg"])
    assert r.status_code == 200
    svg = ET.fromstring(r.text)
    assert int(svg.get("width")) < 3000
    years = [int(t.text) for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.text.isdigit()]
    labels = [y for y in years if y >= 1000]
    assert labels and min(labels) >= charts.FIRST_RELEASE_YEAR
    assert max(labels) <= dt.date.today().year + 1


def test_the_chart_of_only_implausible_years_is_the_empty_chart():
    spec = charts.CHART_SLUGS["releases"]
    svg = charts._releases(spec, [(0, "x", 3), (9999, None, 1)], "/db/empiar_entries")
    assert "No data" in svg


# Paths the CLI cannot use --------------------------------------------------------------------


def commands(db: Path) -> list[list[str]]:
    """Every command that opens the database, on `db`."""
    out = []
    for command in (
        ["status", "{db}"],
        ["status", "--json", "{db}"],
        ["export", "{db}", "EMPIAR-10442"],
        ["reindex", "{db}"],
        ["serve", "{db}", "--port", "0"],
        ["harvest", "{db}", "--empiar-api", "http://127.0.0.1:9/", "--retries", "0"],
        ["snapshot", "{db}", str(db.parent / "snapshot-out.db")],
    ):
        out.append([str(db) if part == "{db}" else part for part in command])
    return out


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    for command in commands(fifo):
        assert_one_line_error(run_cli(*command), "not a regular file")
    assert fifo.is_fifo()
    assert sorted(os.listdir(tmp_path)) == ["pipe.db"]


def test_dev_null_is_no_database():
    for command in commands(Path("/dev/null"))[:-1]:
        assert_one_line_error(run_cli(*command), "not a regular file")
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_file_is_one_line_and_left_as_it_was(harvested_db, tmp_path, damage):
    db = copy_of(harvested_db, tmp_path, "damaged.db")
    data = db.read_bytes()
    if damage == "truncated":
        db.write_bytes(data[: len(data) // 3])
    else:
        # The header stays, the schema page under it does not.
        db.write_bytes(data[:100] + b"\xff" * (4096 - 100) + data[4096:])
    before = db.read_bytes()
    for command in commands(db):
        assert_one_line_error(run_cli(*command), "damaged")
        assert db.read_bytes() == before
    assert not (tmp_path / "snapshot-out.db").exists()


def test_a_directory_is_no_database(tmp_path):
    for command in commands(tmp_path)[:-1]:
        assert_one_line_error(run_cli(*command), "directory")


def test_a_path_below_a_file_is_refused(tmp_path):
    (tmp_path / "notes").write_text("x")
    assert_one_line_error(run_cli("harvest", str(tmp_path / "notes" / "x.db")), "directory")


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "does not exist"),
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_bad_metadata_file_for_serve(harvested_db, tmp_path, content, words):
    metadata = tmp_path / "metadata.json"
    if isinstance(content, bytes):
        metadata.write_bytes(content)
    elif content is not None:
        metadata.write_text(content)
    result = run_cli("serve", str(harvested_db), "--port", "0", "--metadata", str(metadata))
    assert_one_line_error(result, "--metadata")
    assert words in result.stderr


def test_a_fifo_for_metadata_is_refused_at_once(harvested_db, tmp_path):
    fifo = tmp_path / "metadata.json"
    os.mkfifo(fifo)
    result = run_cli("serve", str(harvested_db), "--port", "0", "--metadata", str(fifo))
    assert_one_line_error(result, "--metadata", "not a regular file")


def run_to_dev_full(*args: str) -> subprocess.CompletedProcess:
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "empiar_mirror.harvester", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_output_to_a_full_device_is_one_line(harvested_db):
    db = str(harvested_db)
    for args in (
        ["status", db],
        ["status", "--json", db],
        ["export", db, "EMPIAR-10442"],
        ["export", db, "EMPIAR-10442", "--format", "json"],
        ["--help"],
    ):
        assert_one_line_error(run_to_dev_full(*args), "cannot write the output")


def test_status_of_a_record_with_no_status(harvested_db, tmp_path):
    db = copy_of(harvested_db, tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("update empiar_entries set status = null where accession = 'EMPIAR-10442'")
    conn.close()
    result = invoke("status", str(db))
    assert result.returncode == 0, result.stderr
    assert "(none)" in result.stdout


# File systems of our own: read-only, and full. Mounting needs root, as CI runs. --------------


@contextlib.contextmanager
def tmpfs(directory: Path, size: str):
    """A tmpfs of `size` mounted on `directory` for the block; skips the test if it cannot."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    directory.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True)


def remount(directory: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(directory)], check=True)


def test_a_read_only_file_system(harvested_db, tmp_path):
    with tmpfs(tmp_path / "ro", "16m") as ro:
        db = copy_of(harvested_db, ro, "mirror.db")
        before = db.read_bytes()
        remount(ro, "ro")
        try:
            # A live (WAL) file cannot be read without its -shm file beside it.
            for command in commands(db):
                assert_one_line_error(run_cli(*command), "not writable")
            assert_one_line_error(
                run_cli("harvest", str(ro / "new.db"), "--empiar-api", "http://127.0.0.1:9/"),
                "not writable",
            )
            assert db.read_bytes() == before
            assert sorted(os.listdir(ro)) == ["mirror.db"]
        finally:
            remount(ro, "rw")


def test_a_snapshot_on_a_read_only_file_system_is_read(harvested_db, tmp_path):
    with tmpfs(tmp_path / "ro", "16m") as ro:
        snapshot = ro / "snapshot.db"
        result = invoke("snapshot", str(harvested_db), str(snapshot))
        assert result.returncode == 0, result.stderr
        remount(ro, "ro")
        try:
            result = invoke("status", "--json", str(snapshot))
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["empiar_entries"] == GOOD_ENTRIES_COUNT
        finally:
            remount(ro, "rw")


def test_a_disk_that_fills_during_a_harvest(tmp_path):
    with tmpfs(tmp_path / "small", "16m") as small, ReplayServer([SAMPLE_DIR]) as server:
        db = small / "mirror.db"
        first = harvest(server, db, "--ids", "EMPIAR-10442")
        assert first.returncode == 0, first.stderr
        # All but 200 KB taken: the rest of the sample does not fit.
        free = os.statvfs(small)
        filler = small / "filler"
        filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 200 * 1024))
        # A process of its own: exit status 4 as the shell sees it, after SQLite's disk error.
        full = harvest(server, db, run=run_cli)
        assert full.returncode == EXIT_DISK_FULL, full.stderr
        lines = full.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("empiar-mirror: error: the disk is full")
        assert "Traceback" not in full.stderr

        filler.unlink()
        status = json.loads(invoke("status", "--json", str(db)).stdout)
        stopped, done = status["runs"][:2]
        assert stopped["exit_status"] == EXIT_DISK_FULL and stopped["finished_at"] is None
        assert done["exit_status"] == 0
        assert query(db, "pragma integrity_check") == [("ok",)]
        # What it committed is kept, and the next run finishes the job.
        kept = "select count(*) from empiar_entries where accession = 'EMPIAR-10442'"
        assert query(db, kept) == [(1,)]
        again = harvest(server, db)
        assert again.returncode == 0, again.stderr
        assert query(db, "select count(*) from empiar_entries")[0][0] == GOOD_ENTRIES_COUNT


def test_an_error_excerpt_stays_in_the_file_and_out_of_what_is_served(server, tmp_path):
    db = tmp_path / "mirror.db"
    assert harvest(server, db).returncode == 1  # the overlay's malformed entry
    assert query(db, "select count(excerpt) from harvest_errors")[0][0] > 0
    answers = requests(
        db,
        [
            sql_path(db, "select excerpt from harvest_errors"),
            f"/{db.stem}/harvest_errors.json?_shape=objects",
        ],
    )
    for answer in answers:
        assert answer.status_code == 200
        rows = answer.json()["rows"]
        assert rows and {row["excerpt"] for row in rows} == {None}


def test_a_disk_that_fills_during_an_export_or_a_snapshot_leaves_only_whole_files(
    harvested_db, tmp_path
):
    with tmpfs(tmp_path / "small", "256k") as small:
        out = small / "docs"
        result = run_cli("export", str(harvested_db), "--all", "--format", "json", "-o", str(out))
        assert_one_line_error(result, "cannot write into")
        written = sorted(out.iterdir())
        assert written and len(written) < GOOD_ENTRIES_COUNT
        for path in written:
            assert not path.name.startswith("."), path
            json.loads(path.read_text())  # each one whole
        shutil.rmtree(out)
        result = run_cli("snapshot", str(harvested_db), str(small / "public.db"))
        assert_one_line_error(result, "cannot")
        assert sorted(os.listdir(small)) == []
