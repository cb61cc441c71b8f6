"""Export of one EMPIAR entry, with its linked maps and models, as a lambda-ber Dataset document."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SAMPLE_ENTRIES, harvest, invoke, query, run_cli
from sqlite_utils import Database

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.index.export import dump, entry_accessions, export_dataset

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "lambda-ber" / "schema"
LINKED_MODEL_FILE = SAMPLE_DIR / "rcsb" / "entry" / "7SGD.json"
BOOKKEEPING = {"dataset_id", "image_type", "owner_table", "owner_id"}

# Dataset slot -> (table, key columns); entities are keyed by id.
ENTITY_SLOTS = {
    "studies": "study",
    "persons": "person",
    "organizations": "organization",
    "publications": "publication",
    "instruments": "instrument",
    "proteins": "protein",
    "nucleic_acids": "nucleic_acid",
    "small_molecules": "small_molecule",
    "samples": "sample",
    "sample_components": "sample_component",
    "sample_preparations": "sample_preparation",
    "experiment_runs": "experiment_run",
    "workflow_runs": "workflow_run",
    "data_files": "data_file",
    "images": "image",
}
ASSOCIATION_SLOTS = {
    "study_sample_associations": ("study_sample", ("study_id", "sample_id")),
    "study_experiment_associations": ("study_experiment", ("study_id", "experiment_id")),
    "study_workflow_associations": ("study_workflow", ("study_id", "workflow_id")),
    "experiment_sample_associations": ("experiment_sample", ("experiment_id", "sample_id")),
    "experiment_instrument_associations": (
        "experiment_instrument",
        ("experiment_id", "instrument_id"),
    ),
    "workflow_experiment_associations": ("workflow_experiment", ("workflow_id", "experiment_id")),
    "workflow_input_associations": ("workflow_input", ("workflow_id", "file_id")),
    "workflow_output_associations": ("workflow_output", ("workflow_id", "file_id")),
    "study_person_associations": ("study_person", ("study_id", "person_id", "role")),
    "study_organization_associations": (
        "study_organization",
        ("study_id", "organization_id", "role", "award_number"),
    ),
    "study_publication_associations": ("study_publication", ("study_id", "publication_id")),
    "person_organization_associations": (
        "person_organization",
        ("person_id", "organization_id", "role"),
    ),
}
# Inlined groups: table -> (owner's Dataset slot, owner key column, slot name on the owner).
GROUPS = {
    "data_collection_strategy": ("experiment_runs", "experiment_id", "data_collection_strategy"),
    "quality_metrics": ("experiment_runs", "experiment_id", "quality_metrics"),
    "refinement_parameters": ("workflow_runs", "workflow_id", "refinement_params"),
    "particle_picking_parameters": ("workflow_runs", "workflow_id", "particle_picking_params"),
    "cryoem_preparation": ("sample_preparations", "preparation_id", "cryoem_preparation"),
    "buffer_composition": ("samples", "sample_id", "buffer_composition"),
}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "empiar.db"
    with ReplayServer() as server:
        result = harvest(server, path)
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def db(db_path):
    database = Database(db_path)
    yield database
    database.close()


@pytest.fixture(scope="module")
def validator():
    if not (SCHEMA_DIR / "lambda_ber_schema.yaml").is_file():
        pytest.skip(f"the lambda-ber schema is not at {SCHEMA_DIR} (reference copy not present)")
    pytest.importorskip(
        "linkml.validator", reason="linkml is not installed (test-only: pip install linkml)"
    )
    from linkml.validator import Validator
    from linkml.validator.plugins import JsonschemaValidationPlugin

    return Validator(
        str(SCHEMA_DIR / "lambda_ber_schema.yaml"),
        validation_plugins=[JsonschemaValidationPlugin(closed=True)],
    )


@pytest.fixture(scope="module")
def closed_world_schema(validator):
    """lambda-ber's JSON Schema as a strict reader generates it: closed classes, and a slot's
    range its own class only. linkml's validator by default also admits the range's subclasses
    (`include_range_class_descendants=True`), so a Movie passes where `Dataset.images` asks for
    an Image; a reader of the schema cannot tell a Movie there, Image having no type designator."""
    from linkml.validator import Validator
    from linkml.validator.plugins import JsonschemaValidationPlugin

    return Validator(
        str(SCHEMA_DIR / "lambda_ber_schema.yaml"),
        validation_plugins=[
            JsonschemaValidationPlugin(closed=True, include_range_class_descendants=False)
        ],
    )


@pytest.fixture(scope="module")
def generated_classes(validator, tmp_path_factory):
    """The schema's own pydantic classes as linkml generates them (extra='forbid'), compiled
    once into a temporary module."""
    import importlib.util

    from linkml.generators.pydanticgen import PydanticGenerator

    path = tmp_path_factory.mktemp("lambda_ber_classes") / "lambda_ber_generated.py"
    path.write_text(PydanticGenerator(str(SCHEMA_DIR / "lambda_ber_schema.yaml")).serialize())
    spec = importlib.util.spec_from_file_location("lambda_ber_generated", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _image_as_read(doc: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    """An exported image with its subclass slots, which the export keeps on its run."""
    prefix = f"{image['id']}#"
    out = dict(image)
    for run in doc.get("experiment_runs", []) + doc.get("workflow_runs", []):
        for m in run.get("additional_metrics", []):
            if m["attribute"]["id"].startswith(prefix):
                out[m["attribute"]["id"].removeprefix(prefix)] = {
                    k: v for k, v in m.items() if k != "attribute"
                }
        for p in run.get("additional_properties", []):
            if p["attribute"]["id"].startswith(prefix):
                out[p["attribute"]["id"].removeprefix(prefix)] = p["value"]
    return out


def _rows(db_path: Path, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def _owned(column: str, owner: str) -> tuple[str, tuple]:
    return f"([{column}] = ? or [{column}] like ?)", (owner, f"{owner}/%")


def _assert_row_in(obj: dict[str, Any], row: dict[str, Any], where: str, key: str = "") -> None:
    """Every lambda-ber column of a row is in its object: QuantityValues rebuilt, 0/1 as bools."""
    for column, value in row.items():
        if value is None or column.startswith("x_") or column in BOOKKEEPING or column == key:
            continue
        base = column.rsplit("_", 1)[0]
        if column.endswith("_value") and f"{base}_unit" in row:
            assert obj[base]["numeric_value"] == value, f"{where}: {column}"
        elif column.endswith("_unit") and f"{base}_value" in row:
            assert obj[base]["unit"] == value, f"{where}: {column}"
        elif isinstance(obj.get(column), bool):
            assert value in (0, 1) and obj[column] is bool(value), f"{where}: {column}"
        else:
            assert obj.get(column) == value, f"{where}: {column}"
    assert not any(k.startswith("x_") or k in BOOKKEEPING for k in obj), where


def _assert_owned_rows_exported(db_path: Path, doc: dict[str, Any], owner: str) -> int:
    """Every row `owner` has in the lambda-ber tables is in the document; returns how many."""
    seen = 0
    for slot, table in ENTITY_SLOTS.items():
        by_id = {o["id"]: o for o in doc.get(slot, [])}
        where, params = _owned("id", owner)
        for row in _rows(db_path, f"select * from [{table}] where {where}", params):
            assert row["id"] in by_id, f"{table} {row['id']} missing from {slot}"
            obj = by_id[row["id"]]
            if table == "image":
                assert not set(obj) & {"dimensions_z", "voxel_size", "frames"}, row["id"]
                obj = _image_as_read(doc, obj)
                assert obj.pop("image_type", "Image") == row["image_type"], row["id"]
            _assert_row_in(obj, row, f"{table} {row['id']}")
            seen += 1
    for slot, (table, keys) in ASSOCIATION_SLOTS.items():
        column = "x_owner" if table.startswith("workflow_") else keys[0]
        if table == "person_organization":
            continue  # owned by people, checked through the persons
        where, params = _owned(column, owner)
        objects = doc.get(slot, [])
        for row in _rows(db_path, f"select * from [{table}] where {where}", params):
            match = [o for o in objects if all(o.get(k) == row[k] for k in keys)]
            assert len(match) == 1, f"{table} {row} not once in {slot}"
            _assert_row_in(match[0], row, f"{table} {row}")
            seen += 1
    for table, (slot, key, name) in GROUPS.items():
        by_id = {o["id"]: o for o in doc.get(slot, [])}
        where, params = _owned(key, owner)
        for row in _rows(db_path, f"select * from [{table}] where {where}", params):
            group = by_id[row[key]][name]
            _assert_row_in(group, row, f"{table} {row[key]}", key)
            seen += 1
    return seen


def test_empiar_10442_every_own_row_is_in_the_document(db, db_path):
    doc = export_dataset(db, "EMPIAR-10442")
    assert doc["id"] == "empiar:EMPIAR-10442"
    assert doc["title"].startswith("170314, Five-day-old Col-0 Arabidopsis thaliana root")
    assert doc["release_date"] == "2020-10-23"
    assert not any(k.startswith("x_") for k in doc)
    assert _assert_owned_rows_exported(db_path, doc, "empiar:EMPIAR-10442") >= 15

    files = query(
        db_path,
        "select id, file_name from data_file where id like 'empiar:EMPIAR-10442/%' order by id",
    )
    assert len(files) == 4
    assert [(f["id"], f["file_name"]) for f in doc["data_files"]] == files
    assert all(f["file_format"] == "mrc" for f in doc["data_files"])

    # People: every linked person, ORCIDs in the URL form lambda-ber requires.
    people = {p["id"]: p for p in doc["persons"]}
    linked = {a["person_id"] for a in doc["study_person_associations"]}
    assert set(people) == linked
    with_orcid = [p for p in people.values() if "orcid" in p]
    assert with_orcid and all(p["orcid"].startswith("https://orcid.org/") for p in with_orcid)
    assert all(p["id"] == p["orcid"] for p in with_orcid)
    contact = [a for a in doc["study_person_associations"] if a["role"] == "contact"]
    assert contact and contact[0]["corresponding"] is True

    # The publication, its authors in their published order.
    (pub,) = doc["publications"]
    assert pub["id"] == "doi:10.1038/s41477-019-0429-5"
    authors = [
        r[0]
        for r in query(
            db_path,
            "select name from publication_author where publication_id = ? order by position",
            (pub["id"],),
        )
    ]
    assert pub["authors"] == authors and len(authors) == 19
    assert authors[:3] == ["Yan D", "Yadav SR", "Paterlini A"]
    assert pub["year"] == 2019 and pub["unpublished"] is False
    (link,) = doc["study_publication_associations"]
    assert link == {"study_id": "empiar:EMPIAR-10442/study", "publication_id": pub["id"]} | {
        "is_primary": True
    }

    # QuantityValues rebuilt from their column pairs.
    (experiment,) = doc["experiment_runs"]
    assert experiment["calibrated_pixel_size"] == {"numeric_value": 70.0, "unit": "Angstroms"}
    assert experiment["number_of_images"] == {"numeric_value": 4.0, "unit": "images"}
    pixel_sizes = query(
        db_path,
        "select pixel_size_value, pixel_size_unit from image "
        "where id like 'empiar:EMPIAR-10442/%' and pixel_size_value is not null order by id",
    )
    exported = [
        (i["pixel_size"]["numeric_value"], i["pixel_size"]["unit"])
        for i in doc["images"]
        if "pixel_size" in i
    ]
    assert exported == pixel_sizes and pixel_sizes
    # EMPIAR's own facts without a lambda-ber slot: the escape hatches of the experiment.
    assert {
        "attribute": {"id": "empiar:experiment_type", "label": "experiment_type"},
        "value": "SBF-SEM",
    } in experiment["additional_properties"]
    size, *sections = [
        m for m in experiment["additional_metrics"] if "#" not in m["attribute"]["id"]
    ]
    assert size["attribute"]["id"] == "empiar:dataset_size" and size["unit"] == "bytes"
    # Each section stack's thickness, as its details state it (0.04 um).
    assert [(m["numeric_value"], m["unit"]) for m in sections] == [(400.0, "Angstroms")] * 4

    # Multivalued slots of the study, from their child tables.
    (study,) = doc["studies"]
    assert study["keywords"] == ["SBF-SEM"]
    assert study["database_cross_references"][0]["database_id"] == "EMPIAR-10442"
    assert "dataset_id" not in study
    # No linked records: no cross-archive links.
    assert "workflow_runs" not in doc and "workflow_input_associations" not in doc


def test_entry_with_linked_map_and_model(db, db_path):
    doc = export_dataset(db, "EMPIAR-90022")
    assert doc["id"] == "empiar:EMPIAR-90022"
    studies = [s["id"] for s in doc["studies"]]
    assert studies == ["emdb:EMD-25107/study", "empiar:EMPIAR-90022/study", "pdb:7SGD/study"]
    for owner in ("empiar:EMPIAR-90022", "emdb:EMD-25107", "pdb:7SGD"):
        assert _assert_owned_rows_exported(db_path, doc, owner) > 5, owner

    # The chain: EMPIAR movies -> EMDB reconstruction -> map -> PDB model.
    recon = "emdb:EMD-25107/workflow/reconstruction"
    assert {
        "workflow_id": recon,
        "file_id": "empiar:EMPIAR-90022/imageset/1",
        "input_type": "raw_data",
    } in doc["workflow_input_associations"]
    assert {"workflow_id": recon, "experiment_id": "empiar:EMPIAR-90022/experiment"} in doc[
        "workflow_experiment_associations"
    ]
    assert {
        "workflow_id": recon,
        "file_id": "emdb:EMD-25107/file/map",
        "output_type": "map",
    } in doc["workflow_output_associations"]
    if LINKED_MODEL_FILE.is_file():
        assert {
            "workflow_id": "pdb:7SGD/workflow/model-building",
            "file_id": "emdb:EMD-25107/file/map",
            "input_type": "reference",
        } in doc["workflow_input_associations"]
        model = next(w for w in doc["workflow_runs"] if w["id"].startswith("pdb:7SGD/"))
        assert model["deposited_to_pdb"] is True and model["pdb_id"] == "7SGD"
    # EMPIAR-90029 feeds the same reconstruction, but its rows are not this entry's.
    assert not any("EMPIAR-90029" in json.dumps(a) for a in doc["workflow_input_associations"])
    assert not any(key.get("x_owner") for key in doc["workflow_input_associations"])

    # Inlined groups rebuilt under the slot names lambda-ber uses.
    workflow = next(w for w in doc["workflow_runs"] if w["id"] == recon)
    assert workflow["refinement_params"]["symmetry"] == "C3"
    assert workflow["refinement_params"]["number_of_particles"] == 124891
    assert workflow["refinement_params"]["resolution_0_143"] == {
        "numeric_value": 3.97,
        "unit": "Angstroms",
    }
    picking = next(w for w in doc["workflow_runs"] if "particle_picking_params" in w)
    assert picking["particle_picking_params"]["number_of_particles_selected"] > 0
    experiment = next(e for e in doc["experiment_runs"] if e["id"] == "emdb:EMD-25107/experiment")
    assert experiment["quality_metrics"]["resolution"]["numeric_value"] == 3.97
    assert experiment["data_collection_strategy"]["collection_mode"] == "single_particle"
    sample = next(s for s in doc["samples"] if s["id"] == "emdb:EMD-25107/sample")
    assert sample["buffer_composition"]["ph"] == {"numeric_value": 7.0, "unit": "pH"}
    assert sample["buffer_composition"]["components"] == [
        r[0]
        for r in query(
            db_path,
            "select component from buffer_component where sample_id = ? order by position",
            (sample["id"],),
        )
    ]
    preparation = doc["sample_preparations"][0]
    assert preparation["cryoem_preparation"]["glow_discharge_applied"] is True
    instrument = next(i for i in doc["instruments"] if i["id"].startswith("emdb:"))
    assert instrument["instrument_type"] == "CryoEMInstrument"
    assert instrument["accelerating_voltage"] == {"numeric_value": 300.0, "unit": "kV"}
    map_image = next(i for i in doc["images"] if i["id"] == "emdb:EMD-25107/file/map/image")
    assert "image_type" not in map_image
    assert _image_as_read(doc, map_image)["voxel_size"]["unit"] == "Angstroms"
    # Shared people and publications the linked studies point at come along.
    linked_people = {a["person_id"] for a in doc["study_person_associations"]}
    assert linked_people == {p["id"] for p in doc["persons"]}
    assert {p["id"] for p in doc["publications"]} == {
        a["publication_id"] for a in doc["study_publication_associations"]
    }


def test_withdrawn_linked_map_is_left_out_without_failing(db):
    doc = export_dataset(db, "EMPIAR-90010")
    studies = {s["id"] for s in doc["studies"]}
    assert "emdb:EMD-90010/study" in studies and "emdb:EMD-90011/study" not in studies


@pytest.mark.parametrize("accession", ["EMPIAR-10442", "EMPIAR-90022"])
def test_dump_round_trips_json_and_yaml(db, accession):
    doc = export_dataset(db, accession)
    assert json.loads(dump(doc, "json")) == doc
    assert yaml.safe_load(dump(doc, "yaml")) == doc
    text = dump(doc, "yaml")
    assert text.startswith(f"id: empiar:{accession}\n")
    if accession == "EMPIAR-10442":
        assert "Yrjö" in dump(doc, "json") and "Yrjö" in text  # unicode kept, not escaped


def test_order_is_stable_and_by_id(db):
    doc = export_dataset(db, "EMPIAR-90022")
    assert export_dataset(db, "EMPIAR-90022") == doc
    for slot in ENTITY_SLOTS:
        ids = [o["id"] for o in doc.get(slot, [])]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), slot


def test_accession_forms_and_unknown_accession(db):
    doc = export_dataset(db, "EMPIAR-10442")
    assert export_dataset(db, "10442") == doc
    assert export_dataset(db, "empiar:EMPIAR-10442") == doc
    with pytest.raises(LookupError, match=r"^EMPIAR-99999 is not in this database$"):
        export_dataset(db, "EMPIAR-99999")
    with pytest.raises(LookupError, match="is not in this database"):
        export_dataset(db, "not-an-accession")
    with pytest.raises(ValueError, match="unknown format"):
        dump(doc, "xml")


def test_every_sample_entry_exports(db):
    for accession in SAMPLE_ENTRIES:
        doc = export_dataset(db, accession)
        assert doc["id"] == f"empiar:{accession}" and doc["studies"], accession


@pytest.mark.parametrize("accession", ["EMPIAR-10442", "EMPIAR-90022"])
def test_document_validates_against_lambda_ber(db, validator, accession):
    report = validator.validate(export_dataset(db, accession), "Dataset")
    assert not report.results, "\n".join(r.message[:500] for r in report.results[:10])


def test_every_sample_entry_validates(db, validator):
    problems = []
    for accession in SAMPLE_ENTRIES:
        report = validator.validate(export_dataset(db, accession), "Dataset")
        problems += [f"{accession}: {r.message[:300]}" for r in report.results]
    assert not problems, "\n".join(problems[:20])


def test_every_sample_entry_loads_in_a_closed_world_json_schema(db, closed_world_schema):
    problems = []
    for accession in SAMPLE_ENTRIES:
        report = closed_world_schema.validate(export_dataset(db, accession), "Dataset")
        problems += [f"{accession}: {r.message[:300]}" for r in report.results]
    assert not problems, "\n".join(problems[:20])


def test_every_sample_entry_loads_in_lambda_bers_generated_classes(db, generated_classes):
    assert generated_classes.Image.model_config["extra"] == "forbid"
    problems = []
    for accession in SAMPLE_ENTRIES:
        try:
            generated_classes.Dataset.model_validate(export_dataset(db, accession))
        except ValueError as error:
            problems.append(f"{accession}: {str(error)[:300]}")
    assert not problems, "\n".join(problems[:20])


def test_an_images_subclass_facts_are_on_the_run_that_made_it(db):
    """A strict reader loads a plain Image; the movie's frames, the map's depth and voxel, and
    which class each image is, are attributes of the runs, named by the image."""
    doc = export_dataset(db, "EMPIAR-90022")
    runs = {r["id"]: r for r in doc["experiment_runs"] + doc["workflow_runs"]}
    movie = "empiar:EMPIAR-90022/imageset/1/image"
    experiment = runs["empiar:EMPIAR-90022/experiment"]
    assert {
        "attribute": {"id": f"{movie}#frames", "label": "Movie.frames"},
        "numeric_value": 40.0,
        "unit": "frames",
    } in experiment["additional_metrics"]
    assert {
        "attribute": {"id": f"{movie}#image_type", "label": "image class"},
        "value": "Movie",
    } in experiment["additional_properties"]
    volume = "emdb:EMD-25107/file/map/image"
    reconstruction = runs["emdb:EMD-25107/workflow/reconstruction"]
    depth = {
        m["attribute"]["id"]: (m["attribute"]["label"], m["numeric_value"], m["unit"])
        for m in reconstruction["additional_metrics"]
    }
    assert depth[f"{volume}#dimensions_z"] == ("Image3D.dimensions_z", 220.0, "pixels")
    assert depth[f"{volume}#voxel_size"] == ("Image3D.voxel_size", 1.03, "Angstroms")
    image = next(i for i in doc["images"] if i["id"] == volume)
    assert "dimensions_z" not in image and image["dimensions_x"]["numeric_value"] == 220.0


def test_validator_rejects_what_lambda_ber_does_not_allow(db, validator):
    """The check above is not vacuous: a bare ORCID and an unknown slot are refused."""
    doc = export_dataset(db, "EMPIAR-10442")
    doc["persons"][0]["orcid"] = doc["persons"][0]["orcid"].removeprefix("https://orcid.org/")
    doc["data_files"][0]["x_empiar_category"] = "micrographs"
    messages = [r.message for r in validator.validate(doc, "Dataset").results]
    assert any("orcid" in m for m in messages), messages
    assert any("x_empiar_category" in m for m in messages), messages


def test_cli_export(db, db_path, tmp_path):
    result = invoke("export", str(db_path), "EMPIAR-10442")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == export_dataset(db, "EMPIAR-10442")
    out = tmp_path / "10442.json"
    result = invoke("export", str(db_path), "10442", "--format", "json", "-o", str(out))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert json.loads(out.read_text(encoding="utf-8")) == export_dataset(db, "EMPIAR-10442")


def test_cli_export_errors_are_one_line(db_path, tmp_path):
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello\n")
    for args, message in (
        ((str(db_path), "EMPIAR-99999"), "EMPIAR-99999 is not in this database"),
        ((str(not_a_db), "EMPIAR-10442"), "is not an SQLite database"),
        ((str(tmp_path / "missing.db"), "EMPIAR-10442"), "does not exist"),
    ):
        result = run_cli("export", *args)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert result.stderr.startswith("empiar-mirror: error: ")


def test_no_association_names_a_record_the_document_does_not_hold(harvested_db):
    db = Database(harvested_db)
    for accession in entry_accessions(db):
        doc = export_dataset(db, accession)
        held = {
            obj["id"]
            for slot, items in doc.items()
            if isinstance(items, list)
            for obj in items
            if isinstance(obj, dict) and "id" in obj
        }
        for slot, items in doc.items():
            if not slot.endswith("_associations"):
                continue
            for link in items:
                dangling = {v for k, v in link.items() if k.endswith("_id") and v not in held}
                assert not dangling, (accession, slot, dangling)


def test_principal_investigators_come_in_empiars_order(tmp_path):
    acc = "EMPIAR-90015"
    doc = json.loads((SAMPLE_DIR / "empiar" / f"{acc}.json").read_text())
    doc[acc]["principal_investigator"].reverse()  # the later ORCID first
    overlay = tmp_path / "overlay" / "empiar"
    overlay.mkdir(parents=True)
    (overlay / f"{acc}.json").write_text(json.dumps(doc))
    db = tmp_path / "mirror.db"
    with ReplayServer([SAMPLE_DIR, overlay.parent]) as server:
        assert harvest(server, db, "--ids", acc, "--no-linked").returncode == 0
    exported = export_dataset(Database(db), acc)
    investigators = [
        link["person_id"]
        for link in exported["study_person_associations"]
        if link["role"] == "principal_investigator"
    ]
    assert investigators == [
        f"https://orcid.org/{p['author_orcid']}" for p in doc[acc]["principal_investigator"]
    ]
