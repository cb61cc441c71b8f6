"""The HTTP layer against the loopback server: retries, Retry-After, timeouts, bad bodies."""

from __future__ import annotations

import asyncio
import time

import pytest

from empiar_mirror.harvester.http import FetchError, HttpClient, ServiceLimits, parse_retry_after
from empiar_mirror.harvester.replay import ReplayServer

ENTRY = "/empiar/api/entry/EMPIAR-10442/"


def fetch(server: ReplayServer, path: str = ENTRY, *, retries: int = 3, timeout: float = 5.0):
    async def go():
        limits = {"empiar": ServiceLimits(concurrency=2, rate=0)}
        async with HttpClient(limits, timeout=timeout, retries=retries, backoff=0.01) as client:
            resp = await client.get("empiar", server.base_url + path)
            return resp, client.stats

    return asyncio.run(go())


@pytest.mark.parametrize(
    "faults",
    [["500", "502", "503", "504"], ["403"], ["html"], ["garbage"], ["truncated"], ["stall:3"]],
    ids=["5xx-burst", "throttling-403", "html-200", "invalid-json", "truncated", "stall"],
)
def test_transient_faults_are_retried_until_the_record_arrives(faults):
    with ReplayServer(faults={ENTRY: list(faults)}) as server:
        resp, stats = fetch(server, retries=len(faults), timeout=1.0)
    assert resp.status == 200
    assert "EMPIAR-10442" in resp.data
    assert stats.retries == len(faults)
    assert server.hits[ENTRY] == len(faults) + 1


def test_retry_after_is_honoured():
    with ReplayServer(faults={ENTRY: ["429:1"]}) as server:
        started = time.monotonic()
        resp, stats = fetch(server)
        waited = time.monotonic() - started
    assert resp.status == 200 and stats.retries == 1
    assert waited >= 0.9  # the server asked for one second


def test_retry_after_as_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("soon") is None


def test_not_found_is_an_answer_not_a_retry():
    with ReplayServer() as server:
        resp, stats = fetch(server, "/empiar/api/entry/EMPIAR-19999/")
    assert resp.status == 404 and stats.retries == 0
    assert server.hits["/empiar/api/entry/EMPIAR-19999/"] == 1


def test_persistent_fault_ends_in_a_recorded_error_kind():
    with ReplayServer(faults={ENTRY: ["html"] * 3}) as server:
        with pytest.raises(FetchError) as info:
            fetch(server, retries=2)
    assert info.value.kind == "invalid-json"
    assert "Service temporarily unavailable" in info.value.excerpt
    assert server.hits[ENTRY] == 3


def test_requests_identify_us_and_ask_for_json():
    with ReplayServer() as server:
        fetch(server)
    headers = server.last_headers
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("empiar-mirror/")
    assert "github.com/empiar-mirror" in headers["User-Agent"]


def test_rate_limit_spaces_requests():
    async def go(server):
        limits = {"empiar": ServiceLimits(concurrency=4, rate=20)}
        async with HttpClient(limits, retries=0) as client:
            started = time.monotonic()
            await asyncio.gather(*(client.get("empiar", server.base_url + ENTRY) for _ in range(6)))
            return time.monotonic() - started

    with ReplayServer() as server:
        elapsed = asyncio.run(go(server))
    # Six starts at 20/s need at least five intervals of 50 ms, however fast the server is.
    assert elapsed >= 0.25
