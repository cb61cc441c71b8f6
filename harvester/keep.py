"""What becomes of one answer, on the writer thread: stored raw, mapped and written in one
transaction; or, when its mapping or writing fails, stored raw with that record's error. No
value one record holds can stop the run: its answer is kept as a version beside the one in use,
and the next run or `reindex` maps it again.

An answer about another record than the one asked for is that record's error and is not kept,
so no answer can overwrite another record's rows. Values the raw layer set aside (numbers no
column can hold) are named in an error row written with the record."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from empiar_mirror.harvester.archives import EMDB, HARVESTED, MAPPERS, PDB, SERVICE_OF, Harvested
from empiar_mirror.harvester.http import FetchError, Response
from empiar_mirror.harvester.raw.empiar import NotAnEntry, unwrap_entry
from empiar_mirror.harvester.raw.normalize import setting_aside
from empiar_mirror.index import changes, store, versions
from empiar_mirror.index.lambda_ber.record import Mapped

log = logging.getLogger(__name__)
EXCERPT_CHARS = 500
IDENTITY = "identity"
VALUE_SET_ASIDE = "value-set-aside"
SHOWN_SET_ASIDE = 10
MAPPING_GUARD = "mapping-guard"
MAPPING_GUARD_COUNT = 10


@dataclass
class Tally:
    """A run's bookkeeping: what happened to each source's records, and which changed."""

    run_id: int
    state: store.FetchState
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    changed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    # Per source, this run's answers that mapped and that did not; and the sources whose answers
    # are no longer kept this run, because most of them did not map.
    mapped: Counter = field(default_factory=Counter)
    unmappable: Counter = field(default_factory=Counter)
    stopped: set[str] = field(default_factory=set)

    def count(self, source: str, kind: str) -> None:
        self.counts[source][kind] += 1


def too_many_unmappable(unmappable: int, mapped: int) -> bool:
    """Whether a source's answers this run look like a broken or changed API rather than odd
    records: more than MAPPING_GUARD_COUNT of them, and most, did not map."""
    return unmappable >= MAPPING_GUARD_COUNT and unmappable > mapped


def describe(exc: Exception) -> str:
    """One line for an error row: pydantic's first field errors, or the exception's own words."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors()[:3]]
            return f"{exc.error_count()} field(s) do not fit: " + "; ".join(parts)
        except Exception:  # noqa: BLE001 -- a description must never fail
            pass
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:1000]


def is_disk_trouble(exc: Exception) -> bool:
    # A full disk or failing file is the run's problem, not the record's: let it end the run.
    return isinstance(exc, sqlite3.Error) and store.errorname(exc) in (
        "SQLITE_FULL",
        "SQLITE_IOERR",
    )


def answered_id(source: str, data: Any, requested: str) -> str | None:
    """The id an answer says it is about: its wrapping key (EMPIAR), `emdb_id` or `rcsb_id`.
    None when it names none; its mapping then says what is wrong with it."""
    if source == "empiar":
        try:
            return unwrap_entry(data, requested)[0]
        except NotAnEntry:
            return None
    harvested = PDB if source == "pdb_holdings" else HARVESTED.get(source, EMDB)
    return harvested.batch_key(data) if isinstance(data, dict) else None


def set_aside_message(notes: list[str]) -> str:
    """One line naming the values set aside, the first few of them in full."""
    distinct = list(dict.fromkeys(notes))
    shown = "; ".join(distinct[:SHOWN_SET_ASIDE])
    more = len(distinct) - SHOWN_SET_ASIDE
    return f"set aside (stored as NULL): {shown}" + (f"; and {more} more" if more > 0 else "")


def keep_document(
    db: Database,
    tally: Tally,
    source: str,
    accession: str,
    url: str,
    data: Any,
    payload: str,
    resp: Response | None = None,
) -> Mapped | None:
    """Keep a fetched record: a new version and its rows, or only its fetch time when it is the
    version in use. One that does not map is kept beside the version in use.
    Returns what it mapped to, None when unchanged or unmappable."""
    fetched = store.Fetched(
        source=source,
        accession=accession,
        url=url,
        http_status=200,
        etag=resp.etag if resp else None,
        last_modified=resp.last_modified if resp else None,
    )
    tally.count(source, "fetched")
    service = SERVICE_OF[source]
    claimed = answered_id(source, data, accession)
    if claimed is not None and claimed != accession:
        log.warning("%s %s: the answer is about %s", source, accession, claimed[:100])
        tally.count(source, "failed")
        message = f"asked for {accession}, the answer is about {claimed[:100]}"
        store.record_error(
            db,
            tally.run_id,
            store.ErrorRow(
                source, accession, IDENTITY, message, url, 200, payload[:EXCERPT_CHARS], service
            ),
        )
        return None
    sha = versions.digest(payload)
    previous = store.in_use(db, source, accession)
    at = store.now()
    # A record that failed last time is mapped again even when unchanged: the error may be ours.
    if previous == sha and (source, accession) not in tally.state.failed:
        tally.count(source, "unchanged")
        tally.mapped[source] += 1
        with db.atomic():
            store.touch(db, fetched, at)
            _fetched_as_listed(db, source, accession)
        return None
    if source in tally.stopped:
        tally.count(source, "failed")
        return None
    try:
        with setting_aside() as aside:
            mapped = MAPPERS[source](data, accession)
        # A record never held before (not even as a 404) owns no rows yet.
        new = (source, accession) not in tally.state.fetched_at
        with db.atomic():  # one savepoint: the version, its rows, its history, its errors
            store.save_record(db, fetched, (sha, payload), mapped, at, replace=not new)
            _fetched_as_listed(db, source, accession)
            if previous != sha:
                parts = changed_parts(db, source, accession, previous, mapped)
                versions.record_change(db, source, accession, sha, previous, at, parts)
            if aside:
                message = set_aside_message(aside)
                log.warning("%s %s: %s", source, accession, message)
                store.record_error(
                    db,
                    tally.run_id,
                    store.ErrorRow(
                        source, accession, VALUE_SET_ASIDE, message, url, 200, service=service
                    ),
                )
    except Exception as exc:
        if is_disk_trouble(exc):
            raise
        kind = store.UNMAPPABLE_KINDS[0 if isinstance(exc, ValueError) else 1]
        log.warning("%s %s: %s", source, accession, describe(exc))
        tally.count(source, "failed")
        error = store.ErrorRow(
            source, accession, kind, describe(exc), url, 200, payload[:EXCERPT_CHARS], service
        )
        store.save_unmappable(db, fetched, (sha, payload), at, tally.run_id, error)
        _guard(db, tally, source)
        return None
    tally.mapped[source] += 1
    # A record whose versions never mapped had no rows: its first rows are new.
    had_rows = previous is not None and (source, accession) not in tally.state.unmapped
    tally.count(source, "updated" if had_rows else "new")
    tally.changed[source].add(accession)
    return mapped


