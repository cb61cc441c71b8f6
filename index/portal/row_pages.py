"""What a front door's row page shows beyond the row: the records it links, and for an entry its
imagesets, people and publications."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from datasette.utils import tilde_encode

from empiar_mirror.index import history, links, validation
from empiar_mirror.index.archives import BY_FRONT_DOOR
from empiar_mirror.index.lambda_ber.record import REPLACED_BY
from empiar_mirror.index.portal import database
from empiar_mirror.index.portal.links import ORCID, TABLE_PK
from empiar_mirror.index.reading import json_list

HISTORY_SHOWN = 20
MOLECULES_SHOWN = 30
# Linked records listed on a row page, per archive: a map named by 10,000 entries would make a
# page of megabytes whose rendering holds the event loop, and everyone's pages with it. The
# rest are a link away, on the other front door filtered to this record.
RELATED_SHOWN = 100
# What a row page lists of each archive's linked records (others: id, title and status).
RELATED_COLUMNS = {
    "empiar": "accession, title, experiment_type, release_date, resolution_best_a",
    "emdb": "emdb_id, title, status, method, resolution_a, microscope, detector, voltage_kv",
    "pdb": "pdb_id, title, status, method, resolution_a, replaced_by",
}


async def row_details(db, table: str, pk: str) -> dict | None:
    """What a front door's row page shows beyond the row: the records linked to it, one section
    per linked archive, as `record_link` says."""
    rows = await database.rows(db, f"select * from {table} where {TABLE_PK[table]} = ?", [pk])
    if not rows:
        return None
    record = rows[0]
    archive = BY_FRONT_DOOR[table]
    # Built from the id, not read from the row: an href must never come from archive text.
    out = {
        "table": table,
        "record": record,
        "archive_url": archive.page(pk),
        "archive_name": archive.name,
        "noun": archive.noun,
        "kind": archive.key,
    }

    def related(conn) -> dict:
        return {
            "linked": [
                (other, links.linked(conn, archive, other, [pk]).get(pk, []))
                for other in links.neighbours(archive)
            ],
            "replaces": links.replaced(conn, archive, pk),
            "successors": links.named(conn, archive, [pk], REPLACED_BY),
        }

    read = await db.execute_fn(related)
    out["related"] = [
        {
            "kind": other.key,
            "title": other.records,
            "key": other.key_column,
            "total": len(ids),
            "rows": await database.by_ids(
                db,
                other.front_door,
                other.key_column,
                ids[:RELATED_SHOWN],
                RELATED_COLUMNS.get(other.key, f"{other.key_column}, title, status"),
            ),
            # The other front door's list of this archive's ids is the same links.
            "all_url": db.ds.urls.table(db.name, other.front_door)
            + "?"
            + urlencode({f"{archive.ids_column}__arraycontains": pk}),
        }
        for other, ids in read["linked"]
        if ids
    ]
    out["replaces"] = read["replaces"]
    out["history"] = await db.execute_fn(
        lambda conn: history.changes(conn, source=archive.key, accession=pk, limit=HISTORY_SHOWN)
    )
    out["successors"] = read["successors"]
    # A map's molecules, or an entry's from its maps: a ribosome's eighty shown in part.
    molecules = json_list(record.get("molecules"))
    out["molecules"] = molecules[:MOLECULES_SHOWN]
    out["more_molecules"] = len(molecules) - len(out["molecules"])
    if table == "empiar_entries":
        out.update(await _entry_details(db, record))
    if table in ("emdb_maps", "pdb_models"):
        out.update(await _validation(db, table, record))
    return out


# What a validation note names, as a reader says it.
_FIGURE_WORDS = {
    "stated_resolution_a": "stated resolution",
    "recalc_fsc_0143_a": "FSC 0.143",
    "recalc_fsc_05_a": "FSC 0.5",
    "recalc_fsc_halfbit_a": "FSC half-bit",
    "recalc_fsc_masked_0143_a": "masked FSC 0.143",
    "recalc_fsc_corrected_0143_a": "corrected FSC 0.143",
    "recommended_contour_level": "recommended contour level",
}


async def _validation(db, table: str, record: dict) -> dict:
    """EMDB's validation figures of a map's fits (or a model's, in each map it is fitted into)
    and, for a map, why a figure is missing."""
    key = "emdb_id" if table == "emdb_maps" else "pdb_id"
    fits = await database.rows(
        db,
        f"select emdb_id, pdb_id, map_model_fsc_05_a, qscore_average, atom_inclusion "
        f"from {validation.FITS_TABLE} where {key} = ? order by emdb_id, model_index",
        [record[key]],
    )
    try:
        notes = json.loads(record.get("validation_notes") or "{}")
    except ValueError:
        notes = {}
    shown = [
        (_FIGURE_WORDS.get(figure, figure), why)
        for figure, why in (notes.items() if isinstance(notes, dict) else [])
    ]
    return {"fits": fits, "validation_notes": shown}


async def _files(db, record: dict) -> list[dict] | None:
    """The entry's files per directory: counts, bytes and roles (None until listed)."""
    if not record.get("files_listed_at"):
        return None
    # Grouped by directory and role in SQL, so a large entry costs one pass over its key range.
    grouped = await database.rows(
        db,
        "select rtrim(path, replace(path, '/', '')) as folder, role, count(*) as n, "
        "sum(size_bytes) as bytes from empiar_file where accession = ? and removed_on is null "
        "group by folder, role order by folder, n desc",
        [record["accession"]],
    )
    folders: dict[str, dict] = {}
    for row in grouped:
        folder = folders.setdefault(
            row["folder"].rstrip("/"), {"files": 0, "bytes": 0, "roles": []}
        )
        folder["files"] += row["n"]
        folder["bytes"] += row["bytes"] or 0
        folder["roles"].append((row["role"], row["n"]))
    return [{"path": path, "size": human_size(f["bytes"]), **f} for path, f in folders.items()]


def human_size(size: int | None) -> str:
    """Bytes in decimal units, as EMPIAR states dataset sizes: 77578934284 -> '77.6 GB'."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""


async def _entry_details(db, record: dict) -> dict:
    accession = record["accession"]
    study = f"empiar:{accession}/study"
    prefix = f"empiar:{accession}/imageset/"
    imagesets = await database.rows(
        db,
        "select id, title, x_empiar_category, x_data_format, x_num_images_or_tilt_series, "
        "x_frames_per_image, x_image_width, x_image_height, x_pixel_width, file_path "
        # A range over the primary key rather than LIKE, so the index answers it.
        "from data_file where id >= ? and id < ? "
        "order by cast(substr(id, ?) as integer)",
        [prefix, prefix[:-1] + "0", len(prefix) + 1],
    )
    for imageset in imagesets:
        imageset["row_path"] = tilde_encode(imageset["id"])
    people = await database.rows(
        db,
        "select p.id, p.full_name, p.orcid, p.affiliation, sp.role, sp.author_position "
        "from study_person sp join person p on p.id = sp.person_id where sp.study_id = ? "
        "order by sp.author_position, p.full_name",
        [study],
    )
    for person in people:
        match = ORCID.fullmatch((person["orcid"] or "").strip())
        person["orcid_id"] = match.group(1) if match else None
    publications = await database.rows(
        db,
        "select p.*, sp.is_primary from study_publication sp "
        "join publication p on p.id = sp.publication_id where sp.study_id = ? "
        "order by sp.is_primary desc, p.year",
        [study],
    )
    for publication in publications:
        names = await database.rows(
            db,
            "select name from publication_author where publication_id = ? order by position",
            [publication["id"]],
        )
        publication["authors"] = [n["name"] for n in names]
        publication["doi"] = (publication["doi"] or "").removeprefix("doi:") or None
        pmid = (publication["pubmed_id"] or "").removeprefix("pmid:")
        publication["pmid"] = pmid if pmid.isdigit() else None
    return {
        "imagesets": imagesets,
        "files": await _files(db, record),
        "files_size": human_size(record.get("file_bytes")),
        "gaps": json.loads(record.get("reprocessing_gaps") or "[]"),
        "authors": [p for p in people if p["role"] == "author"],
        "contacts": [p for p in people if p["role"] == "contact"],
        "investigators": [p for p in people if p["role"] == "principal_investigator"],
        "publications": publications,
    }
