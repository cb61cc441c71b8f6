"""The harvest: enumerate EMPIAR, fetch its entries, then the EMDB maps and PDB models they link.

Fetches run concurrently within each service's limits; one writer (this coroutine) parses, maps
and commits each record in its own transaction, so a kill loses at most the records in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient, Response, ServiceLimits
from empiar_mirror.harvester.mapping import from_emdb, from_rcsb
from empiar_mirror.harvester.mapping.from_empiar import map_entry
from empiar_mirror.harvester.raw.emdb import parse_emdb
from empiar_mirror.harvester.raw.empiar import parse_entry
from empiar_mirror.harvester.raw.rcsb import parse_holdings, parse_rcsb
from empiar_mirror.harvester.sources import emdb, empiar, rcsb
from empiar_mirror.index import front_doors, store
from empiar_mirror.index.lambda_ber.record import Mapped
from sqlite_utils import Database

log = logging.getLogger(__name__)

# Politeness defaults per service: (concurrent requests, requests per second). EBI's EMPIAR API
# allowed 24,000 requests an hour per address (6.7/s); its file server stalls rather than throttles;
# EMDB asks for at most 3/s and 4 at once; RCSB for "a few" per second.
DEFAULT_LIMITS = {
    empiar.SERVICE_API: ServiceLimits(concurrency=4, rate=5.0),
    empiar.SERVICE_FILES: ServiceLimits(concurrency=2, rate=2.0),
    empiar.SERVICE_SEARCH: ServiceLimits(concurrency=2, rate=5.0),
    emdb.SERVICE: ServiceLimits(concurrency=4, rate=3.0),
    rcsb.SERVICE: ServiceLimits(concurrency=4, rate=5.0),
}

EXIT_OK = 0
EXIT_SOME_FAILED = 1

# source -> how a stored payload becomes rows. Pure functions of the raw record.
MAPPERS: dict[str, Callable[[Any, str], Mapped]] = {
    "empiar": lambda data, acc: map_entry(parse_entry(data, acc)),
    "emdb": lambda data, acc: from_emdb.map_emdb(parse_emdb(data)),
    "pdb": lambda data, acc: from_rcsb.map_rcsb(parse_rcsb(data)),
    "pdb_holdings": lambda data, acc: from_rcsb.map_removed(parse_holdings(data, acc)),
}
# A linked record nobody serves still gets its front-door row, so the broken link shows.
UNSERVED = {"emdb": from_emdb.map_unserved, "pdb": from_rcsb.map_unserved}


@dataclass
class HarvestOptions:
    ids: list[str] | None = None
    limit: int | None = None
    full: bool = False
    refresh_days: int = 7
    linked: bool = True
    batch: bool = True
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
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    requests: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    exit_status: int = EXIT_OK

    def total(self, kind: str) -> int:
        return sum(c[kind] for c in self.counts.values())


Progress = Callable[[int, int], None]


def canonical(doc: Any) -> str:
    """One text per document, however it was fetched (batch or single): the stored payload.

    EMDB's search rows carry a database-internal `_id` that its entry route may not."""
    if isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k != "_id"}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def refresh_due(accession: str, fetched_at: str, refresh_days: int, now: dt.datetime) -> bool:
    """Whether a held record is due for its rolling re-check.

    Every record is fetched again once it is `refresh_days` old; meanwhile each day re-checks
    the 1/refresh_days of the records whose stable bucket falls on it, so a nightly run spreads
    the re-checks evenly instead of refetching the whole archive once a week."""
    age = (now - dt.datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))).total_seconds()
    age_days = age / 86400
    if age_days >= refresh_days:
        return True
    bucket = int(hashlib.sha1(accession.encode()).hexdigest(), 16) % refresh_days
    # Half a day: a record fetched on this run's day is not fetched again by a later run.
    return age_days >= 0.5 and bucket == now.toordinal() % refresh_days


def chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Harvest:
    """One run: the client, the database, and what happened."""

    def __init__(
        self,
        db: Database,
        endpoints: Endpoints,
        options: HarvestOptions,
        client: HttpClient,
        result: HarvestResult,
        progress: Progress | None,
    ) -> None:
        self.db = db
        self.endpoints = endpoints
        self.options = options
        self.client = client
        self.result = result
        self.progress = progress
        self.done = 0
        self.total = 0
        self.now = dt.datetime.now(dt.UTC)
        self.changed: dict[str, set[str]] = defaultdict(set)  # records new or updated this run
        self.relisted = False  # an entry marked gone is listed again
        # SQLite and the mapping run on this one thread, so the event loop keeps fetching while
        # a record is written. While a phase runs, only this thread touches the database.
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._load_state()

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.writer, fn, *args)

    def _load_state(self) -> None:
        """When each held record was fetched, and which failed since: what is due for a fetch."""
        self.fetched_at = {
            (source, acc): at
            for source, acc, at in self.db.execute(
                "select source, accession, fetched_at from source_record"
            )
        }
        self.failed = {
            (source, acc)
            for source, acc in self.db.execute(
                "select e.source, e.accession from harvest_errors e left join source_record s "
                "on s.source = e.source and s.accession = e.accession "
                "where e.accession is not null and (s.fetched_at is null "
                "or e.occurred_at > s.fetched_at)"
            )
        }
        self.listing = {
            acc: (listed, fetched, missing, gone)
            for acc, listed, fetched, missing, gone in self.db.execute(
                "select accession, listing_mtime, fetched_mtime, missing_runs, gone_since "
                "from listing_state"
            )
        }
        # Conditional-request headers, read up front: fetches must not touch the database.
        self.validators = {
            (source, acc): {
                k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v
            }
            for source, acc, etag, modified in self.db.execute(
                "select source, accession, etag, last_modified from source_record "
                "where payload is not null and (etag is not null or last_modified is not null)"
            )
        }

    def due(self, source: str, accession: str) -> bool:
        """Incremental harvests fetch a record when it is new, failed last time, or due again."""
        if self.options.full or self.options.ids:
            return True
        fetched_at = self.fetched_at.get((source, accession))
        if fetched_at is None or (source, accession) in self.failed:
            return True
        return refresh_due(accession, fetched_at, self.options.refresh_days, self.now)

    def empiar_due(self, accession: str) -> bool:
        listed, fetched, missing, gone = self.listing.get(accession, (None, None, 0, None))
        if listed and listed != fetched:
            return True  # the listing shows a change since our copy
        return self.due("empiar", accession) or self.gone_suspect(accession)

    def gone_suspect(self, accession: str) -> bool:
        """Missing from both listings on two runs in a row, and not yet confirmed gone."""
        _, _, missing, gone = self.listing.get(accession, (None, None, 0, None))
        return missing >= 2 and gone is None

    def conditional(self, source: str, accession: str) -> dict[str, str]:
        return {} if self.options.full else self.validators.get((source, accession), {})

    # --- bookkeeping --------------------------------------------------------------------------

    def count(self, source: str, kind: str) -> None:
        self.result.counts[source][kind] += 1

    def error(self, source: str, accession: str | None, error: FetchError) -> None:
        log.warning("%s %s: %s", source, accession or "", error)
        self.count(source, "failed")
        store.record_error(
            self.db,
            self.result.run_id,
            source=source,
            accession=accession,
            url=error.url,
            kind=error.kind,
            message=error.message,
            http_status=error.status,
            excerpt=error.excerpt,
        )

    def step(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done))

    # --- storing one answer -------------------------------------------------------------------

    def store(
        self,
        source: str,
        accession: str,
        url: str,
        payload: str,
        data: Any,
        resp: Response | None = None,
    ) -> Mapped | None:
        """Keep a fetched record and its rows; skip the rows when its content is unchanged."""
        at = store.now()
        fetched = store.Fetched(
            source=source,
            accession=accession,
            url=url,
            http_status=200,
            payload=payload,
            sha256=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
            etag=resp.etag if resp else None,
            last_modified=resp.last_modified if resp else None,
        )
        self.count(source, "fetched")
        previous = store.previous_sha(self.db, source, accession)
        if previous == fetched.sha256:
            self.count(source, "unchanged")
            store.touch(self.db, fetched, at)
            return None
        try:
            mapped = MAPPERS[source](data, accession)
        except ValueError as exc:  # pydantic's ValidationError is one too
            self.count(source, "failed")
            store.record_error(
                self.db,
                self.result.run_id,
                source=source,
                accession=accession,
                url=url,
                kind="validation",
                message=_describe(exc),
                http_status=200,
                excerpt=payload[:500],
            )
            return None
        # A record never held before (not even as a 404) owns no rows yet.
        new = (source, accession) not in self.fetched_at
        store.save_record(self.db, fetched, mapped, at, replace=not new)
        self.count(source, "updated" if previous else "new")
        self.changed[source].add(accession)
        return mapped

    def not_modified(self, source: str, accession: str, resp: Response) -> None:
        """A 304 to a conditional request: our copy is current."""
        self.count(source, "fetched")
        self.count(source, "not_modified")
        fetched = store.Fetched(
            source=source,
            accession=accession,
            url=resp.url,
            http_status=200,
            etag=resp.etag,
            last_modified=resp.last_modified,
        )
        store.touch(self.db, fetched, store.now())

    def not_public(self, source: str, accession: str, resp: Response) -> None:
        self.count(source, "not_public")
        fetched = store.Fetched(
            source=source, accession=accession, url=resp.url, http_status=resp.status
        )
        store.save_not_public(self.db, fetched, store.now())

    # --- fetching many ------------------------------------------------------------------------

    async def each(
        self,
        ids: Iterable[str],
        fetch: Callable[[str], Awaitable[Response]],
        handle: Callable[[str, Response], Any],
        source: str,
        workers: int,
        *,
        step: bool = True,
    ) -> dict[str, Any]:
        """Fetch ids with `workers` concurrent requests; handle each answer on the writer thread,
        one at a time. Returns what the handlers returned, by id, where not None."""
        todo: asyncio.Queue[str] = asyncio.Queue()
        for item in ids:
            todo.put_nowait(item)
        results: asyncio.Queue[tuple[str, Response | FetchError] | None] = asyncio.Queue(
            maxsize=workers * 4
        )

        async def worker() -> None:
            while True:
                try:
                    item = todo.get_nowait()
                except asyncio.QueueEmpty:
                    break
                try:
                    outcome: Response | FetchError = await fetch(item)
                except FetchError as exc:
                    outcome = exc
                await results.put((item, outcome))
            await results.put(None)

        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        finished = 0
        answers: dict[str, Any] = {}
        try:
            while finished < workers:
                got = await results.get()
                if got is None:
                    finished += 1
                    continue
                item, outcome = got
                if isinstance(outcome, FetchError):
                    await self.write(self.error, source, item, outcome)
                else:
                    answer = await self.write(handle, item, outcome)
                    if answer is not None:
                        answers[item] = answer
                if step:
                    self.step()
        finally:
            for task in tasks:
                task.cancel()
        return answers

    async def batches(
        self,
        ids: list[str],
        size: int,
        fetch_batch: Callable[[list[str]], Awaitable[list[dict]]],
        key: Callable[[dict], str | None],
        source: str,
        workers: int,
    ) -> list[str]:
        """Fetch ids many at a time; return those no batch answered, for one-by-one fetching.

        At most `workers` batches are in flight or waiting to be written, so memory stays flat
        however many batches there are."""
        missing: list[str] = []

        async def fetch(batch_key: str) -> Response:
            batch = pending[batch_key]
            try:
                return await fetch_batch(batch)  # type: ignore[return-value]
            except FetchError as exc:
                # The whole batch goes to the per-record route, which records its own errors.
                log.warning("%s batch of %d failed (%s); one by one", source, len(batch), exc)
                return []  # type: ignore[return-value]

        def handle(batch_key: str, docs: list[dict]) -> None:
            wanted, seen = set(pending[batch_key]), set()
            for doc in docs:
                acc = key(doc)
                if acc in wanted and acc not in seen:
                    seen.add(acc)
                    self.store(source, acc, f"{source}:batch", canonical(doc), doc)
                    self.step()
            missing.extend(i for i in pending[batch_key] if i not in seen)

        pending = {str(n): batch for n, batch in enumerate(chunks(ids, size))}
        await self.each(pending, fetch, handle, source, workers, step=False)
        return missing

    # --- the three archives -------------------------------------------------------------------

    async def empiar(self) -> list[str]:
        """Fetch the EMPIAR entries that are due; return the accessions in scope for linking."""
        if self.options.ids:
            ids = scope = list(self.options.ids)
        else:
            listed, complete = await enumerate_ids(self.client, self.endpoints, self.error)
            self.relisted = store.record_listing(self.db, listed, complete)
            self._load_state()
            held = {acc for (source, acc) in self.fetched_at if source == "empiar"}
            scope = sorted(set(listed) | held, key=empiar.accession_number)
            self.result.counts["empiar"]["listed"] = len(scope)
            ids = [acc for acc in scope if self.empiar_due(acc)]
        if self.options.limit is not None:
            ids = scope = ids[: self.options.limit]
        if self.options.ids:
            self.result.counts["empiar"]["listed"] = len(ids)
        self.total += len(ids)
        log.info("%d EMPIAR entries to fetch", len(ids))

        def handle(acc: str, resp: Response) -> None:
            if resp.status == 304:
                self.not_modified("empiar", acc, resp)
            elif resp.status in (404, 410):
                self.not_public("empiar", acc, resp)
                if self.gone_suspect(acc):
                    self._gone(acc, "not public")
                return
            else:
                self.store("empiar", acc, resp.url, resp.text, resp.data, resp)
            with self.db.atomic():
                store.fetched_from_listing(self.db, acc)
            if self.gone_suspect(acc):
                row = self.db.execute(
                    "select x_status from dataset where id = ?", [f"empiar:{acc}"]
                ).fetchone()
                if row and row[0] == "OBS":
                    self._gone(acc, "OBS")

        await self.each(
            ids,
            lambda acc: empiar.fetch_entry(
                self.client, self.endpoints, acc, self.conditional("empiar", acc)
            ),
            handle,
            "empiar",
            self.options.limits()[empiar.SERVICE_API].concurrency,
        )
        if self.options.ids or self.options.limit is not None:
            return scope
        return [r[0] for r in self.db.execute("select accession from empiar_entries")]

    def _gone(self, accession: str, status: str) -> None:
        """Absent from the listings twice and now 404 or obsolete: marked, and kept."""
        store.mark_gone(self.db, accession, status, self.now.date().isoformat())
        self.count("empiar", "withdrawn")

    async def emdb(self, accessions: list[str]) -> list[str]:
        """Fetch, each once, the maps these entries link to that are due: those of entries that
        changed in this run, and those new, failed or due again. Returns all linked maps."""
        scope = linked_maps(self.db, accessions)
        of_changed = set(linked_maps(self.db, sorted(self.changed["empiar"])))
        ids = [m for m in scope if m in of_changed or self.due("emdb", m)]
        self.total += len(ids)
        log.info("%d linked EMDB entries to fetch", len(ids))

        def handle(emd: str, resp: Response) -> None:
            if resp.status == 304:
                self.not_modified("emdb", emd, resp)
            elif resp.status in (404, 410):
                self.not_public("emdb", emd, resp)
                self._missing_front_door("emdb", emd, "not public")
            else:
                self.store("emdb", emd, resp.url, canonical(resp.data), resp.data, resp)

        await self.linked("emdb", emdb, ids, lambda doc: doc.get("emdb_id"), handle)
        return scope

    async def pdb(self, accessions: list[str], maps: list[str]) -> None:
        """Fetch, each once, the due models fitted into these maps or named by these entries
        (those linked from records that changed in this run, and those new, failed or due
        again); for an obsolete one, also the entry that replaced it."""
        maps_changed = sorted(
            self.changed["emdb"] | set(linked_maps(self.db, sorted(self.changed["empiar"])))
        )
        of_changed = set(linked_models(self.db, sorted(self.changed["empiar"]), maps_changed))
        ids = [
            p
            for p in linked_models(self.db, accessions, maps)
            if p in of_changed or self.due("pdb", p)
        ]
        fetched: set[str] = set()

        def handle(pdb_id: str, resp: Response) -> bool | None:
            """True when RCSB does not serve the entry: its holdings say why."""
            if resp.status == 304:
                self.not_modified("pdb", pdb_id, resp)
            elif resp.status not in (404, 410):
                self.store("pdb", pdb_id, resp.url, canonical(resp.data), resp.data, resp)
            else:
                self.not_public("pdb", pdb_id, resp)
                return True
            return None

        while ids:
            fetched.update(ids)
            self.total += len(ids)
            log.info("%d linked PDB entries to fetch", len(ids))
            key = lambda doc: str(doc.get("rcsb_id", "")).upper()  # noqa: E731
            unserved = await self.linked("pdb", rcsb, ids, key, handle)
            replacements = [r for p in unserved if (r := await self._holdings(p))]
            ids = [
                r for r in dict.fromkeys(replacements) if r not in fetched and self.due("pdb", r)
            ]

    async def linked(
        self,
        source: str,
        archive: Any,
        ids: list[str],
        key: Callable[[dict], str | None],
        handle: Callable[[str, Response], Any],
    ) -> dict[str, Any]:
        """Fetch linked records from an archive module (`emdb`, `rcsb`): many per request
        unless --no-batch, then one by one (conditionally) whatever the batches left out."""
        workers = self.options.limits()[archive.SERVICE].concurrency
        todo = ids
        if self.options.batch and ids:
            todo = await self.batches(
                ids,
                archive.BATCH_SIZE,
                lambda batch: archive.fetch_batch(self.client, self.endpoints, batch),
                key,
                source,
                workers,
            )
        return await self.each(
            todo,
            lambda i: archive.fetch_entry(
                self.client, self.endpoints, i, self.conditional(source, i)
            ),
            handle,
            source,
            workers,
        )

    async def _holdings(self, pdb_id: str) -> str | None:
        """Ask why RCSB does not serve an entry; returns the id that replaced it, if any."""
        try:
            resp = await rcsb.fetch_holdings(self.client, self.endpoints, pdb_id)
        except FetchError as exc:
            await self.write(self.error, "pdb_holdings", pdb_id, exc)
            return None
        return await self.write(self._store_holdings, pdb_id, resp)

    def _store_holdings(self, pdb_id: str, resp: Response) -> str | None:
        if resp.status != 200:
            self._missing_front_door("pdb", pdb_id, "not public")
            return None
        mapped = self.store("pdb_holdings", pdb_id, resp.url, canonical(resp.data), resp.data, resp)
        if mapped is None:
            row = self.db.execute(
                "select replaced_by from pdb_models where pdb_id = ?", [pdb_id]
            ).fetchone()
            return row[0] if row else None
        return mapped.front_door.get("replaced_by")

    def _missing_front_door(self, source: str, accession: str, status: str) -> None:
        table, key = store.FRONT_DOORS[source]
        exists = self.db.execute(
            f"select 1 from [{table}] where [{key}] = ?", [accession]
        ).fetchone()
        if not exists:
            # Dated like its 404 in source_record, so a reindex rebuilds the same row.
            (at,) = self.db.execute(
                "select changed_at from source_record where source = ? and accession = ?",
                [source, accession],
            ).fetchone()
            with self.db.atomic():
                store.write_record(self.db, UNSERVED[source](accession, status), at)


