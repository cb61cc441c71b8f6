"""Tools for assistants, on the portal's MCP endpoint (`/-/mcp`, from the datasette-mcp plugin of
the `mcp` extra): read-only, shaped for the questions users ask of EMPIAR, and run through the
portal's own connections, so its SQL limits apply as on any page."""

from __future__ import annotations

from typing import Any

from mcp.types import ToolAnnotations

from empiar_mirror.index import links
from empiar_mirror.index.archives import EMDB, EMPIAR, PDB
from empiar_mirror.index.portal.database import by_ids, rows
from empiar_mirror.index.portal.search import fts_query

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
MOST_ROWS = 200
ENTRY_COLUMNS = (
    "accession, title, status, experiment_type, technique, experimental_method, "
    "resolution_best_a, release_date, dataset_size, imageset_count, image_count, microscopes, "
    "detectors, organisms, entry_doi, citation_doi, completeness"
)
MAP_COLUMNS = "emdb_id, title, status, method, resolution_a, microscope, detector, release_date"
MODEL_COLUMNS = "pdb_id, title, status, method, resolution_a, replaced_by"


def _limit(value: int) -> int:
    return max(1, min(int(value), MOST_ROWS))


def register(datasette, mcp) -> None:
    """Add the tools to the server datasette-mcp builds for this Datasette."""

    def database():
        return datasette.get_database()

    @mcp.tool(annotations=READ_ONLY)
    async def search_entries(query: str, limit: int = 20) -> list[dict[str, Any]]:
        """EMPIAR entries matching words in their titles, authors, imagesets, citations and
        linked maps and models, best first: 'ribosome', 'Arabidopsis root', '"nuclear pore"'."""
        match = fts_query(query)
        if match is None:
            return []
        return await rows(
            database(),
            f"select {ENTRY_COLUMNS} from empiar_entries where rowid in (select rowid from "
            "empiar_entries_fts where empiar_entries_fts match ? order by rank limit ?)",
            [match, _limit(limit)],
        )

    @mcp.tool(annotations=READ_ONLY)
    async def get_entry(accession: str) -> dict[str, Any]:
        """One EMPIAR entry (EMPIAR-10442) with its EMDB maps and PDB models."""
        db = database()
        entry = await rows(
            db, f"select {ENTRY_COLUMNS} from empiar_entries where accession = ?", [accession]
        )
        if not entry:
            return {"error": f"no EMPIAR entry {accession} in the mirror"}

        def linked(conn) -> tuple[list[str], list[str]]:
            return (
                links.linked(conn, EMPIAR, EMDB, [accession]).get(accession, []),
                links.linked(conn, EMPIAR, PDB, [accession]).get(accession, []),
            )

        maps, models = await db.execute_fn(linked)
        return {
            **entry[0],
            "maps": await by_ids(db, "emdb_maps", "emdb_id", maps, MAP_COLUMNS),
            "models": await by_ids(db, "pdb_models", "pdb_id", models, MODEL_COLUMNS),
        }

    @mcp.tool(annotations=READ_ONLY)
    async def list_entry_files(accession: str) -> list[dict[str, Any]]:
        """The image sets of an EMPIAR entry: what each holds (category, format, how many images
        and of what size), and its directory on EMPIAR's file server."""
        prefix = f"empiar:{accession}/imageset/"
        return await rows(
            database(),
            "select title, x_empiar_category as category, x_data_format as format, "
            "x_num_images_or_tilt_series as images, x_frames_per_image as frames_per_image, "
            "x_image_width as width, x_image_height as height, x_pixel_width as pixel_size_a, "
            "file_path as directory from data_file where id >= ? and id < ? order by id",
            [prefix, prefix[:-1] + "0"],
        )

    @mcp.tool(annotations=READ_ONLY)
    async def find_datasets(
        method: str | None = None,
        max_resolution_a: float | None = None,
        detector: str | None = None,
        microscope: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """EMPIAR entries for reprocessing or benchmarks, best resolution first. `method`:
        single_particle_analysis, subtomogram_averaging, electron_tomography,
        helical_reconstruction, electron_crystallography; `detector` and `microscope` match
        families or names (K3, Falcon 4, Titan Krios)."""
        conditions, params = ["status is not 'OBS'"], []
        if method:
            conditions.append("experimental_method = ?")
            params.append(method)
        if max_resolution_a is not None:
            conditions.append("resolution_best_a <= ?")
            params.append(max_resolution_a)
        for column, value in (("detector", detector), ("microscope", microscope)):
            if value:
                conditions.append(f"({column}s like ? or {column}_families like ?)")
                params += [f"%{value}%", f"%{value}%"]
        return await rows(
            database(),
            f"select {ENTRY_COLUMNS} from empiar_entries where {' and '.join(conditions)} "
            "order by resolution_best_a is null, resolution_best_a limit ?",
            [*params, _limit(limit)],
        )
