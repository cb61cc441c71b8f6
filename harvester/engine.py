"""Bounded concurrent fetching, and the one thread that writes.

Fetches of singles and of batches go through `fetch_all`: at most `workers` requests in flight,
each outcome handed on, one at a time, as it arrives. A run's `InHand` caps the documents
requested but not yet kept, whatever the concurrency, so memory stays flat. The database is
touched only by the `DatabaseThread`, which opens and owns its connection and commits records in
groups, so the event loop keeps fetching while a record is mapped and written.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import threading
import time
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
# A group commit's bounds while calls queue up: calls (about one record each), and age.
GROUP_RECORDS = 200
GROUP_SECONDS = 0.25


class InHand:
    """Counts the documents a run has asked for and not yet kept; `reserve` waits, first come
    first served, until `n` more fit under the limit (a request larger than it waits for none)."""

    def __init__(self, limit: int = DOCUMENTS_IN_HAND) -> None:
        self.limit = limit
        self.taken = 0
        self._waiting: collections.deque[tuple[int, asyncio.Future]] = collections.deque()

    async def reserve(self, n: int) -> None:
        n = min(n, self.limit)
        if not self._waiting and self.taken + n <= self.limit:
            self.taken += n
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
        self.taken -= min(n, self.limit)
        while self._waiting and self.taken + self._waiting[0][0] <= self.limit:
            n, turn = self._waiting.popleft()
            if not turn.done():  # a cancelled waiter takes nothing
                self.taken += n
                turn.set_result(None)


class DatabaseThread:
    """The one thread that owns the run's connection: `await thread(fn, *args)` runs
    `fn(db, *args)` there, reads and writes alike.

    Writes are committed in groups: while calls are queued behind the current one, the
    transaction stays open, up to `group_records` calls or `group_seconds` of age; a call that
    leaves nothing queued commits. So a busy writer commits a group at a time, an idle one each
    record as it comes, and a kill loses at most one group, which the next run fetches again.
    Each record's own `db.atomic()` is then a savepoint: a record that fails rolls back alone."""

    def __init__(
        self,
        connect: Callable[[], Database],
        *,
        group_records: int = GROUP_RECORDS,
        group_seconds: float = GROUP_SECONDS,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._db: Database = self._pool.submit(connect).result()
        self._group_records = group_records
        self._group_seconds = group_seconds
        self._calls = 0
        self._opened = 0.0
        self._queued = 0
        self._lock = threading.Lock()

    async def __call__(self, fn: Callable[..., R], *args: Any) -> R:
        with self._lock:
            self._queued += 1
        call = self._pool.submit(self._in_group, fn, args)
        try:
            return await asyncio.wrap_future(call)
        except asyncio.CancelledError:
            if call.cancelled():  # it never ran, so it never left the queue
                with self._lock:
                    self._queued -= 1
            raise

    def _in_group(self, fn: Callable[..., R], args: tuple) -> R:
        if not self._db.conn.in_transaction:
            self._db.begin()
            self._calls, self._opened = 0, time.monotonic()
        try:
            result = fn(self._db, *args)
        finally:
            with self._lock:
                self._queued -= 1
                idle = self._queued == 0
        # A call that failed leaves its group open: its own savepoint has undone its work, and
        # the group is committed (or, on a failing disk, rolled back) by `close`.
        self._calls += 1
        if idle or self._calls >= self._group_records or self._age() >= self._group_seconds:
            self._db.commit()
        return result

    def _age(self) -> float:
        return time.monotonic() - self._opened

    async def close(self) -> None:
        """Commit the last group (a failing commit rolls it back) and close the connection."""
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._finish)
        finally:
            self._pool.shutdown(wait=True)

    def _finish(self) -> None:
        try:
            self._db.commit()
        except sqlite3.Error:
            self._db.rollback()
            raise
        finally:
            self._db.close()


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
