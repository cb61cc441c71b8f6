"""The whole of EMDB (issue 20 §2): `harvest --emdb all` on a synthetic archive of EMDB's size,
over loopback HTTP, by the real CLI.

    .venv/bin/python -m benchmarks.whole_emdb [--maps 60000] [--models 35000] [--entries 3000]

The archive: `--entries` EMPIAR entries with their linked maps and models (benchmarks/synth.py),
and maps no entry names up to `--maps`, a model fitted into enough of them to make `--models`;
EMDB's holdings file and wwPDB's last-modified file list them all. Generated into a temporary
directory (about 1.5 GB at full size), never stored.

Measures, with no added latency: the first harvest (requests by service, wall and CPU time,
peak RSS of the harvest process), the file's size, a weekly update with 1% of the maps and 1%
of the models changed (requests), and the portal at that size through `empiar-mirror serve`:
p95 of map, model and file pages and of a full-text search on emdb_maps with three facets.
Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks.run import PYTHON
from benchmarks.serving import serve
from benchmarks.synth import CONTEXTS, ORGANISMS, PROTEINS, generate
from empiar_mirror.harvester.replay import (
    EMDB_HOLDINGS_PATH,
    PDB_LAST_MODIFIED_PATH,
    SAMPLE_DIR,
    ReplayServer,
    holdings_entry,
)

FIRST_MAP = 600000  # synth.py numbers its maps from 500000
SEARCH_WORDS = ["ribosome", "kinase", "sapiens", "capsid", "transporter", "helicase"]
FACETS = ["method", "status", "microscope_family"]
REPEATS = 40


def model_id(k: int) -> str:
    """Fresh PDB ids past synth.py's (5xxx): 6AAA, 6AAB, ... 7AAA, ..."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"{6 + k // 17576}{letters[k // 676 % 26]}{letters[k // 26 % 26]}{letters[k % 26]}"


def grow(root: Path, maps: int, models: int, seed: int = 11) -> None:
    """Maps no entry names, up to `maps`, with fitted models up to `models`."""
    rng = random.Random(seed)
    templates = [json.loads(p.read_text()) for p in sorted((SAMPLE_DIR / "emdb").glob("*.json"))]
    model = json.loads((SAMPLE_DIR / "rcsb/entry/9Z01.json").read_text())
    have_maps = len(list((root / "emdb").glob("*.json")))
    have_models = len(list((root / "rcsb/entry").glob("*.json")))
    extra_maps = max(0, maps - have_maps)
    extra_models = min(extra_maps, max(0, models - have_models))
    for k in range(extra_maps):
        emd = f"EMD-{FIRST_MAP + k}"
        doc = templates[k % len(templates)]
        protein, (organism, _) = rng.choice(PROTEINS), rng.choice(ORGANISMS)
        doc["emdb_id"] = emd
        doc["admin"]["title"] = f"{organism} {protein} {rng.choice(CONTEXTS)}"
        doc["sample"]["name"] = {"valueOf_": f"{protein} from {organism}"}
        refs = []
        # One model fitted into each of the first maps, until there are enough.
        if k < extra_models:
            pdb = model_id(k)
            refs.append({"pdb_id": pdb.lower(), "relationship": {"in_frame": "FULLOVERLAP"}})
            model["rcsb_id"] = pdb
            model["entry"] = {"id": pdb}
            model["struct"] = {"title": f"{protein} from {organism}, model {pdb}"}
            model["rcsb_entry_container_identifiers"] = {"entry_id": pdb, "emdb_ids": [emd]}
            model["pdbx_database_related"] = [
                {"db_name": "EMDB", "db_id": emd, "content_type": "associated EM volume"}
            ]
            (root / "rcsb/entry" / f"{pdb}.json").write_text(json.dumps(model))
        doc.setdefault("crossreferences", {})["pdb_list"] = {"pdb_reference": refs}
        (root / "emdb" / f"{emd}.json").write_text(json.dumps(doc))


