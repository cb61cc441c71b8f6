"""Serve the database read-only with Datasette.

The portal (templates, stylesheet, pages, metadata) is a Datasette plugin registered by the
package's `datasette` entry point, so plain `datasette FILE` shows what `serve` shows; `serve`
adds the settings a plugin cannot set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datasette.app import Datasette

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
    """Read the metadata file we ship, or one the user names."""
    return json.loads(Path(path or METADATA_PATH).read_text(encoding="utf-8"))


def make_datasette(db_path: str | Path, metadata: dict[str, Any] | None = None) -> Datasette:
    """A Datasette for one database file. Datasette only ever reads it through read-only
    connections, so the SQL page cannot write; a harvest may write alongside (WAL).

    The bundled metadata comes from the plugin; `metadata` is merged over it."""
    return Datasette(files=[str(db_path)], metadata=metadata or {}, settings=SETTINGS)


def serve(
    db_path: str | Path, host: str, port: int, metadata: dict[str, Any] | None = None
) -> None:
    import uvicorn

    datasette = make_datasette(db_path, metadata)
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning")
