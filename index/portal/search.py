"""One search over the three front doors, ranked, ids first: `/-/search`, and the table pages'
own search box sent there when it asks for nothing else."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from datasette import NotFound, Response
from datasette.database import QueryInterrupted
from datasette.utils import tilde_encode
from markupsafe import Markup

from empiar_mirror.index.archives import ARCHIVES, current_sql
from empiar_mirror.index.portal import database, synonyms
from empiar_mirror.index.portal.links import TABLE_ARCHIVE, TABLE_PK, archive_of, render_cell
from empiar_mirror.index.portal.table_page import LEAD_COLUMNS, leading


@dataclass(frozen=True)
class Searched:
    table: str
    fts: str
    columns: list[str]


# The columns a search shows of each front door (others: id, title, status).
SEARCH_COLUMNS = {
    # The status next to the title: an obsolete entry must not pass for a current one.
    "empiar_entries": ["accession", "title", "status", "replaced_by"]
    + [c for c in LEAD_COLUMNS["empiar_entries"] if c not in ("accession", "title", "status")],
    "emdb_maps": [
        "emdb_id",
        "title",
        "status",
        "method",
        "resolution_a",
        "microscope",
        "detector",
        "release_date",
    ],
    "pdb_models": [
        "pdb_id",
        "title",
        "status",
        "replaced_by",
        "method",
        "resolution_a",
        "release_date",
    ],
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
    rows = await database.rows(
        db, f"select {select} from {s.table} t where {' or '.join(where)} order by t.{pk}", params
    )
    return [r for r in rows if archive_of(r[pk], (kind,))]


async def _matches(db, s: Searched, select: str, match: str, skip: list, limit: int, offset: int):
    """Full-text matches, current records first, each kind by rank; but those in `skip`, and
    how many there are."""
    pk = TABLE_PK[s.table]
    unless = f" and t.{pk} not in ({', '.join('?' for _ in skip)})" if skip else ""
    source = f"from {s.fts} f join {s.table} t on t.rowid = f.rowid where {s.fts} match ?{unless}"
    rows = await database.rows(
        db,
        f"select {select} {source} order by not ({current_sql('t')}), f.rank limit ? offset ?",
        [match, *skip, limit, offset],
    )
    count = (await db.execute(f"select count(*) {source}", [match, *skip])).rows[0][0]
    return rows, count


async def search_front_door(db, s: Searched, q: str, limit: int, offset: int = 0) -> dict:
    """One front door's records for `q`: those it names first, then full-text matches by rank,
    `limit` of them from `offset` on. `words` is set when the query was malformed and its plain
    words were searched instead."""
    pk = TABLE_PK[s.table]
    columns = leading(s.columns, set(await db.table_columns(s.table)))
    select = ", ".join(f"t.{c}" for c in columns)
    named = await _named(db, s, select, q)
    rows = named[offset : offset + limit]
    total, words = len(named), None
    # The named records come first, so the full-text matches start that much later.
    skip, more, start = [r[pk] for r in named], limit - len(rows), max(0, offset - len(named))
    match = fts_query(synonyms.expand(q))
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
    db = await database.first_db(datasette, request)
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


def ranked_redirect(datasette):
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
