"""The charts page, and each chart on its own as SVG."""

from __future__ import annotations

from datasette import NotFound, Response

from empiar_mirror.index.portal import charts, database


async def charts_view(datasette, request):
    db = await database.first_db(datasette, request)
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
    db = await database.first_db(datasette, request)
    slug = request.url_vars["slug"]
    if slug not in charts.CHART_SLUGS:
        raise NotFound("No such chart")
    svg = await charts.render(slug, db, datasette.urls.table(db.name, "empiar_entries"))
    return Response(str(svg), content_type="image/svg+xml; charset=utf-8")