def _describe(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors()[:3]]
        return f"{exc.error_count()} field(s) do not fit: " + "; ".join(parts)
    return str(exc).splitlines()[0]


def linked_maps(db: Database, accessions: list[str]) -> list[str]:
    """EMDB ids the given EMPIAR entries link to, as stored."""
    found: dict[str, None] = {}
    for chunk in chunks(accessions, 500):
        marks = ", ".join("?" for _ in chunk)
        for (value,) in db.execute(
            f"select emdb_ids from empiar_entries where accession in ({marks}) order by accession",
            chunk,
        ):
            found.update(dict.fromkeys(json.loads(value or "[]")))
    return list(found)


def linked_models(db: Database, accessions: list[str], maps: list[str]) -> list[str]:
    """PDB ids fitted into the given maps, and those the given EMPIAR entries name themselves."""
    found: dict[str, None] = {}
    for chunk in chunks(maps, 500):
        marks = ", ".join("?" for _ in chunk)
        for (value,) in db.execute(
            f"select pdb_ids from emdb_maps where emdb_id in ({marks}) order by emdb_id", chunk
        ):
            found.update(dict.fromkeys(json.loads(value or "[]")))
    for chunk in chunks(accessions, 500):
        studies = [f"empiar:{a}/study" for a in chunk]
        marks = ", ".join("?" for _ in studies)
        for (pdb,) in db.execute(
            "select database_id from database_cross_reference where owner_table = 'study' and "
            f"database_name = 'pdb' and owner_id in ({marks}) order by owner_id",
            studies,
        ):
            found[pdb] = None
    return list(found)


