"""What changed between two versions of a record, in the words a curator reads: a pure function
of the two mapped records, so the history never depends on how the file was written."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from empiar_mirror.index import validation
from empiar_mirror.index.lambda_ber.record import Mapped

# Front-door columns by the part of a record they show. A column not named here is its own part;
# the record's key, its links to its own pages and the harvest time are not parts at all.
_PARTS_OF_COLUMNS = {
    "title": ("title",),
    "status": ("status", "obsolete_date", "replaced_by"),
    "dates": ("deposition_date", "release_date", "update_date", "release_year"),
    "authors": ("authors", "corresponding_author"),
    "imagesets": (
        "imageset_count",
        "image_count",
        "categories",
        "data_formats",
        "pixel_size_min_a",
        "dataset_size",
        "dataset_size_bytes",
    ),
    "cross references": ("emdb_ids", "pdb_ids", "empiar_ids"),
    "citation": ("citation_title", "citation_doi", "citation_journal", "citation_year"),
    "resolution": ("resolution_a", "resolution_best_a", "resolution_bin"),
    "method": (
        "method",
        "experiment_type",
        "technique",
        "experimental_method",
        "own_technique_source",
        "methods",
        "simulated",
    ),
    "instruments": (
        "microscope",
        "detector",
        "voltage_kv",
        "microscope_family",
        "detector_family",
        "microscopes",
        "detectors",
        "voltages_kv",
        "microscope_families",
        "detector_families",
    ),
    "sample": ("sample_name", "sample_names", "organisms", "scale", "molecules"),
    "DOI": ("entry_doi",),
    # EMDB's validation of a map (index/validation.py), and of the models fitted into it.
    "validation figures": validation.MAP_COLUMNS,
}
PART_OF_COLUMN = {c: part for part, columns in _PARTS_OF_COLUMNS.items() for c in columns}
NOT_A_PART = frozenset(
    {"accession", "emdb_id", "pdb_id", "empiar_url", "emdb_url", "pdb_url", "changed_at"}
)

# The normalized tables by the part they hold, for what the front door does not show.
_PARTS_OF_TABLES = {
    "description": ("dataset", "study"),
    "keywords": ("study_keyword",),
    "authors": ("study_person", "person", "person_organization"),
    "citation": ("publication", "study_publication", "publication_author"),
    "organisations and grants": ("organization", "study_organization"),
    "cross references": ("database_cross_reference",),
    "imagesets": ("data_file", "image"),
    "experiments": ("experiment_run", "study_experiment", "data_collection_strategy"),
    "resolution": ("quality_metrics",),
    "sample": (
        "sample",
        "study_sample",
        "experiment_sample",
        "buffer_composition",
        "buffer_component",
        "sample_component",
        "protein",
        "nucleic_acid",
        "small_molecule",
        "sample_preparation",
        "cryoem_preparation",
    ),
    "instruments": ("instrument", "experiment_instrument"),
    "processing": (
        "workflow_run",
        "study_workflow",
        "refinement_parameters",
        "particle_picking_parameters",
        "workflow_experiment",
        "workflow_input",
        "workflow_output",
    ),
    "other details": ("additional_property", "additional_metric"),
}
PART_OF_TABLE = {t: part for part, tables in _PARTS_OF_TABLES.items() for t in tables}
PART_OF_TABLE[validation.FITS_TABLE] = "validation figures"
# The description part reads only these columns of dataset and study: the others are the front
# door's title, dates and status, named there.
_DESCRIPTION_COLUMNS = ("id", "description", "revision")


def _rows_by_table(mapped: Mapped) -> dict[str, set[str]]:
    # Rows that repeat the record's own title (its experiment's, say) leave it to the title part.
    title = mapped.front_door.get("title")
    tables: dict[str, set[str]] = defaultdict(set)
    for record in mapped.records:
        for table, row in record.rows():
            if table in ("dataset", "study"):
                row = {c: row.get(c) for c in _DESCRIPTION_COLUMNS}
            elif title is not None and row.get("title") == title:
                row = {c: v for c, v in row.items() if c != "title"}
            tables[table].add(json.dumps(row, sort_keys=True, default=str))
    for table, plain in mapped.rows.items():
        tables[table].update(json.dumps(row, sort_keys=True, default=str) for row in plain)
    return tables


def _front_door_parts(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {
        PART_OF_COLUMN.get(column, column)
        for column in old.keys() | new.keys()
        if column not in NOT_A_PART and old.get(column) != new.get(column)
    }


def changed_parts(old: Mapped, new: Mapped) -> list[str]:
    """The parts of a record that differ between two of its versions, sorted."""
    parts = _front_door_parts(old.front_door, new.front_door)
    old_rows, new_rows = _rows_by_table(old), _rows_by_table(new)
    for table in old_rows.keys() | new_rows.keys():
        if old_rows.get(table) != new_rows.get(table):
            parts.add(PART_OF_TABLE.get(table, table))
    return sorted(parts)
