"""The one place where archive quirks become clean values."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?B|bytes?)\s*$", re.IGNORECASE)
_UNIT_POWER = {"B": 0, "BYTE": 0, "BYTES": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}
_PDB_EXTENDED_RE = re.compile(r"^pdb_0000([0-9][0-9a-z]{3})$", re.IGNORECASE)


def listify(value: Any) -> list:
    """None -> [], one object -> [object], list -> list: archives flip between the three."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def parse_size_bytes(text: str | None) -> int | None:
    """'43.2 GB' -> 43_200_000_000 (decimal units, as EMPIAR states sizes); None if unreadable."""
    if not text:
        return None
    match = _SIZE_RE.match(text)
    if not match:
        return None
    number, unit = match.groups()
    return round(float(number) * 1000 ** _UNIT_POWER[unit.upper()])


def iso_date(value: Any) -> str | None:
    """The YYYY-MM-DD part of a date or date-time string, whatever follows it."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    head = value[:10]
    return head if re.fullmatch(r"\d{4}-\d{2}-\d{2}", head) else None


def normalize_pdb_id(value: str) -> str:
    """'7sgd' and 'pdb_00007sgd' -> '7SGD'; other extended ids are kept whole, upper-cased."""
    value = value.strip()
    match = _PDB_EXTENDED_RE.match(value)
    return (match.group(1) if match else value).upper()


def _loose_str(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _loose_int(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"-?\d+(\.0+)?", value):
            return None  # "variable", "", "n/a": no single number
        return int(float(value))
    return value


def _loose_float(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return value


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _names(value: Any) -> list[str]:
    """Reference lists come as strings or as {"name": ...} objects; accept both."""
    out = []
    for item in listify(value):
        if isinstance(item, dict):
            item = item.get("name") or item.get("id") or item.get("accession")
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    return out


LooseStr = Annotated[str | None, BeforeValidator(_loose_str), BeforeValidator(_empty_to_none)]
LooseInt = Annotated[int | None, BeforeValidator(_loose_int)]
LooseFloat = Annotated[float | None, BeforeValidator(_loose_float)]
NameList = Annotated[list[str], BeforeValidator(_names)]
