"""Open the database safely, and every statement that reads or writes its records: raw first,
then the record's rows, one transaction per record."""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import json
import os
import sqlite3
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlite_utils import Database

from empiar_mirror.index import front_doors, links, migrations, shared, versions
from empiar_mirror.index.archives import ARCHIVES, EMPIAR, Archive
from empiar_mirror.index.lambda_ber.record import Mapped

SQLITE_HEADER = b"SQLite format 3\x00"

# How the rows one entry owns are found again when it is rewritten: by this column, holding the
# entry's dataset id or a path id below it. Shared rows (people by ORCID, publications by DOI,
# organisations) are upserted instead and never deleted here.
_OWNED_BY = {
    "dataset": "id",
    "study": "id",
    "study_keyword": "study_id",
    "database_cross_reference": "owner_id",
    "person_organization": "person_id",
    "study_person": "study_id",
    "study_publication": "study_id",
    "study_organization": "study_id",
    "study_experiment": "study_id",
    "experiment_run": "id",
    "additional_property": "owner_id",
    "additional_metric": "owner_id",
    "data_file": "id",
    "image": "id",
    "data_collection_strategy": "experiment_id",
    "quality_metrics": "experiment_id",
    "sample": "id",
    "buffer_composition": "sample_id",
    "buffer_component": "sample_id",
    "sample_preparation": "id",
    "cryoem_preparation": "preparation_id",
    "instrument": "id",
    "workflow_run": "id",
    "refinement_parameters": "workflow_id",
    "particle_picking_parameters": "workflow_id",
    "study_sample": "study_id",
    "experiment_sample": "experiment_id",
    "experiment_instrument": "experiment_id",
    "study_workflow": "study_id",
    # Links between archives: owned by the record that stated them, named in x_owner.
    "workflow_experiment": "x_owner",
    "workflow_input": "x_owner",
    "workflow_output": "x_owner",
}
NORMALIZED_TABLES = [
    *_OWNED_BY,
    *shared.SHARED_TABLES,
    "publication_author",
    "shared_contribution",
    "shared_supplier",
    "record_link",
    *(a.front_door for a in ARCHIVES.values()),
]


class DatabaseError(Exception):
    """The file cannot be used: not SQLite, damaged, not writable, or from a newer version.

    Raised from the sqlite3.Error behind it, if any: a full disk's (SQLITE_FULL) has its own
    exit status."""


class Locked(Exception):
    """Another process is harvesting into this file."""


