"""The home page and the database pages, kept for a while: the most visited pages, and Datasette
builds the database page from over 200 queries (each table's count, columns and keys), each
queued behind every other query, so under many visitors it took most of a minute.

The first request a server answers starts building them, so that visitors arriving in a crowd
find them ready (built under that crowd, the database page took most of a minute); those who
ask while a page is built wait for that answer, and those who ask later get it until
`cached_page_seconds` have passed. After that the kept page is still the answer while the next
is built in the background, so no visitor waits for a rebuild.

Only anonymous GET requests without a query string are kept: the page a signed-in actor sees
may differ, and `?sql=` is a query, not the page."""

from __future__ import annotations

import asyncio
import time

from datasette.utils import tilde_decode, tilde_encode

DEFAULT_SECONDS = 60


def _is_kept(datasette, path: str) -> bool:
    if path == "/":
        return True
    name = path[1:].removesuffix(".json")
    return (
        name != ""
        and "/" not in name
        and "." not in name
        and any(db.route == tilde_decode(name) for db in datasette.databases.values())
    )


def _anonymous(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"authorization" not in headers and b"ds_actor" not in headers.get(b"cookie", b"")


def _page_scope(scope, path: str) -> dict:
    """An anonymous GET of `path`, on the connection `scope` came by."""
    return {
        **scope,
        "method": "GET",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": b"",
        "headers": [(k, v) for k, v in scope.get("headers") or [] if k == b"host"],
    }


async def _answer(app, scope) -> list[dict] | None:
    """The messages of the app's answer to `scope`, if it is a 200."""
    messages: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def keep(message):
        messages.append(message)

    await app(scope, receive, keep)
    return messages if messages and messages[0].get("status") == 200 else None


async def _replay(messages: list[dict], send) -> None:
    for message in messages:
        await send(message)


def wrapper(datasette, config: dict | None):
    seconds = float((config or {}).get("cached_page_seconds", DEFAULT_SECONDS))
    kept: dict[str, tuple[float, list[dict]]] = {}
    building: dict[str, asyncio.Task] = {}
    warmed = False

    def wrap(app):
        async def build(key: str, scope) -> list[dict] | None:
            try:
                answer = await _answer(app, scope)
                if answer is not None:
                    kept[key] = (time.monotonic() + seconds, answer)
                return answer
            finally:
                del building[key]

        def start(key: str, scope) -> None:
            if key not in building:
                building[key] = asyncio.create_task(build(key, _page_scope(scope, key)))

        async def cached(scope, receive, send):
            nonlocal warmed
            if seconds > 0 and scope["type"] == "http" and not warmed:
                warmed = True
                routes = [db.route for db in datasette.databases.values()]
                for key in ["/"] + [f"/{tilde_encode(r)}" for r in routes if r[:1] != "_"]:
                    start(key, scope)
            if (
                seconds <= 0
                or scope["type"] != "http"
                or scope.get("method") != "GET"
                or scope.get("query_string")
                or not _is_kept(datasette, scope["path"])
                or not _anonymous(scope)
            ):
                return await app(scope, receive, send)
            key = scope["path"]
            found = kept.get(key)
            if found is None or found[0] <= time.monotonic():
                start(key, scope)
            if found is not None:
                return await _replay(found[1], send)
            answer = await asyncio.shield(building[key])
            if answer is None:
                return await app(scope, receive, send)
            await _replay(answer, send)

        return cached

    return wrap
