"""Common names of organisms in the search box: `human` also finds Homo sapiens, `E. coli`
Escherichia coli, `COVID-19` SARS-CoV-2's scientific name. The table is data
(`organism_synonyms.json`), shipped in the package: no lookup leaves the machine."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources

DATA_FILE = "organism_synonyms.json"
# A name is a whole word of the query: not part of a longer word, id or hyphenated name.
_EDGE_BEFORE, _EDGE_AFTER = r"(?<![\w.-])", r"(?![\w-])"
_QUOTED = re.compile(r'"[^"]*"?')


@functools.cache
def table() -> dict[str, str]:
    """Common name (lower case) -> scientific name, from the shipped data file."""
    data = json.loads(resources.files(__package__).joinpath(DATA_FILE).read_text("utf-8"))
    return {name.lower(): o["scientific"] for o in data["organisms"] for name in o["common"]}


@functools.cache
def _pattern() -> re.Pattern[str]:
    # Longest first, so `fission yeast` wins over `yeast`.
    names = sorted(table(), key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in names)
    return re.compile(f"{_EDGE_BEFORE}(?:{alternatives}){_EDGE_AFTER}", re.IGNORECASE)


def _expand(text: str) -> str:
    def either(match: re.Match[str]) -> str:
        name = match.group(0)
        return f'("{name}" OR "{table()[name.lower()]}")'

    return _pattern().sub(either, text)


def expand(q: str) -> str:
    """The query with each common name outside quotes read as `(name OR scientific name)`;
    a "quoted phrase" is searched as written."""
    out, last = [], 0
    for quoted in _QUOTED.finditer(q):
        out += [_expand(q[last : quoted.start()]), quoted.group(0)]
        last = quoted.end()
    out.append(_expand(q[last:]))
    return "".join(out)
