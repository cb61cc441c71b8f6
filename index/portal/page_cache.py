"""The database page, kept for a while: Datasette builds it from over 200 queries (each table's
count, columns, keys and full-text index), which queue behind every other query, so under many
visitors it took minutes. One visitor's request builds it; those who ask meanwhile wait for
that answer, and those who ask later get it again until `database_page_seconds` have passed.

Only anonymous requests without a query string are kept: the page a signed-in actor sees may
differ, and `?sql=` is a query, not the page."""

from __future__ import annotations

import asyncio
import time

from datasette.utils import tilde_decode

DEFAULT_SECONDS = 60


def _is_database_page(datasette, path: str) -> bool:
    name = path[1:].removesuffix(".json")
    return (
        "/" not in name
        and "." not in name
        and name != ""
        and any(db.route == tilde_decode(name) for db in datasette.databases.values())
    )


def _anonymous(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    return b"authorization" not in headers and b"ds_actor" not in headers.get(b"cookie", b"")


def wrapper(datasette, config: dict | None):
    seconds = float((config or {}).get("database_page_seconds", DEFAULT_SECONDS))
    kept: dict[str, tuple[float, list[dict]]] = {}
    building: dict[str, asyncio.Future] = {}

    def wrap(app):
        async def cached(scope, receive, send):
            if (
                seconds <= 0
                or scope["type"] != "http"
                or scope.get("method") != "GET"
                or scope.get("query_string")
                or not _is_database_page(datasette, scope["path"])
                or not _anonymous(scope)
            ):
                return await app(scope, receive, send)
            key = scope["path"]
            found = kept.get(key)
            if found and found[0] > time.monotonic():
                return await _replay(found[1], send)
            if key in building:
                answer = await asyncio.shield(building[key])
                if answer is not None:
                    return await _replay(answer, send)
                return await app(scope, receive, send)
            building[key] = asyncio.get_running_loop().create_future()
            messages: list[dict] = []

            async def keep(message):
                messages.append(message)
                await send(message)

            answer = None
            try:
                await app(scope, receive, keep)
                if messages and messages[0].get("status") == 200:
                    answer = messages
                    kept[key] = (time.monotonic() + seconds, messages)
            finally:
                building.pop(key).set_result(answer)

        return cached

    return wrap


async def _replay(messages: list[dict], send) -> None:
    for message in messages:
        await send(message)
