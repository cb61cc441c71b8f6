"""The charts page, and each chart on its own as SVG."""

from __future__ import annotations

from datasette import NotFound, Response

from empiar_mirror.index.portal import charts, database


def _include_obsolete(request) -> bool:
    return request.args.get("include_obsolete") == "yes"


async def charts_view(datasette, request):
    db = await database.first_db(datasette, request)
    table_url = datasette.urls.table(db.name, "empiar_entries")
    everything = _include_obsolete(request)
    suffix = "?include_obsolete=yes" if everything else ""
    drawn = [
        {
            "spec": spec,
            "svg": await charts.render(spec.slug, db, table_url, everything),
            "svg_url": datasette.urls.path(f"-/charts/{spec.slug}.svg") + suffix,
        }
        for spec in charts.CHARTS
    ]
    here = datasette.urls.path("-/charts")
    html = await datasette.render_template(
        "portal_charts.html",
        {
            "charts": drawn,
            "portal_db": db.name,
            "include_obsolete": everything,
            "toggle_url": here if everything else here + "?include_obsolete=yes",
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
    svg = await charts.render(slug, db, table_url, _include_obsolete(request))
    return Response(str(svg), content_type="image/svg+xml; charset=utf-8")
