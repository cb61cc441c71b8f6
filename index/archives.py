"""The archives the file holds, as the file and its readers see them: one descriptor each.

The harvest side (services, fetchers, parsers, mappers) extends these in
`empiar_mirror.harvester.archives`; everything that reads the file (store, front doors, export,
status, the portal) finds an archive's names, ids, pages and front door here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Archive:
    key: str  # the source name in source_record and the CURIE prefix of its records' ids
    name: str  # shown to people
    id_pattern: re.Pattern  # an accession as stored, in full
    page_url: str  # the archive's own page for a record, formatted with its accession
    front_door: str  # the table with one row per record
    key_column: str  # that table's primary key: the accession

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
)
EMDB = Archive(
    "emdb",
    "EMDB",
    re.compile(r"EMD-[0-9]{4,9}"),
    "https://www.ebi.ac.uk/emdb/{}",
    "emdb_maps",
    "emdb_id",
)
PDB = Archive(
    "pdb",
    "RCSB PDB",
    # Classic 4-character ids (a digit first) and extended pdb_0000xxxx ids.
    re.compile(r"[0-9][A-Za-z0-9]{3}|pdb_[0-9]{4}[A-Za-z0-9]{4}"),
    "https://www.rcsb.org/structure/{}",
    "pdb_models",
    "pdb_id",
)
ARCHIVES: dict[str, Archive] = {a.key: a for a in (EMPIAR, EMDB, PDB)}
BY_FRONT_DOOR: dict[str, Archive] = {a.front_door: a for a in ARCHIVES.values()}

# Whose word wins in a row several records share (a person, a publication): the richer,
# accented sources first. `index/shared.py` applies it.
MERGE_PRIORITY = ("empiar", "emdb", "pdb")

# The one word for a record an archive does not (or no longer) serve publicly: a 404 or 410 to
# its route, a withdrawn map, an entry gone from the listings. Its front-door `status` says it;
# archives' own statuses (REL, OBS, HPUB, ...) are kept as served.
NOT_PUBLIC = "not public"
