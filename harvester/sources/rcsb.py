"""RCSB PDB: entries through GraphQL in batches, one by one over REST, and holdings status.

Both entry routes hand back `canonical_entry` documents, so a stored entry does not change when
the route that fetched it does."""

from __future__ import annotations

import dataclasses
import json

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient, Response
from empiar_mirror.harvester.raw.rcsb import GRAPHQL_FIELDS, canonical_entry

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
    return [canonical_entry(e) for e in entries if isinstance(e, dict)]


async def fetch_entry(
    client: HttpClient, endpoints: Endpoints, pdb_id: str, headers: dict[str, str] | None = None
) -> Response:
    """One entry over REST; `.data` is its canonical document, as a batch would give it
    (`body` stays as sent)."""
    url = f"{endpoints.rcsb_api}/rest/v1/core/entry/{pdb_id}"
    resp = await client.get(SERVICE, url, headers=headers)
    if resp.status == 200 and isinstance(resp.data, dict):
        return dataclasses.replace(resp, data=canonical_entry(resp.data))
    return resp


async def fetch_holdings(client: HttpClient, endpoints: Endpoints, pdb_id: str) -> Response:
    """Whether an entry the core route does not serve is obsolete, and what replaced it."""
    return await client.get(SERVICE, f"{endpoints.rcsb_api}/rest/v1/holdings/status/{pdb_id}")
