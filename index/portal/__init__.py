"""The portal: a Datasette plugin that links every accession, lists every JSON array, adds a
search over all three front doors (ranked, ids first), server-side charts, readable row pages
and robots.txt, and leads the front doors' table pages with the columns and facets read first.
On a public server it shares the query threads fairly (admission), and keeps its most visited
pages cheap (the home page from `table_counts`, the database page kept a while).

Registered by the package's `datasette` entry point, which names this module: the hooks are
here, each handing its work to the module of that job. The templates and CSS live beside it.
"""

from __future__ import annotations

import functools
import importlib.metadata
from urllib.parse import urlencode

from datasette import Response, hookimpl
from datasette.utils import urlsafe_components

from empiar_mirror.index.archives import ARCHIVES, RETIRED_STATUSES
from empiar_mirror.index.portal import (
    admission,
    chart_pages,
    descriptions,
    feed,
    home,
    labels,
    limits,
    links,
    metadata,
    page_cache,
    query_inputs,
    row_pages,
    search,
    table_page,
)

PLUGIN_NAME = "empiar-mirror"

# Crawlers would otherwise walk Datasette's unbounded space of facet, sort and SQL URLs, and the
# archives' own pages, not a mirror's, are the ones search engines should index.
ROBOTS_TXT = "User-agent: *\nDisallow: /\n"


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    return links.render_cell(value, column, table, database, datasette, row)


@hookimpl
def prepare_connection(conn):
    limits.apply(conn)


@hookimpl
def handle_exception(datasette, request, exception):
    return limits.memory_error_page(datasette, request, exception)


@hookimpl
def prepare_jinja2_environment(env):
    # Globals rather than template variables: Datasette renders its error pages without those.
    env.globals["portal_version"] = importlib.metadata.version("empiar-mirror")
    env.globals["portal_md"] = descriptions.inline_markdown
    env.globals["portal_first_sentence"] = descriptions.first_sentence
    env.globals["portal_labels"] = {a.front_door: a.records for a in ARCHIVES.values()}
    env.globals["portal_status_words"] = links.STATUS_WORDS
    env.globals["portal_column_label"] = labels.column_label
    env.globals["portal_value_label"] = labels.value_label
    env.globals["portal_experiment_types"] = labels.EXPERIMENT_TYPES
    env.globals["portal_retired"] = RETIRED_STATUSES


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins(PLUGIN_NAME, "portal.css")]


@hookimpl
def get_metadata(datasette, key, database, table):
    """The bundled metadata, for every attached empiar-mirror file whatever its name; a
    metadata file given to Datasette is merged over it."""
    return metadata.for_mirrors(datasette)


@hookimpl
def extra_template_vars(view_name, table, database, request, datasette):
    async def inner():
        db_name = database or datasette.get_database().name

        def link(kind, value):
            return links.id_link(datasette, db_name, kind, value) if value else ""

        def archive_link(table_name, pk):
            """For the table view's primary-key column, which Datasette links itself."""
            kind = links.TABLE_ARCHIVE.get(table_name)
            return links.outbound(kind, pk) if kind and links.archive_of(pk, (kind,)) else ""

        found = {"portal_link": link, "archive_link": archive_link, "portal_db": db_name}
        if view_name == "table" and request is not None:
            found["portal_columns"] = functools.partial(
                table_page.column_layout, datasette, request, table
            )
            found["portal_facets"] = functools.partial(table_page.facet_layout, table)
            found["portal_facet_values_shown"] = table_page.FACET_VALUES_SHOWN
            q = (request.args.get("_search") or "").strip()
            if q and table in links.TABLE_ARCHIVE:
                ranked = urlencode({"q": q, "table": table})
                found["portal_ranked"] = datasette.urls.path("-/search") + "?" + ranked
        if view_name == "row" and table in links.TABLE_ARCHIVE and request is not None:
            pk = urlsafe_components(request.url_vars["pks"])[0]
            db = datasette.get_database(db_name)
            found["portal_row"] = await row_pages.row_details(db, table, pk)
        # Datasette 0.65 serves a canned query through its table view, with no table named.
        query_name = request.url_vars.get("table") if request is not None else None
        if view_name == "table" and table is None and query_name:
            found["portal_input_problems"] = query_inputs.problems(request.args)
        return found

    return inner


@hookimpl
def register_routes():
    return [
        (r"^/$", home.home_view),
        (r"^/-/search(\.(?P<format>json))?$", search.search_view),
        (r"^/-/charts$", chart_pages.charts_view),
        (r"^/-/charts/(?P<slug>[a-z-]+)\.svg$", chart_pages.chart_svg_view),
        (r"^/-/changes\.atom$", feed.changes_atom),
        (r"^/robots\.txt$", robots_view),
    ]


@hookimpl
def register_mcp_tools(datasette, mcp):
    # Called by datasette-mcp, installed with the `mcp` extra: only then is `mcp` importable.
    from empiar_mirror.index.portal import mcp_tools

    mcp_tools.register(datasette, mcp)


@hookimpl
def asgi_wrapper(datasette):
    config = datasette.plugin_config(PLUGIN_NAME)
    ranked = search.ranked_redirect(datasette)
    admitted = admission.wrapper(datasette, config)
    cached = page_cache.wrapper(datasette, config)
    return lambda app: ranked(admitted(cached(app)))


async def robots_view(datasette):
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    return Response.text(config.get("robots_txt", ROBOTS_TXT))
