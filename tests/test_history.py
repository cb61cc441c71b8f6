"""What changed, and when: `empiar-mirror changes`, the portal's Atom feed read back by a feed
reader, and the History section of a row page, after a harvest that changes, obsoletes and adds
entries."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import feedparser
import pytest
from conftest import datasette_get, harvest, invoke

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer

CHANGED, OBSOLETED, ADDED = "EMPIAR-90001", "EMPIAR-90002", "EMPIAR-90099"


def _entry(accession: str) -> dict:
    return json.loads((SAMPLE_DIR / "empiar" / f"{accession}.json").read_text())[accession]


@pytest.fixture(scope="module")
def changed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("history")
    db = root / "mirror.db"
    with ReplayServer() as server:
        assert harvest(server, db).returncode == 0
    overlay = root / "next" / "empiar"
    overlay.mkdir(parents=True)
    docs = {
        CHANGED: {**_entry(CHANGED), "title": "A clearer title"},
        OBSOLETED: {**_entry(OBSOLETED), "status": "OBS"},
        ADDED: _entry("EMPIAR-90003"),
    }
    for acc, entry in docs.items():
        (overlay / f"{acc}.json").write_text(json.dumps({acc: entry}))
    with ReplayServer([SAMPLE_DIR, overlay.parent]) as server:
        result = harvest(server, db, "--ids", ",".join(docs), "--no-linked")
    assert result.returncode == 0, result.stderr
    return db


def test_changes_lists_what_changed_since_a_day(changed):
    today = dt.date.today().isoformat()
    result = invoke("changes", str(changed), "--since", today, "--source", "empiar", "--json")
    assert result.returncode == 0, result.stderr
    found = {(c["accession"], c["change"]): c for c in json.loads(result.stdout)}
    assert found[(CHANGED, "updated")]["fields"] == ["title"]
    assert found[(CHANGED, "updated")]["title"] == "A clearer title"
    assert "status" in found[(OBSOLETED, "obsoleted")]["fields"]
    assert (ADDED, "new") in found
    text = invoke("changes", str(changed), "--limit", "3").stdout.splitlines()
    assert len(text) == 3 and any(f"{CHANGED} updated: title  A clearer title" in t for t in text)
    assert invoke("changes", str(changed), "--since", "2099-01-01").stdout == ""
    bad = invoke("changes", str(changed), "--since", "01/01/2024")
    assert bad.returncode == 2 and "not a date like 2026-11-01" in bad.stderr


def test_the_atom_feed_reads_in_a_feed_reader(changed):
    answer = datasette_get(changed, "/-/changes.atom")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(answer.text)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [e.title for e in feed.entries]
    assert f"{ADDED} new: {_entry('EMPIAR-90003')['title']}" in titles
    assert f"{CHANGED} updated: title: A clearer title" in titles
    assert any(t.startswith(f"{OBSOLETED} obsoleted") for t in titles)
    item = next(e for e in feed.entries if e.title.startswith(f"{CHANGED} updated"))
    assert item.link.endswith(f"/mirror/empiar_entries/{CHANGED}")
    assert item.summary == f"EMPIAR changed title. https://www.ebi.ac.uk/empiar/{CHANGED}/"
    assert len({e.id for e in feed.entries}) == len(feed.entries)


def test_a_row_page_shows_its_history(changed):
    page = datasette_get(changed, f"/mirror/empiar_entries/{CHANGED}").text
    assert "<h2>History</h2>" in page
    assert "<td>updated</td><td>title</td>" in page and "<td>new</td><td></td>" in page
