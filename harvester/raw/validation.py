"""EMDB's validation figures, from its two routes, into one canonical document per map.

The routes and the fields this module relies on, with their evidence (README, "Validation
figures", says how to read them):

- The search route's CSV output (`GET /emdb/api/search/<query>?wt=csv&fl=...`): a header line
  naming the `fl` fields in order, one row per map; empty for a figure EMDB has not computed;
  commas inside a quoted field backslash-escaped (read with `escapechar='\\'`). The figures
  are in ångströms: `resolution` (the authors' stated resolution),
  `calculated_resolution_fsc_0143_value`, `_05_value`, `_halfbit_value` (RELION's unmasked
  FSC of the deposited half maps at each threshold),
  `calculated_resolution_fsc_masked_0143_value` (the same under EMDB's own soft mask) and
  `calculated_resolution_fsc_corrected_0143_value` (masked, corrected by phase randomisation).
  Confirmed: the header of a real whole-archive answer of 2026-10-01 (82,910 rows) returned
  exactly these names; a 2026 audit found the CSV's 0.143 values equal to the analysis route's
  RELION crossings for 60 sampled maps.
- The analysis route (`GET /emdb/api/analysis/EMD-N?information=all`, as the official client
  asks; the audit asked `/analysis/N`): an object keyed by the numeric id (sometimes nested
  twice: `{"N": {"N": {...}}}`); in it `recommended_contour_level.recl`, and per fitted
  model, keyed by the model's index, blocks `qscore[i]` (`name` such as `5irx.cif`,
  `data.averageqscore`), `atom_inclusion_by_level[i]` (`name`, `average_ai_model`) and
  `mmfsc[i]` (`name`, `data.intersections["0.5"].x`, a spatial frequency in 1/Å). The block
  names and the averages are read as EMDB's official Python client (emdb-api-wrapper,
  `emdb/models/validation.py`) reads them; the intersections and the double nesting as a 2026
  resolution audit read them; answers of up to 14 MB were seen. Whether every model appears in
  every block is unconfirmed: each figure is read on its own.

A figure EMDB gives as `NaN`, `-` or anything else that is not a positive number is stored as
NULL with the reason, in `absent`; it never fails the map. Per-residue arrays are never read
beyond what the summaries need.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

from empiar_mirror.harvester.raw.normalize import normalize_pdb_id

# The map figures: canonical name -> the search route's CSV field.
CSV_FIGURES = {
    "stated_resolution_a": "resolution",
    "recalc_fsc_0143_a": "calculated_resolution_fsc_0143_value",
    "recalc_fsc_05_a": "calculated_resolution_fsc_05_value",
    "recalc_fsc_halfbit_a": "calculated_resolution_fsc_halfbit_value",
    "recalc_fsc_masked_0143_a": "calculated_resolution_fsc_masked_0143_value",
    "recalc_fsc_corrected_0143_a": "calculated_resolution_fsc_corrected_0143_value",
}
CSV_FIELDS = ["emdb_id", *CSV_FIGURES.values()]
# Nesting levels of `{n: {n: ...}}` looked through; deeper is not an answer we read.
MAX_NESTING = 4
# Fitted models read from one analysis answer: a map has a handful; more is not plausible.
MAX_FITS = 200


# Why a figure is absent when the answer, not EMDB's analysis, is short of it: no evidence that
# EMDB withdrew a figure the mirror holds (`unanswered`).
MISSING_FIELD = "field {} missing from the search answer"
NO_ANALYSIS = "no validation analysis yet (HTTP {})"


class UnusableAnswer(ValueError):
    """An answer that says nothing of the maps asked about: an analysis with no block for the
    map, a CSV whose header names no map id."""


@dataclass
class CsvAnswer:
    """One search answer in CSV: the rows by map id, the fields the header lacked, and the ids
    answered that were not asked for."""

    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_fields: list[str] = field(default_factory=list)
    unasked: list[str] = field(default_factory=list)


def parse_csv(text: str, asked: list[str]) -> CsvAnswer:
    """Read a search CSV answer: a quoted newline stays inside its field, a short row leaves its
    last fields empty, a row about an id not asked for is set aside, and an id answered twice,
    differently, is left out (asked alone, of the other route)."""
    reader = csv.reader(io.StringIO(text, newline=""), escapechar="\\")
    try:
        header = next(reader, [])
        if "emdb_id" not in header:
            raise UnusableAnswer(f"the CSV header names no emdb_id: {','.join(header)[:100]!r}")
        answer = CsvAnswer(missing_fields=[f for f in CSV_FIELDS if f not in header])
        wanted, twice = set(asked), set()
        for values in reader:
            row = dict(zip(header, values, strict=False))
            emdb_id = (row.get("emdb_id") or "").strip().upper()
            if not emdb_id:
                continue
            if emdb_id not in wanted:
                answer.unasked.append(emdb_id[:40])
            elif answer.rows.setdefault(emdb_id, row) != row:
                twice.add(emdb_id)
    except csv.Error as exc:  # a field past the csv module's limit, say
        raise UnusableAnswer(f"not a CSV we can read: {exc}") from exc
    for emdb_id in twice:
        del answer.rows[emdb_id]
    return answer


def figure(raw: Any) -> tuple[float | None, str | None]:
    """A positive finite number, or None with why (None when EMDB gives nothing)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        return None, f"not a number: {str(raw)[:40]!r}"
    if isinstance(raw, bool) or not math.isfinite(value):
        return None, f"not a number: {str(raw)[:40]!r}"
    if value <= 0:
        return None, f"not a positive number: {str(raw)[:40]!r}"
    return value, None


