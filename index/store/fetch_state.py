"""What the file says of each record's fetching, read once at the start of a run: what the
schedule decides from, and the validators its requests send."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from empiar_mirror.index.archives import EMPIAR
from empiar_mirror.index.store.listing import Listing
from empiar_mirror.index.store.runs import UNMAPPABLE_KINDS


@dataclass
class FetchState:
    """What the file holds about each record, for deciding what a run fetches."""

    fetched_at: dict[tuple[str, str], str]
    # Records with an error since their last fetch (or never fetched whole), and those of them
    # whose stored payload could not be mapped.
    failed: set[tuple[str, str]]
    unmapped: set[tuple[str, str]]
    listing: dict[str, Listing]  # EMPIAR's, by accession
    # Conditional-request headers, read up front: fetches never touch the database.
    validators: dict[tuple[str, str], dict[str, str]]


def load_fetch_state(db: Database) -> FetchState:
    failed = db.execute(
        "select e.source, e.accession, e.kind in (?, ?) from harvest_errors e "
        "left join source_record s on s.source = e.source and s.accession = e.accession "
        # A record that landed with values set aside is not fetched again for it.
        "where e.accession is not null and e.kind != 'value-set-aside' "
        "and (s.fetched_at is null or e.occurred_at >= s.fetched_at)",
        list(UNMAPPABLE_KINDS),
    ).fetchall()
    # A model answered 404 whose holdings were not asked since (a kill came between): the
    # answer that names its successor is still to come.
    failed += db.execute(
        "select s.source, s.accession, 0 from source_record s left join source_record h "
        "on h.source = 'pdb_holdings' and h.accession = s.accession "
        "where s.source = 'pdb' and s.http_status in (404, 410) "
        "and (h.fetched_at is null or h.fetched_at < s.fetched_at)"
    ).fetchall()
    return FetchState(
        fetched_at={
            (source, acc): at
            for source, acc, at in db.execute(
                "select source, accession, fetched_at from source_record"
            )
        },
        failed={(source, acc) for source, acc, _ in failed},
        unmapped={(source, acc) for source, acc, unmappable in failed if unmappable},
        listing={
            acc: Listing(listed, fetched, missing, withdrawn)
            for acc, listed, fetched, missing, withdrawn in db.execute(
                "select accession, listing_mtime, fetched_mtime, missing_runs, withdrawn_on "
                "from listing_state where archive = ?",
                [EMPIAR.key],
            )
        },
        validators={
            (source, acc): {
                k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v
            }
            for source, acc, etag, modified in db.execute(
                "select source, accession, etag, last_modified from source_record "
                "where sha256 is not null and (etag is not null or last_modified is not null)"
            )
        },
    )
