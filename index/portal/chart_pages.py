"""The charts page, and each chart on its own as SVG."""

from __future__ import annotations

from urllib.parse import urlencode

from datasette import NotFound, Response

from empiar_mirror.index.portal import charts, database

# What a chart leaves out unless asked: obsolete and withdrawn entries, simulated data.
INCLUDES = ("include_obsolete", "include_simulated")


def _included(request) -> dict[str, bool]:
    return {name: request.args.get(name) == "yes" for name in INCLUDES}


def _query(included: dict[str, bool]) -> str:
    chosen = urlencode({name: "yes" for name, on in included.items() if on})
    return f"?{chosen}" if chosen else ""


async def charts_view(datasette, request):
    db = await database.first_db(datasette, request)
    table_url = datasette.urls.table(db.name, "empiar_entries")
    included = _included(request)
    suffix = _query(included)
    drawn = [
        {
            "spec": spec,
            "svg": await charts.render(spec.slug, db, table_url, **included),
            "svg_url": datasette.urls.path(f"-/charts/{spec.slug}.svg") + suffix,
        }
        for spec in charts.CHARTS
    ]
    here = datasette.urls.path("-/charts")
    # Each link turns one choice over and keeps the other.
    toggles = {name: here + _query({**included, name: not on}) for name, on in included.items()}
    html = await datasette.render_template(
        "portal_charts.html",
        {
            "charts": drawn,
            "portal_db": db.name,
            **included,
            "toggle_url": toggles["include_obsolete"],
            "simulated_toggle_url": toggles["include_simulated"],
        },
        request=request,
    )
    return Response.html(html)


async def chart_svg_view(datasette, request):
    db = await database.first_db(datasette, request)
    slug = request.url_vars["slug"]
    if slug not in charts.CHART_SLUGS:
        raise NotFound("No such chart")
    table_url = datasette.urls.table(db.name, "empiar_entries")
    svg = await charts.render(slug, db, table_url, **_included(request))
    return Response(str(svg), content_type="image/svg+xml; charset=utf-8")
