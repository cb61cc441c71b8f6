"""Bounded concurrent fetching, and the one thread that writes.

Fetches of singles and of batches go through `fetch_all`: at most `workers` requests in flight,
each outcome handed on, one at a time, as it arrives. A run's `InHand` caps the documents
requested but not yet kept, whatever the concurrency, so memory stays flat. The database is
touched only by the `Writer`'s thread, which opens and owns its connection, so the event loop
keeps fetching while a record is mapped and written.
"""

from __future__ import annotations

import asyncio
import collections
import functools
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlite_utils import Database

from empiar_mirror.harvester.http import FetchError

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()


# Documents a run holds at once, fetched or asked for but not yet kept: a batch of 100 EMDB maps
# is some 8 MB, body and decoded JSON, so this bounds a harvest's answers to about 60 MB at any
# concurrency, while leaving room for a batch of each archive and the singles in flight.
DOCUMENTS_IN_HAND = 800


class InHand:
    """Counts the documents a run has asked for and not yet kept; `reserve` waits, first come
    first served, until `n` more fit under the limit (a request larger than it waits for none)."""

    def __init__(self, limit: int = DOCUMENTS_IN_HAND) -> None:
        self.limit = limit
        self.held = 0
        self._waiting: collections.deque[tuple[int, asyncio.Future]] = collections.deque()

    async def reserve(self, n: int) -> None:
        n = min(n, self.limit)
        if not self._waiting and self.held + n <= self.limit:
            self.held += n
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append((n, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if not turn.cancelled():
                self.release(n)  # granted just as it was cancelled: hand it on
            elif (n, turn) in self._waiting:
                self._waiting.remove((n, turn))
            raise

    def release(self, n: int) -> None:
        self.held -= min(n, self.limit)
        while self._waiting and self.held + self._waiting[0][0] <= self.limit:
            n, turn = self._waiting.popleft()
            if not turn.done():  # a cancelled waiter takes nothing
                self.held += n
                turn.set_result(None)


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
    in_hand: InHand,
    weight: Callable[[T], int] = lambda item: 1,
) -> None:
    """Fetch every item with `workers` requests in flight and await `handle` on each outcome.

    A fetch that raises anything but a FetchError becomes one (kind `internal`): one record's
    trouble never stops a worker, and the loop always ends. Each item's `weight` in documents is
    reserved from `in_hand` before its request and given back once it is handled, so what waits
    between fetching and handling is bounded whatever `workers` says."""
    todo = iter(items)
    outcomes: asyncio.Queue[Any] = asyncio.Queue()  # bounded by `in_hand`

    async def worker() -> None:
        for item in todo:  # one iterator shared by all workers: each item is taken once
            await in_hand.reserve(weight(item))
            try:
                outcome: Any = await fetch(item)
            except FetchError as exc:
                outcome = exc
            except Exception as exc:  # noqa: BLE001 -- any failure is this item's error
                outcome = FetchError("internal", str(item), f"{type(exc).__name__}: {exc}")
            except BaseException:
                in_hand.release(weight(item))
                raise
            await outcomes.put((item, outcome))
        await outcomes.put(_DONE)

    tasks = [asyncio.create_task(worker()) for _ in range(max(1, workers))]
    try:
        running = len(tasks)
        while running:
            got = await outcomes.get()
            if got is _DONE:
                running -= 1
                continue
            try:
                await handle(*got)
            finally:
                in_hand.release(weight(got[0]))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
