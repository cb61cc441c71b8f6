"""The front-door tables, written here alone: each record's own columns as its mapping gives
them, and the columns that gather several records (an EMPIAR entry's maps and models, a map's
EMPIAR entries, a model's maps), recomputed from the stored rows.

A change marks its record stale in the change's own transaction; `refresh` recomputes the
gathered columns and clears the marks in one transaction, so a run killed in between leaves
the marks for the next run to finish. Their search indexes follow by sqlite-utils' triggers."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index import completeness
from empiar_mirror.index.archives import Archive
from empiar_mirror.index.lambda_ber.enums import ExperimentalMethodEnum as Method
from empiar_mirror.index.lambda_ber.record import ASSOCIATED_MAP, RELATED_PDB, distinct
from empiar_mirror.index.reading import accession_ranges, json_list, rows

# EMPIAR experiment types that name no technique: "EMDB" (the raw data behind EMDB maps) or none.
# Only these entries take their technique and method from other evidence (the linked maps here,
# their own record in harvester/mapping/vocab.py); any other type decides by itself.
GENERIC_EXPERIMENT_TYPES = frozenset({"EMDB", "", None})
# When an entry's maps differ, the most specific method decides: a dataset that gave any
# tomographic map was collected as tilt series; a helical map is of filaments.
MAP_METHOD_ORDER = (
    Method.subtomogram_averaging,
    Method.electron_tomography,
    Method.electron_crystallography,
    Method.helical_reconstruction,
    Method.single_particle_analysis,
)


def resolution_bin(resolution: float | None) -> str | None:
    """Text bins for faceting: [2, 3) is "2–3 Å"."""
    if resolution is None:
        return None
    for limit, label in ((2, "<2 Å"), (3, "2–3 Å"), (4, "3–4 Å"), (6, "4–6 Å"), (10, "6–10 Å")):
        if resolution < limit:
            return label
    return ">10 Å"


def write_own(db: Database, archive: Archive, row: dict[str, Any], harvested_at: str) -> None:
    """A record's own front-door columns; call inside its transaction."""
    row = {**row, "harvested_at": harvested_at}
    columns = list(row)
    # ON CONFLICT keeps the rowid, which the search index points at.
    db.execute(
        "insert into [{}] ({}) values ({}) on conflict ([{}]) do update set {}".format(
            archive.front_door,
            ", ".join(f"[{c}]" for c in columns),
            ", ".join("?" for _ in columns),
            archive.key_column,
            ", ".join(f"[{c}] = excluded.[{c}]" for c in columns if c != archive.key_column),
        ),
        [row[c] for c in columns],
    )
    mark_stale(db, archive.key, row[archive.key_column])


def mark_stale(db: Database, source: str, accession: str) -> None:
    db.execute(
        "insert or ignore into front_door_stale (source, accession) values (?, ?)",
        [source, accession],
    )


def is_stale(db: Database) -> bool:
    return db.execute("select 1 from front_door_stale limit 1").fetchone() is not None


def _own_links(
    db: Database, source: str, description: str, first: str = "", last: str = "\uffff"
) -> dict[str, list[str]]:
    """Accession -> ids its own record links to with this relation (study cross-references),
    for the accessions from `first` to `last`."""
    links: dict[str, list[str]] = defaultdict(list)
    for owner, target in db.execute(
        "select owner_id, database_id from database_cross_reference where owner_table = 'study' "
        "and owner_id >= ? and owner_id < ? and description = ? order by rowid",
        [f"{source}:{first}", f"{source}:{last}0", description],
    ):
        links[owner.split(":", 1)[1].removesuffix("/study")].append(target)
    return links


