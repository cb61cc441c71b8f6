"""Metadata completeness: each rule on crafted rows, the checks and scores of a real harvest of
the sample, their chart and their canned query."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from conftest import datasette_get, query
from sqlite_utils import Database

from empiar_mirror.harvester.archives import MAPPERS
from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.index import completeness, front_doors, migrations, store

AT = "2026-01-01T00:00:00Z"
ENTRY = "EMPIAR-90007"  # movies, a gain reference, a linked map with its dose
SVG = "{http://www.w3.org/2000/svg}"


def _write(db: Database, source: str, accession: str) -> None:
    folder = {"empiar": "empiar", "emdb": "emdb"}[source]
    data = json.loads((SAMPLE_DIR / folder / f"{accession}.json").read_text())
    with db.atomic():
        store.write_record(db, MAPPERS[source](data, accession), AT)


@pytest.fixture
def db() -> Database:
    db = Database(memory=True)
    migrations.migrations.apply(db)
    _write(db, "empiar", ENTRY)
    _write(db, "emdb", "EMD-90007")
    with db.atomic():
        front_doors.refresh(db)
    return db


def verdicts(db: Database, accession: str = ENTRY) -> dict[str, tuple]:
    return {
        rule: (passed, detail)
        for rule, passed, detail in db.execute(
            "select rule, passed, detail from metadata_check where accession = ?", [accession]
        )
    }


def test_the_crafted_entry_passes_all_but_its_missing_orcid(db):
    got = verdicts(db)
    assert set(got) == {rule.name for rule in completeness.RULES}
    # Files not listed: files_match_declaration does not apply, so does not count.
    assert {r for r, (passed, _) in got.items() if passed == 0} == {"orcids"}
    assert got["files_match_declaration"] == (None, "files not listed")
    assert got["orcids"] == (0, "1 of 4 without: Sato Y")
    assert got["frames_and_dose"] == (1, "50 frames, 71 e-/Å²")
    assert got["gain_reference"] == (1, "imageset 1 names a gain reference")
    assert got["linked_map"] == (1, "EMD-90007")
    assert query_one(db, "completeness, completeness_bin") == (92, "75–99 %")


def query_one(db: Database, columns: str):
    return db.execute(
        f"select {columns} from empiar_entries where accession = ?", [ENTRY]
    ).fetchone()


MOVIE = f"empiar:{ENTRY}/imageset/1"
EMDB_RUN = "emdb:EMD-90007/experiment"

# (rule, statements crafting the rows, passed, detail): each rule made to fail, pass or not apply.
CASES = [
    ("described", ["update empiar_entries set release_date = null"], 0, "no release date"),
    (
        "people",
        ["delete from study_person where role = 'principal_investigator'"],
        0,
        "no principal investigator",
    ),
    ("orcids", ["update person set orcid = 'x' where orcid is null"], 1, "all 4 people"),
    ("orcids", ["delete from study_person"], None, "no people listed"),
    ("citation", ["update publication set doi = null"], 0, "citation without a DOI"),
    ("citation", ["delete from study_publication"], 0, "no citation"),
    (
        "imagesets",
        [f"update data_file set x_data_format = null, file_path = null where id = '{MOVIE}'"],
        0,
        "imageset 1: no directory, data format",
    ),
    ("imagesets", ["delete from data_file"], 0, "no imagesets"),
    (
        "voxel_type",
        [f"update data_file set x_voxel_type = '' where id = '{MOVIE}'"],
        0,
        "imageset 1: no voxel type",
    ),
    ("voxel_type", ["delete from data_file"], None, "no imagesets this rule reads"),
    (
        "pixel_size",
        [f"update data_file set x_pixel_height = null where id = '{MOVIE}'"],
        0,
        "imageset 1: no pixel size",
    ),
    (
        "pixel_size",
        [
            "update data_file set x_pixel_width = null, "
            f"x_empiar_category = 'diffraction images' where id = '{MOVIE}'"
        ],
        1,
        "all 1 imagesets",
    ),
    (
        "image_dimensions",
        ["update data_file set x_image_width = null"],
        0,
        "imageset 1: no width x height; imageset 2: no width x height",
    ),
    (
        "frames_and_dose",
        [f"update data_file set x_frames_per_image = 1 where id = '{MOVIE}'"],
        0,
        "imageset 1: 1 frames",
    ),
    (
        "frames_and_dose",
        [
            "update data_collection_strategy set total_dose_value = null",
            "update experiment_run set total_dose_value = null",
        ],
        0,
        "no total dose (EMPIAR records none; no linked map states one)",
    ),
    (
        "frames_and_dose",
        [f"update data_file set x_empiar_category = 'tilt series' where id = '{MOVIE}'"],
        None,
        "no cryo-EM movies",
    ),
    (
        "gain_reference",
        ["update data_file set description = 'K2 Summit in counting mode.'"],
        0,
        "imageset 1: UNSIGNED BYTE movies, and no imageset names a gain reference",
    ),
    (
        "gain_reference",
        ["update data_file set description = 'No gain reference: lost.'"],
        0,
        "imageset 1: UNSIGNED BYTE movies, and no imageset names a gain reference",
    ),
    (
        "gain_reference",
        [
            "update data_file set description = 'Gain-corrected in EPU.'",
            f"update data_file set x_voxel_type = '32 BIT FLOAT' where id = '{MOVIE}'",
        ],
        None,
        "no cryo-EM movies stored as counts",
    ),
    (
        "gain_reference",
        [
            "update data_file set description = null",
            "insert into data_file (id, title) values ('empiar:EMPIAR-90007/imageset/3', 'Gain')",
        ],
        1,
        "imageset 3 names a gain reference",
    ),
    (
        "detector",
        ["update emdb_maps set detector = null"],
        0,
        "EMPIAR records none and no linked map names one",
    ),
    (
        "detector",
        [
            "update empiar_entries set experiment_type = 'SBF-SEM'",
            f"update experiment_run set technique = 'electron_microscopy' "
            f"where id = 'empiar:{ENTRY}/experiment'",
        ],
        None,
        "technique electron_microscopy",
    ),
    (
        "linked_map",
        ["delete from emdb_maps"],
        0,
        "names EMD-90007, not in this mirror",
    ),
    ("linked_map", ["delete from record_link"], 0, "names no EMDB map"),
    (
        "linked_map",
        ["update empiar_entries set experiment_type = 'SXT'"],
        None,
        "experiment type SXT",
    ),
]


@pytest.mark.parametrize(
    "rule, statements, passed, detail", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_each_rule_on_crafted_rows(db, rule, statements, passed, detail):
    with db.atomic():
        for statement in statements:
            db.execute(statement)
        front_doors.refresh(db)
    assert verdicts(db)[rule] == (passed, detail)


def test_refresh_writes_only_the_rows_that_change(db):
    with db.atomic():
        assert front_doors.refresh(db) == 0
    with db.atomic():
        db.execute(f"update data_file set x_pixel_height = null where id = '{MOVIE}'")
        # The pixel_size check and the entry's score: 10 of 12 rules pass.
        assert completeness.refresh(db) == 2
    assert query_one(db, "completeness, completeness_bin") == (83, "75–99 %")
    # A check of an entry no longer in the file goes with it.
    with db.atomic():
        db.execute("delete from empiar_entries")
        assert completeness.refresh(db) == len(completeness.RULES)
    assert db.execute("select count(*) from metadata_check").fetchone() == (0,)


def test_the_score_counts_only_the_rules_that_apply():
    assert completeness.score([True, False, None, None]) == 50
    assert completeness.score([None]) is None
    labels = [completeness.score_bin(v) for v in (100, 99, 75, 74, 50, 49, 0, None)]
    assert labels == ["100 %", "75–99 %", "75–99 %", "50–74 %", "50–74 %", "< 50 %", "< 50 %", None]


# A real harvest of the sample ------------------------------------------------------------


def test_every_harvested_entry_has_every_check_and_its_score(harvested_db):
    entries = query(
        harvested_db, "select accession, completeness, completeness_bin from empiar_entries"
    )
    assert len(entries) == 36
    per_entry = Counter(a for (a,) in query(harvested_db, "select accession from metadata_check"))
    assert set(per_entry.values()) == {len(completeness.RULES)} and len(per_entry) == 36
    assert query(harvested_db, "pragma foreign_key_check(metadata_check)") == []
    assert Counter(b for _, _, b in entries) == {
        "100 %": 3,
        "75–99 %": 19,
        "50–74 %": 9,
        "< 50 %": 5,
    }
    scores = dict((a, s) for a, s, _ in entries)
    assert scores["EMPIAR-10442"] == 100 and scores["EMPIAR-12104"] == 31


def test_an_incomplete_harvested_entry_says_what_it_misses(harvested_db):
    failed = query(
        harvested_db,
        "select rule, detail from metadata_check where accession = 'EMPIAR-12104' and passed = 0 "
        "order by rule",
    )
    assert failed == [
        ("citation", "no citation"),
        ("detector", "EMPIAR records none and no linked map names one"),
        ("files_match_declaration", "imageset 1: 61 files for 203 declared"),
        ("frames_and_dose", "no total dose (EMPIAR records none; no linked map states one)"),
        (
            "gain_reference",
            "imageset 1: UNSIGNED BYTE movies, and no gain reference file is listed",
        ),
        ("linked_map", "names no EMDB map"),
        ("orcids", "2 of 2 without: unnamed, Test"),
        ("people", "no principal investigator"),
        ("pixel_size", "imageset 1: no pixel size"),
    ]
    # A volume-EM stack is not a movie: the movie rules do not apply to it.
    assert query(
        harvested_db,
        "select rule, passed from metadata_check where accession = 'EMPIAR-90002' "
        "and rule in ('frames_and_dose', 'gain_reference', 'detector', 'linked_map')",
    ) == [(r, None) for r in ("detector", "frames_and_dose", "gain_reference", "linked_map")]


def test_the_chart_shows_each_rules_share_of_passing_entries(harvested_db):
    r = datasette_get(harvested_db, "/-/charts/completeness.svg")
    assert r.status_code == 200
    root = ET.fromstring(r.text)
    bars = [el for el in root.iter(f"{SVG}rect") if el.get("class") == "bar"]
    tips = [el.find(f"{SVG}title").text for el in bars]
    assert [t.split(":")[0] for t in tips] == [rule.name for rule in completeness.RULES]
    by_rule = {t.split(":")[0]: t for t in tips}
    # Current entries of measured data only: the obsolete EMPIAR-90029 and the simulated
    # EMPIAR-90005 and 90024 are left out.
    assert by_rule["gain_reference"].startswith("gain_reference: 8 of 13 entries (62 %).")
    assert by_rule["voxel_type"].startswith("voxel_type: 33 of 33 entries (100 %).")
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert "/mirror/metadata_check?rule=pixel_size&passed=0" in links


def test_the_canned_query_lists_what_entries_miss(harvested_db):
    r = datasette_get(
        harvested_db,
        "/mirror/entries_missing_for_reprocessing.json?rule=gain_reference&_shape=objects",
    )
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert len(rows) == 5  # and the obsolete EMPIAR-90029, when asked
    assert "EMPIAR-90029" not in {row["accession"] for row in rows}
    assert all(row["missing"].startswith("gain_reference: ") for row in rows)
    assert [row["completeness"] for row in rows] == sorted(row["completeness"] for row in rows)
    everything = datasette_get(
        harvested_db,
        "/mirror/entries_missing_for_reprocessing.json?rule=&include_obsolete=yes"
        "&include_simulated=yes&_shape=objects",
    ).json()["rows"]
    assert len(everything) == 33  # all but the three complete entries
