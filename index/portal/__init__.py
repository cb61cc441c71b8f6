"""The portal: a Datasette plugin that links every accession, lists every JSON array, adds a
search over all three front doors, server-side charts, readable row pages and robots.txt.

Registered by the package's `datasette` entry point; its templates and CSS live beside it, and
it supplies the bundled metadata for every attached database that is an empiar-mirror file.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from datasette import NotFound, Response, hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import escape_fts, tilde_encode, urlsafe_components
from markupsafe import Markup

from empiar_mirror.index.archives import ARCHIVES, BY_FRONT_DOOR
from empiar_mirror.index.portal import charts

PLUGIN_NAME = "empiar-mirror"


TABLE_ARCHIVE = {table: a.key for table, a in BY_FRONT_DOOR.items()}
TABLE_PK = {table: a.key_column for table, a in BY_FRONT_DOOR.items()}

# Which archives a column's values may belong to, by column name: the same names are used by
# the front doors, harvest_errors and the canned queries, so links follow the column everywhere.
ID_COLUMNS = {
    "accession": ("empiar", "emdb", "pdb"),
    "emdb_id": ("emdb",),
    "emdb_ids": ("emdb",),
    "pdb_id": ("pdb",),
    "pdb_ids": ("pdb",),
    "replaced_by": ("pdb",),
    "empiar_ids": ("empiar",),
}
ARRAY_COLUMNS = {
    "emdb_ids",
    "pdb_ids",
    "empiar_ids",
    "categories",
    "data_formats",
    "methods",
    "microscopes",
    "detectors",
    "voltages_kv",
    "organisms",
    "sample_names",
    "software",
}
DOI_COLUMNS = {"entry_doi", "citation_doi", "doi"}
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


@hookimpl
def prepare_connection(conn):
    # Facets re-read the rows a search matched, once per facet: a page cache that holds them
    # (64 MB) and memory-mapped reads keep a searched, faceted page fast on a large file.
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA mmap_size = 1073741824")


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


# Row pages -------------------------------------------------------------------------------


async def _rows(db, sql: str, params=()) -> list[dict]:
    return [dict(r) for r in (await db.execute(sql, params)).rows]


def _ids(value) -> list[str]:
    try:
        items = json.loads(value or "[]")
    except ValueError:
        return []
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


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


MAP_COLUMNS = "emdb_id, title, status, method, resolution_a, microscope, detector, voltage_kv"
MODEL_COLUMNS = "pdb_id, title, status, method, resolution_a, replaced_by"
ENTRY_COLUMNS = "accession, title, experiment_type, release_date, resolution_best_a"


async def row_details(db, table: str, pk: str) -> dict | None:
    """What a front door's row page shows beyond the row: its related records."""
    rows = await _rows(db, f"select * from {table} where {TABLE_PK[table]} = ?", [pk])
    if not rows:
        return None
    record = rows[0]
    kind = TABLE_ARCHIVE[table]
    # Built from the id, not read from the row: an href must never come from archive text.
    out = {"table": table, "record": record, "archive_url": ARCHIVES[kind].page(pk)}
    if table == "empiar_entries":
        out.update(await _entry_details(db, record))
    elif table == "emdb_maps":
        out["entries"] = await _by_ids(
            db, "empiar_entries", "accession", _ids(record["empiar_ids"]), ENTRY_COLUMNS
        )
        fitted = await _rows(
            db,
            "select pdb_id from pdb_models where exists "
            "(select 1 from json_each(pdb_models.emdb_ids) where value = ?)",
            [pk],
        )
        ids = _ids(record["pdb_ids"])
        ids += [r["pdb_id"] for r in fitted if r["pdb_id"] not in ids]
        out["models"] = await _by_ids(db, "pdb_models", "pdb_id", ids, MODEL_COLUMNS)
    else:
        out["maps"] = await _by_ids(
            db, "emdb_maps", "emdb_id", _ids(record["emdb_ids"]), MAP_COLUMNS
        )
        out["entries"] = await _by_ids(
            db, "empiar_entries", "accession", _ids(record["empiar_ids"]), ENTRY_COLUMNS
        )
        out["replaces"] = await _rows(
            db, "select pdb_id from pdb_models where replaced_by = ? order by pdb_id", [pk]
        )
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
    maps = await _by_ids(db, "emdb_maps", "emdb_id", _ids(record["emdb_ids"]), MAP_COLUMNS)
    fitted = await _rows(
        db,
        "select pdb_id from pdb_models where exists "
        "(select 1 from json_each(pdb_models.empiar_ids) where value = ?) order by pdb_id",
        [accession],
    )
    model_ids = _ids(record["pdb_ids"])
    model_ids += [r["pdb_id"] for r in fitted if r["pdb_id"] not in model_ids]
    models = await _by_ids(db, "pdb_models", "pdb_id", model_ids, MODEL_COLUMNS)
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
        "maps": maps,
        "models": models,
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
    return {
        "counts": counts,
        "queries": [
            {
                "url": datasette.urls.query(db_name, name),
                "title": q.get("title") or name,
                "description": q.get("description"),
            }
            for name, q in queries.items()
        ],
    }


