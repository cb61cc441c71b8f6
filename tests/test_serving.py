"""A public server shared fairly: typed SQL and asked-for facets get a small share of the query
threads, the home page reads what it shows in a few queries, and long lists on row pages are cut
with a link to the rest. In-process, through Datasette's ASGI app, with clients at several
addresses."""

from __future__ import annotations

import asyncio
import html as html_lib
import json
import re
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from conftest import backup_copy, harvested_sample, run_cli
from datasette.tracer import capture_traces, trace_child_tasks

from empiar_mirror.index.archives import ARCHIVES, BY_FRONT_DOOR
from empiar_mirror.index.lambda_ber.record import RELATED_EMDB
from empiar_mirror.index.portal import limits, page_cache, row_pages
from empiar_mirror.index.portal.row_pages import RELATED_SHOWN
from empiar_mirror.index.serve import load_metadata, make_datasette

GUARD = 30  # seconds; only ever reached when something hangs
ARCHIVES_BY_TABLE = {t: a.key_column for t, a in BY_FRONT_DOOR.items()}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Path:
    return harvested_sample(tmp_path_factory.mktemp("serving"), "served.db")


def configured(db: Path, config: dict, settings: dict | None = None):
    metadata = {**load_metadata(), "plugins": {"empiar-mirror": config}}
    return make_datasette(db, metadata, settings=settings)


