"""What a run fetches: new records, changed ones, failed ones, a rolling re-check of the rest, and
the entries that may have been withdrawn. Pure functions of what the file says of each record's
fetching (`FetchState`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from empiar_mirror.index.store import FetchState

# An entry missing from both listings on this many runs in a row is checked for withdrawal.
MISSING_RUNS_BEFORE_CHECK = 2
# One run finding more than this share of the held entries withdrawn, and more than this many,
# is more likely looking at a broken archive than at real withdrawals (see too_many_withdrawals).
WITHDRAWAL_GUARD_SHARE = 0.05
WITHDRAWAL_GUARD_COUNT = 10


@dataclass(frozen=True)
class Policy:
    full: bool = False  # every record, unconditionally
    explicit: bool = False  # the user named the records: fetch them whatever their age
    refresh_days: int = 7
    now: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def refresh_due(accession: str, fetched_at: str, refresh_days: int, now: dt.datetime) -> bool:
    """Whether a held record is due for its rolling re-check.

    Every record is fetched again once it is `refresh_days` old; meanwhile each day re-checks
    the 1/refresh_days of the records whose stable bucket falls on it, so a nightly run spreads
    the re-checks evenly instead of refetching the whole archive once a week."""
    age = (now - dt.datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))).total_seconds()
    age_days = age / 86400
    # A fetch time in the future was stamped by a clock that was ahead: it says nothing.
    if age_days >= refresh_days or age_days < 0:
        return True
    bucket = int(hashlib.sha1(accession.encode()).hexdigest(), 16) % refresh_days
    # Half a day: a record fetched on this run's day is not fetched again by a later run.
    return age_days >= 0.5 and bucket == now.toordinal() % refresh_days


def due(policy: Policy, state: FetchState, source: str, accession: str) -> bool:
    """A record is fetched when it is new, failed since its last fetch, or due again."""
    if policy.full or policy.explicit:
        return True
    fetched_at = state.fetched_at.get((source, accession))
    if fetched_at is None or (source, accession) in state.failed:
        return True
    return refresh_due(accession, fetched_at, policy.refresh_days, policy.now)


def withdrawal_suspect(state: FetchState, accession: str) -> bool:
    """Missing from both listings on runs in a row, and not yet found withdrawn."""
    listing = state.listing.get(accession)
    return (
        listing is not None
        and listing.missing_runs >= MISSING_RUNS_BEFORE_CHECK
        and listing.withdrawn_on is None
    )


def too_many_withdrawals(withdrawn: int, held: int) -> bool:
    """Whether finding `withdrawn` of the `held` entries withdrawn in one run is too many to
    believe: empty listings and an API answering 404 to everything look just like a mass
    withdrawal. Then none is marked (the pipeline records why)."""
    return withdrawn > WITHDRAWAL_GUARD_COUNT and withdrawn > WITHDRAWAL_GUARD_SHARE * held


def empiar_due(policy: Policy, state: FetchState, accession: str) -> bool:
    """An entry is also fetched when the listing shows a change since our copy, or when it may
    have been withdrawn (its answer then confirms it)."""
    listing = state.listing.get(accession)
    if listing and listing.listing_mtime and listing.listing_mtime != listing.fetched_mtime:
        return True
    return due(policy, state, "empiar", accession) or withdrawal_suspect(state, accession)


def conditional(policy: Policy, state: FetchState, source: str, accession: str) -> dict[str, str]:
    """The validators to send: none on a full run, which must refetch everything."""
    return {} if policy.full else state.validators.get((source, accession), {})


def _instant(stamp: str) -> dt.datetime:
    """An ISO date or time, naive ones taken as UTC, a bare date as its first instant."""
    when = dt.datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def figures_due(
    policy: Policy,
    figures_fetched_at: str | None,
    map_changed_at: str | None,
    failed: bool,
    validation_date: str | None = None,
) -> bool:
    """A map's validation figures are fetched when never fetched, failed since, or older than
    the map's version in use (its update moved), or than EMDB's last validation of it
    (`validation_date`, from the holdings file where the file has it; None otherwise). No
    rolling re-check: the figures change only with the map or its validation."""
    if policy.full or policy.explicit or figures_fetched_at is None or failed:
        return True
    fetched = _instant(figures_fetched_at)
    for stamp in (map_changed_at, validation_date):
        try:
            if stamp and _instant(stamp) > fetched:
                return True
        except ValueError:
            continue  # a date we cannot read says nothing
    return False


def listed_due(
    policy: Policy,
    state: FetchState,
    source: str,
    accession: str,
    moved: set[str],
    settled: set[str],
) -> bool:
    """With an archive's holdings file read (`harvest --emdb all`): a record the file shows
    changed, or whose held document was never checked against it (`moved`), is due; one it
    shows unchanged (`settled`) is not, unless it failed since; any other, by `due`. The file
    replaces the rolling re-check for the records it lists."""
    if policy.full or policy.explicit or accession in moved:
        return True
    if accession in settled:
        return (source, accession) in state.failed
    return due(policy, state, source, accession)
