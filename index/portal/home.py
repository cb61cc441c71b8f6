"""The home page: what the mirror holds, when it was last harvested and from where, and its canned
queries."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from empiar_mirror.index.portal import database
from empiar_mirror.index.portal.links import TABLE_ARCHIVE


async def home_details(datasette, db_name: str, request) -> dict:
    db = datasette.get_database(db_name)
    counts = {}
    for table in TABLE_ARCHIVE:
        counts[table] = (await db.execute(f"select count(*) from {table}")).rows[0][0]
    actor = request.actor if request is not None else None
    queries = await datasette.get_canned_queries(db_name, actor)
    runs = await database.rows(
        db,
        "select finished_at, options from harvest_runs where finished_at is not null "
        "order by id desc limit 1",
    )
    return {
        "counts": counts,
        "harvest": harvest_details(runs[0]) if runs else None,
        "queries": [
            {
                "url": datasette.urls.query(db_name, name),
                "title": q.get("title") or name,
                "description": q.get("description"),
            }
            for name, q in queries.items()
        ],
    }


def harvest_details(run: dict) -> dict:
    """When the last harvest finished, and from where: the demo sample, or the hosts of the
    endpoints it was given."""
    try:
        options = json.loads(run["options"] or "{}")
    except ValueError:
        options = {}
    options = options if isinstance(options, dict) else {}
    hosts = dict.fromkeys(
        urlsplit(v).netloc
        for v in options.values()
        if isinstance(v, str) and v.startswith(("http://", "https://"))
    )
    return {
        "finished": run["finished_at"].replace("T", " ").removesuffix("Z")[:16] + " UTC",
        "demo": bool(options.get("demo")),
        "hosts": list(hosts),
    }
