"""Cross-archive coverage: which maps have their raw data in EMPIAR, and which entries' maps were
superseded, as the front door, the canned queries and the chart show it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import datasette_get, harvest, query

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer


def _overlay(root: Path, folder: str, name: str, doc: dict) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / f"{name}.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """The sample with EMD-90013 made obsolete, superseded by EMD-90030 (whose raw data is in
    EMPIAR-90030); then EMPIAR-90003 stops naming EMD-90003, which the mirror keeps."""
    tmp = tmp_path_factory.mktemp("coverage")
    first, second = tmp / "first", tmp / "second"
    emd = json.loads((SAMPLE_DIR / "emdb" / "EMD-90013.json").read_text())
    emd["admin"]["current_status"]["code"] = {"valueOf_": "OBS"}
    emd["admin"]["superseded_by_list"] = {"entry": [{"entry": "EMD-90030", "date": "2021-01-01"}]}
    _overlay(first, "emdb", "EMD-90013", emd)
    entry = json.loads((SAMPLE_DIR / "empiar" / "EMPIAR-90003.json").read_text())
    entry["EMPIAR-90003"]["cross_references"] = []
    entry["EMPIAR-90003"]["update_date"] = "2026-11-30"
    _overlay(second, "empiar", "EMPIAR-90003", entry)
    db = tmp / "mirror.db"
    with ReplayServer([SAMPLE_DIR, first]) as server:
        assert harvest(server, db).returncode == 0
    with ReplayServer([SAMPLE_DIR, first, second]) as server:
        result = harvest(server, db)
        assert result.returncode == 0, result.stderr
    return db


def test_a_map_knows_whether_its_raw_data_is_in_empiar(mirror):
    rows = dict(query(mirror, "select emdb_id, has_raw_data from emdb_maps"))
    assert rows["EMD-90003"] == 0  # kept, though no entry names it now
    assert rows["EMD-25107"] == 1 and rows["EMD-90030"] == 1
    assert sum(rows.values()) == len(rows) - 1


def test_an_obsolete_map_names_its_successor_as_a_link(mirror):
    successor = "select status, replaced_by from emdb_maps where emdb_id = 'EMD-90013'"
    assert query(mirror, successor) == [("OBS", "EMD-90030")]
    assert query(
        mirror,
        "select to_archive, to_accession from record_link where from_accession = 'EMD-90013' "
        "and relation = 'replaced by'",
    ) == [("emdb", "EMD-90030")]


def test_entries_whose_maps_were_superseded(mirror):
    response = datasette_get(mirror, "/mirror/entries_with_superseded_maps.json?_shape=objects")
    assert response.status_code == 200, response.text
    rows = [{k: v for k, v in r.items() if k != "title"} for r in response.json()["rows"]]
    assert rows == [
        # Crafted here: the entry does not name the newer map, whose raw data is elsewhere.
        {
            "accession": "EMPIAR-90013",
            "emdb_id": "EMD-90013",
            "map_status": "OBS",
            "replaced_by": "EMD-90030",
            "entry_names_replacement": 0,
            "replacement_has_raw_data": 1,
        },
        # The sample's own: the entry names the old map and the one that superseded it.
        {
            "accession": "EMPIAR-90025",
            "emdb_id": "EMD-90026",
            "map_status": "OBS",
            "replaced_by": "EMD-90025",
            "entry_names_replacement": 1,
            "replacement_has_raw_data": 1,
        },
    ]


@pytest.mark.parametrize(
    ("max_resolution", "expected"), [("", []), ("4", ["EMD-90003"]), ("3.3", [])]
)
def test_high_resolution_maps_without_raw_data(mirror, max_resolution, expected):
    response = datasette_get(
        mirror,
        f"/mirror/maps_without_raw_data.json?_shape=objects&max_resolution={max_resolution}"
        "&include_obsolete=",
    )
    assert response.status_code == 200, response.text
    assert [r["emdb_id"] for r in response.json()["rows"]] == expected


def test_the_chart_gives_each_release_years_share_with_raw_data(mirror):
    response = datasette_get(mirror, "/-/charts/raw-data.svg")
    assert response.status_code == 200
    svg = response.text
    # EMD-90003 is 2015's only map: a year with no bar. 2019's only map (EMD-90013) is obsolete,
    # so the year is left out.
    assert ">2015<" in svg and "<title>2015:" not in svg and ">2019<" not in svg
    assert "<title>2022: 100</title>" in svg and "<title>2014: 100</title>" in svg
    assert "release_year=2022&amp;has_raw_data=1&amp;status__notin=" in svg
    everything = datasette_get(mirror, "/-/charts/raw-data.svg?include_obsolete=yes").text
    assert ">2019<" in everything


def test_the_facet_shows_raw_data_in_empiar(mirror):
    response = datasette_get(mirror, "/mirror/emdb_maps.json?_facet=has_raw_data")
    facet = response.json()["facet_results"]["has_raw_data"]["results"]
    assert {r["value"]: r["count"] for r in facet} == {1: 13, 0: 1}


def test_a_map_page_says_where_its_raw_data_is_and_what_superseded_it(mirror):
    obsolete = datasette_get(mirror, "/mirror/emdb_maps/EMD-90026").text
    assert "superseded by" in obsolete and 'href="/mirror/emdb_maps/EMD-90025"' in obsolete
    assert "replaced by" in obsolete and "/pdb_models/EMD-90025" not in obsolete
    assert "Raw data</dt><dd>in EMPIAR" in obsolete
    kept = datasette_get(mirror, "/mirror/emdb_maps/EMD-90003").text
    assert "Raw data</dt><dd>not in EMPIAR" in kept
