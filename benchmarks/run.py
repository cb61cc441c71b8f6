"""`make bench`: harvest synthetic archives over loopback and write benchmarks/RESULTS.md.

Everything runs against loopback servers (benchmarks/server.py) serving a synthetic archive
(benchmarks/synth.py) in the real URL layout, with an added latency per answer. The harvester,
the previous version of empiar-mirror (PREVIOUS, run from a git worktree) and the baseline script
run as separate processes; their CPU time and peak memory come from the kernel (os.wait4).

The machine may be shared, so no figure is compared with one remembered from another run: each
target is a ratio of figures measured in this run, the timed runs are repeated (`--repeats`),
interleaved so that a busy spell hits all of them alike, and the report gives medians with
their spread.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from benchmarks.synth import generate
from empiar_mirror.harvester.archives import SERVICE_LIMITS

HERE = Path(__file__).parent
ROOT = HERE.parent
PYTHON = sys.executable
# The end of the previous round: the version the report compares with.
PREVIOUS = "0d263d8"
# Rows of the bulk-write measure, and rows per transaction (a file listing's worth).
BULK_ROWS = 1_000_000
BULK_GROUP = 10_000
CONCURRENCY = 16
SEARCH_WORDS = [
    "ribosome",
    "kinase",
    "sapiens",
    "capsid",
    "transporter",
    "nanodiscs",
    "inhibitor",
    "proteasome",
    "musculus",
    "helicase",
]


def start_server(root: Path, latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.server", str(root), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(30)


def endpoints_env(url: str) -> dict[str, str]:
    return {
        "EMPIAR_MIRROR_EMPIAR_API": f"{url}/empiar/api",
        "EMPIAR_MIRROR_EMPIAR_FILES": f"{url}/empiar/world_availability",
        "EMPIAR_MIRROR_EBI_SEARCH": f"{url}/ebisearch/ws/rest",
        "EMPIAR_MIRROR_EMDB_API": f"{url}/emdb/api",
        "EMPIAR_MIRROR_RCSB_API": f"{url}/rcsb",
        "EMPIAR_MIRROR_EMDB_FILES": f"{url}/pub/databases/emdb",
        "EMPIAR_MIRROR_WWPDB_FILES": f"{url}/pub/pdb",
    }


def previous_version(work: Path) -> dict[str, str]:
    """The environment that runs PREVIOUS: a worktree, imported as `empiar_mirror.*` through
    symlinks on PYTHONPATH (ahead of this checkout's editable install)."""
    tree = work / "previous"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), PREVIOUS],
        check=True,
        capture_output=True,
    )
    package = work / "previous-path" / "empiar_mirror"
    package.mkdir(parents=True)
    for name in ("harvester", "index"):
        (package / name).symlink_to(tree / name)
    env = {"PYTHONPATH": str(package.parent)}
    where = subprocess.run(
        [PYTHON, "-c", "import empiar_mirror.harvester as h; print(h.__file__)"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not where.startswith(str(package)):
        raise SystemExit(f"the previous version does not load from its worktree: {where}")
    return env


def remove_worktree(work: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "previous")],
        capture_output=True,
    )


