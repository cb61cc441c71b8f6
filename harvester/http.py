"""One HTTP client per harvest: per-service concurrency and rate limits, retries, JSON decoding.

Nothing a server sends may crash, hang or poison a harvest; every failure is a `FetchError`:

- Time: `timeout` bounds the connect and each wait for the next bytes; `deadline` (default
  DEADLINE, 120 s) bounds one whole attempt, connect to last body byte and redirects included,
  so a body dripping a byte a second still ends. Each retry gets a fresh deadline. Both must be
  finite with 0 < timeout <= deadline <= MAX_DEADLINE, else the constructor raises ValueError.
- Retry-After pauses the service when it is at most MAX_RETRY_AFTER; a longer one opens the
  service's circuit for the run (`tripped`); one we cannot parse counts as absent.
- Size: bodies are streamed and refused ("too-large") once the decoded size passes `max_body`
  (default MAX_BODY), which also stops gzip bombs, as aiohttp inflates chunk by chunk.
- Redirects are followed only within the request's origin (scheme, host, port), at most
  MAX_REDIRECTS; anything else is kind "redirect" and the other host is never contacted.
- A 304 counts only as an answer to a request that sent If-None-Match or If-Modified-Since.
- JSON must be strict UTF-8 (or BOM-marked UTF-16/32). Garbled bodies are retried; documents
  that are well-formed but unusable (nested too deeply, lone surrogates) fail at once, as a
  retry would fetch the same document. NaN and Infinity are kept as parsed.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError
from multidict import CIMultiDictProxy
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from yarl import URL

from empiar_mirror.harvester import USER_AGENT
from empiar_mirror.harvester.endpoints import without_credentials

EXCERPT_CHARS = 500
# A Retry-After beyond this is a service telling us to go away for the run: we stop calling it
# rather than let one header stall a scheduled harvest.
MAX_RETRY_AFTER = 300.0
# After this many requests in a row to one service failed (each after its retries), the
# service is down for this run: stop calling it and let the rest of the harvest finish.
BREAKER_THRESHOLD = 10
# One attempt, connect to last byte. The largest real documents take seconds even from a slow
# EBI server; anything longer is a stalled or hostile server.
DEADLINE = 120.0
# A longer deadline would be a typo, or a way to switch it off.
MAX_DEADLINE = 3600.0
# Decoded body cap, far above the largest real metadata document (a few MiB).
MAX_BODY = 64 * 1024 * 1024
MAX_REDIRECTS = 5
# A bulk file streamed to disk (`download`), far above the largest real one (tens of MB).
MAX_DOWNLOAD = 2 * 1024 * 1024 * 1024
# Bodies larger than this are decoded on a worker thread so other requests keep moving.
JSON_IN_THREAD = 1024 * 1024

_REDIRECTS = (301, 302, 303, 307, 308)
_VALIDATORS = ("if-none-match", "if-modified-since")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(text: str) -> str:
    """Text safe for SQLite: header values arrive surrogate-escaped, which UTF-8 refuses."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class FetchError(Exception):
    """A request that did not give us the record; carries what the error table needs."""

    def __init__(
        self,
        kind: str,
        url: str,
        message: str,
        *,
        status: int | None = None,
        excerpt: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        message = _storable(message)
        url = without_credentials(url)
        super().__init__(f"{kind}: {message} ({url})")
        self.kind = kind
        self.url = url
        self.message = message
        self.status = status
        self.excerpt = None if excerpt is None else _storable(excerpt)
        self.retry_after = retry_after


class TransientError(FetchError):
    """Worth retrying: connection trouble, timeouts, throttling, server errors, garbled bodies."""


@dataclass(frozen=True)
class Sink:
    """Where a downloaded file goes, and the most it may hold."""

    file: BinaryIO
    max_bytes: int


class UnusableJSON(ValueError):
    """Well-formed JSON we refuse to pass on."""


@dataclass
class Response:
    """A finished request. `data` is the decoded JSON for JSON requests, else None."""

    url: str
    status: int
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    data: Any = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header given as seconds or as an HTTP date.

    None when absent or unparseable; may be inf for an absurdly large number.
    """
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]+", value):  # not str.isdigit, which takes "²" and other digits
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


# Stack frames kept free below the interpreter's recursion limit when decoding. json's nesting
# counts against that limit from wherever it runs, so a worker thread's shallow stack would take
# a document nested deeper than the event loop and the writer can encode again (the stored copy):
# decoded as if this deep in the stack, every document can be encoded anywhere up to it.
DECODE_HEADROOM = 200


def _loads_with_headroom(text: str, frames: int | None = None) -> Any:
    if frames is None:
        depth, frame = 0, sys._getframe()
        while frame is not None:
            depth, frame = depth + 1, frame.f_back
        frames = max(0, DECODE_HEADROOM - depth)
    return json.loads(text) if frames == 0 else _loads_with_headroom(text, frames - 1)


def parse_json(body: bytes) -> Any:
    """Decode a JSON body: ValueError if garbled, UnusableJSON if well-formed but unusable."""
    # Strict decoding: json.loads(bytes) would let UTF-8-encoded surrogates through.
    text = body.decode(json.detect_encoding(body))
    try:
        data = _loads_with_headroom(text)
    except RecursionError:
        raise UnusableJSON("nested too deeply to decode") from None
    # A lone \ud800-style escape decodes to a surrogate that no UTF-8 consumer (SQLite,
    # Datasette) accepts; the cheap text check spares walking every ordinary document.
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(data):
        raise UnusableJSON("a string holds a lone UTF-16 surrogate")
    return data


def _has_lone_surrogate(data: Any) -> bool:
    stack = [data]  # a loop, not recursion: the document may be as deep as json.loads allows
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.host, url.port  # yarl lowercases both and fills in default ports


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth storing and sending back: printable ASCII only."""
    return value if value and value.isascii() and value.isprintable() else None


class RateLimiter:
    """Spaces request starts at least 1/rate apart; `defer` pauses the whole service."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    def defer(self, seconds: float) -> None:
        self._next = max(self._next, asyncio.get_running_loop().time() + seconds)


@dataclass
class ServiceLimits:
    concurrency: int
    rate: float


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)
    bytes: Counter = field(default_factory=Counter)
    retries: int = 0


class HttpClient:
    """Use as `async with HttpClient(...) as client:`; `client.get(service, url)` per request."""

    def __init__(
        self,
        limits: dict[str, ServiceLimits],
        *,
        timeout: float = 15.0,
        deadline: float = DEADLINE,
        retries: int = 4,
        backoff: float = 1.0,
        max_body: int = MAX_BODY,
    ) -> None:
        # Comparisons are false for NaN, so NaN and inf both land here.
        if not 0 < timeout <= deadline <= MAX_DEADLINE:
            raise ValueError(
                f"need 0 < timeout ({timeout:g} s) <= deadline ({deadline:g} s) "
                f"<= {MAX_DEADLINE:g} s"
            )
        if max_body < 1:
            raise ValueError(f"max_body must be at least 1 byte, not {max_body}")
        self.limits = limits
        self.timeout = timeout
        self.deadline = deadline
        self.retries = retries
        self.backoff = backoff
        self.max_body = max_body
        self.stats = Stats()
        self.tripped: dict[str, str] = {}  # service -> why we stopped calling it
        self._failures_in_a_row: Counter = Counter()
        self._semaphores = {
            name: asyncio.Semaphore(lim.concurrency) for name, lim in limits.items()
        }
        self._rates = {name: RateLimiter(lim.rate) for name, lim in limits.items()}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        # Short connect and read timeouts: a stalled EBI file server is better abandoned, retried.
        # The overall deadline is ours (see _exchange), so that it also covers redirects.
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=self.timeout
        )
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
            raise_for_status=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    def _wait(self, retry_state: Any) -> float:
        error = retry_state.outcome.exception()
        if isinstance(error, FetchError) and error.retry_after is not None:
            return error.retry_after  # at most MAX_RETRY_AFTER: a longer one opens the circuit
        return wait_exponential_jitter(multiplier=self.backoff, max=60.0, jitter=self.backoff)(
            retry_state
        )

    async def get(
        self,
        service: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        expect_json: bool = True,
        max_body: int | None = None,
    ) -> Response:
        """GET with retries. 200, 304 and 404/410 return; anything else ends in a FetchError.
        `max_body` bounds this answer more tightly than the client's own limit."""
        return await self.request(
            "GET",
            service,
            url,
            params=params,
            headers=headers,
            expect_json=expect_json,
            max_body=max_body,
        )

    async def download(
        self, service: str, url: str, sink: BinaryIO, *, max_bytes: int = MAX_DOWNLOAD
    ) -> Response:
        """GET a bulk file into `sink`, rewound for each attempt, never holding it in memory;
        the attempt's deadline is MAX_DEADLINE, as a large file takes minutes from afar. The
        Response's body is empty on a 200."""
        return await self.request(
            "GET", service, url, expect_json=False, sink=Sink(sink, max_bytes)
        )

    async def request(
        self,
        method: str,
        service: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        expect_json: bool = True,
        max_body: int | None = None,
        sink: Sink | None = None,
    ) -> Response:
        if service in self.tripped:
            raise FetchError("circuit-open", url, self.tripped[service])
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            reraise=True,
        )
        attempt_no = 0
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt_no:
                        self.stats.retries += 1
                    attempt_no += 1
                    response = await self._once(
                        method,
                        service,
                        url,
                        params,
                        headers,
                        json_body,
                        expect_json,
                        max_body,
                        sink,
                    )
        except TransientError as exc:
            self._failures_in_a_row[service] += 1
            if (
                self._failures_in_a_row[service] >= BREAKER_THRESHOLD
                and service not in self.tripped
            ):
                self.tripped[service] = (
                    f"stopped calling {service} for this run after {BREAKER_THRESHOLD} failed "
                    f"requests in a row (last: {exc.kind}: {exc.message})"
                )
            raise
        self._failures_in_a_row[service] = 0
        return response

    async def _once(
        self,
        method: str,
        service: str,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
        json_body: Any,
        expect_json: bool,
        max_body: int | None = None,
        sink: Sink | None = None,
    ) -> Response:
        assert self._session is not None, "use HttpClient as an async context manager"
        request_headers = {"Accept": "application/json" if expect_json else "text/html, */*"}
        request_headers.update(headers or {})
        rate = self._rates[service]
        async with self._semaphores[service]:
            await rate.wait()
            # The circuit may have opened while this request (or its retry) waited its turn.
            if service in self.tripped:
                raise FetchError("circuit-open", url, self.tripped[service])
            self.stats.requests[service] += 1
            if sink is not None:
                sink.file.seek(0)
                sink.file.truncate()
            status, resp_headers, content_type, body = await self._exchange(
                method, url, params, request_headers, json_body, max_body, sink
            )
            self.stats.bytes[service] += len(body)

        excerpt = body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        if status in (429, 403) or status >= 500:
            raw_retry_after = resp_headers.get("Retry-After")
            retry_after = parse_retry_after(raw_retry_after)
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                self.tripped[service] = (
                    f"stopped calling {service} for this run: HTTP {status} with "
                    f"Retry-After: {raw_retry_after[:60]} ({retry_after:g} s), beyond the "
                    f"{MAX_RETRY_AFTER:g} s we wait"
                )
                raise FetchError(
                    "circuit-open",
                    url,
                    self.tripped[service],
                    status=status,
                    excerpt=excerpt,
                    retry_after=retry_after,
                )
            if retry_after is not None:
                rate.defer(retry_after)
            raise TransientError(
                "http",
                url,
                f"HTTP {status}",
                status=status,
                excerpt=excerpt,
                retry_after=retry_after,
            )
        response = Response(
            url=without_credentials(url),
            status=status,
            body=body,
            etag=_validator(resp_headers.get("ETag")),
            last_modified=_validator(resp_headers.get("Last-Modified")),
        )
        if status == 304 and not any(k.lower() in _VALIDATORS for k in request_headers):
            raise FetchError("http", url, "HTTP 304 to a request without validators", status=status)
        if status in (304, 404, 410):
            return response
        if status != 200:
            raise FetchError("http", url, f"HTTP {status}", status=status, excerpt=excerpt)
        if expect_json:
            if content_type == "text/html":
                raise TransientError(
                    "invalid-json", url, "HTML page instead of JSON", status=status, excerpt=excerpt
                )
            try:
                if len(body) > JSON_IN_THREAD:
                    response.data = await asyncio.to_thread(parse_json, body)
                else:
                    response.data = parse_json(body)
            except UnusableJSON as exc:
                raise FetchError(
                    "invalid-json", url, f"JSON refused: {exc}", status=status, excerpt=excerpt
                ) from exc
            except ValueError as exc:
                raise TransientError(
                    "invalid-json", url, f"body is not JSON: {exc}", status=status, excerpt=excerpt
                ) from exc
        return response

    async def _exchange(
        self,
        method: str,
        url: str,
        params: dict[str, str] | None,
        headers: dict[str, str],
        json_body: Any,
        max_body: int | None = None,
        sink: Sink | None = None,
    ) -> tuple[int, CIMultiDictProxy[str], str, bytes]:
        """Status, headers, content type and body of one attempt, within the deadline. A 200's
        body goes to `sink` when there is one."""
        assert self._session is not None
        overall = asyncio.timeout(MAX_DEADLINE if sink else self.deadline)
        target: str | URL = url
        try:
            async with overall:
                for _ in range(MAX_REDIRECTS + 1):
                    async with self._session.request(
                        method,
                        target,
                        params=params,
                        headers=headers,
                        json=json_body,
                        allow_redirects=False,
                    ) as resp:
                        location = resp.headers.get("Location")
                        if resp.status not in _REDIRECTS or location is None:
                            to = sink if resp.status == 200 else None
                            body = await self._read(resp, url, max_body, to)
                            return resp.status, resp.headers, resp.content_type, body
                        target = self._redirect_target(url, resp.url, location)
                    # As browsers do: 303, and 301/302 after a POST, continue with a plain GET.
                    if resp.status == 303 or (resp.status in (301, 302) and method == "POST"):
                        method, json_body = "GET", None
                    params = None  # the Location carries its own query
                raise FetchError("redirect", url, f"more than {MAX_REDIRECTS} redirects")
        except TimeoutError as exc:
            if overall.expired():
                message = f"not finished within the {self.deadline:g} s deadline"
            else:
                message = f"no answer within {self.timeout:g} s"
            raise TransientError("timeout", url, message) from exc
        except aiohttp.ClientPayloadError as exc:
            if isinstance(exc.__cause__, ContentEncodingError):
                raise TransientError("protocol", url, f"undecodable body: {exc}") from exc
            raise TransientError("truncated", url, f"body cut short: {exc}") from exc
        except aiohttp.ClientResponseError as exc:
            # Raised by aiohttp's parser: the answer is not valid HTTP (status line, headers,
            # framing, an encoding it cannot decode).
            raise TransientError("protocol", url, f"malformed answer: {exc.message}") from exc
        except aiohttp.ClientError as exc:
            raise TransientError("connection", url, f"{type(exc).__name__}: {exc}") from exc

    async def _read(
        self,
        resp: aiohttp.ClientResponse,
        url: str,
        max_body: int | None = None,
        sink: Sink | None = None,
    ) -> bytes:
        """The decoded body, given up as soon as it passes max_body; or written to `sink`,
        given up past its own cap (then b"")."""
        if sink is not None:
            written = 0
            async for chunk in resp.content.iter_any():
                written += len(chunk)
                if written > sink.max_bytes:
                    raise FetchError("too-large", url, f"file larger than {sink.max_bytes:,} bytes")
                sink.file.write(chunk)
            sink.file.flush()
            return b""
        limit = min(self.max_body, max_body or self.max_body)
        body = bytearray()
        async for chunk in resp.content.iter_any():
            body += chunk
            if len(body) > limit:
                raise FetchError(
                    "too-large",
                    url,
                    f"body larger than {limit:,} bytes once decoded",
                    status=resp.status,
                )
        return bytes(body)

    @staticmethod
    def _redirect_target(url: str, current: URL, location: str) -> URL:
        """Where a redirect points, if it stays within the request's origin."""
        try:
            target = current.join(URL(location))
        except ValueError as exc:
            raise FetchError("redirect", url, f"unusable Location {location[:200]!r}") from exc
        if _origin(target) != _origin(URL(url)):
            raise FetchError("redirect", url, f"redirected to another origin: {location[:200]}")
        return target
