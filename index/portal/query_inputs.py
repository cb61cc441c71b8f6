"""What the canned queries' inputs must look like, and what a reader is told otherwise: a value
SQL cannot read (`since=01/01/2024`) would silently compare as text and answer wrongly."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from empiar_mirror.index import completeness

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_COUNT = re.compile(r"[0-9]{1,6}")


def _date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# Parameter -> (check of a non-blank value, what is expected). Blank always means the default.
EXPECTED: dict[str, tuple[Callable[[str], bool], str]] = {
    "since": (_date, "a date written YYYY-MM-DD, such as 2024-01-01"),
    "max_resolution": (
        lambda v: bool(_NUMBER.fullmatch(v)) and float(v) > 0,
        "a resolution in ångströms, a number such as 3 or 2.5",
    ),
    "min_gap": (
        lambda v: bool(_NUMBER.fullmatch(v)),
        "a gap in ångströms, a number such as 1 or 0.5",
    ),
    "n": (lambda v: bool(_COUNT.fullmatch(v)) and int(v) > 0, "a whole number such as 25"),
    "rule": (
        lambda v: v in {r.name for r in completeness.RULES},
        "the name of a completeness rule: " + ", ".join(r.name for r in completeness.RULES),
    ),
    "include_obsolete": (
        lambda v: v == "yes",
        "blank (current entries only) or yes (obsolete and withdrawn entries too)",
    ),
    "include_simulated": (
        lambda v: v == "yes",
        "blank (measured data only) or yes (simulated data too)",
    ),
}


def problems(args) -> list[str]:
    """One sentence per input that is not what its query expects, in the order of EXPECTED."""
    found = []
    for name, (check, expected) in EXPECTED.items():
        value = (args.get(name) or "").strip()
        if value and not check(value):
            shown = value if len(value) <= 40 else value[:40] + "…"
            found.append(f"“{shown}” is not a value {name} can take: expected {expected}.")
    return found
