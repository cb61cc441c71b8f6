"""The database a portal page reads, and its rows."""

from __future__ import annotations


async def first_db(datasette, request):
    """The first database, once the reader may see it."""
    db = datasette.get_database()
    await datasette.ensure_permissions(request.actor, [("view-database", db.name), "view-instance"])
    return db


async def rows(db, sql: str, params=()) -> list[dict]:
    return [dict(r) for r in (await db.execute(sql, params)).rows]


async def by_ids(db, table: str, pk: str, ids: list[str], columns: str) -> list[dict]:
    """Rows of `table` for `ids`, in that order; an id the mirror lacks keeps a bare row."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    found = {
        r[pk]: r
        for r in await rows(db, f"select {columns} from {table} where {pk} in ({marks})", ids)
    }
    return [found.get(i, {pk: i, "missing": True}) for i in ids]
