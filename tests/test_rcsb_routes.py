"""One RCSB entry, one stored document, whichever route (GraphQL batch or REST) fetched it."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import FIXTURES, harvest

from empiar_mirror.harvester.http import HttpClient, ServiceLimits
from empiar_mirror.harvester.raw.rcsb import (
    GRAPHQL_FIELDS,
    SELECTION,
    canonical_entry,
    parse_rcsb,
    parse_selection,
)
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer, rest_name, rest_spelled
from empiar_mirror.harvester.sources import rcsb

REST = FIXTURES / "rcsb"
SAMPLE_IDS = sorted(p.stem for p in (SAMPLE_DIR / "rcsb" / "entry").glob("*.json"))


def recorded(name: str) -> dict:
    return json.loads((REST / name).read_text())


def stored(doc: dict) -> str:
    """The text the harvester keeps: key order does not matter."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def contained(part, whole) -> bool:
    """Whether every key and value of `part` is in `whole`, at the same place."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            k in whole and contained(v, whole[k]) for k, v in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list) and len(part) == len(whole) and all(map(contained, part, whole))
        )
    return part == whole


@pytest.fixture(scope="module")
def server():
    with ReplayServer() as srv:
        yield srv


def over_loopback(server: ReplayServer, go):
    async def run():
        limits = {rcsb.SERVICE: ServiceLimits(concurrency=2, rate=0)}
        async with HttpClient(limits, timeout=5, retries=0, backoff=0.01) as client:
            return await go(client, server.endpoints())

    return asyncio.run(run())


# --- the REST reader on real recordings -------------------------------------------------------


def test_recorded_rest_entry_1hho_reads_its_citation_after_canonicalisation():
    doc = recorded("rest-core-entry-1HHO.json")
    # What parse_rcsb lost before: REST spells the DOI and PubMed keys its own way.
    assert parse_rcsb(doc).citation.doi is None
    e = parse_rcsb(canonical_entry(doc))
    assert (e.pdb_id, e.method, e.resolution, e.status, e.revision) == (
        "1HHO",
        "X-RAY DIFFRACTION",
        2.1,
        "REL",
        "2.2",
    )
    assert (e.deposition_date, e.release_date, e.revision_date) == (
        "1983-06-10",
        "1983-10-27",
        "2024-05-22",
    )
    c = e.citation
    assert (c.doi, c.pubmed_id) == ("10.1016/S0022-2836(83)80313-1", "6644819")
    assert (c.title, c.journal_abbreviation, c.volume, c.page_first, c.page_last, c.year) == (
        "Structure of human oxyhaemoglobin at 2.1 A resolution.",
        "J.Mol.Biol.",
        "171",
        "31",
        "59",
        1983,
    )
    assert c.authors == ["Shaanan, B."]
    # 1HHO records no ORCID and replaces no entry.
    assert [(a.name, a.orcid) for a in e.authors] == [("Shaanan, B.", None)]
    assert e.replaces == []
    assert (e.clashscore, e.ramachandran_outliers_percent) == (29.09, 1.77)


def test_recorded_rest_entry_4hhb_reads_the_entry_it_replaces():
    doc = recorded("rest-core-entry-4HHB.json")
    assert "pdbx_database_pdbobs_spr" in doc and parse_rcsb(doc).replaces == []
    e = parse_rcsb(canonical_entry(doc))
    assert e.replaces == ["1HHB"]
    assert (e.pdb_id, e.resolution, e.revision) == ("4HHB", 1.74, "4.1")
    assert (e.citation.doi, e.citation.pubmed_id, e.citation.year) == (
        "10.1016/0022-2836(84)90472-8",
        "6726807",
        1984,
    )
    assert e.citation.authors == ["Fermi, G.", "Perutz, M.F.", "Shaanan, B.", "Fourme, R."]


def test_recorded_graphql_and_rest_answers_for_4hhb_agree_where_they_overlap():
    graphql = json.loads((FIXTURES / "rcsb-graphql-entries-4HHB-exptl.json").read_text())
    answer = canonical_entry(graphql["data"]["entries"][0])
    # GraphQL's explicit nulls (method_details, details, ...) are dropped, as REST omits them.
    assert answer == {"rcsb_id": "4HHB", "exptl": [{"method": "X-RAY DIFFRACTION"}]}
    rest = canonical_entry(recorded("rest-core-entry-4HHB.json"))
    assert {k: rest[k] for k in answer} == answer


@pytest.mark.parametrize("name", ["rest-core-entry-1HHO.json", "rest-core-entry-4HHB.json"])
def test_canonical_shape_is_the_graphql_selection(name):
    doc = canonical_entry(recorded(name))
    assert canonical_entry(doc) == doc  # idempotent: stored documents can be read again

    def within(part: dict, selection) -> None:
        for key, value in part.items():
            assert value is not None
            name, sub = selection[key.replace("_", "").lower()]
            assert key == name
            for item in value if isinstance(value, list) else [value]:
                if sub is not None and isinstance(item, dict):
                    within(item, sub)

    within(doc, SELECTION)
    # And the replay server's REST spelling rule gives back the recorded keys.
    assert contained(rest_spelled(doc), recorded(name))


# --- spelling and the selection ---------------------------------------------------------------


@pytest.mark.parametrize(
    "graphql, rest",
    [
        ("database_2", "database2"),
        ("pdbx_database_id_DOI", "pdbx_database_id_doi"),
        ("pdbx_database_id_PubMed", "pdbx_database_id_pub_med"),
        ("journal_id_ISSN", "journal_id_issn"),
        ("identifier_ORCID", "identifier_orcid"),
        ("em_3d_reconstruction", "em3d_reconstruction"),
        ("pdbx_database_PDB_obs_spr", "pdbx_database_pdbobs_spr"),
        ("ls_d_res_high", "ls_dres_high"),
        ("rcsb_id", "rcsb_id"),
    ],
)
def test_rest_spelling_rule(graphql, rest):
    assert rest_name(graphql) == rest


def test_rest_and_graphql_spellings_land_in_one_canonical_key():
    canonical = {"rcsb_id": "9Z99", "em_3d_reconstruction": [{"resolution": 3.1}]}
    from_rest = {
        "rcsb_id": "9Z99",
        "em3d_reconstruction": [{"resolution": 3.1, "algorithm": "FOURIER SPACE"}],
        "em_ctf_correction": [{"type": "PHASE FLIPPING ONLY"}],
    }
    from_graphql = {
        "rcsb_id": "9Z99",
        "em_3d_reconstruction": [{"resolution": 3.1, "num_particles": None}],
        "em_imaging": None,
    }
    assert canonical_entry(from_rest) == canonical_entry(from_graphql) == canonical
    assert parse_rcsb(canonical_entry(from_rest)).resolution == 3.1


def test_selection_parses_into_a_tree():
    assert SELECTION["rcsbid"] == ("rcsb_id", None)
    name, sub = SELECTION["em3dreconstruction"]
    assert name == "em_3d_reconstruction" and sub["resolution"] == ("resolution", None)
    assert SELECTION["citation"][1]["pdbxdatabaseiddoi"] == ("pdbx_database_id_DOI", None)
    assert GRAPHQL_FIELDS in rcsb.graphql_query(["9Z01"])  # one text: the query and the shape
    with pytest.raises(ValueError, match="fold"):
        parse_selection("database_2 database2")
    for unbalanced in ("struct { title } }", "struct { title"):
        with pytest.raises(ValueError, match="unbalanced"):
            parse_selection(unbalanced)


# --- both routes of the loopback server -------------------------------------------------------


def test_the_rest_route_spells_keys_as_rest_does(server):
    async def go(client, endpoints):
        return await rcsb.fetch_entry(client, endpoints, "9Z07")

    resp = over_loopback(server, go)
    wire = json.loads(resp.body)
    assert "em3d_reconstruction" in wire and "em_3d_reconstruction" not in wire
    assert "pdbx_database_id_doi" in wire["rcsb_primary_citation"]
    e = parse_rcsb(resp.data)
    assert e.replaces == ["9Z02"]
    assert (e.resolution, e.resolution_method, e.num_particles, e.pixel_size) == (
        2.8,
        "FSC 0.143 CUT-OFF",
        85230,
        1.07,
    )
    assert (e.citation.doi, e.citation.pubmed_id) == ("10.5555/empiar-demo.90010", "99001001")
    assert [a.orcid for a in e.authors] == ["0000-0009-2190-6713", None, "0000-0009-2936-5093"]


def test_every_sample_entry_is_one_document_whatever_the_route(server):
    async def go(client, endpoints):
        batch = await rcsb.fetch_batch(client, endpoints, SAMPLE_IDS)
        single = [await rcsb.fetch_entry(client, endpoints, i) for i in SAMPLE_IDS]
        return batch, single

    batch, single = over_loopback(server, go)
    by_id = {doc["rcsb_id"]: doc for doc in batch}
    assert sorted(by_id) == SAMPLE_IDS
    for pdb_id, resp in zip(SAMPLE_IDS, single, strict=True):
        assert resp.status == 200
        assert stored(resp.data) == stored(by_id[pdb_id]), pdb_id
        assert parse_rcsb(resp.data) == parse_rcsb(by_id[pdb_id])


def test_not_found_is_passed_on_untouched(server):
    async def go(client, endpoints):
        return await rcsb.fetch_entry(client, endpoints, "9Z02")

    resp = over_loopback(server, go)
    assert resp.status == 404 and b"No data found for entry with ID: 9Z02" in resp.body


def test_switching_route_leaves_every_model_unchanged(tmp_path):
    db = tmp_path / "empiar.db"
    with ReplayServer() as srv:
        first = harvest(srv, db, "--json")
        again = harvest(srv, db, "--full", "--no-batch", "--json")
    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    pdb = json.loads(again.stdout)["pdb"]
    assert pdb["updated"] == pdb["new"] == 0
    assert pdb["unchanged"] == len(SAMPLE_IDS)
