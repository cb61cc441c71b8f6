"""The HTTP layer against hostile servers: nothing they send may crash, hang or poison a harvest.

Each test runs a real loopback server (aiohttp, or raw asyncio TCP for answers that are not
HTTP at all) and drives the real HttpClient. The `asyncio.wait_for` bounds are hang guards only.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import random
import resource
import threading
import zlib
from collections import Counter
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest
from aiohttp import web

from empiar_mirror.harvester.http import (
    DEADLINE,
    JSON_IN_THREAD,
    MAX_DEADLINE,
    MAX_RETRY_AFTER,
    FetchError,
    HttpClient,
    ServiceLimits,
    TransientError,
    parse_retry_after,
)

HANG_GUARD = 30.0


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, HANG_GUARD))


def client(**options) -> HttpClient:
    options = {"retries": 0, "backoff": 0.01, "timeout": 5.0, **options}
    return HttpClient({"svc": ServiceLimits(concurrency=4, rate=0)}, **options)


@asynccontextmanager
async def site(**routes):
    """An aiohttp server on 127.0.0.1 with `routes` (path -> handler); counts hits per path."""
    hits: Counter[str] = Counter()

    @web.middleware
    async def count(request, handler):
        hits[request.path] += 1
        return await handler(request)

    app = web.Application(middlewares=[count])
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", hits=hits)
    finally:
        await runner.cleanup()


@asynccontextmanager
async def raw_server(answers: list[bytes], *, abort: bool = False):
    """A TCP server that answers `GET /N` with the raw bytes answers[N], then hangs up.

    With `abort`, it resets the connection (RST) instead of closing it cleanly.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answers[int(request_line.split()[1].strip(b"/"))])
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if abort:
                writer.transport.abort()
            else:
                writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def json_handler(body: bytes, status: int = 200, headers: dict[str, str] | None = None):
    async def handler(request):
        return web.Response(
            body=body, status=status, headers=headers, content_type="application/json"
        )

    return handler


# --- 1. an overall deadline ---------------------------------------------------------------


