"""The harvest: enumerate EMPIAR, fetch the entries that are due, then the records they link to,
archive by archive as the graph (`index.archives.LINKS`) follows links; and `reindex`, which maps
the stored answers again without the network.

Each phase is short: decide what is due (`schedule`), fetch it (`engine`), keep each answer on
the writer thread (`keep`). One transaction per record, so a kill loses at most those in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from empiar_mirror.harvester import keep, schedule
from empiar_mirror.harvester.archives import (
    EMDB,
    EMPIAR,
    HARVESTED,
    MAPPERS,
    PDB,
    SERVICE_LIMITS,
    Harvested,
)
from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.engine import DatabaseThread, InHand, fetch_all
from empiar_mirror.harvester.http import FetchError, HttpClient, Response, ServiceLimits
from empiar_mirror.harvester.mapping import file_roles
from empiar_mirror.harvester.raw import validation as raw_validation
from empiar_mirror.harvester.raw.normalize import well_formed
from empiar_mirror.harvester.sources import emdb, empiar, empiar_files, rcsb
from empiar_mirror.harvester.sources import holdings as bulk
from empiar_mirror.index import front_doors, links, store, table_counts, validation, versions
from empiar_mirror.index.archives import LINKS, NOT_PUBLIC, Archive, Link
from empiar_mirror.index.lambda_ber.record import FITTED_MODEL, REPLACED_BY, Mapped
from empiar_mirror.index.store import holdings as held
from empiar_mirror.index.versions import canonical

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_SOME_FAILED = 1
WITHDRAWAL_GUARD = "withdrawal-guard"
# The kind of record a directory listing is, in harvest_errors and the run's counts.
SOURCE_FILES = empiar_files.SERVICE
# Entries tried for a GET answer to compare the batch route's with, before giving up on batches.
PROBES = 3
# Fewer entries than this go one by one: a probe and a batch would cost as many requests.
MIN_BATCHED = 4
# Records kept between two look-ups of their links, to start the linked records' fetches.
FOLLOW_EVERY = 100
# The links a harvest follows, and the archives they lead to, in the order their phases run.
FOLLOWED = [link for link in LINKS if link.follow]
LINKED = [HARVESTED[key] for key in dict.fromkeys(link.target.key for link in FOLLOWED)]


@dataclass
class HarvestOptions:
    ids: list[str] | None = None
    limit: int | None = None
    full: bool = False
    refresh_days: int = 7
    linked: bool = True
    # "linked": the maps EMPIAR entries name; "all": every released map (EMDB's holdings file).
    emdb: str = "linked"
    batch: bool = True
    files: bool = True
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


# Records done, records known so far, and the archive key of the record just done.
Progress = Callable[[int, int, str], None]


@dataclass
class Run:
    """One harvest's context: what it talks to, what it decided, and what happened."""

    client: HttpClient
    endpoints: Endpoints
    options: HarvestOptions
    write: DatabaseThread
    tally: keep.Tally
    policy: schedule.Policy
    progress: Progress | None = None
    done: int = 0
    total: int = 0
    relisted: bool = False  # an entry found withdrawn is listed again
    in_hand: InHand = field(default_factory=InHand)
    follow: Follow | None = None  # starts linked fetches early; None when not following links
    started: str = field(default_factory=store.now)
    # By source, from a holdings file read this run: records it shows changed, and unchanged.
    moved: dict[str, set[str]] = field(default_factory=dict)
    settled: dict[str, set[str]] = field(default_factory=dict)

    def due(self, source: str, accession: str) -> bool:
        if source in self.moved:
            return schedule.listed_due(
                self.policy,
                self.tally.state,
                source,
                accession,
                self.moved[source],
                self.settled[source],
            )
        return schedule.due(self.policy, self.tally.state, source, accession)

    def step(self, phase: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done, max(self.total, self.done), phase)

    def workers(self, harvested: Harvested) -> int:
        return self.options.limits()[harvested.service].concurrency

    async def error(
        self, source: str | None, accession: str | None, exc: FetchError, service: str = ""
    ) -> None:
        """Record a failed fetch: a record's, or (no accession) a service's or listing's."""
        await self.write(keep.keep_error, self.tally, source, accession, exc, service or None)

    async def fetch_records(self, harvested: Harvested, ids: list[str]) -> dict[str, int]:
        """Fetch records one by one (conditionally) and keep each answer. Returns the HTTP
        status of each answered id (an id whose fetch failed is left out)."""
        answered: dict[str, int] = {}

        async def fetch(acc: str) -> Response:
            headers = schedule.conditional(self.policy, self.tally.state, harvested.key, acc)
            return await harvested.fetch_one(self.client, self.endpoints, acc, headers)

        async def handle(acc: str, outcome: Response | FetchError) -> None:
            await self.keep_answer(harvested, acc, outcome, answered)

        await fetch_all(ids, fetch, handle, self.workers(harvested), self.in_hand)
        return answered

    async def keep_answer(
        self,
        harvested: Harvested,
        acc: str,
        outcome: Response | FetchError,
        answered: dict[str, int],
    ) -> None:
        """Keep one single-record answer (or its error); note its status in `answered`."""
        self.step(harvested.key)
        if isinstance(outcome, FetchError):
            await self.error(harvested.key, acc, outcome)
            return
        answered[acc] = outcome.status
        if outcome.status == 304:
            await self.write(keep.keep_not_modified, self.tally, harvested.key, acc, outcome)
        elif outcome.status in (404, 410):
            await self.write(keep.keep_not_public, self.tally, harvested, acc, outcome)
            return
        else:
            await self.write(
                keep.keep_document,
                self.tally,
                harvested.key,
                acc,
                outcome.url,
                outcome.data,
                canonical(outcome.data),
                outcome,
            )
        await self.kept(harvested, acc)

    async def kept(self, harvested: Harvested, acc: str) -> None:
        if self.follow:
            await self.follow.kept(harvested.key, acc)

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
            wanted, docs, ambiguous = set(batch), {}, set()
            for doc in outcome:
                acc = harvested.batch_key(doc)
                # A batch answer may only hold what was asked for; an id it answers twice, and
                # differently, is left to its single route to settle.
                if acc in docs and docs[acc] != doc:
                    ambiguous.add(acc)
                if acc in wanted:
                    docs[acc] = doc
            for acc in ambiguous:
                del docs[acc]
            # One hand-over to the writer for the whole batch, a transaction per record in it.
            await self.write(keep_batch, self.tally, harvested.key, docs)
            for acc in docs:
                self.step(harvested.key)
                await self.kept(harvested, acc)
            left_out.extend(i for i in batch if i not in docs)

        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        await fetch_all(batches, fetch, handle, self.workers(harvested), self.in_hand, len)
        return left_out

    async def fetch_linked(self, harvested: Harvested, ids: list[str]) -> list[str]:
        """Many per request unless --no-batch, then one by one whatever the batches left out.
        Returns the ids the archive does not serve."""
        # Linked ids come from documents and go into URLs: only those that fit the archive.
        ids = [acc for acc in ids if well_formed(harvested.archive, acc)]
        self.total += len(ids)
        log.debug("%d linked %s records to fetch", len(ids), harvested.archive.name)
        if self.options.batch and harvested.fetch_many and ids:
            ids = await self.fetch_batches(harvested, ids)
        answered = await self.fetch_records(harvested, ids)
        return [acc for acc, status in answered.items() if status in (404, 410)]


