"""`make bench-serving`: the portal under load, on loopback; writes benchmarks/SERVING.md.

A synthetic mirror (benchmarks/synth.py, harvested over loopback) is served by `empiar-mirror
serve` in its own process, with the settings and plugin defaults as shipped; clients in this
process ask it for pages:

1. After a warm-up round (one page of each kind), many visitors (200) for a while (30 s), each
   asking for the pages visitors ask for most, one after another: every answer's time by page,
   and the requests that timed out (60 s).
2. One visitor reading entry pages while six others loop a query that runs until the time limit
   stops it (a recursive CTE), then while four others loop every facet at maximum size.
3. Memory: the server's peak resident set after those, and after three clients loop sorts that
   grow until SQLite's heap limit stops them.

Every loop is bounded in requests and in time. The machine may be shared: the load average is
reported beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from benchmarks.run import PYTHON, ROOT, free_port, harvest, start_server, stop
from benchmarks.synth import generate

HERE = Path(__file__).parent
TIMEOUT = 60  # seconds a client waits for an answer before it counts as timed out
MAX_REQUESTS = 10_000  # per client and phase, whatever the time
SLOW_SQL = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
FACETS = [
    "experiment_type",
    "release_year",
    "technique",
    "status",
    "resolution_bin",
    "experimental_method",
    "scale",
]
SORT_SQL = (
    "with recursive c(x) as (select 1 union all select x + 1 from c) "
    "select x, zeroblob(100000) from c order by 1 desc limit 1 offset 100000000"
)


def serve(db: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "empiar_mirror.harvester", "serve", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=5)
            return proc, base
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Memory:
    """The server's peak resident set, and its peak anonymous part (what the process itself
    allocated, without the pages of the file it maps, which the kernel may drop), sampled
    every 0.1 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")
        self.peak = {"VmRSS": 0.0, "RssAnon": 0.0}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.done.wait(0.1):
            try:
                lines = self.status.read_text().splitlines()
            except OSError:
                return
            for line in lines:
                key, _, value = line.partition(":")
                if key in self.peak:
                    self.peak[key] = max(self.peak[key], int(value.split()[0]) / 1024)

    def now(self) -> dict[str, float]:
        return dict(self.peak)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


def pages(db: Path, ids: dict[str, list[str]]) -> list[tuple[str, str, float]]:
    """The pages visitors ask for, with their share of requests."""
    name = db.stem
    words = ["ribosome", "kinase", "capsid", "transporter", "helicase"]
    return [
        ("home", "/", 0.30),
        ("entry", lambda r: f"/{name}/empiar_entries/{r.choice(ids['empiar'])}", 0.25),
        ("map", lambda r: f"/{name}/emdb_maps/{r.choice(ids['emdb'])}", 0.10),
        ("table", f"/{name}/empiar_entries", 0.10),
        ("search", lambda r: "/-/search?" + urlencode({"q": r.choice(words)}), 0.15),
        ("database", f"/{name}", 0.05),
        ("charts", "/-/charts", 0.05),
    ]


async def fetch(session, url: str) -> tuple[int | str, float]:
    started = time.monotonic()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as resp:
            await resp.read()
            return resp.status, time.monotonic() - started
    except TimeoutError:
        return "timeout", time.monotonic() - started
    except aiohttp.ClientError as exc:
        return type(exc).__name__, time.monotonic() - started


async def visitors(base: str, db: Path, ids, clients: int, seconds: float) -> dict:
    mix = pages(db, ids)
    times: dict[str, list[float]] = defaultdict(list)
    statuses: Counter = Counter()
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(base, connector=connector) as session:

        async def one(seed: int) -> None:
            r = random.Random(seed)
            for _ in range(MAX_REQUESTS):
                if time.monotonic() > deadline:
                    return
                kind, path, _ = r.choices(mix, weights=[w for *_, w in mix])[0]
                status, took = await fetch(session, path(r) if callable(path) else path)
                statuses[(kind, status)] += 1
                times[kind].append(took)

        await asyncio.gather(*(one(i) for i in range(clients)))
    return {"times": dict(times), "statuses": statuses}


