"""Reading EMDB and RCSB documents: valueOf_ wrappers, list-or-object, date-times, extended ids."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import FIXTURES

from empiar_mirror.harvester.raw.emdb import parse_emdb
from empiar_mirror.harvester.raw.rcsb import parse_holdings, parse_rcsb
from empiar_mirror.harvester.replay import SAMPLE_DIR

EMD_25107 = SAMPLE_DIR / "emdb" / "EMD-25107.json"


@pytest.fixture
def emd_25107():
    return json.loads(EMD_25107.read_text())


def test_recorded_emdb_entry_reads_cleanly(emd_25107):
    e = parse_emdb(emd_25107)
    assert (e.emdb_id, e.status, e.method) == ("EMD-25107", "REL", "singleParticle")
    assert (e.resolution, e.resolution_method, e.symmetry) == (3.97, "FSC 0.143 CUT-OFF", "C3")
    assert (e.release_date, e.deposition_date) == ("2022-10-12", "2021-10-05")
    assert (e.microscope, e.voltage_kv, e.cs_mm) == ("FEI TITAN KRIOS", 300.0, 2.7)
    assert (e.defocus_min_um, e.defocus_max_um, e.magnification) == (0.6, 1.6, 29000)
    assert (e.detector, e.detector_mode, e.dose) == ("GATAN K2 SUMMIT (4k x 4k)", "COUNTING", 50.4)
    assert e.pdb_ids == ["7SGD"]
    assert [(o.ncbi, o.name) for o in e.organisms] == [(11620, "Lassa mammarenavirus")]
    assert [m.role for m in e.maps] == ["primary", "half", "half", "mask"]
    assert (e.maps[0].file, e.maps[0].contour_level, e.maps[0].size_kbytes) == (
        "emd_25107.map.gz",
        0.02,
        42593,
    )
    assert e.maps[0].pixel_spacing == (1.03, 1.03, 1.03)
    assert ("final_reconstruction", "RELION", "3.0") in {
        (s.step, s.name, s.version) for s in e.software
    }
    assert e.citation.published is False and e.citation.authors[0].name == "Brouwer PJM"
    assert e.grants[0].funding_body == "Bill & Melinda Gates Foundation"
    assert (e.grid_material, e.grid_model, e.cryogen) == ("COPPER", "Quantifoil R2/1", "ETHANE")
    assert e.humidity_percent == 100 and e.buffer_ph == 7


def test_single_objects_where_lists_are_usual(emd_25107):
    doc = copy.deepcopy(emd_25107)
    sd = doc["structure_determination_list"]["structure_determination"][0]
    doc["structure_determination_list"]["structure_determination"] = sd
    sd["image_processing"] = sd["image_processing"][0]
    sd["microscopy_list"]["microscopy"] = sd["microscopy_list"]["microscopy"][0]
    supra = doc["sample"]["supramolecule_list"]["supramolecule"][0]
    supra["natural_source"] = supra["natural_source"][0]
    doc["crossreferences"]["pdb_list"]["pdb_reference"] = {"pdb_id": "pdb_00007sgd"}
    e = parse_emdb(doc)
    assert (e.method, e.resolution, e.microscope) == ("singleParticle", 3.97, "FEI TITAN KRIOS")
    assert [o.ncbi for o in e.organisms] == [11620]
    assert e.pdb_ids == ["7SGD"]  # the extended id form, normalized


def test_missing_and_empty_blocks(emd_25107):
    doc = copy.deepcopy(emd_25107)
    del doc["interpretation"]
    doc["crossreferences"]["pdb_list"] = None
    doc["map"]["contour_list"] = {}
    final = doc["structure_determination_list"]["structure_determination"][0]["image_processing"][
        0
    ]["final_reconstruction"]
    final["resolution"] = {"valueOf_": "n/a", "units": "Å"}
    e = parse_emdb(doc)
    assert e.pdb_ids == [] and [m.role for m in e.maps] == ["primary"]
    assert e.maps[0].contour_level is None and e.resolution is None
    with pytest.raises(ValueError):
        parse_emdb({"detail": "Not found."})


def test_rcsb_graphql_envelope_with_nulls():
    doc = json.loads((FIXTURES / "rcsb-graphql-entries-4HHB-exptl.json").read_text())
    e = parse_rcsb(doc["data"]["entries"][0])
    assert (e.pdb_id, e.method, e.resolution, e.emdb_ids) == ("4HHB", "X-RAY DIFFRACTION", None, [])


def test_rcsb_em_fields_and_date_forms():
    doc = {
        "rcsb_id": "7sgd",
        "struct": {"title": "Lassa GPC"},
        "exptl": [{"method": "ELECTRON MICROSCOPY"}],
        "rcsb_entry_info": {"resolution_combined": [3.97]},
        "em_experiment": {"reconstruction_method": "SINGLE PARTICLE"},
        "em_imaging": [
            {
                "microscope_model": "FEI TITAN KRIOS",
                "accelerating_voltage": 300,
                "nominal_defocus_min": 600,
                "nominal_defocus_max": 1600,
            }
        ],
        "rcsb_accession_info": {
            "deposit_date": "2021-10-05T00:00:00+0000",
            "initial_release_date": "2022-10-12T00:00:00.000+00:00",
            "revision_date": "2023-01-04T00:00:00Z",
            "major_revision": 1,
            "minor_revision": 2,
        },
        "rcsb_entry_container_identifiers": {"emdb_ids": ["EMD-25107"], "related_emdb_ids": None},
        "pdbx_database_related": [
            {"db_name": "EMDB", "db_id": "EMD-25108", "content_type": "associated EM volume"}
        ],
        "audit_author": [
            {"name": "Ward, A.B.", "pdbx_ordinal": 2},
            {"name": "Antanasijevic, A.", "pdbx_ordinal": 1},
        ],
        "citation": [{"id": "primary", "title": "T", "year": 2023, "rcsb_authors": ["A, B"]}],
    }
    e = parse_rcsb(doc)
    assert e.pdb_id == "7SGD" and e.resolution == 3.97
    assert (e.deposition_date, e.release_date, e.revision_date) == (
        "2021-10-05",
        "2022-10-12",
        "2023-01-04",
    )
    assert e.revision == "1.2" and e.emdb_ids == ["EMD-25107", "EMD-25108"]
    assert [a.name for a in e.authors] == ["Antanasijevic, A.", "Ward, A.B."]
    assert (e.defocus_min_nm, e.citation.year) == (600, 2023)


def test_holdings_status():
    h = parse_holdings(
        {
            "rcsb_id": "9Z02",
            "rcsb_repository_holdings_combined": {
                "status": "REMOVED",
                "status_code": "OBS",
                "id_code_replaced_by_latest": "9z07",
            },
        },
        "9Z02",
    )
    assert (h.status, h.replaced_by) == ("OBS", "9Z07")
    with pytest.raises(ValueError):
        parse_holdings({"status": 404, "message": "No data found"}, "9Z99")
