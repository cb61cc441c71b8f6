"""EMPIAR: enumerate public accessions (file listing, EBI Search) and fetch entries."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.harvester.http import FetchError, HttpClient, Response

SERVICE_API = "empiar"
SERVICE_FILES = "empiar_files"
SERVICE_SEARCH = "ebi_search"
SEARCH_PAGE_SIZE = 100  # EBI Search's maximum page size
SEARCH_MAX_START = 250_000  # and its largest start offset
# EBI Search's match-everything query for one domain.
SEARCH_ALL_QUERY = "domain_source:empiar"

_ACCESSION_RE = re.compile(r"^(?:EMPIAR-)?(\d{5,})$", re.IGNORECASE)
_LISTING_DIR_RE = re.compile(r'<a href="(\d{4,})/"', re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")
_ISO_STAMP_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})")
_APACHE_STAMP_RE = re.compile(r"(\d{2}-[A-Za-z]{3}-\d{4}) (\d{2}:\d{2})")


def accession(value: str | int) -> str:
    """'10442', 'empiar-10442', 'EMPIAR-10442' -> 'EMPIAR-10442'; ValueError otherwise."""
    match = _ACCESSION_RE.match(str(value).strip())
    if not match:
        raise ValueError(f"not an EMPIAR accession: {value!r}")
    return f"EMPIAR-{match.group(1)}"


def accession_number(acc: str) -> int:
    return int(acc.removeprefix("EMPIAR-"))


def parse_ids(spec: str) -> list[str]:
    """'EMPIAR-10002,10100-10120' -> accessions in the order given, ranges expanded."""
    out: dict[str, None] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        bounds = re.fullmatch(r"(?:EMPIAR-)?(\d{5,})\s*-\s*(?:EMPIAR-)?(\d{5,})", part, re.I)
        if bounds:
            low, high = int(bounds.group(1)), int(bounds.group(2))
            if low > high:
                raise ValueError(f"range runs backwards: {part!r}")
            if high - low > 100_000:
                raise ValueError(f"range too large: {part!r}")
            out.update(dict.fromkeys(f"EMPIAR-{n}" for n in range(low, high + 1)))
        else:
            out[accession(part)] = None
    if not out:
        raise ValueError("no accessions given")
    return list(out)


def _listing_time(text: str) -> str | None:
    match = _ISO_STAMP_RE.search(text)
    if match:
        return f"{match.group(1)}T{match.group(2)}"
    match = _APACHE_STAMP_RE.search(text)
    if match:
        day = dt.datetime.strptime(match.group(1), "%d-%b-%Y").date().isoformat()
        return f"{day}T{match.group(2)}"
    return None


def parse_listing(html: str) -> dict[str, str | None]:
    """Apache autoindex HTML -> {accession: modification time 'YYYY-MM-DDTHH:MM' or None}."""
    found: dict[str, str | None] = {}
    for match in _LISTING_DIR_RE.finditer(html):
        # The row is what follows the link, up to the end of the table row or text line.
        start = html.find("</a>", match.end())
        start = match.end() if start < 0 else start + 4
        ends = [i for i in (html.find(s, start) for s in ("</tr>", "\n", "<a ")) if i >= 0]
        row = _TAG_RE.sub(" ", html[start : min(ends, default=len(html))])
        found[f"EMPIAR-{match.group(1)}"] = _listing_time(row)
    return found


async def list_from_files(client: HttpClient, endpoints: Endpoints) -> dict[str, str | None]:
    """Accessions in the world_availability directory listing, with their mtimes."""
    resp = await client.get(SERVICE_FILES, endpoints.empiar_listing(), expect_json=False)
    if resp.status != 200:
        raise FetchError(
            "http", resp.url, f"listing answered HTTP {resp.status}", status=resp.status
        )
    return parse_listing(resp.text)


async def list_from_search(client: HttpClient, endpoints: Endpoints) -> set[str]:
    """Accessions in the EBI Search `empiar` domain, paged 100 at a time: the first page gives
    the total, the others are then fetched side by side."""

    async def page(start: int) -> tuple[int, list]:
        resp = await client.get(
            SERVICE_SEARCH,
            endpoints.ebi_search_empiar(),
            params={
                "query": SEARCH_ALL_QUERY,
                "format": "json",
                "size": str(SEARCH_PAGE_SIZE),
                "start": str(start),
            },
        )
        data = resp.data if resp.status == 200 else None
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise FetchError(
                "invalid-json",
                resp.url,
                "EBI Search answer has no entries list",
                status=resp.status,
            )
        return int(data.get("hitCount") or 0), data["entries"]

    total, entries = await page(0)
    pages = [entries]
    if entries:
        starts = range(len(entries), min(total, SEARCH_MAX_START), SEARCH_PAGE_SIZE)
        pages += [e for _, e in await asyncio.gather(*(page(start) for start in starts))]
    found: set[str] = set()
    for item in (item for entries in pages for item in entries):
        try:
            found.add(accession(item.get("id", "")))
        except (ValueError, AttributeError):
            continue
    return found


async def fetch_entry(
    client: HttpClient, endpoints: Endpoints, acc: str, headers: dict[str, str] | None = None
) -> Response:
    """GET one entry (conditionally, given validators); the caller decides what a 404 means."""
    return await client.get(SERVICE_API, endpoints.empiar_entry(acc), headers=headers)
