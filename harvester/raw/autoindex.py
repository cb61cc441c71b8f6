"""A directory listing as EBI's file server really serves it: Apache mod_autoindex HTML
(API-NOTES §1.12, §7.1), quirks included.

One row per child: `<a href="name">` then its modification time to the minute and a size
rounded as Apache's `apr_strfsize` rounds it (`512 `, `9.8K`, ` 12K`, `543M`, `1.2G`; `-` for a
directory), in a table (`<tr>…</tr>`) or preformatted text (a row a line). Sort links
(`?C=N;O=D`) and the parent link are skipped. What a depositor named is taken from the href
(the link text is cut short in the preformatted form), decoded once.

The page is read with the standard library's tokenizer, fed in slices so a page past MAX_ROWS
stops within one slice: time linear in the page, memory bounded by the rows kept. A row that
cannot be trusted (a name with `/`, `..`, control characters, one no file system holds; a link
back up the tree; a size no unit explains) is a problem of the directory, named in `problems`;
a name is never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

# A directory of 100,000 names exists (a 20 MB page); past this, a page is refused whole.
MAX_ROWS = 250_000
# NAME_MAX of every file system the archive could sit on: a longer name was never a file.
MAX_NAME_BYTES = 255
# Text kept after a link while its row is read; a real row's is under 100 characters.
ROW_TEXT_CHARS = 400
# Problems named per listing; the count says how many more.
MAX_PROBLEMS = 20
FEED_CHARS = 1 << 16
# Apache's units (apr_strfsize): powers of 1024.
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50, "E": 1 << 60}

_ROW_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2}|\d{1,2}-[A-Za-z]{3}-\d{4})[ T](\d{2}:\d{2})(?::\d{2})?\s+(\S+)", re.ASCII
)
_SIZE_RE = re.compile(r"([0-9]{1,4}(?:\.[0-9])?)([A-Za-z]?)", re.ASCII)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


class ListingError(ValueError):
    """A page refused whole: too many rows, or not a listing at all."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Row:
    name: str  # without the trailing slash of a directory
    is_dir: bool
    modified: str | None  # 'YYYY-MM-DDTHH:MM'
    size_text: str | None  # as served, stripped ('543M'); None for a directory's '-'
    size_bytes: int | None  # the size the text allows (rounded as served), None if it has none


@dataclass
class Listing:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)


def size_bytes(text: str) -> int | None:
    """'543M' -> 543 * 2**20, '9.8K' -> 10035, '512' -> 512; None for anything else."""
    match = _SIZE_RE.fullmatch(text)
    if not match or match.group(2).upper() not in _UNITS:
        return None
    return round(float(match.group(1)) * _UNITS[match.group(2).upper()])


def modified(day: str, minute: str) -> str | None:
    """'2022-01-26' or '26-Jan-2022', '12:24' -> '2022-01-26T12:24'; None if no calendar has it."""
    if "-" in day[:4]:
        d, mon, y = day.split("-")
        month = _MONTHS.get(mon.lower())
        if month is None:
            return None
        y, m, d = int(y), month, int(d)
    else:
        y, m, d = (int(p) for p in day.split("-"))
    hour, minutes = int(minute[:2]), int(minute[3:])
    if not (1 <= m <= 12 and 1 <= d <= 31 and hour < 24 and minutes < 60):
        return None
    return f"{y:04d}-{m:02d}-{d:02d}T{minute}"


def check_name(href: str) -> tuple[str, bool]:
    """A row's href as (name, is_dir); ValueError naming why it is no child of this directory."""
    is_dir = href.endswith("/")
    try:
        name = unquote(href[:-1] if is_dir else href, errors="strict")
    except UnicodeDecodeError:
        raise ValueError("a name that is not UTF-8") from None
    if not name or name in (".", ".."):
        raise ValueError(f"a link to {href!r}, back up the tree (a loop)")
    if "/" in name or "\\" in name:
        raise ValueError(f"a name with a slash: {name[:80]!r}")
    if _CONTROL_RE.search(name):
        raise ValueError(f"a name with control characters: {name[:80]!r}")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise ValueError(f"a name of {len(name):,} characters")
    return name, is_dir


class _Reader(HTMLParser):
    def __init__(self, listing: Listing) -> None:
        super().__init__(convert_charrefs=True)
        self.listing = listing
        self.href: str | None = None  # the open row's link
        self.in_link = False
        self.text: list[str] = []
        self.kept = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            self.finish()
            if href is not None:
                self.href, self.in_link = href, True
        elif tag in ("tr", "pre", "table"):
            self.finish()
        elif self.href is not None:  # a new cell: its text apart from the last one's
            self.handle_data(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.in_link = False
        elif tag in ("tr", "pre", "table", "body"):
            self.finish()

    def handle_data(self, data: str) -> None:
        if self.href is None or self.in_link:
            return
        line, newline, _ = data.partition("\n")
        if self.kept < ROW_TEXT_CHARS:
            self.text.append(line[: ROW_TEXT_CHARS - self.kept])
            self.kept += len(self.text[-1])
        if newline:  # the preformatted form: a row ends with its line
            self.finish()

    def finish(self) -> None:
        href, self.href, self.in_link = self.href, None, False
        text, self.text, self.kept = "".join(self.text), [], 0
        if href is None or href.startswith("?"):  # no row open, or a sort link
            return
        match = _ROW_RE.search(text)
        if match is None:  # no date: the parent link, or a link in a header; not a row
            return
        if href.startswith(("/", "#")) or ":" in href.partition("/")[0]:
            self.listing.problem(f"a link out of this directory: {href[:80]!r} (a loop)")
            return
        try:
            name, is_dir = check_name(href)
        except ValueError as exc:
            self.listing.problem(str(exc))
            return
        when = modified(match.group(1), match.group(2))
        size = match.group(3).replace("\xa0", "")
        if is_dir:
            row = Row(name, True, when, None, None)
        else:
            stated = size_bytes(size) if size != "-" else None
            if stated is None:
                self.listing.problem(f"{name[:80]!r}: a size of {size[:20]!r}")
            row = Row(name, False, when, size[:20] or None, stated)
        if len(self.listing.rows) >= MAX_ROWS:
            raise ListingError("too-many-rows", f"more than {MAX_ROWS:,} rows")
        self.listing.rows.append(row)


def parse(html: str) -> Listing:
    """An autoindex page -> its rows and the problems found; ListingError for a page refused."""
    if "<a" not in html[: FEED_CHARS * 4] and "<A" not in html[: FEED_CHARS * 4]:
        raise ListingError("not-a-listing", "the page holds no links")
    listing = Listing()
    reader = _Reader(listing)
    for start in range(0, len(html), FEED_CHARS):
        reader.feed(html[start : start + FEED_CHARS])
    reader.close()
    reader.finish()
    names = {}
    for row in listing.rows:
        if names.setdefault(row.name, row) is not row:
            listing.problem(f"{row.name[:80]!r} listed twice")
    if len(names) != len(listing.rows):
        listing.rows = list(names.values())
    return listing
