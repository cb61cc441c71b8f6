"""Serve the database read-only with Datasette.

The portal (templates, stylesheet, pages, metadata) is a Datasette plugin registered by the
package's `datasette` entry point, so plain `datasette FILE` shows what `serve` shows; `serve`
adds the settings a plugin cannot set.

Datasette offers a file for download only when it serves it immutable: `snapshot` makes such a
copy of a live file, which is also what to publish.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datasette.app import Datasette

from empiar_mirror.index.portal.limits import WITHHELD_COLUMNS

METADATA_PATH = Path(__file__).with_name("datasette_metadata.json")

SETTINGS = {
    "sql_time_limit_ms": 3000,
    "max_returned_rows": 1000,
    "facet_time_limit_ms": 500,
    "default_facet_size": 15,
    # Suggesting facets tries every column of every table page: seconds on a large front door.
    "suggest_facets": False,
    "allow_download": True,
    # Imageset descriptions run to pages; table cells show the start, row pages all of it.
    "truncate_cells_html": 300,
}


def load_metadata(path: str | Path | None = None) -> dict[str, Any]:
    """Read the metadata file we ship, or one the user names: a JSON object.

    ValueError, saying why, for a file that is missing, unreadable, not JSON or not an object."""
    source = Path(path or METADATA_PATH)
    # Only a regular file: reading a FIFO would wait for a writer that never comes.
    if not source.is_file():
        why = "is not a regular file" if source.exists() else "does not exist"
        raise ValueError(f"{source} {why}")
    try:
        metadata = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source} is not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{source} is not a JSON object, as Datasette metadata must be")
    return metadata


def make_datasette(
    files: str | Path | Sequence[str | Path] = (),
    metadata: dict[str, Any] | None = None,
    *,
    immutables: Sequence[str | Path] = (),
    cors: bool = False,
    settings: dict[str, Any] | None = None,
    crossdb: bool = False,
) -> Datasette:
    """A Datasette for database files. Datasette only ever reads them through read-only
    connections, so the SQL page cannot write; a harvest may write alongside (WAL). Immutable
    files (snapshots) are opened without locking and may be downloaded whole.

    The bundled metadata comes from the plugin; `metadata` is merged over it, `settings` over
    ours."""
    if isinstance(files, str | Path):
        files = [files]
    return Datasette(
        files=[str(f) for f in files],
        immutables=[str(f) for f in immutables],
        metadata=metadata or {},
        settings={**SETTINGS, **(settings or {})},
        cors=cors,
        crossdb=crossdb,
    )


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything else happens, so a taken port is known at once
    (OSError) and no other process can take it in between."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def serve(datasette: Datasette, sock: socket.socket) -> None:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(datasette.app(), log_level="warning"))
    server.run(sockets=[sock])


def snapshot(db_path: str | Path, out_path: str | Path, *, keep_contacts: bool = False) -> None:
    """A compact, consistent copy of `db_path` at `out_path`, read-only on disk, for publishing:
    without what the portal withholds (e-mail addresses, and the raw records and excerpts that
    carry depositors' addresses, telephone and fax numbers) unless `keep_contacts`.

    It only reads (VACUUM INTO on a read-only connection), so it needs no harvest lock and may
    run while a harvest writes: the copy holds exactly the commits made before it began. The
    copy is written beside `out_path` and renamed over it, so no reader opens a half-written
    file, and whatever fails leaves nothing behind."""
    out = Path(out_path)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    leftovers = [partial, *(Path(f"{partial}{end}") for end in ("-journal", "-wal", "-shm"))]
    for path in leftovers:
        path.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{quote(str(Path(db_path).resolve()))}?mode=ro", uri=True)
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        source.execute("VACUUM INTO ?", [str(partial)])
        if not keep_contacts:
            _withhold(partial)
        partial.chmod(0o444)
        os.replace(partial, out)
    finally:
        source.close()
        for path in leftovers:
            path.unlink(missing_ok=True)


def _withhold(path: Path) -> None:
    """Empty the withheld columns (NULL, or '' where the schema wants a value), then rebuild the
    file so no freed page keeps their text."""
    copy = sqlite3.connect(path)
    try:
        with copy:
            for table, column in sorted(WITHHELD_COLUMNS):
                not_null = {r[1]: r[3] for r in copy.execute(f"pragma table_info([{table}])")}
                empty = "''" if not_null.get(column) else "null"
                copy.execute(f"update [{table}] set [{column}] = {empty}")
        copy.execute("VACUUM")
    finally:
        copy.close()