async def drip(request):
    """A byte every 2 s: never silent long enough for a read timeout."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = 1000
    await response.prepare(request)
    try:
        for _ in range(1000):
            await response.write(b" ")
            await asyncio.sleep(2)
    except ConnectionError:
        pass  # the client gave up, as it should
    return response


def test_a_dripping_body_ends_at_the_deadline():
    async def go():
        async with site(**{"/drip": drip}) as srv, client(timeout=4.0, deadline=5.0) as c:
            with pytest.raises(TransientError) as info:
                await c.get("svc", srv.url + "/drip")
            return info.value, srv.hits

    error, hits = run(go())
    assert error.kind == "timeout"
    assert "5 s deadline" in error.message
    assert hits["/drip"] == 1


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": math.inf},
        {"timeout": math.nan},
        {"timeout": 0.0},
        {"timeout": -1.0},
        {"deadline": math.inf},
        {"deadline": math.nan},
        {"deadline": MAX_DEADLINE * 2},
        {"timeout": 30.0, "deadline": 10.0},
        {"max_body": 0},
    ],
    ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()),
)
def test_unbounded_or_absurd_limits_are_refused(options):
    with pytest.raises(ValueError):
        client(**options)


def test_default_deadline():
    assert client().deadline == DEADLINE


# --- 2. Retry-After beyond the cap, or garbage ----------------------------------------------


@pytest.mark.parametrize(
    "value",
    [str(10**9), "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT", str(int(MAX_RETRY_AFTER) + 1)],
    ids=["1e9-seconds", "400-digits", "year-9999", "just-past-the-cap"],
)
def test_retry_after_beyond_the_cap_opens_the_circuit_instead_of_pausing(value):
    async def go():
        routes = {
            "/busy": json_handler(b"{}", status=503, headers={"Retry-After": value}),
            "/fine": json_handler(b"{}"),
        }
        async with site(**routes) as srv, client(retries=3) as c:
            with pytest.raises(FetchError) as first:
                await c.get("svc", srv.url + "/busy")
            with pytest.raises(FetchError) as second:
                await c.get("svc", srv.url + "/fine")
            return first.value, second.value, srv.hits, c.tripped

    first, second, hits, tripped = run(go())
    assert first.kind == "circuit-open" and not isinstance(first, TransientError)
    assert first.status == 503
    assert "Retry-After" in tripped["svc"] and "Retry-After" in first.message
    assert second.kind == "circuit-open"
    assert hits["/busy"] == 1  # not retried
    assert hits["/fine"] == 0  # the service is not called again this run


@pytest.mark.parametrize("value", ["soon", "²", "-5", "1.5", "Fri, 31 Foo 99999 99:99:99 GMT"])
def test_garbage_retry_after_counts_as_absent(value):
    async def go():
        routes = {"/busy": json_handler(b"{}", status=503, headers={"Retry-After": value})}
        async with site(**routes) as srv, client(retries=2) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", srv.url + "/busy")
            return info.value, srv.hits, c.tripped

    assert parse_retry_after(value) is None
    error, hits, tripped = run(go())
    assert error.kind == "http" and error.status == 503 and error.retry_after is None
    assert hits["/busy"] == 3  # the usual backoff and retries
    assert tripped == {}


# --- 3. size cap, gzip bombs ----------------------------------------------------------------


async def endless(request):
    """A body that never ends, without a Content-Length."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        await response.write(b"[")
        for _ in range(16 * 1024):
            await response.write(b"0," * 32 * 1024)
    except ConnectionError:
        pass
    return response


def test_an_endless_body_stops_at_the_size_cap():
    async def go():
        async with site(**{"/big": endless}) as srv, client(retries=3, max_body=1 << 20) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", srv.url + "/big")
            return info.value, srv.hits

    error, hits = run(go())
    assert error.kind == "too-large" and not isinstance(error, TransientError)
    assert hits["/big"] == 1


def test_a_body_exactly_at_the_cap_is_fine():
    body = json.dumps(["x" * 1000]).encode()

    async def go():
        async with site(**{"/doc": json_handler(body)}) as srv:
            async with client(max_body=len(body)) as c:
                return await c.get("svc", srv.url + "/doc")

    assert run(go()).data == ["x" * 1000]


def test_a_gzip_bomb_is_capped_by_decoded_size_and_memory_stays_bounded():
    sent = Counter()

    async def bomb(request):
        # Up to 4 GiB of zeros, about 4 MB compressed, compressed as it is sent.
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        await response.prepare(request)
        squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        try:
            for _ in range(4096):
                chunk = squeeze.compress(zeros)
                sent["bytes"] += len(chunk)
                await response.write(chunk)
                await asyncio.sleep(0)  # small writes never block: let the client read
        except ConnectionError:
            pass
        return response

    cap = 32 << 20

    async def go():
        async with site(**{"/bomb": bomb}) as srv, client(max_body=cap) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", srv.url + "/bomb")
            return info.value

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    error = run(go())
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert error.kind == "too-large"
    assert sent["bytes"] < cap  # the cap counted decoded bytes, not bytes on the wire
    assert grown_mib < 300


def test_a_small_gzip_body_still_decodes():
    async def handler(request):
        return web.Response(
            body=gzip.compress(b'{"ok": true}'),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    async def go():
        async with site(**{"/doc": handler}) as srv, client(max_body=100) as c:
            return await c.get("svc", srv.url + "/doc")

    assert run(go()).data == {"ok": True}


# --- 4. redirects ---------------------------------------------------------------------------


def redirect(location: str, status: int = 302):
    async def handler(request):
        return web.Response(status=status, headers={"Location": location})

    return handler


@pytest.mark.parametrize(
    "location",
    [
        "{other}/doc",
        "//127.0.0.1:{other_port}/doc",
        "https://127.0.0.1:{port}/doc",
        "http://localhost:{port}/doc",
    ],
    ids=["other-port", "scheme-relative", "other-scheme", "other-host-name"],
)
def test_a_redirect_to_another_origin_is_refused_and_not_followed(location):
    async def go():
        async with site(**{"/doc": json_handler(b"{}")}) as other:

            async def away(request):
                target = location.format(
                    other=other.url, other_port=other.url.rsplit(":", 1)[1], port=request.url.port
                )
                return web.Response(status=302, headers={"Location": target})

            async with site(**{"/away": away}) as srv, client(retries=3) as c:
                with pytest.raises(FetchError) as info:
                    await c.get("svc", srv.url + "/away")
                return info.value, srv.hits, other.hits

    error, hits, other_hits = run(go())
    assert error.kind == "redirect" and not isinstance(error, TransientError)
    assert hits["/away"] == 1
    assert sum(other_hits.values()) == 0


def test_same_origin_redirects_are_followed():
    async def go():
        routes = {
            "/old": redirect("/older", 301),
            "/older": redirect("/new?page=2", 308),
            "/new": json_handler(b'{"ok": true}'),
        }
        async with site(**routes) as srv, client() as c:
            return await c.get("svc", srv.url + "/old"), srv.hits

    resp, hits = run(go())
    assert resp.status == 200 and resp.data == {"ok": True}
    assert hits == {"/old": 1, "/older": 1, "/new": 1}


def test_a_redirect_loop_ends():
    async def go():
        async with site(**{"/loop": redirect("/loop")}) as srv, client(retries=3) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", srv.url + "/loop")
            return info.value, srv.hits

    error, hits = run(go())
    assert error.kind == "redirect"
    assert hits["/loop"] == 6  # the request and five redirects, not retried


# --- 5. a 304 nobody asked for --------------------------------------------------------------


async def not_modified(request):
    return web.Response(status=304, headers={"ETag": '"v1"'})


def test_304_without_validators_is_an_error_but_with_them_an_answer():
    async def go():
        async with site(**{"/doc": not_modified}) as srv, client(retries=3) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", srv.url + "/doc")
            conditional = await c.get("svc", srv.url + "/doc", headers={"If-None-Match": '"v1"'})
            return info.value, conditional, srv.hits

    error, conditional, hits = run(go())
    assert error.kind == "http" and error.status == 304
    assert conditional.status == 304 and conditional.etag == '"v1"'
    assert hits["/doc"] == 2


# --- 6. JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"title": "\\ud800"}', b'["\\udfff\\ud800"]'],
    ids=["nested-100000-deep", "lone-high-surrogate", "reversed-pair"],
)
def test_well_formed_but_unusable_json_fails_at_once(body):
    async def go():
        async with site(**{"/doc": json_handler(body)}) as srv, client(retries=3) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", srv.url + "/doc")
            return info.value, srv.hits

    error, hits = run(go())
    assert error.kind == "invalid-json" and not isinstance(error, TransientError)
    assert hits["/doc"] == 1


@pytest.mark.parametrize(
    "body",
    [b'{"title": "\xff\xfe"}', b'{"title": "\xed\xa0\x80"}', b'{"title": "cut'],
    ids=["invalid-utf8", "utf8-encoded-surrogate", "cut-short"],
)
def test_garbled_json_is_retried_then_recorded(body):
    async def go():
        async with site(**{"/doc": json_handler(body)}) as srv, client(retries=2) as c:
            with pytest.raises(TransientError) as info:
                await c.get("svc", srv.url + "/doc")
            return info.value, srv.hits

    error, hits = run(go())
    assert error.kind == "invalid-json" and error.status == 200
    assert hits["/doc"] == 3


def test_surrogate_pairs_and_non_finite_numbers_are_kept():
    body = b'{"emoji": "\\ud83d\\ude00", "a": NaN, "b": Infinity, "c": -Infinity}'

    async def go():
        async with site(**{"/doc": json_handler(body)}) as srv, client() as c:
            return await c.get("svc", srv.url + "/doc")

    resp = run(go())
    assert resp.data["emoji"] == "\N{GRINNING FACE}"
    assert math.isnan(resp.data["a"]) and resp.data["b"] == math.inf == -resp.data["c"]


def test_large_documents_are_decoded_off_the_event_loop(monkeypatch):
    decoded_on: list[bool] = []
    loads = json.loads

    def spy(*args, **kwargs):
        decoded_on.append(threading.current_thread() is threading.main_thread())
        return loads(*args, **kwargs)

    monkeypatch.setattr(json, "loads", spy)
    big = json.dumps(["x" * 100] * (JSON_IN_THREAD // 100)).encode()
    assert len(big) > JSON_IN_THREAD

    async def go():
        routes = {"/big": json_handler(big), "/small": json_handler(b"[1]")}
        async with site(**routes) as srv, client() as c:
            await c.get("svc", srv.url + "/big")
            await c.get("svc", srv.url + "/small")

    run(go())
    assert decoded_on == [False, True]  # the big one on a worker thread, the small one inline


# --- 7. nothing but FetchError escapes ------------------------------------------------------

RAW_ANSWERS = {
    "not-http": (b"\x00\x01\x02 this is not http\r\n\r\n", "protocol"),
    "json-without-status-line": (b'{"EMPIAR-10442": {}}', "protocol"),
    "bad-status-code": (b"HTTP/1.1 abc OK\r\n\r\n", "protocol"),
    "header-without-colon": (b"HTTP/1.1 200 OK\r\nContent-Type json\r\n\r\n{}", "protocol"),
    "nul-in-header": (b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\n{}", "protocol"),
    "huge-header": (b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n{}", "protocol"),
    "bad-content-length": (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}", "protocol"),
    "two-content-lengths": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "protocol",
    ),
    "bad-chunk-size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "protocol",
    ),
    "bad-chunk-framing": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
        "protocol",
    ),
    "chunks-cut-short": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{}",
        "truncated",
    ),
    "body-cut-short": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", "truncated"),
    "not-gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\nnotgzip!!!",
        "protocol",
    ),
    "unsupported-encoding": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 10\r\n\r\nnotbrotli!",
        "protocol",
    ),
    "nothing": (b"", "connection"),
    "status-999": (b"HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\n{}", "http"),
    "invalid-utf8-json": (
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n"\xff\xfe"',
        "invalid-json",
    ),
    "lone-surrogate-json": (
        b'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"\\ud800"',
        "invalid-json",
    ),
}


