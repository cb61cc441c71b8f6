"""EMDB: fetch entry documents, many per request through the search route, one by one otherwise."""

from __future__ import annotations

from urllib.parse import quote

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient, Response

SERVICE = "emdb"
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
