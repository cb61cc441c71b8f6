"""The portal: a Datasette plugin that links every accession, lists every JSON array, adds a
search over all three front doors (ranked, ids first), server-side charts, readable row pages
and robots.txt, and leads the front doors' table pages with the columns and facets read first.

Registered by the package's `datasette` entry point; its templates and CSS live beside it, and
it supplies the bundled metadata for every attached database that is an empiar-mirror file.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import re
import sqlite3
import weakref
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from datasette import NotFound, Response, hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import (
    path_with_removed_args,
    path_with_replaced_args,
    tilde_encode,
    urlsafe_components,
)
from datasette.utils.asgi import BadRequest
from markupsafe import Markup

from empiar_mirror.index import links
from empiar_mirror.index.archives import ARCHIVES, BY_FRONT_DOOR
from empiar_mirror.index.portal import charts

PLUGIN_NAME = "empiar-mirror"


TABLE_ARCHIVE = {table: a.key for table, a in BY_FRONT_DOOR.items()}
TABLE_PK = {table: a.key_column for table, a in BY_FRONT_DOOR.items()}

# Which archives a column's values may belong to, by column name: the same names are used by
# the front doors, harvest_errors and the canned queries, so links follow the column everywhere.
ID_COLUMNS = {
    **{c: (a.key,) for a in ARCHIVES.values() for c in (a.key_column, a.ids_column)},
    **dict.fromkeys(("accession", "from_accession", "to_accession"), tuple(ARCHIVES)),
    "replaced_by": ("pdb",),
}
ARRAY_COLUMNS = {
    *(a.ids_column for a in ARCHIVES.values()),
    "categories",
    "data_formats",
    "methods",
    "microscopes",
    "detectors",
    "microscope_families",
    "detector_families",
    "voltages_kv",
    "organisms",
    "sample_names",
    "software",
}
DOI_COLUMNS = {"entry_doi", "citation_doi", "doi"}

# What a structural biologist scans first: these lead a front door's table page and the rest are
# one click away; facets likewise.
LEAD_COLUMNS = {
    "empiar_entries": [
        "accession",
        "title",
        "technique",
        "methods",
        "resolution_best_a",
        "microscope_families",
        "detector_families",
        "organisms",
        "release_date",
        "dataset_size",
    ],
}
LEAD_FACETS = {
    "empiar_entries": [
        "experiment_type",
        "resolution_bin",
        "microscope_families",
        "organisms",
        "release_year",
    ],
}
# Values a lead facet shows before folding the rest away.
FACET_VALUES_SHOWN = 5
ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")

# Crawlers would otherwise walk Datasette's unbounded space of facet, sort and SQL URLs, and the
# archives' own pages, not a mirror's, are the ones search engines should index.
ROBOTS_TXT = "User-agent: *\nDisallow: /\n"


def archive_of(value, kinds) -> str | None:
    """The archive an id belongs to, among `kinds`, or None if it is no such id."""
    if not isinstance(value, str):
        return None
    for kind in kinds:
        if ARCHIVES[kind].id_pattern.fullmatch(value):
            return kind
    return None


def outbound(kind: str, value: str) -> Markup:
    """The small ↗ link to the archive's own page."""
    archive = ARCHIVES[kind]
    label = f"{value} at {archive.name}"
    return Markup(
        '<a class="portal-out" href="{}" title="{}" aria-label="{}" rel="noopener">↗</a>'
    ).format(archive.page(value), label, label)


def id_link(datasette, database: str, kind: str, value: str) -> Markup:
    """An id linked to its row in the mirror, then to the archive."""
    row = datasette.urls.row(database, ARCHIVES[kind].front_door, tilde_encode(value))
    return Markup('<a class="portal-id" href="{}">{}</a>&nbsp;{}').format(
        row, value, outbound(kind, value)
    )


def doi_link(value: str) -> Markup:
    doi = value.removeprefix("doi:").strip()
    return Markup('<a href="https://doi.org/{}">{}</a>').format(quote(doi, safe="/:;()"), doi)