def lock(path: str | os.PathLike) -> int:
    """Hold the file's harvest lock until the returned descriptor is closed or the process dies.

    An flock on the database file itself: the kernel releases it when the holder exits, however
    it exits, so there is never a stale lock to clean up. SQLite's own locks are separate.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatabaseError(f"{path} is not writable: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Locked(
            f"another harvest is writing to {path} (an empiar-mirror harvest, reindex or demo "
            "harvesting; a demo that only serves holds no lock); try again when it has finished"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise DatabaseError(f"cannot lock {path}: {exc.strerror}") from None
    return fd


def is_locked(path: str | os.PathLike) -> bool:
    """Whether a harvest (or reindex, or a demo's harvest) holds the file's lock now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases a shared lock taken here
    return False


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_path(path: str | os.PathLike, *, must_exist: bool) -> Path:
    """Refuse, before touching anything, a path we could not use as our database."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise DatabaseError(f"cannot use {p}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise DatabaseError(f"{p} is a directory, not a database file")
    if mode is not None:
        # Before anything opens it: reading a FIFO waits for a writer that never comes, and
        # /dev/null swallows every write.
        if not stat.S_ISREG(mode):
            raise DatabaseError(f"{p} is not a regular file")
        try:
            with p.open("rb") as f:
                header = f.read(16)
        except OSError as exc:
            raise DatabaseError(f"cannot read {p}: {exc.strerror}") from None
        if header and header != SQLITE_HEADER:
            raise DatabaseError(f"{p} is not an SQLite database")
    elif must_exist:
        raise DatabaseError(f"{p} does not exist")
    else:
        parent = p.resolve().parent
        if parent.exists() and not parent.is_dir():
            raise DatabaseError(f"cannot create {p}: {parent} is not a directory")
        if not parent.is_dir():
            raise DatabaseError(f"cannot create {p}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise DatabaseError(f"cannot create {p}: directory {parent} is not writable")
    return p


def check_writable(path: str | os.PathLike, *, create: bool) -> Path:
    """Refuse, before anything opens it, a file a harvest must not write."""
    p = check_path(path, must_exist=not create)
    # The mode as well as access(): root may write a file whose mode says read-only, and a
    # snapshot made read-only means "leave it as it is".
    if p.exists() and (not os.access(p, os.W_OK) or not p.stat().st_mode & 0o222):
        raise DatabaseError(f"{p} is not writable (its mode is read-only)")
    if p.exists() and p.stat().st_nlink > 1:
        raise DatabaseError(
            f"{p} has {p.stat().st_nlink} names (hard links): SQLite keeps its write-ahead log "
            "beside the name a file is opened by, so writing through two names corrupts it; "
            "keep one name"
        )
    if not os.access(p.resolve().parent, os.W_OK):
        raise DatabaseError(
            f"cannot write beside {p}: its directory is not writable "
            f"(SQLite keeps {p.name}-wal and {p.name}-shm there)"
        )
    return p


def open_database(path: str | os.PathLike, *, create: bool = True) -> Database:
    """Open (creating if asked) and migrate; refuse files written by a newer schema."""
    p = check_writable(path, create=create)
    # The harvest writes from one worker thread while its event loop runs on another.
    db = Database(sqlite3.connect(p, check_same_thread=False))
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        newer = migrations.unknown_migrations(db)
        if newer:
            db.close()
            raise DatabaseError(
                f"{p} was written by a newer empiar-mirror (schema {', '.join(newer)}); upgrade"
            )
        # WAL lets `serve` keep reading while a harvest writes. With WAL, synchronous=NORMAL
        # still never corrupts the file (a killed process loses nothing committed; only a power
        # cut can lose the last commits) and saves an fsync per record.
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        # Each record's statements keep a statement journal; on disk that is a temporary file
        # created and unlinked per record (a tenth of the harvest's system time).
        db.execute("PRAGMA temp_store = MEMORY")
        migrations.migrations.apply(db)
    except sqlite3.Error as exc:
        db.close()
        raise DatabaseError(_cannot_use(p, exc)) from exc
    except Exception:
        db.close()
        raise
    return db


def errorname(exc: BaseException | None) -> str:
    """SQLite's primary error name for `exc` (SQLITE_IOERR for SQLITE_IOERR_WRITE), else ''.
    Python gives the extended name; what it means to us is the primary one."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return "_".join(name.split("_")[:2])


def open_readonly(path: str | os.PathLike) -> Database:
    """For commands that only read: never creates, migrates or writes the file."""
    p = check_path(path, must_exist=True)
    db = Database(sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True))
    try:
        ours = db["_sqlite_migrations"].exists()
    except sqlite3.Error as exc:
        db.close()
        cantopen = errorname(exc) == "SQLITE_CANTOPEN"
        if cantopen and not os.access(p.resolve().parent, os.W_OK):
            raise DatabaseError(
                f"cannot read {p}: SQLite reads a live (WAL) file through {p.name}-shm beside it, "
                "and its directory is not writable; copy it somewhere writable, or publish "
                "snapshots (`empiar-mirror snapshot`), which need none"
            ) from exc
        raise DatabaseError(_cannot_use(p, exc)) from exc
    if not ours:
        db.close()
        raise DatabaseError(f"{p} is not an empiar-mirror database")
    return db


def _cannot_use(p: Path, exc: sqlite3.Error) -> str:
    if errorname(exc) in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return f"{p} is damaged ({exc}): restore it from a copy"
    return f"cannot use {p}: {exc}"


@dataclass
class Fetched:
    """What the fetch layer got for one record, as source_record keeps it."""

    source: str
    accession: str
    url: str
    http_status: int
    etag: str | None = None
    last_modified: str | None = None


