"""Shared fixtures: the loopback archive server, and the CLI run in-process or as a process."""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import pytest
from click.testing import CliRunner

from empiar_mirror.harvester.cli import cli
from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer

FIXTURES = Path(__file__).parent / "fixtures"
ARCHIVE_OVERLAY = FIXTURES / "archive"
SHARED_REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
SAMPLE_ENTRIES = sorted(p.stem for p in (SAMPLE_DIR / "empiar").glob("EMPIAR-*.json"))
OVERLAY_ENTRIES = sorted(p.stem for p in (ARCHIVE_OVERLAY / "empiar").glob("EMPIAR-*.json"))
GOOD_ENTRIES_COUNT = len(SAMPLE_ENTRIES)


@pytest.fixture(autouse=True, scope="session")
def heap_limit_of_a_test_process():
    """SQLite's heap limit (index/portal/limits.py) is for the whole process, and Datasette 0.65
    never closes its connections: a test process hosting hundreds of servers holds their page
    caches and reaches the limit one server is sized for. The tests run under 1 GiB."""
    from empiar_mirror.index.portal import limits

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits, "SOFT_HEAP_BYTES", 512 << 20)
        patch.setattr(limits, "HARD_HEAP_BYTES", 1 << 30)
        yield


@pytest.fixture
def server():
    """The sample archive plus the test-only records, on a fresh loopback port."""
    with ReplayServer([SAMPLE_DIR, ARCHIVE_OVERLAY]) as srv:
        yield srv


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run `empiar-mirror` as a user would: a separate process, real exit code and streams."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "empiar_mirror.harvester", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def invoke(*args: str, env: dict[str, str] | None = None):
    """Run `empiar-mirror` in this process: the command's code, with the exit status, stdout and
    stderr a shell would see, without a process start (a quarter of a second, more under load).
    What is about the process itself (usage errors as the shell sees them, signals, locks
    between processes, what the interpreter prints, the streams' file descriptors, a hang) is
    for `run_cli`."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    # As in a fresh process, the command's logging setup is the only one (pytest adds its own).
    root.handlers = []
    try:
        result = CliRunner().invoke(cli, args, env=env, prog_name="empiar-mirror")
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = saved
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What the interpreter would print before exiting 1.
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(
        ["empiar-mirror", *args], result.exit_code, result.stdout, stderr
    )


def harvest(server: ReplayServer, db: Path, *extra: str, run=invoke):
    """A quick harvest from `server` into `db`, in-process unless `run=run_cli`."""
    return run(
        "harvest",
        str(db),
        "--rate",
        "0",
        "--retries",
        "1",
        "--backoff",
        "0.05",
        *extra,
        env=server.env(),
    )


def table_dump(db: Path, tables: list[str]) -> dict[str, list[tuple]]:
    """Every row of the named tables, sorted: a logical dump to compare two databases."""
    conn = sqlite3.connect(db)
    try:
        return {
            t: sorted(conn.execute(f"select * from [{t}]").fetchall(), key=repr) for t in tables
        }
    finally:
        conn.close()


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def stored(db: Path, accession: str, source: str = "empiar") -> str | None:
    """The payload a record's rows come from, else its newest version (one that never mapped)."""
    rows = query(
        db,
        "select v.payload from record_version v left join source_record s using (source, "
        "accession, sha256) where v.source = ? and v.accession = ? "
        "order by s.sha256 is null, v.last_served desc limit 1",
        (source, accession),
    )
    return rows[0][0] if rows else None


def canonical_file(path: Path) -> str:
    """A recorded answer as the mirror stores it, whichever route served it."""
    from empiar_mirror.index.versions import canonical

    return canonical(json.loads(path.read_text()))


def logical_dump(db: Path) -> dict[str, list[tuple]]:
    """Every normalized table, without the times of harvesting: two harvests of the same archive
    at different moments give the same logical dump."""
    from empiar_mirror.index.store import NORMALIZED_TABLES

    conn = sqlite3.connect(db)
    try:
        out = {}
        for table in NORMALIZED_TABLES:
            columns = [r[1] for r in conn.execute(f"pragma table_info([{table}])")]
            keep = ", ".join(
                f"[{c}]" for c in columns if c not in ("changed_at", "files_listed_at")
            )
            out[table] = sorted(conn.execute(f"select {keep} from [{table}]").fetchall(), key=repr)
        fts = conn.execute(
            "select e.accession, f.title, f.authors, f.imageset_text, f.citation_title, "
            "f.linked_text from empiar_entries_fts f join empiar_entries e on e.rowid = f.rowid"
        )
        out["empiar_entries_fts"] = sorted(fts.fetchall())
        return out
    finally:
        conn.close()


def backup_copy(source: Path, target: Path) -> Path:
    """A consistent, self-contained copy (its WAL included) through SQLite's backup API:
    tests must not write the shared file."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def harvested_sample(directory: Path, name: str) -> Path:
    """The bundled sample harvested into `directory/name` through the CLI's code, in-process."""
    db = directory / name
    with ReplayServer() as server:
        result = harvest(server, db)
    assert result.returncode == 0, result.stderr
    return db


def datasette_get(db: Path, path: str):
    """One request to Datasette serving `db` as `serve` would, through its test client."""
    import asyncio

    from empiar_mirror.index.serve import make_datasette

    ds = make_datasette(db)

    async def go():
        await ds.invoke_startup()
        return await ds.client.get(path)

    try:
        return asyncio.run(go())
    finally:
        close_datasette(ds)


def close_datasette(ds) -> None:
    """Give back what a test's Datasette holds, once its event loop has ended: its threads, with
    the connection each keeps, then its file connections. SQLite's heap limit, which the portal
    sets, is for the whole process: a suite that left each instance's connections open would
    reach it."""
    if ds.executor is not None:
        ds.executor.shutdown(wait=True)
    for db in ds.databases.values():
        db.close()


@pytest.fixture(scope="session")
def harvested_db(tmp_path_factory) -> Path:
    """The bundled sample harvested once per test session; tests must only read it."""
    return harvested_sample(tmp_path_factory.mktemp("harvested"), "mirror.db")


@pytest.fixture(scope="session")
def wheel_path(tmp_path_factory) -> Path:
    """The project's wheel, built once per session with this environment's setuptools."""
    out = tmp_path_factory.mktemp("wheel")
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(out), str(root)],
        check=True,
        capture_output=True,
        timeout=SERVER_START_GUARD,
    )
    (path,) = out.glob("empiar_mirror-*.whl")
    return path


# A server started as a user starts it, in its own process ----------------------------------

SERVER_START_GUARD = 120  # seconds; only ever reached when something hangs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


@contextmanager
def running(args: list[str], port: int, cwd: Path | None = None, log: Path | None = None):
    """A server in its own process, as a user starts it; yields its base URL, stopped by PID."""
    out = open(log or os.devnull, "wb")  # noqa: SIM115 -- closed below, after the process
    proc = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_GUARD
        while True:
            try:
                if http_get(base + "/-/versions.json")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{args[:3]} did not start: {log.read_text() if log else ''}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