# Search everything ----------------------------------------------------------------------


@dataclass(frozen=True)
class Searched:
    table: str
    fts: str
    columns: str


SEARCHED = [
    Searched(
        "empiar_entries",
        "empiar_entries_fts",
        "accession, title, experiment_type, release_date, resolution_best_a, dataset_size",
    ),
    Searched("emdb_maps", "emdb_maps_fts", "emdb_id, title, status, method, resolution_a"),
    Searched("pdb_models", "pdb_models_fts", "pdb_id, title, status, method, resolution_a"),
]
SEARCH_LIMIT = 20


async def search_all(db, q: str) -> list[dict]:
    """Exact accessions first, then full-text matches by rank, per front door."""
    groups = []
    words = escape_fts(q)
    for s in SEARCHED:
        pk = TABLE_PK[s.table]
        kind = TABLE_ARCHIVE[s.table]
        # Accessions are stored upper-case (extended PDB ids lower-case): try both spellings.
        exact = [v for v in dict.fromkeys((q.upper(), q.lower())) if archive_of(v, (kind,))]
        rows = []
        if exact:
            marks = ", ".join("?" for _ in exact)
            rows = await _rows(
                db, f"select {s.columns} from {s.table} where {pk} in ({marks})", exact
            )
        total = len(rows)
        if words:
            matches = await _rows(
                db,
                f"select {', '.join('t.' + c.strip() for c in s.columns.split(','))} "
                f"from {s.fts} f join {s.table} t on t.rowid = f.rowid "
                f"where {s.fts} match ? order by rank limit ?",
                [words, SEARCH_LIMIT],
            )
            count = (
                await db.execute(f"select count(*) from {s.fts} where {s.fts} match ?", [words])
            ).rows[0][0]
            seen = {r[pk] for r in rows}
            rows += [r for r in matches if r[pk] not in seen]
            total += count - sum(1 for r in matches if r[pk] in seen)
        groups.append({"table": s.table, "pk": pk, "kind": kind, "rows": rows, "total": total})
    return groups


async def _first_db(datasette, request):
    db = datasette.get_database()
    await datasette.ensure_permissions(request.actor, [("view-database", db.name), "view-instance"])
    return db


async def search_view(datasette, request):
    db = await _first_db(datasette, request)
    q = (request.args.get("q") or "").strip()
    groups, error = [], None
    if q:
        try:
            groups = await search_all(db, q)
        except (sqlite3.DatabaseError, QueryInterrupted) as exc:
            error = f"The search could not run: {exc}"
    if request.url_vars.get("format") == "json":
        return Response.json(
            {
                "q": q,
                "error": error,
                "results": {g["table"]: {"total": g["total"], "rows": g["rows"]} for g in groups},
            },
            status=400 if error else 200,
        )
    for group in groups:
        group["more_url"] = (
            datasette.urls.table(db.name, group["table"]) + "?" + urlencode({"_search": q})
        )
    html = await datasette.render_template(
        "portal_search.html",
        {"q": q, "groups": groups, "error": error, "portal_db": db.name},
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
