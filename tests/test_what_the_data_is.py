"""Issue 21 §1: what each dataset really is, on records of the shapes that showed it: text
served HTML-escaped, citation details, tomograms one pixel deep, volume EM labelled as movies,
entries with no sample, tilt series without their geometry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import datasette_get, query
from sqlite_utils import Database

from empiar_mirror.harvester.archives import MAPPERS
from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.index import completeness, front_doors, migrations, store
from empiar_mirror.index.export import export_dataset

AT = "2026-01-01T00:00:00Z"


def sample(accession: str) -> dict:
    return json.loads((SAMPLE_DIR / "empiar" / f"{accession}.json").read_text())[accession]


def mirror(path: Path, *entries: tuple[str, dict]) -> Database:
    """A mirror file holding these EMPIAR entries (accession, body), as a harvest writes them."""
    db = Database(path)
    migrations.migrations.apply(db)
    with db.atomic():
        for accession, body in entries:
            store.write_record(db, MAPPERS["empiar"]({accession: body}, accession), AT)
        front_doors.refresh(db)
    return db


def path_of(db: Database) -> Path:
    return Path(db.execute("pragma database_list").fetchone()[2])


@pytest.fixture
def escaped(tmp_path) -> Database:
    """Two entries naming one department, once as EMPIAR's real file escapes it (twice over)."""
    first, second = sample("EMPIAR-90007"), sample("EMPIAR-90007")
    first["corresponding_author"]["author"]["organization"] = (
        "Department of Molecular &amp;amp; Cell Biology"
    )
    first["title"] = "Receptor &amp; G protein in nanodiscs"
    first["citation"][0]["details"] = (
        "Titan Krios, K3 camera; movies gain-corrected with the gain reference &amp; 50 frames"
    )
    department = "Department of Molecular & Cell Biology"
    second["corresponding_author"]["author"]["organization"] = department
    second["citation"][0]["doi"] = "10.5555/empiar-demo.99999"
    return mirror(tmp_path / "m.db", ("EMPIAR-99998", first), ("EMPIAR-99999", second))


def test_escaped_text_is_one_spelling_in_names_search_and_merge_keys(escaped):
    orgs = escaped.execute(
        "select id, title from organization where title like 'Department%'"
    ).fetchall()
    assert orgs == [
        (
            "empiar:organization/department-of-molecular-cell-biology",
            "Department of Molecular & Cell Biology",
        )
    ]
    title = escaped.execute(
        "select title from empiar_entries where accession = 'EMPIAR-99998'"
    ).fetchone()
    assert title == ("Receptor & G protein in nanodiscs",)
    found = datasette_get(path_of(escaped), "/-/search.json?q=%22Receptor+%26+G+protein%22")
    found = found.json()
    rows = found["results"]["empiar_entries"]["rows"]
    assert [r["accession"] for r in rows] == ["EMPIAR-99998"]


def test_a_citations_details_are_kept_read_by_the_rules_and_shown(escaped):
    (details,) = escaped.execute(
        "select p.description from publication p join study_publication sp "
        "on sp.publication_id = p.id where sp.study_id = 'empiar:EMPIAR-99998/study'"
    ).fetchone()
    assert details.startswith("Titan Krios, K3 camera") and "&amp;" not in details
    # The imagesets of the second entry name no gain reference; its citation gives no details.
    escaped.execute("update data_file set description = null, title = 'movies'")
    with escaped.atomic():
        completeness.refresh(escaped)
    verdict = dict(
        escaped.execute(
            "select accession, passed || ' ' || detail from metadata_check "
            "where rule = 'gain_reference'"
        ).fetchall()
    )
    assert verdict["EMPIAR-99998"] == "1 the citation's details name a gain reference"
    assert verdict["EMPIAR-99999"].startswith("0 ")
    page = datasette_get(path_of(escaped), "/m/empiar_entries/EMPIAR-99998").text
    assert "Titan Krios, K3 camera; movies gain-corrected with the gain reference &amp; 50" in page


def test_a_volume_whose_depth_empiar_writes_as_one_has_no_depth(tmp_path):
    """EMPIAR-10988 (real) writes `frames_per_image: 1` for its tomograms."""
    db = mirror(tmp_path / "m.db", ("EMPIAR-10988", sample("EMPIAR-10988")))
    volumes = db.execute(
        "select i.dimensions_z_value, i.voxel_size_value from image i join data_file f "
        "on f.id = i.x_data_file_id where f.x_empiar_category = 'reconstructed volumes'"
    ).fetchall()
    assert volumes == [(None, 13.48)]
    assert db.execute("select count(*) from image where dimensions_z_value = 1").fetchone() == (0,)


