"""EMDB: fetch entry documents, many per request through the search route, one by one otherwise."""

from __future__ import annotations

from urllib.parse import quote

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient, Response

SERVICE = "emdb"
# The validation figures' requests, counted apart: they are made once the map documents are all
# fetched, so the two never share EMDB's limits at the same time.
FIGURES_SERVICE = "emdb_validation"
BATCH_SIZE = 100  # the search route's page size


def search_query(ids: list[str]) -> str:
    return " OR ".join(f'emdb_id:"{i}"' for i in ids)


async def fetch_batch(client: HttpClient, endpoints: Endpoints, ids: list[str]) -> list[dict]:
    """Full entry documents for up to BATCH_SIZE ids in one search request.

    The answer is a bare JSON array; ids it leaves out are for the caller to fetch one by one.
    """
    url = f"{endpoints.emdb_api}/search/{quote(search_query(ids), safe='')}"
    resp = await client.get(SERVICE, url, params={"rows": str(BATCH_SIZE), "page": "1"})
    if resp.status != 200 or not isinstance(resp.data, list):
        raise FetchError(
            "invalid-json", resp.url, "EMDB search answer is not a list", status=resp.status
        )
    return [doc for doc in resp.data if isinstance(doc, dict)]


async def fetch_entry(
    client: HttpClient, endpoints: Endpoints, emdb_id: str, headers: dict[str, str] | None = None
) -> Response:
    """GET one entry document; 404 means withdrawn or never public."""
    return await client.get(SERVICE, f"{endpoints.emdb_api}/entry/{emdb_id}", headers=headers)


# Validation figures ----------------------------------------------------------------------------
# A CSV answer for BATCH_SIZE maps is a few kB; an analysis answer carries per-residue arrays
# (0.1-14 MB in a 2026 sample of 60 maps, median under 1 MB), which decode to about six times
# their size: bounded well below the client's default, with two in flight (SERVICE_LIMITS), a
# run holds at most some 300 MB of them. A larger answer is that map's error (`too-large`).
MAX_CSV_BODY = 4 * 1024 * 1024
MAX_ANALYSIS_BODY = 24 * 1024 * 1024


async def fetch_figures(
    client: HttpClient, endpoints: Endpoints, ids: list[str], fields: list[str]
) -> Response:
    """The search route's CSV answer with `fields` for up to BATCH_SIZE maps."""
    url = f"{endpoints.emdb_api}/search/{quote(search_query(ids), safe='')}"
    params = {"wt": "csv", "fl": ",".join(fields), "rows": str(BATCH_SIZE), "download": "false"}
    resp = await client.get(
        FIGURES_SERVICE, url, params=params, expect_json=False, max_body=MAX_CSV_BODY
    )
    if resp.status != 200:
        raise FetchError("http", resp.url, f"HTTP {resp.status}", status=resp.status)
    return resp


async def fetch_analysis(client: HttpClient, endpoints: Endpoints, emdb_id: str) -> Response:
    """One map's validation analysis; a 404 means EMDB has not analysed it (yet)."""
    return await client.get(
        FIGURES_SERVICE,
        f"{endpoints.emdb_api}/analysis/{emdb_id}",
        params={"information": "all"},
        max_body=MAX_ANALYSIS_BODY,
    )
