"""The harvest: enumerate, fetch concurrently, and write each record in its own transaction.

Fetch workers feed a bounded queue; one writer maps and commits, so memory stays flat however
large the archive and a kill loses at most the records still in flight.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pydantic
from sqlite_utils import Database

from harvester.endpoints import Endpoints
from harvester.http import FetchError, HttpClient, Response, ServiceLimits
from harvester.mapping.from_empiar import map_entry
from harvester.raw.empiar import NotAnEntry, parse_entry
from harvester.sources import empiar
from index import store

log = logging.getLogger(__name__)

# Politeness defaults per service: (concurrent requests, requests per second). EBI's EMPIAR API
# allowed 24,000 requests an hour per address (6.7/s); its file server stalls rather than throttles;
# EMDB asks for at most 3/s and 4 at once; RCSB for "a few" per second.
DEFAULT_LIMITS = {
    empiar.SERVICE_API: ServiceLimits(concurrency=4, rate=5.0),
    empiar.SERVICE_FILES: ServiceLimits(concurrency=2, rate=2.0),
    empiar.SERVICE_SEARCH: ServiceLimits(concurrency=2, rate=5.0),
    "emdb": ServiceLimits(concurrency=4, rate=3.0),
    "rcsb": ServiceLimits(concurrency=4, rate=5.0),
}

EXIT_OK = 0
EXIT_SOME_FAILED = 1


@dataclass
class HarvestOptions:
    ids: list[str] | None = None
    limit: int | None = None
    full: bool = False
    concurrency: int | None = None
    rate: float | None = None
    timeout: float = 15.0
    retries: int = 4
    backoff: float = 1.0

    def limits(self) -> dict[str, ServiceLimits]:
        return {
            name: ServiceLimits(
                concurrency=self.concurrency or lim.concurrency,
                rate=lim.rate if self.rate is None else self.rate,
            )
            for name, lim in DEFAULT_LIMITS.items()
        }

    @property
    def mode(self) -> str:
        return "ids" if self.ids else "full" if self.full else "incremental"


@dataclass
class HarvestResult:
    run_id: int
    counts: Counter = field(default_factory=Counter)
    requests: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    exit_status: int = EXIT_OK


Progress = Callable[[int, int], None]


async def enumerate_ids(
    client: HttpClient,
    endpoints: Endpoints,
    db: Database,
    on_error: Callable[[str, FetchError], None],
) -> list[str]:
    """Union of the file listing, EBI Search and the ids already stored, in accession order."""
    known = {
        row[0]
        for row in db.execute(
            "select accession from source_record where source = 'empiar' and payload is not null"
        )
    }
    listing, search = await asyncio.gather(
        empiar.list_from_files(client, endpoints),
        empiar.list_from_search(client, endpoints),
        return_exceptions=True,
    )
    found = set(known)
    for name, result in (("listing", listing), ("search", search)):
        if isinstance(result, FetchError):
            on_error(name, result)
        elif isinstance(result, BaseException):
            raise result
        else:
            found.update(result)
    return sorted(found, key=empiar.accession_number)


def _store_response(
    db: Database, acc: str, resp: Response, counts: Counter, run_id: int, at: str
) -> None:
    fetched = store.Fetched(
        source="empiar",
        accession=acc,
        url=resp.url,
        http_status=resp.status,
        etag=resp.etag,
        last_modified=resp.last_modified,
    )
    if resp.status in (404, 410):
        counts["not_public"] += 1
        store.save_not_public(db, fetched, at)
        return
    fetched.sha256 = resp.sha256
    previous = store.previous_sha(db, "empiar", acc)
    if previous == fetched.sha256:
        counts["unchanged"] += 1
        store.touch(db, fetched, at)
        return
    try:
        entry = parse_entry(resp.data, acc)
    except (NotAnEntry, pydantic.ValidationError) as exc:
        counts["failed"] += 1
        message = (
            str(exc).splitlines()[0]
            if isinstance(exc, NotAnEntry)
            else (
                f"{exc.error_count()} field(s) do not fit: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            )
        )
        store.record_error(
            db,
            run_id,
            source="empiar",
            accession=acc,
            url=resp.url,
            kind="validation",
            message=message,
            http_status=resp.status,
            excerpt=resp.text[:500],
        )
        return
    fetched.payload = resp.text
    store.save_entry(db, fetched, map_entry(entry), at)
    counts["updated" if previous else "new"] += 1


async def harvest(
    db: Database,
    endpoints: Endpoints,
    options: HarvestOptions,
    *,
    run_options: dict | None = None,
    progress: Progress | None = None,
) -> HarvestResult:
    """Run one harvest into `db` and record it in harvest_runs."""
    result = HarvestResult(run_id=store.start_run(db, options.mode, run_options or {}))
    counts = result.counts

    def on_error(source: str, acc: str | None, error: FetchError) -> None:
        log.warning("%s %s: %s", source, acc or "", error)
        store.record_error(
            db,
            result.run_id,
            source=source,
            accession=acc,
            url=error.url,
            kind=error.kind,
            message=error.message,
            http_status=error.status,
            excerpt=error.excerpt,
        )

    async with HttpClient(
        options.limits(), timeout=options.timeout, retries=options.retries, backoff=options.backoff
    ) as client:
        if options.ids:
            ids = list(options.ids)
        else:
            ids = await enumerate_ids(
                client, endpoints, db, lambda name, e: on_error(f"empiar-{name}", None, e)
            )
        if options.limit is not None:
            ids = ids[: options.limit]
        counts["listed"] = len(ids)
        log.info("%d EMPIAR entries to fetch", len(ids))

        todo: asyncio.Queue[str] = asyncio.Queue()
        for acc in ids:
            todo.put_nowait(acc)
        workers = options.limits()[empiar.SERVICE_API].concurrency
        done_queue: asyncio.Queue[tuple[str, Response | FetchError] | None] = asyncio.Queue(
            maxsize=workers * 4
        )

        async def fetch_worker() -> None:
            while True:
                try:
                    acc = todo.get_nowait()
                except asyncio.QueueEmpty:
                    break
                try:
                    outcome: Response | FetchError = await empiar.fetch_entry(
                        client, endpoints, acc
                    )
                except FetchError as exc:
                    outcome = exc
                await done_queue.put((acc, outcome))
            await done_queue.put(None)

        tasks = [asyncio.create_task(fetch_worker()) for _ in range(workers)]
        finished_workers, done = 0, 0
        try:
            while finished_workers < workers:
                item = await done_queue.get()
                if item is None:
                    finished_workers += 1
                    continue
                acc, outcome = item
                if isinstance(outcome, FetchError):
                    counts["failed"] += 1
                    on_error("empiar", acc, outcome)
                else:
                    counts["fetched"] += 1
                    _store_response(db, acc, outcome, counts, result.run_id, store.now())
                done += 1
                if progress:
                    progress(done, len(ids))
        finally:
            for task in tasks:
                task.cancel()
        result.requests = dict(client.stats.requests)
        result.retries = client.stats.retries
        errors = db.execute(
            "select count(*) from harvest_errors where run_id = ?", [result.run_id]
        ).fetchone()[0]
        result.exit_status = EXIT_SOME_FAILED if errors else EXIT_OK
        store.finish_run(db, result.run_id, counts, client.stats, result.exit_status)
    return result


def reindex(db: Database) -> int:
    """Rebuild every normalized table from source_record, without the network."""
    count = 0
    with db.atomic():
        store.clear_normalized(db)
        for row in db.execute(
            "select accession, payload, changed_at from source_record "
            "where source = 'empiar' and payload is not null order by accession"
        ).fetchall():
            entry = parse_entry(json.loads(row[1]), row[0])
            store.write_entry(db, map_entry(entry), row[2])
            count += 1
    return count