async def beside(base: str, db: Path, ids, others: list[str], seconds: float) -> dict:
    """One visitor's entry pages while `others` loop their requests, each a client at an
    address of its own (127.0.0.10, .11, ...: Linux answers the whole of 127/8 on loopback)."""
    deadline = time.monotonic() + seconds
    seen: list[float] = []
    answers: Counter = Counter()
    r = random.Random(1)

    def session(address: str) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(local_addr=(address, 0)))

    crowd = [session(f"127.0.0.{10 + i}") for i in range(len(others))]
    async with session("127.0.0.2") as visitor:

        async def loop(client: aiohttp.ClientSession, path: str) -> None:
            for _ in range(MAX_REQUESTS):
                if time.monotonic() > deadline:
                    return
                status, _ = await fetch(client, path)
                answers[status] += 1
                if status == 429:
                    await asyncio.sleep(0.05)

        async def visit() -> None:
            await asyncio.sleep(1)  # the others first
            for _ in range(MAX_REQUESTS):
                if time.monotonic() > deadline:
                    return
                path = f"/{db.stem}/empiar_entries/{r.choice(ids['empiar'])}"
                status, took = await fetch(visitor, path)
                seen.append(took)
                if status != 200:
                    answers[f"visitor {status}"] += 1
                await asyncio.sleep(0.1)

        try:
            await asyncio.gather(visit(), *(loop(c, p) for c, p in zip(crowd, others, strict=True)))
        finally:
            for client in crowd:
                await client.close()
    return {"times": seen, "answers": answers}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="entries of the mirror")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--out", type=Path, default=HERE / "SERVING.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="empiar-serving-"))
    print(f"working in {work}", file=sys.stderr)
    load = [os.getloadavg()[0]]
    archive = work / "archive"
    made = generate(args.n, archive)
    server, url = start_server(archive, 0.0)
    try:
        harvest(url, work / "mirror.db", "--rate", "0", "--concurrency", "16")
    finally:
        stop(server)
    db = work / "mirror.db"
    conn = sqlite3.connect(db)
    ids = {
        "empiar": [r[0] for r in conn.execute("select accession from empiar_entries")],
        "emdb": [r[0] for r in conn.execute("select emdb_id from emdb_maps")],
    }
    conn.close()
    proc, base = serve(db)
    memory = Memory(proc.pid)
    r: dict = {}
    try:
        # A warm-up round, one page of each kind, as a server has answered before a crowd comes.
        for _, path, _ in pages(db, ids):
            url = base + (path(random.Random(0)) if callable(path) else path)
            urllib.request.urlopen(url, timeout=TIMEOUT).read()
        print("many visitors", file=sys.stderr)
        r["many"] = asyncio.run(visitors(base, db, ids, args.clients, args.seconds))
        r["rss_many"] = memory.now()
        print("a visitor beside slow queries", file=sys.stderr)
        sql = f"/{db.stem}.json?" + urlencode({"sql": SLOW_SQL})
        r["sql"] = asyncio.run(beside(base, db, ids, [sql] * 6, args.seconds))
        facets = f"/{db.stem}/empiar_entries.json?" + urlencode(
            [("_facet", f) for f in FACETS] + [("_facet_size", "max")]
        )
        print("a visitor beside every facet at maximum size", file=sys.stderr)
        r["facets"] = asyncio.run(beside(base, db, ids, [facets] * 4, args.seconds))
        r["rss_pages"] = memory.now()
        print("sorts to the heap limit", file=sys.stderr)
        sorts = f"/{db.stem}.json?" + urlencode({"sql": SORT_SQL})
        r["sorts"] = asyncio.run(beside(base, db, ids, [sorts] * 3, min(args.seconds, 15)))
        r["rss_sorts"] = memory.now()
    finally:
        memory.stop()
        proc.terminate()
        proc.wait(30)
    load.append(os.getloadavg()[0])
    write(args, made, r, load)
    print(f"wrote {args.out}", file=sys.stderr)


