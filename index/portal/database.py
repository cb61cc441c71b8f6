"""The database a portal page reads, and its rows."""

from __future__ import annotations


async def first_db(datasette, request):
    """The first database, once the reader may see it."""
    db = datasette.get_database()
    await datasette.ensure_permissions(request.actor, [("view-database", db.name), "view-instance"])
    return db


async def rows(db, sql: str, params=()) -> list[dict]:
    return [dict(r) for r in (await db.execute(sql, params)).rows]
