"""Microscope and detector spellings -> instrument families, so one instrument is one facet.

EMDB and the wwPDB dictionary spell one instrument several ways across vendor renames and
model generations (`FEI TITAN KRIOS`, `TFS KRIOS`; `FEI FALCON IV (4k x 4k)`,
`TFS FALCON 4i (4k x 4k)`). `instrument_families.json` maps every enumerated spelling to a
family; a spelling it lacks is tried normalised, then against the rules below, and failing
those becomes a family of its own, flagged `known=False` so the caller can log it.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import NamedTuple

DATA_FILE = "instrument_families.json"

# "(4k x 4k)", "(0.2k x 0.2k)", and the archive's own typo "(4k x 4x)".
_SENSOR_SIZE = re.compile(r"\s*\(\s*[\d.]+\s*K?\s*[X×]\s*[\d.]+\s*[KX]?\s*\)\s*$", re.IGNORECASE)
# Vendor names come and go with renames (FEI -> TFS) while the model stays; JEOL's and
# Hitachi's are kept because their model names are bare numbers.
_VENDORS = re.compile(
    r"^(?:(?:FEI|TFS|THERMO ?FISHER(?: SCIENTIFIC)?|THERMO SCIENTIFIC|PHILIPS|GATAN"
    r"|DIRECT ELECTRON|DECTRIS|TVIPS)\s+)+"
)
# Generations (Krios G4, Tecnai G2 Spirit) and JEOL's "JEM" prefix do not change the family.
_NOISE = re.compile(r"\b(?:G\d+I?|JEM)\b")

# Unseen spellings: first match wins; a family may use the match's groups.
_RULES: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    "microscopes": tuple(
        (re.compile(pattern), family)
        for pattern, family in (
            (r"\bKRIOS\b", "Titan Krios"),
            (r"\bGLACIOS\b", "Glacios"),
            (r"\bARCTICA\b", "Talos Arctica"),
            (r"\bTUNDRA\b", "Tundra"),
            (r"\bTHEMIS\b", "Titan Themis"),
            (r"\bPOLARA\b", "Polara"),
            (r"\bMORGAGNI\b", "Morgagni"),
            (r"\bCRYO ?ARM ?(200|300)\b", r"CRYO ARM \1"),
            (r"\bTECNAI\b.*\bF ?(20|30)\b", r"Tecnai F\1"),
            (r"\bTECNAI\b.*\bSPIRIT\b", "Tecnai Spirit"),
            (r"\bTECNAI\b.*\bSPHERA\b", "Tecnai Sphera"),
            (r"\bTECNAI\b.*\b(?:T ?)?(10|12|20)\b", r"Tecnai \1"),
        )
    ),
    "detectors": tuple(
        (re.compile(pattern), family)
        for pattern, family in (
            (r"\bK3\b", "K3"),
            (r"\bK2\b", "K2"),
            (r"\bFALCON (?:IV|4I?)\b", "Falcon 4"),
            (r"\bFALCON (?:III|3)\b", "Falcon III"),
            (r"\bFALCON (?:II|2)\b", "Falcon II"),
            (r"\bFALCON (?:I|1)\b", "Falcon I"),
            (r"\bFALCON C\b", "Falcon C"),
            (r"\bDE ?(10|12|16|20|64)\b", r"DE-\1"),
            (r"\bTEMCAM F ?(\d{3})\b", r"TemCam-F\1"),
            (r"\bAPOLLO\b", "Apollo"),
            (r"\bCETA\b", "Ceta"),
            (r"\bEAGLE\b", "Eagle"),
            (r"\bORIUS\b", "Orius"),
            (r"\bULTRASCAN\b", "UltraScan"),
            (r"\bONEVIEW\b", "OneView"),
            (r"\bCLEARVIEW\b", "ClearView"),
            (r"\bRIO ?\d", "Rio"),
            (r"\bSTELLA\b", "Stella"),
            (r"\bALPINE\b", "Alpine"),
            (r"\bMETRO\b", "Metro"),
            (r"\bSINGLA\b", "Singla"),
            (r"\bARINA\b", "Arina"),
            (r"\bELA\b", "ELA"),
            (r"\bFILM\b", "Film"),
        )
    ),
}


class Classified(NamedTuple):
    """A family, and whether the vocabulary or a rule knew the spelling."""

    family: str | None
    known: bool


def normalise(value: str) -> str:
    """The comparable core of a spelling: upper case, no sensor size, punctuation,
    vendor or generation."""
    text = _SENSOR_SIZE.sub("", value.upper())
    text = " ".join(re.sub(r"[^A-Z0-9]+", " ", text).split())
    text = _VENDORS.sub("", text)
    return " ".join(_NOISE.sub(" ", text).split()) or text


@functools.cache
def vocabulary() -> dict:
    """The shipped data file: sources, microscopes and detectors."""
    data = resources.files(__package__).joinpath(DATA_FILE)
    return json.loads(data.read_text(encoding="utf-8"))


@functools.cache
def _normalised(kind: str) -> dict[str, str]:
    return {normalise(served): family for served, family in vocabulary()[kind].items()}


# No instrument name is this long; past it the patterns are not tried (their time would grow
# with the square of the length), and the value is its own family.
MAX_NAME_CHARS = 200


def _classify(kind: str, value: str | None) -> Classified:
    if value is None or not value.strip():
        return Classified(None, True)
    if len(value) > MAX_NAME_CHARS:
        return Classified(" ".join(value.split()), False)
    exact = vocabulary()[kind].get(value)
    if exact is not None:
        return Classified(exact, True)
    core = normalise(value)
    family = _normalised(kind).get(core)
    if family is not None:
        return Classified(family, True)
    for pattern, template in _RULES[kind]:
        if match := pattern.search(core):
            return Classified(match.expand(template), True)
    # Never dropped: an unknown instrument is its own family, as served less its sensor size.
    return Classified(" ".join(_SENSOR_SIZE.sub("", value).split()) or value.strip(), False)


def classify_microscope(value: str | None) -> Classified:
    """Family of an `em_imaging.microscope_model` / EMDB `microscope` value."""
    return _classify("microscopes", value)


def classify_detector(value: str | None) -> Classified:
    """Family of a `film_or_detector_model` value."""
    return _classify("detectors", value)


def microscope_family(value: str | None) -> str | None:
    """Family of a microscope spelling; None only for a missing or blank value."""
    return classify_microscope(value).family


def detector_family(value: str | None) -> str | None:
    """Family of a detector spelling; None only for a missing or blank value."""
    return classify_detector(value).family
