"""The harvest: enumerate EMPIAR, fetch the entries that are due, then the EMDB maps and PDB
models they link to; and `reindex`, which maps the stored answers again without the network.

Each phase is short: decide what is due (`schedule`), fetch it (`engine`), keep each answer on
the writer thread (`keep`). One transaction per record, so a kill loses at most those in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from empiar_mirror.harvester import keep, schedule
from empiar_mirror.harvester.archives import (
    EMDB,
    EMPIAR,
    MAPPERS,
    PDB,
    SERVICE_LIMITS,
    Harvested,
    canonical,
)
from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.engine import Writer, fetch_all
from empiar_mirror.harvester.http import FetchError, HttpClient, Response, ServiceLimits
from empiar_mirror.harvester.sources import empiar, rcsb
from empiar_mirror.index import front_doors, store
from empiar_mirror.index.archives import NOT_PUBLIC
from empiar_mirror.index.lambda_ber.record import FITTED_MODEL, RELATED_EMDB, RELATED_PDB

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SOME_FAILED = 1


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
            for name, lim in SERVICE_LIMITS.items()
        }

    @property
    def mode(self) -> str:
        return "ids" if self.ids else "full" if self.full else "incremental"


@dataclass
class HarvestResult:
    run_id: int
    counts: dict[str, Counter] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    exit_status: int = EXIT_OK

    def total(self, kind: str) -> int:
        return sum(c[kind] for c in self.counts.values())


Progress = Callable[[int, int], None]


@dataclass
class Run:
    """One harvest's context: what it talks to, what it decided, and what happened."""

    client: HttpClient
    endpoints: Endpoints
    options: HarvestOptions
    write: Writer
    tally: keep.Tally
    policy: schedule.Policy
    progress: Progress | None = None
    done: int = 0
    total: int = 0
    relisted: bool = False  # an entry found withdrawn is listed again

    def due(self, source: str, accession: str) -> bool:
        return schedule.due(self.policy, self.tally.held, source, accession)

    def step(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done))

    def workers(self, harvested: Harvested) -> int:
        return self.options.limits()[harvested.service].concurrency

    async def error(self, source: str, accession: str | None, exc: FetchError) -> None:
        await self.write(keep.keep_error, self.tally, source, accession, exc)

    async def fetch_records(self, harvested: Harvested, ids: list[str]) -> dict[str, int]:
        """Fetch records one by one (conditionally) and keep each answer. Returns the HTTP
        status of each answered id (an id whose fetch failed is left out)."""
        answered: dict[str, int] = {}

        async def fetch(acc: str) -> Response:
            headers = schedule.conditional(self.policy, self.tally.held, harvested.key, acc)
            return await harvested.fetch_one(self.client, self.endpoints, acc, headers)

        async def handle(acc: str, outcome: Response | FetchError) -> None:
            self.step()
            if isinstance(outcome, FetchError):
                await self.error(harvested.key, acc, outcome)
                return
            answered[acc] = outcome.status
            if outcome.status == 304:
                await self.write(keep.keep_not_modified, self.tally, harvested.key, acc, outcome)
            elif outcome.status in (404, 410):
                await self.write(keep.keep_not_public, self.tally, harvested, acc, outcome)
            else:
                await self.write(
                    keep.keep_document,
                    self.tally,
                    harvested.key,
                    acc,
                    outcome.url,
                    outcome.data,
                    harvested.payload(outcome),
                    outcome,
                )

        await fetch_all(ids, fetch, handle, self.workers(harvested))
        return answered

    async def fetch_batches(self, harvested: Harvested, ids: list[str]) -> list[str]:
        """Fetch records many per request and keep each document; returns the ids no batch
        answered, for fetching one by one."""
        assert harvested.fetch_many is not None
        left_out: list[str] = []
        size = harvested.batch_size

        async def fetch(batch: list[str]) -> list[dict]:
            return await harvested.fetch_many(self.client, self.endpoints, batch)

        async def handle(batch: list[str], outcome: list[dict] | FetchError) -> None:
            if isinstance(outcome, FetchError):
                # The whole batch goes to the per-record route, which records its own errors.
                log.warning(
                    "%s batch of %d failed (%s); one by one", harvested.key, len(batch), outcome
                )
                left_out.extend(batch)
                return
            wanted, seen = set(batch), set()
            for doc in outcome:
                acc = harvested.batch_key(doc)
                # A batch answer may only hold what was asked for, each once.
                if acc in wanted and acc not in seen:
                    seen.add(acc)
                    self.step()
                    await self.write(
                        keep.keep_document,
                        self.tally,
                        harvested.key,
                        acc,
                        f"{harvested.key}:batch",
                        doc,
                        canonical(doc),
                    )
            left_out.extend(i for i in batch if i not in seen)

        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        await fetch_all(batches, fetch, handle, self.workers(harvested))
        return left_out

    async def fetch_linked(self, harvested: Harvested, ids: list[str]) -> list[str]:
        """Many per request unless --no-batch, then one by one whatever the batches left out.
        Returns the ids the archive does not serve."""
        self.total += len(ids)
        log.info("%d linked %s records to fetch", len(ids), harvested.archive.name)
        if self.options.batch and harvested.fetch_many and ids:
            ids = await self.fetch_batches(harvested, ids)
        answered = await self.fetch_records(harvested, ids)
        return [acc for acc, status in answered.items() if status in (404, 410)]