def bulk_files(root: Path, changed: float = 0.0) -> tuple[bytes, bytes, int, int]:
    """EMDB's holdings file and wwPDB's last-modified file for the archive; a `changed` share
    of each dated later (a weekly update). Returns both bodies and how many changed."""
    maps = sorted(p.stem for p in (root / "emdb").glob("*.json"))
    models = sorted(p.stem for p in (root / "rcsb/entry").glob("*.json"))
    every = round(1 / changed) if changed else 0
    listed = {
        emd: holdings_entry(emd, "2026-12-02" if every and i % every == 0 else "2025-01-01")
        for i, emd in enumerate(maps)
    }
    dates = {
        pdb.lower(): "2026-12-02T00:00:00+00:00"
        if every and i % every == 0
        else "2025-01-01T00:00:00+00:00"
        for i, pdb in enumerate(models)
    }
    moved = (len(maps) + every - 1) // every if every else 0
    moved_models = (len(models) + every - 1) // every if every else 0
    return (
        json.dumps(listed).encode(),
        gzip.compress(json.dumps(dates).encode()),
        moved,
        moved_models,
    )


def harvest(env: dict[str, str], db: Path) -> dict:
    """One harvest in its own process: wall and CPU time, and its own peak RSS. The kernel's
    ru_maxrss of a child counts the parent's resident set at the fork (this process holds the
    loopback archive's bulk files, hundreds of MB), so the child's VmHWM is sampled instead."""
    cmd = [PYTHON, "-m", "empiar_mirror.harvester", "harvest", str(db), "--json", "--quiet"]
    args = ["--emdb", "all", "--no-files", "--rate", "0", "--concurrency", "16"]
    started = time.monotonic()
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, env={**os.environ, **env})
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while not done.wait(0.02):
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
            except (OSError, ValueError):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    result = {
        "wall": time.monotonic() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": peak[0] / 1024,
        "status": os.waitstatus_to_exitcode(status),
        "out": json.loads(out.decode().strip().splitlines()[-1]),
    }
    if result["status"] not in (0, 1):
        raise SystemExit(f"harvest failed: {result}")
    return result


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.95) - 1)] * 1000


