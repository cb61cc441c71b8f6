"""The bundled metadata's descriptions as a page shows them: code spans set as code, and a
table's first sentence apart from the rest."""

from __future__ import annotations

import re

from markupsafe import Markup

CODE_SPAN = re.compile(r"`([^`]+)`")


def inline_markdown(text: str | None) -> Markup:
    """A metadata description as HTML: its `code` spans set as code, everything else escaped."""
    parts = CODE_SPAN.split(text or "")
    return Markup("").join(
        Markup("<code>{}</code>" if i % 2 else "{}").format(part) for i, part in enumerate(parts)
    )


SENTENCE_END = re.compile(r"(?<!e\.g)(?<!i\.e)\.\s+(?=[A-Z`(])")


def first_sentence(text: str | None) -> tuple[str, str]:
    """A description's first sentence, and the rest: a table page leads with the one."""
    parts = SENTENCE_END.split(text or "", maxsplit=1)
    return (parts[0] + ".", parts[1]) if len(parts) == 2 else (text or "", "")