def _fetched_as_listed(db: Database, source: str, accession: str) -> None:
    # In the record's own transaction: a run killed after it does not fetch the entry again.
    if source == "empiar":
        store.fetched_from_listing(db, accession)


def changed_parts(
    db: Database, source: str, accession: str, previous: str | None, mapped: Mapped
) -> list[str] | None:
    """What differs from the version in use (None when that version no longer maps)."""
    if previous is None:
        return []
    old = versions.payload(db, source, accession, previous)
    try:
        return changes.changed_parts(MAPPERS[source](json.loads(old or ""), accession), mapped)
    except Exception:  # noqa: BLE001 -- the history says "unknown", the record still lands
        return None


def _guard(db: Database, tally: Tally, source: str) -> None:
    """Stop keeping a source's answers for the rest of the run once most of them do not map."""
    tally.unmappable[source] += 1
    if source in tally.stopped or not too_many_unmappable(
        tally.unmappable[source], tally.mapped[source]
    ):
        return
    tally.stopped.add(source)
    message = (
        f"{tally.unmappable[source]} of {tally.unmappable[source] + tally.mapped[source]} "
        f"{source} answers did not map: the rest of this run's {source} answers were not kept, "
        "as that looks like a broken or changed API (the versions held are still used)"
    )
    log.warning("%s: %s", source, message)
    store.record_error(
        db,
        tally.run_id,
        store.ErrorRow(source, None, MAPPING_GUARD, message, service=SERVICE_OF[source]),
    )


def keep_not_modified(db: Database, tally: Tally, source: str, accession: str, resp: Response):
    """A 304 to a conditional request: our copy is current."""
    tally.count(source, "fetched")
    tally.count(source, "not_modified")
    fetched = store.Fetched(
        source=source,
        accession=accession,
        url=resp.url,
        http_status=200,
        etag=resp.etag,
        last_modified=resp.last_modified,
    )
    with db.atomic():
        store.touch(db, fetched, store.now())
        _fetched_as_listed(db, source, accession)


def keep_not_public(db: Database, tally: Tally, harvested: Harvested, accession: str, resp):
    """A 404 or 410: remembered; a linked record gets its front-door row, so the link shows."""
    tally.count(harvested.key, "not_public")
    fetched = store.Fetched(
        source=harvested.key, accession=accession, url=resp.url, http_status=resp.status
    )
    at = store.now()
    with db.atomic():
        # A linked record is withdrawn when it stops being served; an entry only once the
        # listings confirm it (`store.mark_withdrawn`, which writes its history then).
        public = store.http_status(db, harvested.key, accession) == 200
        if harvested.map_not_public and public:
            versions.record_withdrawn(db, harvested.key, accession, at)
        store.save_not_public(db, fetched, at)
    if harvested.map_not_public and not store.has_front_door(db, harvested.archive, accession):
        # Dated like its 404 in source_record, so a reindex rebuilds the same row.
        with db.atomic():
            store.write_record(
                db,
                harvested.map_not_public(accession),
                store.changed_at(db, harvested.key, accession) or at,
                replace=False,
            )


def keep_error(
    db: Database,
    tally: Tally,
    source: str | None,
    accession: str | None,
    error: FetchError,
    service: str | None,
):
    """A fetch that failed: a record's (counted as failed), or a service's own (no record)."""
    log.warning("%s %s: %s", source or service, accession or "", error)
    if source and accession:
        tally.count(source, "failed")
    store.record_error(
        db,
        tally.run_id,
        store.ErrorRow(
            source,
            accession,
            error.kind,
            error.message,
            error.url,
            error.status,
            error.excerpt,
            service or SERVICE_OF.get(source or ""),
        ),
    )
