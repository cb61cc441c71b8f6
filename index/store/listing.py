"""What an archive's listings said of each accession over the runs: when it was listed and
fetched, how many runs in a row it was missing, and whether it was found withdrawn."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from empiar_mirror.index import front_doors, versions
from empiar_mirror.index.archives import EMPIAR, Archive
from empiar_mirror.index.store.database import now


@dataclass(frozen=True)
class Listing:
    """What the listings said about one EMPIAR accession over the runs."""

    listing_mtime: str | None = None
    fetched_mtime: str | None = None
    missing_runs: int = 0
    withdrawn_on: str | None = None


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
        versions.record_withdrawn(db, archive.key, accession, now())
