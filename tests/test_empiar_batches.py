"""EMPIAR entries many per request (`POST entry/`), trusted only once a probe shows the batch
answer to be the GET's; the fallbacks when it is not; linked fetches started while entries still
arrive; and a fixed bound on the documents a run holds, whatever its concurrency."""

from __future__ import annotations

import asyncio
import copy
import json
import signal
import urllib.request

import pytest
from conftest import ARCHIVE_OVERLAY, canonical_file, harvest, logical_dump, query, stored
from test_faults import entries_written, start_harvest, wait_for
from test_scheduled import age_records

from empiar_mirror.harvester.engine import InHand, fetch_all
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.harvester.sources.empiar import id_spec
from empiar_mirror.index.versions import canonical

ROOTS = [SAMPLE_DIR, ARCHIVE_OVERLAY]
ENTRIES = sorted(p.stem for root in ROOTS for p in (root / "empiar").glob("EMPIAR-*.json"))


def run(server: ReplayServer, db, *args: str) -> dict:
    result = harvest(server, db, "--json", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def note(db) -> str:
    """How the last run fetched EMPIAR entries, as harvest_runs keeps it."""
    [(options,)] = query(db, "select options from harvest_runs order by id desc limit 1")
    return json.loads(options)["empiar_batches"]


def posted(server: ReplayServer) -> dict[str, int]:
    """Hits on the POST paths: `entry/` followed by bare numbers, ranges or lists."""
    return {
        path: n
        for path, n in server.hits.items()
        if path.startswith("/empiar/api/entry/") and "EMPIAR-" not in path
    }


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory):
    """The sample harvested one GET per entry: the reference the batched harvests must equal."""
    db = tmp_path_factory.mktemp("reference") / "empiar.db"
    with ReplayServer(ROOTS) as server:
        summary = run(server, db, "--no-batch")
    assert summary["requests"]["empiar"] == len(ENTRIES)
    return logical_dump(db)


