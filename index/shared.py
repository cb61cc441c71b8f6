"""Rows several records share (a person by ORCID, a publication by DOI, an organisation by name),
merged from what each record said of them.

Every record's version of a shared row is kept as its contribution; the row itself is recomputed
from the contributions whenever one arrives or goes, so it depends on which records the file
holds, never on the order they came in, and a record's removal takes its values with it.

The merge rule, field by field (documented in the README's table guide):
- names, titles and other text come from the richest source first: EMPIAR, then EMDB, then PDB
  (whose ASCII-folded names, `Odegard, T.`, lose to `Ødegård T`);
- counts and pages (`volume`, `issue`, `page_first`, `page_last`, `year`) come from the most
  complete contribution (the one giving most of them), then by the same source order;
- the first contribution in that order that has a value gives it; ties between records of one
  source go to the smaller owner id, so the result is always the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index.archives import MERGE_PRIORITY

SHARED_TABLES = ("person", "publication", "organization")
# Publication fields taken from the most complete record rather than by source.
COMPLETENESS_FIELDS = ("volume", "issue", "page_first", "page_last", "year")
# A shared row's child list, kept inside its contribution: publication -> its authors.
AUTHORS = "_authors"
# Rows a file held before contributions were kept: they fill gaps, every record outranks them.
LEGACY = "legacy"


def _rank(source: str) -> int:
    return MERGE_PRIORITY.index(source) if source in MERGE_PRIORITY else len(MERGE_PRIORITY)


def merge(contributions: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """(source, owner id, row) contributions -> the merged row. Pure and order-free."""
    by_source = sorted(contributions, key=lambda c: (_rank(c[0]), c[1]))

    def completeness(c: tuple[str, str, dict[str, Any]]) -> int:
        return sum(c[2].get(f) is not None for f in COMPLETENESS_FIELDS)

    by_completeness = sorted(by_source, key=completeness, reverse=True)
    merged: dict[str, Any] = {}
    for field in dict.fromkeys(f for c in by_source for f in c[2]):
        order = by_completeness if field in COMPLETENESS_FIELDS else by_source
        merged[field] = next(
            (c[2][field] for c in order if c[2].get(field) not in (None, "", [])), None
        )
    return merged


def contribute(
    db: Database, source: str, owner_id: str, table: str, rows: list[dict[str, Any]]
) -> set[tuple[str, str]]:
    """Record what one record says of these shared rows; returns the rows to recompute."""
    db.conn.executemany(
        "insert or replace into shared_contribution (table_name, id, owner_id, source, row) "
        "values (?, ?, ?, ?, ?)",
        [
            (table, row["id"], owner_id, source, json.dumps(row, ensure_ascii=False))
            for row in rows
        ],
    )
    return {(table, row["id"]) for row in rows}


def withdraw(db: Database, dataset_id: str) -> set[tuple[str, str]]:
    """Remove the contributions of a record (its dataset id and the paths below it)."""
    bounds = [dataset_id, dataset_id + "0"]  # '0' follows '/': one index range
    touched = set(
        db.execute(
            "select table_name, id from shared_contribution where owner_id >= ? and owner_id < ?",
            bounds,
        ).fetchall()
    )
    db.execute("delete from shared_contribution where owner_id >= ? and owner_id < ?", bounds)
    return touched


def recompute(db: Database, rows: Iterable[tuple[str, str]]) -> None:
    """Rewrite each shared row from its contributions; a row nobody contributes goes."""
    for table, row_id in sorted(rows):
        contributions = [
            (source, owner, json.loads(row))
            for source, owner, row in db.execute(
                "select source, owner_id, row from shared_contribution "
                "where table_name = ? and id = ?",
                [table, row_id],
            )
        ]
        if table == "publication":
            db.execute("delete from publication_author where publication_id = ?", [row_id])
        if not contributions:
            db.execute(f"delete from [{table}] where id = ?", [row_id])
            continue
        merged = merge(contributions)
        authors = merged.pop(AUTHORS, None) or []
        columns = list(merged)
        db.execute(
            "insert or replace into [{}] ({}) values ({})".format(
                table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
            ),
            [merged[c] for c in columns],
        )
        db.conn.executemany(
            "insert into publication_author (publication_id, position, name) values (?, ?, ?)",
            [(row_id, i, name) for i, name in enumerate(authors, start=1)],
        )
