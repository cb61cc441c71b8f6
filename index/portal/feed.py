"""`/-/changes.atom`: what changed in the mirror, newest first, as an Atom feed (feedgen writes
it), one item per change of a record: new, updated (and what), obsoleted, withdrawn."""

from __future__ import annotations

import datetime as dt

from datasette import Response
from feedgen.feed import FeedGenerator

from empiar_mirror.index import history
from empiar_mirror.index.archives import ARCHIVES
from empiar_mirror.index.portal import database

FEED_ITEMS = 100


async def changes_atom(datasette, request):
    db = await database.first_db(datasette, request)
    source = request.args.get("source")
    found = await db.execute_fn(
        lambda conn: history.changes(
            conn, source=source if source in ARCHIVES else None, limit=FEED_ITEMS
        )
    )
    base = f"{request.scheme}://{request.host}"
    feed = FeedGenerator()
    feed.id(f"{base}{datasette.urls.path('-/changes.atom')}")
    feed.title("empiar-mirror: what changed in EMPIAR, EMDB and PDB")
    feed.link(href=f"{base}{request.full_path}", rel="self")
    feed.link(href=f"{base}{datasette.urls.instance()}", rel="alternate")
    feed.updated(_time(found[0]["changed_at"]) if found else dt.datetime.now(dt.UTC))
    for item in reversed(found):  # feedgen lists the last added first
        archive = ARCHIVES[item["source"]]
        entry = feed.add_entry()
        entry.id(f"{base}/-/changes/{item['id']}")
        entry.title(f"{history.summary(item)}: {item['title'] or ''}".rstrip(": "))
        entry.updated(_time(item["changed_at"]))
        page = datasette.urls.row(db.name, archive.front_door, item["accession"])
        # One link: feedgen 1.0 writes no `rel` on an entry's links, so a second would read as
        # another alternate. The archive's own page is named in the text.
        entry.link(href=f"{base}{page}")
        entry.content(f"{_words(item)} {archive.page(item['accession'])}", type="text")
    return Response(feed.atom_str(pretty=True), content_type="application/atom+xml; charset=utf-8")


def _words(item: dict) -> str:
    name = ARCHIVES[item["source"]].name
    if item["change"] == "updated":
        return f"{name} changed {', '.join(item['fields']) or 'this record'}."
    return {
        "new": f"New in {name}.",
        "obsoleted": f"Made obsolete by {name}.",
        "withdrawn": f"No longer served by {name}.",
    }.get(item["change"], f"Held by the mirror since {item['changed_at']}.")


def _time(stamp: str | None) -> dt.datetime:
    # A time the file could not date (a history started from an older file) reads as now.
    try:
        return dt.datetime.fromisoformat((stamp or "").replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)