def _array_item(datasette, database, table, column, item) -> Markup:
    kind = archive_of(item, ID_COLUMNS.get(column, ()))
    if kind:
        return id_link(datasette, database, kind, item)
    if isinstance(item, str) and table in TABLE_ARCHIVE:
        # One click filters the table to the rows whose array holds this value.
        href = (
            datasette.urls.table(database, table)
            + "?"
            + urlencode({f"{column}__arraycontains": item})
        )
        return Markup('<a href="{}">{}</a>').format(href, item)
    if isinstance(item, float) and item.is_integer():
        item = int(item)
    return Markup("{}").format(item)


@hookimpl
def render_cell(value, column, table, database, datasette):
    if not isinstance(value, str) or not value:
        return None
    if column in ARRAY_COLUMNS and value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            return None
        if not isinstance(items, list):
            return None
        if not items:
            return Markup("&nbsp;")
        lis = (
            Markup("<li>{}</li>").format(_array_item(datasette, database, table, column, i))
            for i in items
        )
        return Markup('<ul class="portal-list">{}</ul>').format(Markup("").join(lis))
    if column in ID_COLUMNS:
        kind = archive_of(value, ID_COLUMNS[column])
        return id_link(datasette, database, kind, value) if kind else None
    if column in DOI_COLUMNS and value.removeprefix("doi:").startswith("10."):
        return doi_link(value)
    if column == "orcid":
        match = ORCID.fullmatch(value.strip())
        if match:
            return Markup('<a href="https://orcid.org/{0}">{0}</a>').format(match.group(1))
    return None


