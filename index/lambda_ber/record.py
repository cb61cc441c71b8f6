"""The write contract between a mapping and the store: what one archive record contributes, and
the relations its cross references state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from empiar_mirror.index.lambda_ber import models as lb

# Cross-reference descriptions that say how two records are related (lambda-ber's
# DatabaseCrossReference has no relation slot; its PDB loader writes it in `description`).
# `index/archives.py` declares which of them link records of two archives (the graph).
SELF = "this entry"
RELATED_EMDB = "related EMDB entry"
RELATED_PDB = "related PDB entry"
FITTED_MODEL = "fitted model"
ASSOCIATED_MAP = "associated EM volume"
REPLACES = "replaces this obsolete entry"
# Stated by an obsolete model's own front door (`replaced_by`), not by a cross reference.
REPLACED_BY = "replaced by"


@dataclass
class Mapped:
    """Everything one archive record contributes to the database.

    `records` are lambda-ber rows owned by `dataset_id` (or shared, with global ids);
    `front_door` is its own columns in its archive's front-door table. A source of figures
    about another archive's records (`index/validation.py`) fills `rows` instead of `records`:
    plain rows of its own tables, table -> rows.
    """

    source: str
    accession: str
    dataset_id: str
    records: list[lb._Model]
    front_door: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def distinct(values) -> list:
    """The values in first-seen order, without repeats, None or empty strings."""
    seen: dict = {}
    for v in values:
        if v is not None and v != "":
            seen.setdefault(v, None)
    return list(seen)
