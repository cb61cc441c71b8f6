"""Download lists: an entry's files (or many entries') as lines a transfer tool reads.

Every path comes from the archive's listings, which a depositor's names fill: before a path
becomes a local file name it is checked part by part, and one that could leave the output
directory (`..`, an absolute path, a backslash) or carries control characters is refused,
never rewritten into something else. URLs quote each part, so they name exactly that file.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

FORMATS = ("tsv", "urls", "aria2", "wget", "globus")
FILES_BASE = "https://ftp.ebi.ac.uk/empiar/world_availability"
# The same tree on EBI's public Globus collection.
GLOBUS_ROOT = "/gridftp/empiar/world_availability"
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


@dataclass(frozen=True)
class File:
    accession: str
    path: str
    size_bytes: int | None
    size_text: str | None
    role: str | None


def unsafe(path: str) -> str | None:
    """Why a path from the archive may not become a local path, or None when it may."""
    if not path or path.startswith("/"):
        return "an absolute or empty path"
    if _UNSAFE_CHARS.search(path):
        return "control characters or a backslash"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "a '.', '..' or empty part"
    return None


def local_path(file: File) -> str:
    """Where a file lands: under a folder named by its entry, its path kept."""
    return f"{file.accession}/{file.path}"


def url(file: File, base: str = FILES_BASE) -> str:
    number = file.accession.removeprefix("EMPIAR-")
    return f"{base}/{number}/" + "/".join(quote(part, safe="") for part in file.path.split("/"))


def lines(
    files: Iterable[File], fmt: str, *, base: str = FILES_BASE, globus_root: str = GLOBUS_ROOT
) -> Iterator[str]:
    """The list in one format, a line (or an aria2 entry of two) at a time. Files whose path is
    unsafe must have been set aside by the caller (`unsafe`)."""
    if fmt == "tsv":
        yield "accession\tpath\tsize_bytes\tsize_text\trole\turl"
    elif fmt == "wget":
        yield "#!/bin/sh\nset -e"
    made: set[str] = set()
    for file in files:
        if fmt == "tsv":
            size = "" if file.size_bytes is None else str(file.size_bytes)
            fields = (file.accession, file.path, size, file.size_text or "", file.role or "")
            yield "\t".join((*fields, url(file, base)))
        elif fmt == "urls":
            yield url(file, base)
        elif fmt == "aria2":
            # aria2c -i LIST -d DIR: `out` keeps the tree below DIR.
            yield f"{url(file, base)}\n  out={local_path(file)}"
        elif fmt == "wget":
            target = local_path(file)
            folder = target.rsplit("/", 1)[0]
            if folder not in made:
                made.add(folder)
                yield f"mkdir -p {shlex.quote(folder)}"
            yield f"wget -c -O {shlex.quote(target)} {shlex.quote(url(file, base))}"
        elif fmt == "globus":
            number = file.accession.removeprefix("EMPIAR-")
            source = f"{globus_root}/{number}/{file.path}"
            yield f"{shlex.quote(source)} {shlex.quote(local_path(file))}"
        else:
            raise ValueError(f"unknown format {fmt!r}")


def select(conn, accessions: list[str], roles: list[str]) -> Iterator[File]:
    """The listed files of these entries (removed ones aside), in path order, optionally of
    some roles only."""
    role_filter = ""
    if roles:
        role_filter = " and role in (select value from json_each(?))"
    for accession in accessions:
        params: list = [accession, *([json.dumps(roles)] if roles else [])]
        for row in conn.execute(
            "select accession, path, size_bytes, size_text, role from empiar_file "
            f"where accession = ? and removed_on is null{role_filter} order by path",
            params,
        ):
            yield File(*row)
