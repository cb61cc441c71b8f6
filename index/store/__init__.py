"""Every statement that reads or writes the file, one module per job: the file itself
(`database`), a record's rows and fetch state (`records`), the listings (`listing`), runs and
errors (`runs`), and what a run reads to decide what is due (`fetch_state`). A record's versions
are `empiar_mirror.index.versions`, its links `empiar_mirror.index.links`.

Callers use `store.NAME`: the names below are the store's whole interface."""

from empiar_mirror.index.store.database import (
    DatabaseError,
    Locked,
    check_path,
    check_writable,
    errorname,
    is_locked,
    lock,
    now,
    open_database,
    open_readonly,
)
from empiar_mirror.index.store.fetch_state import FetchState, load_fetch_state
from empiar_mirror.index.store.listing import (
    Listing,
    fetched_from_listing,
    mark_withdrawn,
    record_listing,
)
from empiar_mirror.index.store.records import (
    NORMALIZED_TABLES,
    Fetched,
    changed_at,
    clear_normalized,
    dataset_status,
    front_door_accessions,
    has_front_door,
    http_status,
    in_use,
    not_public_without_front_door,
    save_not_public,
    save_record,
    save_source,
    save_unmappable,
    touch,
    write_record,
)
from empiar_mirror.index.store.runs import (
    UNMAPPABLE_KINDS,
    ErrorRow,
    finish_run,
    last_run_id,
    mark_stopped_runs,
    record_empiar_batches,
    record_error,
    run_error_count,
    start_run,
)

__all__ = [
    "NORMALIZED_TABLES",
    "UNMAPPABLE_KINDS",
    "DatabaseError",
    "ErrorRow",
    "FetchState",
    "Fetched",
    "Listing",
    "Locked",
    "changed_at",
    "check_path",
    "check_writable",
    "clear_normalized",
    "dataset_status",
    "errorname",
    "fetched_from_listing",
    "finish_run",
    "front_door_accessions",
    "has_front_door",
    "http_status",
    "in_use",
    "is_locked",
    "last_run_id",
    "load_fetch_state",
    "lock",
    "mark_stopped_runs",
    "mark_withdrawn",
    "not_public_without_front_door",
    "now",
    "open_database",
    "open_readonly",
    "record_empiar_batches",
    "record_error",
    "record_listing",
    "run_error_count",
    "save_not_public",
    "save_record",
    "save_source",
    "save_unmappable",
    "start_run",
    "touch",
    "write_record",
]
