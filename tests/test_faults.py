"""Fault injection and kill tests: a bad day at the archives, or a SIGKILL, loses nothing.

Each fault run is compared with a clean run of the same archive: records whose fault was
transient end up identical, the others are recorded errors and are fetched again next time."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import harvest, logical_dump, query

from empiar_mirror.harvester.replay import ReplayServer

ENTRY = "/empiar/api/entry/{}/"


@pytest.fixture(scope="module")
def clean_dump(tmp_path_factory):
    db = tmp_path_factory.mktemp("clean") / "empiar.db"
    with ReplayServer() as server:
        assert harvest(server, db).returncode == 0
    return logical_dump(db)


TRANSIENT = {
    "429 with Retry-After": ["429:1"],
    "burst of 500/502/503/504": ["500", "502", "503", "504"],
    "throttling 403": ["403", "403"],
    "stall past the read timeout": ["stall:4"],
    "connection reset mid-response": ["reset"],
    "truncated body": ["truncated"],
    "invalid JSON": ["garbage"],
    "HTML error page with status 200": ["html"],
}


@pytest.mark.parametrize("faults", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_faults_end_in_the_clean_database(faults, clean_dump, tmp_path):
    db = tmp_path / "empiar.db"
    script = {
        ENTRY.format("EMPIAR-10442"): list(faults),
        ENTRY.format("EMPIAR-90022"): list(faults),
        "/emdb/api/entry/EMD-90011": list(faults),  # the withdrawn map: fault, then its 404
        "/rcsb/graphql": list(faults),  # the batch route fails: its records go one by one
    }
    with ReplayServer(faults=script) as server:
        result = harvest(server, db, "--timeout", "2", "--retries", str(len(faults) + 1))
        served = dict(server.hits)
    assert result.returncode == 0, result.stderr
    assert served[ENTRY.format("EMPIAR-10442")] == len(faults) + 1
    assert query(db, "select count(*) from harvest_errors") == [(0,)]
    assert logical_dump(db) == clean_dump


def test_permanent_faults_are_recorded_and_retried_next_run(clean_dump, tmp_path):
    db = tmp_path / "empiar.db"
    script = {
        # Each script outlasts this run's one retry, then the service recovers.
        ENTRY.format("EMPIAR-10442"): ["503"] * 2,
        ENTRY.format("EMPIAR-11419"): ["drift"],
        ENTRY.format("EMPIAR-90022"): ["html"] * 2,
    }
    with ReplayServer(faults=script) as server:
        result = harvest(server, db, "--retries", "1", "--json")
        assert result.returncode == 1
        errors = query(
            db, "select accession, kind, http_status from harvest_errors order by accession"
        )
        assert errors == [
            ("EMPIAR-10442", "http", 503),
            ("EMPIAR-11419", "validation", 200),
            ("EMPIAR-90022", "invalid-json", 200),
        ]
        missing = {"EMPIAR-10442", "EMPIAR-11419", "EMPIAR-90022"}
        landed = {r[0] for r in query(db, "select accession from empiar_entries")}
        assert len(landed) == 33 and not landed & missing
        # The faults are over: an ordinary incremental run fetches exactly what failed.
        result = harvest(server, db, "--json")
    assert result.returncode == 0, query(db, "select * from harvest_errors where run_id = 2")
    summary = json.loads(result.stdout)
    assert summary["empiar"]["fetched"] == 3 and summary["empiar"]["new"] == 3, summary
    assert logical_dump(db) == clean_dump


def start_harvest(server: ReplayServer, db) -> subprocess.Popen:
    import os

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "empiar_mirror.harvester",
            "harvest",
            str(db),
            "--rate",
            "0",
            "--retries",
            "1",
        ],
        env={**os.environ, **server.env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def entries_written(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("select count(*) from source_record").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def wait_for(condition, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the harvest never reached the point to kill it at"
        time.sleep(0.02)


KILL_POINTS = {
    # The listing stalls: the harvest is inside enumeration when it dies.
    "during enumeration": (
        {"/empiar/world_availability/": ["stall:20"]},
        lambda srv, db: srv.hits["/empiar/world_availability/"] >= 1,
    ),
    # One entry stalls while the others land: killed with requests in flight.
    "mid-fetch": (
        {ENTRY.format("EMPIAR-90020"): ["stall:20"]},
        lambda srv, db: srv.hits[ENTRY.format("EMPIAR-90020")] >= 1 and entries_written(db) >= 10,
    ),
    # Killed while records are being written, among the linked maps.
    "mid-write": (
        {"/emdb/api/entry/EMD-90011": ["stall:20"]},
        lambda srv, db: entries_written(db) >= 40,
    ),
    # Killed while RCSB's holdings are asked why an obsolete model is gone: its 404 is kept,
    # the answer naming its successor is not yet.
    "asking why a model is gone": (
        {"/rcsb/rest/v1/holdings/status/9Z02": ["stall:20"]},
        lambda srv, db: srv.hits["/rcsb/rest/v1/holdings/status/9Z02"] >= 1,
    ),
}


@pytest.mark.parametrize("faults, ready", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_sigkill_at_any_point_then_rerun_gives_the_clean_database(
    faults, ready, clean_dump, tmp_path
):
    db = tmp_path / "empiar.db"
    with ReplayServer(faults=dict(faults)) as server:
        process = start_harvest(server, db)
        try:
            wait_for(lambda: ready(server, db))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        assert process.returncode == -signal.SIGKILL
        conn = sqlite3.connect(db)
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
        unfinished = conn.execute("select count(*) from harvest_runs where finished_at is null")
        assert unfinished.fetchone() == (1,)
        conn.close()
        server.faults = {}
        result = harvest(server, db)
    assert result.returncode == 0, result.stderr
    assert logical_dump(db) == clean_dump