def keep_batch(db: Database, tally: keep.Tally, source: str, docs: dict[str, dict]) -> None:
    """Keep each document of a batch answer, each on its own savepoint."""
    for acc, doc in docs.items():
        keep.keep_document(db, tally, source, acc, f"{source}:batch", doc, canonical(doc))


@dataclass
class Feed:
    """One linked archive's records, fetched as their ids become known: a batch's worth starts
    at once, so it is fetched and kept while the records that link to it still arrive. Each id
    is fetched once per run."""

    run: Run
    harvested: Harvested
    seen: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)

    def offer(self, ids: Iterable[str]) -> None:
        self.pending += [acc for acc in dict.fromkeys(ids) if acc not in self.seen]
        self.seen.update(self.pending)
        size = max(self.harvested.batch_size, 1)
        while len(self.pending) >= size:
            self._start(self.pending[:size])
            del self.pending[:size]

    def _start(self, ids: list[str]) -> None:
        self.tasks.append(asyncio.create_task(self.run.fetch_linked(self.harvested, ids)))

    async def drain(self) -> list[str]:
        """Fetch what is pending and wait for every fetch; returns the ids not served."""
        if self.pending:
            self._start(self.pending)
            self.pending = []
        not_served: list[str] = []
        while self.tasks:
            not_served += await self.tasks.pop(0)
        return not_served

    def cancel(self) -> list[asyncio.Task]:
        for task in self.tasks:
            task.cancel()
        return self.tasks


@dataclass
class Follow:
    """Offers the feeds the due links of the records kept so far, every FOLLOW_EVERY records,
    by the rules `linked_phase` applies to all of them at the end: a link of a record that changed
    in this run (or is linked from one that did), or one due by the schedule. The phases then
    offer the rest."""

    run: Run
    feeds: dict[str, Feed]  # by archive key, one per archive the followed links lead to
    kept_ids: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Records linked from records that changed in this run, by archive key.
    of_changed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    async def kept(self, source: str, acc: str) -> None:
        self.kept_ids[source].append(acc)
        if len(self.kept_ids[source]) >= FOLLOW_EVERY:
            await self.flush(source)

    async def flush(self, source: str) -> None:
        ids, self.kept_ids[source] = self.kept_ids[source], []
        changed_here = self.run.tally.changed[source] | self.of_changed[source]
        changed = [a for a in ids if a in changed_here]
        unchanged = [a for a in ids if a not in changed_here]
        for link in FOLLOWED:
            if link.source.key == source:
                of_changed, due = await self._links(link, changed, unchanged)
                self.of_changed[link.target.key].update(of_changed)
                self.feeds[link.target.key].offer([*of_changed, *due])

    async def _links(
        self, link: Link, changed: list[str], unchanged: list[str]
    ) -> tuple[list[str], list[str]]:
        """The links of changed records, and the due links of unchanged ones."""
        run = self.run
        of = link.source
        of_changed = await run.write(links.named, of, changed, link.relation) if changed else []
        others = await run.write(links.named, of, unchanged, link.relation) if unchanged else []
        return of_changed, [i for i in others if run.due(link.target.key, i)]

    def cancel(self) -> list[asyncio.Task]:
        return [task for feed in self.feeds.values() for task in feed.cancel()]


# The archives ---------------------------------------------------------------------------------


async def whole_emdb_phase(run: Run) -> list[str]:
    """`--emdb all`: read wwPDB's last-modification times and EMDB's holdings file, start
    fetching every listed map that is due (its fitted models follow as it is kept), and check
    the maps gone from the file. Returns the maps listed; none when the holdings file could not
    be used, and the run then harvests the linked maps as by default (an error row says why)."""
    tally, day = run.tally, run.policy.now.date().isoformat()
    with tempfile.TemporaryDirectory(prefix="empiar-mirror-holdings-") as tmp:
        url, path = run.endpoints.pdb_last_modified(), Path(tmp) / "pdb.json.gz"
        dates = await read_holdings(
            run,
            "pdb_last_modified",
            bulk.SERVICE_WWPDB,
            url,
            path,
            lambda db: held.save_pdb_dates(
                db, bulk.read_pdb(path), tally.run_id, url, bulk.SERVICE_WWPDB
            ),
        )
        if dates:
            run.moved[PDB.key], run.settled[PDB.key] = await run.write(held.pdb_due)
        url, path = run.endpoints.emdb_holdings(), Path(tmp) / "emdb.json"
        read = await read_holdings(
            run,
            "emdb_holdings",
            bulk.SERVICE_EMDB,
            url,
            path,
            lambda db: held.save_emdb_holdings(
                db, bulk.read_emdb(path), tally.run_id, day, url, bulk.SERVICE_EMDB
            ),
        )
    if read is None:
        return []
    tally.counts[EMDB.key]["in_holdings"] = read.listed
    moved, settled = run.moved[EMDB.key], run.settled[EMDB.key] = await run.write(held.emdb_due)
    assert run.follow is not None
    # Those the file shows moved, and those that failed since their last fetch.
    run.follow.feeds[EMDB.key].offer(sorted(i for i in moved | settled if run.due(EMDB.key, i)))
    if read.gone:
        await emdb_withdrawals(run, read.gone, len(moved) + len(settled), day)
    return await run.write(held.listed_maps)


async def read_holdings(
    run: Run,
    source: str,
    service: str,
    url: str,
    path: Path,
    save: Callable[[Database], held.Read],
) -> held.Read | None:
    """Download a holdings file to `path` and keep what it says (`save`, on the writer); None,
    with an error row naming the file, when it cannot be had or read to its end (nothing of it
    is then kept)."""
    try:
        with open(path, "wb") as sink:
            await bulk.download(run.client, service, url, sink)
        read = await run.write(save)
        log.info("%s: %d entries, %d with problems", url, read.listed, read.problems)
        return read
    except FetchError as exc:
        why = f"{exc.kind}: {exc.message}"
    except bulk.FileProblem as exc:
        why = str(exc)
    message = f"{url} unusable ({why}): {FALLBACK[source]}"
    log.warning("%s", message)
    error = store.ErrorRow(source, None, "holdings-file", message, url, service=service)
    await run.write(store.record_error, run.tally.run_id, error)
    return None


# What a run does without each holdings file.
FALLBACK = {
    "emdb_holdings": "harvested the linked maps only (those EMPIAR entries name), as by default",
    "pdb_last_modified": "models were refetched on the rolling schedule, as by default",
}


async def emdb_withdrawals(run: Run, gone: list[str], listed: int, day: str) -> None:
    """Maps listed before and missing from this file: each asked for (a 404 keeps its last good
    rows and records the withdrawal, as for a linked map), and marked removed from the
    holdings; unless so many went at once that the file looks broken
    (`schedule.too_many_withdrawals`)."""
    if schedule.too_many_withdrawals(len(gone), len(gone) + listed):
        message = (
            f"{len(gone)} maps listed before are missing from the holdings file: none was "
            f"checked for withdrawal, as that many at once looks like a broken file"
        )
        log.warning("emdb: %s", message)
        error = store.ErrorRow("emdb_holdings", None, WITHDRAWAL_GUARD, message)
        await run.write(store.record_error, run.tally.run_id, error)
        return
    run.total += len(gone)
    await run.fetch_records(EMDB, gone)
    await run.write(held.mark_removed, gone, day)
    run.tally.counts[EMDB.key]["gone_from_holdings"] += len(gone)


async def note_fetched(run: Run) -> None:
    """Records fetched this run are held as of the holdings files' dates: not fetched again
    until those move."""
    if EMDB.key in run.moved:
        await run.write(held.emdb_fetched, run.started)
    if PDB.key in run.moved:
        await run.write(held.pdb_fetched, run.started)


async def empiar_phase(run: Run) -> list[str]:
    """Fetch the EMPIAR entries that are due; return the accessions in scope for linking."""
    options = run.options
    if options.ids:
        ids = scope = list(options.ids)
    else:
        listed, complete = await enumerate_ids(run)
        run.relisted = await run.write(store.record_listing, listed, complete)
        run.tally.state = await run.write(store.load_fetch_state)
        held = {acc for (source, acc) in run.tally.state.fetched_at if source == "empiar"}
        scope = sorted(set(listed) | held, key=empiar.accession_number)
        run.tally.counts["empiar"]["listed"] = len(scope)
        ids = [acc for acc in scope if schedule.empiar_due(run.policy, run.tally.state, acc)]
    if options.limit is not None:
        ids = scope = ids[: options.limit]
    if options.ids:
        run.tally.counts["empiar"]["listed"] = len(ids)
    run.total += len(ids)
    log.info("%d EMPIAR entries to fetch", len(ids))
    answered = await fetch_entries(run, ids)
    await run.write(check_withdrawals, run, answered)
    if options.ids or options.limit is not None:
        return scope
    return await run.write(store.front_door_accessions, EMPIAR.archive)


async def fetch_entries(run: Run, ids: list[str]) -> dict[str, int]:
    """Entries many per request once a probe shows that the batch route answers as the single
    one does, else one by one; the harvest_runs row says which, and why. Returns the HTTP status
    of each answered id."""
    answered: dict[str, int] = {}
    if not run.options.batch:
        note = "no: --no-batch"
    elif len(ids) < MIN_BATCHED:
        note = f"no: fewer than {MIN_BATCHED} entries to fetch"
    else:
        ids, note = await probe_batches(run, ids, answered)
        if note == "yes":
            left_out = await run.fetch_batches(EMPIAR, ids)
            answered.update(dict.fromkeys(sorted(set(ids) - set(left_out)), 200))
            ids = left_out
    if ids or answered:
        log.info("EMPIAR entries many per request: %s", note)
        await run.write(store.record_empiar_batches, run.tally.run_id, note)
    answered.update(await run.fetch_records(EMPIAR, ids))
    return answered


async def probe_batches(
    run: Run, ids: list[str], answered: dict[str, int]
) -> tuple[list[str], str]:
    """Fetch an entry both ways, GET and `POST entry/`: batches only if the batch document is
    the GET's document (the batch route's answer is unconfirmed against the live service). The
    GETs are the entries' own fetches, conditional as usual, so entries without validators are
    tried first. Returns the ids still to fetch, and "yes" or why not."""
    state = run.tally.state
    validators = {acc: schedule.conditional(run.policy, state, "empiar", acc) for acc in ids}
    tried: set[str] = set()
    found = f"no: none of {PROBES} entries answered a GET to compare with"
    for acc in sorted(ids, key=lambda a: bool(validators[a]))[:PROBES]:
        tried.add(acc)
        try:
            single: Response | FetchError = await EMPIAR.fetch_one(
                run.client, run.endpoints, acc, validators[acc]
            )
        except FetchError as exc:
            single = exc
        await run.keep_answer(EMPIAR, acc, single, answered)
        if isinstance(single, FetchError) or single.status != 200:
            continue  # not a document (an error, a 304, a 404): try another entry
        found = await _compare_batch(run, acc, single)
        break
    return [acc for acc in ids if acc not in tried], found


async def _compare_batch(run: Run, acc: str, single: Response) -> str:
    """ "yes" if `POST entry/` for the same entry answers the GET's document."""
    assert EMPIAR.fetch_many is not None
    try:
        docs = await EMPIAR.fetch_many(run.client, run.endpoints, [acc])
    except FetchError as exc:
        return f"no: POST entry/ failed ({exc.kind}: {exc.message})"
    if [canonical(doc) for doc in docs] != [canonical(single.data)]:
        return f"no: POST entry/ answered {acc} unlike its GET"
    return "yes"


def check_withdrawals(db: Database, run: Run, answered: dict[str, int]) -> None:
    """An entry missing from the listings that now answers 404, or is obsolete, is withdrawn;
    unless that would be too many at once (`schedule.too_many_withdrawals`): then none is, and
    the run records why (kind `withdrawal-guard`), so it exits 1."""
    day = run.policy.now.date().isoformat()
    withdrawn: dict[str, str] = {}
    for acc, status in answered.items():
        if not schedule.withdrawal_suspect(run.tally.state, acc):
            continue
        if status in (404, 410):
            withdrawn[acc] = NOT_PUBLIC
        elif store.dataset_status(db, EMPIAR.archive, acc) == "OBS":
            withdrawn[acc] = "OBS"
    held = len(store.front_door_accessions(db, EMPIAR.archive))
    if schedule.too_many_withdrawals(len(withdrawn), held):
        message = (
            f"{len(withdrawn)} of {held} held entries would be marked withdrawn in one run: "
            f"none was, as more than {schedule.WITHDRAWAL_GUARD_SHARE:.0%} (and more than "
            f"{schedule.WITHDRAWAL_GUARD_COUNT}) looks like a broken archive"
        )
        log.warning("empiar: %s", message)
        error = store.ErrorRow(EMPIAR.key, None, WITHDRAWAL_GUARD, message)
        store.record_error(db, run.tally.run_id, error)
        return
    for acc, status in withdrawn.items():
        store.mark_withdrawn(db, acc, status, day)
        run.tally.count("empiar", "withdrawn")


async def linked_phase(
    run: Run, harvested: Harvested, scopes: dict[str, list[str]]
) -> tuple[list[str], list[str]]:
    """Fetch, each once, the due records of this archive that the records in scope link to (by
    the followed links): those linked from records that changed in this run, and those new,
    failed or due again. Returns all the linked records, and those the archive does not serve."""
    assert run.follow is not None
    into = [link for link in FOLLOWED if link.target is harvested.archive]
    for link in into:
        await run.follow.flush(link.source.key)
    scope: list[str] = []
    of_changed: set[str] = set()
    for link in into:
        scope += await run.write(links.named, link.source, scopes[link.source.key], link.relation)
        changed = sorted(await changed_records(run, link.source))
        of_changed.update(await run.write(links.named, link.source, changed, link.relation))
    scope = list(dict.fromkeys(scope))
    feed = run.follow.feeds[harvested.key]
    # Those offered while the records that link to them arrived are fetched, or on their way.
    feed.offer(i for i in scope if i in of_changed or run.due(harvested.key, i))
    return scope, await feed.drain()


async def changed_records(run: Run, archive: Archive) -> set[str]:
    """The records of an archive that changed in this run, or that followed links lead to from
    records that did."""
    found = set(run.tally.changed[archive.key])
    for link in FOLLOWED:
        if link.target is archive:
            changed = sorted(await changed_records(run, link.source))
            found.update(await run.write(links.named, link.source, changed, link.relation))
    return found


async def follow_replacements(run: Run, not_served: list[str]) -> None:
    """For models RCSB does not serve, ask why; fetch, each once, those that replaced them."""
    assert run.follow is not None
    feed = run.follow.feeds[PDB.key]
    while not_served:
        replacements = [r for p in not_served if (r := await holdings(run, p))]
        feed.offer(r for r in replacements if r not in feed.seen and run.due(PDB.key, r))
        not_served = await feed.drain()


async def holdings(run: Run, pdb_id: str) -> str | None:
    """Ask why RCSB does not serve an entry; returns the id that replaced it, if any."""
    try:
        resp = await rcsb.fetch_holdings(run.client, run.endpoints, pdb_id)
    except FetchError as exc:
        await run.error("pdb_holdings", pdb_id, exc)
        return None
    if resp.status != 200:
        # Asked and answered: the model is not asked about again until it is due.
        fetched = store.Fetched("pdb_holdings", pdb_id, resp.url, resp.status)
        await run.write(store.save_not_public, fetched, store.now())
        return None
    await run.write(
        keep.keep_document,
        run.tally,
        "pdb_holdings",
        pdb_id,
        resp.url,
        resp.data,
        canonical(resp.data),
        resp,
    )
    # As kept: the answer's, or the last one that mapped.
    successors = await run.write(links.named, PDB.archive, [pdb_id], REPLACED_BY)
    return successors[0] if successors else None


# Maps whose figures are fetched together: the CSV rows of a chunk wait in memory for its
# analyses, so a whole-EMDB first harvest holds 2,000 maps' rows, not 60,000.
FIGURES_CHUNK = 2_000


async def figures_phase(run: Run, scope: list[str]) -> None:
    """Fetch the validation figures of the maps in scope that are due (`schedule.figures_due`):
    their resolutions many maps per search request (CSV), then, for the maps with fitted models,
    each map's analysis; a map the CSV leaves out is asked of the analysis route alone, which
    gives its resolutions too. Each map's figures are kept as one document; a failed analysis is
    that map's error, and its figures in use stay."""
    state = await run.write(figures_state, scope)
    due = [
        acc
        for acc, (changed_at, fetched_at, validated) in state.items()
        if schedule.figures_due(
            run.policy,
            fetched_at,
            changed_at,
            (validation.SOURCE, acc) in run.tally.state.failed,
            validated,
        )
    ]
    if not due:
        return
    log.info("%d maps' validation figures to fetch", len(due))
    run.total += len(due)
    for start in range(0, len(due), FIGURES_CHUNK):
        await figures_of(run, due[start : start + FIGURES_CHUNK])


async def figures_of(run: Run, due: list[str]) -> None:
    """The figures of these maps: the CSV's rows first, then each map's analysis and its
    document."""
    workers = run.options.limits()[emdb.FIGURES_SERVICE].concurrency
    fitted = set(await run.write(maps_with_fits, due))
    rows: dict[str, tuple[dict[str, str], list[str]]] = {}

    async def fetch_csv(batch: list[str]) -> raw_validation.CsvAnswer:
        resp = await emdb.fetch_figures(run.client, run.endpoints, batch, raw_validation.CSV_FIELDS)
        try:
            return await asyncio.to_thread(raw_validation.parse_csv, resp.text, batch)
        except raw_validation.UnusableAnswer as exc:
            raise FetchError("invalid-csv", resp.url, str(exc)) from exc

    async def handle_csv(batch: list[str], outcome: raw_validation.CsvAnswer | FetchError):
        if isinstance(outcome, FetchError):
            # As with the documents' batches: each map is asked alone, of the analysis route.
            log.warning("figures of %d maps failed (%s); one by one", len(batch), outcome)
            return
        if outcome.unasked:
            shown = ", ".join(outcome.unasked[:10])
            more = f" and {len(outcome.unasked) - 10} more" if len(outcome.unasked) > 10 else ""
            message = f"rows for maps not asked for, left out: {shown}{more}"
            await run.error(
                validation.SOURCE, None, FetchError("identity", "", message), emdb.FIGURES_SERVICE
            )
        # A map the answer leaves out is asked alone, of the analysis route.
        rows.update((acc, (outcome.rows[acc], outcome.missing_fields)) for acc in outcome.rows)

    # --no-batch: one map per request, as every route then asks.
    size = emdb.BATCH_SIZE if run.options.batch else 1
    batches = [due[i : i + size] for i in range(0, len(due), size)]
    await fetch_all(batches, fetch_csv, handle_csv, workers, run.in_hand, len)

    async def fetch_map(acc: str) -> tuple[str, raw_validation.Analysis | str]:
        if acc in rows and acc not in fitted:
            return "", "analysis route not asked: no model is fitted into this map"
        resp = await emdb.fetch_analysis(run.client, run.endpoints, acc)
        if resp.status in (404, 410):
            return resp.url, raw_validation.NO_ANALYSIS.format(resp.status)
        try:
            return resp.url, raw_validation.analysis_summary(resp.data, acc)
        except raw_validation.UnusableAnswer as exc:
            raise FetchError("invalid-analysis", resp.url, str(exc)) from exc

    async def handle_map(
        acc: str, outcome: tuple[str, raw_validation.Analysis | str] | FetchError
    ) -> None:
        run.step(validation.SOURCE)
        if isinstance(outcome, FetchError):
            await run.error(validation.SOURCE, acc, outcome)
            return
        url, analysis = outcome
        doc = raw_validation.document(acc, rows.get(acc), analysis)
        held = await run.write(held_figures, acc)
        lost = sorted(held & raw_validation.unanswered(doc))
        if held and (raw_validation.holds_nothing(doc) or lost):
            # A night of empty or short answers must not erase what EMDB computed: kept as they
            # are, and asked again next run.
            what = ", ".join(lost) if lost else "none of the figures the mirror holds"
            gone = f"this answer lacks {what}: the figures held are kept as they are"
            await run.error(validation.SOURCE, acc, FetchError("figures-gone", url, gone))
            return
        # A map's figures from the CSV alone came with many maps', as batch documents do.
        url = url or f"{validation.SOURCE}:batch"
        await run.write(
            keep.keep_document, run.tally, validation.SOURCE, acc, url, doc, canonical(doc)
        )

    await fetch_all(due, fetch_map, handle_map, workers, run.in_hand)


def figures_state(
    db: Database, scope: list[str]
) -> dict[str, tuple[str | None, str | None, str | None]]:
    """For each map in scope the file holds as served: when its version in use last changed,
    when its figures were last fetched (None: never), and when EMDB last validated it, as its
    holdings file said (None: not read, `harvest --emdb all` reads it)."""
    return {
        acc: (changed_at, fetched_at, validated)
        for acc, changed_at, fetched_at, validated in db.execute(
            "select m.accession, m.changed_at, f.fetched_at, h.validation_reports_last_update "
            "from source_record m "
            "left join source_record f on f.source = ? and f.accession = m.accession "
            "left join emdb_holdings h on h.emdb_id = m.accession "
            "where m.source = ? and m.sha256 is not null and m.http_status = 200 "
            "and m.accession in (select value from json_each(?)) order by m.accession",
            [validation.SOURCE, EMDB.key, json.dumps(scope)],
        )
    }


def held_figures(db: Database, emdb_id: str) -> set[str]:
    """The validation figures the file holds of the map, by column, and `fits` if it holds
    any."""
    row = db.execute(
        "select {} from emdb_maps where emdb_id = ?".format(
            ", ".join(f"[{c}]" for c in validation.FIGURE_COLUMNS)
        ),
        [emdb_id],
    ).fetchone()
    held = {c for c, v in zip(validation.FIGURE_COLUMNS, row or (), strict=False) if v is not None}
    fits = db.execute(
        f"select 1 from {validation.FITS_TABLE} where emdb_id = ? limit 1", [emdb_id]
    ).fetchone()
    return held | ({"fits"} if fits else set())


def maps_with_fits(db: Database, ids: list[str]) -> list[str]:
    """The maps, of these, that name a fitted model."""
    return [
        r[0]
        for r in db.execute(
            "select distinct from_accession from record_link where from_archive = ? "
            "and relation = ? and from_accession in (select value from json_each(?))",
            [EMDB.key, FITTED_MODEL, json.dumps(ids)],
        )
    ]


async def files_phase(run: Run, scope: list[str]) -> None:
    """List the file trees of the entries in scope that are due (never listed whole, or changed
    since), a few entries at a time within the file server's limits; each directory is written
    as it comes, in its own savepoint."""
    every = run.options.full or bool(run.options.ids)
    due = await run.write(store.files_due, scope, every)
    log.info("%d EMPIAR file trees to list", len(due))
    counts = run.tally.counts[empiar_files.SERVICE]
    workers = asyncio.Semaphore(run.options.limits()[empiar_files.SERVICE].concurrency)

    async def one(acc: str) -> None:
        async with workers:
            await list_tree(run, acc)
            counts["entries"] += 1

    await asyncio.gather(*(one(acc) for acc in due))


async def list_tree(run: Run, acc: str) -> None:
    """One entry's tree, directory by directory; marked listed whole only if every directory
    was."""
    state = run.tally.state.listing.get(acc)
    modified = state.listing_mtime if state else None
    imagesets = await run.write(store.imageset_directories, acc)
    known = await run.write(store.known_directories, acc)
    counts = run.tally.counts[empiar_files.SERVICE]
    whole = True
    async for found in empiar_files.walk(run.client, run.endpoints, acc, modified, known):
        if isinstance(found, empiar_files.Failed):
            whole = False
            await run.write(
                keep.keep_error, run.tally, SOURCE_FILES, acc, found.error, empiar_files.SERVICE
            )
            continue
        listing = found.listing
        rows = await asyncio.to_thread(file_roles.file_rows, found.path, listing, imagesets)
        subdirectories = [(r.name, r.modified) for r in listing.rows if r.is_dir]
        clean = listing.problem_count == 0
        await run.write(
            store.write_directory, acc, found.path, found.modified, rows, subdirectories, clean
        )
        counts["directories"] += 1
        counts["files"] += len(rows)
        if run.progress:
            run.progress(counts["directories"], counts["files"], SOURCE_FILES)
        if not clean:
            whole = False
            more = listing.problem_count - len(listing.problems)
            message = f"{found.path or '/'}: " + "; ".join(listing.problems)
            if more:
                message += f"; and {more} more"
            url = run.endpoints.empiar_directory(acc, found.path)
            await run.write(
                keep.keep_error,
                run.tally,
                SOURCE_FILES,
                acc,
                FetchError("bad-listing", url, message),
                empiar_files.SERVICE,
            )
    if whole:
        await run.write(store.finish_file_tree, acc, modified)


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
    for service, result in ((empiar.SERVICE_SEARCH, search), (empiar.SERVICE_FILES, listing)):
        if isinstance(result, BaseException):
            exc = result if isinstance(result, FetchError) else _internal(service, result)
            await run.error(EMPIAR.key, None, exc, service)
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
    write = DatabaseThread(lambda: store.open_database(db_path))
    try:
        run_id = await write(store.start_run, options.mode, run_options or {})
        tally = keep.Tally(run_id=run_id, state=await write(store.load_fetch_state))
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
            if options.linked:
                run.follow = Follow(run, {h.key: Feed(run, h) for h in LINKED})
            try:
                whole = options.linked and options.emdb == "all" and not options.ids
                listed = await whole_emdb_phase(run) if whole else []
                scopes = {EMPIAR.key: await empiar_phase(run)}
                if options.linked:
                    for harvested in LINKED:
                        scopes[harvested.key], not_served = await linked_phase(
                            run, harvested, scopes
                        )
                        if harvested is EMDB and listed:
                            # Every listed map's fitted models, not only the linked maps'.
                            scopes[EMDB.key] = list(dict.fromkeys([*scopes[EMDB.key], *listed]))
                        if harvested is PDB:
                            await follow_replacements(run, not_served)
                    await note_fetched(run)
                    await figures_phase(run, scopes[EMDB.key])
                if options.files:
                    await files_phase(run, scopes[EMPIAR.key])
            finally:
                if run.follow:  # a run cut short leaves no fetch behind it
                    await asyncio.gather(*run.follow.cancel(), return_exceptions=True)
            for service, why in client.tripped.items():
                await run.error(None, None, FetchError("circuit-open", "", why), service)
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
        await write.close()


def finish(db: Database, tally: keep.Tally, client: HttpClient) -> None:
    """Bring the front doors and the table counts up to date, then close the run's record."""
    with db.atomic():
        if front_doors.is_stale(db):
            front_doors.refresh(db)
        else:
            # The run's own rows (errors, versions seen) change the counts all the same.
            table_counts.write(db)
    errors = store.run_error_count(db, tally.run_id)
    status = EXIT_SOME_FAILED if errors else EXIT_OK
    store.finish_run(db, tally.run_id, tally.counts, client.stats, status)


def _exit_status(db: Database, run_id: int) -> int:
    return EXIT_SOME_FAILED if store.run_error_count(db, run_id) else EXIT_OK


def reindex(db: Database) -> tuple[Counter, list[store.ErrorRow]]:
    """Rebuild every normalized table from the stored versions, without the network: each
    record from its newest version that maps, whatever the archive sent last.

    Returns the records mapped per source, and those none of whose versions maps."""
    counts: Counter = Counter()
    failures: list[store.ErrorRow] = []
    with db.atomic():
        store.clear_normalized(db)
        served_pdb = set(versions.accessions(db, "pdb"))
        for source in MAPPERS:
            for accession in versions.accessions(db, source):
                if source == "pdb_holdings" and accession in served_pdb:
                    continue
                error = _rebuild(db, source, accession)
                if error is None:
                    counts[source] += 1
                else:
                    failures.append(store.ErrorRow(source, accession, "mapping", error))
        for harvested in HARVESTED.values():
            if harvested.map_not_public is None:
                continue
            for accession, changed_at in store.not_public_without_front_door(db, harvested.archive):
                store.write_record(db, harvested.map_not_public(accession), changed_at)
        front_doors.refresh(db)
    return counts, failures


def _rebuild(db: Database, source: str, accession: str) -> str | None:
    """Write one record's rows from its newest version that maps; each version tried is marked
    as mapping or not. Returns why none maps, or None."""
    in_use = store.in_use(db, source, accession)
    error = "no version"
    for version in list(versions.newest_first(db, source, accession)):
        changed_at = version.first_served
        if version.sha256 == in_use:
            changed_at = store.changed_at(db, source, accession) or changed_at
        try:
            mapped: Mapped = MAPPERS[source](json.loads(version.payload), accession)
            with db.atomic():  # a savepoint: a version that fails leaves no rows
                store.write_record(db, mapped, changed_at, replace=False)
        except Exception as exc:  # noqa: BLE001 -- one record's failure is its own
            if keep.is_disk_trouble(exc):
                raise
            error = keep.describe(exc)
            versions.set_maps(db, source, accession, version.sha256, False, error)
            continue
        versions.set_maps(db, source, accession, version.sha256, True, None)
        if version.sha256 != in_use:
            parts = keep.changed_parts(db, source, accession, in_use, mapped)
            versions.use(db, source, accession, version.sha256, changed_at)
            versions.record_change(db, source, accession, version.sha256, in_use, changed_at, parts)
        return None
    return error
