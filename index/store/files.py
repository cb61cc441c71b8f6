"""The entries' file trees: each listed directory's files and subdirectories written with the
directory's own row in one savepoint, so a crawl killed at any point resumes at the directory in
flight; what decides which entries and directories are listed again.

A file or directory missing from one listing is only counted (`missing_listings`): the file
server's load-balanced back ends drop names. Missing from two listings in a row, it is marked
`removed_on` and kept, as an entry is; listed again, the mark goes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from empiar_mirror.index import front_doors
from empiar_mirror.index.store.database import now

# Listings in a row that must lack a name before it is taken as removed.
REMOVED_AFTER = 2
_UNDER_ENTRY = re.compile(r"/world_availability/[0-9]+/?")


@dataclass(frozen=True, slots=True)
class Known:
    """What the file says of a directory since it was last listed."""

    modified: str | None
    subdirectory_count: int | None
    listed_at: str | None


# path, size_bytes, size_text, modified, role, imageset
FileRow = tuple[str, int | None, str | None, str | None, str, int | None]


def imageset_directories(db: Database, accession: str) -> list[tuple[int, str, str]]:
    """An entry's imagesets as (position, directory relative to the entry, category)."""
    found = []
    prefix = f"empiar:{accession}/imageset/"
    for file_id, path, category in db.execute(
        "select id, file_path, x_empiar_category from data_file where id like ? || '%'", [prefix]
    ):
        position = file_id[len(prefix) :]
        if not position.isdigit():
            continue
        match = _UNDER_ENTRY.search(path or "")
        directory = (path or "")[match.end() :] if match else ""
        found.append((int(position), directory.strip("/"), category or ""))
    return sorted(found)


def known_directories(db: Database, accession: str) -> dict[str, Known]:
    return {
        path: Known(modified, subdirs, listed_at)
        for path, modified, subdirs, listed_at in db.execute(
            "select path, modified, subdirectory_count, listed_at from empiar_directory "
            "where accession = ? and removed_on is null",
            [accession],
        )
    }


def files_due(db: Database, accessions: Iterable[str], every: bool = False) -> list[str]:
    """The entries whose tree is to be listed: never listed whole, or whose directory's
    modification time (as the top-level listing gave it) is not the one last listed whole.
    `every` lists them all. Only entries the file holds and that are public are listed."""
    public = {
        r[0]
        for r in db.execute(
            "select accession from empiar_entries where withdrawn_on is null "
            "and coalesce(status, '') <> 'not public'"
        )
    }
    mtimes = dict(
        db.execute("select accession, listing_mtime from listing_state where archive = 'empiar'")
    )
    done = {
        acc: modified
        for acc, modified in db.execute(
            "select accession, modified from empiar_directory "
            "where path = '' and listed_at is not null"
        )
    }
    return [
        acc
        for acc in accessions
        if acc in public
        and (every or acc not in done or (mtimes.get(acc) or done[acc]) != done[acc])
    ]


def _child(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _mark_missing(
    db: Database, table: str, accession: str, paths: Iterable[str], today: str
) -> None:
    db.conn.executemany(
        f"update {table} set missing_listings = missing_listings + 1, removed_on = "
        f"case when missing_listings + 1 >= {REMOVED_AFTER} then coalesce(removed_on, ?) end "
        "where accession = ? and path = ?",
        [(today, accession, p) for p in paths],
    )


def _children(db: Database, table: str, accession: str, directory: str) -> set[str]:
    """The paths held directly in a directory (not deeper), by a range of the key."""
    if not directory:
        rows = db.execute(
            f"select path from {table} where accession = ? and path <> '' and instr(path, '/') = 0",
            [accession],
        )
    else:
        low = directory + "/"
        rows = db.execute(
            f"select path from {table} where accession = ? and path > ? and path < ? "
            "and instr(substr(path, ?), '/') = 0",
            [accession, low, directory + "0", len(low) + 1],
        )
    return {r[0] for r in rows}


def write_directory(
    db: Database,
    accession: str,
    directory: str,
    modified: str | None,
    files: list[FileRow],
    subdirectories: list[tuple[str, str | None]],
    complete: bool,
) -> None:
    """One listed directory: its files (bulk), its row, and what it no longer lists.

    `complete` is false when the listing had rows it could not trust: its absences then prove
    nothing, and its row keeps no modification time, so it is listed again next run."""
    today = dt.date.today().isoformat()
    with db.atomic():
        front_doors.mark_stale(db, "empiar", accession)
        # A directory never listed holds no rows that could be missing now.
        listed_before = db.execute(
            "select file_count is not null from empiar_directory where accession = ? and path = ?",
            [accession, directory],
        ).fetchone() or (False,)
        db.conn.executemany(
            "insert into empiar_file (accession, path, size_bytes, size_text, modified, role, "
            "imageset) values (?, ?, ?, ?, ?, ?, ?) on conflict (accession, path) do update set "
            "size_bytes = excluded.size_bytes, size_text = excluded.size_text, "
            "modified = excluded.modified, role = excluded.role, imageset = excluded.imageset, "
            "missing_listings = 0, removed_on = null",
            [(accession, *row) for row in files],
        )
        # The entry's own directory is marked listed whole by `finish_file_tree`, once every
        # directory below it is.
        top = directory == ""
        db.execute(
            "insert into empiar_directory (accession, path, modified, file_count, "
            "subdirectory_count, listed_at) values (?, ?, ?, ?, ?, ?) "
            "on conflict (accession, path) do update set "
            "modified = case when ? then modified else excluded.modified end, "
            "file_count = excluded.file_count, subdirectory_count = excluded.subdirectory_count, "
            "listed_at = case when ? then listed_at else excluded.listed_at end, "
            "missing_listings = 0, removed_on = null",
            [
                accession,
                directory,
                None if top or not complete else modified,
                len(files),
                len(subdirectories),
                None if top else now(),
                top,
                top,
            ],
        )
        db.conn.executemany(
            "insert into empiar_directory (accession, path) values (?, ?) on conflict do nothing",
            [(accession, _child(directory, name)) for name, _ in subdirectories],
        )
        if not complete or not listed_before[0]:
            return
        listed = {row[0] for row in files}
        _mark_missing(
            db,
            "empiar_file",
            accession,
            sorted(_children(db, "empiar_file", accession, directory) - listed),
            today,
        )
        listed = {_child(directory, name) for name, _ in subdirectories}
        _mark_missing(
            db,
            "empiar_directory",
            accession,
            sorted(_children(db, "empiar_directory", accession, directory) - listed),
            today,
        )


def finish_file_tree(db: Database, accession: str, modified: str | None) -> None:
    """Every directory of the entry listed: its own directory's row says when, and at which
    modification time, so it is not listed again until that changes."""
    front_doors.mark_stale(db, "empiar", accession)
    db.execute(
        "update empiar_directory set modified = ?, listed_at = ? where accession = ? and path = ''",
        [modified, now(), accession],
    )
