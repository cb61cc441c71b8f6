"""The front-door tables, written here alone: each record's own columns as its mapping gives
them, and the columns that gather several records, recomputed from the stored rows: the id lists
of linked records (from `record_link`, as `links.linked` reads the graph), the link tables, and
an EMPIAR entry's values gathered from its maps and models.

A change marks its record stale in the change's own transaction; `refresh` recomputes the
gathered columns and clears the marks in one transaction, so a run killed in between leaves
the marks for the next run to finish. Their search indexes follow by sqlite-utils' triggers."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index import completeness, file_facts, links, reprocessing, table_counts
from empiar_mirror.index.archives import ARCHIVES, EMDB, EMPIAR, LINK_TABLES, PDB, Archive
from empiar_mirror.index.lambda_ber.enums import ExperimentalMethodEnum as Method
from empiar_mirror.index.lambda_ber.record import distinct
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


RESOLUTION_BINS = ((2, "<2 Å"), (3, "2–3 Å"), (4, "3–4 Å"), (6, "4–6 Å"), (10, "6–10 Å"))
LAST_RESOLUTION_BIN = ">10 Å"
# The bins best first, as a reader scans them (a facet would order them by count).
RESOLUTION_BIN_ORDER = (*(label for _, label in RESOLUTION_BINS), LAST_RESOLUTION_BIN)


def resolution_bin(resolution: float | None) -> str | None:
    """Text bins for faceting: [2, 3) is "2–3 Å"."""
    if resolution is None:
        return None
    for limit, label in RESOLUTION_BINS:
        if resolution < limit:
            return label
    return LAST_RESOLUTION_BIN


def write_own(db: Database, archive: Archive, row: dict[str, Any], changed_at: str) -> None:
    """A record's own front-door columns; call inside its transaction."""
    row = {**row, "changed_at": changed_at}
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


Lists = dict[str, dict[str, dict[str, list[str]]]]


def _refresh_entries(
    db: Database,
    first: str,
    last: str,
    lists: Lists,
    maps: dict[str, dict[str, Any]],
    models: dict[str, dict[str, Any]],
) -> int:
    """The values the entries from `first` to `last` gather from their maps and models. Returns
    the number of rows changed."""
    changed = 0
    entries = rows(
        db,
        "select e.*, d.x_status as served_status, l.withdrawn_status as withdrawn_status, "
        "l.withdrawn_on as listing_withdrawn_on, r.technique as own_technique, "
        "r.experimental_method as own_experimental_method from empiar_entries e "
        "left join dataset d on d.id = 'empiar:' || e.accession "
        "left join listing_state l on l.archive = 'empiar' and l.accession = e.accession "
        "left join experiment_run r on r.id = 'empiar:' || e.accession || '/experiment' "
        "where e.accession between ? and ? order by e.accession",
        [first, last],
    )
    for entry in entries:
        accession = entry["accession"]
        linked_maps = [maps[i] for i in lists[EMPIAR.key][EMDB.key].get(accession, []) if i in maps]
        pdb_ids = lists[EMPIAR.key][PDB.key].get(accession, [])
        resolutions = [m["resolution_a"] for m in linked_maps if m["resolution_a"] is not None]
        best = min(resolutions) if resolutions else None
        new = {
            # A withdrawn entry keeps its last copy, marked with what was seen and when.
            "status": entry["withdrawn_status"] or entry["served_status"],
            "withdrawn_on": entry["listing_withdrawn_on"],
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
            "molecules": json.dumps(
                distinct(s for m in linked_maps for s in json_list(m["molecules"])),
                ensure_ascii=False,
            ),
        }
        own = {
            "technique": entry["own_technique"],
            "experimental_method": entry["own_experimental_method"],
        }
        new.update(_technique(entry, own, linked_maps))
        instruments = ("microscope", "microscope_family", "detector", "detector_family")
        words = [
            *(w for m in linked_maps for w in (m["emdb_id"], m["title"], m["sample_name"])),
            *distinct(m[c] for m in linked_maps for c in instruments),
            *(o for m in linked_maps for o in json_list(m["organisms"])),
            *distinct(w for m in linked_maps for w in json_list(m["molecules"])),
            *(w for p in pdb_ids for w in (p, (models.get(p) or {}).get("title"))),
        ]
        new["linked_text"] = "\n".join(w for w in words if w)
        changes = {c: v for c, v in new.items() if entry[c] != v}
        if changes:
            _update(db, "empiar_entries", "accession", accession, changes)
            changed += 1
    return changed


