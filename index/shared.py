"""Rows several records share (a person by ORCID, a publication by DOI, an organisation by name),
merged from what each record said of them.

Every record's version of a shared row is kept as its contribution; the row depends on which
records the file holds, never on the order they came in, and a record's removal takes its values
with it.

The merge rule, field by field (documented in the README's table guide):
- names, titles and other text come from the richest source first: EMPIAR, then EMDB, then PDB
  (whose ASCII-folded names, `Odegard, T.`, lose to `Ødegård T`);
- counts and pages (`volume`, `issue`, `page_first`, `page_last`, `year`) come from the most
  complete contribution (the one giving most of them), then by the same source order;
- the first contribution in that order that has a value gives it; ties between records of one
  source go to the smaller owner id, so the result is always the same.

That order is a key per contribution and field, so the merged row keeps, per field, the key of
the contribution that gave its value (`shared_supplier`). A new contribution then costs one
comparison per field; only the withdrawal of a contribution that gave a value rebuilds the row
from all of them. A row an organisation shares with thousands of records stays cheap to touch.
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

Row = tuple[str, str]  # (table, id)
Keys = dict[str, list]  # field -> the key of the contribution that gives its value


def _rank(source: str) -> int:
    return MERGE_PRIORITY.index(source) if source in MERGE_PRIORITY else len(MERGE_PRIORITY)


def _has_value(value: Any) -> bool:
    return value not in (None, "", [])


def _keys(source: str, owner_id: str, row: dict[str, Any]) -> Keys:
    """Where this contribution stands, field by field, among the givers of a value (smaller
    first); fields it gives no value for are absent."""
    by_source = [_rank(source), owner_id]
    complete = -sum(row.get(f) is not None for f in COMPLETENESS_FIELDS)
    return {
        field: [complete, *by_source] if field in COMPLETENESS_FIELDS else by_source
        for field, value in row.items()
        if _has_value(value)
    }


def _merge(contributions: Iterable[tuple[str, str, dict[str, Any]]]) -> tuple[dict, Keys]:
    merged: dict[str, Any] = {}
    keys: Keys = {}
    for source, owner_id, row in contributions:
        for field in row:
            merged.setdefault(field, None)
        for field, key in _keys(source, owner_id, row).items():
            if field not in keys or key < keys[field]:
                merged[field], keys[field] = row[field], key
    return merged, keys


def merge(contributions: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """(source, owner id, row) contributions -> the merged row. Pure and order-free."""
    return _merge(contributions)[0]


def withdraw(db: Database, dataset_id: str) -> dict[Row, tuple[str, str]]:
    """Remove the contributions of a record (its dataset id and the paths below it); returns
    what each said, as stored, for `contribute` to weigh against what the record says now."""
    bounds = [dataset_id, dataset_id + "0"]  # '0' follows '/': one index range
    said = {
        (table, row_id): (owner_id, row)
        for table, row_id, owner_id, row in db.execute(
            "select table_name, id, owner_id, row from shared_contribution "
            "where owner_id >= ? and owner_id < ?",
            bounds,
        )
    }
    db.execute("delete from shared_contribution where owner_id >= ? and owner_id < ?", bounds)
    return said


def contribute(
    db: Database,
    source: str,
    owner_id: str,
    rows: dict[str, list[dict[str, Any]]],
    withdrawn: dict[Row, tuple[str, str]],
) -> None:
    """Record what one record says of its shared rows (table -> rows), after `withdraw` took
    back what it said before, and bring each shared row it touches up to date."""
    said = {
        (table, row["id"]): json.dumps(row, ensure_ascii=False)
        for table, table_rows in rows.items()
        for row in table_rows
    }
    db.conn.executemany(
        "insert or replace into shared_contribution (table_name, id, owner_id, source, row) "
        "values (?, ?, ?, ?, ?)",
        [(table, row_id, owner_id, source, text) for (table, row_id), text in said.items()],
    )
    for shared_row in sorted(said.keys() | withdrawn.keys()):
        before = withdrawn.get(shared_row)
        now = said.get(shared_row)
        if before is not None and before == (owner_id, now):
            continue  # the record says what it said: nothing moves
        keys = _supplier_keys(db, shared_row)
        withdrawn_gave = before is not None and any(
            key[-1] == before[0] for key in (keys or {}).values()
        )
        if keys is None or withdrawn_gave:
            _rebuild(db, shared_row)
        elif now is not None:
            _offer(db, shared_row, keys, source, owner_id, json.loads(now))
        elif not _contributed(db, shared_row):
            _rebuild(db, shared_row)  # nobody left: the row goes


def _supplier_keys(db: Database, shared_row: Row) -> Keys | None:
    found = db.execute(
        "select keys from shared_supplier where table_name = ? and id = ?", shared_row
    ).fetchone()
    return json.loads(found[0]) if found else None


def _contributed(db: Database, shared_row: Row) -> bool:
    return (
        db.execute(
            "select 1 from shared_contribution where table_name = ? and id = ? limit 1",
            shared_row,
        ).fetchone()
        is not None
    )


def _offer(
    db: Database, shared_row: Row, keys: Keys, source: str, owner_id: str, row: dict[str, Any]
) -> None:
    """One more contribution to a row that has its keys: it gives the fields it outranks."""
    own = _keys(source, owner_id, row)
    changes = {f: row[f] for f, key in own.items() if f not in keys or key < keys[f]}
    if not changes:
        return
    keys.update({f: own[f] for f in changes})
    table, row_id = shared_row
    authors = changes.pop(AUTHORS, None)
    if changes:
        db.execute(
            "update [{}] set {} where id = ?".format(
                table, ", ".join(f"[{c}] = ?" for c in changes)
            ),
            [*changes.values(), row_id],
        )
    if authors is not None:
        _write_authors(db, row_id, authors)
    _write_keys(db, shared_row, keys)


def _write_keys(db: Database, shared_row: Row, keys: Keys) -> None:
    db.execute(
        "insert or replace into shared_supplier (table_name, id, keys) values (?, ?, ?)",
        [*shared_row, json.dumps(keys, ensure_ascii=False, sort_keys=True)],
    )


def _write_authors(db: Database, publication_id: str, authors: list[str]) -> None:
    db.execute("delete from publication_author where publication_id = ?", [publication_id])
    db.conn.executemany(
        "insert into publication_author (publication_id, position, name) values (?, ?, ?)",
        [(publication_id, i, name) for i, name in enumerate(authors, start=1)],
    )


def _rebuild(db: Database, shared_row: Row) -> None:
    """Rewrite a shared row from all its contributions; a row nobody contributes goes."""
    table, row_id = shared_row
    merged, keys = _merge(
        (source, owner, json.loads(row))
        for source, owner, row in db.execute(
            "select source, owner_id, row from shared_contribution where table_name = ? and id = ?",
            shared_row,
        )
    )
    if not merged:
        db.execute(f"delete from [{table}] where id = ?", [row_id])
        db.execute("delete from shared_supplier where table_name = ? and id = ?", shared_row)
        if table == "publication":
            _write_authors(db, row_id, [])
        return
    authors = merged.pop(AUTHORS, None) or []
    columns = list(merged)
    db.execute(
        "insert or replace into [{}] ({}) values ({})".format(
            table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
        ),
        [merged[c] for c in columns],
    )
    if table == "publication":
        _write_authors(db, row_id, authors)
    _write_keys(db, shared_row, keys)
