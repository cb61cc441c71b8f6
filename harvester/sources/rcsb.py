"""RCSB PDB: entries through GraphQL in batches, one by one over REST, and holdings status."""

from __future__ import annotations

import json

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient, Response
from empiar_mirror.harvester.raw.rcsb import GRAPHQL_FIELDS

SERVICE = "rcsb"
BATCH_SIZE = 100  # RCSB's own client sends up to 300 ids a query; smaller answers retry cheaper


def graphql_query(ids: list[str]) -> str:
    return "{ entries(entry_ids: " + json.dumps(ids) + ") {" + GRAPHQL_FIELDS + "} }"


async def fetch_batch(client: HttpClient, endpoints: Endpoints, ids: list[str]) -> list[dict]:
    """Entries for many ids in one GraphQL request; unknown or obsolete ids are simply absent."""
    resp = await client.request(
        "POST", SERVICE, f"{endpoints.rcsb_api}/graphql", json_body={"query": graphql_query(ids)}
    )
    data = resp.data if resp.status == 200 and isinstance(resp.data, dict) else None
    entries = (data or {}).get("data", {}) or {}
    entries = entries.get("entries") if isinstance(entries, dict) else None
    if entries is None:
        # GraphQL reports its errors with status 200.
        errors = (data or {}).get("errors") or [{"message": "no data.entries in the answer"}]
        raise FetchError(
            "graphql", resp.url, str(errors[0].get("message"))[:300], status=resp.status
        )
    return [e for e in entries if isinstance(e, dict)]


async def fetch_entry(
    client: HttpClient, endpoints: Endpoints, pdb_id: str, headers: dict[str, str] | None = None
) -> Response:
    url = f"{endpoints.rcsb_api}/rest/v1/core/entry/{pdb_id}"
    return await client.get(SERVICE, url, headers=headers)


async def fetch_holdings(client: HttpClient, endpoints: Endpoints, pdb_id: str) -> Response:
    """Whether an entry the core route does not serve is obsolete, and what replaced it."""
    return await client.get(SERVICE, f"{endpoints.rcsb_api}/rest/v1/holdings/status/{pdb_id}")
