"""The archives' bulk lists of what they hold: EMDB's weekly holdings file (every released map,
its last update and its files) and wwPDB's last-modification times of every released entry.

`harvest --emdb all` enumerates and detects changes with them instead of paging a search route.
Both are downloaded to a temporary file and read streaming (ijson), one entry at a time, so a
file of any size costs the memory of its largest entry.

No recording of either file was found in public code; the shapes, and how sure we are of them:

- EMDB (API-NOTES 7.2, emdb-json-schemas `emdb_released_holdings_schema.json`; a public crawl
  script reads the top-level keys of the live file as the 59,608 ids):
  `{"EMD-N": {"entry_last_update": ..., "validation_reports_last_update": ..., "headers": [...],
  "map": [...], "half_maps": [...], "masks": [...], "fscs": [...], ...}}`, each file
  `{"file_name", "md5_checksum", "last_update"}`. Every list-valued key is taken as a kind of
  file, so kinds the schema adds later are kept too.
- wwPDB (7.3; RCSB's own BinaryCIF workflow, rcsb_workflow, reads it as
  `{id: "YYYY-MM-DDTHH:MM:SS+00:00"}` and lower-cases the ids itself, so their case is unknown):
  ids are taken in either case, or in the extended `pdb_0000xxxx` form.

A problem with one entry is yielded as a `Problem`, that entry's; a file that does not parse to
its end raises `FileProblem`, and then none of it is used.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from empiar_mirror.harvester.http import FetchError, HttpClient
from empiar_mirror.harvester.raw.normalize import well_formed
from empiar_mirror.index.archives import EMDB
from empiar_mirror.index.store.holdings import MapHoldings, Problem

SERVICE_EMDB = "emdb_files"
SERVICE_WWPDB = "wwpdb_files"
# The scalar facts of an EMDB holdings entry; every other list-valued key is a kind of file.
DATES = ("entry_last_update", "validation_reports_last_update")
_GZIP_MAGIC = b"\x1f\x8b"


class FileProblem(Exception):
    """The file as a whole cannot be used: not JSON, cut short, not the shape documented."""


async def download(client: HttpClient, service: str, url: str, sink: BinaryIO) -> None:
    """The file into `sink`; a FetchError if it cannot be had."""
    resp = await client.download(service, url, sink)
    if resp.status != 200:
        raise FetchError("http", resp.url, f"HTTP {resp.status}", status=resp.status)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _entry(key: str, value: Any) -> Iterator[MapHoldings | Problem]:
    if not isinstance(key, str) or not well_formed(EMDB, key):
        yield Problem(None, f"holdings entry with a bad id: {str(key)[:80]!r}")
        return
    if not isinstance(value, dict):
        yield Problem(key, f"holdings entry is a {type(value).__name__}, not an object")
        return
    files: list[tuple[str, str, str | None, str | None]] = []
    unreadable: list[str] = []
    for kind, listed in value.items():
        if kind in DATES:
            continue
        if isinstance(listed, dict):  # one file where a list was expected: lenient
            listed = [listed]
        if not isinstance(listed, list):
            yield Problem(key, f"file list {kind[:40]!r} is a {type(listed).__name__}, not a list")
            unreadable.append(kind)
            continue
        bad = 0
        for file in listed:
            name = _text(file.get("file_name")) if isinstance(file, dict) else None
            if not name:
                bad += 1
                continue
            files.append(
                (kind, name, _text(file.get("md5_checksum")), _text(file.get("last_update")))
            )
        if bad:
            yield Problem(key, f"{bad} file(s) in {kind[:40]!r} without a file name")
    updated = _text(value.get("entry_last_update"))
    if updated is None:
        yield Problem(key, "holdings entry without an entry_last_update: fetched every run")
    digest = hashlib.sha1(
        json.dumps(value, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()
    yield MapHoldings(
        key,
        updated,
        _text(value.get("validation_reports_last_update")),
        tuple(files),
        digest,
        tuple(unreadable),
    )


def read_emdb(path: Path) -> Iterator[MapHoldings | Problem]:
    """Each map of an EMDB holdings file, streaming; FileProblem if the file is unusable."""
    with _problems(path), open(path, "rb") as f:
        if _first_char(f) != b"{":
            raise FileProblem("not a JSON object")
        for key, value in ijson.kvitems(f, "", use_float=True):
            yield from _entry(key, value)


def pdb_id(key: str) -> str | None:
    """An id as the harvester stores it: classic ids upper-case; `pdb_0000xxxx` is the classic
    xxxx (wwPDB's extended form of the same entry); other extended ids upper-case, as the
    harvester keeps them."""
    if len(key) == 4 and key[0].isdigit() and key.isalnum():
        return key.upper()
    if key.lower().startswith("pdb_0000") and len(key) == 12 and key[8:].isalnum():
        return key[8:].upper()
    if key.lower().startswith("pdb_") and len(key) == 12 and key[4:].isalnum():
        return key.upper()
    return None


def read_pdb(path: Path) -> Iterator[tuple[str, str] | Problem]:
    """(id, last modified) of each released PDB entry, streaming; FileProblem if unusable. A
    file that is not gzip but plain JSON is read as it is (a server may have inflated it)."""
    with _problems(path), open(path, "rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        f: BinaryIO = gzip.open(raw) if gzipped else raw  # type: ignore[assignment]
        if _first_char(f) != b"{":
            raise FileProblem("neither gzip nor a JSON object")
        for key, value in ijson.kvitems(f, ""):
            ident = pdb_id(key) if isinstance(key, str) else None
            if ident is None:
                yield Problem(None, f"entry with a bad id: {str(key)[:80]!r}")
            elif not isinstance(value, str) or not value:
                yield Problem(ident, f"last-modified date is not a string: {str(value)[:80]!r}")
            else:
                yield ident, value[:40]


def _first_char(f: BinaryIO) -> bytes:
    """The first non-blank byte, the file rewound."""
    head = f.read(64).lstrip().lstrip(b"\xef\xbb\xbf")
    f.seek(0)
    return head[:1]


class _problems:
    """Whatever stops a file being read to its end, as one FileProblem naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, (FileProblem, GeneratorExit)):
            return False
        if isinstance(exc, (ijson.JSONError, ValueError, EOFError, OSError, zlib.error)):
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise FileProblem(f"{type(exc).__name__}: {message}") from exc
        return False
