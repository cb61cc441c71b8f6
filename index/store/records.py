"""A record's rows and its fetch state: written whole in the record's transaction, replaced
whole when it changes, and what the harvest reads back of them."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index import front_doors, links, shared, validation, versions
from empiar_mirror.index.archives import ARCHIVES, Archive
from empiar_mirror.index.lambda_ber.record import Mapped
from empiar_mirror.index.store.runs import ErrorRow, record_error

# How the rows one entry owns are found again when it is rewritten: by this column, holding the
# entry's dataset id or a path id below it. Shared rows (people by ORCID, publications by DOI,
# organisations) are upserted instead and never deleted here.
_OWNED_BY = {
    "dataset": "id",
    "study": "id",
    "study_keyword": "study_id",
    "database_cross_reference": "owner_id",
    "person_organization": "person_id",
    "study_person": "study_id",
    "study_publication": "study_id",
    "study_organization": "study_id",
    "study_experiment": "study_id",
    "experiment_run": "id",
    "additional_property": "owner_id",
    "additional_metric": "owner_id",
    "data_file": "id",
    "image": "id",
    "data_collection_strategy": "experiment_id",
    "quality_metrics": "experiment_id",
    "sample": "id",
    "buffer_composition": "sample_id",
    "buffer_component": "sample_id",
    "protein": "id",
    "nucleic_acid": "id",
    "small_molecule": "id",
    "sample_component": "id",
    "sample_preparation": "id",
    "cryoem_preparation": "preparation_id",
    "instrument": "id",
    "workflow_run": "id",
    "refinement_parameters": "workflow_id",
    "particle_picking_parameters": "workflow_id",
    "study_sample": "study_id",
    "experiment_sample": "experiment_id",
    "experiment_instrument": "experiment_id",
    "study_workflow": "study_id",
    # Links between archives: owned by the record that stated them, named in x_owner.
    "workflow_experiment": "x_owner",
    "workflow_input": "x_owner",
    "workflow_output": "x_owner",
}
NORMALIZED_TABLES = [
    *_OWNED_BY,
    *shared.SHARED_TABLES,
    "publication_author",
    "shared_contribution",
    "shared_supplier",
    "record_link",
    *(a.front_door for a in ARCHIVES.values()),
    validation.FITS_TABLE,
]


@dataclass
class Fetched:
    """What the fetch layer got for one record, as source_record keeps it."""

    source: str
    accession: str
    url: str
    http_status: int
    etag: str | None = None
    last_modified: str | None = None


def in_use(db: Database, source: str, accession: str) -> str | None:
    """The hash of the version the record's rows come from."""
    row = db.execute(
        "select sha256 from source_record where source = ? and accession = ?", [source, accession]
    ).fetchone()
    return row[0] if row else None


def touch(db: Database, fetched: Fetched, at: str) -> None:
    """Unchanged record: only its fetch time, validators and its version's last-served move."""
    with db.atomic():
        db.execute(
            "update source_record set fetched_at = ?, http_status = ?, "
            "etag = coalesce(?, etag), last_modified = coalesce(?, last_modified) "
            "where source = ? and accession = ?",
            [
                at,
                fetched.http_status,
                fetched.etag,
                fetched.last_modified,
                fetched.source,
                fetched.accession,
            ],
        )
        db.execute(
            "update record_version set last_served = ? where (source, accession, sha256) = "
            "(select source, accession, sha256 from source_record where source = ? "
            "and accession = ?)",
            [at, fetched.source, fetched.accession],
        )


def save_not_public(db: Database, fetched: Fetched, at: str) -> None:
    """A 404: remember it; a copy fetched while it was public is kept, never erased."""
    with db.atomic():
        db.execute(
            "insert into source_record (source, accession, url, fetched_at, changed_at, "
            "http_status) values (?, ?, ?, ?, ?, ?) on conflict (source, accession) do update set "
            "fetched_at = excluded.fetched_at, http_status = excluded.http_status",
            [fetched.source, fetched.accession, fetched.url, at, at, fetched.http_status],
        )


def save_source(db: Database, fetched: Fetched, sha256: str, at: str) -> None:
    """The record is now built from version `sha256`: its fetch state, and its change time when
    the version is another. Call inside a transaction."""
    db.execute(
        "insert into source_record (source, accession, url, fetched_at, changed_at, "
        "http_status, etag, last_modified, sha256) values (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "on conflict (source, accession) do update set url = excluded.url, "
        "fetched_at = excluded.fetched_at, http_status = excluded.http_status, "
        "etag = excluded.etag, last_modified = excluded.last_modified, "
        "changed_at = iif(sha256 is excluded.sha256, changed_at, excluded.changed_at), "
        "sha256 = excluded.sha256",
        [
            fetched.source,
            fetched.accession,
            fetched.url,
            at,
            at,
            fetched.http_status,
            fetched.etag,
            fetched.last_modified,
            sha256,
        ],
    )


def save_fetched_only(db: Database, fetched: Fetched, at: str) -> None:
    """An answer that is not used: the record was fetched, and nothing else of it moves (its
    validators stay those of the version in use, so the next request is not answered 304)."""
    db.execute(
        "insert into source_record (source, accession, url, fetched_at, http_status) "
        "values (?, ?, ?, ?, ?) on conflict (source, accession) do update set "
        "fetched_at = excluded.fetched_at, http_status = excluded.http_status",
        [fetched.source, fetched.accession, fetched.url, at, fetched.http_status],
    )


