"""Charts of the archive's shape, drawn on the server as plain SVG.

No JavaScript and no CDN: the portal must work offline and on an air-gapped mirror, and every
label is escaped here (markupsafe), so archive text cannot inject markup into the page.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from empiar_mirror.index import completeness
from empiar_mirror.index.archives import RETIRED_STATUSES, current_sql

# Colour-blind-safe palette (Okabe-Ito); "other" is always grey.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
OTHER = "#999999"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'
TOP_N = 10  # microscopes and detectors shown
INSTRUMENT_FAMILIES = {"microscopes": "microscope_families", "detectors": "detector_families"}


@dataclass
class Bar:
    label: str
    value: float
    href: str | None = None
    tooltip: str | None = None


def _nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top` (1, 2 or 5 times a power of ten)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1)  # counts are whole numbers
    return [i * step for i in range(int(math.ceil(top / step)) + 1)]


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _frame(width: int, height: int, title: str, slug: str, body: list[Markup]) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="portal-chart" id="chart-{slug}" '
        'role="img" aria-labelledby="chart-{slug}-title" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" {font} font-size="12">'
        '<title id="chart-{slug}-title">{title}</title>'
        '<rect width="{w}" height="{h}" fill="#fff"/>{body}</svg>'
    ).format(
        slug=slug, w=width, h=height, font=Markup(FONT), title=title, body=Markup("").join(body)
    )


def _link(href: str | None, inner: Markup) -> Markup:
    if not href:
        return inner
    return Markup('<a href="{}">{}</a>').format(href, inner)


def _empty(title: str, slug: str) -> Markup:
    note = Markup('<text x="20" y="60" fill="#555">No data in this mirror yet.</text>')
    return _frame(480, 100, title, slug, [note])


def column_chart(
    title: str,
    slug: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    hrefs: dict[tuple[str, str], str] | None = None,
    y_label: str = "entries",
) -> Markup:
    """Vertical bars, one column per category, stacked by series (one series: plain bars)."""
    if not categories or not any(any(v) for v in series.values()):
        return _empty(title, slug)
    hrefs = hrefs or {}
    legend = len(series) > 1
    longest = max(len(c) for c in categories)
    rotate = len(categories) > 8  # many columns: slanted labels, narrow slots
    slot = 44 if rotate else max(44, longest * 7 + 12)
    left, top, plot_h = 56, 34, 220
    bottom = 24 + (int(longest * 5) + 10 if rotate else 10)
    plot_w = max(360, slot * len(categories))
    right = 190 if legend else 20
    width, height = left + plot_w + right, top + plot_h + bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    ticks = _nice_ticks(max(totals))
    scale = plot_h / ticks[-1]
    out = [
        Markup('<text x="{}" y="20" font-size="14" font-weight="600">{}</text>').format(left, title)
    ]
    for tick in ticks:
        y = top + plot_h - tick * scale
        out.append(
            Markup(
                '<line x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                '<text x="{tx}" y="{ty:.1f}" text-anchor="end" fill="#444">{v}</text>'
            ).format(l=left, r=left + plot_w, y=y, tx=left - 6, ty=y + 4, v=_fmt(tick))
        )
    out.append(
        Markup(
            '<text transform="translate(14 {}) rotate(-90)" text-anchor="middle" fill="#444">'
            "{}</text>"
        ).format(top + plot_h / 2, y_label)
    )
    slot = plot_w / len(categories)
    bar_w = max(6.0, slot * 0.7)

    def colour(j: int, name: str) -> str:
        return OTHER if name == "other" else PALETTE[j % len(PALETTE)]

    for i, category in enumerate(categories):
        x = left + i * slot + (slot - bar_w) / 2
        base = top + plot_h
        for j, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = value * scale
            base -= h
            tip = f"{category} · {name}: {_fmt(value)}" if legend else f"{category}: {_fmt(value)}"
            rect = Markup(
                '<rect class="bar" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                'fill="{}"><title>{}</title></rect>'
            ).format(x, base, bar_w, h, colour(j, name), tip)
            out.append(_link(hrefs.get((category, name)), rect))
        label = Markup(
            '<text x="{x:.1f}" y="{y}" text-anchor="{a}" fill="#222"{t}>{c}</text>'
        ).format(
            x=x + bar_w / 2,
            y=top + plot_h + 16,
            a="end" if rotate else "middle",
            t=Markup(f' transform="rotate(-40 {x + bar_w / 2:.1f} {top + plot_h + 16})"')
            if rotate
            else "",
            c=category,
        )
        out.append(label)
    if legend:
        for j, name in enumerate(series):
            y = top + 6 + j * 18
            out.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="12" height="12" fill="{c}"/>'
                    '<text x="{tx}" y="{ty}" fill="#222">{n}</text>'
                ).format(
                    x=left + plot_w + 16,
                    y=y,
                    c=colour(j, name),
                    tx=left + plot_w + 34,
                    ty=y + 10,
                    n=name,
                )
            )
    return _frame(int(width), int(height), title, slug, out)


def bar_chart(title: str, slug: str, bars: Sequence[Bar], x_label: str = "entries") -> Markup:
    """Horizontal bars, for long labels such as microscope and detector models."""
    if not bars:
        return _empty(title, slug)
    label_w, top, row_h, plot_w = 250, 34, 24, 360
    width = label_w + plot_w + 60
    height = top + row_h * len(bars) + 36
    ticks = _nice_ticks(max(b.value for b in bars))
    scale = plot_w / ticks[-1]
    out = [Markup('<text x="8" y="20" font-size="14" font-weight="600">{}</text>').format(title)]
    bottom = top + row_h * len(bars)
    for tick in ticks:
        x = label_w + tick * scale
        out.append(
            Markup(
                '<line x1="{x:.1f}" x2="{x:.1f}" y1="{t}" y2="{b}" stroke="#ddd"/>'
                '<text x="{x:.1f}" y="{ty}" text-anchor="middle" fill="#444">{v}</text>'
            ).format(x=x, t=top, b=bottom, ty=bottom + 16, v=_fmt(tick))
        )
    out.append(
        Markup('<text x="{}" y="{}" text-anchor="middle" fill="#444">{}</text>').format(
            label_w + plot_w / 2, bottom + 32, x_label
        )
    )
    for i, bar in enumerate(bars):
        y = top + i * row_h
        shown = bar.label if len(bar.label) <= 36 else bar.label[:35] + "…"
        out.append(
            Markup('<text x="{}" y="{}" text-anchor="end" fill="#222">{}</text>').format(
                label_w - 8, y + row_h / 2 + 4, shown
            )
        )
        rect = Markup(
            '<rect class="bar" x="{}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
            "<title>{}</title></rect>"
        ).format(
            label_w,
            y + 4,
            max(bar.value * scale, 1),
            row_h - 8,
            PALETTE[0],
            bar.tooltip or f"{bar.label}: {_fmt(bar.value)}",
        )
        out.append(_link(bar.href, rect))
        out.append(
            Markup('<text x="{:.1f}" y="{}" fill="#444">{}</text>').format(
                label_w + bar.value * scale + 4, y + row_h / 2 + 4, _fmt(bar.value)
            )
        )
    return _frame(width, height, title, slug, out)


@dataclass
class Cell:
    """Maps whose two figures fall in one square of a binned scatter plot."""

    x: float  # the square's lower bounds, in the plot's units
    y: float
    count: int
    href: str | None = None


def binned_scatter(
    title: str,
    slug: str,
    cells: Sequence[Cell],
    step: float,
    top: float,
    x_label: str,
    y_label: str,
) -> Markup:
    """Counts on a square grid of `step` from 0 to `top` (values beyond sit on the edge), a
    circle's area proportional to its count, and the diagonal y = x. A grid rather than a point
    per map: the drawing stays the same size for 60,000 maps as for 60."""
    if not cells:
        return _empty(title, slug)
    left, top_margin, plot = 56, 34, 380
    width, height = left + plot + 24, top_margin + plot + 48
    scale = plot / top
    biggest = max(c.count for c in cells)
    out = [Markup('<text x="8" y="20" font-size="14" font-weight="600">{}</text>').format(title)]
    bottom = top_margin + plot
    ticks = [i * (top / 5) for i in range(6)]
    for tick in ticks:
        x, y = left + tick * scale, bottom - tick * scale
        out.append(
            Markup(
                '<line x1="{x:.1f}" x2="{x:.1f}" y1="{t}" y2="{b}" stroke="#eee"/>'
                '<line x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                '<text x="{x:.1f}" y="{ty}" text-anchor="middle" fill="#444">{v}</text>'
                '<text x="{lx}" y="{y4:.1f}" text-anchor="end" fill="#444">{v}</text>'
            ).format(
                x=x,
                y=y,
                t=top_margin,
                b=bottom,
                l=left,
                r=left + plot,
                ty=bottom + 16,
                lx=left - 6,
                y4=y + 4,
                v=_fmt(tick),
            )
        )
    out.append(
        Markup(
            '<line x1="{l}" y1="{b}" x2="{r}" y2="{t}" stroke="#999" stroke-dasharray="4 3">'
            "<title>recalculated = stated</title></line>"
        ).format(l=left, b=bottom, r=left + plot, t=top_margin)
    )
    out.append(
        Markup('<text x="{}" y="{}" text-anchor="middle" fill="#444">{}</text>').format(
            left + plot / 2, bottom + 34, x_label
        )
    )
    out.append(
        Markup(
            '<text x="14" y="{y}" text-anchor="middle" fill="#444" '
            'transform="rotate(-90 14 {y})">{label}</text>'
        ).format(y=top_margin + plot / 2, label=y_label)
    )
    for cell in cells:
        radius = max(2.0, (step * scale / 2) * math.sqrt(cell.count / biggest))
        cx = left + (min(cell.x, top - step) + step / 2) * scale
        cy = bottom - (min(cell.y, top - step) + step / 2) * scale
        circle = Markup(
            '<circle class="cell" cx="{:.1f}" cy="{:.1f}" r="{:.1f}" fill="{}" fill-opacity="0.75">'
            "<title>{}</title></circle>"
        ).format(
            cx,
            cy,
            radius,
            PALETTE[5] if cell.y > cell.x + step else PALETTE[0],
            f"{cell.count:,} map{'s' if cell.count != 1 else ''}: stated "
            f"{cell.x:g}–{cell.x + step:g} Å, recalculated {cell.y:g}–{cell.y + step:g} Å",
        )
        out.append(_link(cell.href, circle))
    return _frame(width, height, title, slug, out)


# The charts of the portal: SQL over the file, then one of the drawings above.

# The validation chart's squares, and where its axes end (Å).
VALIDATION_STEP = 0.5
VALIDATION_TOP = 10.0

SIZE_BINS = [
    ("< 1 GB", None, 10**9),
    ("1–10 GB", 10**9, 10**10),
    ("10–100 GB", 10**10, 10**11),
    ("100 GB–1 TB", 10**11, 10**12),
    ("1–10 TB", 10**12, 10**13),
    ("≥ 10 TB", 10**13, None),
]


@dataclass
class ChartSpec:
    slug: str
    title: str
    caption: str


CHARTS = [
    ChartSpec(
        "releases",
        "EMPIAR entries released per year, by experiment type",
        "Each column is a release year, stacked by the experiment type EMPIAR records.",
    ),
    ChartSpec(
        "resolution",
        "Best resolution of the linked EMDB maps",
        "One count per entry with a linked map: the best (smallest) resolution among its maps.",
    ),
    ChartSpec(
        "microscopes",
        "Most used microscopes",
        "Entries per microscope family of their linked EMDB maps (top 10): one bar for an "
        "instrument however EMDB spells it.",
    ),
    ChartSpec(
        "detectors",
        "Most used detectors",
        "Entries per detector family of their linked EMDB maps (top 10).",
    ),
    ChartSpec(
        "raw-data",
        "EMDB maps with raw data in EMPIAR, per release year",
        "Of the current EMDB maps in this mirror released each year, the share whose raw data an "
        "EMPIAR entry holds. A mirror of linked maps holds few maps without raw data: harvest "
        "with --emdb all for the whole of EMDB.",
    ),
    ChartSpec(
        "validation",
        "Stated against recalculated resolution",
        "EMDB maps by the resolution their authors state (across) and the one EMDB's validation "
        "recalculates from the half maps (up: masked, phase-randomisation corrected FSC 0.143), "
        "in squares of 0.5 Å; past 10 Å on the edge. Above the diagonal (orange, a square or "
        "more), EMDB's figure is worse than stated. The two are estimated differently: a gap "
        "flags a map to look at, not a verdict.",
    ),
    ChartSpec(
        "sizes",
        "Dataset sizes",
        "Entries per dataset size as EMPIAR reports it (decimal units: 1 GB = 10⁹ bytes).",
    ),
    ChartSpec(
        "completeness",
        "What entries hold",
        "Per completeness rule, the share of the entries it applies to that pass it (a movie "
        "rule applies to cryo-EM/ET movies only); each bar lists the entries failing it.",
    ),
]
CHART_SLUGS = {c.slug: c for c in CHARTS}


def _table_url(table_url: str, **filters) -> str:
    return f"{table_url}?{urlencode(filters)}"


# The table's filter that leaves out what `current_sql` does, for the bars' links.
CURRENT_FILTER = {"status__notin": ",".join(RETIRED_STATUSES)}
# The charts count measured data: simulated entries (INSILICO) only when asked.
MEASURED_SQL = "not e.simulated"
MEASURED_FILTER = {"simulated": 0}


async def render(
    slug: str,
    db,
    table_url: str,
    include_obsolete: bool = False,
    include_simulated: bool = False,
) -> Markup:
    """Query `db` (a datasette Database) and draw chart `slug`; bars link to the filtered
    `empiar_entries` table at `table_url`. Current entries of measured data only, unless
    `include_obsolete` or `include_simulated`."""
    spec = CHART_SLUGS[slug]
    conditions = [
        *([] if include_obsolete else [current_sql("e")]),
        *([] if include_simulated else [MEASURED_SQL]),
    ]
    counted = " and ".join(conditions) or "1"
    # The bars' links leave out what the chart leaves out.
    counted_only = {
        **({} if include_obsolete else CURRENT_FILTER),
        **({} if include_simulated else MEASURED_FILTER),
    }

    def entries_url(url: str, **filters) -> str:
        return _table_url(url, **filters, **counted_only)

    if slug == "releases":
        rows = (
            await db.execute(
                "select release_year, experiment_type, count(*) "
                f"from empiar_entries e where release_year is not null and {counted} group by 1, 2"
            )
        ).rows
        return _releases(spec, [tuple(r) for r in rows], table_url, counted_only)
    if slug == "resolution":
        rows = (
            await db.execute(
                "select resolution_bin, count(*) from empiar_entries e "
                f"where resolution_bin is not null and {counted} "
                "group by 1 order by min(resolution_best_a)"
            )
        ).rows
        cats = [r[0] for r in rows]
        hrefs = {(r[0], "entries"): entries_url(table_url, resolution_bin=r[0]) for r in rows}
        return column_chart(
            spec.title, slug, cats, {"entries": [r[1] for r in rows]}, hrefs, "entries"
        )
    if slug in ("microscopes", "detectors"):
        # By family, so one instrument is one bar however EMDB spells it (FEI / TFS KRIOS).
        column = INSTRUMENT_FAMILIES[slug]
        rows = (
            await db.execute(
                f"select j.value, count(distinct e.accession) from empiar_entries e, "
                f"json_each(e.{column}) j where {counted} "
                f"group by 1 order by 2 desc, 1 limit {TOP_N}"
            )
        ).rows
        bars = [
            Bar(r[0], r[1], entries_url(table_url, **{f"{column}__arraycontains": r[0]}))
            for r in rows
        ]
        return bar_chart(spec.title, slug, bars)
    if slug == "raw-data":
        # Of maps: obsolete ones aside unless asked; simulated data is an entry's, not a map's.
        maps_url = table_url.rsplit("/", 1)[0] + "/emdb_maps"
        return await _raw_data(spec, db, maps_url, {} if include_obsolete else CURRENT_FILTER)
    if slug == "validation":
        step, top = VALIDATION_STEP, VALIDATION_TOP
        rows = (
            await db.execute(
                f"select min(cast(resolution_a / {step} as integer), {int(top / step) - 1}), "
                f"min(cast(recalc_fsc_corrected_0143_a / {step} as integer), "
                f"{int(top / step) - 1}), count(*) from emdb_maps m "
                "where resolution_a > 0 and recalc_fsc_corrected_0143_a > 0 and "
                f"{'1' if include_obsolete else current_sql('m')} group by 1, 2"
            )
        ).rows
        maps_url = table_url.rsplit("/", 1)[0] + "/emdb_maps"
        maps_only = {} if include_obsolete else CURRENT_FILTER
        cells = []
        for i, j, count in rows:
            x, y = i * step, j * step
            filters = {"resolution_a__gte": x, "recalc_fsc_corrected_0143_a__gte": y}
            # The edge squares hold everything beyond: no upper bound there.
            if x + step < top:
                filters["resolution_a__lt"] = x + step
            if y + step < top:
                filters["recalc_fsc_corrected_0143_a__lt"] = y + step
            cells.append(Cell(x, y, count, _table_url(maps_url, **filters, **maps_only)))
        return binned_scatter(
            spec.title,
            slug,
            cells,
            step,
            top,
            "stated resolution (Å)",
            "recalculated by EMDB (Å)",
        )
    if slug == "sizes":
        cases = " ".join(
            f"when dataset_size_bytes < {hi} then {i}"
            for i, (_, _, hi) in enumerate(SIZE_BINS)
            if hi
        )
        rows = (
            await db.execute(
                f"select case {cases} else {len(SIZE_BINS) - 1} end as bin, count(*) "
                f"from empiar_entries e where dataset_size_bytes is not null and {counted} "
                "group by 1"
            )
        ).rows
        counts = dict((r[0], r[1]) for r in rows)
        if not counts:
            return _empty(spec.title, slug)
        cats = [label for label, _, _ in SIZE_BINS]
        hrefs = {}
        for label, lo, hi in SIZE_BINS:
            filters = {}
            if lo:
                filters["dataset_size_bytes__gte"] = lo
            if hi:
                filters["dataset_size_bytes__lt"] = hi
            hrefs[(label, "entries")] = entries_url(table_url, **filters)
        values = [counts.get(i, 0) for i in range(len(SIZE_BINS))]
        return column_chart(spec.title, slug, cats, {"entries": values}, hrefs)
    if slug == "completeness":
        rows = (
            await db.execute(
                "select rule, sum(passed), count(passed) from metadata_check c "
                "join empiar_entries e on e.accession = c.accession "
                f"where passed is not null and {counted} group by 1"
            )
        ).rows
        counts = {r[0]: (r[1], r[2]) for r in rows}
        checks_url = table_url.rsplit("/", 1)[0] + "/metadata_check"
        bars = [
            Bar(
                rule.name,
                round(100 * passed / applied),
                f"{checks_url}?{urlencode({'rule': rule.name, 'passed': 0})}",
                f"{rule.name}: {passed} of {applied} entries ({100 * passed / applied:.0f} %). "
                + rule.description,
            )
            for rule in completeness.RULES
            if rule.name in counts
            for passed, applied in [counts[rule.name]]
        ]
        return bar_chart(spec.title, slug, bars, "% of the entries the rule applies to")
    raise KeyError(slug)


async def _raw_data(spec: ChartSpec, db, maps_url: str, current_only: dict) -> Markup:
    current = current_sql("m") if current_only else "1"
    rows = (
        await db.execute(
            "select release_year, sum(has_raw_data), count(*) from emdb_maps m "
            f"where release_year between {FIRST_RELEASE_YEAR} and {dt.date.today().year + 1} "
            f"and {current} group by 1 order by 1"
        )
    ).rows
    if not rows:
        return _empty(spec.title, spec.slug)
    years = [str(r[0]) for r in rows]
    shares = [round(100 * (r[1] or 0) / r[2], 1) for r in rows]
    hrefs = {
        (str(r[0]), "% with raw data"): _table_url(
            maps_url, release_year=r[0], has_raw_data=1, **current_only
        )
        for r in rows
    }
    return column_chart(
        spec.title, spec.slug, years, {"% with raw data": shares}, hrefs, "% of the maps released"
    )


# The release years the chart spans: a bad date (0000-01-01) must not stretch it over centuries
# (89,346 px). Entries dated outside are left out of it.
FIRST_RELEASE_YEAR = 1990


def _releases(
    spec: ChartSpec, rows: list[tuple], table_url: str, counted_only: dict | None = None
) -> Markup:
    last = dt.date.today().year + 1
    rows = [r for r in rows if isinstance(r[0], int) and FIRST_RELEASE_YEAR <= r[0] <= last]
    if not rows:
        return _empty(spec.title, spec.slug)
    years = range(min(r[0] for r in rows), max(r[0] for r in rows) + 1)
    # An entry with no experiment type is counted as "unknown" and linked with isnull.
    rows = [(year, kind or "unknown", n, kind) for year, kind, n in rows]
    by_type: dict[str, int] = {}
    for _, kind, n, _ in rows:
        by_type[kind] = by_type.get(kind, 0) + n
    ranked = sorted(by_type, key=lambda k: (-by_type[k], k))
    # As many types as the palette has colours; the rest are summed into a grey "other".
    kept = ranked[: len(PALETTE)]
    series = {k: [0] * len(years) for k in kept}
    if len(kept) < len(ranked):
        series["other"] = [0] * len(years)
    hrefs = {}
    for year, kind, n, raw in rows:
        name = kind if kind in series else "other"
        series[name][year - years.start] += n
        if name != "other":
            type_filter = {"experiment_type": raw} if raw else {"experiment_type__isnull": 1}
            hrefs[(str(year), name)] = _table_url(
                table_url, release_year=year, **type_filter, **(counted_only or {})
            )
        else:
            hrefs.setdefault(
                (str(year), name),
                _table_url(table_url, release_year=year, **(counted_only or {})),
            )
    return column_chart(spec.title, spec.slug, [str(y) for y in years], series, hrefs)
