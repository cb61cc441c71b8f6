"""Admission control: the queries a visitor writes or shapes (SQL, canned queries given
parameters, facets asked for) get a small share of Datasette's query threads, so that a few
clients looping slow queries cannot keep the row, table and home pages of everyone else waiting.

Datasette runs every query of every page on a few threads (`num_sql_threads`, 3). A request of
that kind runs only once it holds one of `query_slots` (fewer than the threads); a client
holds at most `query_slots_per_client` at a time, or is answered 429 at once; a request that
finds every slot taken waits up to `query_wait_seconds`, then is answered 429. SQL typed by a
visitor also gets a shorter time limit than Datasette's own (`query_time_limit_ms`).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from datasette.utils import tilde_decode

# For a public server on a small instance: of Datasette's three query threads, one is always
# left to the pages of rows; a visitor runs one query at a time, for at most a second.
DEFAULTS = {
    "query_slots": 2,
    "query_slots_per_client": 1,
    "query_wait_seconds": 2.0,
    "query_time_limit_ms": 1000,
}
FACET_ARGS = ("_facet", "_facet_array", "_facet_date")


@dataclass(frozen=True)
class Limits:
    slots: int
    per_client: int
    wait: float
    time_limit_ms: int

    @classmethod
    def from_config(cls, config: dict | None) -> Limits:
        chosen = {**DEFAULTS, **{k: v for k, v in (config or {}).items() if k in DEFAULTS}}
        return cls(
            max(1, int(chosen["query_slots"])),
            max(1, int(chosen["query_slots_per_client"])),
            max(0.0, float(chosen["query_wait_seconds"])),
            max(1, int(chosen["query_time_limit_ms"])),
        )


def _split(path: str) -> list[str]:
    """The path's parts, each without a format extension (`/db.json` is `db`)."""
    parts = path.strip("/").split("/")
    if parts and "." in parts[-1]:
        parts[-1] = parts[-1].rsplit(".", 1)[0]
    return [tilde_decode(p) for p in parts if p]


def kind(datasette, path: str, args: list[tuple[str, str]]) -> str | None:
    """What a request asks for: `sql`, SQL a visitor wrote; `query`, other queries a visitor
    shaped (a canned query given parameters, facets asked for, a whole table streamed as CSV);
    None, the rest."""
    given = dict(args)
    parts = _split(path)
    routes = {db.route: name for name, db in datasette.databases.items()}
    if not parts or parts[0] not in routes:
        return None
    if len(parts) == 1:
        return "sql" if given.get("sql") else None
    if len(parts) != 2:
        return None
    if given.get("_where"):
        return "sql"
    queries = (datasette.metadata("queries", database=routes[parts[0]]) or {}).get(parts[1])
    if queries is not None:
        return "query" if any(not k.startswith("_") and v for k, v in args) else None
    facets = any(k in FACET_ARGS for k, _ in args)
    size = given.get("_facet_size")
    default = datasette.setting("default_facet_size")
    bigger = size is not None and (not size.isdigit() or int(size) > default)
    # A streamed CSV reads the whole table, a page at a time.
    return "query" if facets or bigger or given.get("_stream") else None


def _with_time_limit(args: list[tuple[str, str]], limit_ms: int) -> bytes:
    """The query string with `_timelimit` at most `limit_ms`: Datasette keeps the lower of it
    and its own limit."""
    asked = [v for k, v in args if k == "_timelimit"]
    limit = limit_ms
    if asked and asked[-1].isdigit() and 0 < int(asked[-1]) < limit_ms:
        limit = int(asked[-1])
    kept = [(k, v) for k, v in args if k != "_timelimit"]
    return urlencode([*kept, ("_timelimit", str(limit))]).encode("latin-1")


async def _too_many(send, retry_after: float, why: str) -> None:
    body = json.dumps({"ok": False, "error": why, "status": 429, "title": "Too many queries"})
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"retry-after", str(math.ceil(retry_after)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def wrapper(datasette, config: dict | None):
    limits = Limits.from_config(config)
    slots: asyncio.Semaphore | None = None
    held: Counter[str] = Counter()

    def wrap(app):
        async def admitted(scope, receive, send):
            nonlocal slots
            if scope["type"] != "http":
                return await app(scope, receive, send)
            args = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
            found = kind(datasette, scope["path"], args)
            if found is None:
                return await app(scope, receive, send)
            if found == "sql":
                scope = {**scope, "query_string": _with_time_limit(args, limits.time_limit_ms)}
            client = (scope.get("client") or ("", 0))[0]
            if held[client] >= limits.per_client:
                return await _too_many(
                    send,
                    limits.time_limit_ms / 1000,
                    f"one client may run {limits.per_client} such queries at a time: "
                    "wait for the one running",
                )
            # Made here, in the server's event loop.
            slots = slots or asyncio.Semaphore(limits.slots)
            held[client] += 1
            try:
                try:
                    if limits.wait:
                        await asyncio.wait_for(slots.acquire(), limits.wait)
                    elif slots.locked():
                        raise TimeoutError
                    else:
                        await slots.acquire()
                except TimeoutError:
                    return await _too_many(
                        send, limits.wait or 1, "the server is busy with other queries: try again"
                    )
                try:
                    await app(scope, receive, send)
                finally:
                    slots.release()
            finally:
                held[client] -= 1
                if not held[client]:
                    del held[client]

        return admitted

    return wrap