def record_listing(
    db: Database, listed: dict[str, str | None], complete: bool, archive: Archive = EMPIAR
) -> bool:
    """Remember what an archive's listings said. Only when all answered does an absence count.

    Returns whether a record found withdrawn is listed again (its mark is lifted)."""
    key = archive.key
    with db.atomic():
        state = {
            r[0]: (r[1], r[2])
            for r in db.execute(
                "select accession, listing_mtime, missing_runs from listing_state "
                "where archive = ?",
                [key],
            )
        }
        returned = [
            r[0]
            for r in db.execute(
                "select accession from listing_state where archive = ? "
                "and withdrawn_on is not null and accession in (select value from json_each(?))",
                [key, json.dumps(list(listed))],
            )
        ]
        for acc in returned:
            front_doors.mark_stale(db, key, acc)
        for acc, mtime in listed.items():
            if acc not in state:
                db.execute(
                    "insert into listing_state (archive, accession, listing_mtime) "
                    "values (?, ?, ?)",
                    [key, acc, mtime],
                )
            elif state[acc] != (mtime, 0):
                db.execute(
                    "update listing_state set listing_mtime = ?, missing_runs = 0, "
                    "withdrawn_status = null, withdrawn_on = null "
                    "where archive = ? and accession = ?",
                    [mtime, key, acc],
                )
        if not complete:
            return bool(returned)
        held = [
            r[0]
            for r in db.execute(
                "select accession from source_record where source = ? and sha256 is not null",
                [key],
            )
        ]
        for acc in held:
            if acc in listed:
                continue
            if acc in state:
                db.execute(
                    "update listing_state set missing_runs = missing_runs + 1 "
                    "where archive = ? and accession = ?",
                    [key, acc],
                )
            else:
                db.execute(
                    "insert into listing_state (archive, accession, missing_runs) values (?, ?, 1)",
                    [key, acc],
                )
    return bool(returned)


def fetched_from_listing(db: Database, accession: str, archive: Archive = EMPIAR) -> None:
    """The copy we hold now matches what the listing shows for it."""
    db.execute(
        "update listing_state set fetched_mtime = listing_mtime "
        "where archive = ? and accession = ? and fetched_mtime is not listing_mtime",
        [archive.key, accession],
    )


def mark_withdrawn(
    db: Database, accession: str, status: str, day: str, archive: Archive = EMPIAR
) -> None:
    """Absent from the listings twice and now 404 or obsolete: marked, and its copy kept."""
    with db.atomic():
        db.execute(
            "update listing_state set withdrawn_status = ?, withdrawn_on = ? "
            "where archive = ? and accession = ?",
            [status, day, archive.key, accession],
        )
        front_doors.mark_stale(db, archive.key, accession)


def in_use(db: Database, source: str, accession: str) -> str | None:
    """The hash of the version the record's rows come from."""
    row = db.execute(
        "select sha256 from source_record where source = ? and accession = ?", [source, accession]
    ).fetchone()
    return row[0] if row else None


def touch(db: Database, fetched: Fetched, at: str) -> None:
    """Unchanged record: only its fetch time, validators and its version's last-served move."""
    with db.atomic():
        db.execute(
            "update source_record set fetched_at = ?, http_status = ?, "
            "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified) "
            "where source = ? and accession = ?",
            [
                at,
                fetched.http_status,
                fetched.etag,
                fetched.last_modified,
                fetched.source,
                fetched.accession,
            ],
        )
        db.execute(
            "update record_version set last_served = ? where (source, accession, sha256) = "
            "(select source, accession, sha256 from source_record where source = ? "
            "and accession = ?)",
            [at, fetched.source, fetched.accession],
        )


def save_not_public(db: Database, fetched: Fetched, at: str) -> None:
    """A 404: remember it; a copy fetched while it was public is kept, never erased."""
    with db.atomic():
        db.execute(
            "insert into source_record (source, accession, url, fetched_at, changed_at, "
            "http_status) values (?, ?, ?, ?, ?, ?) on conflict (source, accession) do update set "
            "fetched_at = excluded.fetched_at, http_status = excluded.http_status",
            [fetched.source, fetched.accession, fetched.url, at, at, fetched.http_status],
        )


