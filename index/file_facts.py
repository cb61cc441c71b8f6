"""What an entry's listed files say about it, gathered onto its front door and its imagesets:
how many files and bytes, the movies' format, whether a gain reference, a defect map, particle
coordinates and mdocs are there, and when the tree was last listed whole.

Computed by aggregate queries over `empiar_file` (its key begins with the accession, so each is
one ordered pass), as part of the front doors' refresh. An entry whose tree was never listed
whole says nothing: its columns stay empty rather than claim "none".
"""

from __future__ import annotations

from sqlite_utils import Database

# The columns gathered per entry, in empiar_entries.
ENTRY_COLUMNS = (
    "file_count",
    "file_bytes",
    "movie_format",
    "has_gain_reference",
    "has_defect_map",
    "has_particle_coordinates",
    "has_mdoc",
    "files_listed_at",
)
# A movie's format by its extension (LIKE is case-insensitive for ASCII: .TIF is .tif).
_MOVIE_FORMAT = """case
    when path like '%.eer' then 'EER'
    when path like '%.tif' or path like '%.tiff' then 'TIFF'
    when path like '%.mrc' or path like '%.mrcs' then 'MRC'
    when path like '%.dm4' or path like '%.dm3' then 'DM4'
    when path like '%.bz2' then 'TIFF (bzip2)'
    else 'other' end"""


def refresh(db: Database) -> int:
    """Recompute every entry's and imageset's file facts; write only the rows that change.
    Returns the number of rows changed. Call inside a transaction."""
    new: dict[str, tuple] = {}
    listed = dict(
        db.execute(
            "select accession, listed_at from empiar_directory "
            "where path = '' and listed_at is not null"
        )
    )
    formats: dict[str, str] = {}
    # Entry by entry: a grouping that is not the key's order sorts, and one entry's files are
    # what a sort may hold at once (the whole table is millions of rows).
    for accession in listed:
        for movie_format, _ in db.execute(
            f"select {_MOVIE_FORMAT} as format, count(*) as n from empiar_file "
            "where accession = ? and role = 'movie' and removed_on is null group by format "
            "order by n, format desc",
            [accession],
        ):
            formats[accession] = movie_format  # the last is the commonest
    for accession, count, size, gain, defects, coordinates, mdoc in db.execute(
        "select accession, count(*), sum(size_bytes), max(role = 'gain_reference'), "
        "max(role = 'defect_map'), max(role = 'particle_coordinates'), max(role = 'mdoc') "
        "from empiar_file where removed_on is null group by accession"
    ):
        if accession in listed:
            new[accession] = (
                count,
                size,
                formats.get(accession),
                gain,
                defects,
                coordinates,
                mdoc,
                listed[accession],
            )
    for accession, at in listed.items():
        new.setdefault(accession, (0, 0, None, 0, 0, 0, 0, at))
    changed = 0
    columns = ", ".join(ENTRY_COLUMNS)
    for accession, *old in db.execute(f"select accession, {columns} from empiar_entries"):
        value = new.get(accession, (None,) * len(ENTRY_COLUMNS))
        if tuple(old) != value:
            db.execute(
                "update empiar_entries set {} where accession = ?".format(
                    ", ".join(f"{c} = ?" for c in ENTRY_COLUMNS)
                ),
                [*value, accession],
            )
            changed += 1
    return changed + _refresh_imagesets(db, listed)


def _refresh_imagesets(db: Database, listed: dict[str, str]) -> int:
    found = {
        f"empiar:{accession}/imageset/{imageset}": (count, size)
        for accession in listed
        for imageset, count, size in db.execute(
            "select imageset, count(*), sum(size_bytes) from empiar_file where accession = ? "
            "and removed_on is null and imageset is not null group by imageset",
            [accession],
        )
    }
    changed = 0
    for file_id, *old in db.execute(
        "select id, x_files_found, x_bytes_found from data_file where id like 'empiar:%/imageset/%'"
    ):
        accession = file_id[len("empiar:") :].split("/", 1)[0]
        value = found.get(file_id, (0, 0)) if accession in listed else (None, None)
        if tuple(old) != value:
            db.execute(
                "update data_file set x_files_found = ?, x_bytes_found = ? where id = ?",
                [*value, file_id],
            )
            changed += 1
    return changed
