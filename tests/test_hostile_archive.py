"""A hostile archive, end to end: no value one record holds and no answer one server sends can
crash, hang or poison a harvest. Each case goes through the real CLI against the loopback server:
the run finishes and records itself, the bad record is that record's error, the other records
land, and the good links are still followed."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLE_ENTRIES, harvest, query

from empiar_mirror.harvester import schedule
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.harvester.sources.empiar import SEARCH_PAGE_SIZE, SEARCH_PAGES_AT_ONCE

BOGUS_PDB = "/rcsb/INTERNAL/ADMIN?DELETE=ALL"
NINES = "9" * 400
SEARCH = "/ebisearch/ws/rest/empiar"
LISTING = "/empiar/world_availability/"
STRAY = "A stray answer about another record"


def _sample(folder: str, name: str) -> dict:
    return json.loads((SAMPLE_DIR / folder / f"{name}.json").read_text())


def _write(root: Path, folder: str, name: str, doc: object, raw: dict | None = None) -> None:
    """One record file of the overlay; `raw` swaps quoted placeholders for literal JSON tokens
    that json.dumps cannot write (1e400)."""
    text = json.dumps(doc, indent=1)
    for placeholder, token in (raw or {}).items():
        text = text.replace(json.dumps(placeholder), token)
    path = root / folder / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _entry(acc: str) -> tuple[dict, dict]:
    doc = _sample("empiar", acc)
    return doc, doc[acc]


def _final(doc: dict) -> dict:
    sd = doc["structure_determination_list"]["structure_determination"][0]
    return sd["image_processing"][0]


def hostile_overlay(root: Path) -> Path:
    """Copies of sample records, each made hostile in one way (see CASES)."""
    doc, e = _entry("EMPIAR-90001")
    e["dataset_size"] = f"{NINES} GB"
    _write(root, "empiar", "EMPIAR-90001", doc)
    doc, e = _entry("EMPIAR-90003")
    e["imagesets"][0]["num_images_or_tilt_series"] = 10**20
    _write(root, "empiar", "EMPIAR-90003", doc)
    doc, e = _entry("EMPIAR-90007")
    e["imagesets"][0]["pixel_width"] = float("nan")  # written as the bare token NaN
    _write(root, "empiar", "EMPIAR-90007", doc)
    doc, e = _entry("EMPIAR-10442")
    e["title"] = "Lone \ud800 surrogate"  # written as the escape \ud800
    _write(root, "empiar", "EMPIAR-10442", doc)
    doc, e = _entry("EMPIAR-90027")
    e["title"] = "Control\x00 characters\x1b[31m in a\ttitle\x7f\x85"
    _write(root, "empiar", "EMPIAR-90027", doc)
    doc, e = _entry("EMPIAR-90030")
    e["status"] = None
    _write(root, "empiar", "EMPIAR-90030", doc)
    doc, e = _entry("EMPIAR-90025")
    e["cross_references"] += [{"name": "EMD-\u0661\u0662\u0663\u0664"}, {"name": "EMD-90025/../x"}]
    e["related_pdb_entries"] = [BOGUS_PDB, "../../admin", "9Z06"]
    _write(root, "empiar", "EMPIAR-90025", doc)
    # Answers about another record, with a title of their own: wrapped under that entry's
    # accession; naming another map or model (served by the single-record routes: batch_omit).
    e = dict(_entry("EMPIAR-90024")[1], title=STRAY)
    _write(root, "empiar", "EMPIAR-90023", {"EMPIAR-90024": e})
    doc = _sample("emdb", "EMD-90014")
    doc["admin"]["title"] = STRAY
    _write(root, "emdb", "EMD-90013", doc)
    doc = _sample("rcsb/entry", "9Z06")
    doc["struct"]["title"] = STRAY
    _write(root, "rcsb/entry", "9Z03", doc)

    doc = _sample("emdb", "EMD-90003")
    doc["structure_determination_list"] = {"structure_determination": "see the publication"}
    _write(root, "emdb", "EMD-90003", doc)
    doc = _sample("emdb", "EMD-90007")
    _final(doc)["final_reconstruction"]["resolution"]["valueOf_"] = "Infinity"
    _write(root, "emdb", "EMD-90007", doc)
    doc = _sample("emdb", "EMD-90010")
    _final(doc)["particle_selection"][0]["number_selected"] = "@1e400"
    _write(root, "emdb", "EMD-90010", doc, {"@1e400": "1e400"})
    doc = _sample("emdb", "EMD-90030")
    doc["crossreferences"]["pdb_list"]["pdb_reference"].append({"pdb_id": BOGUS_PDB})
    _write(root, "emdb", "EMD-90030", doc)
    return root


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    overlay = hostile_overlay(root / "archive")
    db = root / "mirror.db"
    with ReplayServer([SAMPLE_DIR, overlay], batch_omit={"EMD-90013", "9Z03"}) as server:
        result = harvest(server, db, "--json")
        hits = dict(server.hits)
    return db, result, hits


def errors(db: Path, accession: str) -> list[tuple[str, str]]:
    return query(
        db, "select kind, message from harvest_errors where accession = ? order by id", (accession,)
    )


def test_the_run_finishes_records_itself_and_exits_1(hostile):
    db, result, _ = hostile
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    ((finished, status),) = query(db, "select finished_at, exit_status from harvest_runs")
    assert finished is not None and status == 1
    # Every error is one record's (a hostile value never becomes the run's error).
    assert query(db, "select count(*) from harvest_errors where accession is null") == [(0,)]


SET_ASIDE = {
    # (the record, the value its error names, the row holding that value, as it must be now)
    "dataset_size of 400 nines": (
        "EMPIAR-90001",
        "dataset_size '99999",
        "select dataset_size, dataset_size_bytes from empiar_entries "
        "where accession = 'EMPIAR-90001'",
        [(None, None)],
    ),
    "10^20 images": (
        "EMPIAR-90003",
        "num_images_or_tilt_series 100000000000000000000",
        "select x_num_images_or_tilt_series from data_file "
        "where id = 'empiar:EMPIAR-90003/imageset/1'",
        [(None,)],
    ),
    "NaN pixel size": (
        "EMPIAR-90007",
        "pixel_width nan",
        "select x_pixel_width from data_file where id = 'empiar:EMPIAR-90007/imageset/1'",
        [(None,)],
    ),
    "Infinity resolution": (
        "EMD-90007",
        "'Infinity'",
        "select resolution_a from emdb_maps where emdb_id = 'EMD-90007'",
        [(None,)],
    ),
    "1e400 particle count": (
        "EMD-90010",
        "inf",
        "select number_of_particles_selected from particle_picking_parameters "
        "where workflow_id = 'emdb:EMD-90010/workflow/particle-selection'",
        [(None,)],
    ),
}


@pytest.mark.parametrize("accession, named, sql, rows", SET_ASIDE.values(), ids=SET_ASIDE.keys())
def test_an_out_of_range_number_is_set_aside_and_the_record_lands(
    hostile, accession, named, sql, rows
):
    db, _, _ = hostile
    ((kind, message),) = errors(db, accession)
    assert kind == "value-set-aside" and named in message, message
    assert query(db, sql) == rows
    # The record landed, every other value with it.
    archive = "empiar" if accession.startswith("EMPIAR") else "emdb"
    assert query(db, "select title from dataset where id = ?", (f"{archive}:{accession}",))[0][0]


def test_no_nan_or_infinity_reaches_a_table(hostile):
    db, _, _ = hostile
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "select name from sqlite_master where type = 'table' and name not like '%fts%'"
            )
        ]
        for table in tables:
            for column in [r[1] for r in conn.execute(f"pragma table_info([{table}])")]:
                bad = conn.execute(
                    f"select count(*) from [{table}] where typeof([{column}]) = 'real' "
                    f"and abs([{column}]) > 1e308"
                ).fetchone()[0]
                assert bad == 0, (table, column)
                if (table, column) in (
                    ("record_version", "payload"),
                    ("harvest_errors", "excerpt"),
                    # Why a figure is empty, quoting what EMDB sent for it (the sample's NaN).
                    ("emdb_maps", "validation_notes"),
                ):
                    continue  # the answers as sent
                words = conn.execute(
                    f"select count(*) from [{table}] where typeof([{column}]) = 'text' "
                    f"and ([{column}] glob '*NaN*' or [{column}] glob '*Infinity*')"
                ).fetchone()[0]
                if table != "harvest_errors":
                    assert words == 0, (table, column)
    finally:
        conn.close()


def test_a_lone_surrogate_is_that_records_error(hostile):
    db, _, _ = hostile
    ((kind, message),) = errors(db, "EMPIAR-10442")
    assert kind == "invalid-json" and "surrogate" in message
    assert query(db, "select count(*) from empiar_entries where accession = 'EMPIAR-10442'") == [
        (0,)
    ]


def test_control_characters_are_stripped_from_text(hostile):
    db, _, _ = hostile
    assert errors(db, "EMPIAR-90027") == []
    assert query(db, "select title from empiar_entries where accession = 'EMPIAR-90027'") == [
        ("Control characters[31m in a\ttitle",)
    ]


def test_a_null_status_and_a_string_structure_determination_still_land(hostile):
    db, _, _ = hostile
    assert errors(db, "EMPIAR-90030") == errors(db, "EMD-90003") == []
    assert query(db, "select status from empiar_entries where accession = 'EMPIAR-90030'") == [
        (None,)
    ]
    ((title, method),) = query(
        db, "select title, method from emdb_maps where emdb_id = 'EMD-90003'"
    )
    assert title and method is None


IDENTITY = {
    "EMPIAR entry under another key": ("empiar", "EMPIAR-90023", "EMPIAR-90024"),
    "EMDB emdb_id of another map": ("emdb", "EMD-90013", "EMD-90014"),
    "PDB rcsb_id of another model": ("pdb", "9Z03", "9Z06"),
}


@pytest.mark.parametrize("source, asked, other", IDENTITY.values(), ids=IDENTITY.keys())
def test_an_answer_about_another_record_stores_nothing(hostile, source, asked, other):
    db, _, _ = hostile
    ((kind, message),) = errors(db, asked)
    assert kind == "identity" and other in message, message
    assert query(
        db, "select count(*) from source_record where source = ? and accession = ?", (source, asked)
    ) == [(0,)]
    assert query(db, "select count(*) from dataset where id = ?", (f"{source}:{asked}",)) == [(0,)]
    # The other record holds its own answer, not the stray one.
    ((title,),) = query(db, "select title from dataset where id = ?", (f"{source}:{other}",))
    assert title and title != STRAY
    stray = query(db, "select count(*) from record_version where payload like ?", (f"%{STRAY}%",))
    assert stray == [(0,)]


def test_ids_that_do_not_fit_their_archive_are_never_requested_nor_linked(hostile):
    db, _, hits = hostile
    route = re.compile(
        r"/empiar/api/entry/((EMPIAR-)?\d{5,}/)?|/emdb/api/(entry|analysis)/EMD-\d{4,}"
        r"|/emdb/api/search/.*"
        r"|/rcsb/rest/v1/(core/entry|holdings/status)/[0-9][A-Z0-9]{3}|/rcsb/graphql"
        rf"|{SEARCH}|{LISTING}"
        # Entries' directory trees, below a well-formed accession's directory.
        rf"|{LISTING}\d{{5,}}/([^/?#]+/)*",
        re.ASCII,
    )
    assert [path for path in hits if not route.fullmatch(path)] == []
    assert not any("INTERNAL" in path or "admin" in path for path in hits)
    pattern = {"emdb": r"EMD-[0-9]{4,}", "pdb": r"[0-9][A-Z0-9]{3}|PDB_[0-9]{4}[A-Z0-9]{4}"}
    linked = query(
        db,
        "select database_name, database_id from database_cross_reference "
        "where database_name in ('emdb', 'pdb')",
    )
    assert linked and [x for x in linked if not re.fullmatch(pattern[x[0]], x[1])] == []
    # The good links beside them are followed.
    assert query(db, "select count(*) from pdb_models where pdb_id = '9Z06'") == [(1,)]


def test_the_other_entries_land_and_their_links_are_followed(hostile):
    db, _, _ = hostile
    landed = {r[0] for r in query(db, "select accession from empiar_entries")}
    assert landed == set(SAMPLE_ENTRIES) - {"EMPIAR-10442", "EMPIAR-90023"}
    maps = {r[0] for r in query(db, "select emdb_id from emdb_maps where title is not null")}
    assert {
        "EMD-90001",  # of the entry with an absurd size
        "EMD-90003",  # of the entry with 10^20 images
        "EMD-90007",  # of the entry with a NaN pixel size
        "EMD-90010",
        "EMD-90014",
        "EMD-90025",
        "EMD-90026",
        "EMD-90027",  # of the entry with control characters
        "EMD-90030",  # of the entry with a null status
        "EMD-25107",
    } <= maps
    models = {r[0] for r in query(db, "select pdb_id from pdb_models where title is not null")}
    assert {"9Z01", "9Z05", "9Z06", "9Z07", "7SGD"} <= models


# Enumeration ----------------------------------------------------------------------------------


def _get(server: ReplayServer, path: str) -> bytes:
    with urllib.request.urlopen(server.base_url + path, timeout=30) as resp:
        return resp.read()


def test_bogus_names_in_the_file_listing_are_skipped(tmp_path):
    db = tmp_path / "mirror.db"
    with ReplayServer() as server:
        html = _get(server, LISTING).decode()
        bogus = "".join(
            f'<tr><td><a href="{name}/">{name}/</a></td><td>{stamp}</td></tr>'
            for name, stamp in (
                ("1234", "2024-01-01 10:00"),  # too short to be an accession
                ("\u0661\u0660\u0664\u0664\u0662", "2024-01-01 10:00"),  # not ASCII digits
                ("12a45", "2024-01-01 10:00"),
                ("99990", "31-Foo-2024 10:00"),  # dates no calendar knows
                ("99991", "2024-13-45 10:00"),
                ("7" * 300, "2024-01-01 10:00"),  # no file name could hold it
                ("8" * 5000, "2024-01-01 10:00"),  # past what int() reads
            )
        )
        server.bodies[LISTING] = html.replace("</table>", bogus + "</table>").encode()
        result = harvest(server, db, "--json", "--no-linked")
        hits = dict(server.hits)
    # The listing counts (it answered): the entries it names are fetched, the junk skipped.
    assert result.returncode == 0, result.stderr
    assert query(db, "select count(*) from harvest_errors") == [(0,)]
    listed = dict(query(db, "select accession, listing_mtime from listing_state"))
    assert set(listed) == {*SAMPLE_ENTRIES, "EMPIAR-99990", "EMPIAR-99991"}
    assert listed["EMPIAR-99990"] is listed["EMPIAR-99991"] is None
    assert listed["EMPIAR-90005"] is not None
    entry = re.compile(r"/empiar/api/entry/(?:EMPIAR-)?([0-9]{5,})/?", re.ASCII)
    paths = [p for p in hits if p.startswith("/empiar/api/entry/")]
    assert all(entry.fullmatch(p) for p in paths), paths
    assert {f"EMPIAR-{entry.fullmatch(p)[1]}" for p in paths} == set(listed)


def _search_page(ids: list[str], hit_count: object) -> bytes:
    entries = [{"id": acc, "source": "empiar"} for acc in ids]
    return json.dumps({"hitCount": hit_count, "entries": entries, "facets": []}).encode()


@pytest.mark.parametrize("hit_count", [10**12, "lots", -5, None, [1]])
def test_a_wrong_hit_count_neither_breaks_enumeration_nor_multiplies_requests(tmp_path, hit_count):
    db = tmp_path / "mirror.db"
    page = _search_page(SAMPLE_ENTRIES, hit_count)  # every entry, on one short page
    with ReplayServer(bodies={SEARCH: page}) as server:
        result = harvest(server, db, "--json", "--no-linked")
        searched = server.hits[SEARCH]
    assert result.returncode == 0, result.stderr
    assert searched == 1
    assert json.loads(result.stdout)["empiar"]["new"] == len(SAMPLE_ENTRIES)


def test_search_pages_that_repeat_themselves_end_the_paging(tmp_path):
    db = tmp_path / "mirror.db"
    # A full page, answered whatever the offset asked for, under a count of a trillion.
    padding = [f"EMPIAR-{95000 + i}" for i in range(SEARCH_PAGE_SIZE - len(SAMPLE_ENTRIES))]
    page = _search_page([*SAMPLE_ENTRIES, *padding], 10**12)
    with ReplayServer(bodies={SEARCH: page}) as server:
        result = harvest(server, db, "--json", "--no-linked")
        searched = server.hits[SEARCH]
    assert result.returncode == 0, result.stderr
    assert searched <= 1 + SEARCH_PAGES_AT_ONCE
    summary = json.loads(result.stdout)["empiar"]
    assert summary["new"] == len(SAMPLE_ENTRIES) and summary["not_public"] == len(padding)


def test_a_huge_one_line_listing_is_read(tmp_path):
    """4.6 MB of listing on one line, 100,000 directories and no row end, through the CLI (how
    long reading it takes: test_hostile_values)."""
    db = tmp_path / "mirror.db"
    numbers = range(100_000, 200_000)
    rows = "".join(f'<a href="{n}/">{n}/</a> 2024-01-01 10:00 - ' for n in numbers)
    body = f"<html><body><pre>{rows}</pre></body></html>"
    assert len(body) > 4_600_000 and "\n" not in body
    with ReplayServer(bodies={LISTING: body.encode()}) as server:
        # --limit 0: the listing is read and remembered, no entry fetched.
        result = harvest(server, db, "--limit", "0", "--no-linked")
    assert result.returncode == 0, result.stderr
    assert query(
        db,
        "select count(*), min(listing_mtime), max(listing_mtime) from listing_state "
        "where length(accession) = length('EMPIAR-100000')",
    ) == [(len(numbers), "2024-01-01T10:00", "2024-01-01T10:00")]


# Size of the rows ------------------------------------------------------------------------------


def test_rows_stay_linear_in_the_size_of_the_record(tmp_path):
    """1,200 linked maps and 1,200 imagesets in one 0.87 MB entry: not 1.44 M link rows."""
    doc, e = _entry("EMPIAR-90001")
    e["cross_references"] = [{"name": f"EMD-{80000 + i}"} for i in range(1200)]
    e["imagesets"] = [dict(e["imagesets"][0], name=f"set {i}") for i in range(1200)]
    root = tmp_path / "archive"
    _write(root, "empiar", "EMPIAR-90001", doc)
    assert (root / "empiar" / "EMPIAR-90001.json").stat().st_size > 800_000
    db = tmp_path / "mirror.db"
    with ReplayServer([SAMPLE_DIR, root]) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90001", "--no-linked")
    assert result.returncode == 0, result.stderr
    owner = ("empiar:EMPIAR-90001",)
    (experiments,) = query(db, "select count(*) from workflow_experiment where x_owner = ?", owner)
    (inputs,) = query(db, "select count(*) from workflow_input where x_owner = ?", owner)
    assert experiments == (1200,)  # the experiment fed each map's reconstruction
    assert inputs[0] <= 1200 * 10


# Mass withdrawal -------------------------------------------------------------------------------


def test_the_withdrawal_guard_is_a_share_of_the_archive():
    assert not schedule.too_many_withdrawals(10, held=10)  # ten are never too many
    assert not schedule.too_many_withdrawals(50, held=1000)  # 5% is not more than 5%
    assert schedule.too_many_withdrawals(51, held=1000)
    assert schedule.too_many_withdrawals(11, held=11)
    assert not schedule.too_many_withdrawals(0, held=0)


def test_empty_listings_and_404s_withdraw_nothing(tmp_path):
    db = tmp_path / "mirror.db"
    empty = tmp_path / "empty"
    empty.mkdir()
    with ReplayServer() as server:
        assert harvest(server, db, "--no-linked").returncode == 0
    # The archive's front ends now list nothing and answer 404 to everything.
    with ReplayServer([empty]) as server:
        for _ in range(2):
            result = harvest(server, db, "--json", "--no-linked")
        hits = dict(server.hits)
    assert result.returncode == 1, result.stderr
    assert sum(1 for p in hits if p.startswith("/empiar/api/entry/")) == len(SAMPLE_ENTRIES)
    assert query(db, "select count(*) from listing_state where withdrawn_on is not null") == [(0,)]
    assert query(db, "select count(*) from empiar_entries where status = 'not public'") == [(0,)]
    ((kind, message),) = query(
        db, "select kind, message from harvest_errors where run_id = 3 and accession is null"
    )
    assert kind == "withdrawal-guard" and f"{len(SAMPLE_ENTRIES)} of {len(SAMPLE_ENTRIES)}" in (
        message
    )
    ((finished, status),) = query(
        db, "select finished_at, exit_status from harvest_runs where id = 3"
    )
    assert finished and status == 1


@pytest.mark.parametrize("nesting", [960, 985])
def test_a_large_answer_nested_near_the_limit_is_that_records_error(tmp_path, nesting):
    """Over 1 MiB, an answer is decoded on a worker thread, whose shallow stack took nesting
    the event loop could not encode again (the whole run ended in a RecursionError)."""
    deep = "[" * nesting + "]" * nesting
    body = '{"emdb_id": "EMD-90007", "pad": "' + "a" * 1_100_000 + '", "x": ' + deep + "}"
    db = tmp_path / "empiar.db"
    bodies = {"/emdb/api/entry/EMD-90007": body.encode()}
    with ReplayServer(bodies=bodies) as server:
        result = harvest(server, db, "--ids", "EMPIAR-90007", "--no-batch")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert query(db, "select accession, message from harvest_errors") == [
        ("EMD-90007", "JSON refused: nested too deeply to decode")
    ]
    assert query(db, "select accession from empiar_entries") == [("EMPIAR-90007",)]