def test_a_volume_em_section_stack_is_a_volume_not_a_movie(tmp_path):
    """EMPIAR-10442 (real, SBF-SEM) files its section stacks as `micrographs - multiframe`."""
    db = mirror(tmp_path / "m.db", ("EMPIAR-10442", sample("EMPIAR-10442")))
    images = db.execute(
        "select i.image_type, i.dimensions_z_value, i.pixel_size_value, i.voxel_size_value, "
        "i.frames_value, f.data_type from image i join data_file f on f.id = i.x_data_file_id "
        "where i.id like 'empiar:EMPIAR-10442/imageset/%' order by i.id"
    ).fetchall()
    # 7 nm pixels, 40 nm sections ("Voxel size: 0.007 x 0.007 x 0.04 um"): no cubic voxel.
    assert images[0] == ("Image3D", 1061.0, 70.0, None, None, "raw_data")
    assert {i[0] for i in images} == {"Image3D"}
    (frames,) = db.execute(
        "select frames_per_movie_value from experiment_run "
        "where id = 'empiar:EMPIAR-10442/experiment'"
    ).fetchone()
    assert frames is None
    thickness = db.execute(
        "select attribute_label, numeric_value, unit from additional_metric "
        "where owner_id = 'empiar:EMPIAR-10442/experiment' and attribute_id like '%thickness'"
    ).fetchall()
    assert thickness[0] == ("section thickness, imageset 1", 400.0, "Angstroms")


def test_isotropic_section_stacks_have_a_voxel_size_and_cryo_em_movies_stay_movies(tmp_path):
    db = mirror(
        tmp_path / "m.db",
        ("EMPIAR-90004", sample("EMPIAR-90004")),  # FIB-SEM, "Isotropic 5 nm voxels"
        ("EMPIAR-90007", sample("EMPIAR-90007")),  # single particle, 50-frame movies
    )
    rows = dict(
        db.execute(
            "select substr(id, 8, 12), image_type || ' ' || coalesce(voxel_size_value, '-') "
            "|| ' ' || coalesce(frames_value, '-') from image where id like '%/imageset/1/image'"
        ).fetchall()
    )
    assert rows == {"EMPIAR-90004": "Image3D 50.0 -", "EMPIAR-90007": "Movie - 50.0"}


def test_an_entry_naming_no_map_has_a_sample_at_its_scale(tmp_path):
    no_map = sample("EMPIAR-90004")  # FIB-SEM of HeLa cells, no EMDB map
    assert no_map["scale"] == "cell" and not no_map["cross_references"]
    db = mirror(
        tmp_path / "m.db", ("EMPIAR-90004", no_map), ("EMPIAR-90007", sample("EMPIAR-90007"))
    )
    samples = db.execute(
        "select s.id, s.sample_type, ss.role, es.experiment_id from sample s "
        "join study_sample ss on ss.sample_id = s.id "
        "join experiment_sample es on es.sample_id = s.id where s.id like 'empiar:%'"
    ).fetchall()
    # EMPIAR-90007 names its map, whose own sample says more: it gets none from its scale.
    assert samples == [
        (
            "empiar:EMPIAR-90004/sample",
            "cell",
            "target",
            "empiar:EMPIAR-90004/experiment",
        )
    ]


def test_a_tomography_maps_tilt_series_is_its_experiments_geometry(harvested_db):
    """EMD-90019 (subtomogram averaging) states -60° to +60° in 3° steps."""
    rows = query(
        harvested_db,
        "select id, tilt_angle_min_value, tilt_angle_max_value, tilt_angle_increment_value, "
        "tilt_angle_increment_unit from experiment_run where tilt_angle_min_value is not null",
    )
    assert rows == [("emdb:EMD-90019/experiment", -60.0, 60.0, 3.0, "degrees")]
    db = Database(harvested_db)
    try:
        doc = export_dataset(db, "EMD-90019")
    finally:
        db.close()
    (run,) = doc["experiment_runs"]
    assert run["tilt_angle_increment"] == {"numeric_value": 3.0, "unit": "degrees"}