def save_source(db: Database, fetched: Fetched, sha256: str, at: str) -> None:
    """The record is now built from version `sha256`: its fetch state, and its change time when
    the version is another. Call inside a transaction."""
    db.execute(
        "insert into source_record (source, accession, url, fetched_at, changed_at, "
        "http_status, etag, last_modified, sha256) values (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "on conflict (source, accession) do update set url = excluded.url, "
        "fetched_at = excluded.fetched_at, http_status = excluded.http_status, "
        "etag = excluded.etag, last_modified = excluded.last_modified, "
        "changed_at = iif(sha256 is excluded.sha256, changed_at, excluded.changed_at), "
        "sha256 = excluded.sha256",
        [
            fetched.source,
            fetched.accession,
            fetched.url,
            at,
            at,
            fetched.http_status,
            fetched.etag,
            fetched.last_modified,
            sha256,
        ],
    )


def save_fetched_only(db: Database, fetched: Fetched, at: str) -> None:
    """An answer that is not used: the record was fetched, and nothing else of it moves (its
    validators stay those of the version in use, so the next request is not answered 304)."""
    db.execute(
        "insert into source_record (source, accession, url, fetched_at, http_status) "
        "values (?, ?, ?, ?, ?) on conflict (source, accession) do update set "
        "fetched_at = excluded.fetched_at, http_status = excluded.http_status",
        [fetched.source, fetched.accession, fetched.url, at, fetched.http_status],
    )


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    # Built once per table layout: every record writes the same few dozen.
    return "insert or replace into [{}] ({}) values ({})".format(
        table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
    )


