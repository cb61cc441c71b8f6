"""Datasette serving a harvested file: facets, search, hidden internals, no writes."""

from __future__ import annotations

import json

import pytest
from conftest import datasette_get, harvested_sample, run_cli

from empiar_mirror.index.serve import load_metadata


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    # Not always "empiar.db": URLs must use the file's stem, whatever it is.
    return harvested_sample(tmp_path_factory.mktemp("ds"), "empiar.db")


get = datasette_get


def test_default_facets_on_the_front_door(demo_db):
    facets = get(demo_db, "/empiar/empiar_entries.json").json()["facet_results"]
    assert set(facets) >= {
        "experiment_type",
        "technique",
        "status",
        "release_year",
        "scale",
        "categories",
        "data_formats",
    }
    counts = {f["value"]: f["count"] for f in facets["experiment_type"]["results"]}
    assert counts["EMDB"] >= 10 and counts["FIB-SEM"] >= 2
    categories = {f["value"] for f in facets["categories"]["results"]}
    assert "tilt series" in categories  # an array facet: values from inside the JSON lists


def test_search_box_finds_by_title_author_and_imageset_text(demo_db):
    def search(q):
        r = get(demo_db, f"/empiar/empiar_entries.json?_search={q}&_shape=objects&_col=accession")
        return {row["accession"] for row in r.json()["rows"]}

    assert "EMPIAR-10442" in search("Arabidopsis")
    assert search("Helariutta") == {"EMPIAR-10442"}  # an author
    assert "EMPIAR-10442" in search("Microscopy Image Browser")  # imageset details only
    assert search("Sphingolipid") == {"EMPIAR-10442"}  # citation title only
    assert search("zzzznothing") == set()


def test_internal_tables_are_hidden_and_tables_described(demo_db):
    tables = get(demo_db, "/empiar.json").json()["tables"]
    visible = {t["name"] for t in tables if not t["hidden"]}
    assert "source_record" not in visible and "_sqlite_migrations" not in visible
    assert not any(name.startswith("empiar_entries_fts") for name in visible)
    assert {"empiar_entries", "dataset", "person", "data_file", "harvest_runs"} <= visible
    metadata = load_metadata()["databases"]["empiar"]["tables"]
    for name in visible:
        assert metadata.get(name, {}).get("description"), f"{name} has no description"


def test_sql_is_read_only(demo_db):
    before = demo_db.read_bytes()
    for sql in (
        "delete from empiar_entries",
        "update empiar_entries set title = 'x'",
        "drop table dataset",
        "insert into person (id) values ('x')",
    ):
        r = get(demo_db, "/empiar.json?sql=" + sql.replace(" ", "+"))
        assert r.status_code in (400, 403), (sql, r.status_code)
        assert r.json()["ok"] is False
    ok = get(demo_db, "/empiar.json?sql=select+count(*)+as+n+from+empiar_entries&_shape=array")
    assert ok.json()[0]["n"] >= 30
    assert demo_db.read_bytes() == before


def test_row_page_and_html_escaping(demo_db):
    r = get(demo_db, "/empiar/empiar_entries/EMPIAR-90030")
    assert r.status_code == 200
    assert "<script>alert(" not in r.text
    assert "&lt;script&gt;alert(" in r.text


def test_serve_command_refuses_bad_files(tmp_path):
    result = run_cli("serve", str(tmp_path / "missing.db"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_metadata_describes_every_column_users_see(demo_db):
    import sqlite3

    tables = load_metadata()["databases"]["empiar"]["tables"]
    conn = sqlite3.connect(demo_db)
    for name, meta in tables.items():
        if meta.get("hidden"):
            continue
        columns = {r[1] for r in conn.execute(f"pragma table_info([{name}])")}
        described = set(meta.get("columns", {}))
        assert columns == described, (name, columns ^ described)
    conn.close()
    assert json.dumps(tables)  # plain JSON, loadable by `datasette --metadata`
