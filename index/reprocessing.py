""" "Can I reprocess this?": a verdict per entry with what is missing and why, in tiers modelled
on lambda-ber's RO-Crate sufficiency levels: findable (a title, a release date, a DOI), core
metadata (imagesets described: categories, formats, counts, pixel size, voxel type,
dimensions), acquisition complete (raw movies or micrographs deposited, frames and dose where
the record can hold them, a gain reference where the movies need one, the files the imagesets
declare). Read from the completeness checks and the listed files, after both are computed.

Each gap names why: `not deposited` (the files are not on the server), `not registered` (the
record does not say), `not applicable` (explained, never counted against the entry), `not
listed yet` (the files have not been listed: no verdict until they are).
"""

from __future__ import annotations

import json

from sqlite_utils import Database

TIERS = ("findable", "core metadata", "acquisition complete")
RAW_ROLES = ("movie", "micrograph", "tilt_series")
# Completeness rules read per tier, with the reason a failure gets.
CORE_RULES = ("imagesets", "pixel_size", "voxel_type", "image_dimensions")
ACQUISITION_RULES = {
    "frames_and_dose": ("frames and dose", "not registered"),
    "gain_reference": ("gain reference", "not deposited"),
    "files_match_declaration": ("every declared image", "not deposited"),
}
TITLE_AND_DATE, DOI = "title and release date", "entry DOI"
UNLISTED, NO_RAW = "files", "raw movies or micrographs"
# The tier each gap holds back: the stored gaps are one list, and their readers (the RO-Crate
# export) say which tier each one blocks.
GAP_TIERS = {
    TITLE_AND_DATE: "findable",
    DOI: "findable",
    **{rule.replace("_", " "): "core metadata" for rule in CORE_RULES},
    UNLISTED: "acquisition complete",
    NO_RAW: "acquisition complete",
    **{what: "acquisition complete" for what, _ in ACQUISITION_RULES.values()},
}


def _gap(what: str, reason: str, detail: str) -> dict[str, str]:
    return {"what": what, "reason": reason, "detail": detail}


def verdict(
    entry: dict, checks: dict[str, tuple[int | None, str]], has_raw: bool
) -> tuple[int | None, str | None, list[dict[str, str]]]:
    """(reprocessable 1/0/None, the highest tier reached, the gaps) for one entry."""
    findable = []
    if not entry["title"] or not entry["release_date"]:
        findable.append(_gap(TITLE_AND_DATE, "not registered", "the record lacks one"))
    if not entry["entry_doi"]:
        findable.append(_gap(DOI, "not registered", "the record names no DOI"))
    core = [
        _gap(rule.replace("_", " "), "not registered", checks[rule][1])
        for rule in CORE_RULES
        if checks.get(rule, (None, ""))[0] == 0
    ]
    acquisition, explained = [], []
    if entry["files_listed_at"] is None:
        acquisition.append(_gap(UNLISTED, "not listed yet", "the entry's files are not listed"))
    elif not has_raw:
        acquisition.append(_gap(NO_RAW, "not deposited", "none among the listed files"))
    for rule, (what, reason) in ACQUISITION_RULES.items():
        passed, detail = checks.get(rule, (None, ""))
        if passed == 0:
            acquisition.append(_gap(what, reason, detail))
        elif passed is None and rule != "files_match_declaration":
            explained.append(_gap(what, "not applicable", detail))
    tier = None
    for name, gaps in zip(TIERS, (findable, core, acquisition), strict=True):
        if gaps:
            break
        tier = name
    if entry["files_listed_at"] is None:
        value = None
    else:
        value = int(not (findable or core or acquisition))
    return value, tier, findable + core + acquisition + explained


def refresh(db: Database) -> int:
    """Recompute every entry's verdict; write only the rows that change. Call inside a
    transaction, after the completeness checks."""
    checks: dict[str, dict[str, tuple[int | None, str]]] = {}
    for accession, rule, passed, detail in db.execute(
        "select accession, rule, passed, detail from metadata_check"
    ):
        checks.setdefault(accession, {})[rule] = (passed, detail)
    placeholders = ", ".join("?" * len(RAW_ROLES))
    with_raw = {
        r[0]
        for r in db.execute(
            f"select distinct accession from empiar_file where role in ({placeholders}) "
            "and removed_on is null",
            RAW_ROLES,
        )
    }
    changed = 0
    for row in db.execute(
        "select accession, title, release_date, entry_doi, files_listed_at, reprocessable, "
        "reprocessable_tier, reprocessing_gaps from empiar_entries"
    ).fetchall():
        entry = dict(
            zip(
                (
                    "accession",
                    "title",
                    "release_date",
                    "entry_doi",
                    "files_listed_at",
                    "reprocessable",
                    "reprocessable_tier",
                    "reprocessing_gaps",
                ),
                row,
                strict=True,
            )
        )
        value, tier, gaps = verdict(
            entry, checks.get(entry["accession"], {}), entry["accession"] in with_raw
        )
        new = (value, tier, json.dumps(gaps, ensure_ascii=False))
        if new != row[5:]:
            db.execute(
                "update empiar_entries set reprocessable = ?, reprocessable_tier = ?, "
                "reprocessing_gaps = ? where accession = ?",
                [*new, entry["accession"]],
            )
            changed += 1
    return changed