@pytest.mark.parametrize("name", list(RAW_ANSWERS))
def test_invalid_http_becomes_a_fetch_error(name):
    answer, kind = RAW_ANSWERS[name]

    async def go():
        async with raw_server([answer]) as url, client(retries=1) as c:
            with pytest.raises(FetchError) as info:
                await c.get("svc", url + "/0")
            return info.value

    error = run(go())
    assert error.kind == kind
    error.message.encode("utf-8")  # storable in SQLite


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b'{"a": "' + b"x" * 100,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + b"x" * 100,
    ],
    ids=["content-length", "chunked"],
)
def test_a_connection_reset_mid_body_is_truncated(answer):
    async def go():
        async with raw_server([answer], abort=True) as url, client(retries=1) as c:
            with pytest.raises(TransientError) as info:
                await c.get("svc", url + "/0")
            return info.value

    assert run(go()).kind == "truncated"


def test_headers_that_are_not_text_are_neither_stored_nor_fatal():
    answers = [
        b"HTTP/1.1 200 OK\r\nETag: \xff\xfe\r\nLast-Modified: \xe9t\xe9\r\n"
        b"Content-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 302 Found\r\nLocation: http://\xff\xfe.example/\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 503 Busy\r\nRetry-After: \xff\xfe\r\nContent-Length: 0\r\n\r\n",
    ]

    async def go():
        async with raw_server(answers) as url, client() as c:
            resp = await c.get("svc", url + "/0")
            errors = []
            for path in ("/1", "/2"):
                with pytest.raises(FetchError) as info:
                    await c.get("svc", url + path)
                errors.append(info.value)
            return resp, errors

    resp, (redirected, busy) = run(go())
    assert resp.data == {} and resp.etag is None and resp.last_modified is None
    assert redirected.kind == "redirect"
    redirected.message.encode("utf-8")  # storable in SQLite
    assert busy.kind == "http" and busy.retry_after is None