def test_entries_come_many_per_request_stored_in_one_shape_whichever_route(one_by_one, tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(ROOTS, empiar_post="keyed") as server:
        summary = run(server, db)
        # One GET and one POST of the same entry to compare, then one POST for the rest.
        assert summary["requests"]["empiar"] == 3
        assert summary["empiar"]["fetched"] == len(ENTRIES)
        assert note(db) == "yes"
        assert logical_dump(db) == one_by_one
        for acc in ENTRIES:
            assert stored(db, acc) == canonical_file(server.snapshot.entries[acc]), acc
        batched = query(db, "select count(*) from source_record where url = 'empiar:batch'")
        assert batched == [(len(ENTRIES) - 1,)]
        # The same text whichever route: one GET each finds every entry unchanged.
        again = run(server, db, "--full", "--no-batch")
    # (The overlay's malformed entry fails again, as it did: a failed record is mapped again.)
    assert again["empiar"]["unchanged"] == len(ENTRIES) - again["empiar"]["failed"] == 36
    assert again["empiar"]["new"] == again["empiar"]["updated"] == 0


def test_a_batch_names_one_range_or_one_list(tmp_path):
    with ReplayServer(empiar_post="keyed") as server:
        run(server, tmp_path / "range.db", "--ids", "90001-90010", "--no-linked")
        # The first entry is the probe; the other nine run without a gap: one range.
        assert posted(server) == {
            "/empiar/api/entry/90001/": 1,
            "/empiar/api/entry/90002-90010/": 1,
        }
        server.hits.clear()
        run(server, tmp_path / "list.db", "--ids", "10442,90003,90005,11419", "--no-linked")
        assert posted(server) == {
            "/empiar/api/entry/10442/": 1,
            "/empiar/api/entry/90003,90005,11419/": 1,
        }
    assert id_spec(["EMPIAR-10442"]) == "10442"


def test_refused_post_falls_back_to_one_get_per_entry(one_by_one, tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(ROOTS) as server:  # its POST entry/ answers 405
        summary = run(server, db)
        gets = {acc: server.hits[f"/empiar/api/entry/{acc}/"] for acc in ENTRIES}
    assert summary["requests"]["empiar"] == len(ENTRIES) + 1
    assert set(gets.values()) == {1}
    assert note(db) == "no: POST entry/ failed (http: HTTP 405)"
    # Not a record's failure: the run has no error for it.
    assert query(db, "select count(*) from harvest_errors where kind = 'http'") == [(0,)]
    assert logical_dump(db) == one_by_one


def test_post_answering_in_another_shape_falls_back(one_by_one, tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(ROOTS, empiar_post="array") as server:  # the 2018 spec's bare entries
        summary = run(server, db)
    assert summary["requests"]["empiar"] == len(ENTRIES) + 1
    assert note(db).startswith("no: POST entry/ failed (invalid-json: EMPIAR batch answer")
    assert logical_dump(db) == one_by_one


def test_a_get_laid_out_in_any_way_is_batched_and_stored_as_its_document(tmp_path):
    odd = tmp_path / "odd" / "empiar"
    odd.mkdir(parents=True)
    body = json.loads((SAMPLE_DIR / "empiar" / "EMPIAR-90001.json").read_text())
    text = json.dumps(body, indent="\t")  # laid out as no batch answer is
    (odd / "EMPIAR-90001.json").write_text(text)
    db = tmp_path / "empiar.db"
    with ReplayServer([SAMPLE_DIR, odd.parent], empiar_post="keyed") as server:
        summary = run(server, db, "--ids", "90001-90005", "--no-linked")
        assert posted(server) == {
            "/empiar/api/entry/90001/": 1,
            "/empiar/api/entry/90002-90005/": 1,
        }
    assert summary["empiar"]["new"] == 5
    assert note(db) == "yes"
    assert stored(db, "EMPIAR-90001") == canonical(body)


def test_entries_a_batch_leaves_out_are_fetched_one_by_one(one_by_one, tmp_path):
    db = tmp_path / "empiar.db"
    left_out = {"EMPIAR-11419", "EMPIAR-90007"}
    with ReplayServer(ROOTS, empiar_post="keyed", batch_omit=left_out) as server:
        summary = run(server, db)
        gets = {acc for acc in ENTRIES if server.hits[f"/empiar/api/entry/{acc}/"]}
    assert gets == {ENTRIES[0], *left_out}  # the probe, and the two the batch left out
    assert summary["requests"]["empiar"] == 3 + len(left_out)
    assert logical_dump(db) == one_by_one


def test_a_failing_batch_goes_one_by_one(tmp_path):
    db = tmp_path / "empiar.db"
    faults = {"/empiar/api/entry/90002-90006/": ["503", "503"]}  # outlasts one retry
    with ReplayServer(faults=faults, empiar_post="keyed") as server:
        summary = run(server, db, "--ids", "90001-90006", "--no-linked")
        gets = [server.hits[f"/empiar/api/entry/EMPIAR-9000{n}/"] for n in range(1, 7)]
    assert gets == [1] * 6
    assert summary["empiar"]["new"] == 6 and summary["exit_status"] == 0
    assert query(db, "select count(*) from harvest_errors") == [(0,)]


def test_killed_mid_batch_then_rerun_gives_the_same_file(one_by_one, tmp_path):
    db = tmp_path / "empiar.db"
    rest = id_spec(ENTRIES[1:])  # what follows the probe, in one batch
    faults = {f"/empiar/api/entry/{rest}/": ["stall:20"]}
    with ReplayServer(ROOTS, faults=faults, empiar_post="keyed") as server:
        process = start_harvest(server, db)
        try:
            wait_for(lambda: server.hits[f"/empiar/api/entry/{rest}/"] >= 1)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        assert entries_written(db) == 1  # the probe's entry, kept by its GET
        server.faults = {}
        result = harvest(server, db)
    assert result.returncode == 1, result.stderr  # the overlay's malformed entry
    assert logical_dump(db) == one_by_one


def test_no_batch_sends_no_post(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer(empiar_post="keyed") as server:
        run(server, db, "--no-batch", "--ids", "90001-90006")
        assert posted(server) == {}
    assert note(db) == "no: --no-batch"


def test_the_rolling_refresh_batches_the_entries_that_are_due(tmp_path):
    db = tmp_path / "empiar.db"
    due = ENTRIES[5:10]
    with ReplayServer(empiar_post="keyed") as server:  # the sample alone: no failed record
        run(server, db, "--no-linked")
        marks = ", ".join(f"'{acc}'" for acc in due)
        age_records(db, 8, f"source = 'empiar' and accession in ({marks})")
        server.hits.clear()
        summary = run(server, db, "--no-linked")
    assert summary["empiar"]["fetched"] == summary["empiar"]["unchanged"] == len(due)
    assert summary["requests"]["empiar"] == 3
    assert posted(server) == {
        f"/empiar/api/entry/{id_spec(due[:1])}/": 1,
        f"/empiar/api/entry/{id_spec(due[1:])}/": 1,
    }


def grown(root, n: int):
    """`n` EMPIAR entries, each linking one EMDB map of its own: copies of sample records."""
    entry = json.loads((SAMPLE_DIR / "empiar" / "EMPIAR-90010.json").read_text())["EMPIAR-90010"]
    emdb = json.loads((SAMPLE_DIR / "emdb" / "EMD-90010.json").read_text())
    emdb["crossreferences"]["pdb_list"] = {"pdb_reference": []}
    for folder in ("empiar", "emdb"):
        (root / folder).mkdir(parents=True)
    for i in range(n):
        acc, emd = f"EMPIAR-7{i:04d}", f"EMD-7{i:04d}"
        doc = copy.deepcopy(entry)
        doc["cross_references"] = [emd]
        (root / "empiar" / f"{acc}.json").write_text(json.dumps({acc: doc}, indent=2) + "\n")
        (root / "emdb" / f"{emd}.json").write_text(json.dumps({**emdb, "emdb_id": emd}))
    return root


def test_linked_maps_are_fetched_while_entries_still_arrive(tmp_path):
    db = tmp_path / "empiar.db"
    # The last batch of entries comes a while after the others, whatever the machine's load, so
    # the maps of the first ones have time to be fetched and kept before it.
    late = {"/empiar/api/entry/70201-70299/": ["stall:3"]}
    archive = grown(tmp_path / "archive", 300)
    with ReplayServer([archive], empiar_post="keyed", faults=late) as server:
        summary = run(server, db)
        assert server.hits["/empiar/api/entry/70201-70299/"] == 1
    assert summary["empiar"]["new"] == summary["emdb"]["new"] == 300
    # source_record's rowids follow the order records were kept in.
    [(first_map, last_entry)] = query(
        db,
        "select (select min(rowid) from source_record where source = 'emdb'), "
        "(select max(rowid) from source_record where source = 'empiar')",
    )
    assert first_map < last_entry


def test_the_post_route_takes_lists_and_ranges_in_the_path_or_the_body():
    with ReplayServer(empiar_post="keyed") as server:

        def post(path: str, body: bytes = b"") -> dict:
            request = urllib.request.Request(server.base_url + path, data=body, method="POST")
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.loads(resp.read())

        in_body = post("/empiar/api/entry/", b"10442, 90001-90003, 19999")
        in_path = post("/empiar/api/entry/EMPIAR-10442,90001-EMPIAR-90003/")
    assert list(in_body) == ["EMPIAR-10442", "EMPIAR-90001", "EMPIAR-90002", "EMPIAR-90003"]
    assert in_path == in_body
    assert (
        in_body["EMPIAR-10442"]
        == json.loads((SAMPLE_DIR / "empiar" / "EMPIAR-10442.json").read_text())["EMPIAR-10442"]
    )


@pytest.mark.parametrize("weight, limit", [(1, 10), (4, 10), (15, 10)])
def test_documents_in_hand_stay_under_the_bound_whatever_the_concurrency(weight, limit):
    in_hand = InHand(limit)
    most = {"held": 0, "waiting": 0}
    fetched: list[int] = []

    async def fetch(item: int) -> int:
        most["held"] = max(most["held"], in_hand.taken)
        await asyncio.sleep(0)
        fetched.append(item)
        return item

    async def handle(item: int, outcome) -> None:
        # Outcomes fetched and not yet handled, in documents.
        most["waiting"] = max(most["waiting"], (len(fetched) - len(handled)) * weight)
        await asyncio.sleep(0)
        handled.append(outcome)

    handled: list[int] = []
    asyncio.run(fetch_all(range(200), fetch, handle, 64, in_hand, lambda item: weight))
    assert sorted(handled) == list(range(200))
    assert most["held"] <= limit and most["waiting"] <= max(limit, weight)
    assert in_hand.taken == 0
