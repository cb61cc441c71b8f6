"""EMPIAR's file trees: walk an entry's directory on the file server, one listing at a time.

The walk yields each directory as it is listed (or why it could not be), so the caller writes
it before the next is asked for: a crawl cut short loses at most the directory in flight. A
directory is listed again unless it held no subdirectory when last listed whole and its parent
still gives it the same modification time (a directory's time changes when a name in it is
added, removed or replaced, not when something deeper does; so directories with subdirectories
are always read again, and they are few).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient
from empiar_mirror.harvester.raw import autoindex
from empiar_mirror.index.store.files import Known

SERVICE = "empiar_files"
# Deeper than any deposition nests: a tree past it is a loop (a link to an ancestor).
MAX_DEPTH = 24
# Directories per entry: the largest entries hold some thousands.
MAX_DIRECTORIES = 50_000


@dataclass(frozen=True)
class Listed:
    path: str  # relative to the entry's directory; '' for the entry's own
    modified: str | None  # as its parent listed it
    listing: autoindex.Listing


@dataclass(frozen=True)
class Failed:
    path: str
    error: FetchError


async def list_directory(
    client: HttpClient, endpoints: Endpoints, accession: str, path: str
) -> autoindex.Listing:
    """One directory's listing, parsed on a worker thread; FetchError when it cannot be had."""
    url = endpoints.empiar_directory(accession, path)
    resp = await client.get(SERVICE, url, expect_json=False)
    if resp.status != 200:
        raise FetchError("http", resp.url, f"{path or '/'}: HTTP {resp.status}", status=resp.status)
    try:
        # Megabytes of HTML: read off the event loop, so the other requests keep moving.
        return await asyncio.to_thread(lambda: autoindex.parse(resp.text))
    except autoindex.ListingError as exc:
        raise FetchError(exc.kind, resp.url, f"{path or '/'}: {exc}") from None


def _skip(known: Known | None, modified: str | None) -> bool:
    return (
        known is not None
        and known.listed_at is not None
        and known.subdirectory_count == 0
        and modified is not None
        and known.modified == modified
    )


async def walk(
    client: HttpClient,
    endpoints: Endpoints,
    accession: str,
    modified: str | None,
    known: dict[str, Known],
) -> AsyncIterator[Listed | Failed]:
    """Each directory of the entry that is due, breadth first from its own."""
    queue: deque[tuple[str, str | None, int]] = deque([("", modified, 0)])
    seen = 0
    while queue:
        path, when, depth = queue.popleft()
        seen += 1
        try:
            listing = await list_directory(client, endpoints, accession, path)
        except FetchError as exc:
            yield Failed(path, exc)
            continue
        for row in listing.rows:
            if not row.is_dir:
                continue
            child = f"{path}/{row.name}" if path else row.name
            if depth + 1 > MAX_DEPTH or seen + len(queue) >= MAX_DIRECTORIES:
                listing.problem(f"{child[:200]!r}: deeper or more than a tree holds, not listed")
            elif not _skip(known.get(child), row.modified):
                queue.append((child, row.modified, depth + 1))
        yield Listed(path, when, listing)