def _refresh_lists(db: Database, archive: Archive, lists: Lists) -> int:
    """Each record's lists of the records linked to it, one column per linked archive."""
    changed = 0
    columns = {other.ids_column: other.key for other in links.neighbours(archive)}
    for row in rows(
        db,
        "select [{}], {} from [{}]".format(
            archive.key_column, ", ".join(f"[{c}]" for c in columns), archive.front_door
        ),
    ):
        accession = row[archive.key_column]
        new = {c: json.dumps(lists[archive.key][k].get(accession, [])) for c, k in columns.items()}
        changes = {c: v for c, v in new.items() if row[c] != v}
        if changes:
            _update(db, archive.front_door, archive.key_column, accession, changes)
            changed += 1
    return changed


def _refresh_raw_data(db: Database) -> int:
    """A map's raw data is in EMPIAR when a harvested entry links to it (its empiar_ids)."""
    has = "(coalesce(json_array_length(empiar_ids), 0) > 0)"
    changed = db.execute(
        f"select {has}, emdb_id from emdb_maps where has_raw_data is not {has}"
    ).fetchall()
    # Row by row: one UPDATE of 60,000 maps keeps a statement journal of the whole table, in
    # memory (temp_store), for as long as it runs.
    db.conn.executemany("update emdb_maps set has_raw_data = ? where emdb_id = ?", changed)
    return len(changed)


def refresh(db: Database) -> int:
    """Recompute the gathered columns, the link tables, the entries' linked words and statuses,
    and the table counts; clear the marks.

    Returns the number of rows changed. Call inside a transaction.
    """
    db.execute("delete from front_door_stale")
    lists: Lists = {
        a.key: {b.key: links.linked(db, a, b) for b in links.neighbours(a)}
        for a in ARCHIVES.values()
    }
    changed = sum(_refresh_lists(db, a, lists) for a in ARCHIVES.values())
    changed += _refresh_raw_data(db)
    # Entries look up the maps and models they link to, so those are read whole (the columns the
    # gathering needs), and only those: a file holding all of EMDB (`harvest --emdb all`) holds
    # far more. The entries, with their long text, go a range at a time.
    linked_maps = _linked_from_entries(lists, EMDB)
    maps = {
        m["emdb_id"]: m
        for m in rows(
            db,
            "select m.emdb_id, m.title, m.sample_name, m.organisms, m.software, m.molecules, "
            "m.resolution_a, m.method, m.microscope, m.detector, "
            "m.microscope_family, m.detector_family, m.voltage_kv, r.technique, "
            "r.experimental_method from emdb_maps m "
            "left join experiment_run r on r.id = 'emdb:' || m.emdb_id || '/experiment' "
            "where m.emdb_id in (select value from json_each(?))",
            [linked_maps],
        )
    }
    models = {
        m["pdb_id"]: m
        for m in rows(
            db,
            "select pdb_id, title from pdb_models where pdb_id in (select value from json_each(?))",
            [_linked_from_entries(lists, PDB)],
        )
    }
    for first, last in accession_ranges(db):
        changed += _refresh_entries(db, first, last, lists, maps, models)
    _write_link_tables(db, lists)
    changed += file_facts.refresh(db)
    changed += completeness.refresh(db)
    changed += reprocessing.refresh(db)
    table_counts.write(db)
    return changed


def _linked_from_entries(lists: Lists, archive: Archive) -> str:
    """The ids of this archive's records that EMPIAR entries link to, as a JSON list."""
    return json.dumps(sorted({i for ids in lists[EMPIAR.key][archive.key].values() for i in ids}))


def _write_link_tables(db: Database, lists: Lists) -> None:
    """Bring the link tables in line with the lists, touching only the pairs that changed. Only
    pairs whose both rows exist, so each foreign key holds."""
    for table, (a, b) in LINK_TABLES.items():
        held_a = {r[0] for r in db.execute(f"select [{a.key_column}] from [{a.front_door}]")}
        held_b = {r[0] for r in db.execute(f"select [{b.key_column}] from [{b.front_door}]")}
        pairs = {
            (x, y)
            for x, ys in lists[a.key][b.key].items()
            if x in held_a
            for y in ys
            if y in held_b
        }
        columns = f"[{a.key_column}], [{b.key_column}]"
        present = set(db.execute(f"select {columns} from [{table}]").fetchall())
        db.conn.executemany(
            f"delete from [{table}] where ({columns}) = (?, ?)", sorted(present - pairs)
        )
        db.conn.executemany(
            f"insert into [{table}] ({columns}) values (?, ?)", sorted(pairs - present)
        )
