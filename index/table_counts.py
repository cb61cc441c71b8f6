"""`table_counts`: how many rows each table held at the last refresh, written by every harvest
and reindex, so that the portal's home page reads what it shows in one query instead of
counting every table of a live file on each visit."""

from __future__ import annotations

from sqlite_utils import Database


def counted_tables(db: Database) -> list[str]:
    """The tables a reader browses: not SQLite's own, nor the shadow tables behind a full-text
    index (the index itself is counted), nor this one."""
    shadows = ("_data", "_idx", "_docsize", "_config", "_content")
    fts = {n for n in db.table_names() if n.endswith("_fts")}
    return [
        n
        for n in db.table_names()
        if not n.startswith("sqlite_")
        and n != "table_counts"
        and not any(n == f"{t}{s}" for t in fts for s in shadows)
    ]


def write(db: Database) -> None:
    """Count every table again; call inside a transaction."""
    db.execute("delete from table_counts")
    for name in counted_tables(db):
        db.execute(
            "insert into table_counts (table_name, row_count) values (?, ?)",
            [name, db.execute(f"select count(*) from [{name}]").fetchone()[0]],
        )
