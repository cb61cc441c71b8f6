"""EMDB's validation figures (issue 20 §1), harvested over real HTTP from the loopback archive:
the search route's CSV many maps per request, the analysis route per map with fitted models."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import SHARED_REFERENCE, datasette_get, harvest, invoke, query

from empiar_mirror.harvester import schedule
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer

FIGURES = (
    "select emdb_id, resolution_a, recalc_fsc_0143_a, recalc_fsc_05_a, recalc_fsc_halfbit_a, "
    "recalc_fsc_masked_0143_a, recalc_fsc_corrected_0143_a, recommended_contour_level, "
    "resolution_gap_a, resolution_gap_bin from emdb_maps where emdb_id = ?"
)
FITS = "select emdb_id, pdb_id, map_model_fsc_05_a, qscore_average, atom_inclusion "


def figure_hits(server: ReplayServer) -> dict[str, int]:
    return {
        path: n
        for path, n in server.hits.items()
        if path.startswith("/emdb/api/analysis/") or path.startswith("/emdb/api/search/")
    }


def notes(db: Path, emdb_id: str) -> dict:
    (row,) = query(db, "select validation_notes from emdb_maps where emdb_id = ?", (emdb_id,))
    return json.loads(row[0] or "{}")


def errors(db: Path) -> list[tuple]:
    return query(
        db,
        "select accession, kind, message from harvest_errors where source = 'emdb_validation' "
        "order by id",
    )


@pytest.fixture(scope="module")
def figures_db(tmp_path_factory) -> tuple[Path, dict, dict]:
    db = tmp_path_factory.mktemp("figures") / "empiar.db"
    with ReplayServer() as server:
        result = harvest(server, db, "--json", "--no-files")
        hits = figure_hits(server)
    assert result.returncode == 0, result.stderr
    return db, json.loads(result.stdout), hits


def test_map_figures_come_many_maps_per_csv_request(figures_db):
    db, summary, hits = figures_db
    csv = [p for p in hits if p.startswith("/emdb/api/search/")]
    # One search for the maps' documents, one CSV for all thirteen maps' figures.
    assert len(csv) == 2
    assert summary["emdb_validation"] == {
        "fetched": 13,
        "new": 13,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
    }
    assert query(db, FIGURES, ("EMD-90007",)) == [
        ("EMD-90007", 3.6, 7.1, 8.3, 6.6, 5.75, 5.8, 0.0095, 2.2, "> 2 Å")
    ]
    assert query(db, FIGURES, ("EMD-90010",)) == [
        ("EMD-90010", 2.8, 3.3, 3.9, 3.1, 2.77, 2.78, 0.74, -0.02, "≤ 0 Å")
    ]
    assert errors(db) == []


def test_per_model_figures_only_for_maps_with_fitted_models(figures_db):
    db, _, hits = figures_db
    asked = sorted(p.rsplit("/", 1)[1] for p in hits if p.startswith("/emdb/api/analysis/"))
    assert asked == ["EMD-25107", "EMD-90007", "EMD-90010", "EMD-90013", "EMD-90014", "EMD-90030"]
    assert query(db, FITS + "from emdb_model_fits where emdb_id = 'EMD-90010' order by pdb_id") == [
        ("EMD-90010", "9Z01", 3.02, 0.561, 0.902),
        ("EMD-90010", "9Z02", 3.11, 0.534, 0.871),
    ]
    # A model's figures are per map it is fitted into: joined to the models the file holds.
    assert query(
        db,
        "select f.pdb_id, p.title is not null from emdb_model_fits f "
        "left join pdb_models p on p.pdb_id = f.pdb_id where f.emdb_id = 'EMD-25107'",
    ) == [("7SGD", 1)]
    assert notes(db, "EMD-90001") == {
        "recommended_contour_level": "analysis route not asked: no model is fitted into this map"
    }


def test_an_analysis_answer_nested_twice_is_read(figures_db):
    db, _, _ = figures_db
    # EMD-90013's answer is {"90013": {"90013": {...}}}; its model file is pdb_00009z04.cif.
    assert query(db, FITS + "from emdb_model_fits where emdb_id = 'EMD-90013'") == [
        ("EMD-90013", "9Z04", 4.02, 0.389, 0.701)
    ]
    assert query(db, FIGURES, ("EMD-90013",))[0][7] == 0.13


def test_nan_and_dash_are_that_figures_null_with_a_reason(figures_db):
    db, _, _ = figures_db
    assert query(db, FIGURES, ("EMD-90017",)) == [
        ("EMD-90017", 3.1, 3.5, 4.1, 3.4, None, None, None, None, None)
    ]
    found = notes(db, "EMD-90017")
    assert found["recalc_fsc_masked_0143_a"] == "not a number: 'NaN'"
    assert found["recalc_fsc_corrected_0143_a"] == "not a number: '-'"


def test_a_404_from_the_analysis_route_is_no_validation_yet(figures_db):
    db, _, _ = figures_db
    assert query(db, FITS + "from emdb_model_fits where emdb_id = 'EMD-90030'") == []
    assert notes(db, "EMD-90030") == {
        "recommended_contour_level": "no validation analysis yet (HTTP 404)"
    }
    # The CSV's figures stand.
    assert query(db, FIGURES, ("EMD-90030",))[0][6] == 1.31


def test_figures_survive_reindex(figures_db, tmp_path):
    db, _, _ = figures_db
    copy = tmp_path / "copy.db"
    source = sqlite3.connect(db)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    before = query(copy, "select * from emdb_model_fits order by emdb_id, model_index")
    maps = "select emdb_id, recalc_fsc_corrected_0143_a, resolution_gap_bin from emdb_maps"
    maps_before = query(copy, maps + " order by emdb_id")
    result = invoke("reindex", str(copy))
    assert result.returncode == 0, result.stderr
    assert query(copy, "select * from emdb_model_fits order by emdb_id, model_index") == before
    assert query(copy, maps + " order by emdb_id") == maps_before


def test_the_map_page_shows_its_figures_and_fits(figures_db):
    db, _, _ = figures_db
    page = datasette_get(db, "/empiar/emdb_maps/EMD-90010")
    assert page.status_code == 200
    text = page.text
    assert "Validation by EMDB" in text and "EMDB&#39;s own validation analysis" in text
    assert "2.78&nbsp;Å masked, corrected" in text
    assert "-0.02&nbsp;Å" in text and "0.561" in text and "0.534" in text
    model = datasette_get(db, "/empiar/pdb_models/9Z01").text
    assert "Validation by EMDB" in model and "3.02&nbsp;Å" in model
    # The history names the figures as a part of the map.
    feed = datasette_get(db, "/-/changes.atom")
    assert feed.status_code == 200
    assert "EMD-90010 updated: validation figures: Adeno-associated virus" in feed.text


def test_canned_query_lists_maps_much_worse_than_stated(figures_db):
    db, _, _ = figures_db
    path = "/empiar/recalculated_resolution_worse_than_stated.json?_shape=objects"
    rows = datasette_get(db, path).json()["rows"]
    assert [(r["emdb_id"], r["resolution_gap_a"]) for r in rows] == [
        ("EMD-90007", 2.2),
        ("EMD-90025", 1.5),
    ]
    rows = datasette_get(db, path + "&min_gap=0.5").json()["rows"]
    assert [r["emdb_id"] for r in rows] == ["EMD-90007", "EMD-90025", "EMD-90013"]
    page = datasette_get(db, "/empiar/recalculated_resolution_worse_than_stated?min_gap=a+lot")
    assert "is not a value min_gap can take" in page.text


def test_the_chart_draws_stated_against_recalculated(figures_db):
    db, _, _ = figures_db
    svg = datasette_get(db, "/-/charts/validation.svg")
    assert svg.status_code == 200
    # Ten maps with both figures, the current nine in eight squares (EMD-90026 is obsolete);
    # EMD-90007 links to its square's maps.
    assert svg.text.count('class="cell"') == 8
    everything = datasette_get(db, "/-/charts/validation.svg?include_obsolete=yes").text
    assert everything.count('class="cell"') == 9
    assert "resolution_a__gte=3.5&amp;recalc_fsc_corrected_0143_a__gte=5.5" in svg.text


def _changed_map(root: Path) -> Path:
    """An archive where EMPIAR-90007 and its map EMD-90007 changed, nothing else."""
    for folder, acc in (("empiar", "EMPIAR-90007"), ("emdb", "EMD-90007")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        doc = json.loads((SAMPLE_DIR / folder / f"{acc}.json").read_text())
        if folder == "empiar":
            doc[acc]["update_date"] = "2026-11-30"
        else:
            doc["admin"]["title"] = doc["admin"]["title"] + " (revised)"
        (root / folder / f"{acc}.json").write_text(json.dumps(doc))
    return root


def test_figures_are_refetched_when_their_map_changes_and_only_then(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        assert harvest(server, db, "--no-files").returncode == 0
        server.hits.clear()
        unchanged = harvest(server, db, "--json", "--no-files")
        assert unchanged.returncode == 0, unchanged.stderr
        assert figure_hits(server) == {}
    assert json.loads(unchanged.stdout)["emdb_validation"]["fetched"] == 0
    # A run a while later (the stamps are to the second): only EMD-90007 changes.
    conn = sqlite3.connect(db)
    conn.execute(
        "update source_record set fetched_at = strftime('%Y-%m-%dT%H:%M:%SZ', fetched_at, "
        "'-1 hour'), changed_at = strftime('%Y-%m-%dT%H:%M:%SZ', changed_at, '-1 hour')"
    )
    conn.commit()
    conn.close()
    with ReplayServer([SAMPLE_DIR, _changed_map(tmp_path / "next")]) as server:
        result = harvest(server, db, "--json", "--no-files")
        hits = figure_hits(server)
    assert result.returncode == 0, result.stderr
    assert [p for p in hits if "/analysis/" in p] == ["/emdb/api/analysis/EMD-90007"]
    assert json.loads(result.stdout)["emdb_validation"] == {
        "fetched": 1,
        "new": 0,
        "updated": 0,
        "unchanged": 1,
        "failed": 0,
    }


def test_due_rule_takes_the_validation_date():
    policy = schedule.Policy()
    fetched, changed = "2026-11-01T10:00:00Z", "2026-10-01T10:00:00Z"
    assert not schedule.figures_due(policy, fetched, changed, False)
    assert not schedule.figures_due(policy, fetched, changed, False, "2026-10-30")
    assert schedule.figures_due(policy, fetched, changed, False, "2026-11-02")
    assert schedule.figures_due(policy, fetched, "2026-11-01T10:00:01Z", False)
    assert schedule.figures_due(policy, fetched, changed, True)
    assert schedule.figures_due(policy, None, changed, False)
    assert schedule.figures_due(schedule.Policy(full=True), fetched, changed, False)
    # A date that cannot be read says nothing.
    assert not schedule.figures_due(policy, fetched, changed, False, "soon")


def _overlay(root: Path, emdb_id: str, *, analysis=None, fields=None) -> Path:
    if analysis is not None:
        (root / "emdb" / "analysis").mkdir(parents=True, exist_ok=True)
        (root / "emdb" / "analysis" / f"{emdb_id}.json").write_text(json.dumps(analysis))
    if fields is not None:
        (root / "emdb" / "search_fields").mkdir(parents=True, exist_ok=True)
        (root / "emdb" / "search_fields" / f"{emdb_id}.json").write_text(json.dumps(fields))
    return root


def test_a_quoted_newline_in_a_title_and_a_missing_field(tmp_path):
    db = tmp_path / "empiar.db"
    sample = json.loads((SAMPLE_DIR / "emdb" / "search_fields" / "EMD-90007.json").read_text())
    root = _overlay(
        tmp_path / "odd",
        "EMD-90007",
        fields={**sample, "title": 'A map, "revised"\nover two lines'},
    )
    with ReplayServer(
        [SAMPLE_DIR, root],
        csv_extra=["title"],
        csv_drop={"calculated_resolution_fsc_05_value"},
    ) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-files")
    assert result.returncode == 0, result.stderr
    assert query(db, FIGURES, ("EMD-90007",)) == [
        ("EMD-90007", 3.6, 7.1, None, 6.6, 5.75, 5.8, 0.0095, 2.2, "> 2 Å")
    ]
    assert notes(db, "EMD-90007") == {
        "recalc_fsc_05_a": "field calculated_resolution_fsc_05_value missing from the search answer"
    }


def test_a_row_for_a_map_not_asked_for_is_left_out_and_recorded(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(csv_unasked=["EMD-90019"]) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-files")
    assert result.returncode == 1
    assert query(db, "select emdb_id from emdb_maps") == [("EMD-90007",)]
    assert errors(db) == [(None, "identity", "rows for maps not asked for, left out: EMD-90019")]
    assert query(db, FIGURES, ("EMD-90007",))[0][6] == 5.8


def test_a_huge_analysis_is_that_maps_error_and_the_run_finishes(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(huge_analysis={"EMD-90010"}) as server:
        result = harvest(server, db, "--json", "--no-files")
    assert result.returncode == 1
    assert [(a, k) for a, k, _ in errors(db)] == [("EMD-90010", "too-large")]
    # Its figures are not kept half-fetched; every other map's are.
    assert query(db, FIGURES, ("EMD-90010",))[0][2:] == (None,) * 8
    assert query(db, "select count(*) from emdb_model_fits") == [(4,)]
    assert json.loads(result.stdout)["emdb_validation"]["failed"] == 1


def test_a_bad_analysis_never_replaces_the_figures_in_use(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        assert harvest(server, db, "--ids", "EMPIAR-90007", "--no-files").returncode == 0
    good = query(db, FITS + "from emdb_model_fits")
    # An answer about another map: no block for 90007.
    root = _overlay(tmp_path / "bad", "EMD-90007", analysis={"90008": {"qscore": {}}})
    with ReplayServer([SAMPLE_DIR, root]) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-files")
    assert result.returncode == 1
    assert [(a, k) for a, k, _ in errors(db)] == [("EMD-90007", "invalid-analysis")]
    assert (
        query(db, FITS + "from emdb_model_fits")
        == good
        == [("EMD-90007", "9Z05", 7.4, 0.287, 0.552)]
    )


@pytest.mark.parametrize("odd", ["batch_omit", "batch_twice"])
def test_a_map_the_csv_leaves_out_or_answers_twice_is_asked_of_the_analysis_route(tmp_path, odd):
    db = tmp_path / "empiar.db"
    with ReplayServer(**{odd: {"EMD-90007"}}) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-files")
        hits = figure_hits(server)
    assert result.returncode == 0, result.stderr
    assert [p for p in hits if "/analysis/" in p] == ["/emdb/api/analysis/EMD-90007"]
    # The same shape from the other route: the 0.143 crossings of RELION's FSC, as the CSV
    # gives them; the 0.5 and half-bit ones are not in this answer.
    assert query(db, FIGURES, ("EMD-90007",)) == [
        ("EMD-90007", 3.6, 7.1, None, None, 5.75, 5.8, 0.0095, 2.2, "> 2 Å")
    ]


SCHEMA = SHARED_REFERENCE / "lambda-ber" / "schema" / "lambda_ber_schema.yaml"


def test_the_export_puts_the_figures_in_lambda_bers_additional_metrics(figures_db):
    from sqlite_utils import Database

    from empiar_mirror.index.export import export_dataset

    db, _, _ = figures_db
    database = Database(db)
    try:
        doc = export_dataset(database, "EMD-90010")
    finally:
        database.close()
    (recon,) = [w for w in doc["workflow_runs"] if w["id"].endswith("/workflow/reconstruction")]
    metrics = {m["attribute"]["id"]: m for m in recon["additional_metrics"]}
    assert metrics["emdb:calculated_resolution_fsc_corrected_0143_value"]["numeric_value"] == 2.78
    assert metrics["emdb:qscore/9Z02"] == {
        "attribute": {
            "id": "emdb:qscore/9Z02",
            "label": "average Q-score of model 9Z02 in this map, by EMDB's validation; "
            "EMDB's own method",
        },
        "numeric_value": 0.534,
        "unit": "dimensionless",
    }
    if not SCHEMA.is_file():
        pytest.skip(f"the lambda-ber schema is not at {SCHEMA} (reference copy not present)")
    pytest.importorskip("linkml.validator", reason="linkml is not installed (test extras)")
    from linkml.validator import Validator
    from linkml.validator.plugins import JsonschemaValidationPlugin

    validator = Validator(str(SCHEMA), validation_plugins=[JsonschemaValidationPlugin(closed=True)])
    report = validator.validate(doc, "Dataset")
    assert not report.results, "\n".join(r.message[:300] for r in report.results[:5])


def test_an_answer_that_lost_every_figure_erases_none(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        assert harvest(server, db, "--ids", "EMPIAR-90007", "--no-files").returncode == 0
    before = query(db, FIGURES, ("EMD-90007",)), query(db, FITS + "from emdb_model_fits")
    root = _overlay(tmp_path / "empty", "EMD-90007", analysis={"90007": {}}, fields={})
    with ReplayServer([SAMPLE_DIR, root]) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-files")
    assert result.returncode == 1
    assert [(a, k) for a, k, _ in errors(db)] == [("EMD-90007", "figures-gone")]
    assert (query(db, FIGURES, ("EMD-90007",)), query(db, FITS + "from emdb_model_fits")) == before


def test_the_fields_asked_for_are_those_a_real_csv_answer_returned(tmp_path):
    from urllib.parse import parse_qs, urlsplit

    from conftest import FIXTURES

    from empiar_mirror.harvester.raw.validation import CSV_FIELDS

    log = json.loads((FIXTURES / "recorded" / "emdb-search-csv-fetch-log.json").read_text())
    assert log["http_status"] == 200 and log["fields_missing_from_response"] == []
    assert [f for f in CSV_FIELDS if f not in log["header_returned"]] == []
    real = parse_qs(urlsplit(log["url"]).query)
    # The harvester's request carries the real one's parameters, with its own fields.
    with ReplayServer() as server:
        asked = []
        original = server._emdb_csv

        def spy(request, ids, rows, page):
            asked.append(dict(request.query))
            return original(request, ids, rows, page)

        server._emdb_csv = spy
        assert harvest(server, tmp_path / "e.db", "--ids", "EMPIAR-90007").returncode == 0
    (query_asked,) = asked
    assert set(real) <= set(query_asked) and query_asked["wt"] == real["wt"][0] == "csv"
    assert query_asked["fl"].split(",") == CSV_FIELDS


def test_progress_names_the_figures(tmp_path):
    with ReplayServer() as server:
        result = harvest(server, tmp_path / "p.db", "--progress", "--ids", "EMPIAR-90007")
    assert result.returncode == 0, result.stderr
    assert "Harvesting EMDB validation figures (EMPIAR 1, EMDB 1, RCSB PDB 1)" in result.stderr


@pytest.mark.parametrize(
    ("server_options", "lost"),
    [
        ({"faults": {"/emdb/api/analysis/EMD-90007": ["404"]}}, "fits, recommended_contour_level"),
        ({"csv_drop": ["calculated_resolution_fsc_masked_0143_value"]}, "recalc_fsc_masked_0143_a"),
    ],
)
def test_an_answer_short_of_figures_held_erases_none(tmp_path, server_options, lost):
    """The analysis route answering 404, or the CSV leaving a field out, is the answer's
    shortfall, not EMDB withdrawing the figures: those held stay, and the map is asked again."""
    db = tmp_path / "empiar.db"
    with ReplayServer() as server:
        assert harvest(server, db, "--ids", "EMPIAR-90007", "--no-files").returncode == 0
    before = query(db, FIGURES, ("EMD-90007",)), query(db, FITS + "from emdb_model_fits")
    with ReplayServer(**server_options) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-files")
    assert result.returncode == 1
    ((accession, kind, message),) = errors(db)
    assert (accession, kind) == ("EMD-90007", "figures-gone") and lost in message
    assert (query(db, FIGURES, ("EMD-90007",)), query(db, FITS + "from emdb_model_fits")) == before