def test_mangled_answers_only_ever_raise_fetch_errors():
    good = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        b'ETag: "abc"\r\n\r\n10\r\n' + b'{"EMPIAR-1": [1,' + b"\r\n5\r\n 2.0]}\r\n0\r\n\r\n"
    )
    rng = random.Random(20240601)
    answers = []
    for _ in range(150):
        answer = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            if not answer:
                break
            spot = rng.randrange(len(answer))
            mutation = rng.choice(["flip", "insert", "delete", "cut"])
            if mutation == "flip":
                answer[spot] = rng.randrange(256)
            elif mutation == "insert":
                answer[spot:spot] = rng.choice([b"\r\n", b"\x00", b"\xff", b":", b"\\ud800", b"0"])
            elif mutation == "delete":
                del answer[spot]
            else:
                del answer[spot:]
        answers.append(bytes(answer))

    async def go():
        outcomes: Counter[str] = Counter()
        async with raw_server(answers) as url:
            for index in range(len(answers)):
                async with client(timeout=2.0, deadline=5.0) as c:
                    try:
                        await c.get("svc", f"{url}/{index}")
                        outcomes["ok"] += 1
                    except FetchError as exc:
                        exc.message.encode("utf-8")
                        outcomes[exc.kind] += 1
        return outcomes

    outcomes = run(go())
    assert sum(outcomes.values()) == 150
    assert len(outcomes) > 2  # the mutations reached more than one code path


def test_a_refused_connection_is_a_connection_error():
    async def go():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with client() as c:
            with pytest.raises(TransientError) as info:
                await c.get("svc", f"http://127.0.0.1:{port}/")
            return info.value

    assert run(go()).kind == "connection"
