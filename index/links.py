"""The link table, `record_link`: each link a record states, read from its mapped record by the
declared graph (`archives.LINKS`), written and replaced with the record. The front doors' id
lists, the link tables, the row pages, exports and the harvest's next fetches read it here.

Readers take anything with `execute(sql, params)`: a sqlite-utils Database or the sqlite3
connection Datasette lends."""

from __future__ import annotations

import json
from collections import defaultdict

from empiar_mirror.index.archives import LINKS, THROUGH, Archive, Link
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.record import REPLACED_BY, REPLACES, Mapped, distinct

_BY_REFERENCE = {(link.source.key, link.relation): link for link in LINKS if not link.column}
_BY_COLUMN = [link for link in LINKS if link.column]


def stated(mapped: Mapped) -> list[tuple[Link, str]]:
    """The links a record states, in its order: its study's cross references the graph declares,
    then its front-door columns that name a record."""
    study = f"{mapped.dataset_id}/study"
    found = [
        (link, ref.database_id)
        for record in mapped.records
        if isinstance(record, lb.Study) and record.id == study
        for ref in record.database_cross_references
        # The relation says the archive: a new one needs no value of DatabaseNameEnum.
        if (link := _BY_REFERENCE.get((mapped.source, ref.description)))
    ]
    found += [
        (link, value)
        for link in _BY_COLUMN
        if link.source.key == mapped.source and (value := mapped.front_door.get(link.column))
    ]
    return found


def write(db, mapped: Mapped, *, replace: bool) -> None:
    """The record's links, replacing those it stated before. Call inside its transaction."""
    if replace:
        db.execute(
            "delete from record_link where from_archive = ? and from_accession = ?",
            [mapped.source, mapped.accession],
        )
    positions: dict[tuple[str, str, str], int] = {}
    for link, target in stated(mapped):
        positions.setdefault((link.relation, link.target.key, target), len(positions))
    db.conn.executemany(
        "insert into record_link (from_archive, from_accession, relation, to_archive, "
        "to_accession, position) values (?, ?, ?, ?, ?, ?)",
        [(mapped.source, mapped.accession, *key, pos) for key, pos in positions.items()],
    )


def named(db, archive: Archive, accessions: list[str], relation: str) -> list[str]:
    """Ids the given records name with this relation, in order, each once."""
    found = db.execute(
        "select to_accession from record_link where from_archive = ? and from_accession in "
        "(select value from json_each(?)) and relation = ? order by from_accession, position",
        [archive.key, json.dumps(accessions), relation],
    )
    return distinct(r[0] for r in found)


def neighbours(archive: Archive) -> list[Archive]:
    """The other archives whose records link to this one's, either way, in the graph's order."""
    found = [
        other
        for link in LINKS
        for other in (link.target if link.source is archive else link.source,)
        if archive in (link.source, link.target) and other is not archive
    ]
    return distinct(found)


def _direct(db, a: Archive, b: Archive, only: list[str] | None):
    """a's records -> b's ids they name (in order), and b's ids that name them."""
    own: dict[str, list[str]] = defaultdict(list)
    named_by: dict[str, set[str]] = defaultdict(set)
    for source, target, into in ((a, b, own), (b, a, named_by)):
        relations = [
            link.relation for link in LINKS if (link.source, link.target) == (source, target)
        ]
        if not relations:
            continue
        at = "from_accession" if into is own else "to_accession"
        where = "" if only is None else f" and {at} in (select value from json_each(?))"
        rows = db.execute(
            "select from_accession, to_accession from record_link where from_archive = ? "
            "and to_archive = ? and relation in (select value from json_each(?))"
            f"{where} order by from_accession, position",
            [source.key, target.key, json.dumps(relations)]
            + ([] if only is None else [json.dumps(only)]),
        )
        for frm, to in rows:
            if into is own:
                own[frm].append(to)
            else:
                named_by[to].add(frm)
    return own, named_by


def linked(db, a: Archive, b: Archive, only: list[str] | None = None) -> dict[str, list[str]]:
    """For each record of `a` (all, or those in `only`), the ids of `b`'s records linked to it
    either way, or through the archive between them: those it names first, in its order, then
    the others by id."""
    own, others = _direct(db, a, b, only)
    via = THROUGH.get(frozenset((a.key, b.key)))
    if via is not None:
        first = linked(db, a, via, only)
        middle = sorted({m for ms in first.values() for m in ms})
        second = linked(db, via, b, None if only is None else middle)
        for x, ms in first.items():
            others[x].update(y for m in ms for y in second.get(m, ()))
    return {
        x: distinct([*own.get(x, ()), *sorted(others.get(x, ()))])
        for x in sorted(own.keys() | others.keys())
    }


def replaced(db, archive: Archive, accession: str) -> list[str]:
    """The records this one replaced, as either says it."""
    return [
        r[0]
        for r in db.execute(
            "select from_accession from record_link where to_archive = ? and to_accession = ? "
            "and from_archive = ? and relation = ? union select to_accession from record_link "
            "where from_archive = ? and from_accession = ? and to_archive = ? and relation = ? "
            "order by 1",
            [archive.key, accession, archive.key, REPLACED_BY]
            + [archive.key, accession, archive.key, REPLACES],
        )
    ]
