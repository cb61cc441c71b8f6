""" "Can I reprocess this?": the verdict, its tiers and reasons, and the entry page's words."""

from __future__ import annotations

import json

from conftest import datasette_get, query

from empiar_mirror.index import reprocessing

ENTRY = {
    "title": "t",
    "release_date": "2024-01-01",
    "entry_doi": "10.6019/X",
    "files_listed_at": "x",
}
PASS = {rule: (1, "ok") for rule in (*reprocessing.CORE_RULES, *reprocessing.ACQUISITION_RULES)}


def test_nothing_missing_is_reprocessable():
    assert reprocessing.verdict(ENTRY, PASS, True) == (1, "acquisition complete", [])


def test_each_gap_names_its_reason_and_stops_the_tier_there():
    checks = {**PASS, "gain_reference": (0, "no gain reference file is listed")}
    value, tier, gaps = reprocessing.verdict({**ENTRY, "entry_doi": None}, checks, False)
    assert (value, tier) == (0, None)
    assert [(g["what"], g["reason"]) for g in gaps] == [
        ("entry DOI", "not registered"),
        ("raw movies or micrographs", "not deposited"),
        ("gain reference", "not deposited"),
    ]
    value, tier, gaps = reprocessing.verdict(ENTRY, {**PASS, "pixel_size": (0, "no px")}, True)
    assert (value, tier) == (0, "findable")


def test_not_applicable_is_said_but_not_counted_and_unlisted_files_give_no_verdict():
    checks = {**PASS, "frames_and_dose": (None, "no cryo-EM movies")}
    value, tier, gaps = reprocessing.verdict(ENTRY, checks, True)
    assert (value, tier) == (1, "acquisition complete")
    assert gaps == [
        {"what": "frames and dose", "reason": "not applicable", "detail": "no cryo-EM movies"}
    ]
    value, tier, gaps = reprocessing.verdict({**ENTRY, "files_listed_at": None}, PASS, False)
    assert (value, tier) == (None, "core metadata") and gaps[0]["reason"] == "not listed yet"


def test_the_sample_has_verdicts_facets_and_canned_queries(harvested_db):
    verdicts = dict(query(harvested_db, "select accession, reprocessable from empiar_entries"))
    assert set(verdicts.values()) == {0, 1}
    assert verdicts["EMPIAR-10442"] == 1 and verdicts["EMPIAR-12104"] == 0
    gaps = json.loads(
        query(
            harvested_db,
            "select reprocessing_gaps from empiar_entries where accession = 'EMPIAR-12104'",
        )[0][0]
    )
    assert {
        "what": "gain reference",
        "reason": "not deposited",
        "detail": "imageset 1: UNSIGNED BYTE movies, and no gain reference file is listed",
    } in gaps
    r = datasette_get(harvested_db, "/mirror/empiar_entries.json?_facet=reprocessable&_size=0")
    assert {f["value"] for f in r.json()["facet_results"]["reprocessable"]["results"]} == {0, 1}
    coords = datasette_get(
        harvested_db, "/mirror/entries_with_particle_coordinates.json?_shape=objects"
    ).json()["rows"]
    assert [row["accession"] for row in coords] == [
        "EMPIAR-90001",
        "EMPIAR-90007",
        "EMPIAR-90010",
        "EMPIAR-90014",
    ]


def test_the_entry_page_says_the_verdict_what_is_missing_and_its_files(harvested_db):
    page = datasette_get(harvested_db, "/mirror/empiar_entries/EMPIAR-12104").text
    assert "<dt>Reprocessable</dt>" in page and "<strong>no</strong>" in page
    assert "What reprocessing misses" in page
    assert "<strong>gain reference</strong>: not deposited" in page
    assert "<h2>Files" in page and "data/frames" in page and "movie&nbsp;60" in page
    page = datasette_get(harvested_db, "/mirror/empiar_entries/EMPIAR-10442").text
    assert "<strong>yes</strong>: acquisition complete" in page
