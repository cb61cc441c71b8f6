"""Correlative and simulated data: which imagesets of a CLEM or CLXM entry are its light-microscopy
half (a fluorescence image taken on an optical microscope, lambda-ber FluorescenceImage, not
another EM image), and which entries hold simulated rather than measured data (EMPIAR's INSILICO
experiment type, or imagesets whose names say so)."""

from __future__ import annotations

import re

CORRELATIVE_TYPES = frozenset({"CLEM", "CLXM"})
SIMULATED_TYPE = "INSILICO"

# How depositors name the light images of a correlative entry, with the kind of microscope each
# word names (lambda-ber has one optical instrument class; its title says which kind). The first
# that matches wins. Names only: the EM half's details name the light images they were
# registered to ("Registered to the cryo-SIM volumes"), so details would mislabel them.
LIGHT_MICROSCOPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (
            r"\b(?:cryo-?|3D-?)SIM\b|structured[- ]illumination",
            "structured illumination microscope",
        ),
        (r"\bconfocal\b|\bairyscan\b|\bspinning[- ]disk\b", "confocal microscope"),
        (r"\bwide-?field\b|\bepifluorescen", "widefield fluorescence microscope"),
        (r"\bfluorescen|\blight microscop|\bFLM\b|\bcryo-?LM\b", "fluorescence microscope"),
    )
)
# An imageset name that says its data are simulated ("Simulated tilt series").
SIMULATED_NAME = re.compile(r"\bsimulat(?:ed|ion)\b|\bin[- ]silico\b|\bsynthetic data\b", re.I)


def light_microscope(experiment_type: str | None, name: str | None) -> str | None:
    """The kind of optical microscope an imageset of a correlative entry was taken on, or None
    when it is not the light-microscopy half (or the entry is not correlative)."""
    if experiment_type not in CORRELATIVE_TYPES:
        return None
    for pattern, kind in LIGHT_MICROSCOPES:
        if pattern.search(name or ""):
            return kind
    return None


def simulated_imagesets(experiment_type: str | None, names: list[str | None]) -> list[bool]:
    """For each imageset (by its name), whether its data are simulated: all of an INSILICO
    entry's, else those whose names say so."""
    if experiment_type == SIMULATED_TYPE:
        return [True] * len(names)
    return [bool(SIMULATED_NAME.search(name or "")) for name in names]


def is_simulated(experiment_type: str | None, names: list[str | None]) -> bool:
    """Whether an entry holds simulated data only: INSILICO, or every imageset says so (an entry
    that adds a simulated imageset to measured ones is measured data)."""
    flags = simulated_imagesets(experiment_type, names)
    return experiment_type == SIMULATED_TYPE or (bool(flags) and all(flags))
