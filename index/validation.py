"""EMDB's validation figures in the file: columns of `emdb_maps` and the table of fits of a
model into a map (`emdb_model_fits`), written by the `emdb_validation` source alone.

One source, whichever route gave a figure: the search route's CSV gives a map's resolutions
many maps per request, the analysis route its recommended contour level and the figures of each
fitted model, and both are EMDB's validation analysis of one version of the map, redone
together when the map or the analysis changes. Kept as one document per map, a figure keeps one
history and one fetch state; as two sources, a map's figures could come from two analyses.

The figures land on the map's row when the file holds it (an UPDATE: they never create a map
row); the map's own mapping writes only its own columns, so they survive its rewrites."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

SOURCE = "emdb_validation"
FITS_TABLE = "emdb_model_fits"
# Columns of emdb_maps the figures fill, besides the gap, its bin and the notes.
FIGURE_COLUMNS = (
    "recalc_fsc_0143_a",
    "recalc_fsc_05_a",
    "recalc_fsc_halfbit_a",
    "recalc_fsc_masked_0143_a",
    "recalc_fsc_corrected_0143_a",
    "recommended_contour_level",
)
MAP_COLUMNS = (*FIGURE_COLUMNS, "resolution_gap_a", "resolution_gap_bin", "validation_notes")

# Recalculated minus stated resolution, in Å: positive is worse than stated.
GAP_BINS = ((0.0, "≤ 0 Å"), (0.5, "0–0.5 Å"), (1.0, "0.5–1 Å"), (2.0, "1–2 Å"))
LAST_GAP_BIN = "> 2 Å"
GAP_BIN_ORDER = (*(label for _, label in GAP_BINS), LAST_GAP_BIN)


def resolution_gap(stated: float | None, recalculated: float | None) -> float | None:
    """How much worse (Å) EMDB's masked, phase-randomisation-corrected FSC 0.143 resolution is
    than the authors' stated one: the recalculation closest to how authors usually state it."""
    if stated is None or recalculated is None:
        return None
    return round(recalculated - stated, 3)


def gap_bin(gap: float | None) -> str | None:
    """Text bins for faceting; the upper bound is included: a gap of 0.5 is "0–0.5 Å"."""
    if gap is None:
        return None
    for limit, label in GAP_BINS:
        if gap <= limit:
            return label
    return LAST_GAP_BIN


def write(db: Database, front_door: dict[str, Any], rows: dict[str, list[dict]]) -> None:
    """Replace one map's figures and fits; call inside the record's transaction."""
    emdb_id = front_door["emdb_id"]
    values = {c: front_door.get(c) for c in MAP_COLUMNS}
    db.execute(
        "update emdb_maps set {} where emdb_id = ?".format(", ".join(f"[{c}] = ?" for c in values)),
        [*values.values(), emdb_id],
    )
    db.execute(f"delete from [{FITS_TABLE}] where emdb_id = ?", [emdb_id])
    fits = rows.get(FITS_TABLE, [])
    if fits:
        columns = list(fits[0])
        db.conn.executemany(
            "insert or replace into [{}] ({}) values ({})".format(
                FITS_TABLE, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
            ),
            [[f[c] for c in columns] for f in fits],
        )
