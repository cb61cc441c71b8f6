"""Issue 21 §2 and §4 on the harvested sample: obsolete entries say so and name their
successor, rank after current ones, keep their status in the export; the search box finds
instruments by any spelling and organisms by their common names; canned queries say what a bad
input should have been."""

from __future__ import annotations

import re

import pytest
from conftest import datasette_get, query
from sqlite_utils import Database

from empiar_mirror.index.export import export_dataset

OBSOLETE, SUCCESSOR = "EMPIAR-90029", "EMPIAR-90022"  # "superseded by EMPIAR-90022"


def search(db, q: str) -> dict[str, list[str]]:
    found = datasette_get(db, f"/-/search.json?q={q}").json()["results"]
    keys = {"empiar_entries": "accession", "emdb_maps": "emdb_id", "pdb_models": "pdb_id"}
    return {t: [r[keys[t]] for r in found[t]["rows"]] for t in keys}


def test_an_obsolete_entry_names_its_successor_in_the_link_table_and_on_its_page(harvested_db):
    assert query(
        harvested_db,
        "select to_archive, to_accession from record_link where from_accession = ? "
        "and relation = 'replaced by'",
        (OBSOLETE,),
    ) == [("empiar", SUCCESSOR)]
    page = datasette_get(harvested_db, f"/mirror/empiar_entries/{OBSOLETE}").text
    (notice,) = re.findall(r'<p class="message-warning portal-notice"[^>]*>(.*?)</p>', page)
    assert "This entry is obsolete since 2023-04-03: superseded by" in notice
    assert f'href="/mirror/empiar_entries/{SUCCESSOR}"' in notice
    successor = datasette_get(harvested_db, f"/mirror/empiar_entries/{SUCCESSOR}").text
    assert "portal-notice" not in successor
    assert f'<h2>Replaces</h2><p><a class="portal-id" href="/mirror/empiar_entries/{OBSOLETE}"' in (
        successor
    )


def test_search_shows_status_and_ranks_obsolete_entries_after_current_ones(harvested_db):
    assert search(harvested_db, "Lassa")["empiar_entries"] == [SUCCESSOR, OBSOLETE]
    page = datasette_get(harvested_db, "/-/search?q=Lassa").text
    assert '<span class="portal-status portal-retired" title="status OBS">obsolete</span>' in page
    assert '<span class="portal-status" title="status REL">released</span>' in page


def test_the_export_keeps_status_dates_and_successor(harvested_db):
    db = Database(harvested_db)
    try:
        doc = export_dataset(db, OBSOLETE)
    finally:
        db.close()
    (run,) = [r for r in doc["experiment_runs"] if r["id"].startswith("empiar:")]
    properties = {p["attribute"]["label"]: p["value"] for p in run["additional_properties"]}
    assert properties["status"] == "OBS"
    assert properties["obsolete_date"] == "2023-04-03"
    assert properties["superseded_by"] == SUCCESSOR
    assert doc["release_date"] == "2022-10-17"


def families(db, column: str, family: str, table: str = "empiar_entries") -> set[str]:
    key = "accession" if table == "empiar_entries" else "emdb_id"
    rows = query(db, f"select {key}, {column} from {table}")
    return {k for k, v in rows if v and family in v}


def test_the_search_box_finds_every_record_of_an_instrument_however_it_is_spelled(harvested_db):
    # The facet's count: every entry whose linked maps were collected on a Titan Krios
    # (FEI TITAN KRIOS and TFS KRIOS alike).
    krios = families(harvested_db, "microscope_families", "Titan Krios")
    assert len(krios) == 11
    found = search(harvested_db, "Krios")
    assert krios <= set(found["empiar_entries"])
    assert families(harvested_db, "microscope_family", "Titan Krios", "emdb_maps") == set(
        found["emdb_maps"]
    )
    assert found["pdb_models"]  # models by their own microscope
    # Detectors: EMDB maps and PDB models were found by no detector before.
    k3 = search(harvested_db, "K3")
    assert set(k3["emdb_maps"]) == families(harvested_db, "detector_family", "K3", "emdb_maps")
    assert k3["emdb_maps"] and k3["pdb_models"]
    falcon_4 = families(harvested_db, "detector_family", "Falcon 4", "emdb_maps")
    assert set(search(harvested_db, '"Falcon 4"')["emdb_maps"]) == falcon_4  # IV and 4i too