def _insert_rows(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    columns = tuple(rows[0])
    db.conn.executemany(_insert_sql(table, columns), [[r.get(c) for c in columns] for r in rows])


def _delete_owned(db: Database, dataset_id: str) -> None:
    # One index range covers the dataset id and every path id below it ('0' follows '/').
    for table, column in _OWNED_BY.items():
        db.execute(
            f"delete from [{table}] where [{column}] >= ? and [{column}] < ?",
            [dataset_id, dataset_id + "0"],
        )


def write_record(db: Database, mapped: Mapped, harvested_at: str, *, replace: bool = True) -> None:
    """Replace everything one archive record contributes. Call inside a transaction.

    `replace=False` is for a record the file has never held: there is nothing to remove."""
    withdrawn = shared.withdraw(db, mapped.dataset_id) if replace else {}
    if replace:
        _delete_owned(db, mapped.dataset_id)
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in mapped.records:
        for table, row in record.rows():
            by_table[table].append(row)
    # A publication's authors travel inside its contribution: the merged row picks one list.
    authors: dict[str, list[str]] = defaultdict(list)
    for row in sorted(by_table.pop("publication_author", []), key=lambda r: r["position"]):
        authors[row["publication_id"]].append(row["name"])
    for row in by_table.get("publication", []):
        row[shared.AUTHORS] = authors.get(row["id"], [])
    shared.contribute(
        db,
        mapped.source,
        mapped.dataset_id,
        {table: by_table.pop(table, []) for table in shared.SHARED_TABLES},
        withdrawn,
    )
    for table, rows in by_table.items():
        if rows:
            _insert_rows(db, table, rows)
    links.write(db, mapped, replace=replace)
    front_doors.write_own(db, ARCHIVES[mapped.source], mapped.front_door, harvested_at)


def save_record(
    db: Database,
    fetched: Fetched,
    version: tuple[str, str],
    mapped: Mapped,
    at: str,
    *,
    replace: bool = True,
) -> None:
    """A version (hash, payload) that maps, and the rows it maps to. Call inside the record's
    transaction: a kill leaves all of it or none."""
    sha256, payload = version
    versions.keep(db, fetched.source, fetched.accession, sha256, payload, at, maps=True)
    save_source(db, fetched, sha256, at)
    write_record(db, mapped, at, replace=replace)


def save_unmappable(
    db: Database, fetched: Fetched, version: tuple[str, str], at: str, run_id: int, error: ErrorRow
) -> None:
    """A version we could not map or write: kept beside the version in use, with the error, for
    the next run or `reindex` to try again. The record's rows stay those of the version in use."""
    sha256, payload = version
    with db.atomic():
        versions.keep(
            db,
            fetched.source,
            fetched.accession,
            sha256,
            payload,
            at,
            maps=False,
            error=error.message,
        )
        save_fetched_only(db, fetched, at)
        record_error(db, run_id, error)


def clear_normalized(db: Database) -> None:
    """Empty every table that is rebuilt from source_record (call inside a transaction)."""
    for table in NORMALIZED_TABLES:
        db.execute(f"delete from [{table}]")
    # The search indexes follow by trigger; every front door is recomputed after.
    db.execute("delete from front_door_stale")


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


# What the harvester reads back ------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """What the listings said about one EMPIAR accession over the runs."""

    listing_mtime: str | None = None
    fetched_mtime: str | None = None
    missing_runs: int = 0
    withdrawn_on: str | None = None


@dataclass
class Held:
    """What the file holds about each record, for deciding what a run fetches."""

    fetched_at: dict[tuple[str, str], str]
    # Records with an error since their last fetch (or never fetched whole), and those of them
    # whose stored payload could not be mapped.
    failed: set[tuple[str, str]]
    unmapped: set[tuple[str, str]]
    listing: dict[str, Listing]  # EMPIAR's, by accession
    # Conditional-request headers, read up front: fetches never touch the database.
    validators: dict[tuple[str, str], dict[str, str]]


def load_held(db: Database) -> Held:
    failed = db.execute(
        "select e.source, e.accession, e.kind in (?, ?) from harvest_errors e "
        "left join source_record s on s.source = e.source and s.accession = e.accession "
        # A record that landed with values set aside is not fetched again for it.
        "where e.accession is not null and e.kind != 'value-set-aside' "
        "and (s.fetched_at is null or e.occurred_at >= s.fetched_at)",
        list(UNMAPPABLE_KINDS),
    ).fetchall()
    # A model answered 404 whose holdings were not asked since (a kill came between): the
    # answer that names its successor is still to come.
    failed += db.execute(
        "select s.source, s.accession, 0 from source_record s left join source_record h "
        "on h.source = 'pdb_holdings' and h.accession = s.accession "
        "where s.source = 'pdb' and s.http_status in (404, 410) "
        "and (h.fetched_at is null or h.fetched_at < s.fetched_at)"
    ).fetchall()
    return Held(
        fetched_at={
            (source, acc): at
            for source, acc, at in db.execute(
                "select source, accession, fetched_at from source_record"
            )
        },
        failed={(source, acc) for source, acc, _ in failed},
        unmapped={(source, acc) for source, acc, unmappable in failed if unmappable},
        listing={
            acc: Listing(listed, fetched, missing, withdrawn)
            for acc, listed, fetched, missing, withdrawn in db.execute(
                "select accession, listing_mtime, fetched_mtime, missing_runs, withdrawn_on "
                "from listing_state where archive = ?",
                [EMPIAR.key],
            )
        },
        validators={
            (source, acc): {
                k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v
            }
            for source, acc, etag, modified in db.execute(
                "select source, accession, etag, last_modified from source_record "
                "where sha256 is not null and (etag is not null or last_modified is not null)"
            )
        },
    )


def held_accessions(db: Database, archive: Archive) -> list[str]:
    """Records of this archive the file holds a front-door row for."""
    return [
        r[0]
        for r in db.execute(
            f"select [{archive.key_column}] from [{archive.front_door}] "
            f"order by [{archive.key_column}]"
        )
    ]


def dataset_status(db: Database, archive: Archive, accession: str) -> str | None:
    """The status the archive served for a record (its Dataset's x_status)."""
    row = db.execute(
        "select x_status from dataset where id = ?", [archive.curie(accession)]
    ).fetchone()
    return row[0] if row else None


def has_front_door(db: Database, archive: Archive, accession: str) -> bool:
    return bool(
        db.execute(
            f"select 1 from [{archive.front_door}] where [{archive.key_column}] = ?", [accession]
        ).fetchone()
    )


def changed_at(db: Database, source: str, accession: str) -> str | None:
    row = db.execute(
        "select changed_at from source_record where source = ? and accession = ?",
        [source, accession],
    ).fetchone()
    return row[0] if row else None


def not_public_without_front_door(db: Database, archive: Archive) -> list[tuple[str, str]]:
    """(accession, changed_at) of records last answered 404 that have no front-door row."""
    return db.execute(
        "select accession, changed_at from source_record where source = ? and sha256 is null "
        "and http_status in (404, 410) "
        f"and accession not in (select [{archive.key_column}] from [{archive.front_door}])",
        [archive.key],
    ).fetchall()


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