# The three archives ---------------------------------------------------------------------------


async def empiar_phase(run: Run) -> list[str]:
    """Fetch the EMPIAR entries that are due; return the accessions in scope for linking."""
    options = run.options
    if options.ids:
        ids = scope = list(options.ids)
    else:
        listed, complete = await enumerate_ids(run)
        run.relisted = await run.write(store.record_listing, listed, complete)
        run.tally.held = await run.write(store.load_held)
        held = {acc for (source, acc) in run.tally.held.fetched_at if source == "empiar"}
        scope = sorted(set(listed) | held, key=empiar.accession_number)
        run.tally.counts["empiar"]["listed"] = len(scope)
        ids = [acc for acc in scope if schedule.empiar_due(run.policy, run.tally.held, acc)]
    if options.limit is not None:
        ids = scope = ids[: options.limit]
    if options.ids:
        run.tally.counts["empiar"]["listed"] = len(ids)
    run.total += len(ids)
    log.info("%d EMPIAR entries to fetch", len(ids))
    answered = await run.fetch_records(EMPIAR, ids)
    await run.write(check_withdrawals, run, answered)
    if options.ids or options.limit is not None:
        return scope
    return await run.write(store.held_accessions, EMPIAR.archive)


def check_withdrawals(db: Database, run: Run, answered: dict[str, int]) -> None:
    """An entry missing from the listings that now answers 404, or is obsolete, is withdrawn."""
    day = run.policy.now.date().isoformat()
    for acc, status in answered.items():
        public = status not in (404, 410)
        if public:
            store.fetched_from_listing(db, acc)
        if not schedule.withdrawal_suspect(run.tally.held, acc):
            continue
        if not public:
            store.mark_withdrawn(db, acc, NOT_PUBLIC, day)
        elif store.dataset_status(db, EMPIAR.archive, acc) == "OBS":
            store.mark_withdrawn(db, acc, "OBS", day)
        else:
            continue
        run.tally.count("empiar", "withdrawn")


async def emdb_phase(run: Run, accessions: list[str]) -> list[str]:
    """Fetch, each once, the maps these entries link to that are due: those of entries that
    changed in this run, and those new, failed or due again. Returns all linked maps."""
    scope = await run.write(store.links, EMPIAR.archive, accessions, RELATED_EMDB)
    changed = sorted(run.tally.changed["empiar"])
    of_changed = set(await run.write(store.links, EMPIAR.archive, changed, RELATED_EMDB))
    ids = [m for m in scope if m in of_changed or run.due("emdb", m)]
    await run.fetch_linked(EMDB, ids)
    return scope


async def pdb_phase(run: Run, accessions: list[str], maps: list[str]) -> None:
    """Fetch, each once, the due models fitted into these maps or named by these entries
    (those linked from records that changed in this run, and those new, failed or due again);
    for an obsolete one, also the entry that replaced it."""

    async def models(entries: list[str], emdb_ids: list[str]) -> list[str]:
        named = await run.write(store.links, EMPIAR.archive, entries, RELATED_PDB)
        fitted = await run.write(store.links, EMDB.archive, emdb_ids, FITTED_MODEL)
        return list(dict.fromkeys([*fitted, *named]))

    changed_entries = sorted(run.tally.changed["empiar"])
    maps_of_changed = await run.write(store.links, EMPIAR.archive, changed_entries, RELATED_EMDB)
    changed_maps = sorted(run.tally.changed["emdb"] | set(maps_of_changed))
    of_changed = set(await models(changed_entries, changed_maps))
    ids = [p for p in await models(accessions, maps) if p in of_changed or run.due("pdb", p)]
    fetched: set[str] = set()
    while ids:
        fetched.update(ids)
        not_served = await run.fetch_linked(PDB, ids)
        replacements = [r for p in not_served if (r := await holdings(run, p))]
        ids = [r for r in dict.fromkeys(replacements) if r not in fetched and run.due("pdb", r)]


