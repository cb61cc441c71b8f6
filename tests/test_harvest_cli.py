"""End to end: the real CLI harvesting the loopback archive into a real SQLite file."""

from __future__ import annotations

import json
import sqlite3

from conftest import (
    OVERLAY_ENTRIES,
    SAMPLE_ENTRIES,
    canonical_file,
    harvest,
    invoke,
    query,
    run_cli,
    stored,
    table_dump,
)

from empiar_mirror.index.store import NORMALIZED_TABLES

GOOD_ENTRIES = len(SAMPLE_ENTRIES)


def test_harvest_fills_front_door_and_lambda_ber_tables(server, tmp_path):
    db = tmp_path / "empiar.db"
    result = harvest(server, db, "--json")
    # The drifted test record fails; everything else lands, so the exit code says "some failed".
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["empiar"]["new"] == GOOD_ENTRIES
    assert summary["empiar"]["failed"] == len(OVERLAY_ENTRIES) == 1
    assert summary["empiar"]["listed"] == GOOD_ENTRIES + 1
    assert query(db, "select count(*) from empiar_entries")[0][0] == GOOD_ENTRIES

    row = query(
        db,
        "select title, experiment_type, technique, dataset_size, dataset_size_bytes, authors, "
        "corresponding_author, imageset_count, image_count, categories, pixel_size_min_a, "
        "citation_doi, citation_year, release_year, empiar_url from empiar_entries "
        "where accession = 'EMPIAR-10442'",
    )[0]
    assert row == (
        "170314, Five-day-old Col-0 Arabidopsis thaliana root, phloem pole unloading zone "
        "(339-381 um from the root tip)",
        "SBF-SEM",
        "electron_microscopy",
        "43.2 GB",
        43_200_000_000,
        "Paterlini A; Belevich I; Jokitalo E; Helariutta Y",
        "Ilya Belevich",
        4,
        4,
        '["micrographs - multiframe"]',
        70.0,
        "10.1038/s41477-019-0429-5",
        2019,
        2020,
        "https://www.ebi.ac.uk/empiar/EMPIAR-10442/",
    )
    # The issue's own example query.
    fib = {
        r[0]
        for r in query(db, "select accession from empiar_entries where experiment_type = 'FIB-SEM'")
    }
    assert "EMPIAR-11419" in fib

    # lambda-ber tables, ids as CURIEs; an SBF-SEM section stack is raw data, not a movie.
    assert query(
        db,
        "select file_name, file_format, data_type, x_image_width from data_file "
        "where id = 'empiar:EMPIAR-10442/imageset/1'",
    ) == [("Sieve element cells of Arabidopsis thaliana roots", "mrc", "raw_data", 3874)]
    assert query(
        db,
        "select role, author_position, corresponding from study_person "
        "where study_id = 'empiar:EMPIAR-10442/study' "
        "and person_id = 'https://orcid.org/0000-0003-2190-4909' order by role",
    ) == [("author", 2, None), ("contact", None, 1)]
    assert query(
        db,
        "select year, doi from publication p join study_publication sp "
        "on sp.publication_id = p.id where sp.study_id = 'empiar:EMPIAR-10442/study'",
    ) == [(2019, "doi:10.1038/s41477-019-0429-5")]
    assert query(
        db,
        "select count(*) from publication_author "
        "where publication_id = 'doi:10.1038/s41477-019-0429-5'",
    ) == [(19,)]

    # The raw response is kept, as the canonical text of the document received.
    payload = stored(db, "EMPIAR-10442")
    assert payload == canonical_file(server.snapshot.entries["EMPIAR-10442"])
    assert json.loads(payload) == json.loads(server.snapshot.entries["EMPIAR-10442"].read_text())


