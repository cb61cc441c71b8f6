"""Linked EMDB maps and PDB models, end to end through the CLI and the loopback archive."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import close_datasette, harvest, query, table_dump

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.index.serve import make_datasette
from empiar_mirror.index.store import NORMALIZED_TABLES


@pytest.fixture(scope="module")
def linked_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("linked") / "empiar.db"
    with ReplayServer() as server:
        result = harvest(server, db, "--json")
        hits = dict(server.hits)
    assert result.returncode == 0, result.stderr
    return db, json.loads(result.stdout), hits


def loads(value):
    return json.loads(value) if value else []


def test_entry_to_maps_to_models_with_withdrawn_map_and_obsolete_model(linked_db):
    db, summary, _ = linked_db
    (row,) = query(
        db,
        "select emdb_ids, pdb_ids, resolution_best_a, resolution_bin, methods, microscopes "
        "from empiar_entries where accession = 'EMPIAR-90010'",
    )
    assert loads(row[0]) == ["EMD-90010", "EMD-90011"]
    # 9Z07 names the map itself (the map's record predates it): a link all the same.
    assert loads(row[1]) == ["9Z01", "9Z02", "9Z07"]
    assert row[2:4] == (2.8, "2–3 Å")
    assert loads(row[4]) == ["single particle"] and loads(row[5]) == ["FEI TITAN KRIOS"]
    # The withdrawn map answers 404: recorded as such, not an error; the entry still landed.
    assert query(db, "select status, empiar_ids from emdb_maps where emdb_id = 'EMD-90011'") == [
        ("not public", '["EMPIAR-90010"]')
    ]
    # The obsolete model: its status, its replacement, and the replacement fetched too.
    assert query(
        db, "select status, replaced_by, emdb_ids from pdb_models where pdb_id = '9Z02'"
    ) == [("OBS", "9Z07", '["EMD-90010"]')]
    assert query(db, "select status, empiar_ids from pdb_models where pdb_id = '9Z07'") == [
        ("REL", '["EMPIAR-90010"]')
    ]
    assert query(db, "select count(*) from harvest_errors") == [(0,)]
    assert summary["emdb"]["not_public"] == 1 and summary["pdb"]["not_public"] == 1


def test_lambda_ber_chain_from_raw_data_to_map_to_model(linked_db):
    db, _, _ = linked_db
    recon = "emdb:EMD-90010/workflow/reconstruction"
    assert query(
        db,
        "select experiment_id, x_owner from workflow_experiment "
        "where workflow_id = ? order by experiment_id",
        (recon,),
    ) == [
        ("emdb:EMD-90010/experiment", "emdb:EMD-90010"),
        ("empiar:EMPIAR-90010/experiment", "empiar:EMPIAR-90010"),
    ]
    inputs = query(
        db, "select file_id, input_type from workflow_input where workflow_id = ?", (recon,)
    )
    assert ("empiar:EMPIAR-90010/imageset/1", "raw_data") in inputs
    outputs = query(
        db, "select file_id, output_type from workflow_output where workflow_id = ?", (recon,)
    )
    assert ("emdb:EMD-90010/file/map", "map") in outputs
    # The map is the reference input of the models built into it (9Z01 and its successor 9Z07).
    assert sorted(
        query(
            db,
            "select w.id, i.input_type from workflow_input i join workflow_run w "
            "on w.id = i.workflow_id where i.file_id = 'emdb:EMD-90010/file/map'",
        )
    ) == [
        ("pdb:9Z01/workflow/model-building", "reference"),
        ("pdb:9Z01/workflow/model-refinement", "reference"),
        ("pdb:9Z07/workflow/model-building", "reference"),
        ("pdb:9Z07/workflow/model-refinement", "reference"),
    ]
    (instrument,) = query(
        db,
        "select model, manufacturer, accelerating_voltage_value, "
        "detector_model, detector_technology from instrument "
        "where id = 'emdb:EMD-25107/instrument/em-1'",
    )
    assert instrument == (
        "FEI TITAN KRIOS",
        "Thermo Fisher Scientific",
        300.0,
        "GATAN K2 SUMMIT (4k x 4k)",
        "direct_electron_detector",
    )
    assert query(
        db,
        "select symmetry, resolution_0_143_value, number_of_particles "
        "from refinement_parameters where workflow_id = "
        "'emdb:EMD-25107/workflow/reconstruction'",
    ) == [("C3", 3.97, 124891)]
    assert query(
        db, "select organism, x_organism_name from sample where id = 'emdb:EMD-25107/sample'"
    ) == [("NCBITaxon:11620", "Lassa mammarenavirus")]
    assert query(
        db,
        "select defocus_range_min_value, defocus_range_min_unit from experiment_run "
        "where id = 'emdb:EMD-25107/experiment'",
    ) == [(0.6, "micrometers")]


def test_a_map_shared_by_two_entries_is_one_set_of_rows(linked_db):
    db, _, hits = linked_db
    assert query(db, "select empiar_ids, pdb_ids from emdb_maps where emdb_id = 'EMD-25107'") == [
        ('["EMPIAR-90022", "EMPIAR-90029"]', '["7SGD"]')
    ]
    assert query(db, "select count(*) from dataset where id = 'emdb:EMD-25107'") == [(1,)]
    assert query(
        db, "select count(*) from workflow_run where id = 'emdb:EMD-25107/workflow/reconstruction'"
    ) == [(1,)]
    linked = query(
        db, "select accession from empiar_entries where pdb_ids like '%7SGD%' order by accession"
    )
    assert linked == [("EMPIAR-90022",), ("EMPIAR-90029",)]
    # Fetched once: the batch answered it, so no single-record request was needed.
    assert hits.get("/emdb/api/entry/EMD-25107", 0) == 0


def test_extended_pdb_id_and_single_object_variants(linked_db):
    db, _, _ = linked_db
    assert query(db, "select pdb_ids from empiar_entries where accession = 'EMPIAR-90013'") == [
        ('["9Z04"]',)
    ]
    assert query(db, "select title from pdb_models where pdb_id = '9Z04'")[0][0].startswith(
        "Cryo-EM"
    )
    # EMD-90003 serves structure determination and specimen preparation as single objects.
    assert query(
        db, "select method, microscope, resolution_a from emdb_maps where emdb_id = 'EMD-90003'"
    ) == [("helical", "FEI TITAN KRIOS", 3.35)]
    assert (
        query(
            db,
            "select grid_type from cryoem_preparation "
            "where preparation_id = 'emdb:EMD-90003/sample-preparation'",
        )[0][0]
        is not None
    )
    # EMD-90026 serves its natural source as a single object.
    assert query(db, "select organisms from emdb_maps where emdb_id = 'EMD-90026'") == [
        ('["Homo sapiens"]',)
    ]


def datasette_get(db, path):
    ds = make_datasette(db)

    async def go():
        await ds.invoke_startup()
        return (await ds.client.get(path)).json()

    try:
        return asyncio.run(go())
    finally:
        close_datasette(ds)


def test_search_finds_entries_by_words_only_their_maps_use(linked_db):
    db, _, _ = linked_db
    assert "lama" not in "".join(p.read_text().lower() for p in (SAMPLE_DIR / "empiar").glob("*"))
    data = datasette_get(db, "/empiar/empiar_entries.json?_search=Lama+glama&_shape=objects")
    assert [r["accession"] for r in data["rows"]] == ["EMPIAR-90027"]
    data = datasette_get(db, "/empiar/empiar_entries.json?_search=EMD-25107&_shape=objects")
    assert sorted(r["accession"] for r in data["rows"]) == ["EMPIAR-90022", "EMPIAR-90029"]
    maps = datasette_get(db, "/empiar/emdb_maps.json?_search=Lassa&_shape=objects")
    assert [r["emdb_id"] for r in maps["rows"]] == ["EMD-25107"]
    models = datasette_get(db, "/empiar/pdb_models.json?_search=apoferritin&_shape=objects")
    assert [r["pdb_id"] for r in models["rows"]] == ["9Z06"]


def test_facets_on_linked_columns(linked_db):
    db, _, _ = linked_db
    facets = datasette_get(
        db,
        "/empiar/empiar_entries.json?_facet=resolution_bin"
        "&_facet_array=methods&_facet_array=organisms",
    )["facet_results"]
    bins = {f["value"]: f["count"] for f in facets["resolution_bin"]["results"]}
    assert bins == {"2–3 Å": 6, "3–4 Å": 4, "4–6 Å": 1, ">10 Å": 1, "<2 Å": 1}
    methods = {f["value"]: f["count"] for f in facets["methods"]["results"]}
    assert methods == {"single particle": 11, "helical": 1, "subtomogram averaging": 1}
    organisms = {f["value"]: f["count"] for f in facets["organisms"]["results"]}
    assert organisms["Homo sapiens"] == 5


def test_per_record_route_gives_the_same_tables_with_more_requests(linked_db, tmp_path):
    db, summary, _ = linked_db
    single = tmp_path / "single.db"
    with ReplayServer() as server:
        result = harvest(server, single, "--no-batch", "--json")
        hits = dict(server.hits)
    assert result.returncode == 0, result.stderr
    # Searches only for one map's validation figures each (the CSV is their only route).
    searches = [path for path in hits if path.startswith("/emdb/api/search/")]
    assert searches and all(path.count("emdb_id:") == 1 for path in searches)
    assert "/rcsb/graphql" not in hits
    no_batch = json.loads(result.stdout)["requests"]
    batch = summary["requests"]
    assert no_batch["emdb"] == 14 and no_batch["rcsb"] == 9  # one per record (+ holdings)
    # EMDB: one search for all maps, then the withdrawn map alone. RCSB: one GraphQL query,
    # the obsolete entry alone and its holdings status, then a query for its replacement.
    assert batch["emdb"] == 2 and batch["rcsb"] == 4
    tables = [
        t for t in NORMALIZED_TABLES if t not in ("emdb_maps", "pdb_models", "empiar_entries")
    ]
    assert table_dump(single, tables) == table_dump(db, tables)


def test_batch_answers_missing_an_id_fall_back_to_single_requests(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(batch_omit={"EMD-90007", "9Z05"}) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--json")
        hits = dict(server.hits)
    assert result.returncode == 0, result.stderr
    assert hits["/emdb/api/entry/EMD-90007"] == 1 and hits["/rcsb/rest/v1/core/entry/9Z05"] == 1
    assert query(db, "select pdb_ids from empiar_entries") == [('["9Z05"]',)]
    assert query(db, "select status from pdb_models where pdb_id = '9Z05'") == [("REL",)]


def test_an_id_a_batch_answers_twice_differently_is_fetched_alone(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(batch_twice={"EMD-90007", "9Z05"}) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--json")
        hits = dict(server.hits)
    assert result.returncode == 0, result.stderr
    assert hits["/emdb/api/entry/EMD-90007"] == 1 and hits["/rcsb/rest/v1/core/entry/9Z05"] == 1
    # Neither copy of the batch is kept: the stored documents are the single routes' answers.
    stored = query(db, "select accession, url from source_record where source in ('emdb', 'pdb')")
    assert ("EMD-90007", "emdb:batch") not in stored and ("9Z05", "pdb:batch") not in stored
    assert query(db, "select count(*) from record_version where payload like '%another copy%'") == [
        (0,)
    ]


def test_a_batch_document_named_by_no_string_is_left_to_its_single_route(tmp_path):
    db = tmp_path / "empiar.db"
    search = '/emdb/api/search/emdb_id:"EMD-90007"'
    odd = json.dumps([{"emdb_id": ["EMD-90007"]}, {"emdb_id": {"id": 1}}]).encode()
    with ReplayServer(bodies={search: odd}) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--json")
        hits = dict(server.hits)
    assert result.returncode == 0, result.stderr
    # The documents, then the validation figures' CSV (which this crafted body fails).
    assert hits[search] == 2 and hits["/emdb/api/entry/EMD-90007"] == 1
    assert query(db, "select emdb_id from emdb_maps") == [("EMD-90007",)]


def test_no_linked_harvests_empiar_alone(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        result = harvest(server, db, "--ids", "EMPIAR-90022", "--no-linked", "--json")
        hits = dict(server.hits)
    assert result.returncode == 0
    assert not any(p.startswith(("/emdb", "/rcsb")) for p in hits)
    assert query(db, "select count(*) from emdb_maps") == [(0,)]
    assert query(db, "select emdb_ids, pdb_ids from empiar_entries") == [
        ('["EMD-25107"]', '["7SGD"]')
    ]