def _technique(
    entry: dict[str, Any], own: dict[str, Any], linked_maps: list[dict[str, Any]]
) -> dict[str, Any]:
    """An entry's technique, method and their source: from its linked maps' experiments where
    its experiment type names no technique and a map states a method, else its own evidence,
    which its own experiment_run row keeps (technique, experimental_method) beside
    `own_technique_source`."""
    if entry["experiment_type"] in GENERIC_EXPERIMENT_TYPES:
        for method in MAP_METHOD_ORDER:
            found = next((m for m in linked_maps if m["experimental_method"] == method.value), None)
            if found:
                return {
                    "technique": found["technique"],
                    "experimental_method": method.value,
                    "technique_source": "emdb",
                }
    return {
        "technique": own["technique"],
        "experimental_method": own["experimental_method"],
        "technique_source": entry["own_technique_source"],
    }


def _update(db: Database, table: str, key: str, key_value: str, changes: dict[str, Any]) -> None:
    db.execute(
        "update [{}] set {} where [{}] = ?".format(
            table, ", ".join(f"[{c}] = ?" for c in changes), key
        ),
        [*changes.values(), key_value],
    )


def _refresh_entries(
    db: Database,
    first: str,
    last: str,
    maps: dict[str, dict[str, Any]],
    models: dict[str, dict[str, Any]],
    empiar_by_map: dict[str, list[str]],
) -> int:
    """The gathered columns of the entries from `first` to `last`; notes which entries name each
    map in `empiar_by_map`. Returns the number of rows changed."""
    changed = 0
    empiar_pdb = _own_links(db, "empiar", RELATED_PDB, first, last)
    entries = rows(
        db,
        "select e.*, d.x_status as served_status, l.withdrawn_status as withdrawn_status, "
        "l.withdrawn_on as listing_withdrawn_on, r.technique as own_technique, "
        "r.experimental_method as own_experimental_method from empiar_entries e "
        "left join dataset d on d.id = 'empiar:' || e.accession "
        "left join listing_state l on l.accession = e.accession "
        "left join experiment_run r on r.id = 'empiar:' || e.accession || '/experiment' "
        "where e.accession between ? and ? order by e.accession",
        [first, last],
    )
    for entry in entries:
        linked_maps = [maps[i] for i in json_list(entry["emdb_ids"]) if i in maps]
        for emd in json_list(entry["emdb_ids"]):
            empiar_by_map[emd].append(entry["accession"])
        pdb_ids = distinct(
            [
                *empiar_pdb.get(entry["accession"], []),
                *(p for m in linked_maps for p in json_list(m["pdb_ids"])),
            ]
        )
        resolutions = [m["resolution_a"] for m in linked_maps if m["resolution_a"] is not None]
        best = min(resolutions) if resolutions else None
        new = {
            # A withdrawn entry keeps its last copy, marked with what was seen and when.
            "status": entry["withdrawn_status"] or entry["served_status"],
            "withdrawn_on": entry["listing_withdrawn_on"],
            "pdb_ids": json.dumps(pdb_ids),
            "resolution_best_a": best,
            "resolution_bin": resolution_bin(best),
            "methods": json.dumps(distinct(m["method"] for m in linked_maps)),
            "microscopes": json.dumps(distinct(m["microscope"] for m in linked_maps)),
            "detectors": json.dumps(distinct(m["detector"] for m in linked_maps)),
            "microscope_families": json.dumps(
                distinct(m["microscope_family"] for m in linked_maps)
            ),
            "detector_families": json.dumps(distinct(m["detector_family"] for m in linked_maps)),
            "voltages_kv": json.dumps(distinct(m["voltage_kv"] for m in linked_maps)),
            "organisms": json.dumps(
                distinct(o for m in linked_maps for o in json_list(m["organisms"])),
                ensure_ascii=False,
            ),
            "sample_names": json.dumps(
                distinct(m["sample_name"] for m in linked_maps), ensure_ascii=False
            ),
            "software": json.dumps(
                distinct(s for m in linked_maps for s in json_list(m["software"])),
                ensure_ascii=False,
            ),
        }
        own = {
            "technique": entry["own_technique"],
            "experimental_method": entry["own_experimental_method"],
        }
        new.update(_technique(entry, own, linked_maps))
        words = [
            *(w for m in linked_maps for w in (m["emdb_id"], m["title"], m["sample_name"])),
            *(o for m in linked_maps for o in json_list(m["organisms"])),
            *(w for p in pdb_ids for w in (p, (models.get(p) or {}).get("title"))),
        ]
        new["linked_text"] = "\n".join(w for w in words if w)
        changes = {c: v for c, v in new.items() if entry[c] != v}
        if changes:
            _update(db, "empiar_entries", "accession", entry["accession"], changes)
            changed += 1
    return changed


