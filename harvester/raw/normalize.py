"""The one place where archive quirks become clean values.

No value may stop a record from landing: a number no column can hold (NaN, Infinity, an integer
beyond MAX_INTEGER, a size beyond MAX_SIZE_BYTES) is set aside, i.e. read as absent and named to
whoever is collecting (`setting_aside`); control characters are stripped from text; linked ids
that do not fit their archive's pattern are dropped, so they never become URLs or links; HTML
entities are decoded (EMPIAR serves some text escaped, `Molecular &amp;amp; Cell Biology`), so
names, search and merge keys see one spelling.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationInfo

from empiar_mirror.index.archives import EMDB, PDB, Archive

# The largest integer every JSON reader (JavaScript's, behind the portal's pages) holds exactly;
# a thousand of them still add up within SQLite's 64-bit integers. No count EMPIAR, EMDB or the
# PDB states comes near it.
MAX_INTEGER = 2**53
# An exabyte: all of EMPIAR is a few petabytes, so a larger dataset is a typo or an attack.
MAX_SIZE_BYTES = 10**18

# Matched against the stripped text: one run of spaces, so no backtracking between two.
_SIZE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?B|bytes?)?", re.IGNORECASE | re.ASCII)
_UNIT_POWER = {"B": 0, "BYTE": 0, "BYTES": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}
_PDB_EXTENDED_RE = re.compile(r"^pdb_0000([0-9][0-9a-z]{3})$", re.IGNORECASE | re.ASCII)
_EMD_RE = re.compile(r"^(?:EMD-?)?([0-9]{4,9})$", re.IGNORECASE | re.ASCII)
_INT_TEXT_RE = re.compile(r"-?[0-9]+(\.0+)?")
# C0 and C1 controls and DEL, but tab and newline: they break terminals, XML and some clients.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SHOWN_CHARS = 40
# EMPIAR escapes some text twice over; no text is escaped more than this, and the bound keeps a
# hostile `&amp;amp;amp;…` linear.
MAX_UNESCAPES = 3

_set_aside: ContextVar[list[str] | None] = ContextVar("set_aside", default=None)


@contextmanager
def setting_aside() -> Iterator[list[str]]:
    """Collect, while one record is read, what was set aside: "field value (why)" each."""
    notes: list[str] = []
    token = _set_aside.set(notes)
    try:
        yield notes
    finally:
        _set_aside.reset(token)


def set_aside(value: Any, why: str, field: str | None = None) -> None:
    """Note a value read as absent (NULL) because no column can hold it."""
    notes = _set_aside.get()
    if notes is None:
        return
    try:
        shown = repr(value)
    except ValueError:  # an integer past Python's digit limit for printing
        shown = "an integer of thousands of digits"
    if len(shown) > SHOWN_CHARS:
        shown = f"{shown[:SHOWN_CHARS]}… ({len(shown)} characters)"
    notes.append(f"{field} {shown} ({why})" if field else f"{shown} ({why})")


def finite(value: float, original: Any = None, field: str | None = None) -> float | None:
    """The float, or None (set aside) when it is NaN or infinite."""
    if math.isfinite(value):
        return value
    set_aside(value if original is None else original, "not finite", field)
    return None


def bounded(value: int, original: Any = None, field: str | None = None) -> int | None:
    """The integer, or None (set aside) when it lies beyond ±MAX_INTEGER."""
    if -MAX_INTEGER <= value <= MAX_INTEGER:
        return value
    set_aside(value if original is None else original, "beyond ±2^53", field)
    return None


def clean_text(text: str) -> str:
    """The text as a reader sees it: HTML entities decoded, then control characters (which an
    entity may spell) stripped; tab and newline are kept."""
    for _ in range(MAX_UNESCAPES):
        if "&" not in text:
            break
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return _CONTROL_RE.sub("", text)


def well_formed(archive: Archive, accession: str) -> bool:
    """Whether `accession` is one of this archive's ids, whole and in ASCII: only then may it go
    into a URL, a query or a link. Case is not checked, as PDB extended ids are kept upper-case."""
    pattern = archive.id_pattern.pattern
    return re.fullmatch(pattern, accession, re.IGNORECASE | re.ASCII) is not None


def listify(value: Any) -> list:
    """None -> [], one object -> [object], list -> list: archives flip between the three."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _stated_bytes(text: str, *, bare: bool) -> float | None:
    """The size a text states in bytes, as a float (it may be absurdly large); a bare number
    counts as bytes only when `bare`."""
    match = _SIZE_RE.fullmatch(text.strip())
    if not match or not (bare or match.group(2)):
        return None
    number, unit = match.groups()
    return float(number) * 1000 ** _UNIT_POWER[(unit or "B").upper()]