async def enumerate_ids(
    client: HttpClient,
    endpoints: Endpoints,
    on_error: Callable[[str, str | None, FetchError], None],
) -> tuple[dict[str, str | None], bool]:
    """Accessions in the file listing and EBI Search, with listing mtimes where known.

    The flag says whether both answered: only then may an absence mean anything."""
    listing, search = await asyncio.gather(
        empiar.list_from_files(client, endpoints),
        empiar.list_from_search(client, endpoints),
        return_exceptions=True,
    )
    found: dict[str, str | None] = {}
    complete = True
    for name, result in (("empiar-search", search), ("empiar-listing", listing)):
        if isinstance(result, FetchError):
            on_error(name, None, result)
            complete = False
        elif isinstance(result, BaseException):
            raise result
        elif isinstance(result, dict):
            found.update(result)
        else:
            found.update(dict.fromkeys(result))
    return found, complete


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
    async with HttpClient(
        options.limits(), timeout=options.timeout, retries=options.retries, backoff=options.backoff
    ) as client:
        run = Harvest(db, endpoints, options, client, result, progress)
        try:
            accessions = await run.empiar()
            if options.linked:
                maps = await run.emdb(accessions)
                await run.pdb(accessions, maps)
        finally:
            run.writer.shutdown(wait=True)
        for service, why in client.tripped.items():
            store.record_error(
                db,
                result.run_id,
                source=service,
                accession=None,
                url=None,
                kind="circuit-open",
                message=why,
            )
        # Gathered columns only move when a record changed or an entry was marked gone.
        if (
            any(run.changed.values())
            or run.relisted
            or result.total("withdrawn")
            or result.total("not_public")
        ):
            with db.atomic():
                front_doors.refresh(db)
        result.requests = dict(client.stats.requests)
        result.retries = client.stats.retries
        errors = db.execute(
            "select count(*) from harvest_errors where run_id = ?", [result.run_id]
        ).fetchone()[0]
        result.exit_status = EXIT_SOME_FAILED if errors else EXIT_OK
        store.finish_run(db, result.run_id, result.counts, client.stats, result.exit_status)
    return result


def reindex(db: Database) -> Counter:
    """Rebuild every normalized table from source_record, without the network."""
    counts: Counter = Counter()
    with db.atomic():
        store.clear_normalized(db)
        served_pdb = {
            r[0]
            for r in db.execute(
                "select accession from source_record where source = 'pdb' and payload is not null"
            )
        }
        for source in MAPPERS:
            rows = db.execute(
                "select accession, payload, changed_at from source_record "
                "where source = ? and payload is not null order by accession",
                [source],
            ).fetchall()
            for accession, payload, changed_at in rows:
                if source == "pdb_holdings" and accession in served_pdb:
                    continue
                mapped = MAPPERS[source](json.loads(payload), accession)
                store.write_record(db, mapped, changed_at, replace=False)
                counts[source] += 1
        for source, status in (("emdb", "not public"), ("pdb", "not public")):
            table, key = store.FRONT_DOORS[source]
            for accession, changed_at in db.execute(
                "select accession, changed_at from source_record where source = ? "
                f"and payload is null and accession not in (select [{key}] from [{table}])",
                [source],
            ).fetchall():
                store.write_record(db, UNSERVED[source](accession, status), changed_at)
        front_doors.refresh(db)
    return counts