def client(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


def sql(db: Path, query: str) -> str:
    return f"/{db.stem}.json?" + urlencode({"sql": query})


@pytest.fixture
def blocking(monkeypatch):
    """A SQL function `block()` that holds its query thread until released: a query that runs
    for as long as the test needs, whatever the machine's speed."""
    entered = threading.Semaphore(0)
    release = threading.Event()
    apply = limits.apply

    def block():
        entered.release()
        release.wait(GUARD)
        return 1

    def with_block(conn):
        apply(conn)
        conn.create_function("block", 0, block)

    monkeypatch.setattr(limits, "apply", with_block)
    yield entered, release
    release.set()


def test_a_client_past_its_share_is_answered_429_while_pages_answer(served, blocking):
    entered, release = blocking

    async def go():
        ds = configured(served, {"query_wait_seconds": 0})
        await ds.invoke_startup()
        app = ds.app()
        a, b, c = (client(app, f"192.0.2.{i}") for i in (1, 2, 3))
        try:
            first = asyncio.create_task(a.get(sql(served, "select block() as b")))
            assert await asyncio.to_thread(entered.acquire, timeout=GUARD)
            # The same client again: past its share, at once.
            again = await a.get(sql(served, "select 1"))
            assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
            assert "one client" in again.json()["error"]
            # Pages of rows are not SQL the visitor wrote: they answer.
            row = await a.get(f"/{served.stem}/empiar_entries/EMPIAR-10002")
            assert row.status_code in (200, 404) and row.status_code != 429
            assert (await a.get("/")).status_code == 200
            # Another client takes the second slot; a third finds none free.
            second = asyncio.create_task(b.get(sql(served, "select block() as b")))
            assert await asyncio.to_thread(entered.acquire, timeout=GUARD)
            busy = await c.get(sql(served, "select 1"))
            assert busy.status_code == 429 and "busy" in busy.json()["error"]
            facets = await c.get(f"/{served.stem}/empiar_entries.json?_facet=status")
            assert facets.status_code == 429
            bigger = await c.get(f"/{served.stem}/empiar_entries.json?_facet_size=max")
            assert bigger.status_code == 429
            streamed = await c.get(f"/{served.stem}/empiar_entries.csv?_stream=on")
            assert streamed.status_code == 429
            table = await c.get(f"/{served.stem}/empiar_entries.json")
            assert table.status_code == 200
            release.set()
            for task in (first, second):
                assert (await task).status_code == 200
            # Slots given back: the third client's query runs.
            assert (await c.get(sql(served, "select 1"))).status_code == 200
        finally:
            release.set()
            for x in (a, b, c):
                await x.aclose()

    asyncio.run(go())


def test_a_waiting_query_runs_once_a_slot_is_free(served, blocking):
    entered, release = blocking

    async def go():
        ds = configured(served, {"query_slots": 1, "query_wait_seconds": GUARD})
        await ds.invoke_startup()
        app = ds.app()
        a, b = client(app, "192.0.2.1"), client(app, "192.0.2.2")
        try:
            first = asyncio.create_task(a.get(sql(served, "select block() as b")))
            assert await asyncio.to_thread(entered.acquire, timeout=GUARD)
            waiting = asyncio.create_task(b.get(sql(served, "select 2 as n")))
            await asyncio.sleep(0)
            assert not waiting.done()
            release.set()
            assert (await first).status_code == 200
            answer = await waiting
            assert answer.status_code == 200 and answer.json()["rows"] == [[2]]
        finally:
            release.set()
            await a.aclose()
            await b.aclose()

    asyncio.run(go())


def test_typed_sql_gets_the_shorter_time_limit(served):
    # Datasette's own limit would let this run to its end (seconds); typed SQL gets 50 ms.
    count = (
        "with recursive c(x) as (select 1 union all select x + 1 from c where x < 100000000) "
        "select count(*) from c"
    )

    async def go():
        ds = configured(served, {"query_time_limit_ms": 50}, {"sql_time_limit_ms": 60_000})
        await ds.invoke_startup()
        slow = await ds.client.get(sql(served, count))
        # A visitor may ask for less, never for more.
        asked = await ds.client.get(sql(served, count) + "&_timelimit=100000")
        table = await ds.client.get(f"/{served.stem}/empiar_entries.json?_size=1")
        return slow, asked, table

    slow, asked, table = asyncio.run(go())
    for answer in (slow, asked):
        assert answer.status_code == 400 and "interrupted" in answer.text.lower()
    assert table.status_code == 200


# The home page -------------------------------------------------------------------------------


def home_queries(db: Path) -> tuple[int, str]:
    """The queries the home page costs when it is built, and the page."""

    async def go():
        ds = configured(db, {"cached_page_seconds": 0})
        await ds.invoke_startup()
        traces: list = []
        with capture_traces(traces):
            page = await ds.client.get("/")
        assert page.status_code == 200
        return sum(t["type"] == "sql" for t in traces), page.text

    return asyncio.run(go())


def test_the_home_page_reads_its_counts_in_a_few_queries(served):
    n, html = home_queries(served)
    assert n <= 3, n
    conn = sqlite3.connect(served)
    try:
        for archive in ARCHIVES.values():
            held = conn.execute(f"select count(*) from [{archive.front_door}]").fetchone()[0]
            assert f"<strong>{held:,}</strong> {archive.records}" in html
    finally:
        conn.close()
    assert 'href="/served/empiar_entries"' in html and "Questions, one click each" in html


def test_table_counts_are_those_of_the_file_after_a_harvest(served):
    conn = sqlite3.connect(served)
    try:
        stored = dict(conn.execute("select table_name, row_count from table_counts"))
        assert {"empiar_entries", "record_link", "harvest_runs"} <= set(stored)
        assert not any(t.endswith(("_fts_data", "_fts_idx")) for t in stored)
        for table, n in stored.items():
            assert conn.execute(f"select count(*) from [{table}]").fetchone()[0] == n, table
    finally:
        conn.close()


def test_a_file_without_table_counts_still_shows_its_counts(served, tmp_path):
    # A file from before schema m011, served as it is (serving never migrates).
    old = backup_copy(served, tmp_path / "old.db")
    conn = sqlite3.connect(old)
    conn.execute("drop table table_counts")
    conn.commit()
    conn.close()
    _, html = home_queries(old)
    assert "EMPIAR entries" in html and "<strong>0</strong>" not in html


def test_reindex_counts_again(served, tmp_path):
    copy = backup_copy(served, tmp_path / "copy.db")
    conn = sqlite3.connect(copy)
    conn.execute("update table_counts set row_count = -1")
    conn.commit()
    conn.close()
    result = run_cli("reindex", str(copy))
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(copy)
    try:
        stored = dict(conn.execute("select table_name, row_count from table_counts"))
        assert stored["empiar_entries"] == query_one(conn, "select count(*) from empiar_entries")
        assert min(stored.values()) >= 0
    finally:
        conn.close()


def query_one(conn, sql_text: str):
    return conn.execute(sql_text).fetchone()[0]


@pytest.mark.parametrize("page", ["/", "/served"])
def test_the_home_and_database_pages_are_built_once_for_many_visitors(served, page):
    async def go():
        ds = make_datasette(served)
        await ds.invoke_startup()
        app = ds.app()
        counted = []
        async with client(app, "192.0.2.1") as a:
            for path in [page] * 3 + [sql(served, "select 1")] * 2:
                traces: list = []
                # The page is built in a task of its own.
                with capture_traces(traces), trace_child_tasks():
                    answer = await a.get(path)
                assert answer.status_code == 200
                counted.append(sum(t["type"] == "sql" for t in traces))
            # Visitors asking at once wait for the one answer being built.
            app = make_datasette(served).app()
            async with client(app, "192.0.2.2") as b:
                pages = await asyncio.gather(*(b.get(page) for _ in range(4)))
            assert {p.text for p in pages} == {pages[0].text} and "empiar_entries" in pages[0].text
        return counted

    first, *again, query, query_again = asyncio.run(go())
    assert first > (50 if page != "/" else 0) and again == [0, 0]
    assert query > 0 and query_again > 0


def test_the_first_request_starts_building_the_kept_pages(served):
    async def go():
        ds = make_datasette(served)
        await ds.invoke_startup()
        async with client(ds.app(), "192.0.2.1") as a:
            assert (await a.get("/-/versions.json")).status_code == 200
            traces: list = []
            # Built (or being built) for the first request, not for this one.
            with capture_traces(traces), trace_child_tasks():
                page = await a.get("/served")
        return page, traces

    page, traces = asyncio.run(go())
    assert page.status_code == 200 and "empiar_entries" in page.text
    assert not [t for t in traces if t["type"] == "sql"]


def test_a_kept_page_answers_while_the_next_is_built(served, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(page_cache.time, "monotonic", lambda: clock[0])

    async def go():
        ds = make_datasette(served)
        await ds.invoke_startup()
        app = ds.app()
        async with client(app, "192.0.2.1") as a:
            first = await a.get("/served")
            clock[0] += page_cache.DEFAULT_SECONDS + 1
            traces: list = []
            with capture_traces(traces):
                stale = await a.get("/served")
            return first, stale, traces

    first, stale, traces = asyncio.run(go())
    assert stale.text == first.text and not [t for t in traces if t["type"] == "sql"]


# Long lists on row pages ----------------------------------------------------------------------

MANY = 10_000


@pytest.fixture(scope="module")
def crowded(served, tmp_path_factory) -> tuple[Path, str]:
    """A copy in which one map is named by 10,000 entries (the mirror holds none of them)."""
    db = backup_copy(served, tmp_path_factory.mktemp("crowded") / "crowded.db")
    conn = sqlite3.connect(db)
    (emdb_id,) = conn.execute("select emdb_id from emdb_maps order by emdb_id limit 1").fetchone()
    entries = [f"EMPIAR-{20000 + i}" for i in range(MANY)]
    conn.executemany(
        "insert into record_link values ('empiar', ?, ?, 'emdb', ?, 0)",
        [(e, RELATED_EMDB, emdb_id) for e in entries],
    )
    current = json.loads(
        conn.execute("select empiar_ids from emdb_maps where emdb_id = ?", [emdb_id]).fetchone()[0]
    )
    conn.execute(
        "update emdb_maps set empiar_ids = ? where emdb_id = ?",
        [json.dumps(current + entries), emdb_id],
    )
    conn.commit()
    conn.close()
    return db, emdb_id


def test_a_row_page_lists_the_first_linked_records_and_links_to_all(crowded):
    db, emdb_id = crowded

    async def go():
        ds = make_datasette(db)
        await ds.invoke_startup()
        return await ds.client.get(f"/{db.stem}/emdb_maps/{emdb_id}")

    page = asyncio.run(go())
    assert page.status_code == 200
    html = page.text
    assert len(html) < 500_000, len(html)
    all_url = f"/{db.stem}/empiar_entries?" + urlencode({"emdb_ids__arraycontains": emdb_id})
    assert f'href="{all_url.replace("&", "&amp;")}"' in html
    assert f"The first {RELATED_SHOWN} of" in html
    shown = html.count('href="/crowded/empiar_entries/EMPIAR-2')
    # The section's rows, and the first items of the `empiar_ids` field among all fields.
    assert 0 < shown <= 2 * RELATED_SHOWN, shown
    assert "9,9" in html and "more</a>" in html


@pytest.mark.parametrize("table, pk", [("emdb_maps", "EMD-25107"), ("pdb_models", "7SGD")])
def test_the_link_to_all_lists_every_linked_record(served, monkeypatch, table, pk):
    monkeypatch.setattr(row_pages, "RELATED_SHOWN", 1)

    async def go():
        ds = make_datasette(served)
        await ds.invoke_startup()
        page = (await ds.client.get(f"/{served.stem}/{table}/{pk}")).text
        all_url = html_lib.unescape(
            re.search(r'The first 1 of 2: <a href="([^"]+)">all 2 EMPIAR entries', page)[1]
        )
        listed = await ds.client.get(all_url.replace("?", ".json?", 1) + "&_shape=objects")
        return {r["accession"] for r in listed.json()["rows"]}

    conn = sqlite3.connect(served)
    try:
        (ids,) = conn.execute(
            f"select empiar_ids from [{table}] where [{ARCHIVES_BY_TABLE[table]}] = ?", [pk]
        ).fetchone()
    finally:
        conn.close()
    assert asyncio.run(go()) == set(json.loads(ids))
