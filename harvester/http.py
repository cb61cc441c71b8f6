"""One HTTP client per harvest: per-service concurrency and rate limits, retries, JSON decoding."""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from empiar_mirror.harvester import USER_AGENT
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

EXCERPT_CHARS = 500
# A Retry-After beyond this is a service telling us to go away for the run; we still obey it,
# but no single wait may stall a scheduled harvest for longer.
MAX_RETRY_AFTER = 300.0
# After this many requests in a row to one service failed (each after its retries), the
# service is down for this run: stop calling it and let the rest of the harvest finish.
BREAKER_THRESHOLD = 10


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
        super().__init__(f"{kind}: {message} ({url})")
        self.kind = kind
        self.url = url
        self.message = message
        self.status = status
        self.excerpt = excerpt
        self.retry_after = retry_after


class TransientError(FetchError):
    """Worth retrying: connection trouble, timeouts, throttling, server errors, garbled bodies."""


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
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


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
        retries: int = 4,
        backoff: float = 1.0,
    ) -> None:
        self.limits = limits
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
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
            return min(error.retry_after, MAX_RETRY_AFTER)
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
    ) -> Response:
        """GET with retries. 200, 304 and 404/410 return; anything else ends in a FetchError."""
        return await self.request(
            "GET", service, url, params=params, headers=headers, expect_json=expect_json
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
                        method, service, url, params, headers, json_body, expect_json
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
    ) -> Response:
        assert self._session is not None, "use HttpClient as an async context manager"
        request_headers = {"Accept": "application/json" if expect_json else "text/html, */*"}
        request_headers.update(headers or {})
        rate = self._rates[service]
        async with self._semaphores[service]:
            await rate.wait()
            self.stats.requests[service] += 1
            try:
                async with self._session.request(
                    method, url, params=params, headers=request_headers, json=json_body
                ) as resp:
                    body = await resp.read()
                    status = resp.status
                    resp_headers = resp.headers
                    content_type = resp.content_type
            except TimeoutError as exc:
                raise TransientError(
                    "timeout", url, f"no answer within {self.timeout:g} s"
                ) from exc
            except aiohttp.ClientPayloadError as exc:
                raise TransientError("truncated", url, f"body cut short: {exc}") from exc
            except aiohttp.ClientError as exc:
                raise TransientError("connection", url, f"{type(exc).__name__}: {exc}") from exc
            self.stats.bytes[service] += len(body)

        excerpt = body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
        if status in (429, 403) or status >= 500:
            retry_after = parse_retry_after(resp_headers.get("Retry-After"))
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
            url=url,
            status=status,
            body=body,
            etag=resp_headers.get("ETag"),
            last_modified=resp_headers.get("Last-Modified"),
        )
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
                response.data = json.loads(body)
            except ValueError as exc:
                raise TransientError(
                    "invalid-json", url, f"body is not JSON: {exc}", status=status, excerpt=excerpt
                ) from exc
        return response
