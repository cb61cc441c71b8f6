"""The rules, where they live: in-memory files written by the store, the schedule policy as pure
functions, and the front doors built from the rows."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from conftest import backup_copy
from sqlite_utils import Database

from empiar_mirror.harvester import schedule
from empiar_mirror.harvester.archives import MAPPERS
from empiar_mirror.harvester.replay import SAMPLE_DIR
from empiar_mirror.index import front_doors, migrations, reading, shared, store
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.record import Mapped

AT = "2026-01-01T00:00:00Z"


@pytest.fixture
def db() -> Database:
    db = Database(memory=True)
    migrations.migrations.apply(db)
    return db


def sample(source: str, accession: str) -> Mapped:
    folder = {"empiar": "empiar", "emdb": "emdb", "pdb": "rcsb/entry"}[source]
    data = json.loads((SAMPLE_DIR / folder / f"{accession}.json").read_text())
    return MAPPERS[source](data, accession)


def write(db: Database, *mapped: Mapped) -> None:
    for m in mapped:
        with db.atomic():
            store.write_record(db, m, AT)


def rows(db: Database, sql: str, params=()) -> list[tuple]:
    return db.execute(sql, params).fetchall()


# Ownership and shared rows ---------------------------------------------------------------


def shared_person_record(source: str, name: str, email: str | None) -> Mapped:
    dataset_id = f"{source}:X-{name}"
    person = lb.Person(
        id="https://orcid.org/0000-0002-1825-0097", full_name=name, email=email, title=name
    )
    study = lb.Study(id=f"{dataset_id}/study", dataset_id=dataset_id)
    link = lb.StudyPersonAssociation(study_id=study.id, person_id=person.id, role="author")
    dataset = lb.Dataset(id=dataset_id, x_source=source)
    key = {"empiar": "accession", "emdb": "emdb_id", "pdb": "pdb_id"}[source]
    return Mapped(
        source, f"X-{name}", dataset_id, [dataset, study, person, link], {key: f"X-{name}"}
    )


def test_a_shared_person_merges_the_same_whatever_the_order(db):
    a = shared_person_record("empiar", "Ødegård T", "t@example.org")
    b = shared_person_record("pdb", "Odegard, T.", None)
    write(db, a, b)
    first = rows(db, "select full_name, email from person")
    other = Database(memory=True)
    migrations.migrations.apply(other)
    write(other, b, a)
    assert rows(other, "select full_name, email from person") == first
    # EMPIAR's accented name wins over PDB's ASCII folding; a missing value never wins.
    assert first == [("Ødegård T", "t@example.org")]


def test_a_removed_record_takes_its_values_with_it(db):
    a = shared_person_record("empiar", "Ødegård T", None)
    b = shared_person_record("pdb", "Odegard, T.", "t@example.org")
    write(db, a, b)
    assert rows(db, "select full_name, email from person") == [("Ødegård T", "t@example.org")]
    # The EMPIAR record is rewritten without that person: PDB's values are all that is left.
    with db.atomic():
        store.write_record(
            db, Mapped(a.source, a.accession, a.dataset_id, a.records[:2], a.front_door), AT
        )
    assert rows(db, "select full_name, email from person") == [("Odegard, T.", "t@example.org")]


def random_shared_record(rng: random.Random, index: int) -> Mapped:
    """A record naming some of a few shared rows, with values drawn from small pools (gaps,
    blanks and clashes included), so that records often disagree on a field."""
    source = ("empiar", "emdb", "pdb")[index % 3]
    accession = f"R-{index}"
    dataset_id = f"{source}:{accession}"

    def pick(*values):
        return rng.choice([None, "", *values])

    records: list = [
        lb.Dataset(id=dataset_id, x_source=source),
        lb.Study(id=f"{dataset_id}/study", dataset_id=dataset_id),
    ]
    for pid in rng.sample(["https://orcid.org/1", "https://orcid.org/2"], rng.randint(0, 2)):
        records.append(
            lb.Person(id=pid, full_name=pick("Ødegård T", "Odegard, T."), email=pick("t@x.org"))
        )
    if rng.random() < 0.7:
        records.append(
            lb.Organization(id="org:lmb", title=pick("MRC LMB", "LMB"), country=pick("UK"))
        )
    if rng.random() < 0.8:
        records.append(
            lb.Publication(
                id="doi:10.1/x",
                title=pick("Sub-2 Å", "Sub-2 A"),
                volume=pick("12", "13"),
                page_first=pick("100", "99"),
                page_last=pick("110"),
                year=rng.choice([None, 2020, 2021]),
                authors=rng.choice([[], ["A"], ["A", "B"]]),
            )
        )
    key = {"empiar": "accession", "emdb": "emdb_id", "pdb": "pdb_id"}[source]
    return Mapped(source, accession, dataset_id, records, {key: accession})


SHARED_STATE = [
    "select * from person order by id",
    "select * from organization order by id",
    "select * from publication order by id",
    "select * from publication_author order by publication_id, position",
    "select * from shared_supplier order by table_name, id",
]


@pytest.mark.parametrize("seed", range(25))
def test_shared_rows_kept_up_to_date_equal_the_rows_merged_afresh(seed):
    """Records written, rewritten and rewritten without their shared rows, in a random order:
    the rows updated one contribution at a time equal those of a file given only the final
    versions, in another order. Halfway, the merge keys go, as in a file from before they were
    kept: the rows they lack are rebuilt when next touched."""
    rng = random.Random(seed)
    incremental = Database(memory=True)
    migrations.migrations.apply(incremental)
    final: dict[int, Mapped] = {}
    for step in range(40):
        if step == 20:
            incremental.execute("delete from shared_supplier")
        index = rng.randrange(8)
        final[index] = random_shared_record(rng, index)
        write(incremental, final[index])
    afresh = Database(memory=True)
    migrations.migrations.apply(afresh)
    write(afresh, *rng.sample(list(final.values()), len(final)))
    for sql in SHARED_STATE:
        assert rows(incremental, sql) == rows(afresh, sql), sql


def test_pages_come_from_the_most_complete_record_and_titles_by_source():
    merged = shared.merge(
        [
            (
                "pdb",
                "pdb:1ABC",
                {
                    "title": "Sub-2 Angstrom cryo-EM",
                    "volume": "12",
                    "page_first": "100",
                    "page_last": "110",
                },
            ),
            ("empiar", "empiar:EMPIAR-1", {"title": "Sub-2 Å cryo-EM", "volume": "12"}),
            ("emdb", "emdb:EMD-1", {"title": None, "page_first": "99"}),
        ]
    )
    assert merged == {
        "title": "Sub-2 Å cryo-EM",
        "volume": "12",
        "page_first": "100",
        "page_last": "110",
    }


def test_rewriting_a_record_replaces_only_its_own_rows(db):
    entry, other = sample("empiar", "EMPIAR-10442"), sample("empiar", "EMPIAR-90010")
    write(db, entry, other)
    owned = "select count(*) from data_file where id >= ? and id < ?"
    prefix = "empiar:EMPIAR-10442/"
    assert rows(db, owned, (prefix, prefix[:-1] + "0"))[0][0] > 0
    # The record comes back without imagesets: its old ones go, the other entry's stay.
    fewer = Mapped(
        entry.source,
        entry.accession,
        entry.dataset_id,
        [r for r in entry.records if not isinstance(r, lb.DataFile | lb.Image)],
        entry.front_door,
    )
    before_other = rows(db, "select id from data_file where id like 'empiar:EMPIAR-90010/%'")
    persons = rows(db, "select count(*) from person")[0][0]
    with db.atomic():
        store.write_record(db, fewer, AT)
    assert rows(db, owned, (prefix, prefix[:-1] + "0"))[0][0] == 0
    assert rows(db, "select id from data_file where id like 'empiar:EMPIAR-90010/%'") == (
        before_other
    )
    assert rows(db, "select count(*) from person")[0][0] == persons


# Listing state ---------------------------------------------------------------------------


def hold(db: Database, *accessions: str) -> None:
    for acc in accessions:
        fetched = store.Fetched("empiar", acc, "u", 200)
        with db.atomic():
            store.save_source(db, fetched, "x", AT)


def test_an_absence_counts_only_when_both_listings_answered(db):
    hold(db, "EMPIAR-10001", "EMPIAR-10002")
    store.record_listing(db, {"EMPIAR-10001": None}, complete=False)
    assert store.load_fetch_state(db).listing.get("EMPIAR-10002") is None
    store.record_listing(db, {"EMPIAR-10001": None}, complete=True)
    store.record_listing(db, {"EMPIAR-10001": None}, complete=True)
    assert store.load_fetch_state(db).listing["EMPIAR-10002"].missing_runs == 2


def test_a_withdrawn_entry_listed_again_is_lifted_and_its_front_door_marked(db):
    hold(db, "EMPIAR-10002")
    store.record_listing(db, {}, complete=True)
    store.mark_withdrawn(db, "EMPIAR-10002", "not public", "2026-01-02")
    db.execute("delete from front_door_stale")
    assert store.record_listing(db, {"EMPIAR-10002": "2026-01-03T10:00"}, complete=True)
    listing = store.load_fetch_state(db).listing["EMPIAR-10002"]
    assert (listing.missing_runs, listing.withdrawn_on) == (0, None)
    assert front_doors.is_stale(db)


# The schedule policy ---------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC)


def held(**kw) -> store.FetchState:
    return store.FetchState(
        fetched_at=kw.get("fetched_at", {}),
        failed=kw.get("failed", set()),
        unmapped=set(),
        listing=kw.get("listing", {}),
        validators=kw.get("validators", {}),
    )


def stamp(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_new_failed_and_old_records_are_due_and_fresh_ones_are_not():
    policy = schedule.Policy(now=NOW)
    state = held(
        fetched_at={("emdb", "EMD-1"): stamp(0.1), ("emdb", "EMD-2"): stamp(8)},
        failed={("emdb", "EMD-3")},
    )
    state.fetched_at[("emdb", "EMD-3")] = stamp(0.1)
    assert schedule.due(policy, state, "emdb", "EMD-9")  # new
    assert schedule.due(policy, state, "emdb", "EMD-2")  # older than the refresh window
    assert schedule.due(policy, state, "emdb", "EMD-3")  # failed since its fetch
    assert not schedule.due(policy, state, "emdb", "EMD-1")  # fetched this morning
    assert schedule.due(schedule.Policy(full=True, now=NOW), state, "emdb", "EMD-1")
    assert schedule.due(schedule.Policy(explicit=True, now=NOW), state, "emdb", "EMD-1")


def test_a_listing_change_or_a_suspected_withdrawal_makes_an_entry_due():
    policy = schedule.Policy(now=NOW)
    fetched = {("empiar", a): stamp(0.1) for a in ("EMPIAR-1", "EMPIAR-2", "EMPIAR-3")}
    state = held(
        fetched_at=fetched,
        listing={
            "EMPIAR-1": store.Listing("2026-02-28T10:00", "2026-02-27T10:00"),
            "EMPIAR-2": store.Listing(missing_runs=2),
            "EMPIAR-3": store.Listing(missing_runs=2, withdrawn_on="2026-02-01"),
        },
    )
    assert schedule.empiar_due(policy, state, "EMPIAR-1")
    assert schedule.empiar_due(policy, state, "EMPIAR-2")
    assert not schedule.empiar_due(policy, state, "EMPIAR-3")  # already found withdrawn
    assert schedule.withdrawal_suspect(state, "EMPIAR-2")


def test_validators_are_sent_except_on_a_full_run():
    state = held(validators={("empiar", "EMPIAR-1"): {"If-None-Match": '"a"'}})
    assert schedule.conditional(schedule.Policy(), state, "empiar", "EMPIAR-1") == {
        "If-None-Match": '"a"'
    }
    assert schedule.conditional(schedule.Policy(full=True), state, "empiar", "EMPIAR-1") == {}


def test_the_rolling_refresh_spreads_records_over_the_window():
    fetched = stamp(2)
    due_days = {
        d
        for d in range(7)
        if schedule.refresh_due("EMPIAR-10442", fetched, 7, NOW + dt.timedelta(days=d))
    }
    assert len(due_days) >= 1 and not schedule.refresh_due("EMPIAR-10442", stamp(0.2), 7, NOW)


def test_a_fetch_stamped_in_the_future_is_due():
    # A run whose clock was ahead: never re-checking such a record would hold it forever.
    for days in (0.01, 0.6, 3, 400):
        assert schedule.refresh_due("EMPIAR-10442", stamp(-days), 7, NOW)


# Front doors -----------------------------------------------------------------------------


def test_front_doors_gather_linked_records_and_clear_their_marks(db):
    write(db, sample("empiar", "EMPIAR-90010"), sample("emdb", "EMD-90010"))
    write(db, sample("pdb", "9Z01"))
    assert front_doors.is_stale(db)
    with db.atomic():
        assert front_doors.refresh(db) > 0
    assert not front_doors.is_stale(db)
    ((best, maps, models, linked),) = rows(
        db,
        "select resolution_best_a, emdb_ids, pdb_ids, linked_text from empiar_entries "
        "where accession = 'EMPIAR-90010'",
    )
    ((resolution,),) = rows(db, "select resolution_a from emdb_maps where emdb_id = 'EMD-90010'")
    assert best == resolution and "EMD-90010" in json.loads(maps)
    assert "9Z01" in json.loads(models) and "EMD-90010" in linked
    assert rows(db, "select empiar_ids from emdb_maps where emdb_id = 'EMD-90010'") == [
        ('["EMPIAR-90010"]',)
    ]
    # Nothing changed since: a second refresh writes nothing.
    with db.atomic():
        assert front_doors.refresh(db) == 0


GATHERED = [
    "select * from empiar_entries order by accession",
    "select * from emdb_maps order by emdb_id",
    "select * from pdb_models order by pdb_id",
    "select * from empiar_emdb order by 1, 2",
    "select * from emdb_pdb order by 1, 2",
    "select * from metadata_check order by accession, rule",
]


def test_a_refresh_range_by_range_gathers_what_one_pass_does(harvested_db, tmp_path, monkeypatch):
    """The refresh reads the entries a range at a time (its memory stays bounded): ranges of
    two entries give the file one pass over the sample gave, link by link and check by check."""
    db = Database(backup_copy(harvested_db, tmp_path / "ranges.db"))
    before = {sql: rows(db, sql) for sql in GATHERED}
    with db.atomic():
        db.execute(
            "update empiar_entries set pdb_ids = null, completeness = null, technique = null"
        )
        db.execute("update emdb_maps set empiar_ids = null")
        db.execute("update pdb_models set emdb_ids = null, empiar_ids = null")
        for table in ("empiar_emdb", "emdb_pdb", "metadata_check"):
            db.execute(f"delete from {table}")
    monkeypatch.setattr(reading, "ENTRIES_PER_RANGE", 2)
    assert len(list(reading.accession_ranges(db))) > 10
    with db.atomic():
        assert front_doors.refresh(db) > 0
    for sql, expected in before.items():
        assert rows(db, sql) == expected, sql


@pytest.mark.parametrize("odd", ["5", '"EMD-90010"', "[1, null]", "{", '{"a": 1}'])
def test_one_odd_list_cell_does_not_stop_the_refresh(harvested_db, tmp_path, odd):
    """A JSON-list column holding something else reads as an empty list: the refresh finishes
    and every other entry is gathered as before."""
    db = Database(backup_copy(harvested_db, tmp_path / "odd.db"))
    before = rows(db, "select accession, pdb_ids from empiar_entries order by accession")
    with db.atomic():
        db.execute(
            "update empiar_entries set emdb_ids = ?, detectors = ? "
            "where accession = 'EMPIAR-10045'",
            [odd, odd],
        )
        front_doors.refresh(db)
    after = rows(db, "select accession, pdb_ids from empiar_entries order by accession")
    assert [r for r in after if r[0] != "EMPIAR-10045"] == [
        r for r in before if r[0] != "EMPIAR-10045"
    ]


def test_a_refresh_that_never_committed_is_finished_by_the_next(db):
    write(db, sample("empiar", "EMPIAR-90010"), sample("emdb", "EMD-90010"))
    db.conn.commit()
    # A kill during the refresh: its transaction rolls back, the marks stay.
    with pytest.raises(KeyboardInterrupt):
        with db.atomic():
            front_doors.refresh(db)
            raise KeyboardInterrupt
    assert front_doors.is_stale(db)
    with db.atomic():
        front_doors.refresh(db)
    assert rows(
        db,
        "select resolution_best_a is not null from empiar_entries where accession = 'EMPIAR-90010'",
    ) == [(1,)]