@pytest.mark.parametrize(
    "typed, scientific",
    [
        ("human", "Homo sapiens"),
        ("yeast", "Saccharomyces cerevisiae"),
        ("SARS-CoV-2", "Severe acute respiratory syndrome coronavirus 2"),
        ("COVID-19", "Severe acute respiratory syndrome coronavirus 2"),
    ],
)
def test_common_names_find_the_organisms_archives_name_scientifically(
    harvested_db, typed, scientific
):
    expected = families(harvested_db, "organisms", scientific)
    assert expected, f"the sample holds no {scientific}"
    assert expected <= set(search(harvested_db, typed)["empiar_entries"])


def test_a_quoted_common_name_is_searched_as_written(harvested_db):
    assert set(search(harvested_db, '"human"')["empiar_entries"]) < set(
        search(harvested_db, "human")["empiar_entries"]
    )


@pytest.mark.parametrize(
    "path, expected",
    [
        ("released_or_updated_since?since=01/01/2024", "a date written YYYY-MM-DD"),
        ("released_or_updated_since?since=garbage", "a date written YYYY-MM-DD"),
        ("high_resolution_single_particle?max_resolution=abc", "a resolution in ångströms"),
        ("entries_missing_for_reprocessing?rule=bogus", "the name of a completeness rule"),
        ("largest_datasets?n=-3", "a whole number"),
        ("largest_datasets?include_obsolete=maybe", "blank (current entries only) or yes"),
    ],
)
def test_a_canned_query_says_what_a_bad_input_should_be(harvested_db, path, expected):
    page = datasette_get(harvested_db, f"/mirror/{path}").text
    (problem,) = re.findall(r'<p class="message-error portal-input-problem">([^<]*)</p>', page)
    assert expected in problem


def test_a_misread_date_matches_nothing_rather_than_everything(harvested_db):
    rows = datasette_get(
        harvested_db, "/mirror/released_or_updated_since.json?since=01/01/2024&_shape=array"
    ).json()
    assert rows == []
    good = datasette_get(harvested_db, "/mirror/released_or_updated_since?since=2024-01-01").text
    assert "portal-input-problem" not in good


def test_pages_speak_a_biologists_words(harvested_db):
    page = datasette_get(harvested_db, "/mirror/empiar_entries").text
    header = re.search(r'<th [^>]*data-column="resolution_best_a"[^>]*>(.*?)</th>', page, re.S)
    assert "Best resolution (Å)" in header.group(1)
    assert '<span title="cryo_em">Cryo-EM</span>' in page
    entry = datasette_get(harvested_db, f"/mirror/empiar_entries/{SUCCESSOR}").text
    assert 'EMDB <span class="portal-muted">(raw data behind EMDB maps)</span>' in entry
    results = datasette_get(harvested_db, "/-/search?q=Lassa").text
    assert '<th scope="col" data-column="resolution_best_a">Best resolution (Å)</th>' in results


def test_the_resolution_facet_is_in_order_of_resolution(harvested_db):
    page = datasette_get(harvested_db, "/mirror/empiar_entries?_facet=resolution_bin").text
    facet = page[page.index('id="facet-resolution_bin"') :]
    facet = facet[: facet.index("</ul>")]
    shown = re.findall(r'resolution_bin=[^"]*">([^<]*)</a>', facet)
    assert shown == ["&lt;2 Å", "2–3 Å", "3–4 Å", "4–6 Å", "&gt;10 Å"]
