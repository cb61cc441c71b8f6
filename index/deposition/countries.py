"""Country names as ISO 3166-1 alpha-2 codes, as EMPIAR's deposition schema takes them.

`countries.json` holds the codes EMPIAR's schema lists, each with its English name and other
names in use, EMPIAR's own among them ("Czech Republic", "United States").
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from empiar_mirror.index.deposition.dataset import stripped


def _country_key(name: str) -> str:
    text = name.casefold().replace("&", " and ")
    text = re.sub(r"\bst\b\.?", "saint", text)
    text = " ".join(re.sub(r"[^\w]+", " ", text).split())
    return text.removeprefix("the ")


_NAMES: dict[str, list[str]] = json.loads(
    resources.files(__package__).joinpath("countries.json").read_text(encoding="utf-8")
)
_COUNTRIES: dict[str, str] = {
    _country_key(name): code for code, names in _NAMES.items() for name in names
}


def country_code(name: Any) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code; an unknown name as it is."""
    text = stripped(name)
    if text is None:
        return None
    code = _COUNTRIES.get(_country_key(text))
    if code:
        return code
    return text.upper() if text.upper() in _NAMES else text
