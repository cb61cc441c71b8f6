"""Issue 21 §1 on the harvested sample: the light half of a correlative entry (CLEM, CLXM) is a
fluorescence image taken on an optical microscope, not another EM image; simulated data
(INSILICO) is marked on the entry and in the export, and the charts and the canned queries that
count measured data leave it out unless asked."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET

from conftest import datasette_get, query
from sqlite_utils import Database

from empiar_mirror.harvester.mapping.from_empiar import map_entry
from empiar_mirror.harvester.raw.empiar import parse_entry
from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.index import migrations
from empiar_mirror.index.export import export_dataset
from empiar_mirror.index.lambda_ber import models as lb

SVG = "{http://www.w3.org/2000/svg}"
SIMULATED = ["EMPIAR-90005", "EMPIAR-90024"]  # INSILICO


def test_the_light_half_of_a_correlative_entry_is_a_fluorescence_image(harvested_db):
    images = query(
        harvested_db,
        "select substr(id, 8, 23), image_type from image where id like 'empiar:EMPIAR-90009/%' "
        "or id like 'empiar:EMPIAR-90016/%' or id like 'empiar:EMPIAR-90026/%' order by id",
    )
    assert images == [
        ("EMPIAR-90009/imageset/1", "FluorescenceImage"),  # widefield fluorescence
        ("EMPIAR-90009/imageset/2", "Image2D"),  # EM montages
        ("EMPIAR-90009/imageset/3", "Image3D"),  # electron tomograms
        ("EMPIAR-90016/imageset/1", "FluorescenceImage"),  # cryo-SIM volumes
        # Soft X-ray volumes, though their details name the cryo-SIM volumes they match.
        ("EMPIAR-90016/imageset/2", "Image3D"),
        ("EMPIAR-90026/imageset/1", "FluorescenceImage"),  # confocal stacks
        ("EMPIAR-90026/imageset/2", "Image2D"),  # SEM maps
    ]
    # A cryo-SIM volume keeps its voxel, as every volume does.
    assert query(
        harvested_db,
        "select voxel_size_value, voxel_size_unit from image "
        "where id = 'empiar:EMPIAR-90016/imageset/1/image'",
    ) == [(1250.0, "Angstroms")]
    microscopes = query(
        harvested_db,
        "select a.experiment_id, i.title, i.instrument_type, i.instrument_category, a.role "
        "from experiment_instrument a join instrument i on i.id = a.instrument_id "
        "where i.id like 'empiar:%' order by i.id",
    )
    assert microscopes == [
        (
            "empiar:EMPIAR-90009/experiment",
            "Widefield fluorescence microscope",
            "Instrument",
            "OPTICAL_MICROSCOPE",
            "primary",
        ),
        (
            "empiar:EMPIAR-90016/experiment",
            "Structured illumination microscope",
            "Instrument",
            "OPTICAL_MICROSCOPE",
            "primary",
        ),
        (
            "empiar:EMPIAR-90026/experiment",
            "Confocal microscope",
            "Instrument",
            "OPTICAL_MICROSCOPE",
            "primary",
        ),
    ]


def test_the_export_names_the_fluorescence_image_and_its_microscope(harvested_db):
    db = Database(harvested_db)
    try:
        doc = export_dataset(db, "EMPIAR-90009")
    finally:
        db.close()
    (microscope,) = doc["instruments"]
    assert microscope["instrument_type"] == "Instrument"
    assert microscope["instrument_category"] == "OPTICAL_MICROSCOPE"
    assert doc["experiment_instrument_associations"] == [
        {
            "experiment_id": "empiar:EMPIAR-90009/experiment",
            "instrument_id": microscope["id"],
            "role": "primary",
        }
    ]
    (experiment,) = doc["experiment_runs"]
    assert {
        "attribute": {
            "id": "empiar:EMPIAR-90009/imageset/1/image#image_type",
            "label": "image class",
        },
        "value": "FluorescenceImage",
    } in experiment["additional_properties"]


def test_simulated_entries_are_marked_on_the_front_door_and_in_the_export(harvested_db):
    marked = query(harvested_db, "select accession from empiar_entries where simulated = 1")
    assert [a for (a,) in marked] == SIMULATED
    assert query(harvested_db, "select count(*) from empiar_entries where simulated = 0") == [(34,)]
    db = Database(harvested_db)
    try:
        simulated = export_dataset(db, "EMPIAR-90024")["experiment_runs"][0]
        measured = export_dataset(db, "EMPIAR-90009")["experiment_runs"][0]
    finally:
        db.close()
    flag = {"attribute": {"id": "empiar:simulated", "label": "simulated"}, "value": "true"}
    assert flag in simulated["additional_properties"]
    assert flag not in measured["additional_properties"]


def _mapped(accession: str, names: list[str]):
    raw = json.loads((SAMPLE_DIR / "empiar" / f"{accession}.json").read_text())
    crafted = copy.deepcopy(raw)
    for imageset, name in zip(crafted[accession]["imagesets"], names, strict=True):
        imageset["name"] = name
    return map_entry(parse_entry(crafted, accession))


def test_an_imageset_that_says_it_is_simulated():
    """A simulated imageset beside measured ones is marked, and leaves the entry measured data;
    an entry whose every imageset is simulated is simulated data."""
    names = ["Widefield fluorescence overview maps", "Simulated EM montages", "Tomograms"]
    mixed = _mapped("EMPIAR-90009", names)
    assert mixed.front_door["simulated"] == 0
    properties = {
        (p.attribute_id, p.value) for p in mixed.records if isinstance(p, lb.AdditionalProperty)
    }
    assert ("empiar:imageset/2/simulated", "true") in properties
    assert ("empiar:simulated", "true") not in properties
    every = _mapped("EMPIAR-90009", ["Simulated maps", "Simulated montages", "In silico tomograms"])
    assert every.front_door["simulated"] == 1


def _tips(harvested_db, path: str) -> set[str]:
    root = ET.fromstring(datasette_get(harvested_db, path).text)
    return {
        el.find(f"{SVG}title").text for el in root.iter(f"{SVG}rect") if el.get("class") == "bar"
    }


def test_the_charts_count_measured_data_unless_asked(harvested_db):
    # EMPIAR-90005 (2019) and 90024 (2024) are INSILICO.
    years = {
        r[0]: r[1]
        for r in query(
            harvested_db,
            "select accession, release_year from empiar_entries where simulated = 1",
        )
    }
    measured = _tips(harvested_db, "/-/charts/releases.svg")
    assert not any("INSILICO" in t for t in measured)
    everything = _tips(harvested_db, "/-/charts/releases.svg?include_simulated=yes")
    assert {f"{years[a]} · INSILICO: 1" for a in SIMULATED} <= everything
    sizes = _tips(harvested_db, "/-/charts/sizes.svg?include_obsolete=yes")
    assert sum(int(t.split(": ")[1]) for t in sizes) == 34  # 36 but the two simulated
    page = datasette_get(harvested_db, "/-/charts").text
    assert "Measured data only" in page and 'href="/-/charts?include_simulated=yes"' in page
    both = datasette_get(harvested_db, "/-/charts?include_simulated=yes&include_obsolete=yes")
    assert "Simulated data (INSILICO entries) are counted" in both.text
    # Each toggle keeps the other choice.
    assert 'href="/-/charts?include_obsolete=yes"' in both.text


def test_the_canned_queries_count_measured_data_unless_asked(harvested_db):
    base = "/mirror/entries_per_year_and_type.json?_shape=objects"
    types = {r["experiment_type"] for r in datasette_get(harvested_db, base).json()["rows"]}
    assert "INSILICO" not in types and "CLEM" in types
    asked = datasette_get(harvested_db, base + "&include_simulated=yes").json()["rows"]
    assert sum(r["entries"] for r in asked if r["experiment_type"] == "INSILICO") == 2
    largest = datasette_get(
        harvested_db, "/mirror/largest_datasets.json?n=100&include_simulated=yes&_shape=objects"
    ).json()["rows"]
    assert set(SIMULATED) <= {r["accession"] for r in largest}
    page = datasette_get(harvested_db, "/mirror/largest_datasets?include_simulated=maybe").text
    (problem,) = re.findall(r'<p class="message-error portal-input-problem">([^<]*)</p>', page)
    assert "blank (measured data only) or yes (simulated data too)" in problem


def test_an_existing_mirror_marks_its_insilico_entries_on_upgrade(tmp_path):
    """m015: the experiment type is read at once; imageset names wait for `reindex`."""
    db = Database(tmp_path / "old.db")
    migrations.migrations.apply(db, stop_before="m015_correlative_and_simulated")
    db["empiar_entries"].insert_all(
        [
            {"accession": "EMPIAR-90005", "experiment_type": "INSILICO"},
            {"accession": "EMPIAR-90009", "experiment_type": "CLEM"},
        ]
    )
    migrations.migrations.apply(db)
    assert migrations.pending(db) == []
    marked = db.execute("select accession, simulated from empiar_entries order by 1").fetchall()
    assert marked == [("EMPIAR-90005", 1), ("EMPIAR-90009", 0)]
    db.close()