def test_malformed_record_is_recorded_and_others_land(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db)
    errors = query(db, "select source, accession, kind, message from harvest_errors")
    assert len(errors) == 1
    source, accession, kind, message = errors[0]
    assert (source, accession, kind) == ("empiar", "EMPIAR-99901", "validation")
    assert "imagesets" in message
    # Raw first: the payload is kept, as a version that does not map, for a later reindex; none
    # of its rows is half-written.
    assert stored(db, "EMPIAR-99901") == canonical_file(server.snapshot.entries["EMPIAR-99901"])
    assert query(db, "select maps from record_version where accession = 'EMPIAR-99901'") == [(0,)]
    assert query(db, "select count(*) from dataset where id like 'empiar:EMPIAR-99901%'") == [(0,)]
    status = json.loads(invoke("status", str(db), "--json").stdout)
    assert status["error_count"] == 1
    assert status["runs"][0]["exit_status"] == 1
    # The next run maps it again (it may have been our parser's fault), and fails again.
    again = json.loads(harvest(server, db, "--json").stdout)
    assert again["exit_status"] == 1 and again["empiar"]["failed"] == 1
    # reindex maps every stored answer and names, with exit 1, the one it still cannot map.
    rebuilt = invoke("reindex", str(db))
    assert rebuilt.returncode == 1
    assert "cannot map empiar EMPIAR-99901" in rebuilt.stderr
    assert query(db, "select count(*) from empiar_entries where accession = 'EMPIAR-99901'") == [
        (0,)
    ]


def test_second_harvest_changes_no_row(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db)
    tables = NORMALIZED_TABLES
    before = table_dump(db, tables)
    # Incremental: nothing is due but the record that failed last time.
    summary = json.loads(harvest(server, db, "--json").stdout)
    assert summary["empiar"]["fetched"] == summary["empiar"]["failed"] == 1
    assert summary["emdb"]["fetched"] == summary["pdb"]["fetched"] == 0
    assert table_dump(db, tables) == before
    # Full: everything fetched again, every record unchanged.
    summary = json.loads(harvest(server, db, "--full", "--json").stdout)
    assert summary["empiar"]["unchanged"] == GOOD_ENTRIES
    assert summary["empiar"]["new"] == summary["empiar"]["updated"] == 0
    assert summary["emdb"]["unchanged"] == summary["emdb"]["fetched"] == 13
    assert summary["pdb"]["new"] == summary["pdb"]["updated"] == 0
    # The file trees were listed again, and found the same: only when they were listed moves.
    assert summary["files"]["entries"] == GOOD_ENTRIES
    listed = [r[1] for r in query(db, "pragma table_info(empiar_entries)")].index("files_listed_at")
    after = table_dump(db, tables)
    for dump in (before, after):
        dump["empiar_entries"] = [r[:listed] + r[listed + 1 :] for r in dump["empiar_entries"]]
    assert after == before


def test_changed_entry_is_rewritten(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db, "--ids", "EMPIAR-10442")
    path = tmp_path / "changed" / "empiar"
    path.mkdir(parents=True)
    body = json.loads(server.snapshot.entries["EMPIAR-10442"].read_text())
    body["EMPIAR-10442"]["title"] = "A corrected title"
    body["EMPIAR-10442"]["imagesets"] = body["EMPIAR-10442"]["imagesets"][:1]
    (path / "EMPIAR-10442.json").write_text(json.dumps(body))
    server.snapshot.entries["EMPIAR-10442"] = path / "EMPIAR-10442.json"
    summary = json.loads(harvest(server, db, "--ids", "EMPIAR-10442", "--json").stdout)
    assert summary["empiar"]["updated"] == 1
    assert query(db, "select title, imageset_count from empiar_entries") == [
        ("A corrected title", 1)
    ]
    assert query(db, "select count(*) from data_file") == [(1,)]
    assert query(db, "select count(*) from image") == [(1,)]
    hits = query(
        db, "select rowid from empiar_entries_fts where empiar_entries_fts match 'corrected'"
    )
    assert len(hits) == 1


