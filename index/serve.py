"""Serve the database read-only with Datasette, configured by datasette_metadata.json, with the
portal plugin (index/plugin.py), its templates and its stylesheet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.plugins import pm

from index import plugin as portal_plugin

# Installed, the metadata sits in this package; in a source checkout, at the repository's top.
_METADATA_CANDIDATES = [
    Path(__file__).with_name("datasette_metadata.json"),
    Path(__file__).resolve().parent.parent / "datasette_metadata.json",
]

PORTAL_DIR = Path(__file__).parent

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
    """Read the metadata file we ship, or one the user names."""
    candidates = [Path(path)] if path else _METADATA_CANDIDATES
    for candidate in candidates:
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no Datasette metadata at {candidates[0]}")


def make_datasette(db_path: str | Path, metadata: dict[str, Any] | None = None) -> Datasette:
    """A Datasette for one database file. Datasette only ever reads it through read-only
    connections, so the SQL page cannot write; a harvest may write alongside (WAL)."""
    metadata = metadata if metadata is not None else load_metadata()
    _register_portal()
    # Metadata names the database "empiar"; serve whatever file under that name.
    return Datasette(
        files=[str(db_path)],
        metadata=_for_database(metadata, Path(db_path).stem),
        settings=SETTINGS,
        template_dir=str(PORTAL_DIR / "templates"),
        static_mounts=[("-/portal", str(PORTAL_DIR / "static"))],
    )


def _register_portal() -> None:
    # Datasette's plugin manager is process-wide: register once, however many instances.
    if not pm.is_registered(portal_plugin):
        pm.register(portal_plugin, name=portal_plugin.PLUGIN_NAME)


def _for_database(metadata: dict[str, Any], name: str) -> dict[str, Any]:
    databases = metadata.get("databases", {})
    if "empiar" in databases and name != "empiar":
        databases = {
            name: databases["empiar"],
            **{k: v for k, v in databases.items() if k != "empiar"},
        }
    return {**metadata, "databases": databases}


def serve(
    db_path: str | Path, host: str, port: int, metadata: dict[str, Any] | None = None
) -> None:
    import uvicorn

    datasette = make_datasette(db_path, metadata)
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning")