@functools.cache
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    # Built once per table layout: every record writes the same few dozen.
    return "insert or replace into [{}] ({}) values ({})".format(
        table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
    )


def _insert_rows(db: Database, table: str, rows: list[dict[str, Any]]) -> None:
    columns = tuple(rows[0])
    db.conn.executemany(_insert_sql(table, columns), [[r.get(c) for c in columns] for r in rows])


def _delete_owned(db: Database, dataset_id: str) -> None:
    # One index range covers the dataset id and every path id below it ('0' follows '/').
    for table, column in _OWNED_BY.items():
        db.execute(
            f"delete from [{table}] where [{column}] >= ? and [{column}] < ?",
            [dataset_id, dataset_id + "0"],
        )


def write_record(db: Database, mapped: Mapped, changed_at: str, *, replace: bool = True) -> None:
    """Replace everything one archive record contributes. Call inside a transaction.

    `replace=False` is for a record the file has never held: there is nothing to remove."""
    if mapped.source == validation.SOURCE:
        # Figures about a map, not an archive's record: its columns and rows only.
        validation.write(db, mapped.front_door, mapped.rows)
        return
    withdrawn = shared.withdraw(db, mapped.dataset_id) if replace else {}
    if replace:
        _delete_owned(db, mapped.dataset_id)
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in mapped.records:
        for table, row in record.rows():
            by_table[table].append(row)
    # A publication's authors travel inside its contribution: the merged row picks one list.
    authors: dict[str, list[str]] = defaultdict(list)
    for row in sorted(by_table.pop("publication_author", []), key=lambda r: r["position"]):
        authors[row["publication_id"]].append(row["name"])
    for row in by_table.get("publication", []):
        row[shared.AUTHORS] = authors.get(row["id"], [])
    shared.contribute(
        db,
        mapped.source,
        mapped.dataset_id,
        {table: by_table.pop(table, []) for table in shared.SHARED_TABLES},
        withdrawn,
    )
    for table, rows in by_table.items():
        if rows:
            _insert_rows(db, table, rows)
    links.write(db, mapped, replace=replace)
    front_doors.write_own(db, ARCHIVES[mapped.source], mapped.front_door, changed_at)


def save_record(
    db: Database,
    fetched: Fetched,
    version: tuple[str, str],
    mapped: Mapped,
    at: str,
    *,
    replace: bool = True,
) -> None:
    """A version (hash, payload) that maps, and the rows it maps to. Call inside the record's
    transaction: a kill leaves all of it or none."""
    sha256, payload = version
    versions.keep(db, fetched.source, fetched.accession, sha256, payload, at, maps=True)
    save_source(db, fetched, sha256, at)
    write_record(db, mapped, at, replace=replace)


def save_unmappable(
    db: Database, fetched: Fetched, version: tuple[str, str], at: str, run_id: int, error: ErrorRow
) -> None:
    """A version we could not map or write: kept beside the version in use, with the error, for
    the next run or `reindex` to try again. The record's rows stay those of the version in use."""
    sha256, payload = version
    with db.atomic():
        versions.keep(
            db,
            fetched.source,
            fetched.accession,
            sha256,
            payload,
            at,
            maps=False,
            error=error.message,
        )
        versions.drop_older_unmappable(db, fetched.source, fetched.accession, sha256)
        save_fetched_only(db, fetched, at)
        record_error(db, run_id, error)


def clear_normalized(db: Database) -> None:
    """Empty every table that is rebuilt from source_record (call inside a transaction)."""
    for table in NORMALIZED_TABLES:
        db.execute(f"delete from [{table}]")
    # The search indexes follow by trigger; every front door is recomputed after.
    db.execute("delete from front_door_stale")


def front_door_accessions(db: Database, archive: Archive) -> list[str]:
    """Records of this archive the file holds a front-door row for."""
    return [
        r[0]
        for r in db.execute(
            f"select [{archive.key_column}] from [{archive.front_door}] "
            f"order by [{archive.key_column}]"
        )
    ]


def dataset_status(db: Database, archive: Archive, accession: str) -> str | None:
    """The status the archive served for a record (its Dataset's x_status)."""
    row = db.execute(
        "select x_status from dataset where id = ?", [archive.curie(accession)]
    ).fetchone()
    return row[0] if row else None


def has_front_door(db: Database, archive: Archive, accession: str) -> bool:
    return bool(
        db.execute(
            f"select 1 from [{archive.front_door}] where [{archive.key_column}] = ?", [accession]
        ).fetchone()
    )


def http_status(db: Database, source: str, accession: str) -> int | None:
    """The status of the record's last answer."""
    row = db.execute(
        "select http_status from source_record where source = ? and accession = ?",
        [source, accession],
    ).fetchone()
    return row[0] if row else None


def changed_at(db: Database, source: str, accession: str) -> str | None:
    row = db.execute(
        "select changed_at from source_record where source = ? and accession = ?",
        [source, accession],
    ).fetchone()
    return row[0] if row else None


def not_public_without_front_door(db: Database, archive: Archive) -> list[tuple[str, str]]:
    """(accession, changed_at) of records last answered 404 that have no front-door row."""
    return db.execute(
        "select accession, changed_at from source_record where source = ? and sha256 is null "
        "and http_status in (404, 410) "
        f"and accession not in (select [{archive.key_column}] from [{archive.front_door}])",
        [archive.key],
    ).fetchall()
