"""People as EMPIAR's deposition writes them: names as ('Surname', 'INITIALS'), ORCID iDs, and
e-mail addresses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from empiar_mirror.index.deposition.dataset import stripped

_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_SURNAME_COMMA = re.compile(r"^(?P<surname>[^,]+), *(?P<given>.+)$")


def orcid(value: Any) -> str | None:
    match = _ORCID.match(value.strip()) if isinstance(value, str) else None
    return match.group(1) if match else None


def email(value: Any) -> str | None:
    # EMPIAR serves addresses as "name [at] host".
    text = stripped(value)
    return re.sub(r"\s*\[at\]\s*", "@", text) if text else None


def _initials(given: str) -> str:
    return "".join(part[0].upper() for part in re.split(r"[\s.\-]+", given) if part)


def _author(surname: str, initials: str) -> str:
    return f"('{surname}', '{initials}')"


def _surname_initials(text: str) -> tuple[str, str] | None:
    """ "Kowalski Ł" -> ("Kowalski", "Ł"): EMPIAR's own form of a name, initials in capitals."""
    surname, _, initials = " ".join(text.split()).rpartition(" ")
    if surname and initials.isalpha() and initials.isupper() and len(initials) <= 20:
        return surname, initials
    return None


def author_name(text: str) -> str:
    """EMPIAR's ('Surname', 'INITIALS') from "Paterlini A", "Brouwer, P.J.M." or "Ilya Belevich"."""
    text = " ".join(text.split())
    if parts := _surname_initials(text):
        return _author(*parts)
    if match := _SURNAME_COMMA.match(text):
        return _author(match["surname"], _initials(match["given"]))
    *given, surname = text.split(" ")
    return _author(surname, _initials(" ".join(given)))


def person_name(person: Mapping[str, Any]) -> str | None:
    full = stripped(person.get("full_name")) or stripped(person.get("title"))
    family, given = stripped(person.get("family_name")), stripped(person.get("given_name"))
    # An archive's "Surname INITIALS" is the name as the depositor gave it: it comes first.
    if full and (parts := _surname_initials(full)):
        return _author(*parts)
    if family and given:
        return _author(family, _initials(given))
    return author_name(full) if full else None
