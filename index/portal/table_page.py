"""A front door's table page: the columns and facets a reader scans first lead, the rest one
click away."""

from __future__ import annotations

from dataclasses import dataclass

from datasette.utils import path_with_removed_args, path_with_replaced_args

from empiar_mirror.index.front_doors import RESOLUTION_BIN_ORDER
from empiar_mirror.index.validation import GAP_BIN_ORDER

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
        # Last, so a laptop's first screen keeps the columns above; obsolete entries also say
        # so in search results and on their pages.
        "status",
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
# Facets whose values have an order of their own, shown in it rather than by count.
VALUE_ORDER = {"resolution_bin": RESOLUTION_BIN_ORDER, "resolution_gap_bin": GAP_BIN_ORDER}
UNORDERED = max(len(order) for order in VALUE_ORDER.values())


def leading(spec: list[str], available) -> list[str]:
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
    lead = leading(LEAD_COLUMNS.get(table, ()), set(names))
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
    any the reader added or chose a value of) and those folded under "more facets"; values with
    an order of their own (resolution bins) put in it."""
    for f in facets:
        if f["name"] in VALUE_ORDER:
            order = VALUE_ORDER[f["name"]]
            f["results"].sort(
                key=lambda v, order=order: (
                    order.index(v["value"]) if v["value"] in order else UNORDERED
                )
            )
    lead = leading(LEAD_FACETS.get(table, ()), {f["name"] for f in facets})
    if not lead:
        return facets, []
    shown = sorted((f for f in facets if f["name"] in lead), key=lambda f: lead.index(f["name"]))
    shown += [
        f
        for f in facets
        if f not in shown and (f.get("hideable") or any(v["selected"] for v in f["results"]))
    ]
    return shown, [f for f in facets if f not in shown]
