"""Bounded concurrent fetching, and the one thread that writes.

Fetches of singles and of batches go through `fetch_all`: at most `workers` requests in flight,
each outcome handed on, one at a time, as it arrives. The database is touched only by the
`Writer`'s thread, which opens and owns its connection, so the event loop keeps fetching while
a record is mapped and written.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlite_utils import Database

from empiar_mirror.harvester.http import FetchError

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()


class Writer:
    """Runs `fn(db, *args)` on its own thread, against the connection it opened there."""

    def __init__(self, connect: Callable[[], Database]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._db: Database = self._pool.submit(connect).result()

    async def __call__(self, fn: Callable[..., R], *args: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, self._db, *args))

    def close(self) -> None:
        self._pool.submit(self._db.close).result()
        self._pool.shutdown(wait=True)


async def fetch_all(
    items: Iterable[T],
    fetch: Callable[[T], Awaitable[R]],
    handle: Callable[[T, R | FetchError], Awaitable[None]],
    workers: int,
) -> None:
    """Fetch every item with `workers` requests in flight and await `handle` on each outcome.

    A fetch that raises anything but a FetchError becomes one (kind `internal`): one record's
    trouble never stops a worker, and the loop always ends. A bounded queue between the two
    keeps memory flat: fetching pauses while the handler is `workers` outcomes behind."""
    todo = iter(items)
    outcomes: asyncio.Queue[Any] = asyncio.Queue(maxsize=workers * 2)

    async def worker() -> None:
        for item in todo:  # one iterator shared by all workers: each item is taken once
            try:
                outcome: Any = await fetch(item)
            except FetchError as exc:
                outcome = exc
            except Exception as exc:  # noqa: BLE001 -- any failure is this item's error
                outcome = FetchError("internal", str(item), f"{type(exc).__name__}: {exc}")
            await outcomes.put((item, outcome))
        await outcomes.put(_DONE)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    try:
        running = len(tasks)
        while running:
            got = await outcomes.get()
            if got is _DONE:
                running -= 1
            else:
                await handle(*got)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