def refresh(db: Database) -> int:
    """Recompute the gathered columns, the entries' linked words and statuses; clear the marks.

    Returns the number of rows changed. Call inside a transaction.
    """
    db.execute("delete from front_door_stale")
    changed = 0
    # Entries look up the maps and models they link to, so those are read whole (the columns the
    # gathering needs); the entries, with their long text, go a range at a time.
    maps = {
        m["emdb_id"]: m
        for m in rows(
            db,
            "select m.emdb_id, m.title, m.sample_name, m.organisms, m.software, m.pdb_ids, "
            "m.empiar_ids, m.resolution_a, m.method, m.microscope, m.detector, "
            "m.microscope_family, m.detector_family, m.voltage_kv, r.technique, "
            "r.experimental_method from emdb_maps m "
            "left join experiment_run r on r.id = 'emdb:' || m.emdb_id || '/experiment'",
        )
    }
    models = {
        m["pdb_id"]: m
        for m in rows(db, "select pdb_id, title, emdb_ids, empiar_ids from pdb_models")
    }
    model_emdb = _own_links(db, "pdb", ASSOCIATED_MAP)
    empiar_by_map: dict[str, list[str]] = defaultdict(list)
    for first, last in accession_ranges(db):
        changed += _refresh_entries(db, first, last, maps, models, empiar_by_map)

    fitted_in: dict[str, list[str]] = defaultdict(list)
    for emd, m in maps.items():
        for pdb in json_list(m["pdb_ids"]):
            fitted_in[pdb].append(emd)
        value = json.dumps(sorted(empiar_by_map.get(emd, [])))
        if m["empiar_ids"] != value:
            _update(db, "emdb_maps", "emdb_id", emd, {"empiar_ids": value})
            changed += 1
    for pdb, model in models.items():
        emdb_ids = distinct([*model_emdb.get(pdb, []), *fitted_in.get(pdb, [])])
        new = {
            "emdb_ids": json.dumps(emdb_ids),
            "empiar_ids": json.dumps(
                sorted({a for e in emdb_ids for a in empiar_by_map.get(e, [])})
            ),
        }
        changes = {c: v for c, v in new.items() if model[c] != v}
        if changes:
            _update(db, "pdb_models", "pdb_id", pdb, changes)
            changed += 1
    _write_links(db)
    changed += completeness.refresh(db)
    return changed


def _write_links(db: Database) -> None:
    """Bring the link tables in line with the front doors' id lists, touching only the pairs that
    changed. Only pairs whose both rows exist, so each foreign key holds; a model names its maps
    and a map its fitted models, and either says it."""
    links = {
        # json_valid first: one malformed list must not stop the refresh.
        "empiar_emdb": (
            "accession, emdb_id",
            "select e.accession, j.value from empiar_entries e, json_each(e.emdb_ids) j "
            "where json_valid(e.emdb_ids) and j.value in (select emdb_id from emdb_maps)",
        ),
        "emdb_pdb": (
            "emdb_id, pdb_id",
            "select m.emdb_id, j.value from emdb_maps m, json_each(m.pdb_ids) j "
            "where json_valid(m.pdb_ids) and j.value in (select pdb_id from pdb_models) "
            "union select j.value, p.pdb_id from pdb_models p, json_each(p.emdb_ids) j "
            "where json_valid(p.emdb_ids) and j.value in (select emdb_id from emdb_maps)",
        ),
    }
    for table, (columns, pairs) in links.items():
        db.execute(f"delete from [{table}] where ({columns}) not in ({pairs})")
        db.execute(f"insert or ignore into [{table}] ({columns}) {pairs}")
