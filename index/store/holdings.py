"""What the archives' holdings files say, kept: EMDB's per map (`emdb_holdings`, its files in
`emdb_file`) and wwPDB's last-modification times (`pdb_last_modified`); and from them, which
records a `--emdb all` run fetches.

A file is read in one transaction: one that stops part way leaves nothing of itself behind.
Rows are written in batches (executemany); a map's file rows are rewritten only when its entry
in the file changed, and a kind whose list could not be read keeps the rows it had."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlite_utils import Database

from empiar_mirror.index.archives import ARCHIVES
from empiar_mirror.index.store.runs import ErrorRow, record_error

BATCH = 5000
# Error rows one file may add; past this a last row counts the rest.
PROBLEM_ROWS = 100
KIND = "holdings-entry"


@dataclass(frozen=True, slots=True)
class Problem:
    """One entry's problem: `accession` None when its id itself is the problem."""

    accession: str | None
    message: str


@dataclass(frozen=True, slots=True)
class MapHoldings:
    """One map as EMDB's holdings file lists it."""

    emdb_id: str
    entry_last_update: str | None
    validation_reports_last_update: str | None
    # (kind, file_name, md5_checksum, last_update)
    files: tuple[tuple[str, str, str | None, str | None], ...]
    digest: str  # of the entry as served: whether its file rows need rewriting
    # Kinds whose list could not be read (a string, say): their rows held are kept as they are.
    unreadable: tuple[str, ...] = ()


@dataclass
class Read:
    """What reading one holdings file found."""

    listed: int = 0
    problems: int = 0
    gone: list[str] = field(default_factory=list)  # listed before, not now (EMDB)


@dataclass
class _Problems:
    db: Database
    run_id: int
    source: str
    service: str
    url: str
    count: int = 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if self.count <= PROBLEM_ROWS:
            error = ErrorRow(
                self.source, problem.accession, KIND, problem.message, self.url,
                service=self.service,
            )  # fmt: skip
            record_error(self.db, self.run_id, error)

    def close(self) -> None:
        if self.count > PROBLEM_ROWS:
            message = f"and {self.count - PROBLEM_ROWS:,} more entries with problems"
            error = ErrorRow(self.source, None, KIND, message, self.url, service=self.service)
            record_error(self.db, self.run_id, error)


def save_emdb_holdings(
    db: Database,
    entries: Iterable[MapHoldings | Problem],
    run_id: int,
    day: str,
    url: str,
    service: str,
) -> Read:
    """Keep each map's facts and files; a map listed before and missing now is `gone` (not
    yet marked: the caller decides whether to believe it)."""
    read = Read()
    with db.atomic():
        problems = _Problems(db, run_id, "emdb_holdings", service, url)
        digests = dict(db.execute("select emdb_id, holdings_digest from emdb_holdings"))
        facts: list[tuple] = []
        rewritten: list[tuple[str, str]] = []
        files: list[tuple] = []

        def flush() -> None:
            db.conn.executemany(
                "insert into emdb_holdings (emdb_id, entry_last_update, "
                "validation_reports_last_update, file_count, holdings_digest, listed_run, "
                "listed_on) values (?, ?, ?, ?, ?, ?, ?) on conflict (emdb_id) do update set "
                "entry_last_update = excluded.entry_last_update, "
                "validation_reports_last_update = excluded.validation_reports_last_update, "
                "file_count = excluded.file_count, holdings_digest = excluded.holdings_digest, "
                "listed_run = excluded.listed_run, listed_on = excluded.listed_on, "
                "removed_on = null",
                facts,
            )
            db.conn.executemany(
                "delete from emdb_file where emdb_id = ? "
                "and kind not in (select value from json_each(?))",
                rewritten,
            )
            db.conn.executemany(
                "insert or replace into emdb_file (emdb_id, kind, file_name, md5_checksum, "
                "last_update) values (?, ?, ?, ?, ?)",
                files,
            )
            facts.clear()
            rewritten.clear()
            files.clear()

        for item in entries:
            if isinstance(item, Problem):
                problems.add(item)
                continue
            read.listed += 1
            facts.append(
                (
                    item.emdb_id,
                    item.entry_last_update,
                    item.validation_reports_last_update,
                    len(item.files),
                    item.digest,
                    run_id,
                    day,
                )
            )
            if digests.get(item.emdb_id) != item.digest:
                rewritten.append((item.emdb_id, json.dumps(item.unreadable)))
                files.extend((item.emdb_id, *f) for f in item.files)
            if len(facts) >= BATCH or len(files) >= 10 * BATCH:
                flush()
        flush()
        problems.close()
        read.problems = problems.count
        read.gone = [
            r[0]
            for r in db.execute(
                "select emdb_id from emdb_holdings where removed_on is null and listed_run <> ? "
                "order by emdb_id",
                [run_id],
            )
        ]
    return read


