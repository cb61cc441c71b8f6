"""The archives the file holds, as the file and its readers see them: one descriptor each, and
the graph of links between their records, declared once.

The harvest side (services, fetchers, parsers, mappers) extends these in
`empiar_mirror.harvester.archives`; everything that reads the file (store, front doors, export,
status, the portal) finds an archive's names, ids, pages, front door and links here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from empiar_mirror.index.lambda_ber.record import (
    ASSOCIATED_MAP,
    FITTED_MODEL,
    RELATED_EMDB,
    RELATED_PDB,
    REPLACED_BY,
    REPLACES,
)


@dataclass(frozen=True)
class Archive:
    key: str  # the source name in source_record and the CURIE prefix of its records' ids
    name: str  # shown to people
    id_pattern: re.Pattern  # an accession as stored, in full
    page_url: str  # the archive's own page for a record, formatted with its accession
    front_door: str  # the table with one row per record
    key_column: str  # that table's primary key: the accession
    ids_column: str  # the column of other front doors that lists this archive's linked records
    noun: str  # what one record is, after the archive's name: "EMDB map"
    records: str  # what its records are called, as headings say it: "EMDB maps"

    def curie(self, accession: str) -> str:
        """The dataset id of a record: `empiar:EMPIAR-10442`; its rows use paths below it."""
        return f"{self.key}:{accession}"

    def page(self, accession: str) -> str:
        return self.page_url.format(quote(accession))

    def accession_of(self, dataset_id: str) -> str:
        return dataset_id.removeprefix(f"{self.key}:").split("/", 1)[0]


EMPIAR = Archive(
    "empiar",
    "EMPIAR",
    re.compile(r"EMPIAR-[0-9]{5,9}"),
    "https://www.ebi.ac.uk/empiar/{}/",
    "empiar_entries",
    "accession",
    "empiar_ids",
    "entry",
    "EMPIAR entries",
)
EMDB = Archive(
    "emdb",
    "EMDB",
    re.compile(r"EMD-[0-9]{4,9}"),
    "https://www.ebi.ac.uk/emdb/{}",
    "emdb_maps",
    "emdb_id",
    "emdb_ids",
    "map",
    "EMDB maps",
)
PDB = Archive(
    "pdb",
    "RCSB PDB",
    # Classic 4-character ids (a digit first) and extended pdb_0000xxxx ids.
    re.compile(r"[0-9][A-Za-z0-9]{3}|pdb_[0-9]{4}[A-Za-z0-9]{4}"),
    "https://www.rcsb.org/structure/{}",
    "pdb_models",
    "pdb_id",
    "pdb_ids",
    "model",
    "PDB models",
)
ARCHIVES: dict[str, Archive] = {a.key: a for a in (EMPIAR, EMDB, PDB)}
BY_FRONT_DOOR: dict[str, Archive] = {a.front_door: a for a in ARCHIVES.values()}


@dataclass(frozen=True)
class Link:
    """One way records of an archive name records of another: a row of `record_link` per link a
    record states, owned by that record."""

    source: Archive
    relation: str  # the stating cross reference's description, and `record_link.relation`
    target: Archive
    follow: bool = False  # a harvest fetches the records so named
    column: str | None = None  # stated in the source's own front-door column, not a reference


# The graph. Followed links are fetched in this order: an entry's maps, then the models fitted
# into them before those the entry names.
LINKS = (
    Link(EMPIAR, RELATED_EMDB, EMDB, follow=True),
    Link(EMDB, FITTED_MODEL, PDB, follow=True),
    Link(EMPIAR, RELATED_PDB, PDB, follow=True),
    Link(PDB, ASSOCIATED_MAP, EMDB),
    Link(PDB, REPLACES, PDB),
    Link(PDB, REPLACED_BY, PDB, column="replaced_by"),
    Link(EMPIAR, REPLACED_BY, EMPIAR, column="replaced_by"),
    Link(EMDB, REPLACED_BY, EMDB, column="replaced_by"),
)
# Two archives' records linked through a third besides directly: an entry and the models fitted
# into its maps.
THROUGH = {frozenset((EMPIAR.key, PDB.key)): EMDB}
# The public tables of pairs, one per two front doors (their columns are the two key columns).
LINK_TABLES = {"empiar_emdb": (EMPIAR, EMDB), "emdb_pdb": (EMDB, PDB)}

# Whose word wins in a row several records share (a person, a publication): the richer,
# accented sources first. `index/shared.py` applies it.
MERGE_PRIORITY = ("empiar", "emdb", "pdb")

# The one word for a record an archive does not (or no longer) serve publicly: a 404 or 410 to
# its route, a withdrawn map, an entry gone from the listings. Its front-door `status` says it;
# archives' own statuses (REL, OBS, HPUB, ...) are kept as served.
NOT_PUBLIC = "not public"
# Front-door statuses of records that are no longer current: obsolete (EMPIAR, EMDB and the PDB
# say OBS), withdrawn, or no longer served. Search ranks them last; canned queries and charts
# leave them out unless asked.
RETIRED_STATUSES = ("OBS", "WDRN", NOT_PUBLIC)


def current_sql(alias: str) -> str:
    """An SQL condition: the front-door row `alias` is current (not retired)."""
    marks = ", ".join(f"'{s}'" for s in RETIRED_STATUSES)
    return f"coalesce({alias}.status, '') not in ({marks})"