def csv_figures(row: dict[str, str], missing_fields: list[str]) -> tuple[dict, dict]:
    """The map figures of one CSV row, and why any is absent."""
    figures: dict[str, float | None] = {}
    absent: dict[str, str] = {}
    for name, column in CSV_FIGURES.items():
        if column in missing_fields:
            figures[name], why = None, MISSING_FIELD.format(column)
        else:
            figures[name], why = figure(row.get(column))
        if why:
            absent[name] = why
    return figures, absent


def _block(data: Any, number: str) -> dict:
    """The map's block of an analysis answer, looking through repeated `{n: {n: ...}}`."""
    if not isinstance(data, dict) or not isinstance(data.get(number), dict):
        raise UnusableAnswer(f"the analysis answer has no block for {number}")
    block = data[number]
    for _ in range(MAX_NESTING):
        inner = block.get(number)
        if not isinstance(inner, dict):
            break
        block = inner
    return block


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _per_model(block: dict, name: str) -> dict[str, dict]:
    found = block.get(name)
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in list(found.items())[:MAX_FITS] if isinstance(v, dict)}


def _model_id(blocks: list[dict]) -> str | None:
    """The PDB id a model's file name (`5irx.cif`) names, as the file spells ids."""
    for b in blocks:
        name = b.get("name")
        if isinstance(name, str) and name.strip():
            return normalize_pdb_id(name.strip().rsplit("/", 1)[-1].split(".", 1)[0][:40])
    return None


# The map figures as the analysis route gives them: RELION's FSC crossings, in 1/Å. The CSV's
# 0.143 values equal the "0.143", "masked" and "corrected" crossings (the audit's check of 60
# maps); the "0.5" and "halfbit" keys are unconfirmed and read where present.
ANALYSIS_CROSSINGS = {
    "recalc_fsc_0143_a": "0.143",
    "recalc_fsc_05_a": "0.5",
    "recalc_fsc_halfbit_a": "halfbit",
    "recalc_fsc_masked_0143_a": "masked",
    "recalc_fsc_corrected_0143_a": "corrected",
}


@dataclass
class Analysis:
    """What one analysis answer says of a map: its resolutions (read only when the CSV route is
    not used), its recommended contour level, the fitted models' figures, and why any is
    absent."""

    resolutions: dict[str, float | None]
    resolutions_absent: dict[str, str]
    recommended_contour_level: float | None
    fits: list[dict[str, Any]]
    absent: dict[str, str]


def _resolutions(block: dict) -> tuple[dict[str, float | None], dict[str, str]]:
    found: dict[str, float | None] = {}
    absent: dict[str, str] = {}
    found["stated_resolution_a"], why = figure(_dig(block, "resolution", "value"))
    if why:
        absent["stated_resolution_a"] = why
    for name, key in ANALYSIS_CROSSINGS.items():
        frequency, why = figure(_dig(block, "relion_fsc", "intersections", key, "x"))
        found[name] = round(1.0 / frequency, 3) if frequency else None
        if why:
            absent[name] = why
    return found, absent