def portal(db: Path) -> dict[str, float | int]:
    """p95 (ms) of the pages and of search with three facets, from `empiar-mirror serve`."""
    import sqlite3

    conn = sqlite3.connect(db)
    maps = [r[0] for r in conn.execute("select emdb_id from emdb_maps order by random() limit 50")]
    models = [
        r[0] for r in conn.execute("select pdb_id from pdb_models order by random() limit 50")
    ]
    conn.close()
    proc, base = serve(db)
    name = db.stem
    rng = random.Random(3)
    pages = {
        "map page": lambda: f"/{name}/emdb_maps/{rng.choice(maps)}",
        "model page": lambda: f"/{name}/pdb_models/{rng.choice(models)}",
        "a map's files": lambda: f"/{name}/emdb_file?emdb_id={rng.choice(maps)}",
        # As benchmarks/run.py measures it on empiar_entries: the JSON, three facets asked for.
        "search + 3 facets (JSON)": lambda: (
            f"/{name}/emdb_maps.json?_search={rng.choice(SEARCH_WORDS)}"
            + "".join(f"&_facet={f}" for f in FACETS)
        ),
        # The HTML page as shipped: the table's default facets (six) are computed too.
        "search + 3 facets (page as shipped)": lambda: (
            f"/{name}/emdb_maps?_search={rng.choice(SEARCH_WORDS)}"
            + "".join(f"&_facet={f}" for f in FACETS)
        ),
        "all maps (page as shipped)": lambda: f"/{name}/emdb_maps",
    }
    out: dict[str, float | int] = {}
    try:
        for label, path in pages.items():
            times, failed = [], 0
            for i in range(REPEATS + 5):
                started = time.monotonic()
                try:
                    with urllib.request.urlopen(base + path(), timeout=60) as resp:
                        resp.read()
                except urllib.error.HTTPError:
                    failed += 1  # past Datasette's time limit: counted, not the end of the run
                    continue
                if i >= 5:  # the first few warm the caches
                    times.append(time.monotonic() - started)
            out[label] = p95(times) if times else float("nan")
            out[f"{label} failed"] = failed
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", type=int, default=60_000)
    parser.add_argument("--models", type=int, default=35_000)
    parser.add_argument("--entries", type=int, default=3_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share changed weekly")
    parser.add_argument(
        "--keep", type=Path, help="build the archive and the file in this new directory; keep them"
    )
    args = parser.parse_args()
    report = [f"# The whole of EMDB at scale\n\n{os.cpu_count()} cores; load {load()}.\n"]
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True)
            tmp = args.keep
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="whole-emdb-")))
        root, db = tmp / "archive", tmp / "empiar.db"
        started = time.monotonic()
        generate(args.entries, root)
        grow(root, args.maps, args.models)
        maps = len(list((root / "emdb").glob("*.json")))
        models = len(list((root / "rcsb/entry").glob("*.json")))
        emdb_body, pdb_body, _, _ = bulk_files(root)
        report.append(
            f"Archive: {args.entries:,} EMPIAR entries, {maps:,} EMDB maps, {models:,} PDB "
            f"models; holdings file {len(emdb_body) / 2**20:.1f} MiB, wwPDB file "
            f"{len(pdb_body) / 2**10:.0f} KiB gzipped (generated in "
            f"{time.monotonic() - started:.0f} s).\n"
        )
        with ReplayServer([root], empiar_post="keyed") as server:
            server.bodies[EMDB_HOLDINGS_PATH] = emdb_body
            server.bodies[PDB_LAST_MODIFIED_PATH] = pdb_body
            env = server.env()
            first = harvest(env, db)
            size = db.stat().st_size
            held = first["out"]
            emdb_requests = held["requests"].get("emdb", 0)
            rcsb_requests = held["requests"].get("rcsb", 0)
            report += [
                f"- first harvest: {sum(held['requests'].values()):,} requests "
                f"({', '.join(f'{k} {v:,}' for k, v in sorted(held['requests'].items()))}), "
                f"{first['wall']:.0f} s wall, {first['cpu']:.0f} s CPU, exit {first['status']}",
                f"- EMDB documents: {emdb_requests:,} requests for {maps:,} maps "
                f"({maps / max(emdb_requests, 1):.0f} per request); PDB: {rcsb_requests:,} for "
                f"{models:,} models",
                f"- peak RSS of the harvest process: {first['rss_mb']:.0f} MB",
                f"- file size: {size / 2**20:,.0f} MiB ({size / (maps + models) / 1024:.1f} KiB "
                f"per map or model, raw answers included)",
            ]
            emdb_body, pdb_body, moved, moved_models = bulk_files(root, args.changed)
            server.bodies[EMDB_HOLDINGS_PATH] = emdb_body
            server.bodies[PDB_LAST_MODIFIED_PATH] = pdb_body
            weekly = harvest(env, db)
            week = weekly["out"]
            report.append(
                f"- weekly update, {moved:,} maps and {moved_models:,} models changed "
                f"({args.changed:.0%}): {sum(week['requests'].values()):,} requests "
                f"({', '.join(f'{k} {v:,}' for k, v in sorted(week['requests'].items()))}), "
                f"{weekly['wall']:.0f} s wall, peak RSS {weekly['rss_mb']:.0f} MB"
            )
        for label, value in portal(db).items():
            if label.endswith("failed"):
                if value:
                    report.append(f"  - {label}: {value} of {REPEATS + 5} past the time limit")
            else:
                report.append(f"- p95 {label}: {value:.0f} ms")
        report.append(f"\nLoad after: {load()}.")
    print("\n".join(report))


if __name__ == "__main__":
    main()