async def holdings(run: Run, pdb_id: str) -> str | None:
    """Ask why RCSB does not serve an entry; returns the id that replaced it, if any."""
    try:
        resp = await rcsb.fetch_holdings(run.client, run.endpoints, pdb_id)
    except FetchError as exc:
        await run.error("pdb_holdings", pdb_id, exc)
        return None
    if resp.status != 200:
        return None
    mapped = await run.write(
        keep.keep_document,
        run.tally,
        "pdb_holdings",
        pdb_id,
        resp.url,
        resp.data,
        canonical(resp.data),
        resp,
    )
    if mapped is None:
        return await run.write(store.replaced_by, pdb_id)
    return mapped.front_door.get("replaced_by")


async def enumerate_ids(run: Run) -> tuple[dict[str, str | None], bool]:
    """Accessions in the file listing and EBI Search, with listing mtimes where known.

    The flag says whether both answered: only then may an absence mean anything."""
    listing, search = await asyncio.gather(
        empiar.list_from_files(run.client, run.endpoints),
        empiar.list_from_search(run.client, run.endpoints),
        return_exceptions=True,
    )
    found: dict[str, str | None] = {}
    complete = True
    for name, result in (("empiar-search", search), ("empiar-listing", listing)):
        if isinstance(result, BaseException):
            exc = result if isinstance(result, FetchError) else _internal(name, result)
            await run.error(name, None, exc)
            complete = False
        elif isinstance(result, dict):
            found.update(result)
        else:
            found.update(dict.fromkeys(result))
    return found, complete


def _internal(where: str, exc: BaseException) -> FetchError:
    return FetchError("internal", where, f"{type(exc).__name__}: {exc}")


# The run ----------------------------------------------------------------------------------------


async def harvest(
    db_path: str | Path,
    endpoints: Endpoints,
    options: HarvestOptions,
    *,
    run_options: dict | None = None,
    progress: Progress | None = None,
) -> HarvestResult:
    """Run one harvest into the file at `db_path` and record it in harvest_runs."""
    write = Writer(lambda: store.open_database(db_path))
    try:
        run_id = await write(store.start_run, options.mode, run_options or {})
        tally = keep.Tally(run_id=run_id, held=await write(store.load_held))
        policy = schedule.Policy(
            full=options.full,
            explicit=bool(options.ids),
            refresh_days=options.refresh_days,
            now=dt.datetime.now(dt.UTC),
        )
        async with HttpClient(
            options.limits(),
            timeout=options.timeout,
            retries=options.retries,
            backoff=options.backoff,
        ) as client:
            run = Run(client, endpoints, options, write, tally, policy, progress)
            accessions = await empiar_phase(run)
            if options.linked:
                maps = await emdb_phase(run, accessions)
                await pdb_phase(run, accessions, maps)
            for service, why in client.tripped.items():
                await run.error(service, None, FetchError("circuit-open", "", why))
            await write(finish, tally, client)
        result = HarvestResult(
            run_id=run_id,
            counts=tally.counts,
            requests=dict(client.stats.requests),
            retries=client.stats.retries,
        )
        result.exit_status = await write(_exit_status, run_id)
        return result
    finally:
        write.close()


def finish(db: Database, tally: keep.Tally, client: HttpClient) -> None:
    """Bring the front doors up to date, then close the run's record."""
    if front_doors.is_stale(db):
        with db.atomic():
            front_doors.refresh(db)
    errors = store.run_error_count(db, tally.run_id)
    status = EXIT_SOME_FAILED if errors else EXIT_OK
    store.finish_run(db, tally.run_id, tally.counts, client.stats, status)


def _exit_status(db: Database, run_id: int) -> int:
    return EXIT_SOME_FAILED if store.run_error_count(db, run_id) else EXIT_OK


def reindex(db: Database) -> tuple[Counter, list[store.ErrorRow]]:
    """Rebuild every normalized table from source_record, without the network.

    Returns the records mapped per source, and those that still cannot be mapped."""
    counts: Counter = Counter()
    failures: list[store.ErrorRow] = []
    with db.atomic():
        store.clear_normalized(db)
        served_pdb = {acc for acc, _, _ in store.payloads(db, "pdb")}
        for source, mapper in MAPPERS.items():
            for accession, payload, changed_at in list(store.payloads(db, source)):
                if source == "pdb_holdings" and accession in served_pdb:
                    continue
                try:
                    mapped = mapper(json.loads(payload), accession)
                    with db.atomic():  # a savepoint: a record that fails leaves no rows
                        store.write_record(db, mapped, changed_at, replace=False)
                except Exception as exc:  # noqa: BLE001 -- one record's failure is its own
                    failures.append(
                        store.ErrorRow(source, accession, "mapping", keep.describe(exc))
                    )
                    continue
                counts[source] += 1
        for harvested in (EMDB, PDB):
            assert harvested.map_not_public is not None
            for accession, changed_at in store.not_public_without_front_door(db, harvested.archive):
                store.write_record(db, harvested.map_not_public(accession), changed_at)
        front_doors.refresh(db)
    return counts, failures
