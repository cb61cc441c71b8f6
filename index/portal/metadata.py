"""The bundled metadata, for every attached database that is an empiar-mirror file."""

from __future__ import annotations

import functools
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote


@functools.cache
def _bundled_metadata() -> dict:
    path = Path(__file__).parent.parent / "datasette_metadata.json"
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _is_mirror(path: str) -> bool:
    """Whether the file at `path` was written by empiar-mirror (its migrations say so)."""
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        try:
            return bool(
                conn.execute(
                    "select 1 from _sqlite_migrations where migration_set = 'empiar_mirror'"
                ).fetchone()
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def hidden_tables() -> set[str]:
    """The tables the portal hides: its own bookkeeping, raw records, search indexes."""
    tables = _bundled_metadata()["databases"]["empiar"]["tables"]
    return {name for name, meta in tables.items() if meta.get("hidden")}


def for_mirrors(datasette) -> dict:
    """The bundled metadata, for every attached empiar-mirror file whatever its name; a
    metadata file given to Datasette is merged over it."""
    names = [
        name
        for name, db in datasette.databases.items()
        if db.path and not db.is_memory and _is_mirror(db.path)
    ]
    if not names:
        return {}
    bundled = _bundled_metadata()
    return {
        **{k: v for k, v in bundled.items() if k != "databases"},
        "databases": {name: bundled["databases"]["empiar"] for name in names},
    }