# What one query may build, on every connection Datasette opens, so that the public SQL page
# cannot exhaust the server. Datasette's time limit is a progress handler, called between VM
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
SOFT_HEAP_BYTES = 512 << 20
HARD_HEAP_BYTES = 1 << 30
# Built-ins one call of which can run for minutes, beyond the reach of the time limit: refused.
# json_patch takes time in the product of its objects' sizes; printf (and its alias format)
# loops once per unit of a %c precision, two billion times for `%.2000000000c`, however short
# its result (the length limit makes it NULL), and a format can hold thousands of those.
REFUSED_FUNCTIONS = frozenset({"json_patch", "printf", "format"})
# Read as NULL through Datasette (in results and conditions alike); the file keeps them. The
# e-mail addresses, and the raw records that carry them too.
WITHHELD_COLUMNS = frozenset(
    {("person", "email"), ("source_record", "payload"), ("shared_contribution", "row")}
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


@hookimpl
def prepare_connection(conn):
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


@hookimpl
def handle_exception(datasette, request, exception):
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


CODE_SPAN = re.compile(r"`([^`]+)`")


def inline_markdown(text: str | None) -> Markup:
    """A metadata description as HTML: its `code` spans set as code, everything else escaped."""
    parts = CODE_SPAN.split(text or "")
    return Markup("").join(
        Markup("<code>{}</code>" if i % 2 else "{}").format(part) for i, part in enumerate(parts)
    )


SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z`(])")


def first_sentence(text: str | None) -> tuple[str, str]:
    """A description's first sentence, and the rest: a table page leads with the one."""
    parts = SENTENCE_END.split(text or "", maxsplit=1)
    return (parts[0] + ".", parts[1]) if len(parts) == 2 else (text or "", "")


def _lead(spec: list[str], available) -> list[str]:
    """The names of `spec` that `available` has, in `spec`'s order."""
    return [name for name in spec if name in available]


@dataclass(frozen=True)
class ColumnLayout:
    """Which of Datasette's display columns the table page shows, and in what order."""

    order: list[int]  # indexes into the display columns
    folded: int  # how many are left out, one click away
    all_url: str | None = None  # every column, the lead ones first
    lead_url: str | None = None  # back to the lead columns, once `_col` chose others


def column_layout(datasette, request, table: str, columns: list[dict]) -> ColumnLayout:
    """The lead columns first and alone, unless the reader chose columns with Datasette's own
    `_col`; `_nocol` still hides a lead column as Datasette would."""
    names = [c["name"] for c in columns]
    lead = _lead(LEAD_COLUMNS.get(table, ()), set(names))
    if not lead:
        return ColumnLayout(list(range(len(names))), 0)
    if "_col" in request.args:
        back = path_with_removed_args(request, {"_col"})
        return ColumnLayout(list(range(len(names))), 0, lead_url=datasette.urls.path(back))
    order = [names.index(n) for n in lead] + [i for i, n in enumerate(names) if n not in lead]
    # Datasette puts the primary key first by itself: naming it in `_col` would show it twice.
    chosen = [("_col", names[i]) for i in order if not columns[i]["is_pk"]]
    everything = datasette.urls.path(path_with_replaced_args(request, chosen))
    folded = len(names) - len(lead)
    return ColumnLayout(order[: len(lead)], folded, all_url=everything if folded else None)


def facet_layout(table: str, facets: list[dict]) -> tuple[list[dict], list[dict]]:
    """Datasette's facet results split into those shown (the lead facets in their order, then
    any the reader added or chose a value of) and those folded under "more facets"."""
    lead = _lead(LEAD_FACETS.get(table, ()), {f["name"] for f in facets})
    if not lead:
        return facets, []
    shown = sorted((f for f in facets if f["name"] in lead), key=lambda f: lead.index(f["name"]))
    shown += [
        f
        for f in facets
        if f not in shown and (f.get("hideable") or any(v["selected"] for v in f["results"]))
    ]
    return shown, [f for f in facets if f not in shown]


@hookimpl
def prepare_jinja2_environment(env):
    # Globals rather than template variables: Datasette renders its error pages without those.
    env.globals["portal_version"] = importlib.metadata.version("empiar-mirror")
    env.globals["portal_md"] = inline_markdown
    env.globals["portal_first_sentence"] = first_sentence
    env.globals["portal_labels"] = {a.front_door: a.records for a in ARCHIVES.values()}


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins(PLUGIN_NAME, "portal.css")]


@functools.cache
def _bundled_metadata() -> dict:
    path = Path(__file__).parent.parent / "datasette_metadata.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _is_mirror(path: str) -> bool:
    """Whether the file at `path` was written by empiar-mirror (its migrations say so)."""
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        try:
            return bool(
                conn.execute(
                    "select 1 from _sqlite_migrations where migration_set = 'empiar_mirror'"
                ).fetchone()
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return False


@hookimpl
def get_metadata(datasette, key, database, table):
    """The bundled metadata, for every attached empiar-mirror file whatever its name; a
    metadata file given to Datasette is merged over it."""
    names = [
        name
        for name, db in datasette.databases.items()
        if db.path and not db.is_memory and _is_mirror(db.path)
    ]
    if not names:
        return {}
    bundled = _bundled_metadata()
    return {
        **{k: v for k, v in bundled.items() if k != "databases"},
        "databases": {name: bundled["databases"]["empiar"] for name in names},
    }


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    async def inner():
        db_name = database or datasette.get_database().name

        def link(kind, value):
            return id_link(datasette, db_name, kind, value) if value else ""

        def archive_link(table_name, pk):
            """For the table view's primary-key column, which Datasette links itself."""
            kind = TABLE_ARCHIVE.get(table_name)
            return outbound(kind, pk) if kind and archive_of(pk, (kind,)) else ""

        found = {"portal_link": link, "archive_link": archive_link, "portal_db": db_name}
        if view_name == "table" and request is not None:
            found["portal_columns"] = functools.partial(column_layout, datasette, request, table)
            found["portal_facets"] = functools.partial(facet_layout, table)
            found["portal_facet_values_shown"] = FACET_VALUES_SHOWN
            q = (request.args.get("_search") or "").strip()
            if q and table in TABLE_ARCHIVE:
                ranked = urlencode({"q": q, "table": table})
                found["portal_ranked"] = datasette.urls.path("-/search") + "?" + ranked
        if view_name == "row" and table in TABLE_ARCHIVE and request is not None:
            pk = urlsafe_components(request.url_vars["pks"])[0]
            db = datasette.get_database(db_name)
            found["portal_row"] = await row_details(db, table, pk)
        if view_name == "index":
            found["portal_home"] = await home_details(datasette, db_name, request)
        return found

    return inner


@hookimpl
def register_routes():
    return [
        (r"^/-/search(\.(?P<format>json))?$", search_view),
        (r"^/-/charts$", charts_view),
        (r"^/-/charts/(?P<slug>[a-z]+)\.svg$", chart_svg_view),
        (r"^/robots\.txt$", robots_view),
    ]


@hookimpl
def asgi_wrapper(datasette):
    """A front door's table page searched with nothing else chosen goes to the ranked search:
    Datasette 0.65's table view can only order by a column, never by relevance."""

    def wrap(app):
        async def ranked(scope, receive, send):
            if scope["type"] == "http" and scope.get("method") == "GET":
                location = ranked_search_url(
                    datasette, scope["path"], scope.get("query_string", b"").decode("latin-1")
                )
                if location:
                    await Response.redirect(location).asgi_send(send)
                    return
            await app(scope, receive, send)

        return ranked

    return wrap


def ranked_search_url(datasette, path: str, query_string: str) -> str | None:
    """Where `path?query_string` goes instead, if it is a front door's table page of the first
    database searched with nothing else chosen: a sort, filter or facet the reader chose keeps
    Datasette's page."""
    name = datasette.get_database().name
    table = next((t for t in TABLE_ARCHIVE if path == datasette.urls.table(name, t)), None)
    args = parse_qsl(query_string, keep_blank_values=True)
    given = dict(args)
    if table is None or len(given) != len(args):
        return None
    q = given.pop("_search", "").strip()
    if not q:
        return None
    # Datasette's table form also sends its empty filter row, and the sort menu phones show
    # (hidden on wider screens) set to the table's default order: no choice of the reader's.
    if given.pop("_filter_column", "") or given.pop("_filter_value", ""):
        return None
    given.pop("_filter_op", None)
    meta = datasette.table_metadata(name, table)
    if meta.get("sort_desc"):
        default = {"_sort": meta["sort_desc"], "_sort_by_desc": "on"}
    else:
        default = {"_sort": meta.get("sort") or TABLE_PK[table]}
    if given not in ({}, default, {"_sort": ""}):
        return None
    return datasette.urls.path("-/search") + "?" + urlencode({"q": q, "table": table})


# Row pages -------------------------------------------------------------------------------


async def _rows(db, sql: str, params=()) -> list[dict]:
    return [dict(r) for r in (await db.execute(sql, params)).rows]


async def _by_ids(db, table: str, pk: str, ids: list[str], columns: str) -> list[dict]:
    """Rows of `table` for `ids`, in that order; an id the mirror lacks keeps a bare row."""
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    found = {
        r[pk]: r
        for r in await _rows(db, f"select {columns} from {table} where {pk} in ({marks})", ids)
    }
    return [found.get(i, {pk: i, "missing": True}) for i in ids]


# What a row page lists of each archive's linked records (others: id, title and status).
RELATED_COLUMNS = {
    "empiar": "accession, title, experiment_type, release_date, resolution_best_a",
    "emdb": "emdb_id, title, status, method, resolution_a, microscope, detector, voltage_kv",
    "pdb": "pdb_id, title, status, method, resolution_a, replaced_by",
}


async def row_details(db, table: str, pk: str) -> dict | None:
    """What a front door's row page shows beyond the row: the records linked to it, one section
    per linked archive, as `record_link` says."""
    rows = await _rows(db, f"select * from {table} where {TABLE_PK[table]} = ?", [pk])
    if not rows:
        return None
    record = rows[0]
    archive = BY_FRONT_DOOR[table]
    # Built from the id, not read from the row: an href must never come from archive text.
    out = {
        "table": table,
        "record": record,
        "archive_url": archive.page(pk),
        "archive_name": archive.name,
        "noun": archive.noun,
        "kind": archive.key,
    }

    def related(conn) -> dict:
        return {
            "linked": [
                (other, links.linked(conn, archive, other, [pk]).get(pk, []))
                for other in links.neighbours(archive)
            ],
            "replaces": links.replaced(conn, archive, pk),
        }

    read = await db.execute_fn(related)
    out["related"] = [
        {
            "kind": other.key,
            "title": other.records,
            "key": other.key_column,
            "rows": await _by_ids(
                db,
                other.front_door,
                other.key_column,
                ids,
                RELATED_COLUMNS.get(other.key, f"{other.key_column}, title, status"),
            ),
        }
        for other, ids in read["linked"]
        if ids
    ]
    out["replaces"] = read["replaces"]
    if table == "empiar_entries":
        out.update(await _entry_details(db, record))
    return out


async def _entry_details(db, record: dict) -> dict:
    accession = record["accession"]
    study = f"empiar:{accession}/study"
    prefix = f"empiar:{accession}/imageset/"
    imagesets = await _rows(
        db,
        "select id, title, x_empiar_category, x_data_format, x_num_images_or_tilt_series, "
        "x_frames_per_image, x_image_width, x_image_height, x_pixel_width, file_path "
        # A range over the primary key rather than LIKE, so the index answers it.
        "from data_file where id >= ? and id < ? "
        "order by cast(substr(id, ?) as integer)",
        [prefix, prefix[:-1] + "0", len(prefix) + 1],
    )
    for imageset in imagesets:
        imageset["row_path"] = tilde_encode(imageset["id"])
    people = await _rows(
        db,
        "select p.id, p.full_name, p.orcid, p.affiliation, sp.role, sp.author_position "
        "from study_person sp join person p on p.id = sp.person_id where sp.study_id = ? "
        "order by sp.author_position, p.full_name",
        [study],
    )
    for person in people:
        match = ORCID.fullmatch((person["orcid"] or "").strip())
        person["orcid_id"] = match.group(1) if match else None
    publications = await _rows(
        db,
        "select p.*, sp.is_primary from study_publication sp "
        "join publication p on p.id = sp.publication_id where sp.study_id = ? "
        "order by sp.is_primary desc, p.year",
        [study],
    )
    for publication in publications:
        names = await _rows(
            db,
            "select name from publication_author where publication_id = ? order by position",
            [publication["id"]],
        )
        publication["authors"] = [n["name"] for n in names]
        publication["doi"] = (publication["doi"] or "").removeprefix("doi:") or None
        pmid = (publication["pubmed_id"] or "").removeprefix("pmid:")
        publication["pmid"] = pmid if pmid.isdigit() else None
    return {
        "imagesets": imagesets,
        "authors": [p for p in people if p["role"] == "author"],
        "contacts": [p for p in people if p["role"] == "contact"],
        "investigators": [p for p in people if p["role"] == "principal_investigator"],
        "publications": publications,
    }


# Home page ------------------------------------------------------------------------------


async def home_details(datasette, db_name: str, request) -> dict:
    db = datasette.get_database(db_name)
    counts = {}
    for table in TABLE_ARCHIVE:
        counts[table] = (await db.execute(f"select count(*) from {table}")).rows[0][0]
    actor = request.actor if request is not None else None
    queries = await datasette.get_canned_queries(db_name, actor)
    runs = await _rows(
        db,
        "select finished_at, options from harvest_runs where finished_at is not null "
        "order by id desc limit 1",
    )
    return {
        "counts": counts,
        "harvest": harvest_details(runs[0]) if runs else None,
        "queries": [
            {
                "url": datasette.urls.query(db_name, name),
                "title": q.get("title") or name,
                "description": q.get("description"),
            }
            for name, q in queries.items()
        ],
    }


def harvest_details(run: dict) -> dict:
    """When the last harvest finished, and from where: the demo sample, or the hosts of the
    endpoints it was given."""
    try:
        options = json.loads(run["options"] or "{}")
    except ValueError:
        options = {}
    options = options if isinstance(options, dict) else {}
    hosts = dict.fromkeys(
        urlsplit(v).netloc
        for v in options.values()
        if isinstance(v, str) and v.startswith(("http://", "https://"))
    )
    return {
        "finished": run["finished_at"].replace("T", " ").removesuffix("Z")[:16] + " UTC",
        "demo": bool(options.get("demo")),
        "hosts": list(hosts),
    }


# Search everything ----------------------------------------------------------------------


@dataclass(frozen=True)
class Searched:
    table: str
    fts: str
    columns: list[str]


# The columns a search shows of each front door (others: id, title, status).
SEARCH_COLUMNS = {
    "empiar_entries": LEAD_COLUMNS["empiar_entries"],
    "emdb_maps": [
        "emdb_id",
        "title",
        "status",
        "method",
        "resolution_a",
        "microscope",
        "release_date",
    ],
    "pdb_models": ["pdb_id", "title", "status", "method", "resolution_a", "release_date"],
}
SEARCHED = [
    Searched(
        a.front_door,
        f"{a.front_door}_fts",
        SEARCH_COLUMNS.get(a.front_door, [a.key_column, "title", "status"]),
    )
    for a in ARCHIVES.values()
]
SEARCH_LIMIT = 20  # per front door, searching all three
SEARCH_PAGE = 50  # a page of one front door's matches

FTS_TOKEN = re.compile(r'"[^"]*"?|[()]|[^\s()"]+')
FTS_OPERATORS = {"AND", "OR", "NOT", "(", ")"}
WORDY = re.compile(r"\w")


def fts_query(q: str) -> str | None:
    """The reader's query in FTS5's syntax: each word or "quoted phrase" matched as written
    (an unclosed quote closes at the end), `word*` a prefix, and upper-case AND, OR, NOT and
    parentheses operators; None if that is malformed (`AND OR (`)."""
    parts = []
    for token in FTS_TOKEN.findall(q):
        if token in FTS_OPERATORS:
            parts.append(token)
        elif token.startswith('"'):
            if WORDY.search(token):
                parts.append('"{}"'.format(token.strip('"')))
        elif WORDY.search(word := token.rstrip("*")):
            parts.append(f'"{word}"' + ("*" if word != token else ""))
    # An operand is a phrase or a bracketed query; operators join two, or nothing does (AND).
    depth, operand = 0, False
    for part in parts:
        if part == "(":
            depth, operand = depth + 1, False
        elif part == ")":
            if not operand or depth == 0:
                return None
            depth -= 1
        elif part in FTS_OPERATORS:
            if not operand:
                return None
            operand = False
        else:
            operand = True
    return " ".join(parts) if parts and operand and depth == 0 else None


def fts_words(q: str) -> str:
    """Every word of `q` required, as Datasette's table search reads it: no operators."""
    return " ".join(f'"{w}"' for w in re.findall(r'[^\s()"*]+', q) if WORDY.search(w))


async def _named(db, s: Searched, select: str, q: str) -> list[dict]:
    """The records `q` names: an id in any case (`empiar-10442`, `9z01`), or a bare number
    (`10442`) as the number of an id."""
    pk, kind = TABLE_PK[s.table], TABLE_ARCHIVE[s.table]
    # Accessions are stored upper-case (extended PDB ids lower-case): try both spellings.
    ids = [v for v in dict.fromkeys((q.upper(), q.lower())) if archive_of(v, (kind,))]
    where, params = [], []
    if ids:
        where.append(f"t.{pk} in ({', '.join('?' for _ in ids)})")
        params += ids
    if q.isascii() and q.isdigit():
        where.append(f"t.{pk} like ?")
        params.append(f"%-{q}")
    if not where:
        return []
    rows = await _rows(
        db, f"select {select} from {s.table} t where {' or '.join(where)} order by t.{pk}", params
    )
    return [r for r in rows if archive_of(r[pk], (kind,))]


async def _matches(db, s: Searched, select: str, match: str, skip: list, limit: int, offset: int):
    """Full-text matches by rank, but those in `skip`, and how many there are."""
    pk = TABLE_PK[s.table]
    unless = f" and t.{pk} not in ({', '.join('?' for _ in skip)})" if skip else ""
    source = f"from {s.fts} f join {s.table} t on t.rowid = f.rowid where {s.fts} match ?{unless}"
    rows = await _rows(
        db,
        f"select {select} {source} order by f.rank limit ? offset ?",
        [match, *skip, limit, offset],
    )
    count = (await db.execute(f"select count(*) {source}", [match, *skip])).rows[0][0]
    return rows, count


async def search_front_door(db, s: Searched, q: str, limit: int, offset: int = 0) -> dict:
    """One front door's records for `q`: those it names first, then full-text matches by rank,
    `limit` of them from `offset` on. `words` is set when the query was malformed and its plain
    words were searched instead."""
    pk = TABLE_PK[s.table]
    columns = _lead(s.columns, set(await db.table_columns(s.table)))
    select = ", ".join(f"t.{c}" for c in columns)
    named = await _named(db, s, select, q)
    rows = named[offset : offset + limit]
    total, words = len(named), None
    # The named records come first, so the full-text matches start that much later.
    skip, more, start = [r[pk] for r in named], limit - len(rows), max(0, offset - len(named))
    match = fts_query(q)
    if match is None:
        match = words = fts_words(q)
    if match:
        found, count = await _matches(db, s, select, match, skip, more, start)
        rows += found
        total += count
    return {
        "table": s.table,
        "pk": pk,
        "kind": TABLE_ARCHIVE[s.table],
        "columns": columns,
        "named": named if offset == 0 else [],
        "rows": rows,
        "total": total,
        "words": words,
    }


async def _first_db(datasette, request):
    db = datasette.get_database()
    await datasette.ensure_permissions(request.actor, [("view-database", db.name), "view-instance"])
    return db


def _table_search_url(datasette, db_name: str, table: str, q: str) -> str:
    """The table page searched for `q` in its own order, with its facets and filters: a sort
    named explicitly, so it is not sent back to the ranked search."""
    meta = datasette.table_metadata(db_name, table)
    if meta.get("sort_desc"):
        order = ("_sort_desc", meta["sort_desc"])
    else:
        order = ("_sort", meta.get("sort") or TABLE_PK[table])
    return datasette.urls.table(db_name, table) + "?" + urlencode([("_search", q), order])


async def search_view(datasette, request):
    """All three front doors (`q`), or one of them a page at a time (`q`, `table`, `page`);
    an id that names one record opens its page."""
    db = await _first_db(datasette, request)
    q = (request.args.get("q") or "").strip()
    table = request.args.get("table") or None
    searched = [s for s in SEARCHED if table in (None, s.table)]
    if not searched:
        raise NotFound(f"No front door called {table}")
    page = request.args.get("page") or ""
    # A page past a million is no page a reader asks for; its offset would overflow SQLite's.
    page = int(page) if page.isascii() and page.isdigit() and 0 < len(page) <= 6 else 1
    page = max(page, 1)
    limit = SEARCH_PAGE if table else SEARCH_LIMIT
    groups, error = [], None
    if q:
        try:
            offset = (page - 1) * limit
            groups = [await search_front_door(db, s, q, limit, offset) for s in searched]
        except (sqlite3.DatabaseError, QueryInterrupted) as exc:
            error = f"The search could not run: {exc}"
    words = next((g["words"] for g in groups if g["words"] is not None), None)
    if request.url_vars.get("format") == "json":
        return Response.json(
            {
                "q": q,
                "error": error,
                "words": words,
                "results": {g["table"]: {"total": g["total"], "rows": g["rows"]} for g in groups},
            },
            status=400 if error else 200,
        )
    named = [(g["table"], r[g["pk"]]) for g in groups for r in g["named"]]
    if not table and len(named) == 1:
        found_table, pk = named[0]
        return Response.redirect(datasette.urls.row(db.name, found_table, tilde_encode(pk)))
    search = datasette.urls.path("-/search")
    for group in groups:
        here = {"q": q, "table": group["table"]}
        group["more_url"] = f"{search}?{urlencode(here)}"
        group["table_url"] = _table_search_url(datasette, db.name, group["table"], q)
        if table and page > 1:
            group["prev_url"] = f"{search}?{urlencode({**here, 'page': page - 1})}"
        if table and page * limit < group["total"]:
            group["next_url"] = f"{search}?{urlencode({**here, 'page': page + 1})}"
        group["first"] = (page - 1) * limit + 1

    def cell(group, column, value):
        if value is None:
            return Markup("&nbsp;")
        shown = render_cell(value, column, group["table"], db.name, datasette)
        return value if shown is None else shown

    html = await datasette.render_template(
        "portal_search.html",
        {
            "q": q,
            "table": table,
            "groups": groups,
            "error": error,
            "words": words,
            "cell": cell,
            "json_url": datasette.urls.path("-/search.json") + "?" + request.query_string,
            "portal_db": db.name,
        },
        request=request,
    )
    return Response.html(html, status=400 if error else 200)


# Charts ----------------------------------------------------------------------------------


async def charts_view(datasette, request):
    db = await _first_db(datasette, request)
    table_url = datasette.urls.table(db.name, "empiar_entries")
    drawn = [
        {
            "spec": spec,
            "svg": await charts.render(spec.slug, db, table_url),
            "svg_url": datasette.urls.path(f"-/charts/{spec.slug}.svg"),
        }
        for spec in charts.CHARTS
    ]
    html = await datasette.render_template(
        "portal_charts.html", {"charts": drawn, "portal_db": db.name}, request=request
    )
    return Response.html(html)


async def chart_svg_view(datasette, request):
    db = await _first_db(datasette, request)
    slug = request.url_vars["slug"]
    if slug not in charts.CHART_SLUGS:
        raise NotFound("No such chart")
    svg = await charts.render(slug, db, datasette.urls.table(db.name, "empiar_entries"))
    return Response(str(svg), content_type="image/svg+xml; charset=utf-8")


async def robots_view(datasette):
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    return Response.text(config.get("robots_txt", ROBOTS_TXT))