def write(args, made: dict, r: dict, load: list[float]) -> None:
    many = r["many"]
    timed_out = sum(n for (_, status), n in many["statuses"].items() if status == "timeout")
    total = sum(many["statuses"].values())
    ok = lambda cond: "met" if cond else "**missed**"  # noqa: E731
    home95 = pct(many["times"]["home"], 0.95)
    sql95, facet95 = pct(r["sql"]["times"], 0.95), pct(r["facets"]["times"], 0.95)
    lines = [
        "# Serving under load",
        "",
        f"Made by `make bench-serving` on {dt.date.today().isoformat()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. The server "
        "(`empiar-mirror serve` on the live file, as shipped) and the clients run on the same "
        f"machine, over loopback. Load average: {load[0]:.1f} at the start, {load[1]:.1f} at the "
        "end; the machine may be shared, so the figures move from run to run.",
        "",
        f"Synthetic mirror: {made['empiar']} EMPIAR entries, {made['emdb']} EMDB maps, "
        f"{made['pdb']} PDB models (`benchmarks/synth.py`).",
        "",
        "## Targets",
        "",
        "| measure | figure | target | |",
        "|---|---|---|---|",
        f"| {args.clients} clients for {args.seconds:.0f} s: requests timed out ({TIMEOUT} s) | "
        f"{timed_out} of {total} | none | {ok(timed_out == 0)} |",
        f"| {args.clients} clients: home page p95 | {home95:.0f} ms | < 1000 ms | "
        f"{ok(home95 < 1000)} |",
        f"| a visitor's entry page p95 while six others loop queries stopped by the time limit | "
        f"{sql95:.0f} ms | < 500 ms | {ok(sql95 < 500)} |",
        f"| the same while four others loop every facet at maximum size | {facet95:.0f} ms | "
        "< 500 ms | |",
        f"| the server's peak memory: allocated (resident, with the pages of the file it maps) | "
        f"{r['rss_sorts']['RssAnon']:.0f} MiB ({r['rss_sorts']['VmRSS']:.0f} MiB) | < 512 MiB | "
        f"{ok(r['rss_sorts']['RssAnon'] < 512)} |",
        "",
        f"## {args.clients} clients for {args.seconds:.0f} s",
        "",
        "After a warm-up round (one page of each kind). Each client asks for a page, waits for "
        "the answer, and asks for the next: the home page 30% of the time, an entry 25%, "
        "a search 15%, a map 10%, the entries table 10%, the charts and the database page 5% "
        "each.",
        "",
        "| page | requests | p50 (ms) | p95 (ms) | max (ms) | answers |",
        "|---|---|---|---|---|---|",
        *(
            f"| {kind} | {len(ts)} | {pct(ts, 0.5):.0f} | {pct(ts, 0.95):.0f} | "
            f"{max(ts) * 1000:.0f} | "
            + ", ".join(
                f"{status}: {n}"
                for (k, status), n in sorted(many["statuses"].items(), key=str)
                if k == kind
            )
            + " |"
            for kind, ts in sorted(many["times"].items())
        ),
        "",
        "## One visitor beside heavy clients",
        "",
        "The visitor reads a random entry page every 0.1 s; the others loop their request, "
        "waiting 50 ms after a 429.",
        "",
        "| others | visitor's pages | p50 (ms) | p95 (ms) | the others' answers |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {len(r[key]['times'])} | {pct(r[key]['times'], 0.5):.0f} | "
            f"{pct(r[key]['times'], 0.95):.0f} | "
            + ", ".join(f"{s}: {n}" for s, n in sorted(r[key]["answers"].items(), key=str))
            + " |"
            for key, label in (
                ("sql", "six loop a query stopped by the time limit"),
                ("facets", "four loop every facet at maximum size"),
                ("sorts", "three loop sorts grown to the heap limit"),
            )
        ),
        "",
        "## Memory",
        "",
        "The server's peak allocated memory (anonymous pages), and in brackets its peak resident "
        "set, which adds the pages of the database file SQLite maps (`mmap_size`): clean pages "
        "of a read-only file, which the kernel drops under pressure rather than fail: "
        + ", ".join(
            f"{r[key]['RssAnon']:.0f} MiB ({r[key]['VmRSS']:.0f} MiB) {label}"
            for key, label in (
                ("rss_many", f"after the {args.clients} clients"),
                ("rss_pages", "after the heavy clients"),
                ("rss_sorts", "after the sorts"),
            )
        )
        + ".",
        "",
    ]
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
