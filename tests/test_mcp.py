"""The portal's MCP endpoint, called by a real MCP client over loopback: the mirror's own
read-only tools answer the questions users ask, and the public server's SQL limits apply."""

from __future__ import annotations

import asyncio
import sys

import pytest
from conftest import free_port, running
from mcp.client.client import Client


@pytest.fixture(scope="module")
def mcp_url(harvested_db, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "serve.log"
    args = [sys.executable, "-m", "empiar_mirror.harvester", "serve", str(harvested_db)]
    with running([*args, "--port", str(port)], port, log=log) as base:
        yield f"{base}/-/mcp"


def call(url: str, tool: str, arguments: dict):
    async def go():
        async with Client(url) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            return tools, await client.call_tool(tool, arguments)

    return asyncio.run(go())


def test_the_mirror_tools_are_listed_and_search_finds_entries(mcp_url):
    tools, result = call(mcp_url, "search_entries", {"query": "Arabidopsis"})
    assert {"search_entries", "get_entry", "list_entry_files", "find_datasets"} <= tools
    assert not result.is_error
    found = [row["accession"] for row in result.structured_content["result"]]
    assert "EMPIAR-10442" in found


def test_an_entry_comes_with_its_maps_and_models(mcp_url):
    _, result = call(mcp_url, "get_entry", {"accession": "EMPIAR-90010"})
    entry = result.structured_content
    assert entry["accession"] == "EMPIAR-90010"
    assert [m["emdb_id"] for m in entry["maps"]] == ["EMD-90010", "EMD-90011"]
    assert {"9Z01", "9Z07"} <= {m["pdb_id"] for m in entry["models"]}
    _, files = call(mcp_url, "list_entry_files", {"accession": "EMPIAR-10442"})
    assert files.structured_content["result"][0]["directory"]


def test_datasets_are_found_by_method_resolution_and_detector(mcp_url):
    _, result = call(
        mcp_url,
        "find_datasets",
        {"method": "single_particle_analysis", "max_resolution_a": 3.0, "detector": "K3"},
    )
    rows = result.structured_content["result"]
    assert rows and all(r["resolution_best_a"] <= 3.0 for r in rows)
    assert all(r["experimental_method"] == "single_particle_analysis" for r in rows)


def test_the_public_servers_sql_limits_apply_to_the_tools(mcp_url):
    _, result = call(
        mcp_url, "execute_sql", {"database": "mirror", "sql": "select printf('%.5c', 'x')"}
    )
    assert result.is_error
