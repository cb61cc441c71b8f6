"""What changed, and when, in words: each record's history (`record_change`) for the `changes`
command, the portal's Atom feed and the History section of its row pages."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from empiar_mirror.index import validation
from empiar_mirror.index.reading import json_list

# Sources that are a part of another archive's records, by the archive they belong to.
RECORD_OF = {"pdb_holdings": "pdb", validation.SOURCE: "emdb"}

# A change as a reader names it: an update that made the record obsolete says so.
OBSOLETE_STATUSES = frozenset({"OBS", "obsolete"})


def label(change: str, fields: list[str], status: str | None) -> str:
    if change == "updated" and "status" in fields and status in OBSOLETE_STATUSES:
        return "obsoleted"
    return change


def changes(
    conn: sqlite3.Connection,
    *,
    since: str | None = None,
    source: str | None = None,
    accession: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest changes first, each with the record's title and status as they are now."""
    # Only the conditions asked for, so one record's history is read through its own index
    # rather than by scanning the whole history for it.
    asked = {"changed_at >=": since, "source =": source, "accession =": accession}
    conditions = [f"c.{test} ?" for test, value in asked.items() if value is not None]
    cursor = conn.execute(
        "select c.id, c.source, c.accession, c.change, c.fields, c.changed_at, d.title, "
        "d.x_status from record_change c left join dataset d on d.id = "
        "coalesce(json_extract(?, '$.' || c.source), c.source) || ':' || c.accession "
        + (f"where {' and '.join(conditions)} " if conditions else "")
        + "order by c.changed_at desc, c.id desc limit ?",
        [json.dumps(RECORD_OF), *(v for v in asked.values() if v is not None), limit],
    )
    out = []
    for id_, src, acc, change, fields, at, title, status in cursor.fetchall():
        parts = json_list(fields)
        if src == validation.SOURCE:
            # To a reader, a map's figures are a part of the map: new figures update it.
            change, parts = "updated", parts or ["validation figures"]
        out.append(
            {
                "id": id_,
                "source": RECORD_OF.get(src, src),
                "accession": acc,
                "change": label(change, parts, status),
                "fields": parts,
                "changed_at": at,
                "title": title,
            }
        )
    return out


def summary(item: dict[str, Any]) -> str:
    """One line: `EMPIAR-10442 updated: title, imagesets`."""
    what = ", ".join(item["fields"]) if item["change"] == "updated" else ""
    return f"{item['accession']} {item['change']}" + (f": {what}" if what else "")