def parse_size_bytes(text: str | None) -> int | None:
    """'43.2 GB' -> 43_200_000_000 (decimal units, as EMPIAR states sizes); None if unreadable,
    unitless or beyond MAX_SIZE_BYTES."""
    size = _stated_bytes(text, bare=False) if text else None
    return round(size) if size is not None and size <= MAX_SIZE_BYTES else None


def iso_date(value: Any) -> str | None:
    """The YYYY-MM-DD part of a date or date-time string, whatever follows it."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    head = value[:10]
    return head if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", head) else None


def normalize_pdb_id(value: str) -> str | None:
    """'7sgd' and 'pdb_00007sgd' -> '7SGD'; other extended ids are kept whole, upper-cased;
    None for anything that is no PDB id."""
    value = value.strip()
    match = _PDB_EXTENDED_RE.match(value)
    pdb_id = (match.group(1) if match else value).upper()
    return pdb_id if well_formed(PDB, pdb_id) else None


def normalize_emdb_id(value: str) -> str | None:
    """'EMD-1234', 'emd-1234', '1234' -> 'EMD-1234'; None for anything else."""
    match = _EMD_RE.match(value.strip())
    emdb_id = f"EMD-{match.group(1)}" if match else ""
    return emdb_id if well_formed(EMDB, emdb_id) else None


def _loose_str(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and finite(value, field=info.field_name) is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        value = clean_text(value)
        return value if value.strip() else None
    return value


def _clean(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _size(value: Any, info: ValidationInfo) -> Any:
    """A dataset size as stated ('43.2 GB'); one past MAX_SIZE_BYTES is set aside."""
    text = _loose_str(value, info)
    if isinstance(text, str):
        size = _stated_bytes(text, bare=True)
        if size is not None and size > MAX_SIZE_BYTES:
            set_aside(text, "beyond an exabyte", info.field_name)
            return None
    return text


def _loose_int(value: Any, info: ValidationInfo) -> Any:
    original = value
    if isinstance(value, str):
        value = value.strip()
        if not _INT_TEXT_RE.fullmatch(value):
            return None  # "variable", "", "n/a": no single number
        try:
            value = int(value.split(".")[0])
        except ValueError:  # past Python's digit limit: far past any bound
            set_aside(original, "beyond ±2^53", info.field_name)
            return None
    elif isinstance(value, float):
        if finite(value, field=info.field_name) is None:
            return None
        if not value.is_integer():
            set_aside(value, "not a whole number", info.field_name)
            return None
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return bounded(value, original, info.field_name)
    return value


def _loose_float(value: Any, info: ValidationInfo) -> Any:
    original = value
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            set_aside(original, "too large for a float", info.field_name)
            return None
    if isinstance(value, float):
        return finite(value, original, info.field_name)
    return value


def _names(value: Any) -> list[str]:
    """Reference lists come as strings or as {"name": ...} objects; accept both."""
    out = []
    for item in listify(value):
        if isinstance(item, dict):
            item = item.get("name") or item.get("id") or item.get("accession")
        if isinstance(item, str) and clean_text(item).strip():
            out.append(clean_text(item).strip())
    return out


CleanStr = Annotated[str, BeforeValidator(_clean)]
LooseStr = Annotated[str | None, BeforeValidator(_loose_str)]
SizeStr = Annotated[str | None, BeforeValidator(_size)]
LooseInt = Annotated[int | None, BeforeValidator(_loose_int)]
LooseFloat = Annotated[float | None, BeforeValidator(_loose_float)]
NameList = Annotated[list[str], BeforeValidator(_names)]
