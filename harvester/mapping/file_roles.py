"""What a file of an EMPIAR entry is (movie, gain reference, particle coordinates, ...), from its
name, its directory and its imageset's category, by the ordered rules of `file_roles.json`.

The rules are data so that a curator can read and extend them; tests hold an example per rule.
Roles name what reprocessing looks for, not formats: a `.mrc` is a movie, a micrograph, a
tilt series, a tomogram or a gain reference depending on where it sits and what its imageset is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from empiar_mirror.harvester.raw.autoindex import Listing
from empiar_mirror.index.store.files import FileRow

RULES_FILE = Path(__file__).with_name("file_roles.json")
ROLES = (
    "movie",
    "micrograph",
    "gain_reference",
    "defect_map",
    "mdoc",
    "tilt_series",
    "tilt_angles",
    "tomogram",
    "volume",
    "particle_stack",
    "particle_coordinates",
    "star",
    "epu_xml",
    "header_xml",
    "document",
    "archive",
    "other",
)


@dataclass(frozen=True)
class Rule:
    role: str
    exts: tuple[str, ...] | None
    name: re.Pattern | None
    dir: re.Pattern | None
    category: re.Pattern | None
    why: str

    def holds(self, name: str, directory: str, category: str) -> bool:
        return (
            (self.exts is None or name.endswith(self.exts))
            and (self.name is None or self.name.search(name) is not None)
            and (self.dir is None or self.dir.search(directory) is not None)
            and (self.category is None or self.category.search(category) is not None)
        )


def _pattern(text: str | None) -> re.Pattern | None:
    return None if text is None else re.compile(text, re.IGNORECASE)


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    found = []
    for item in json.loads(RULES_FILE.read_text())["rules"]:
        if item["role"] not in ROLES:
            raise ValueError(f"{RULES_FILE.name}: unknown role {item['role']!r}")
        exts = tuple(f".{e.lower()}" for e in item["ext"]) if "ext" in item else None
        found.append(
            Rule(
                item["role"],
                exts,
                _pattern(item.get("name")),
                _pattern(item.get("dir")),
                _pattern(item.get("category")),
                item["why"],
            )
        )
    return tuple(found)


def rule_for(path: str, category: str | None = None) -> Rule | None:
    """The first rule that takes the file at `path` (relative to the entry's directory)."""
    directory, _, name = path.rpartition("/")
    lowered = name.lower()
    for rule in rules():
        if rule.holds(lowered, directory, category or ""):
            return rule
    return None


def role(path: str, category: str | None = None) -> str:
    rule = rule_for(path, category)
    return "other" if rule is None else rule.role


def imageset_of(path: str, imagesets: list[tuple[int, str, str]]) -> tuple[int, str] | None:
    """The imageset (position, category) whose directory holds `path`: the deepest that does."""
    best: tuple[int, str] | None = None
    depth = -1
    for position, directory, category in imagesets:
        if (not directory or path.startswith(directory + "/")) and len(directory) > depth:
            best, depth = (position, category), len(directory)
    return best


def file_rows(
    directory: str, listing: Listing, imagesets: list[tuple[int, str, str]]
) -> list[FileRow]:
    """A listed directory's files as rows of `empiar_file`, each with its role and imageset."""
    rows = []
    found = imageset_of(f"{directory}/-" if directory else "-", imagesets)
    position, category = found if found else (None, None)
    for row in listing.rows:
        if row.is_dir:
            continue
        path = f"{directory}/{row.name}" if directory else row.name
        rows.append(
            (path, row.size_bytes, row.size_text, row.modified, role(path, category), position)
        )
    return rows
