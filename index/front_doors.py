"""Columns of the front-door tables that gather several records: an EMPIAR entry's maps and
models, a map's EMPIAR entries, a model's maps. Recomputed from the stored rows after each
harvest; only rows whose values change are written."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from empiar_mirror.index.lambda_ber.record import ASSOCIATED_MAP, RELATED_PDB, distinct
from sqlite_utils import Database


def resolution_bin(resolution: float | None) -> str | None:
    """Text bins for faceting: [2, 3) is "2–3 Å"."""
    if resolution is None:
        return None
    for limit, label in ((2, "<2 Å"), (3, "2–3 Å"), (4, "3–4 Å"), (6, "4–6 Å"), (10, "6–10 Å")):
        if resolution < limit:
            return label
    return ">10 Å"


def _rows(db: Database, sql: str) -> list[dict[str, Any]]:
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _load(value: str | None) -> list:
    return json.loads(value) if value else []


def _own_links(db: Database, source: str, description: str) -> dict[str, list[str]]:
    """Accession -> ids its own record links to with this relation (study cross-references)."""
    links: dict[str, list[str]] = defaultdict(list)
    for owner, target in db.execute(
        "select owner_id, database_id from database_cross_reference where owner_table = 'study' "
        "and owner_id like ? and description = ? order by rowid",
        [f"{source}:%", description],
    ):
        links[owner.split(":", 1)[1].removesuffix("/study")].append(target)
    return links


def _update(db: Database, table: str, key: str, key_value: str, changes: dict[str, Any]) -> None:
    db.execute(
        "update [{}] set {} where [{}] = ?".format(
            table, ", ".join(f"[{c}] = ?" for c in changes), key
        ),
        [*changes.values(), key_value],
    )


def refresh(db: Database) -> int:
    """Recompute the gathered columns and the linked words in the entries' search index.

    Returns the number of rows changed. Call inside a transaction.
    """
    changed = 0
    maps = {m["emdb_id"]: m for m in _rows(db, "select * from emdb_maps")}
    models = {m["pdb_id"]: m for m in _rows(db, "select * from pdb_models")}
    empiar_pdb = _own_links(db, "empiar", RELATED_PDB)
    model_emdb = _own_links(db, "pdb", ASSOCIATED_MAP)

    empiar_by_map: dict[str, list[str]] = defaultdict(list)
    entries = _rows(
        db,
        "select e.rowid as rowid, e.*, f.linked as linked, d.x_status as served_status, "
        "l.gone_status as gone_status, l.gone_since as gone_since from empiar_entries e "
        "left join empiar_entries_fts f on f.rowid = e.rowid "
        "left join dataset d on d.id = 'empiar:' || e.accession "
        "left join listing_state l on l.accession = e.accession order by e.accession",
    )
    for entry in entries:
        linked_maps = [maps[i] for i in _load(entry["emdb_ids"]) if i in maps]
        for emd in _load(entry["emdb_ids"]):
            empiar_by_map[emd].append(entry["accession"])
        pdb_ids = distinct(
            [
                *empiar_pdb.get(entry["accession"], []),
                *(p for m in linked_maps for p in _load(m["pdb_ids"])),
            ]
        )
        resolutions = [m["resolution_a"] for m in linked_maps if m["resolution_a"] is not None]
        best = min(resolutions) if resolutions else None
        new = {
            # An entry confirmed gone keeps its last copy, marked with what was seen and when.
            "status": entry["gone_status"] or entry["served_status"],
            "disappeared_on": entry["gone_since"],
            "pdb_ids": json.dumps(pdb_ids),
            "resolution_best_a": best,
            "resolution_bin": resolution_bin(best),
            "methods": json.dumps(distinct(m["method"] for m in linked_maps)),
            "microscopes": json.dumps(distinct(m["microscope"] for m in linked_maps)),
            "detectors": json.dumps(distinct(m["detector"] for m in linked_maps)),
            "voltages_kv": json.dumps(distinct(m["voltage_kv"] for m in linked_maps)),
            "organisms": json.dumps(
                distinct(o for m in linked_maps for o in _load(m["organisms"])), ensure_ascii=False
            ),
            "sample_names": json.dumps(
                distinct(m["sample_name"] for m in linked_maps), ensure_ascii=False
            ),
            "software": json.dumps(
                distinct(s for m in linked_maps for s in _load(m["software"])), ensure_ascii=False
            ),
        }
        changes = {c: v for c, v in new.items() if entry[c] != v}
        if changes:
            _update(db, "empiar_entries", "accession", entry["accession"], changes)
            changed += 1
        words = [
            *(w for m in linked_maps for w in (m["emdb_id"], m["title"], m["sample_name"])),
            *(o for m in linked_maps for o in _load(m["organisms"])),
            *(w for p in pdb_ids for w in (p, (models.get(p) or {}).get("title"))),
        ]
        linked = "\n".join(w for w in words if w)
        if entry["rowid"] is not None and (entry["linked"] or "") != linked:
            db.execute(
                "update empiar_entries_fts set linked = ? where rowid = ?", [linked, entry["rowid"]]
            )

    fitted_in: dict[str, list[str]] = defaultdict(list)
    for emd, m in maps.items():
        for pdb in _load(m["pdb_ids"]):
            fitted_in[pdb].append(emd)
        value = json.dumps(sorted(empiar_by_map.get(emd, [])))
        if m["empiar_ids"] != value:
            _update(db, "emdb_maps", "emdb_id", emd, {"empiar_ids": value})
            changed += 1
    for pdb, model in models.items():
        emdb_ids = distinct([*model_emdb.get(pdb, []), *fitted_in.get(pdb, [])])
        new = {
            "emdb_ids": json.dumps(emdb_ids),
            "empiar_ids": json.dumps(
                sorted({a for e in emdb_ids for a in empiar_by_map.get(e, [])})
            ),
        }
        changes = {c: v for c, v in new.items() if model[c] != v}
        if changes:
            _update(db, "pdb_models", "pdb_id", pdb, changes)
            changed += 1
    return changed