def test_ids_option_restricts_the_harvest(server, tmp_path):
    db = tmp_path / "empiar.db"
    result = harvest(server, db, "--ids", "EMPIAR-10442,11419,90001-90003", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["empiar"]["listed"] == 5
    assert [r[0] for r in query(db, "select accession from empiar_entries order by accession")] == [
        "EMPIAR-10442",
        "EMPIAR-11419",
        "EMPIAR-90001",
        "EMPIAR-90002",
        "EMPIAR-90003",
    ]
    # No enumeration requests when the ids are given.
    assert server.hits["/empiar/world_availability/"] == 0


def test_not_public_ids_are_recorded(server, tmp_path):
    db = tmp_path / "empiar.db"
    result = harvest(server, db, "--ids", "EMPIAR-10442,EMPIAR-19999", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["empiar"]["not_public"] == 1
    assert query(
        db, "select http_status, sha256 from source_record where accession = 'EMPIAR-19999'"
    ) == [(404, None)]
    assert query(db, "select count(*) from empiar_entries") == [(1,)]
    assert query(db, "select count(*) from harvest_errors") == [(0,)]


def test_limit_and_listing_union(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db, "--ids", "EMPIAR-10442")
    server.hidden = {"EMPIAR-10442"}  # the listings drop a name this time...
    summary = json.loads(harvest(server, db, "--limit", "3", "--json").stdout)
    # ...but it is still known from the database, so it stays in the harvest's scope.
    assert summary["empiar"]["listed"] == GOOD_ENTRIES + 1
    assert summary["empiar"]["fetched"] == 3
    assert query(db, "select count(*) from empiar_entries") == [(4,)]
    assert query(
        db, "select status, withdrawn_on from empiar_entries where accession = 'EMPIAR-10442'"
    ) == [("REL", None)]


def test_reindex_rebuilds_the_same_tables_without_network(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db)
    before = table_dump(db, NORMALIZED_TABLES)
    fts_sql = (
        "select e.accession, f.title, f.authors, f.imageset_text, f.citation_title "
        "from empiar_entries_fts f join empiar_entries e on e.rowid = f.rowid "
        "order by e.accession"
    )
    fts_before = query(db, fts_sql)
    server.stop()
    result = invoke("reindex", str(db), env={"EMPIAR_MIRROR_EMPIAR_API": "http://127.0.0.1:9/"})
    # The sample's one malformed record is kept raw and still cannot be mapped: exit 1, named.
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("cannot map") == 1 and "EMPIAR-99901" in result.stderr
    assert table_dump(db, NORMALIZED_TABLES) == before
    assert query(db, fts_sql) == fts_before


def test_status_reports_counts_and_runs(server, tmp_path):
    db = tmp_path / "empiar.db"
    harvest(server, db)
    result = invoke("status", str(db))
    assert result.returncode == 0
    assert f"EMPIAR entries: {GOOD_ENTRIES}" in result.stdout
    assert "Errors in the last run: 1" in result.stdout
    report = json.loads(invoke("status", str(db), "--json").stdout)
    by_status = {r["status"]: r["count"] for r in report["records"] if r["source"] == "empiar"}
    assert by_status == {"REL": GOOD_ENTRIES - 1, "OBS": 1}
    assert report["last_harvest"] is not None


def test_html_error_page_with_status_200_is_recorded_not_a_crash(server, tmp_path):
    db = tmp_path / "empiar.db"
    server.faults = {"/empiar/api/entry/EMPIAR-10442/": ["html", "html"]}
    result = harvest(server, db, "--ids", "EMPIAR-10442,EMPIAR-11419", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["empiar"]["new"] == 1
    assert query(db, "select accession, kind, http_status from harvest_errors") == [
        ("EMPIAR-10442", "invalid-json", 200)
    ]
    # The next run retries the failed record and it lands.
    result = harvest(server, db, "--ids", "EMPIAR-10442,EMPIAR-11419", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["empiar"]["new"] == 1


def test_credentials_in_an_endpoint_are_never_stored_or_logged(server, tmp_path):
    db = tmp_path / "empiar.db"
    env = {
        name: value.replace("http://", "http://mirror-user:s3cret-token@")
        for name, value in server.env().items()
    }
    server.faults = {"/empiar/api/entry/EMPIAR-10442/": ["503"] * 2}
    result = run_cli(
        "harvest", str(db), "--rate", "0", "--retries", "1", "--backoff", "0.05", "-vv", env=env
    )
    assert result.returncode == 1, result.stderr
    assert query(db, "select count(*) from empiar_entries")[0][0] > 0
    assert "s3cret-token" not in result.stderr + result.stdout
    conn = sqlite3.connect(db)
    try:
        for (table,) in conn.execute("select name from sqlite_master where type = 'table'"):
            for (column,) in [(r[1],) for r in conn.execute(f"pragma table_info([{table}])")]:
                leaked = conn.execute(
                    f"select count(*) from [{table}] where cast([{column}] as text) like ?",
                    ("%s3cret-token%",),
                ).fetchone()[0]
                assert leaked == 0, (table, column)
    finally:
        conn.close()
    assert "127.0.0.1" in query(db, "select url from harvest_errors")[0][0]