def analysis_summary(data: Any, emdb_id: str) -> Analysis:
    """What the analysis answer says of the map. Raises UnusableAnswer when it holds no block
    for the map."""
    block = _block(data, emdb_id.removeprefix("EMD-"))
    absent: dict[str, str] = {}
    # A contour level is a density value: zero or negative is a level, not an error.
    recl, why = _score(_dig(block, "recommended_contour_level", "recl"))
    if why:
        absent["recommended_contour_level"] = why
    qscore, inclusion, mmfsc = (
        _per_model(block, "qscore"),
        _per_model(block, "atom_inclusion_by_level"),
        _per_model(block, "mmfsc"),
    )
    fits = []
    for index in dict.fromkeys([*qscore, *inclusion, *mmfsc]):
        parts = [b[index] for b in (qscore, inclusion, mmfsc) if index in b]
        model = _model_id(parts)
        if model is None:
            absent[f"fit {index[:20]}"] = "no PDB id in the model's name"
            continue
        fit: dict[str, Any] = {"model_index": index, "pdb_id": model}
        crossing = _dig(mmfsc.get(index), "data", "intersections", "0.5", "x")
        frequency, why = figure(crossing)
        fit["map_model_fsc_05_a"] = round(1.0 / frequency, 3) if frequency else None
        if why:
            absent[f"fit {index} map_model_fsc_05_a"] = why
        for name, value in (
            ("qscore_average", _dig(qscore.get(index), "data", "averageqscore")),
            ("atom_inclusion", _dig(inclusion.get(index), "average_ai_model")),
        ):
            # Q-scores run from -1 to 1: a negative average is a figure, not an error.
            fit[name], why = _score(value)
            if why:
                absent[f"fit {index} {name}"] = why
        fits.append(fit)
    resolutions, resolutions_absent = _resolutions(block)
    return Analysis(resolutions, resolutions_absent, recl, fits, absent)


def _score(raw: Any) -> tuple[float | None, str | None]:
    if raw is None or raw == "":
        return None, None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None, f"not a number: {str(raw)[:40]!r}"
    if isinstance(raw, bool) or not math.isfinite(value):
        return None, f"not a number: {str(raw)[:40]!r}"
    return value, None


def document(
    emdb_id: str,
    csv_row: tuple[dict[str, str], list[str]] | None,
    analysis: Analysis | str,
) -> dict[str, Any]:
    """The canonical document of one map's figures, whichever route gave each: its resolutions
    from its CSV row `(row, fields the header lacked)` or, without one (None: the CSV route was
    not used), from the analysis; the rest from the analysis, or why there is none (a string)."""
    if csv_row is not None:
        figures, absent = csv_figures(*csv_row)
    elif isinstance(analysis, Analysis):
        figures, absent = dict(analysis.resolutions), dict(analysis.resolutions_absent)
    else:
        figures = dict.fromkeys(CSV_FIGURES)
        absent = dict.fromkeys(CSV_FIGURES, analysis)
    if isinstance(analysis, str):
        figures["recommended_contour_level"] = None
        absent["recommended_contour_level"] = analysis
        fits: list[dict] = []
    else:
        figures["recommended_contour_level"] = analysis.recommended_contour_level
        fits = analysis.fits
        absent.update(analysis.absent)
    return {"emdb_id": emdb_id, "figures": figures, "fits": fits, "absent": absent}


def unanswered(doc: dict[str, Any]) -> set[str]:
    """The figures (and `fits`) this document lacks because the answer was short of them: a
    field the CSV left out, an analysis route that answered 404."""
    missing, no_analysis = MISSING_FIELD.split("{}")[0], NO_ANALYSIS.split("{}")[0]
    names = {
        name
        for name, why in doc["absent"].items()
        if why.startswith(missing) or why.startswith(no_analysis)
    }
    if "recommended_contour_level" in names:
        names.add("fits")
    return names


def holds_nothing(doc: dict[str, Any]) -> bool:
    """Whether a figures document holds no figure at all (a map EMDB never validated, or an
    answer that lost them)."""
    return not doc["fits"] and all(v is None for v in doc["figures"].values())
