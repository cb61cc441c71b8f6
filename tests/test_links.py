"""One source of truth for links: `record_link`, written with each record from the declared
graph, and what users see of it (the front doors' id lists, the link tables, search, row pages,
exports) on the harvested sample and on an upgraded old file."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

from conftest import backup_copy, datasette_get, query

from empiar_mirror.harvester import pipeline
from empiar_mirror.index import front_doors, store
from empiar_mirror.index.export import export_dataset

PRERELEASE = Path(__file__).parent / "fixtures" / "prerelease-0.1.0.db"
LINKS = "select * from record_link order by 1, 2, 3, 4, 5"


def lists(db: Path, table: str, key: str, column: str) -> dict[str, list[str]]:
    return {k: json.loads(v) for k, v in query(db, f"select {key}, {column} from {table}")}


def inverted(named: dict[str, list[str]], held: set[str]) -> set[tuple[str, str]]:
    """(x, y) for each y a record x's list names, held ones only."""
    return {(x, y) for x, ys in named.items() for y in ys if y in held}


def test_a_model_that_names_its_map_reaches_the_maps_entry(harvested_db):
    # 9Z07, the successor of 9Z02, names EMD-90010 itself; the map's own record predates it.
    assert ("pdb", "9Z07", "associated EM volume", "emdb", "EMD-90010", 0) in query(
        harvested_db, LINKS
    )
    entry_models = lists(harvested_db, "empiar_entries", "accession", "pdb_ids")
    assert entry_models["EMPIAR-90010"] == ["9Z01", "9Z02", "9Z07"]
    assert lists(harvested_db, "emdb_maps", "emdb_id", "pdb_ids")["EMD-90010"] == [
        "9Z01",
        "9Z02",
        "9Z07",
    ]
    # Only 9Z07's title says galactose: its entry is found by it, as the model is.
    found = datasette_get(harvested_db, "/mirror/empiar_entries.json?_search=galactose")
    assert [r[0] for r in found.json()["rows"]] == ["EMPIAR-90010"]
    models = datasette_get(harvested_db, "/mirror/pdb_models.json?_search=galactose")
    assert [r[0] for r in models.json()["rows"]] == ["9Z07"]
    page = datasette_get(harvested_db, "/mirror/emdb_maps/EMD-90010").text
    assert 'href="/mirror/pdb_models/9Z07"' in page
    table = datasette_get(harvested_db, "/mirror/record_link?to_accession=EMD-90010").text
    assert (
        'href="/mirror/pdb_models/9Z07"' in table and 'href="/mirror/emdb_maps/EMD-90010"' in table
    )
    db = store.open_readonly(harvested_db)
    try:
        studies = {s["id"] for s in export_dataset(db, "EMPIAR-90010")["studies"]}
    finally:
        db.close()
    assert "pdb:9Z07/study" in studies


def test_link_tables_hold_exactly_the_pairs_the_id_lists_name(harvested_db):
    entries = lists(harvested_db, "empiar_entries", "accession", "emdb_ids")
    entry_models = lists(harvested_db, "empiar_entries", "accession", "pdb_ids")
    map_entries = lists(harvested_db, "emdb_maps", "emdb_id", "empiar_ids")
    map_models = lists(harvested_db, "emdb_maps", "emdb_id", "pdb_ids")
    model_maps = lists(harvested_db, "pdb_models", "pdb_id", "emdb_ids")
    model_entries = lists(harvested_db, "pdb_models", "pdb_id", "empiar_ids")
    maps, models = set(map_models), set(model_maps)

    emdb_pdb = set(query(harvested_db, "select emdb_id, pdb_id from emdb_pdb"))
    assert len(emdb_pdb) == 8
    assert inverted(map_models, models) == emdb_pdb
    assert {(m, p) for p, m in inverted(model_maps, maps)} == emdb_pdb
    empiar_emdb = set(query(harvested_db, "select accession, emdb_id from empiar_emdb"))
    assert inverted(entries, maps) == empiar_emdb
    assert {(e, m) for m, e in inverted(map_entries, set(entries))} == empiar_emdb
    # An entry lists the models of its maps, and each model the entries that list it.
    named_by: dict[str, set[str]] = defaultdict(set)
    for entry, pdb_ids in entry_models.items():
        for pdb_id in pdb_ids:
            named_by[pdb_id].add(entry)
    assert {p: sorted(named_by[p]) for p in models} == model_entries
    for entry, emdb_ids in entries.items():
        fitted = {p for m in emdb_ids for p in map_models.get(m, [])}
        assert fitted <= set(entry_models[entry]), entry


def test_replacement_is_a_link_each_model_states(harvested_db):
    replacements = query(
        harvested_db,
        "select from_accession, relation, to_accession from record_link "
        "where from_archive = 'pdb' and to_archive = 'pdb' order by 1",
    )
    assert replacements == [
        ("9Z02", "replaced by", "9Z07"),
        ("9Z07", "replaces this obsolete entry", "9Z02"),
    ]


def test_reindex_rebuilds_the_links_the_harvest_wrote(harvested_db, tmp_path):
    copy = backup_copy(harvested_db, tmp_path / "reindexed.db")
    harvested = query(copy, LINKS)
    assert len(harvested) > 20
    db = store.open_database(copy)
    try:
        pipeline.reindex(db)
    finally:
        db.close()
    assert query(copy, LINKS) == harvested


def test_an_upgraded_file_has_its_links_without_a_reindex(tmp_path):
    path = tmp_path / "old.db"
    shutil.copy(PRERELEASE, path)
    db = store.open_database(path)
    try:
        upgraded = query(path, LINKS)
        assert ("pdb", "9Z02", "replaced by", "pdb", "9Z07", 0) in upgraded
        assert ("pdb", "9Z07", "associated EM volume", "emdb", "EMD-90010", 0) in upgraded
        # The migration marked the front doors stale; the next refresh reads the new table.
        assert front_doors.is_stale(db)
        with db.atomic():
            front_doors.refresh(db)
        assert query(path, "select pdb_ids from empiar_entries where accession = 'EMPIAR-90010'")[
            0
        ][0] == json.dumps(["9Z01", "9Z02", "9Z07"])
        assert ("EMD-90010", "9Z07") in query(path, "select emdb_id, pdb_id from emdb_pdb")
        # What the migration read from the cross references is what the mapping states.
        pipeline.reindex(db)
        assert query(path, LINKS) == upgraded
    finally:
        db.close()
    primary_key = [
        r[1] for r in sorted(query(path, "pragma table_info(listing_state)"), key=lambda r: r[5])
    ]
    assert primary_key[-2:] == ["archive", "accession"]
