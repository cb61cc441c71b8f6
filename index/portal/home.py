"""The home page: what the mirror holds, when it was last harvested and from where, its canned
queries and its tables.

It is the most visited page, so it reads what it shows from `table_counts`, which every harvest
and reindex writes: two small queries, where Datasette's own home page counts, and reads the
columns of, every table of a live file on each visit (147 queries)."""

from __future__ import annotations

import json
import sqlite3
from urllib.parse import urlsplit

from datasette import Response
from datasette.version import __version__ as datasette_version

from empiar_mirror.index.portal import database
from empiar_mirror.index.portal.links import TABLE_ARCHIVE

# Tables named on the home page per database, as Datasette's own home page does.
TABLES_SHOWN = 5


async def home_view(datasette, request):
    await datasette.ensure_permissions(request.actor, ["view-instance"])
    databases = [
        await _tables(datasette, name, db)
        for name, db in datasette.databases.items()
        if (await datasette.check_visibility(request.actor, "view-database", name))[0]
    ]
    first = databases[0] if databases else None
    context = {
        "databases": databases,
        "metadata": datasette.metadata(),
        "datasette_version": datasette_version,
        "private": not await datasette.permission_allowed(None, "view-instance", default=True),
        "portal_home": (
            await home_details(datasette, first, request) if first and first["counts"] else None
        ),
    }
    return Response.html(
        await datasette.render_template("index.html", context, request=request, view_name="index")
    )


async def _tables(datasette, name: str, db) -> dict:
    """A database's tables as the home page names them, with their rows from `table_counts`
    where the file has them (an empiar-mirror file), else only its visible tables' names."""
    try:
        counted = {
            r["table_name"]: r["row_count"]
            for r in await database.rows(db, "select table_name, row_count from table_counts")
        }
    except sqlite3.OperationalError:
        counted = {}
    if counted:
        names = sorted(counted, key=lambda t: (-counted[t], t))
    else:
        hidden = set(await db.hidden_table_names())
        names = [t for t in await db.table_names() if t not in hidden]
        # A file from before table_counts (schema m011): its front doors counted as it is served.
        for table in TABLE_ARCHIVE:
            if table in names:
                counted[table] = (await db.execute(f"select count(*) from [{table}]")).rows[0][0]
    names = [t for t in names if not datasette.table_metadata(name, t).get("hidden")]
    return {
        "name": name,
        "db": db,
        "counts": {t: counted[t] for t in TABLE_ARCHIVE if t in counted},
        "tables_count": len(names),
        "tables_and_views_truncated": [{"name": t} for t in names[:TABLES_SHOWN]],
        "tables_and_views_more": len(names) > TABLES_SHOWN,
    }


async def home_details(datasette, found: dict, request) -> dict:
    db_name = found["name"]
    queries = await datasette.get_canned_queries(db_name, request.actor)
    runs = await database.rows(
        found["db"],
        "select finished_at, options from harvest_runs where finished_at is not null "
        "order by id desc limit 1",
    )
    return {
        "counts": found["counts"],
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
