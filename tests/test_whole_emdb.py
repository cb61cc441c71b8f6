"""`harvest --emdb all`: every released EMDB map and its fitted models, enumerated with EMDB's
holdings file and wwPDB's last-modified dates, over real HTTP from the loopback archive.

The loopback archive here is the bundled sample plus a crafted map no EMPIAR entry names
(EMD-90101, built from the sample's EMD-25107) with a model fitted into it (9Z91, from 7SGD)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from conftest import harvest, query

from empiar_mirror.harvester.replay import (
    EMDB_HOLDINGS_PATH,
    PDB_LAST_MODIFIED_PATH,
    SAMPLE_DIR,
    ReplayServer,
)
from empiar_mirror.harvester.sources import holdings
from empiar_mirror.index.store.holdings import MapHoldings, Problem

UNLINKED_MAP, ITS_MODEL = "EMD-90101", "9Z91"


@pytest.fixture(scope="module")
def unlinked_root(tmp_path_factory) -> Path:
    """A map no EMPIAR entry names, and the model fitted into it."""
    root = tmp_path_factory.mktemp("unlinked")
    text = (SAMPLE_DIR / "emdb/EMD-25107.json").read_text()
    text = text.replace("EMD-25107", UNLINKED_MAP).replace('"7sgd"', f'"{ITS_MODEL.lower()}"')
    (root / "emdb").mkdir()
    (root / f"emdb/{UNLINKED_MAP}.json").write_text(text)
    text = (SAMPLE_DIR / "rcsb/entry/7SGD.json").read_text()
    text = text.replace("7SGD", ITS_MODEL).replace("EMD-25107", UNLINKED_MAP)
    (root / "rcsb/entry").mkdir(parents=True)
    (root / f"rcsb/entry/{ITS_MODEL}.json").write_text(text)
    return root


def server_with(root: Path) -> ReplayServer:
    return ReplayServer((SAMPLE_DIR, root))


def emdb_documents(hits: dict[str, int], before: dict[str, int]) -> int:
    """Requests for EMDB entry documents (batched search and single entry routes)."""
    return sum(
        n - before.get(path, 0)
        for path, n in hits.items()
        if path.startswith(("/emdb/api/search/", "/emdb/api/entry/"))
    )


def pdb_documents(hits: dict[str, int], before: dict[str, int]) -> int:
    return sum(
        n - before.get(path, 0)
        for path, n in hits.items()
        if path.startswith(("/rcsb/graphql", "/rcsb/rest/v1/core/entry/"))
    )


def test_all_mirrors_maps_no_entry_names_with_their_models_and_files(tmp_path, unlinked_root):
    db = tmp_path / "all.db"
    with server_with(unlinked_root) as server:
        result = harvest(server, db, "--emdb", "all", "--no-files", "--json")
        assert result.returncode == 0, result.stderr
        first = dict(server.hits)
        # The sample's 12 released maps (EMD-90026 is obsolete) and the unlinked one.
        assert json.loads(result.stdout)["emdb"]["in_holdings"] == 13
        # Nothing changed: no EMDB or PDB document is fetched again.
        again = harvest(server, db, "--emdb", "all", "--no-files")
        assert again.returncode == 0, again.stderr
        assert emdb_documents(server.hits, first) == 0
        assert pdb_documents(server.hits, first) == 0
        assert server.hits[EMDB_HOLDINGS_PATH] == 2
    assert query(db, "select status from emdb_maps where emdb_id = ?", (UNLINKED_MAP,)) == [
        ("REL",)
    ]
    assert query(db, "select empiar_ids from emdb_maps where emdb_id = ?", (UNLINKED_MAP,)) in (
        [(None,)],
        [("[]",)],
    )
    assert query(db, "select emdb_ids from pdb_models where pdb_id = ?", (ITS_MODEL,)) == [
        (f'["{UNLINKED_MAP}"]',)
    ]
    # Half maps, masks and FSC files are known for every map, with their checksums.
    kinds = query(
        db, "select kind, count(*) from emdb_file where emdb_id = ? group by kind", (UNLINKED_MAP,)
    )
    assert dict(kinds) == {
        "fscs": 1,
        "half_maps": 2,
        "headers": 1,
        "map": 1,
        "masks": 1,
        "validation_reports": 1,
    }
    checksummed = query(db, "select count(*) from emdb_file where length(md5_checksum) = 32")
    assert checksummed == [(7 * 13,)]
    assert query(
        db,
        "select entry_last_update, validation_reports_last_update, fetched_update "
        "from emdb_holdings where emdb_id = ?",
        (UNLINKED_MAP,),
    ) == [("2022-10-12", "2022-10-12", "2022-10-12")]
    assert query(
        db, "select fetched_last_modified from pdb_last_modified where pdb_id = ?", (ITS_MODEL,)
    ) == [("2022-10-12T00:00:00+00:00",)]
    assert query(db, "select count(*) from harvest_errors") == [(0,)]


def test_default_stays_linked(tmp_path, unlinked_root):
    db = tmp_path / "linked.db"
    with server_with(unlinked_root) as server:
        result = harvest(server, db, "--no-files")
        assert result.returncode == 0, result.stderr
        assert EMDB_HOLDINGS_PATH not in server.hits
    assert query(db, "select count(*) from emdb_maps where emdb_id = ?", (UNLINKED_MAP,)) == [(0,)]
    assert query(db, "select count(*) from emdb_holdings") == [(0,)]


def test_a_changed_map_and_model_are_all_that_is_fetched_again(tmp_path, unlinked_root):
    db = tmp_path / "weekly.db"
    with server_with(unlinked_root) as server:
        assert harvest(server, db, "--emdb", "all", "--no-files").returncode == 0
        before = dict(server.hits)
        listed = server.emdb_holdings_document()
        listed["EMD-90003"]["entry_last_update"] = "2026-12-02"
        listed["EMD-90003"]["masks"] = []
        server.bodies[EMDB_HOLDINGS_PATH] = json.dumps(listed).encode()
        dates = server.pdb_last_modified_document()
        dates[ITS_MODEL.lower()] = "2026-12-02T00:00:00+00:00"
        server.bodies[PDB_LAST_MODIFIED_PATH] = gzip.compress(json.dumps(dates).encode())
        result = harvest(server, db, "--emdb", "all", "--no-files")
        assert result.returncode == 0, result.stderr
        fetched = {p: n - before.get(p, 0) for p, n in server.hits.items() if n != before.get(p)}
    emdb = [p for p in fetched if p.startswith("/emdb/api/")]
    assert (
        len(emdb) == 1
        and "EMD-90003" in emdb[0]
        and "EMD-900" not in emdb[0].replace("EMD-90003", "")
    )
    assert [p for p in fetched if p.startswith("/rcsb/")] == ["/rcsb/graphql"]
    assert query(db, "select count(*) from emdb_file where emdb_id = 'EMD-90003'") == [(6,)]
    assert query(db, "select fetched_update from emdb_holdings where emdb_id = 'EMD-90003'") == [
        ("2026-12-02",)
    ]


def test_a_map_gone_from_the_holdings_is_kept_and_marked(tmp_path, unlinked_root):
    db = tmp_path / "gone.db"
    with server_with(unlinked_root) as server:
        assert harvest(server, db, "--emdb", "all", "--no-files").returncode == 0
        listed = server.emdb_holdings_document()
        del listed[UNLINKED_MAP]
        server.bodies[EMDB_HOLDINGS_PATH] = json.dumps(listed).encode()
        server.snapshot.maps.pop(UNLINKED_MAP)  # the archive no longer serves it
        result = harvest(server, db, "--emdb", "all", "--no-files", "--json")
        assert result.returncode == 0, result.stderr
        assert server.hits[f"/emdb/api/entry/{UNLINKED_MAP}"] == 1
    assert json.loads(result.stdout)["emdb"]["gone_from_holdings"] == 1
    # As a withdrawn linked map is: its last good row kept, the withdrawal in its history.
    assert query(db, "select status from emdb_maps where emdb_id = ?", (UNLINKED_MAP,)) == [
        ("REL",)
    ]
    assert query(
        db,
        "select http_status from source_record where source = 'emdb' and accession = ?",
        (UNLINKED_MAP,),
    ) == [(404,)]
    assert query(
        db,
        "select change from record_change where source = 'emdb' and accession = ? order by rowid",
        (UNLINKED_MAP,),
    )[-1] == ("withdrawn",)
    (removed,) = query(
        db, "select removed_on from emdb_holdings where emdb_id = ?", (UNLINKED_MAP,)
    )
    assert removed[0] is not None
    # Its files stay known.
    assert query(db, "select count(*) from emdb_file where emdb_id = ?", (UNLINKED_MAP,)) == [(7,)]


@pytest.mark.parametrize(
    ("path", "body", "fallback"),
    [
        (EMDB_HOLDINGS_PATH, b'{"EMD-90001": {"entry_last_update": "2014', "linked maps only"),
        (EMDB_HOLDINGS_PATH, b"<html>maintenance</html>", "linked maps only"),
        (PDB_LAST_MODIFIED_PATH, b"\x00\x01 not gzip, not JSON", "rolling schedule"),
        (PDB_LAST_MODIFIED_PATH, gzip.compress(b'{"9z01": "2019-')[:-9], "rolling schedule"),
    ],
    ids=["truncated-json", "not-json", "not-gzip", "truncated-gzip"],
)
def test_an_unusable_file_falls_back_to_the_default_route(
    tmp_path, unlinked_root, path, body, fallback
):
    db = tmp_path / "fallback.db"
    with server_with(unlinked_root) as server:
        server.bodies[path] = body
        result = harvest(server, db, "--emdb", "all", "--no-files")
    # The run finishes, with its linked records, and says why it fell back: exit 1, not a crash.
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (error,) = query(db, "select kind, url, message from harvest_errors")
    assert error[0] == "holdings-file" and error[1].endswith(path) and fallback in error[2]
    assert query(db, "select count(*) from emdb_maps where emdb_id = 'EMD-90001'") == [(1,)]
    assert query(db, "select count(*) from pdb_models where pdb_id = '9Z01'") == [(1,)]
    if path == EMDB_HOLDINGS_PATH:
        # Nothing of the file is kept; the unlinked map is not harvested.
        assert query(db, "select count(*) from emdb_holdings") == [(0,)]
        assert query(db, "select count(*) from emdb_maps where emdb_id = ?", (UNLINKED_MAP,)) == [
            (0,)
        ]
    else:
        assert query(db, "select count(*) from pdb_last_modified") == [(0,)]
        assert query(db, "select count(*) from pdb_models where pdb_id = ?", (ITS_MODEL,)) == [(1,)]


def test_bad_entries_are_their_own_problem(tmp_path, unlinked_root):
    db = tmp_path / "bad.db"
    with server_with(unlinked_root) as server:
        listed = server.emdb_holdings_document()
        listed["EMD-90001"]["masks"] = "emd_90001_msk_1.map"  # a string, not a list
        listed["EMD-12345'; drop table emdb_file"] = listed["EMD-90003"]
        listed["EMD-90007"] = ["not", "an", "object"]
        server.bodies[EMDB_HOLDINGS_PATH] = json.dumps(listed).encode()
        dates = server.pdb_last_modified_document()
        dates["not an id"] = "2020-01-01T00:00:00+00:00"
        dates["9z03"] = 17
        server.bodies[PDB_LAST_MODIFIED_PATH] = gzip.compress(json.dumps(dates).encode())
        result = harvest(server, db, "--emdb", "all", "--no-files")
    assert result.returncode == 1, result.stderr
    errors = query(db, "select source, accession, kind, message from harvest_errors")
    assert {(s, a, k) for s, a, k, _ in errors} == {
        ("emdb_holdings", "EMD-90007", "holdings-entry"),
        ("emdb_holdings", None, "holdings-entry"),
        ("emdb_holdings", "EMD-90001", "holdings-entry"),
        ("pdb_last_modified", None, "holdings-entry"),
        ("pdb_last_modified", "9Z03", "holdings-entry"),
    } and len(errors) == 5
    messages = {(s, a): m for s, a, _, m in errors}
    assert "drop table" in messages["emdb_holdings", None]
    assert "'masks' is a str" in messages["emdb_holdings", "EMD-90001"]
    # The map with the bad list keeps its other files; every good map landed, the unlinked too.
    assert query(db, "select count(*) from emdb_file where emdb_id = 'EMD-90001'") == [(6,)]
    assert query(db, "select count(*) from emdb_maps where emdb_id = ?", (UNLINKED_MAP,)) == [(1,)]
    assert query(db, "select count(*) from emdb_holdings") == [(12,)]


def test_a_100_mb_holdings_file_is_read_in_bounded_memory(tmp_path):
    """Streamed: the parser holds one entry at a time, whatever the file's size."""
    import subprocess
    import sys

    path = tmp_path / "emdb_released_holdings.json"
    entry = {
        "entry_last_update": "2026-07-17",
        "validation_reports_last_update": "2026-07-17",
        "map": [{"file_name": "emd_1.map.gz", "md5_checksum": "0" * 32, "last_update": "x"}],
        "half_maps": [{"file_name": f"emd_1_half_map_{i}.map.gz"} for i in (1, 2)],
        "figure": [{"file_name": "x" * 200, "md5_checksum": "0" * 32}] * 8,
    }
    body = json.dumps(entry)
    n, size = 0, 0
    with open(path, "wb") as f:
        f.write(b"{")
        while size < 100 * 1024 * 1024:  # written a thousand entries at a time
            chunk = ",".join(f'"EMD-{100000 + n + k}": {body}' for k in range(1000))
            data = (("," if n else "") + chunk).encode()
            f.write(data)
            n, size = n + 1000, size + len(data)
        f.write(b"}")
    # Measured in a child process, by its own high-water mark (VmHWM: ru_maxrss would count
    # this process's resident set at the fork).
    script = (
        "import re, sys\n"
        "from empiar_mirror.harvester.sources.holdings import read_emdb\n"
        "def peak(): return re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]\n"
        "before = peak()\n"
        "count = sum(1 for _ in read_emdb(sys.argv[1]))\n"
        "print(count, before, peak())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    count, before_kib, peak_kib = map(int, out.stdout.split())
    assert count == n
    # Reading the whole file with json.load would take several times its size.
    assert peak_kib - before_kib < 20 * 1024, (
        f"reading a {os.path.getsize(path):,} B file took the peak from {before_kib} KiB "
        f"to {peak_kib} KiB"
    )


def test_the_readers_on_the_documented_shapes(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(
        json.dumps(
            {
                "EMD-1001": {
                    "entry_last_update": "2024-01-01",
                    "headers": [{"file_name": "emd-1001-v30.xml", "md5_checksum": "a" * 32}],
                    "map": {"file_name": "emd_1001.map.gz"},  # one file, not in a list
                    "fscs": [{"md5_checksum": "b" * 32}],  # no name
                },
                "EMD-X": {"entry_last_update": "2024-01-01"},
            }
        )
    )
    found = list(holdings.read_emdb(path))
    maps = [f for f in found if isinstance(f, MapHoldings)]
    assert [(m.emdb_id, len(m.files)) for m in maps] == [("EMD-1001", 2)]
    assert {p.message for p in found if isinstance(p, Problem)} == {
        "1 file(s) in 'fscs' without a file name",
        "holdings entry with a bad id: 'EMD-X'",
    }
    gz = tmp_path / "d.json.gz"
    gz.write_bytes(
        gzip.compress(b'{"1abc": "2024-01-01T00:00:00+00:00", "pdb_00002xyz": "2024-02-01"}')
    )
    assert list(holdings.read_pdb(gz)) == [
        ("1ABC", "2024-01-01T00:00:00+00:00"),
        ("2XYZ", "2024-02-01"),
    ]
    gz.write_bytes(b"\x1f\x8b\x08 not really gzip")
    with pytest.raises(holdings.FileProblem):
        list(holdings.read_pdb(gz))


@pytest.mark.parametrize("other", [("--no-linked",), ("--ids", "EMPIAR-10442")])
def test_all_with_options_that_contradict_it_is_a_usage_error(tmp_path, other):
    db = tmp_path / "none.db"
    with ReplayServer() as server:
        result = harvest(server, db, "--emdb", "all", *other)
        assert not server.hits
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and other[0] in result.stderr
    assert not db.exists()


def test_a_new_validation_date_refetches_that_maps_figures_alone(tmp_path, unlinked_root):
    """EMDB validated EMD-90007 again (its holdings' validation_reports_last_update moved) and
    changed nothing else: its figures are asked again, its document and no other map's are not."""
    db = tmp_path / "validated.db"
    with server_with(unlinked_root) as server:
        assert harvest(server, db, "--emdb", "all", "--no-files").returncode == 0
        before = dict(server.hits)
        listed = server.emdb_holdings_document()
        listed["EMD-90007"]["validation_reports_last_update"] = "2099-01-01"
        server.bodies[EMDB_HOLDINGS_PATH] = json.dumps(listed).encode()
        result = harvest(server, db, "--emdb", "all", "--no-files")
        assert result.returncode == 0, result.stderr
        fetched = {p for p, n in server.hits.items() if n != before.get(p)}
    emdb = sorted(p for p in fetched if p.startswith("/emdb/api/"))
    assert emdb == ["/emdb/api/analysis/EMD-90007", '/emdb/api/search/emdb_id:"EMD-90007"']
    assert query(
        db, "select validation_reports_last_update from emdb_holdings where emdb_id = 'EMD-90007'"
    ) == [("2099-01-01",)]


def test_a_file_list_that_turns_bad_keeps_the_files_it_listed(tmp_path, unlinked_root):
    """A night when EMD-90001's mask list is a string: its mask stays known, the list that was
    readable (its half maps, now one fewer) is brought up to date."""
    db = tmp_path / "kept.db"
    with server_with(unlinked_root) as server:
        assert harvest(server, db, "--emdb", "all", "--no-files").returncode == 0
        listed = server.emdb_holdings_document()
        listed["EMD-90001"]["masks"] = "emd_90001_msk_1.map"
        listed["EMD-90001"]["half_maps"] = listed["EMD-90001"]["half_maps"][:1]
        server.bodies[EMDB_HOLDINGS_PATH] = json.dumps(listed).encode()
        assert harvest(server, db, "--emdb", "all", "--no-files").returncode == 1
    kinds = dict(
        query(db, "select kind, count(*) from emdb_file where emdb_id = 'EMD-90001' group by 1")
    )
    assert kinds["masks"] == 1 and kinds["half_maps"] == 1
    assert query(db, "select kind from harvest_errors where accession = 'EMD-90001'") == [
        ("holdings-entry",)
    ]
