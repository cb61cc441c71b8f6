"""Harvest runs and their errors: a row per run, opened and closed, and a row per failure."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index.store.database import now


def start_run(db: Database, mode: str, options: dict[str, Any]) -> int:
    with db.atomic():
        cursor = db.execute(
            "insert into harvest_runs (started_at, mode, options) values (?, ?, ?)",
            [now(), mode, json.dumps(options, sort_keys=True)],
        )
    return cursor.lastrowid


def record_empiar_batches(db: Database, run_id: int, note: str) -> None:
    """Whether the run fetched EMPIAR entries many per request ("yes"), or why not ("no: ..."):
    kept in the run's options as `empiar_batches`, beside the `batch` option asked for."""
    with db.atomic():
        db.execute(
            "update harvest_runs set options = json_set(coalesce(options, '{}'), "
            "'$.empiar_batches', ?) where id = ?",
            [note, run_id],
        )


RUN_COUNTS = (
    "listed",
    "fetched",
    "not_modified",
    "unchanged",
    "new",
    "updated",
    "withdrawn",
    "not_public",
    "failed",
)


def finish_run(
    db: Database, run_id: int, counts: dict[str, Any], stats: Any, exit_status: int
) -> None:
    """Close a run: totals over all sources in columns, the per-source split in `counts`."""
    totals = {k: sum(c.get(k, 0) for c in counts.values()) for k in RUN_COUNTS}
    with db.atomic():
        db.execute(
            "update harvest_runs set finished_at = ?, {}, counts = ?, requests = ?, bytes = ?, "
            "retries = ?, exit_status = ? where id = ?".format(
                ", ".join(f"{k} = ?" for k in RUN_COUNTS)
            ),
            [
                now(),
                *totals.values(),
                json.dumps({s: dict(c) for s, c in sorted(counts.items())}, sort_keys=True),
                json.dumps(dict(stats.requests), sort_keys=True),
                json.dumps(dict(stats.bytes), sort_keys=True),
                stats.retries,
                exit_status,
                run_id,
            ],
        )


# Error kinds of a record whose payload is kept but could not be mapped or written.
UNMAPPABLE_KINDS = ("validation", "mapping")


@dataclass
class ErrorRow:
    """One record's (or one service's) failure, as harvest_errors keeps it."""

    source: str | None  # the kind of record: empiar, emdb, pdb, pdb_holdings (None: no record)
    accession: str | None
    kind: str
    message: str
    url: str | None = None
    http_status: int | None = None
    excerpt: str | None = None
    service: str | None = None  # whose answer it was (harvester/archives.py SERVICE_LIMITS)


def _storable(text: str | None) -> str | None:
    # A lone surrogate from a hostile answer cannot be encoded: the error must still be written.
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def record_error(db: Database, run_id: int, error: ErrorRow) -> None:
    with db.atomic():
        db.execute(
            "insert into harvest_errors (run_id, source, accession, url, kind, http_status, "
            "message, excerpt, occurred_at, service) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                error.source,
                _storable(error.accession),
                _storable(error.url),
                error.kind,
                error.http_status,
                _storable(error.message),
                _storable(error.excerpt),
                now(),
                error.service,
            ],
        )


def run_error_count(db: Database, run_id: int) -> int:
    return db.execute("select count(*) from harvest_errors where run_id = ?", [run_id]).fetchone()[
        0
    ]


def last_run_id(db: Database) -> int:
    return db.execute("select coalesce(max(id), 0) from harvest_runs").fetchone()[0]


def mark_stopped_runs(path: str | os.PathLike, after_id: int, exit_status: int) -> None:
    """Give the runs after `after_id` that never finished the status that stopped them, if the
    disk still takes that (a full disk usually does: the failed transaction's WAL space is
    reused); otherwise they stay runs that did not finish."""
    try:
        conn = sqlite3.connect(path)
        try:
            with conn:
                conn.execute(
                    "update harvest_runs set exit_status = ? where id > ? and finished_at is null",
                    [exit_status, after_id],
                )
        finally:
            conn.close()
    except sqlite3.Error:
        pass
