"""Scheduled harvests: incremental by default, conditional, polite, and safe to run twice."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3

from conftest import GOOD_ENTRIES_COUNT, harvest, invoke, logical_dump, query, run_cli

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.harvester.schedule import refresh_due
from empiar_mirror.index import store


def age_records(db, days: float, where: str = "1 = 1") -> None:
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn = sqlite3.connect(db)
    conn.execute(f"update source_record set fetched_at = ? where {where}", [stamp])
    conn.commit()
    conn.close()


def run_json(server, db, *args):
    result = harvest(server, db, "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_unchanged_archive_costs_two_requests_and_writes_nothing(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        run_json(server, db)
        before = logical_dump(db)
        code, summary = run_json(server, db)
    assert code == 0
    assert summary["requests"] == {"ebi_search": 1, "empiar_files": 1}
    assert summary["empiar"]["fetched"] == summary["emdb"]["fetched"] == 0
    assert logical_dump(db) == before


def test_conditional_requests_answered_304_write_nothing(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(validators=True) as server:
        run_json(server, db)
        before = logical_dump(db)
        age_records(db, 8)  # past the refresh window: everything is due again
        code, summary = run_json(server, db)
    assert code == 0
    assert summary["empiar"]["not_modified"] == summary["empiar"]["fetched"] == 36
    assert summary["empiar"]["new"] == summary["empiar"]["updated"] == 0
    assert summary["emdb"]["unchanged"] + summary["emdb"]["not_modified"] == 13
    assert logical_dump(db) == before
    # The copies count as fetched now: nothing is due on the next run.
    assert query(
        db, "select count(*) from source_record where fetched_at < date('now', '-1 day')"
    ) == [(0,)]


def test_listing_change_and_overdue_records_are_fetched(tmp_path):
    db = tmp_path / "empiar.db"
    snapshot = tmp_path / "archive" / "empiar"
    snapshot.mkdir(parents=True)
    with ReplayServer() as server:
        run_json(server, db)
        age_records(db, 8, "source = 'empiar' and accession = 'EMPIAR-90001'")
        # EMPIAR-10442 changes: its listing time moves with its update date.
        body = json.loads(server.snapshot.entries["EMPIAR-10442"].read_text())
        body["EMPIAR-10442"]["update_date"] = "2026-11-20"
        body["EMPIAR-10442"]["title"] = "Updated title"
        (snapshot / "EMPIAR-10442.json").write_text(json.dumps(body))
        server.snapshot.entries["EMPIAR-10442"] = snapshot / "EMPIAR-10442.json"
        code, summary = run_json(server, db)
    assert code == 0
    assert summary["empiar"]["fetched"] == 2
    assert summary["empiar"]["updated"] == 1 and summary["empiar"]["unchanged"] == 1
    assert query(
        db, "select title, update_date from empiar_entries where accession = 'EMPIAR-10442'"
    ) == [("Updated title", "2026-11-20")]


def test_rolling_recheck_spreads_evenly_over_the_window():
    """Fourteen nightly runs over a freshly harvested archive: every record is fetched again
    every seven days, and each night re-checks about a seventh of them."""
    accessions = [f"EMPIAR-{10000 + i}" for i in range(700)]
    start = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)
    fetched = {a: start for a in accessions}
    per_night, gaps = [], []
    for night in range(1, 15):
        now = start + dt.timedelta(days=night)
        due = [a for a in accessions if refresh_due(a, fetched[a].isoformat(), 7, now)]
        per_night.append(len(due))
        for a in due:
            gaps.append((now - fetched[a]).days)
            fetched[a] = now
    assert max(gaps) <= 7
    assert all(a in {x for x in accessions} for a in fetched)
    # After the first week every night does a similar share: no weekly thundering herd.
    assert min(per_night[7:]) >= 700 / 7 * 0.6 and max(per_night[7:]) <= 700 / 7 * 1.4
    assert sum(per_night[7:]) == 700


def test_disappearance_needs_two_runs_then_a_404_and_keeps_the_record(tmp_path):
    db = tmp_path / "empiar.db"
    gone = "EMPIAR-90004"
    with ReplayServer() as server:
        run_json(server, db)
        server.hidden = {gone}
        code, summary = run_json(server, db)  # one listing without it proves nothing
        assert summary["empiar"]["fetched"] == 0
        code, summary = run_json(server, db)  # twice: check it; it still answers, so keep it
        assert summary["empiar"]["fetched"] == 1 and summary["empiar"]["withdrawn"] == 0
        del server.snapshot.entries[gone]  # now it answers 404
        code, summary = run_json(server, db)
        assert summary["empiar"]["not_public"] == 1 and summary["empiar"]["withdrawn"] == 1
        today = dt.date.today().isoformat()
        assert query(
            db,
            "select status, withdrawn_on, title is not null from empiar_entries "
            "where accession = ?",
            (gone,),
        ) == [("not public", today, 1)]
        # History says so, once: the change feed and `changes` read it.
        assert query(
            db, "select change from record_change where accession = ? order by id", (gone,)
        ) == [("new",), ("withdrawn",)]
        assert (
            query(db, "select count(*) from data_file where id like ?", (f"empiar:{gone}/%",))[0][0]
            > 0
        )
        # Reindexing keeps the mark; reappearing clears it.
        assert invoke("reindex", str(db)).returncode == 0
        assert query(db, "select status from empiar_entries where accession = ?", (gone,)) == [
            ("not public",)
        ]
        server.hidden = set()
        server.snapshot.entries[gone] = SAMPLE_DIR / "empiar" / f"{gone}.json"
        run_json(server, db, "--ids", gone)
        run_json(server, db)
    assert query(
        db, "select status, withdrawn_on from empiar_entries where accession = ?", (gone,)
    ) == [("REL", None)]


def test_a_failed_listing_is_no_evidence_of_absence(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        run_json(server, db)
        server.faults = {"/ebisearch/ws/rest/empiar": ["503"] * 10}
        server.hidden = {"EMPIAR-90004"}
        for _ in range(3):
            code, summary = run_json(server, db, "--retries", "0")
            assert code == 1  # the failed listing is an error of the run
    assert query(db, "select missing_runs from listing_state where accession = 'EMPIAR-90004'") == [
        (0,)
    ]


def test_second_harvest_exits_3_while_the_first_holds_the_lock(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        run_json(server, db, "--ids", "EMPIAR-10442")
        before = db.read_bytes()
        fd = store.lock(db)
        try:
            # Another process, as a second harvest started by cron would be.
            result = harvest(server, db, run=run_cli)
        finally:
            os.close(fd)
        assert result.returncode == 3
        assert result.stderr.strip().count("\n") == 0 and "another harvest" in result.stderr
        assert db.read_bytes() == before
        # The kernel released it: the next run goes ahead, no lock file to clean up.
        code, _ = run_json(server, db, "--ids", "EMPIAR-10442")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("empiar.db-")) == [
        "empiar.db"
    ]


def test_circuit_breaker_stops_calling_a_dead_service_and_finishes_the_rest(tmp_path):
    db = tmp_path / "empiar.db"
    faults = {
        f"/emdb/api/entry/{p.stem}": ["503"] * 5 for p in (SAMPLE_DIR / "emdb").glob("*.json")
    }
    faults["/emdb/api/entry/EMD-90011"] = ["503"] * 5
    with ReplayServer(
        faults=faults, batch_omit={p.stem for p in (SAMPLE_DIR / "emdb").glob("*")}
    ) as server:
        code, summary = run_json(server, db, "--retries", "0")
        emdb_hits = sum(n for path, n in server.hits.items() if path.startswith("/emdb/api/entry/"))
    assert code == 1
    # The breaker opens after ten failures in a row; requests already in flight still finish.
    assert 10 <= emdb_hits < 14
    assert summary["empiar"]["new"] == GOOD_ENTRIES_COUNT
    (why,) = query(
        db, "select message from harvest_errors where kind = 'circuit-open' and accession is null"
    )
    assert "stopped calling emdb" in why[0]
    skipped = query(
        db,
        "select count(*) from harvest_errors where kind = 'circuit-open' and accession is not null",
    )[0][0]
    assert skipped == 14 - emdb_hits


def check(db) -> tuple[int, str]:
    result = run_cli("status", str(db), "--check")
    assert result.stdout.count("\n") == 1 and not result.stderr, result
    return result.returncode, result.stdout


def test_status_check_answers_as_a_monitoring_plugin(server, tmp_path):
    db = tmp_path / "empiar.db"
    store.open_database(db).close()
    assert check(db) == (2, "CRITICAL: never harvested\n")
    assert harvest(server, db, "--ids", "EMPIAR-10442").returncode == 0
    code, line = check(db)
    assert code == 0 and line.startswith("OK: run 1 finished at ")
    assert harvest(server, db, "--ids", "EMPIAR-99901").returncode == 1  # a malformed entry
    code, line = check(db)
    assert code == 1 and line.startswith("WARNING: run 2 finished") and "1 failed" in line
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("update harvest_runs set finished_at = '2026-01-01T00:00:00Z'")
    conn.close()
    code, line = check(db)
    assert code == 2 and "hours ago, more than 48" in line
    assert run_cli("status", str(db), "--check", "--max-age-hours", "1e9").returncode == 1
    # A run that never finished (killed) is critical, unless it is still running.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("insert into harvest_runs (started_at, mode) values ('2026-12-01', 'full')")
    conn.close()
    code, line = check(db)
    assert code == 2 and "run 3 (started 2026-12-01) did not finish" in line
    fd = store.lock(db)
    try:
        code, line = check(db)
    finally:
        os.close(fd)
    assert code == 2 and "hours ago" in line  # judged by the run before it


def test_a_gone_model_whose_holdings_answer_404_is_not_asked_again(tmp_path):
    db = tmp_path / "empiar.db"
    holdings = "/rcsb/rest/v1/holdings/status/9Z02"
    with ReplayServer(faults={holdings: ["404"]}) as server:
        assert harvest(server, db).returncode == 0
        assert server.hits[holdings] == 1
        server.hits.clear()
        assert harvest(server, db).returncode == 0
        assert server.hits[holdings] == 0
        assert server.hits["/rcsb/rest/v1/core/entry/9Z02"] == 0
