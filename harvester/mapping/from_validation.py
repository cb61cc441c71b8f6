"""An EMDB map's validation figures (the canonical document of `harvester/raw/validation.py`)
as the columns they fill on `emdb_maps` and the rows of `emdb_model_fits`. Pure."""

from __future__ import annotations

import json
from typing import Any

from empiar_mirror.index import validation
from empiar_mirror.index.archives import EMDB
from empiar_mirror.index.lambda_ber.record import Mapped


def _number(value: Any) -> float | None:
    # The stored document is ours, but a version kept by an older build may differ: only numbers.
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def map_figures(doc: dict[str, Any], accession: str) -> Mapped:
    """The figures of one map; raises ValueError for a document about no map."""
    emdb_id = doc.get("emdb_id")
    if not isinstance(emdb_id, str) or not EMDB.id_pattern.fullmatch(emdb_id):
        raise ValueError(f"not a figures document for an EMDB map: {str(emdb_id)[:40]!r}")
    figures = doc.get("figures") if isinstance(doc.get("figures"), dict) else {}
    columns = {c: _number(figures.get(c)) for c in validation.FIGURE_COLUMNS}
    stated = _number(figures.get("stated_resolution_a"))
    gap = validation.resolution_gap(stated, columns["recalc_fsc_corrected_0143_a"])
    absent = doc.get("absent") if isinstance(doc.get("absent"), dict) else {}
    front_door = {
        EMDB.key_column: emdb_id,
        **columns,
        "resolution_gap_a": gap,
        "resolution_gap_bin": validation.gap_bin(gap),
        "validation_notes": json.dumps(
            {str(k): str(v) for k, v in sorted(absent.items())}, ensure_ascii=False
        )
        if absent
        else None,
    }
    fits = []
    for position, fit in enumerate(doc.get("fits") or []):
        if not isinstance(fit, dict) or not isinstance(fit.get("pdb_id"), str):
            continue
        fits.append(
            {
                "emdb_id": emdb_id,
                "pdb_id": fit["pdb_id"],
                "model_index": str(fit.get("model_index", position)),
                "map_model_fsc_05_a": _number(fit.get("map_model_fsc_05_a")),
                "qscore_average": _number(fit.get("qscore_average")),
                "atom_inclusion": _number(fit.get("atom_inclusion")),
            }
        )
    return Mapped(
        validation.SOURCE,
        emdb_id,
        f"{EMDB.curie(emdb_id)}/validation",
        [],
        front_door,
        {validation.FITS_TABLE: fits},
    )
