"""Volume EM (SBF-SEM, FIB-SEM, ATUM-SEM): EMPIAR files a section stack under `micrographs -
multiframe`, its sections as frames. It is a volume (lambda-ber Image3D), not a detector movie;
this module says when, and reads the section thickness the depositors wrote in the details."""

from __future__ import annotations

import re

# EMPIAR experiment types whose multiframe imagesets are section stacks (EMPIAR-10442 is one).
VOLUME_EM_TYPES = frozenset({"SBF-SEM", "FIB-SEM", "ATUM-SEM"})
STACK_CATEGORIES = frozenset({"micrographs - multiframe"})

_NUMBER = r"([0-9]+(?:\.[0-9]+)?)"
_UNIT = r"(nm|µm|um|Å|A)\b"
ANGSTROMS_PER = {"nm": 10.0, "µm": 10_000.0, "um": 10_000.0, "Å": 1.0, "A": 1.0}
# How depositors state the distance between sections, as the sample and real entries word it;
# the first that matches wins. Each pattern's last two groups are the number and its unit.
THICKNESS_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # "Voxel size: 0.007 x 0.007 x 0.04 um" (Microscopy Image Browser's header)
        rf"voxel size:?\s*{_NUMBER}\s*[x×]\s*{_NUMBER}\s*[x×]\s*{_NUMBER}\s*{_UNIT}",
        # "25 nm cutting thickness", "sections, 30 nm thick", "50 nm section thickness"
        rf"{_NUMBER}\s*{_UNIT}\s*(?:cutting |section |slice )?thick",
        # "Isotropic 5 nm voxels"
        rf"isotropic\s+{_NUMBER}\s*{_UNIT}\s*voxel",
        # "milling at 10 nm steps", "10 nm milling steps"
        rf"mill\w*\s+at\s+{_NUMBER}\s*{_UNIT}\s*step|{_NUMBER}\s*{_UNIT}\s*mill\w*\s*step",
    )
)
# Details longer than this are not searched: no depositor writes a thickness that far in, and
# the patterns' time grows with the text.
MAX_DETAILS_CHARS = 20_000


def is_section_stack(experiment_type: str | None, category: str | None) -> bool:
    """Whether an imageset is a volume EM section stack rather than detector movies."""
    return experiment_type in VOLUME_EM_TYPES and category in STACK_CATEGORIES


def section_thickness(details: str | None) -> float | None:
    """The distance between sections in Å, as the imageset's details state it, or None."""
    text = (details or "")[:MAX_DETAILS_CHARS]
    for pattern in THICKNESS_PATTERNS:
        match = pattern.search(text)
        if match:
            groups = [g for g in match.groups() if g is not None]
            number, unit = groups[-2], groups[-1]
            return round(float(number) * ANGSTROMS_PER[unit], 6)
    return None
