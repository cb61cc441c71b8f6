"""Publishing, scripts and releasing: snapshots and what serves them, deployments made by
Datasette's publishers, the link tables and views, the README's five questions, the wheel in a
fresh environment, and the small things users hit (-h, serve's options, demo, export, status)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shlex
import socket
import sqlite3
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from conftest import (
    GOOD_ENTRIES_COUNT,
    backup_copy,
    close_datasette,
    datasette_get,
    free_port,
    harvest,
    http_get,
    invoke,
    query,
    run_cli,
    running,
    table_dump,
)
from sqlite_utils import Database
from test_export import validator  # noqa: F401 -- the lambda-ber validator fixture

from empiar_mirror.harvester.cli import cli
from empiar_mirror.harvester.replay import ReplayServer
from empiar_mirror.index import front_doors
from empiar_mirror.index.export import entry_accessions, export_dataset
from empiar_mirror.index.serve import load_metadata, make_datasette

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
QUESTIONS = re.findall(r"```sql\n(.*?)```", README, re.S)
HANG_GUARD = 120  # seconds; only ever reached when something hangs


# Helpers -------------------------------------------------------------------------------------


def _json(url: str):
    status, _, body = http_get(url)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def _ds_get(path: str, *files: Path, immutables: tuple[Path, ...] = ()):
    ds = make_datasette(list(files), immutables=list(immutables))

    async def go():
        await ds.invoke_startup()
        return await ds.client.get(path)

    try:
        return asyncio.run(go())
    finally:
        close_datasette(ds)


def _one_line_error(result, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("empiar-mirror: error:"), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def _rows(db: Path, sql: str) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql)]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def public_db(harvested_db, tmp_path_factory) -> Path:
    """A snapshot of the harvested sample, made by the CLI."""
    out = tmp_path_factory.mktemp("snapshot") / "public.db"
    result = invoke("snapshot", str(harvested_db), str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def doors(harvested_db) -> dict[str, dict[str, dict]]:
    """The three front doors as dicts keyed by accession, their JSON lists decoded: what the
    expected answers below are computed from, without SQL."""
    out = {}
    for table, key in (
        ("empiar_entries", "accession"),
        ("emdb_maps", "emdb_id"),
        ("pdb_models", "pdb_id"),
    ):
        rows = _rows(harvested_db, f"select * from {table}")
        for row in rows:
            for column in ("emdb_ids", "pdb_ids", "organisms"):
                if column in row:
                    row[column] = json.loads(row[column] or "[]")
        out[table] = {r[key]: r for r in rows}
    return out


# Snapshots and serving them ------------------------------------------------------------------

HOLD_LOCK = """
import sys
from empiar_mirror.index import store
path = sys.argv[1]
store.lock(path)
db = store.open_database(path, create=False)
db.execute("begin immediate")
db.execute(
    "insert into harvest_runs (started_at, mode, options) "
    "values ('2030-01-01T00:00:00Z', 'uncommitted', '{}')"
)
print("holding", flush=True)
sys.stdin.read()
"""


def test_snapshot_while_a_harvest_holds_the_lock(harvested_db, tmp_path):
    live = backup_copy(harvested_db, tmp_path / "live.db")
    out = tmp_path / "public.db"
    # Another process holds the harvest lock and is in the middle of a write transaction.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(live)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert run_cli("reindex", str(live)).returncode == 3  # the lock is real
        result = run_cli("snapshot", str(live), str(out), "--keep-contacts")
        assert result.returncode == 0, result.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=HANG_GUARD)

    # The copy opens, is whole, read-only on disk, and holds what was committed: no more.
    assert not out.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert query(out, "pragma integrity_check") == [("ok",)]
    assert query(out, "pragma journal_mode") == [("delete",)]
    assert query(out, "select count(*) from harvest_runs where mode = 'uncommitted'") == [(0,)]
    tables = [r[0] for r in query(live, "select name from sqlite_master where type = 'table'")]
    assert table_dump(out, tables) == table_dump(live, tables)
    assert query(out, "select count(*) from empiar_entries") == [(GOOD_ENTRIES_COUNT,)]

    # Datasette offers the snapshot, served immutable, for download; never the live file.
    download = _ds_get(f"/{out.stem}.db", immutables=(out,))
    assert download.status_code == 200 and download.content == out.read_bytes()
    assert _ds_get(f"/{live.stem}.db", live).status_code == 403


def test_a_published_snapshot_holds_no_contact_details_unless_asked(server, tmp_path):
    live = tmp_path / "live.db"
    assert harvest(server, live).returncode == 1  # the overlay's malformed entry: an excerpt
    emails = [r[0] for r in query(live, "select email from person where email is not null")]
    assert emails
    out = tmp_path / "public.db"
    assert run_cli("snapshot", str(live), str(out)).returncode == 0
    assert query(out, "select count(email) from person") == [(0,)]
    assert query(out, "select count(*) from record_version where payload != ''") == [(0,)]
    assert query(out, "select count(*) from shared_contribution where row != ''") == [(0,)]
    assert query(out, "select count(excerpt) from harvest_errors") == [(0,)]
    # Not in a freed page either, and the rest is all there.
    raw = out.read_bytes()
    assert not any(email.encode() in raw for email in emails)
    assert b"street" not in raw and b"telephone" not in raw
    assert query(out, "select count(*) from empiar_entries") == query(
        live, "select count(*) from empiar_entries"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []
    kept = tmp_path / "kept.db"
    assert run_cli("snapshot", str(live), str(kept), "--keep-contacts").returncode == 0
    assert query(kept, "select count(email) from person") == [(len(emails),)]


def test_snapshot_errors_are_one_line(harvested_db, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    _one_line_error(run_cli("snapshot", str(tmp_path / "missing.db"), "x.db"), "does not exist")
    _one_line_error(run_cli("snapshot", str(harvested_db), str(notes)), "not an SQLite database")
    _one_line_error(run_cli("snapshot", str(harvested_db), str(harvested_db)), "the file to copy")
    _one_line_error(
        run_cli("snapshot", str(harvested_db), str(tmp_path / "no-dir" / "x.db")), "does not exist"
    )
    assert notes.read_text() == "not a database\n"


def test_serve_passes_datasette_options_through(public_db, tmp_path):
    port = free_port()
    args = [
        *(sys.executable, "-m", "empiar_mirror.harvester", "serve"),
        *("-i", str(public_db), "--port", str(port), "--cors", "--crossdb"),
        *("--setting", "max_returned_rows", "50", "--setting", "sql_time_limit_ms", "2000"),
    ]
    with running(args, port, log=tmp_path / "serve.log") as base:
        status, _, body = http_get(base + "/public.db")
        assert status == 200 and body == public_db.read_bytes()
        settings = _json(base + "/-/settings.json")
        assert settings["max_returned_rows"] == 50 and settings["sql_time_limit_ms"] == 2000
        assert settings["suggest_facets"] is False  # ours stay where not overridden
        _, headers, _ = http_get(base + "/public.json")
        assert headers.get("access-control-allow-origin") == "*"
        crossdb = _json(
            base + "/_memory.json?sql=select+count(*)+as+n+from+public.empiar_entries&_shape=array"
        )
        assert crossdb == [{"n": GOOD_ENTRIES_COUNT}]
        # A taken port is one line and exit 2.
        taken = run_cli("serve", "-i", str(public_db), "--port", str(port))
        _one_line_error(taken, f"port {port}", "taken")


def test_serve_lists_its_options_and_refuses_bad_ones(public_db):
    usage = run_cli("serve", "-h")
    assert usage.returncode == 0
    for option in ("-i, --immutable FILE", "--cors", "--setting NAME VALUE", "--crossdb"):
        assert option in usage.stdout, option
    _one_line_error(run_cli("serve"), "DB_PATH", "-i FILE")
    _one_line_error(run_cli("serve", "-i", str(public_db), "--setting", "nope", "1"), "nope")
    _one_line_error(
        run_cli("serve", str(public_db), "--setting", "max_returned_rows", "many"),
        "max_returned_rows",
        "integer",
    )


# Deployments ---------------------------------------------------------------------------------

# Stands in for gcloud and docker: keeps the deployment directory it is handed, deploys nothing.
STAND_IN = """#!/bin/sh
case "$*" in
  "config get-value project") echo offline-project ;;
  "builds submit"*|"build "*) cp -R . "$KEEP_DEPLOYMENT" ;;