def measured(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a process; its wall time, CPU time and peak RSS as the kernel counted them."""
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, env={**os.environ, **(env or {})}, cwd=ROOT
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "status": os.waitstatus_to_exitcode(status),
        "out": json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {},
    }


def harvest(url: str, db: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    return harvest_into(url, db, *args, env=env)


def harvest_into(url: str, db: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    cmd = [PYTHON, "-m", "empiar_mirror.harvester", "harvest", str(db), "--json", "--quiet", *args]
    result = measured(cmd, {**endpoints_env(url), **(env or {})})
    if result["status"] not in (0, 1):
        raise SystemExit(f"harvest failed: {result}")
    return result


def empiar_kept(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(
                "select count(*) from source_record where source = 'empiar'"
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def killed_and_resumed(url: str, db: Path, n: int, fast: list[str]) -> dict:
    """SIGKILL a first harvest once half the entries are kept; then the entries the next run
    fetches, beside those the killed run had not committed."""
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    cmd = [PYTHON, "-m", "empiar_mirror.harvester", "harvest", str(db), "--quiet", *fast]
    proc = subprocess.Popen(cmd, env={**os.environ, **endpoints_env(url)}, cwd=ROOT)
    deadline = time.monotonic() + 600
    while empiar_kept(db) < n // 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    kept = empiar_kept(db)
    after = harvest_into(url, db, *fast)
    return {"kept": kept, "fetched_after": after["out"]["empiar"]["fetched"]}


def bulk_rows(db: Path) -> dict:
    """Rows per second into one table through the harvest's own connection settings, with
    executemany a file listing's worth per transaction; and bytes per row in the file."""
    from empiar_mirror.index.store import open_database

    conn = open_database(db).conn
    conn.execute(
        "create table bulk_file (accession text not null, path text not null, size_bytes "
        "integer, size_text text, modified text, role text, imageset text, "
        "primary key (accession, path))"
    )
    before = db.stat().st_size
    started = time.monotonic()
    for start in range(0, BULK_ROWS, BULK_GROUP):
        rows = [
            (
                f"EMPIAR-{10000 + i // 2000}",
                f"data/movies/FoilHole_{i:08d}_fractions.tiff",
                1_234_567 + i,
                " 1.2G",
                "2024-03-01T12:34",
                "movie",
                "1",
            )
            for i in range(start, start + BULK_GROUP)
        ]
        with conn:
            conn.executemany("insert into bulk_file values (?, ?, ?, ?, ?, ?, ?)", rows)
    wall = time.monotonic() - started
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    return {
        "rows_per_s": BULK_ROWS / wall,
        "bytes_per_row": (db.stat().st_size - before) / BULK_ROWS,
    }


def parquet_of_bulk(db: Path, out: Path) -> dict:
    """The bulk table exported as Parquet split by accession range, in its own process: its
    wall time and peak memory."""
    code = (
        "import json, sqlite3, sys, time\n"
        "from pathlib import Path\n"
        "from empiar_mirror.index import parquet\n"
        "t = time.monotonic()\n"
        f"n = parquet.export_table(sqlite3.connect({str(db)!r}), 'bulk_file', Path({str(out)!r}))\n"
        "print(json.dumps({'rows': n, 'seconds': time.monotonic() - t}))\n"
    )
    out.mkdir(exist_ok=True)
    return measured([PYTHON, "-c", code])


def bound(requests: dict[str, int], latency: float, *, concurrency: int | None, rated: bool):
    """The time no harvester can beat: per service max(N·L/C, N/R), services in sequence."""
    total = 0.0
    for service, n in requests.items():
        limits = SERVICE_LIMITS[service]
        by_latency = n * latency / (concurrency or limits.concurrency)
        total += max(by_latency, n / limits.rate if rated else 0.0)
    return total


def grow(src: Path, dst: Path, target: int) -> None:
    """A copy of a harvested file whose front door holds `target` entries (rows repeated)."""
    dst.write_bytes(src.read_bytes())
    conn = sqlite3.connect(dst)
    columns = [r[1] for r in conn.execute("pragma table_info(empiar_entries)")]
    rows = conn.execute("select * from empiar_entries").fetchall()
    acc_index = columns.index("accession")
    marks = ", ".join("?" for _ in columns)
    n, copy = len(rows), 0
    while n < target:
        copy += 1
        for row in rows[: target - n]:
            new = list(row)
            new[acc_index] = f"EMPIAR-{copy}{row[acc_index][7:]}"
            # The search index follows by trigger.
            conn.execute(f"insert into empiar_entries values ({marks})", new)
            n += 1
    conn.execute("insert into empiar_entries_fts(empiar_entries_fts) values('optimize')")
    conn.commit()
    conn.execute("vacuum")
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def datasette_latency(db: Path, repeats: int, metadata: Path | None = None) -> dict[str, float]:
    """p50 / p95 of a full-text search with three facets, served by `empiar-mirror serve`."""
    port = free_port()
    extra = ["--metadata", str(metadata)] if metadata else []
    proc = subprocess.Popen(
        [PYTHON, "-m", "empiar_mirror.harvester", "serve", str(db), "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}/{db.stem}/empiar_entries.json"
    facets = "&_facet=experiment_type&_facet=release_year&_facet=technique"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        times, failed = [], 0
        for i in range(repeats + len(SEARCH_WORDS)):
            url = f"{base}?_search={SEARCH_WORDS[i % len(SEARCH_WORDS)]}{facets}"
            started = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=60) as resp:
                    body = json.loads(resp.read())
            except urllib.error.HTTPError:
                # Datasette answers 400 when a query passes its time limit: counted, not fatal.
                failed += 1
                continue
            elapsed = time.monotonic() - started
            asked, shown = (
                {"experiment_type", "release_year", "technique"},
                set(body["facet_results"]),
            )
            # With the metadata that names no default facets, the three asked for alone.
            assert shown == asked if metadata else asked <= shown, shown
            if i >= len(SEARCH_WORDS):  # the first round warms the caches
                times.append(elapsed)
    finally:
        proc.terminate()
        proc.wait(30)
    times.sort()
    return {
        "p50": statistics.median(times) * 1000,
        "p95": times[int(len(times) * 0.95) - 1] * 1000,
        "failed": failed,
    }


def spread(values: list[float], fmt: Callable[[float], str]) -> str:
    """Median, and the range over the repeats."""
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="entries of the main archive")
    parser.add_argument("--n-large", type=int, default=10000, help="entries for the memory run")
    parser.add_argument("--n-baseline", type=int, default=200, help="entries for the side by side")
    parser.add_argument("--rows-large", type=int, default=100000, help="rows for Datasette")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timed harvest")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="empiar-bench-"))
    print(f"working in {work}", file=sys.stderr)
    r: dict = {"load": [os.getloadavg()[0]], "started": time.monotonic()}
    prev = previous_version(work)
    try:
        run_all(args, work, prev, r)
    finally:
        remove_worktree(work)
    r["load"].append(os.getloadavg()[0])
    r["took"] = time.monotonic() - r["started"]
    write_report(args, r)
    print(f"wrote {args.out}", file=sys.stderr)


def run_all(args: argparse.Namespace, work: Path, prev: dict[str, str], r: dict) -> None:
    archive = work / "archive"
    r["archive"] = generate(args.n, archive)
    fast = ["--rate", "0", "--concurrency", str(CONCURRENCY)]

    # 1. The same harvests at zero latency and at latency L, repeated and interleaved: this
    # version batched and one record per request, and the previous version.
    zero, zero_url = start_server(archive, 0.0)
    slow, slow_url = start_server(archive, args.latency)
    try:
        for key in ("full0", "prev0", "fullL", "nobatchL", "prevL"):
            r[key] = []
        for i in range(args.repeats):
            print(f"round {i + 1} of {args.repeats}", file=sys.stderr)
            r["full0"].append(harvest(zero_url, work / "full0.db", *fast))
            r["prev0"].append(harvest(zero_url, work / "prev0.db", *fast, env=prev))
            r["fullL"].append(harvest(slow_url, work / "fullL.db", *fast))
            r["nobatchL"].append(harvest(slow_url, work / "nobatchL.db", *fast, "--no-batch"))
            r["prevL"].append(harvest(slow_url, work / "prevL.db", *fast, env=prev))
        r["incr0"] = harvest_into(zero_url, work / "full0.db", *fast)
        # 2. Polite: the default concurrency and rates, at latency L.
        r["polite"] = harvest(slow_url, work / "polite.db")
        # 3. A first harvest killed halfway, and the run after it.
        r["resume"] = killed_and_resumed(slow_url, work / "killed.db", args.n, fast)
    finally:
        stop(zero)
        stop(slow)
    r["db_size"] = (work / "full0.db").stat().st_size
    r["bulk"] = bulk_rows(work / "bulk.db")
    r["parquet"] = parquet_of_bulk(work / "bulk.db", work / "parquet")

    # 4. Side by side with the baseline script on a small archive, at latency L.
    small = work / "small"
    r["small"] = generate(args.n_baseline, small)
    server, url = start_server(small, args.latency)
    try:
        r["baselineL"] = measured([PYTHON, "-m", "benchmarks.baseline", url, str(work / "b.db")])
        r["mirrorL"] = harvest(url, work / "mirrorL.db", "--rate", "0")
        r["mirror_politeL"] = harvest(url, work / "mirror_politeL.db")
        r["previous_smallL"] = harvest(url, work / "previous_smallL.db", "--rate", "0", env=prev)
    finally:
        stop(server)

    # 5. Memory at the larger size, at two concurrencies, and the previous version's.
    large = work / "large"
    r["large"] = generate(args.n_large, large)
    server, url = start_server(large, 0.0)
    try:
        for c in (CONCURRENCY, 4 * CONCURRENCY):
            r[f"large{c}"] = harvest(url, work / "large.db", "--rate", "0", "--concurrency", str(c))
        r["large_db_size"] = (work / "large.db").stat().st_size
        r["large_prev"] = harvest(url, work / "large_prev.db", *fast, env=prev)
    finally:
        stop(server)

    # 6. Datasette: full-text search with exactly three facets, and on the page as shipped
    # (whose metadata adds the table's default facets), at both sizes. The portal supplies its
    # metadata to every mirror file; a metadata file given to Datasette takes precedence, so
    # one that names no default facets for each served file leaves the three asked for.
    grow(work / "full0.db", work / "grown.db", args.rows_large)
    sizes = (("small", work / "full0.db"), ("large", work / "grown.db"))
    three = work / "three-facets.json"
    no_default_facets = {"tables": {"empiar_entries": {"facets": []}}}
    three.write_text(json.dumps({"databases": {db.stem: no_default_facets for _, db in sizes}}))
    for size, db in sizes:
        r[f"ds_{size}"] = datasette_latency(db, 50, three)
        r[f"ds_{size}_page"] = datasette_latency(db, 50)


def write_report(args: argparse.Namespace, r: dict) -> None:
    n, L = args.n, args.latency
    ok = lambda cond: "met" if cond else "**missed**"  # noqa: E731
    pct = lambda x: f"{x:.0%}"  # noqa: E731
    sec = lambda x: f"{x:.1f} s"  # noqa: E731
    times = lambda x: f"{x:.2f}×"  # noqa: E731
    full0, prev0, fullL, nobL, prevL = (
        r[k] for k in ("full0", "prev0", "fullL", "nobatchL", "prevL")
    )

    def per_entry(run: dict, service: str = "empiar") -> float:
        return run["out"]["requests"].get(service, 0) / n

    def hidden(zero: dict, slow: dict) -> float:
        """max(network bound, the same harvest at L = 0) / the harvest at L."""
        network = bound(slow["out"]["requests"], L, concurrency=CONCURRENCY, rated=False)
        return max(network, zero["wall"]) / slow["wall"]

    empiar_req = per_entry(full0[0])
    hidden_this = [hidden(z, s) for z, s in zip(full0, fullL, strict=True)]
    hidden_prev = [hidden(z, s) for z, s in zip(prev0, prevL, strict=True)]
    engine = [
        bound(s["out"]["requests"], L, concurrency=CONCURRENCY, rated=False) / s["wall"]
        for s in nobL
    ]
    walls0 = [x["wall"] for x in full0]
    cpu_this = [x["cpu"] / n * 1000 for x in full0]
    cpu_prev = [x["cpu"] / n * 1000 for x in prev0]
    cpu_ratio = [a / b for a, b in zip(cpu_this, cpu_prev, strict=True)]
    wall_ratio = [a["wall"] / b["wall"] for a, b in zip(full0, prev0, strict=True)]
    polite = r["polite"]
    polite_bound = bound(polite["out"]["requests"], L, concurrency=None, rated=True)
    prev_polite_bound = bound(prev0[0]["out"]["requests"], L, concurrency=None, rated=True)
    rss = {c: r[f"large{c}"]["rss_mb"] for c in (CONCURRENCY, 4 * CONCURRENCY)}
    base, mirror = r["baselineL"], r["mirrorL"]
    mirror_polite, prev_small = r["mirror_politeL"], r["previous_smallL"]
    incr = r["incr0"]
    resume, bulk = r["resume"], r["bulk"]
    incr_written = sum(
        incr["out"][s]["new"] + incr["out"][s]["updated"] for s in ("empiar", "emdb", "pdb")
    )
    median = statistics.median
    lines = [
        "# Benchmark results",
        "",
        f"Made by `make bench` on {dt.date.today().isoformat()}: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}. "
        "The loopback servers run in their own processes on the same machine. The previous "
        f"version is `{PREVIOUS}` (the end of the previous round), run from a git "
        "worktree against the same servers.",
        "",
        f"Each timed harvest ran {args.repeats} times, interleaved with the others; figures are "
        "medians, with the range over the repeats in brackets. Load average over the machine's "
        f"cores: {r['load'][0]:.1f} at the start, {r['load'][1]:.1f} at the end (the benchmark "
        "itself keeps it near 1; more means other work ran beside it, and the ranges say how "
        f"much that moved the figures). The whole benchmark took {r['took'] / 60:.0f} minutes.",
        "",
        f"Synthetic archive: {r['archive']['empiar']} EMPIAR entries, {r['archive']['emdb']} "
        f"EMDB maps, {r['archive']['pdb']} PDB models (`benchmarks/synth.py`). Unless said "
        f"otherwise the harvests run with `--rate 0 --concurrency {CONCURRENCY}`.",
        "",
        "## Targets",
        "",
        "| measure | this version | previous version | target | |",
        "|---|---|---|---|---|",
        f"| EMPIAR requests per entry, full harvest | {empiar_req:.3f} | "
        f"{per_entry(prev0[0]):.3f} | ≤ 0.1 | {ok(empiar_req <= 0.1)} |",
        f"| polite full harvest of {n} entries (default limits, L = {L * 1000:.0f} ms) | "
        f"{sec(polite['wall'])} (bound {sec(polite_bound)}) | ≥ {sec(prev_polite_bound)} "
        f"(its requests at the same rates) | ≤ 60 s | {ok(polite['wall'] <= 60)} |",
        f"| latency hidden: max(N·L/C, same harvest at L = 0) / harvest at L = "
        f"{L * 1000:.0f} ms | {spread(hidden_this, pct)} | {spread(hidden_prev, pct)} | ≥ 95% | "
        f"{ok(median(hidden_this) >= 0.95)} |",
        f"| the engine alone: `--no-batch` at L = {L * 1000:.0f} ms, fraction of N·L/C | "
        f"{spread(engine, pct)} | | ≥ 85% | {ok(median(engine) >= 0.85)} |",
        f"| EMPIAR entries fetched by the run after a kill at 50% of a first harvest | "
        f"{resume['fetched_after']} ({n - resume['kept']} were not committed at the kill) | "
        "| only the uncommitted ones | "
        f"{ok(resume['fetched_after'] <= n - resume['kept'])} |",
        f"| rows written per second, one table, bulk ({BULK_ROWS:,} rows, "
        f"{BULK_GROUP:,} per transaction) | {bulk['rows_per_s']:,.0f} "
        f"({bulk['bytes_per_row']:.0f} bytes per row in the file) | | ≥ 150,000 | "
        f"{ok(bulk['rows_per_s'] >= 150_000)} |",
        f"| Parquet export of that table, split by accession range: peak RSS | "
        f"{r['parquet']['rss_mb']:.0f} MB ({r['parquet']['out']['rows']:,} rows in "
        f"{r['parquet']['wall']:.1f} s) | | < 250 MB | {ok(r['parquet']['rss_mb'] < 250)} |",
        f"| zero-latency full harvest, wall | {spread(walls0, sec)} | "
        f"{spread([x['wall'] for x in prev0], sec)} | < 8 s | {ok(median(walls0) < 8)} |",
        f"| CPU per entry at zero latency (fetch, parse, map, write) | "
        f"{spread(cpu_this, lambda x: f'{x:.1f} ms')} | "
        f"{spread(cpu_prev, lambda x: f'{x:.1f} ms')} | | {spread(cpu_ratio, times)} of "
        "the previous |",
        f"| peak RSS, {args.n_large} entries | {rss[CONCURRENCY]:.0f} MB at concurrency "
        f"{CONCURRENCY}, {rss[4 * CONCURRENCY]:.0f} MB at {4 * CONCURRENCY} | "
        f"{r['large_prev']['rss_mb']:.0f} MB at {CONCURRENCY} | < 250 MB | "
        f"{ok(max(rss.values()) < 250)} |",
        "",
        f"Zero-latency wall time against the previous version, run by run: "
        f"{spread(wall_ratio, times)}.",
        "",
        "## Requests per EMPIAR entry, by host",
        "",
        "| run | requests per entry |",
        "|---|---|",
        *(
            f"| {label} | "
            + ", ".join(
                f"{host} {count / n:.3f}" for host, count in sorted(run["out"]["requests"].items())
            )
            + " |"
            for label, run in (
                ("this version", full0[0]),
                ("this version, `--no-batch`", nobL[0]),
                ("previous version", prev0[0]),
            )
        ),
        "",
        "How this version fetched EMPIAR entries is kept in `harvest_runs.options` "
        "(`empiar_batches`): `yes` after its probe found `POST entry/` to answer as the GET "
        "does.",
        "",
        "## Side by side with a typical script",
        "",
        f"{args.n_baseline} entries, L = {L * 1000:.0f} ms, default concurrency. The baseline "
        "(`benchmarks/baseline.py`) fetches one record per request over one connection, with the "
        "official EMDB client's pause between EMDB calls, and writes raw JSON only.",
        "",
        "| harvester | wall (s) | requests | CPU (s) |",
        "|---|---|---|---|",
        f"| baseline | {base['wall']:.1f} | {base['out']['requests']} | {base['cpu']:.1f} |",
        *(
            f"| {label} | {run['wall']:.1f} | {sum(run['out']['requests'].values())} | "
            f"{run['cpu']:.1f} |"
            for label, run in (
                ("empiar-mirror, `--rate 0`", mirror),
                ("empiar-mirror, polite defaults", mirror_polite),
                ("previous version, `--rate 0`", prev_small),
            )
        ),
        "",
        "## Incremental run over the unchanged archive",
        "",
        "| run | requests | records written | wall (s) |",
        "|---|---|---|---|",
        f"| full | {sum(full0[-1]['out']['requests'].values())} | "
        f"{sum(full0[-1]['out'][s]['new'] for s in ('empiar', 'emdb', 'pdb'))} | "
        f"{full0[-1]['wall']:.2f} |",
        f"| incremental | {sum(incr['out']['requests'].values())} | {incr_written} | "
        f"{incr['wall']:.2f} |",
        "",
        f"The incremental run takes {incr['wall'] / full0[-1]['wall']:.1%} of the full run's "
        f"time and writes {incr_written} records.",
        "",
        "## Memory and file size",
        "",
        f"Peak RSS of the harvester: {median(x['rss_mb'] for x in full0):.0f} MB at {n} "
        f"entries; at {args.n_large}: "
        + ", ".join(f"{mb:.0f} MB at concurrency {c}" for c, mb in rss.items())
        + f". Database size: {r['db_size'] / n / 1024:.0f} KiB per EMPIAR entry at {n} entries, "
        f"{r['large_db_size'] / args.n_large / 1024:.0f} KiB at {args.n_large} (with their "
        "linked maps and models and every raw response). At "
        f"{args.n_large} entries the harvest took {r[f'large{CONCURRENCY}']['wall']:.0f} s "
        f"(previous version: {r['large_prev']['wall']:.0f} s).",
        "",
        "## Datasette",
        "",
        "Full-text search on `empiar_entries` with three facets (`experiment_type`, "
        "`release_year`, `technique`), through `empiar-mirror serve` over loopback, 50 requests "
        "over ten search words after a warm-up round. The last two columns are the page as "
        "shipped, whose metadata also computes the table's default facets.",
        "",
        "| entries | three facets: p50 (ms) | p95 (ms) | page as shipped: p50 (ms) | p95 (ms) "
        "| past the time limit (400) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {rows} | {r[f'ds_{s}']['p50']:.0f} | {r[f'ds_{s}']['p95']:.0f} | "
            f"{r[f'ds_{s}_page']['p50']:.0f} | {r[f'ds_{s}_page']['p95']:.0f} | "
            f"{r[f'ds_{s}']['failed'] + r[f'ds_{s}_page']['failed']} |"
            for s, rows in (("small", n), ("large", args.rows_large))
        ),
        "",
        "Profiling notes, the causes found and the figures before and after: "
        "`benchmarks/PROFILING.md`; `python -m benchmarks.profiled` profiles one harvest.",
        "",
    ]
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
