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
SEARCH_PAGES_AT_ONCE = 4  # pages asked for side by side once the first has answered
# How far past a directory link its row's date may be: a real row is under 200 characters.
LISTING_ROW_CHARS = 1000
# EBI Search's match-everything query for one domain.
SEARCH_ALL_QUERY = "domain_source:empiar"
BATCH_SIZE = 100  # entries per `POST entry/`: one range or list of ids each

# Accession numbers have 5 digits today; 9 leaves room and keeps a name of thousands of digits
# (int() refuses past 4,300) or a file name past 255 bytes out of every run.
_ACCESSION_RE = re.compile(r"^(?:EMPIAR-)?([0-9]{5,9})$", re.IGNORECASE | re.ASCII)
_LISTING_DIR_RE = re.compile(r'<a href="([0-9]{4,})/"', re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")
_ISO_STAMP_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})", re.ASCII)
_APACHE_STAMP_RE = re.compile(r"(\d{2}-[A-Za-z]{3}-\d{4}) (\d{2}:\d{2})", re.ASCII)


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
        bounds = re.fullmatch(
            r"(?:EMPIAR-)?([0-9]{5,9})\s*-\s*(?:EMPIAR-)?([0-9]{5,9})", part, re.I | re.ASCII
        )
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
    """The row's modification time, or None when it has none a calendar knows."""
    try:
        match = _ISO_STAMP_RE.search(text)
        if match:
            day = dt.date.fromisoformat(match.group(1)).isoformat()
            return f"{day}T{match.group(2)}"
        match = _APACHE_STAMP_RE.search(text)
        if match:
            day = dt.datetime.strptime(match.group(1), "%d-%b-%Y").date().isoformat()
            return f"{day}T{match.group(2)}"
    except ValueError:  # 31-Foo-2024, 2024-13-45
        return None
    return None


def parse_listing(html: str) -> dict[str, str | None]:
    """Apache autoindex HTML -> {accession: modification time 'YYYY-MM-DDTHH:MM' or None}.

    One pass, each row read within LISTING_ROW_CHARS of its link, so a listing with no row
    ends (one long line) costs no more than a tidy one. Names that are no accession are
    skipped; an accession listed twice keeps its first row."""
    found: dict[str, str | None] = {}
    for match in _LISTING_DIR_RE.finditer(html):
        acc = f"EMPIAR-{match.group(1)}"
        if acc in found or not _ACCESSION_RE.match(acc):
            continue
        # The row is what follows the link, up to the end of the table row or text line.
        window = html[match.end() : match.end() + LISTING_ROW_CHARS]
        start = window.find("</a>")
        start = 0 if start < 0 else start + 4
        ends = [i for i in (window.find(s, start) for s in ("</tr>", "\n", "<a ")) if i >= 0]
        found[acc] = _listing_time(_TAG_RE.sub(" ", window[start : min(ends, default=None)]))
    return found


async def list_from_files(client: HttpClient, endpoints: Endpoints) -> dict[str, str | None]:
    """Accessions in the world_availability directory listing, with their mtimes."""
    resp = await client.get(SERVICE_FILES, endpoints.empiar_listing(), expect_json=False)
    if resp.status != 200:
        raise FetchError(
            "http", resp.url, f"listing answered HTTP {resp.status}", status=resp.status
        )
    # Megabytes of HTML: read on a worker thread, so the other requests keep moving.
    return await asyncio.to_thread(lambda: parse_listing(resp.text))


def _hit_count(value: object) -> int | None:
    """EBI Search's total, when it is a count at all."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value):
        return int(value)
    return None


async def list_from_search(client: HttpClient, endpoints: Endpoints) -> set[str]:
    """Accessions in the EBI Search `empiar` domain, paged 100 at a time, a few pages side by
    side after the first. The stated total only bounds the paging: it ends at the first page
    that comes back short or adds no accession, so a wrong total costs at most one round."""

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
        return _hit_count(data.get("hitCount")), data["entries"]

    found: set[str] = set()

    def add(entries: list) -> bool:
        """Take a page's accessions; whether it was a full page that brought new ones."""
        before = len(found)
        for item in entries:
            try:
                found.add(accession(item.get("id", "")))
            except (ValueError, AttributeError):
                continue
        return len(entries) >= SEARCH_PAGE_SIZE and len(found) > before

    total, entries = await page(0)
    end = SEARCH_MAX_START if total is None else min(total, SEARCH_MAX_START)
    start, going = SEARCH_PAGE_SIZE, add(entries)
    while going and start < end:
        stop = min(start + SEARCH_PAGES_AT_ONCE * SEARCH_PAGE_SIZE, end)
        pages = await asyncio.gather(*(page(s) for s in range(start, stop, SEARCH_PAGE_SIZE)))
        going = all([add(entries) for _, entries in pages])  # a list: every page is taken
        start = stop
    return found


async def fetch_entry(
    client: HttpClient, endpoints: Endpoints, acc: str, headers: dict[str, str] | None = None
) -> Response:
    """GET one entry (conditionally, given validators); the caller decides what a 404 means."""
    return await client.get(SERVICE_API, endpoints.empiar_entry(acc), headers=headers)


def id_spec(ids: list[str]) -> str:
    """The ids as `POST entry/` takes them: one range when they run without a gap, else a list."""
    numbers = [accession_number(a) for a in ids]
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{numbers[0]}-{numbers[-1]}"
    return ",".join(map(str, numbers))


def batch_documents(data: object) -> list[dict]:
    """A `POST entry/` answer as documents shaped like the GET's: {accession: entry}.

    The 2018 spec promises an array of bare entries, which name no accession; the GET answers
    an object keyed by accession, as the POST does for the one client known to read it. That
    object, or an array of one-key such objects, is taken; ValueError for anything else."""
    items = [{k: v} for k, v in data.items()] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError(f"a {type(data).__name__}, not an object keyed by accession")
    docs = []
    for item in items:
        key = next(iter(item), "") if isinstance(item, dict) and len(item) == 1 else ""
        if not _ACCESSION_RE.match(key) or not isinstance(item[key], dict):
            raise ValueError("an entry not keyed by its accession")
        docs.append(item)
    return docs


async def fetch_batch(client: HttpClient, endpoints: Endpoints, ids: list[str]) -> list[dict]:
    """Up to BATCH_SIZE entries in one `POST entry/{ids}/` (the ids in the path, as the 2018
    spec declares). Ids the answer leaves out are for the caller to fetch one by one."""
    resp = await client.request("POST", SERVICE_API, endpoints.empiar_entries(id_spec(ids)))
    if resp.status != 200:
        raise FetchError("http", resp.url, f"HTTP {resp.status}", status=resp.status)
    try:
        return batch_documents(resp.data)
    except ValueError as exc:
        raise FetchError(
            "invalid-json", resp.url, f"EMPIAR batch answer: {exc}", status=resp.status
        ) from None