esac
"""


@pytest.mark.parametrize(
    "command",
    [
        ["publish", "cloudrun", "--service", "empiar-mirror"],
        ["package", "--tag", "empiar-mirror"],
    ],
    ids=["publish-cloudrun", "package"],
)
def test_datasette_deployment_has_the_portal_without_a_metadata_file(public_db, tmp_path, command):
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    for tool in ("gcloud", "docker"):
        (stand_ins / tool).write_text(STAND_IN)
        (stand_ins / tool).chmod(0o755)
    kept = tmp_path / "deployment"
    env = {
        **os.environ,
        "PATH": f"{stand_ins}:{BIN}:{os.environ['PATH']}",
        "KEEP_DEPLOYMENT": str(kept),
    }
    result = subprocess.run(
        [str(BIN / "datasette"), *command, str(public_db), "--install", "empiar-mirror"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert result.returncode == 0, result.stderr

    # What the deployment holds: the snapshot and a Dockerfile, no metadata file.
    assert sorted(p.name for p in kept.iterdir()) == ["Dockerfile", "public.db"]
    dockerfile = (kept / "Dockerfile").read_text()
    (install,) = re.findall(r"^RUN pip install -U (.+)$", dockerfile, re.M)
    assert install.split() == ["datasette", "empiar-mirror"]
    assert "--metadata" not in dockerfile
    (inspect,) = re.findall(r"^RUN (datasette inspect .+)$", dockerfile, re.M)
    (cmd,) = re.findall(r"^CMD (.+)$", dockerfile, re.M)
    serve_args = shlex.split(cmd)
    assert serve_args[:2] == ["datasette", "serve"]
    assert serve_args[serve_args.index("-i") + 1] == "public.db"

    # The container's own commands, run here on loopback, where `pip install empiar-mirror` is
    # this environment's install.
    subprocess.run(
        [str(BIN / "datasette"), *shlex.split(inspect)[1:]],
        cwd=kept,
        check=True,
        capture_output=True,
        timeout=HANG_GUARD,
    )
    port = free_port()
    serve_args[serve_args.index("--host") + 1] = "127.0.0.1"
    serve_args[serve_args.index("--port") + 1] = str(port)
    with running([str(BIN / "datasette"), *serve_args[1:]], port, cwd=kept) as base:
        assert "empiar-mirror" in {p["name"] for p in _json(base + "/-/plugins.json")}
        tables = _json(base + "/-/metadata.json")["databases"]["public"]["tables"]
        assert tables["empiar_entries"]["description"]
        status, _, home = http_get(base + "/")
        assert status == 200 and b"Charts" in home
        status, _, body = http_get(base + "/public.db")
        assert status == 200 and body == public_db.read_bytes()


# Link tables and views -----------------------------------------------------------------------


def _expected_links(doors) -> tuple[set, set]:
    entries, maps, models = doors["empiar_entries"], doors["emdb_maps"], doors["pdb_models"]
    empiar_emdb = {(a, m) for a, e in entries.items() for m in e["emdb_ids"] if m in maps}
    emdb_pdb = {(m, p) for m, row in maps.items() for p in row["pdb_ids"] if p in models}
    emdb_pdb |= {(m, p) for p, row in models.items() for m in row["emdb_ids"] if m in maps}
    return empiar_emdb, emdb_pdb


def test_link_tables_hold_every_link_with_foreign_keys(harvested_db, doors):
    empiar_emdb, emdb_pdb = _expected_links(doors)
    assert set(query(harvested_db, "select accession, emdb_id from empiar_emdb")) == empiar_emdb
    assert set(query(harvested_db, "select emdb_id, pdb_id from emdb_pdb")) == emdb_pdb
    assert len(empiar_emdb) >= 10 and len(emdb_pdb) >= 5
    keys = {
        table: {
            (r[3], r[2], r[4]) for r in query(harvested_db, f"pragma foreign_key_list({table})")
        }
        for table in ("empiar_emdb", "emdb_pdb")
    }
    assert keys == {
        "empiar_emdb": {
            ("accession", "empiar_entries", "accession"),
            ("emdb_id", "emdb_maps", "emdb_id"),
        },
        "emdb_pdb": {("emdb_id", "emdb_maps", "emdb_id"), ("pdb_id", "pdb_models", "pdb_id")},
    }
    for table in keys:
        assert query(harvested_db, f"pragma foreign_key_check({table})") == [], table


def test_link_tables_and_id_lists_follow_the_record_links(harvested_db, tmp_path):
    db = Database(backup_copy(harvested_db, tmp_path / "links.db"))
    pair = ("EMPIAR-90022", "EMD-25107")
    link = ("empiar", pair[0], "related EMDB entry", "emdb", pair[1])

    def links() -> set:
        return set(db.execute("select accession, emdb_id from empiar_emdb").fetchall())

    def lists() -> tuple:
        entry = db.execute("select emdb_ids from empiar_entries where accession = ?", [pair[0]])
        linked_map = db.execute("select empiar_ids from emdb_maps where emdb_id = ?", [pair[1]])
        return entry.fetchone()[0], linked_map.fetchone()[0]

    assert pair in links() and ("EMPIAR-90029", "EMD-25107") in links()
    assert lists() == ('["EMD-25107"]', '["EMPIAR-90022", "EMPIAR-90029"]')
    with db.atomic():
        db.execute(
            "delete from record_link where (from_archive, from_accession, relation, to_archive, "
            "to_accession) = (?, ?, ?, ?, ?)",
            link,
        )
        front_doors.refresh(db)
    assert pair not in links() and ("EMPIAR-90029", "EMD-25107") in links()
    assert lists() == ("[]", '["EMPIAR-90029"]')
    with db.atomic():
        db.execute("insert into record_link values (?, ?, ?, ?, ?, 0)", link)
        front_doors.refresh(db)
    assert pair in links()
    assert lists() == ('["EMD-25107"]', '["EMPIAR-90022", "EMPIAR-90029"]')
    db.close()


def test_views_have_one_row_per_pair_and_are_described(harvested_db):
    empiar_emdb = set(query(harvested_db, "select accession, emdb_id from empiar_emdb"))
    entry_maps = query(harvested_db, "select accession, emdb_id from entry_maps")
    assert len(entry_maps) == len(empiar_emdb) and set(entry_maps) == empiar_emdb
    fitted = set(
        query(
            harvested_db,
            "select l.accession, l.emdb_id, f.pdb_id from empiar_emdb l "
            "join emdb_pdb f on f.emdb_id = l.emdb_id",
        )
    )
    entry_models = query(harvested_db, "select accession, emdb_id, pdb_id from entry_models")
    assert len(entry_models) == len(fitted) and set(entry_models) == fitted
    views = {v["name"] for v in datasette_get(harvested_db, "/mirror.json").json()["views"]}
    assert views == {"entry_maps", "entry_models", "entry_organisms"}
    tables = load_metadata()["databases"]["empiar"]["tables"]
    for name in views | {"empiar_emdb", "emdb_pdb"}:
        assert tables[name]["description"], name
        columns = {r[1] for r in query(harvested_db, f"pragma table_info({name})")}
        assert set(tables[name]["columns"]) == columns, name


# The README's five questions -----------------------------------------------------------------


def _linked(doors):
    maps = doors["emdb_maps"]
    for accession, entry in doors["empiar_entries"].items():
        for emdb_id in entry["emdb_ids"]:
            if emdb_id in maps:
                yield accession, entry, maps[emdb_id]


def test_the_readme_asks_five_questions():
    assert len(QUESTIONS) == 5, "tests below answer the README's ```sql blocks in order"


def test_single_particle_below_3_a_on_a_krios_with_a_falcon(harvested_db, doors):
    sql = QUESTIONS[0]

    def expected(microscope: str, detector: str) -> list[tuple]:
        rows = [
            (a, m["emdb_id"], m["resolution_a"], m["microscope"], m["detector"])
            for a, _, m in _linked(doors)
            if m["method"] == "single particle"
            and m["resolution_a"] is not None
            and m["resolution_a"] < 3
            and microscope in (m["microscope"] or "").upper()
            and detector in (m["detector"] or "").upper()
        ]
        return sorted(rows, key=lambda r: (r[2], r[0]))

    # The first question a reader copies answers with rows on the bundled sample.
    found = query(harvested_db, sql)
    assert len(found) >= 5 and found == expected("KRIOS", "FALCON")
    assert {r[3] for r in found} == {"FEI TITAN KRIOS", "TFS KRIOS"}
    # Its sub-3 Å K3 map is a CRYO ARM's: the question with another detector finds no Krios.
    assert query(harvested_db, sql.replace("'%FALCON%'", "'%K3%'")) == expected("KRIOS", "K3")
    any_microscope = query(harvested_db, sql.replace("'%KRIOS%'", "'%'").replace("FALCON", "K3"))
    assert any_microscope and any_microscope == expected("", "K3")


def test_entries_of_one_organism(harvested_db, doors):
    expected = sorted(
        {a for a, _, m in _linked(doors) if "Homo sapiens" in m["organisms"]},
    )
    answer = query(harvested_db, QUESTIONS[1])
    assert [r[0] for r in answer] == expected and len(expected) >= 3
    assert all(r[1] == doors["empiar_entries"][r[0]]["title"] for r in answer)


def test_entries_with_fitted_models(harvested_db, doors):
    models = doors["pdb_models"]
    expected = sorted(
        {
            (a, m["emdb_id"], p)
            for a, _, m in _linked(doors)
            for p in models
            if p in m["pdb_ids"] or m["emdb_id"] in models[p]["emdb_ids"]
        }
    )
    answer = query(harvested_db, QUESTIONS[2])
    assert [(r[0], r[1], r[3]) for r in answer] == expected and len(expected) >= 5
    for _, emdb_id, resolution, pdb_id, status, replaced_by in answer:
        assert resolution == doors["emdb_maps"][emdb_id]["resolution_a"]
        assert (status, replaced_by) == (models[pdb_id]["status"], models[pdb_id]["replaced_by"])
    assert any(r[4] == "OBS" and r[5] for r in answer)  # an obsolete model names its successor


def test_largest_tomography_datasets(harvested_db, doors):
    tomography = [
        e
        for e in doors["empiar_entries"].values()
        if e["technique"] in ("cryo_et", "xray_tomography")
    ]
    tomography.sort(key=lambda e: (-(e["dataset_size_bytes"] or -1), e["accession"]))
    answer = query(harvested_db, QUESTIONS[3])
    assert [r[0] for r in answer] == [e["accession"] for e in tomography[:10]]
    assert len(answer) >= 3 and {r[2] for r in answer} <= {"cryo_et", "xray_tomography"}


def test_released_this_year(harvested_db, doors):
    sql = QUESTIONS[4]

    def expected(since: str) -> list[str]:
        entries = sorted(doors["empiar_entries"].values(), key=lambda e: e["accession"])
        entries = [e for e in entries if (e["release_date"] or "") >= since]
        return [
            e["accession"] for e in sorted(entries, key=lambda e: e["release_date"], reverse=True)
        ]

    this_year = f"{dt.datetime.now(dt.UTC).year}-01-01"
    assert [r[0] for r in query(harvested_db, sql)] == expected(this_year)
    # The same question asked in mid-2025: an answer that does not depend on today's date.
    in_2025 = query(harvested_db, sql.replace("'now'", "'2025-06-01'"))
    assert in_2025 and [r[0] for r in in_2025] == expected("2025-01-01")


# The commands' small things ------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [[], *([name] for name in cli.commands)], ids=lambda c: c[0] if c else "top"
)
def test_h_is_help(command):
    short, long = invoke(*command, "-h"), invoke(*command, "--help")
    assert short.returncode == 0 and short.stdout.startswith("Usage: "), short.stderr
    assert short.stdout == long.stdout


def test_demo_on_a_taken_port_says_so_before_anything(tmp_path):
    db = tmp_path / "demo.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("demo", "--db", str(db), "--port", str(port), cwd=tmp_path)
    _one_line_error(result, f"port {port}", "taken")
    assert "http://" not in result.stderr and result.stdout == ""
    assert not db.exists()


def _held(stderr: str) -> dict[str, int]:
    found = re.search(r"holds (\d+) EMPIAR entries, (\d+) EMDB maps and (\d+) PDB models", stderr)
    assert found, stderr
    return dict(
        zip(("empiar_entries", "emdb_maps", "pdb_models"), map(int, found.groups()), strict=True)
    )


def test_a_second_demo_reports_what_the_file_holds(tmp_path):
    db = tmp_path / "demo.db"
    first = invoke("demo", "--db", str(db), "--no-serve")
    second = invoke("demo", "--db", str(db), "--no-serve")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "Harvested 0" not in second.stderr
    assert _held(second.stderr) == _held(first.stderr)
    assert _held(first.stderr)["empiar_entries"] == GOOD_ENTRIES_COUNT
    home = datasette_get(db, "/").text
    shown = {
        table: int(re.search(rf"<strong>([\d,]+)</strong> {label}", home)[1].replace(",", ""))
        for table, label in (
            ("empiar_entries", "EMPIAR entries"),
            ("emdb_maps", "EMDB maps"),
            ("pdb_models", "PDB models"),
        )
    }
    assert shown == _held(second.stderr)


def test_progress_names_the_archive_and_counts_per_archive(server, tmp_path):
    result = harvest(server, tmp_path / "p.db", "--progress")
    assert result.returncode in (0, 1), result.stderr
    labels = re.findall(
        r"Harvesting (EMPIAR|EMDB|RCSB PDB) \(EMPIAR (\d+), EMDB (\d+), RCSB PDB (\d+)\)",
        result.stderr,
    )
    assert labels[0] == ("EMPIAR", "1", "0", "0")
    assert {phase for phase, *_ in labels} == {"EMPIAR", "EMDB", "RCSB PDB"}
    counts = [tuple(map(int, c)) for _, *c in labels]
    assert counts == sorted(counts) and sum(counts[-1]) == len(labels)


# export: maps, models, and every entry -------------------------------------------------------


@pytest.mark.parametrize(
    "given, dataset_id",
    [("EMD-25107", "emdb:EMD-25107"), ("emdb:EMD-25107", "emdb:EMD-25107"), ("7sgd", "pdb:7SGD")],
)
def test_export_a_map_or_a_model_on_its_own(harvested_db, validator, given, dataset_id):  # noqa: F811
    result = invoke("export", str(harvested_db), given, "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["id"] == dataset_id
    assert [s["id"] for s in document["studies"]] == [f"{dataset_id}/study"]
    owned = [
        o["id"]
        for slot in ("experiment_runs", "data_files", "samples")
        for o in document.get(slot, [])
    ]
    assert owned and all(i.startswith(f"{dataset_id}/") for i in owned)
    assert document == export_dataset(Database(harvested_db), given)
    report = validator.validate(document, "Dataset")
    assert not report.results, "\n".join(r.message[:300] for r in report.results[:10])


def test_export_of_a_map_emdb_does_not_serve(harvested_db):
    _one_line_error(run_cli("export", str(harvested_db), "EMD-90011"), "EMD-90011 is not public")


def test_export_all_as_files_and_as_json_lines(harvested_db, tmp_path):
    db = Database(harvested_db)
    accessions = entry_accessions(db)
    assert len(accessions) == GOOD_ENTRIES_COUNT

    out = tmp_path / "json"
    result = invoke("export", str(harvested_db), "--all", "--format", "json", "-o", str(out))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{a}.json" for a in accessions)
    for accession in accessions:
        assert json.loads((out / f"{accession}.json").read_text()) == export_dataset(db, accession)

    out = tmp_path / "yaml"
    result = invoke("export", str(harvested_db), "--all", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((out / "EMPIAR-10442.yaml").read_text()) == export_dataset(
        db, "EMPIAR-10442"
    )
    assert len(list(out.glob("*.yaml"))) == len(accessions)

    result = invoke("export", str(harvested_db), "--all")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"empiar:{a}" for a in accessions]
    assert json.loads(lines[1]) == export_dataset(db, accessions[1])


def test_export_usage_errors(harvested_db, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    _one_line_error(run_cli("export", str(harvested_db)), "ACCESSION", "--all")
    _one_line_error(run_cli("export", str(harvested_db), "EMPIAR-10442", "--all"), "--all")
    _one_line_error(run_cli("export", str(harvested_db), "--all", "--format", "yaml"), "JSON Lines")
    _one_line_error(
        run_cli("export", str(harvested_db), "--all", "-o", str(a_file)), "not a directory"
    )


# status and the released package -------------------------------------------------------------


def test_status_shows_the_version(harvested_db):
    version = metadata.version("empiar-mirror")
    text = invoke("status", str(harvested_db))
    assert text.returncode == 0 and text.stdout.startswith(
        f"empiar-mirror {version}, schema version "
    )
    report = json.loads(invoke("status", str(harvested_db), "--json").stdout)
    assert report["version"] == version and report["schema_version"] >= 4


def test_the_wheel_installs_and_runs_the_demo_from_elsewhere(tmp_path, wheel_path):
    """The built wheel alone (no checkout on the path) in a fresh environment whose dependencies
    are this one's: offline, and without installing anything from a package index."""
    wheel = wheel_path
    env = tmp_path / "env"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=HANG_GUARD
    )
    python = env / "bin" / "python"
    (site,) = (env / "lib").glob("python3*/site-packages")
    # Only a directory on the path, not a site directory: its editable-install hook stays off.
    deps = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (site / "dependencies.pth").write_text(deps + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=HANG_GUARD,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(python), "-c", "import empiar_mirror.harvester as h; print(h.__file__)"],
        cwd=elsewhere,
        env=clean,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert where.stdout.startswith(str(env)), where.stdout + where.stderr
    demo = subprocess.run(
        [str(env / "bin" / "empiar-mirror"), "demo", "--no-serve", "--db", "demo.db"],
        cwd=elsewhere,
        env=clean,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert demo.returncode == 0, demo.stderr
    assert _held(demo.stderr)["empiar_entries"] == GOOD_ENTRIES_COUNT
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE not shipped"


def test_a_demo_that_only_serves_holds_no_lock(tmp_path):
    db = tmp_path / "demo.db"
    port = free_port()
    with running(
        [
            sys.executable,
            "-m",
            "empiar_mirror.harvester",
            "demo",
            "--db",
            str(db),
            "--port",
            str(port),
        ],
        port,
        cwd=tmp_path,
    ):
        with ReplayServer() as server:
            result = harvest(server, db, "--ids", "EMPIAR-10442")
    assert result.returncode == 0, result.stderr
