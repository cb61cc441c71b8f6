"""Ids, DOIs and ORCIDs as links, in every cell Datasette renders: an id to its row in the mirror
and to its archive's page, a JSON array as a list of such links (or of values to filter by)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlencode

from datasette.utils import tilde_encode
from markupsafe import Markup

from empiar_mirror.index.archives import ARCHIVES, BY_FRONT_DOOR, RETIRED_STATUSES
from empiar_mirror.index.portal.labels import VALUE_LABELS

TABLE_ARCHIVE = {table: a.key for table, a in BY_FRONT_DOOR.items()}
TABLE_PK = {table: a.key_column for table, a in BY_FRONT_DOOR.items()}

# Which archives a column's values may belong to, by column name: the same names are used by
# the front doors, harvest_errors and the canned queries, so links follow the column everywhere.
ID_COLUMNS = {
    **{c: (a.key,) for a in ARCHIVES.values() for c in (a.key_column, a.ids_column)},
    **dict.fromkeys(("accession", "from_accession", "to_accession"), tuple(ARCHIVES)),
    "replaced_by": ("pdb", "empiar", "emdb"),
}
# The archives' status codes in a reader's words; the code stays in the cell's tooltip.
STATUS_WORDS = {
    "REL": "released",
    "OBS": "obsolete",
    "WDRN": "withdrawn",
    "HPUB": "on hold until publication",
    "HOLD": "on hold",
    "PROC": "being processed",
    "WAIT": "waiting",
    "UNARCH": "not archived",
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
    "molecules",
}
DOI_COLUMNS = {"entry_doi", "citation_doi", "doi"}
# Items of a list shown in a cell: a map named by 10,000 entries is otherwise a list of 10,000
# links in every page that shows its row.
LIST_SHOWN = 100
ORCID = re.compile(r"(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")


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


def _rest_of_list(datasette, database, table, column, row, items) -> Markup:
    """What stands for the items of a list past LIST_SHOWN: their number, linked to the other
    front door filtered to this row's record where the list is of its linked ids."""
    more = f"{len(items) - LIST_SHOWN:,} more"
    own = BY_FRONT_DOOR.get(table)
    other = next((a for a in ARCHIVES.values() if a.ids_column == column), None)
    pk = row[own.key_column] if own and other and row is not None else None
    if not isinstance(pk, str):
        return Markup('<li class="portal-more">… {}</li>').format(more)
    href = (
        datasette.urls.table(database, other.front_door)
        + "?"
        + urlencode({f"{own.ids_column}__arraycontains": pk})
    )
    return Markup('<li class="portal-more">… <a href="{}">{}</a></li>').format(href, more)


def render_cell(value, column, table, database, datasette, row=None) -> Markup | None:
    """A cell's value as HTML, or None for Datasette's own rendering."""
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
        lis = [
            Markup("<li>{}</li>").format(_array_item(datasette, database, table, column, i))
            for i in items[:LIST_SHOWN]
        ]
        if len(items) > LIST_SHOWN:
            lis.append(_rest_of_list(datasette, database, table, column, row, items))
        return Markup('<ul class="portal-list">{}</ul>').format(Markup("").join(lis))
    if column in ID_COLUMNS:
        kind = archive_of(value, ID_COLUMNS[column])
        return id_link(datasette, database, kind, value) if kind else None
    if column in DOI_COLUMNS and value.removeprefix("doi:").startswith("10."):
        return doi_link(value)
    if column == "status" and value in STATUS_WORDS:
        retired = " portal-retired" if value in RETIRED_STATUSES else ""
        return Markup('<span class="portal-status{}" title="status {}">{}</span>').format(
            retired, value, STATUS_WORDS[value]
        )
    if column in VALUE_LABELS and value in VALUE_LABELS[column]:
        return Markup('<span title="{}">{}</span>').format(value, VALUE_LABELS[column][value])
    if column == "orcid":
        match = ORCID.fullmatch(value.strip())
        if match:
            return Markup('<a href="https://orcid.org/{0}">{0}</a>').format(match.group(1))
    return None
