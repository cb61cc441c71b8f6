"""Every version of every record: each distinct payload an archive served for it, kept by its
hash, with when it was first and last served and whether it maps. The tables are built from the
newest version that maps; an answer that does not map is kept beside it, never in its place.

`source_record` holds a record's fetch state (URL, times, validators, HTTP status) and, in
`sha256`, the version its rows come from. `record_change` is the history: a row whenever the
version in use changes, naming the fields that changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database


def canonical(doc: Any) -> str:
    """The one text a document is stored as, whichever route fetched it: keys sorted, no
    spaces, UTF-8 rather than escapes. EMDB's search rows carry a database-internal `_id` its
    entry route may not, so that key is left out."""
    if isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k != "_id"}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def digest(payload: str) -> str:
    # A lone surrogate cannot be encoded; the stored text replaces it the same way.
    return hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Version:
    sha256: str
    payload: str
    first_served: str
    last_served: str
    maps: bool | None


def keep(
    db: Database,
    source: str,
    accession: str,
    sha256: str,
    payload: str,
    at: str,
    *,
    maps: bool,
    error: str | None = None,
) -> None:
    """Record that this version was served at `at`, and whether it maps (a new version is
    added; a known one gets its last-served time and verdict)."""
    db.execute(
        "insert into record_version (source, accession, sha256, payload, first_served, "
        "last_served, maps, error) values (?, ?, ?, ?, ?, ?, ?, ?) "
        "on conflict (source, accession, sha256) do update set "
        "last_served = excluded.last_served, maps = excluded.maps, error = excluded.error",
        [source, accession, sha256, payload, at, at, int(maps), error],
    )


def payload(db: Database, source: str, accession: str, sha256: str) -> str | None:
    row = db.execute(
        "select payload from record_version where source = ? and accession = ? and sha256 = ?",
        [source, accession, sha256],
    ).fetchone()
    return row[0] if row else None


def accessions(db: Database, source: str) -> list[str]:
    """Records of this kind with at least one version, by accession."""
    return [
        r[0]
        for r in db.execute(
            "select distinct accession from record_version where source = ? order by accession",
            [source],
        )
    ]


def newest_first(db: Database, source: str, accession: str) -> Iterator[Version]:
    """A record's versions, the most recently served first. Times have whole seconds: of two
    served in the same second, the one in use came last (a version that maps is put in use as
    it is kept)."""
    for sha, text, first, last, maps in db.execute(
        "select v.sha256, v.payload, v.first_served, v.last_served, v.maps from record_version v "
        "left join source_record s on s.source = v.source and s.accession = v.accession "
        "where v.source = ? and v.accession = ? "
        "order by v.last_served desc, v.sha256 is s.sha256 desc, v.first_served desc",
        [source, accession],
    ):
        yield Version(sha, text, first, last, None if maps is None else bool(maps))


def set_maps(db: Database, source: str, accession: str, sha256: str, maps: bool, error: str | None):
    db.execute(
        "update record_version set maps = ?, error = ? where source = ? and accession = ? "
        "and sha256 = ?",
        [int(maps), error, source, accession, sha256],
    )


def use(db: Database, source: str, accession: str, sha256: str, changed_at: str) -> None:
    """Build the record's rows from this version from now on."""
    db.execute(
        "update source_record set sha256 = ?, changed_at = ? where source = ? and accession = ?",
        [sha256, changed_at, source, accession],
    )


def drop_older_unmappable(db: Database, source: str, accession: str, sha256: str) -> None:
    """Of the versions that do not map, keep only this newest one (and the one in use): an
    archive answering a different broken document each night would otherwise add a version a
    night, for ever. The versions that map are all kept: they are the record's history."""
    db.execute(
        "delete from record_version where source = ? and accession = ? and maps = 0 "
        "and sha256 != ? and sha256 is not (select sha256 from source_record "
        "where source = ? and accession = ?)",
        [source, accession, sha256, source, accession],
    )


def record_withdrawn(db: Database, source: str, accession: str, at: str) -> None:
    """The archive no longer serves a record it served: history says so (nothing when the
    file never held a version of it)."""
    db.execute(
        "insert into record_change (source, accession, sha256, previous_sha256, changed_at, "
        "change, fields) select source, accession, sha256, sha256, ?, 'withdrawn', '[\"status\"]' "
        "from source_record where source = ? and accession = ? and sha256 is not null",
        [at, source, accession],
    )


def record_change(
    db: Database,
    source: str,
    accession: str,
    sha256: str,
    previous: str | None,
    at: str,
    fields: list[str],
) -> None:
    """The version in use changed: `new` (its first), else `updated`, naming what changed."""
    db.execute(
        "insert into record_change (source, accession, sha256, previous_sha256, changed_at, "
        "change, fields) values (?, ?, ?, ?, ?, ?, ?)",
        [
            source,
            accession,
            sha256,
            previous,
            at,
            "new" if previous is None else "updated",
            json.dumps(fields),
        ],
    )
