"""What one query may build, on every connection Datasette opens, so that the public SQL page
cannot exhaust the server; a query past SQLite's memory limit is answered as any other limit."""

from __future__ import annotations

import sqlite3
import weakref

from datasette.utils.asgi import BadRequest

# Datasette's time limit is a progress handler, called between VM
# instructions: it stops loops, but one function call (zeroblob, printf, replace) runs to its end
# unchecked, and the length limit is what bounds those.
# One string or blob: the sample's largest whole row is 16 KB, and the raw payloads (up to 64 MiB)
# are withheld below. Bigger costs twice over: instr() and replace() take time in the product of
# their arguments' lengths, 5.5 s at 1 MiB.
MAX_VALUE_BYTES = 1 << 20
# A statement: canned queries and Datasette's own SQL are a few KB, and a URL carries less.
MAX_SQL_BYTES = 100_000
# A LIKE or GLOB pattern: matching takes time in the value's length times the pattern's.
MAX_PATTERN_BYTES = 1_000
# Columns of a result: over twice the widest table (41), and what bounds one row's size.
MAX_COLUMNS = 100
# The values of one query's rows together: a page of 1000 front-door rows is 1-2 MB. Datasette
# holds a page in memory, several copies of it while rendering (its JSON for blobs is 30 times
# their size).
MAX_RESULT_BYTES = 16 << 20
# SQLite's own memory: page caches (64 MB per connection, below), sorts and temporary tables.
# Process-wide in SQLite: every connection sets the same values. Past the soft limit SQLite
# recycles cache pages; a query that needs more than the hard limit fails ("out of memory").
# Sized for a small cloud instance (Cloud Run's default is 512 MiB): at 1 GiB, three sorts
# grown to the limit took the server to 1.36 GB; under load its allocated memory reached
# 498 MiB at 256 MiB, 312 MiB at this (benchmarks/SERVING.md). Sorting the whole rows of a
# 3,000-entry front door sorts 5 MB of values.
SOFT_HEAP_BYTES = 96 << 20
HARD_HEAP_BYTES = 192 << 20
# Built-ins one call of which can run for minutes, beyond the reach of the time limit: refused.
# json_patch takes time in the product of its objects' sizes; printf (and its alias format)
# loops once per unit of a %c precision, two billion times for `%.2000000000c`, however short
# its result (the length limit makes it NULL), and a format can hold thousands of those.
REFUSED_FUNCTIONS = frozenset({"json_patch", "printf", "format"})
# Read as NULL through Datasette (in results and conditions alike); the file keeps them. The
# e-mail addresses, and the raw records that carry them too (an error's excerpt is the start of
# one: without imagesets, EMPIAR's key order puts a principal investigator's address there).
WITHHELD_COLUMNS = frozenset(
    {
        ("person", "email"),
        ("record_version", "payload"),
        ("shared_contribution", "row"),
        ("harvest_errors", "excerpt"),
    }
)


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: str | None) -> int:
    if action == sqlite3.SQLITE_READ and (arg1, arg2) in WITHHELD_COLUMNS:
        return sqlite3.SQLITE_IGNORE
    if action == sqlite3.SQLITE_FUNCTION and arg2 in REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _as_text(value: str | bytes | int | float) -> str:
    """A value as SQLite's text functions read it (a real as "%!.15g" writes it)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        mantissa, e, exponent = f"{value:.15g}".partition("e")
        return mantissa + ("" if "." in mantissa else ".0") + e + exponent
    return str(value)


def _trim(left: bool, right: bool):
    """SQLite's two-argument trim, ltrim or rtrim, in linear time: the built-in compares each
    character it removes with every character of the set, minutes for two 1 MiB strings."""

    def trim(value, characters):
        if value is None or characters is None:
            return None
        text = _as_text(value)
        remove = set(_as_text(characters))
        start, end = 0, len(text)
        while left and start < end and text[start] in remove:
            start += 1
        while right and end > start and text[end - 1] in remove:
            end -= 1
        return text[start:end]

    return trim


def _bounded_rows(make_row):
    """A row factory that ends a query once its rows' values pass MAX_RESULT_BYTES."""
    spent: weakref.WeakKeyDictionary[sqlite3.Cursor, int] = weakref.WeakKeyDictionary()

    def row_factory(cursor: sqlite3.Cursor, values: tuple):
        size = spent.get(cursor, 0)
        size += sum(len(v) for v in values if isinstance(v, str | bytes))
        if size > MAX_RESULT_BYTES:
            raise sqlite3.OperationalError(
                f"the answer is over {MAX_RESULT_BYTES >> 20} MB: ask for fewer rows or columns"
            )
        spent[cursor] = size
        return make_row(cursor, values) if make_row else values

    return row_factory


def apply(conn: sqlite3.Connection) -> None:
    """The limits, the functions refused or replaced and the columns withheld, on `conn`."""
    # Facets re-read the rows a search matched, once per facet: a page cache that holds them
    # (64 MB) and memory-mapped reads keep a searched, faceted page fast on a large file.
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA mmap_size = 1073741824")
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_PATTERN_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, MAX_COLUMNS)
    conn.execute(f"PRAGMA hard_heap_limit = {HARD_HEAP_BYTES}")
    conn.execute(f"PRAGMA soft_heap_limit = {SOFT_HEAP_BYTES}")
    # Sorts and temporary tables in memory, under the heap limit, rather than spilled to the
    # temporary directory (1.2 GB in 3 s for one query, on the disk a harvest may write to).
    conn.execute("PRAGMA temp_store = MEMORY")
    for name, left, right in (("trim", True, True), ("ltrim", True, False), ("rtrim", False, True)):
        conn.create_function(name, 2, _trim(left, right), deterministic=True)
    conn.set_authorizer(_authorize)
    conn.row_factory = _bounded_rows(conn.row_factory)


def memory_error_page(datasette, request, exception):
    """The error page of a query that ran out of memory; None for any other exception."""
    # Past the hard heap limit SQLite answers "out of memory", which Python raises as MemoryError:
    # the query asked too much, and its page says so like any other limit's (400), not a 500.
    if isinstance(exception, MemoryError):
        from datasette.handle_exception import handle_exception as error_page

        return error_page(
            datasette,
            request,
            BadRequest(
                f"the query needs more memory than the {HARD_HEAP_BYTES >> 20} MB SQLite may use"
            ),
        )
    return None
