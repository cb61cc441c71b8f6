"""Reading the file's rows as dicts, and in bounded pieces: the refreshes go through the entries
a range of accessions at a time, so their memory does not grow with the archive."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

# Entries per piece: a few megabytes of rows, whatever the archive's size.
ENTRIES_PER_RANGE = 500


def rows(db: Database, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def accession_ranges(db: Database) -> Iterator[tuple[str, str]]:
    """(first, last) EMPIAR accessions of consecutive pieces of entries, in order.

    Ids below an accession fall in `id >= 'empiar:' || first and id < 'empiar:' || last || '0'`
    ('0' follows '/'), so a piece's rows of any table are one index range."""
    accessions = [a for (a,) in db.execute("select accession from empiar_entries order by 1")]
    size = ENTRIES_PER_RANGE
    for i in range(0, len(accessions), size):
        yield accessions[i], accessions[min(i + size, len(accessions)) - 1]


def json_list(value: str | None) -> list[str]:
    """A column holding a JSON list of ids or words: its strings; anything else reads as none,
    so one odd cell never stops a refresh or a page."""
    try:
        items = json.loads(value) if value else []
    except (ValueError, TypeError):
        return []
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []
