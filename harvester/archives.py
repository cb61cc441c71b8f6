"""The archives we harvest, one descriptor each: how to fetch a record, what to store, and how a
stored payload becomes rows. The names, ids, pages and front doors come from
`empiar_mirror.index.archives`, which the file's readers share.

Adding an archive means a descriptor here and one in `index/archives.py`; the README's
developer section lists the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import HttpClient, Response, ServiceLimits
from empiar_mirror.harvester.mapping import from_emdb, from_empiar, from_rcsb, from_validation
from empiar_mirror.harvester.raw.emdb import parse_emdb
from empiar_mirror.harvester.raw.empiar import parse_entry
from empiar_mirror.harvester.raw.rcsb import canonical_entry, parse_holdings, parse_rcsb
from empiar_mirror.harvester.sources import emdb, empiar, holdings, rcsb
from empiar_mirror.index import archives as index_archives
from empiar_mirror.index import validation
from empiar_mirror.index.archives import Archive
from empiar_mirror.index.lambda_ber.record import Mapped

# Politeness defaults per service: (concurrent requests, requests per second). EBI's EMPIAR API
# allowed 24,000 requests an hour per address (6.7/s); its file server stalls rather than throttles;
# EMDB asks for at most 3/s and 4 at once; RCSB for "a few" per second.
SERVICE_LIMITS = {
    empiar.SERVICE_API: ServiceLimits(concurrency=4, rate=5.0),
    empiar.SERVICE_FILES: ServiceLimits(concurrency=2, rate=2.0),
    empiar.SERVICE_SEARCH: ServiceLimits(concurrency=2, rate=5.0),
    emdb.SERVICE: ServiceLimits(concurrency=4, rate=3.0),
    # Two at once: an analysis answer can decode to 150 MB (harvester/sources/emdb.py).
    emdb.FIGURES_SERVICE: ServiceLimits(concurrency=2, rate=3.0),
    rcsb.SERVICE: ServiceLimits(concurrency=4, rate=5.0),
    # One bulk file each a run, from the archives' file servers.
    holdings.SERVICE_EMDB: ServiceLimits(concurrency=1, rate=1.0),
    holdings.SERVICE_WWPDB: ServiceLimits(concurrency=1, rate=1.0),
}

FetchOne = Callable[[HttpClient, Endpoints, str, dict[str, str] | None], Awaitable[Response]]
FetchMany = Callable[[HttpClient, Endpoints, list[str]], Awaitable[list[dict]]]


@dataclass(frozen=True)
class Harvested:
    """An archive as the harvester sees it."""

    archive: Archive
    service: str  # whose limits its record fetches count against
    fetch_one: FetchOne  # one record, conditionally; a 404 or 410 means not public
    # source_record.source -> how its stored payload becomes rows (pure).
    mappers: dict[str, Callable[[Any, str], Mapped]]
    # A linked record the archive does not serve still gets its front-door row, so the broken
    # link shows (None: a 404 leaves no row).
    map_not_public: Callable[[str], Mapped] | None
    fetch_many: FetchMany | None = None
    batch_size: int = 0
    # The id a batch document is about, always a string (None: it names none).
    batch_key: Callable[[dict], str | None] = lambda doc: None

    @property
    def key(self) -> str:
        return self.archive.key


EMPIAR = Harvested(
    index_archives.EMPIAR,
    empiar.SERVICE_API,
    empiar.fetch_entry,
    {"empiar": lambda data, acc: from_empiar.map_entry(parse_entry(data, acc))},
    # An entry is fetched because a listing named it: a 404 there is a withdrawal, kept apart.
    None,
    fetch_many=empiar.fetch_batch,
    batch_size=empiar.BATCH_SIZE,
    # A batch document is shaped as the GET's answer: {accession: entry}.
    batch_key=lambda doc: next(iter(doc), None),
)
EMDB = Harvested(
    index_archives.EMDB,
    emdb.SERVICE,
    emdb.fetch_entry,
    {"emdb": lambda data, acc: from_emdb.map_emdb(parse_emdb(data))},
    from_emdb.map_not_public,
    fetch_many=emdb.fetch_batch,
    batch_size=emdb.BATCH_SIZE,
    # Only a string names a record: any other value leaves the document out of the batch.
    batch_key=lambda doc: key if isinstance(key := doc.get("emdb_id"), str) else None,
)
PDB = Harvested(
    index_archives.PDB,
    rcsb.SERVICE,
    rcsb.fetch_entry,
    {
        # Canonical again on the way in: payloads a 0.1.0 harvest stored from REST keep its keys.
        "pdb": lambda data, acc: from_rcsb.map_rcsb(parse_rcsb(canonical_entry(data))),
        # Why RCSB no longer serves an entry (obsolete, and what replaced it).
        "pdb_holdings": lambda data, acc: from_rcsb.map_removed(parse_holdings(data, acc)),
    },
    from_rcsb.map_not_public,
    fetch_many=rcsb.fetch_batch,
    batch_size=rcsb.BATCH_SIZE,
    batch_key=lambda doc: str(doc.get("rcsb_id", "")).upper() or None,
)
HARVESTED: dict[str, Harvested] = {h.key: h for h in (EMPIAR, EMDB, PDB)}
# Whose answers each kind of stored payload is, as harvest_errors.service names it.
SERVICE_OF: dict[str, str] = {
    **{h.key: h.service for h in HARVESTED.values()},
    "pdb_holdings": rcsb.SERVICE,
    validation.SOURCE: emdb.FIGURES_SERVICE,
}
# Every kind of stored payload, in the order reindex maps them: a holdings answer only stands in
# for a PDB entry whose own document the file lacks.
MAPPERS: dict[str, Callable[[Any, str], Mapped]] = {
    **{source: mapper for h in HARVESTED.values() for source, mapper in h.mappers.items()},
    # A map's validation figures land on its row: mapped after the maps (index/validation.py).
    validation.SOURCE: from_validation.map_figures,
}
