"""A mirror never loses what it once held: every distinct answer is a version, the tables come
from the newest one that maps, a night of bad answers is kept beside the good ones (and `reindex`
stays lossless), each change of version is history; a killed run resumes where it stopped."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest
from conftest import (
    FIXTURES,
    backup_copy,
    canonical_file,
    harvest,
    invoke,
    logical_dump,
    query,
    stored,
)
from sqlite_utils import Database
from test_faults import start_harvest, wait_for

from empiar_mirror.harvester.engine import DatabaseThread
from empiar_mirror.harvester.keep import MAPPING_GUARD_COUNT
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer, Snapshot
from empiar_mirror.index import store
from empiar_mirror.index.versions import canonical

PRERELEASE = FIXTURES / "prerelease-0.1.0.db"
FRONT_DOORS = ("empiar_entries", "emdb_maps", "pdb_models")


def counts(db: Path) -> dict[str, int]:
    return {t: query(db, f"select count(*) from {t}")[0][0] for t in FRONT_DOORS}


def every_record_answers(tmp_path: Path, answer) -> Path:
    """A snapshot of the sample in which every entry, map and model answers `answer(doc)`."""
    root = tmp_path / "night"
    sample = Snapshot([SAMPLE_DIR])
    for folder, found in (
        ("empiar", sample.entries),
        ("emdb", sample.maps),
        ("rcsb/entry", sample.models),
    ):
        (root / folder).mkdir(parents=True)
        for path in found.values():
            (root / folder / path.name).write_text(json.dumps(answer(json.loads(path.read_text()))))
    return root


@pytest.fixture
def mirror(harvested_db, tmp_path) -> Path:
    return backup_copy(harvested_db, tmp_path / "mirror.db")


def test_a_night_of_empty_answers_is_kept_beside_the_good_versions(mirror, tmp_path):
    before, dump = counts(mirror), logical_dump(mirror)
    assert before == {"empiar_entries": 36, "emdb_maps": 14, "pdb_models": 8}
    night = every_record_answers(tmp_path, lambda doc: {})
    with ReplayServer([night]) as server:
        result = harvest(server, mirror, "--full", "--json")
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    # Once most of a service's answers fail to map, the rest of them are not kept this run,
    # and the run says so.
    guards = query(
        mirror,
        "select source, message from harvest_errors where kind = 'mapping-guard' order by source",
    )
    assert [g[0] for g in guards] == ["emdb", "empiar"]
    assert f"{MAPPING_GUARD_COUNT} of {MAPPING_GUARD_COUNT} empiar answers" in guards[1][1]
    assert summary["empiar"]["failed"] == 36 and summary["empiar"]["updated"] == 0
    kept_bad = query(
        mirror,
        "select source, count(*) from record_version where maps = 0 and payload = '{}' "
        "group by source order by source",
    )
    assert kept_bad == [("emdb", MAPPING_GUARD_COUNT), ("empiar", MAPPING_GUARD_COUNT), ("pdb", 6)]
    # Nothing held was replaced: the rows are as they were, and a rebuild from the versions
    # gives them again.
    assert logical_dump(mirror) == dump
    result = invoke("reindex", str(mirror))
    # Every record has a version that maps, so none is a failure.
    assert result.returncode == 0 and "36 empiar" in result.stderr
    assert counts(mirror) == before
    assert logical_dump(mirror) == dump


def test_a_field_changing_type_in_every_entry_replaces_nothing(mirror, tmp_path):
    dump = logical_dump(mirror)

    def title_as_object(doc: dict) -> dict:
        return {
            acc: {**entry, "title": {"value": entry.get("title"), "lang": "en"}}
            for acc, entry in doc.items()
            if isinstance(entry, dict)
        }

    night = every_record_answers(tmp_path, title_as_object)
    with ReplayServer([night]) as server:
        result = harvest(server, mirror, "--full", "--no-linked", "--json")
    assert result.returncode == 1, result.stderr
    assert invoke("reindex", str(mirror)).returncode == 0
    assert logical_dump(mirror) == dump


def changed_entry(tmp_path: Path, accession: str, **fields) -> Path:
    """An overlay in which one sample entry answers with some fields changed."""
    root = tmp_path / f"v-{len(list(tmp_path.glob('v-*')))}"
    (root / "empiar").mkdir(parents=True)
    doc = json.loads((SAMPLE_DIR / "empiar" / f"{accession}.json").read_text())
    doc[accession].update(fields)
    (root / "empiar" / f"{accession}.json").write_text(json.dumps(doc))
    return root


def history(db: Path, accession: str) -> list[tuple]:
    return query(
        db,
        "select change, fields, previous_sha256 is null from record_change "
        "where source = 'empiar' and accession = ? order by id",
        (accession,),
    )


def test_each_change_of_version_is_history_and_reindex_takes_the_newest_that_maps(mirror, tmp_path):
    acc = "EMPIAR-90001"
    title = query(mirror, "select title from empiar_entries where accession = ?", (acc,))[0][0]
    assert history(mirror, acc) == [("new", "[]", 1)]
    renamed = changed_entry(tmp_path, acc, title="A better title")
    with ReplayServer([SAMPLE_DIR, renamed]) as server:
        assert harvest(server, mirror, "--ids", acc, "--no-linked").returncode == 0
    assert history(mirror, acc)[-1] == ("updated", '["title"]', 0)
    broken = changed_entry(tmp_path, acc, imagesets="not a list")
    with ReplayServer([SAMPLE_DIR, broken]) as server:
        assert harvest(server, mirror, "--ids", acc, "--no-linked").returncode == 1
    # The broken answer is a version beside the others, and no change of the one in use.
    assert len(history(mirror, acc)) == 2
    assert query(
        mirror,
        "select count(*), sum(maps) from record_version where source = 'empiar' and accession = ?",
        (acc,),
    ) == [(3, 2)]
    assert invoke("reindex", str(mirror)).returncode == 0
    new_title = "select title from empiar_entries where accession = ?"
    assert query(mirror, new_title, (acc,)) == [("A better title",)]
    # Served again, the first version is in use again: that too is a change.
    with ReplayServer() as server:
        assert harvest(server, mirror, "--ids", acc, "--no-linked").returncode == 0
    assert history(mirror, acc)[-1] == ("updated", '["title"]', 0)
    assert query(mirror, new_title, (acc,)) == [(title,)]
    assert invoke("reindex", str(mirror)).returncode == 0
    assert query(mirror, new_title, (acc,)) == [(title,)]


def test_a_file_of_one_payload_per_record_upgrades_to_versions(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(PRERELEASE, db)
    held = query(db, "select source, accession, payload from source_record where payload != ''")
    store.open_database(db).close()
    columns = [r[1] for r in query(db, "pragma table_info(source_record)")]
    assert "payload" not in columns
    versions = {
        (s, a): (p, sha)
        for s, a, p, sha in query(
            db, "select source, accession, payload, sha256 from record_version"
        )
    }
    assert len(versions) == len(held) > 0
    for source, acc, payload in held:
        kept, sha = versions[(source, acc)]
        # EMPIAR's are canonical now, as the other archives' always were.
        assert kept == canonical(json.loads(payload)) and json.loads(kept) == json.loads(payload)
        assert query(
            db, "select sha256 from source_record where source = ? and accession = ?", (source, acc)
        ) == [(sha,)]
    assert query(db, "select distinct change from record_change") == [("first kept",)]
    assert query(db, "select count(*) from record_change")[0][0] == len(held)


def test_records_are_stored_in_one_shape_whichever_route(harvested_db):
    for acc in ("EMPIAR-10442", "EMPIAR-90010"):
        assert stored(harvested_db, acc) == canonical_file(SAMPLE_DIR / "empiar" / f"{acc}.json")


# Group commits and resumable runs --------------------------------------------------------


def commits_of(db_path: Path, calls) -> tuple[int, int]:
    """Run `calls` through a DatabaseThread (group of 10): the COMMITs it issued, and the rows
    that landed in table t."""
    seen: list[str] = []

    def connect():
        db = Database(sqlite3.connect(db_path, check_same_thread=False))
        db.execute("create table if not exists t (n integer)")
        db.conn.set_trace_callback(lambda sql: seen.append(sql.strip().upper()))
        return db

    async def go():
        thread = DatabaseThread(connect, group_records=10, group_seconds=60)
        try:
            await calls(thread)
        finally:
            await thread.close()

    asyncio.run(go())
    return seen.count("COMMIT"), query(db_path, "select count(*) from t")[0][0]


def insert(db, n: int) -> None:
    with db.atomic():
        db.execute("insert into t values (?)", [n])
        if n == 13:
            raise ValueError("one record's failure")


def test_queued_writes_are_committed_in_groups_and_a_failing_record_alone_is_undone(tmp_path):
    async def queued(thread):
        results = await asyncio.gather(
            *(thread(insert, n) for n in range(50)), return_exceptions=True
        )
        assert [type(r) for r in results if r is not None] == [ValueError]

    commits, rows = commits_of(tmp_path / "queued.db", queued)
    assert rows == 49
    assert 5 <= commits <= 7  # 50 calls in groups of 10, and the last group at close

    async def one_at_a_time(thread):
        for n in range(20, 40):
            await thread(insert, n)

    # Nothing queued behind a record: it is committed at once.
    commits, rows = commits_of(tmp_path / "idle.db", one_at_a_time)
    assert (commits, rows) == (20, 20)


def empiar_rows(db: Path) -> set[str]:
    try:
        rows = query(db, "select accession from source_record where source = 'empiar'")
    except sqlite3.Error:
        return set()
    return {r[0] for r in rows}


def test_a_first_harvest_killed_halfway_fetches_only_what_it_had_not_kept(tmp_path):
    db = tmp_path / "mirror.db"
    with ReplayServer(latency=0.05) as server:
        process = start_harvest(server, db)
        try:
            wait_for(lambda: len(empiar_rows(db)) >= 18)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
    kept = empiar_rows(db)
    assert 18 <= len(kept) < 36
    with ReplayServer() as server:
        result = harvest(server, db, "--no-batch", "--json")
        entries = set(Snapshot([SAMPLE_DIR]).entries)
        fetched = {acc for acc in entries if server.hits[f"/empiar/api/entry/{acc}/"]}
    assert result.returncode == 0, result.stderr
    assert fetched == entries - kept
    assert counts(db)["empiar_entries"] == 36


def test_an_error_names_the_kind_of_record_and_the_service_apart(tmp_path):
    db = tmp_path / "mirror.db"
    faults = {
        "/empiar/world_availability/": ["503"] * 2,
        "/empiar/api/entry/EMPIAR-10442/": ["503"] * 2,
    }
    with ReplayServer(faults=faults) as server:
        result = harvest(server, db, "--no-linked", "--json")
    assert result.returncode == 1
    assert query(db, "select source, accession, service, kind from harvest_errors order by id") == [
        ("empiar", None, "empiar_files", "http"),
        ("empiar", "EMPIAR-10442", "empiar", "http"),
    ]
    # Only the record counts as a failed record.
    assert json.loads(result.stdout)["empiar"]["failed"] == 1


def test_what_changed_is_named_in_a_curators_words():
    from empiar_mirror.harvester.archives import MAPPERS
    from empiar_mirror.index.changes import changed_parts

    doc = json.loads((SAMPLE_DIR / "empiar" / "EMPIAR-10442.json").read_text())
    entry = doc["EMPIAR-10442"]
    old = MAPPERS["empiar"](doc, "EMPIAR-10442")
    assert changed_parts(old, MAPPERS["empiar"](json.loads(json.dumps(doc)), "EMPIAR-10442")) == []
    entry["imagesets"][0]["num_images_or_tilt_series"] += 1
    entry["authors"] = entry["authors"][:-1]
    entry["status"] = "OBS"
    new = MAPPERS["empiar"](doc, "EMPIAR-10442")
    assert changed_parts(old, new) == [
        "authors",
        "experiments",
        "imagesets",
        "other details",
        "status",
    ]


def test_of_two_versions_served_in_the_same_second_the_one_in_use_is_newest(tmp_path):
    from empiar_mirror.index import versions

    db = store.open_database(tmp_path / "m.db")
    at = "2026-12-07T10:00:00Z"
    fetched = store.Fetched("empiar", "EMPIAR-10001", "u", 200)
    with db.atomic():
        for sha in ("aaa", "bbb"):
            versions.keep(db, "empiar", "EMPIAR-10001", sha, "{}", at, maps=True)
        store.save_source(db, fetched, "aaa", at)
    assert [v.sha256 for v in versions.newest_first(db, "empiar", "EMPIAR-10001")][0] == "aaa"
    with db.atomic():
        store.save_source(db, fetched, "bbb", at)
    assert [v.sha256 for v in versions.newest_first(db, "empiar", "EMPIAR-10001")][0] == "bbb"


def test_a_record_broken_differently_each_night_keeps_one_broken_version(mirror, tmp_path):
    acc = "EMPIAR-90001"
    for night in range(3):
        broken = changed_entry(tmp_path, acc, imagesets=f"not a list, night {night}")
        with ReplayServer([SAMPLE_DIR, broken]) as server:
            assert harvest(server, mirror, "--ids", acc, "--no-linked").returncode == 1
    kept = query(
        mirror,
        "select maps, payload like '%night 2%' from record_version where accession = ? "
        "order by maps",
        (acc,),
    )
    # The newest broken answer beside the version in use; the older broken ones are gone.
    assert kept == [(0, 1), (1, 0)]
    assert query(
        mirror, "select title is not null from empiar_entries where accession = ?", (acc,)
    ) == [(1,)]