def mark_removed(db: Database, emdb_ids: list[str], day: str) -> None:
    """Maps gone from the holdings file: marked, never deleted (their files stay listed)."""
    with db.atomic():
        db.conn.executemany(
            "update emdb_holdings set removed_on = ? where emdb_id = ?",
            [(day, i) for i in emdb_ids],
        )


def listed_maps(db: Database) -> list[str]:
    """Every map the last holdings file listed."""
    return [
        r[0]
        for r in db.execute(
            "select emdb_id from emdb_holdings where removed_on is null order by emdb_id"
        )
    ]


def emdb_due(db: Database) -> tuple[set[str], set[str]]:
    """Listed maps whose document is to be fetched (new, changed since the one held, or never
    fetched against the file), and those whose document is as the file says."""
    return _moved_and_settled(
        db.execute(
            "select emdb_id, coalesce(fetched_update = entry_last_update, 0) from emdb_holdings "
            "where removed_on is null"
        )
    )


def _moved_and_settled(rows: Iterable[tuple[str, int]]) -> tuple[set[str], set[str]]:
    """(id, whether its held document is as the file says) -> those that are not, those that are."""
    moved, settled = set(), set()
    for accession, same in rows:
        (settled if same else moved).add(accession)
    return moved, settled


def emdb_fetched(db: Database, since: str) -> None:
    """Maps whose document this run fetched without error are held as of the file's date."""
    _held_as_listed(db, "emdb", "emdb_holdings", "fetched_update", "entry_last_update", since)


def _held_as_listed(
    db: Database, source: str, table: str, fetched: str, listed: str, since: str
) -> None:
    """`source`'s records fetched since `since` without an error: their `fetched` date in
    `table` becomes the file's `listed` one."""
    key = ARCHIVES[source].key_column
    with db.atomic():
        db.execute(
            f"update {table} set {fetched} = {listed} where {key} in "
            "(select accession from source_record where source = ? and fetched_at >= ?) "
            f"and {key} not in (select accession from harvest_errors where source = ? "
            "and accession is not null and occurred_at >= ?)",
            [source, since, source, since],
        )


def save_pdb_dates(
    db: Database,
    entries: Iterable[tuple[str, str] | Problem],
    run_id: int,
    url: str,
    service: str,
) -> Read:
    """Keep each released entry's last-modification time."""
    read = Read()
    with db.atomic():
        problems = _Problems(db, run_id, "pdb_last_modified", service, url)
        rows: list[tuple[str, str]] = []

        def flush() -> None:
            db.conn.executemany(
                "insert into pdb_last_modified (pdb_id, last_modified) values (?, ?) "
                "on conflict (pdb_id) do update set last_modified = excluded.last_modified "
                "where last_modified is not excluded.last_modified",
                rows,
            )
            rows.clear()

        for item in entries:
            if isinstance(item, Problem):
                problems.add(item)
                continue
            read.listed += 1
            rows.append(item)
            if len(rows) >= BATCH:
                flush()
        flush()
        problems.close()
        read.problems = problems.count
    return read


def pdb_due(db: Database) -> tuple[set[str], set[str]]:
    """Held models whose last-modification time moved since their fetch (or was never noted),
    and those whose document is as the file says."""
    return _moved_and_settled(
        db.execute(
            "select p.pdb_id, coalesce(p.fetched_last_modified = p.last_modified, 0) "
            "from pdb_last_modified p join source_record s on s.source = 'pdb' "
            "and s.accession = p.pdb_id"
        )
    )


def pdb_fetched(db: Database, since: str) -> None:
    """Models whose document this run fetched without error are held as of the file's time."""
    _held_as_listed(db, "pdb", "pdb_last_modified", "fetched_last_modified", "last_modified", since)
