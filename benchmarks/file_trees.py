"""The file trees at scale (issue 19 §5): a synthetic archive of 1,000,000 files over loopback
HTTP in the real autoindex format, harvested by the real CLI.

    .venv/bin/python -m benchmarks.file_trees [--entries 100] [--files-per-entry 10000]

Measures the write path alone (rows per second into empiar_file, bytes per file row), then a
crawl of the whole archive (wall, CPU per listed directory, peak RSS of the harvest process),
an incremental run with 1% of the entries changed, and the portal pages that read the file
table (p95 over 20 requests). Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.index import store

TEMPLATE = SAMPLE_DIR / "empiar" / "EMPIAR-90014.json"
FIRST = 60000


def accession(k: int) -> str:
    return f"EMPIAR-{FIRST + k}"


def snapshot(root: Path, entries: int) -> None:
    """Entries cloned from one sample entry, under fresh accessions."""
    (root / "empiar").mkdir(parents=True)
    body = next(iter(json.loads(TEMPLATE.read_text()).values()))
    body["cross_references"] = []
    for k in range(entries):
        (root / "empiar" / f"{accession(k)}.json").write_text(json.dumps({accession(k): body}))


def tree(k: int, files: int) -> dict:
    """An EPU-shaped tree: most files movies in one directory (as real entries hold them)."""
    movies = {
        f"FoilHole_{k:04d}{n:05d}_Data_{n:08d}_{n:08d}_20240311_{n % 240000:06d}_fractions.tiff": (
            "543M"
        )
        for n in range(files - 25)
    }
    return {
        f"{FIRST + k}.xml": " 12K",
        "README.txt": "3.2K",
        "data": {
            "movies": movies,
            "gain": {"CountRef_session.mrc": " 45M", "defects.txt": "1.2K"},
            "coordinates": {f"mic_{n:05d}_autopick.star": " 34K" for n in range(20)},
        },
    }


def harvest(env: dict[str, str], db: Path, *extra: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "empiar_mirror.harvester",
            "harvest",
            str(db),
            "--rate",
            "0",
            "--concurrency",
            "4",
            "--no-linked",
            "--json",
            *extra,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    summary = json.loads(result.stdout)
    return {
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "rss_mb": after.ru_maxrss / 1024,
        "files": summary["files"],
        "requests": summary["requests"].get("empiar_files", 0),
    }


def write_path(rows: int) -> dict:
    """store.write_directory alone: 100,000-row directories into a fresh file."""
    with tempfile.TemporaryDirectory() as tmp:
        db = store.open_database(Path(tmp) / "w.db")
        per = min(rows, 100_000)
        started = time.perf_counter()
        for d in range(rows // per):
            files = [
                (
                    f"data/movies/FoilHole_{d:04d}{n:05d}_Data_{n:08d}_{n:08d}_20240311_"
                    f"{n:06d}_fractions.tiff",
                    569376768,
                    "543M",
                    "2024-03-11T10:00",
                    "movie",
                    1,
                )
                for n in range(per)
            ]
            with db.conn:
                store.write_directory(
                    db, accession(d), "data/movies", "2024-03-11T10:00", files, [], True
                )
        seconds = time.perf_counter() - started
        db.close()
    return {"rows_per_s": rows / seconds}


def table_bytes(db: Path, *, vacuumed: bool = False) -> int:
    """The pages of empiar_file, as the harvest left them or compacted (as `snapshot` does)."""
    conn = sqlite3.connect(db)
    try:
        if vacuumed:
            conn.execute("vacuum")
        (size,) = conn.execute(
            "select sum(pgsize) from dbstat where name = 'empiar_file'"
        ).fetchone()
        return size
    finally:
        conn.close()


def page_p95(db: Path, paths: list[str], repeats: int = 20) -> dict[str, float]:
    from datasette.app import Datasette

    async def go() -> dict[str, float]:
        ds = Datasette([str(db)], immutables=[])
        out = {}
        for path in paths:
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                r = await ds.client.get(path)
                times.append(time.perf_counter() - started)
                assert r.status_code == 200, (path, r.status_code)
            out[path] = statistics.quantiles(times, n=20)[18]
        return out

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--files-per-entry", type=int, default=10_000)
    args = parser.parse_args()
    total = args.entries * args.files_per_entry
    report = [
        f"# File trees at scale\n\n{args.entries} entries x {args.files_per_entry:,} "
        f"files = {total:,} files; {os.cpu_count()} cores.\n"
    ]
    written = write_path(total)
    report.append(
        f"- write path alone (store.write_directory, 100,000-row directories): "
        f"{written['rows_per_s']:,.0f} rows/s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root, db = Path(tmp) / "snap", Path(tmp) / "m.db"
        snapshot(root, args.entries)
        trees = {accession(k): tree(k, args.files_per_entry) for k in range(args.entries)}
        with ReplayServer([root], trees=trees) as srv:
            env = srv.env()
            entries = harvest(env, db, "--no-files")
            first = harvest(env, db)
            rows = first["files"]["files"]
            directories = first["files"]["directories"]
            per_row = table_bytes(db) / rows
            report += [
                f"- entries alone (--no-files): {entries['wall']:.1f} s",
                f"- first crawl: {rows:,} files in {directories:,} directories, "
                f"{first['requests']:,} listings, {first['wall']:.1f} s wall, "
                f"{rows / first['wall']:,.0f} rows/s end to end (fetch, parse, classify, write)",
                f"- CPU of the harvest per listed directory: "
                f"{first['cpu'] / directories * 1000:.0f} ms "
                f"({first['cpu'] / rows * 1e6:.0f} µs per file row)",
                f"- bytes per file row (empiar_file's pages / rows): {per_row:.0f} as harvested",
                f"- peak RSS of the harvest process: {first['rss_mb']:.0f} MB",
            ]
            unchanged = harvest(env, db)
            report.append(
                f"- unchanged archive: {unchanged['requests']} listing(s), "
                f"{unchanged['wall']:.1f} s"
            )
            changed = max(1, args.entries // 100)
            for k in range(changed):
                trees[accession(k)]["data"]["movies"]["new_fractions.tiff"] = "543M"
            dates = {accession(k) for k in range(changed)}
            srv.snapshot.update_date = lambda acc, f=srv.snapshot.update_date: (
                "2030-01-01" if acc in dates else f(acc)
            )
            incremental = harvest(env, db)
            report.append(
                f"- incremental, {changed} of {args.entries} entries changed (1%): "
                f"{incremental['files']['directories']} directories and "
                f"{incremental['files']['files']:,} files listed, {incremental['wall']:.1f} s"
            )
        report.append(
            f"- bytes per file row after VACUUM (as `snapshot` writes the file): "
            f"{table_bytes(db, vacuumed=True) / rows:.0f}"
        )
        p95 = page_p95(
            db,
            [
                f"/m/empiar_entries/{accession(0)}",
                f"/m/empiar_file?accession={accession(0)}",
                f"/m/empiar_file?accession={accession(0)}&role=gain_reference",
            ],
        )
        for path, seconds in p95.items():
            report.append(f"- p95 `{path}`: {seconds * 1000:.0f} ms")
        rate = 2.0
        report.append(
            f"\nAt the file server's default 2 listings a second, a first crawl costs "
            f"directories / 2 seconds: {directories / rate / 60:.1f} min for this archive."
        )
    print("\n".join(report))


if __name__ == "__main__":
    main()
