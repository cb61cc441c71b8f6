"""What an EMPIAR entry holds of what reprocessing and citing it need: one list of rules.

The rules take EMPIAR's deposition schema's required fields (an entry's title, release date and
experiment type; its authors, corresponding author and principal investigator; its imagesets'
name, directory, category, formats, image count, frames per image and voxel type; a citation)
and add what a reprocessing needs beyond them: pixel size, image dimensions, frames and dose for
movies, a gain reference where movies are stored as raw counts, the detector, a linked map for
the raw data behind EMDB maps, a DOI and ORCIDs.

Each rule reads one entry's rows (its data_file imagesets with EMPIAR's values verbatim in the
x_ columns, its people, publications and their details, linked maps and their doses, its
front-door row) and says passed, failed, or does not apply (None: a tomogram has no dose to
state), with a one-line detail. `refresh` writes `metadata_check` and
`empiar_entries.completeness` (the percentage of the rules that apply which pass) and
`completeness_bin`, touching only the rows that change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index.reading import accession_ranges, json_list, rows

# Techniques whose raw data are movies from a direct electron detector: there, frames, dose,
# gain and the detector decide what a reprocessing can do. Volume EM's "multiframe" imagesets
# are serial sections, not dose-fractionated exposures.
MOVIE_TECHNIQUES = frozenset({"cryo_em", "cryo_et"})
DETECTOR_TECHNIQUES = frozenset({"cryo_em", "cryo_et", "microed"})
MOVIE_CATEGORIES = frozenset(
    {"micrographs - multiframe", "picked particles - multiframe - unprocessed"}
)
# Movies stored as floats were normalised (gain-corrected) before deposition; integer ones are
# counts as the camera wrote them, which need the gain reference to be read.
FLOAT_VOXEL_TYPES = frozenset({"32 BIT FLOAT"})
# Imagesets whose declared count is of images many to a file (particles in stacks).
PER_FILE_MANY = re.compile(r"particles", re.IGNORECASE)
# The files an imageset must hold, as a share of the images it declares: a load-balanced listing
# may drop a name or two, and more files than images (tilts, sections) is no gap.
FILES_FOUND_SHARE = 0.95
_GAIN = re.compile(r"\bgain\b", re.IGNORECASE)
_NO_GAIN = re.compile(r"\b(no|without( a)?)\s+gain\b", re.IGNORECASE)
# The deposition schema's required imageset fields other than the voxel type (its own rule).
IMAGESET_FIELDS = {
    "title": "name",
    "file_path": "directory",
    "x_empiar_category": "category",
    "x_header_format": "header format",
    "x_data_format": "data format",
    "x_num_images_or_tilt_series": "image count",
    "x_frames_per_image": "frames per image",
}
PEOPLE_ROLES = {
    "author": "authors",
    "contact": "corresponding author",
    "principal_investigator": "principal investigator",
}
BINS = ((100, "100 %"), (75, "75–99 %"), (50, "50–74 %"), (0, "< 50 %"))

Verdict = tuple[bool | None, str]


@dataclass
class Entry:
    """One entry's rows, as the rules read them."""

    row: dict[str, Any]
    imagesets: list[dict[str, Any]] = field(default_factory=list)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # person id -> name, roles
    publications: list[dict[str, Any]] = field(default_factory=list)
    maps: list[str] = field(default_factory=list)  # linked EMDB maps held in the mirror
    doses: list[float] = field(default_factory=list)  # e-/Å², from the entry or its maps


@dataclass(frozen=True)
class Rule:
    """A name (`metadata_check.rule`), a one-line description and the check itself."""

    name: str
    description: str
    check: Callable[[Entry], Verdict]


def _label(imageset: dict[str, Any]) -> str:
    return "imageset " + imageset["id"].rsplit("/", 1)[1]


def _each_imageset(
    entry: Entry,
    missing: Callable[[dict[str, Any]], list[str]],
    skip: Callable[[dict[str, Any]], bool] = lambda i: False,
) -> Verdict:
    """Passes when no imageset misses anything; does not apply without imagesets."""
    imagesets = [i for i in entry.imagesets if not skip(i)]
    if not imagesets:
        return None, "no imagesets this rule reads"
    gaps = [f"{_label(i)}: no {', '.join(m)}" for i in imagesets if (m := missing(i))]
    if gaps:
        return False, "; ".join(gaps)
    return True, f"all {len(imagesets)} imagesets"


def _described(entry: Entry) -> Verdict:
    fields = {"title": "title", "release_date": "release date", "experiment_type": "type"}
    missing = [label for column, label in fields.items() if not entry.row[column]]
    if missing:
        return False, "no " + ", ".join(missing)
    return True, f"{entry.row['experiment_type']}, released {entry.row['release_date']}"


def _people(entry: Entry) -> Verdict:
    roles = {r for p in entry.people.values() for r in p["roles"]}
    missing = [label for role, label in PEOPLE_ROLES.items() if role not in roles]
    if missing:
        return False, "no " + ", ".join(missing)
    return True, f"{len(entry.people)} people"


def _orcids(entry: Entry) -> Verdict:
    if not entry.people:
        return None, "no people listed"
    without = [p["name"] or "unnamed" for p in entry.people.values() if not p["orcid"]]
    if without:
        return False, f"{len(without)} of {len(entry.people)} without: " + ", ".join(without)
    return True, f"all {len(entry.people)} people"


def _citation(entry: Entry) -> Verdict:
    if not entry.publications:
        return False, "no citation"
    with_doi = [p["doi"] for p in entry.publications if p["doi"]]
    if with_doi:
        return True, with_doi[0]
    if all(p["unpublished"] for p in entry.publications):
        return False, "unpublished, no DOI"
    return False, "citation without a DOI"


def _imagesets(entry: Entry) -> Verdict:
    if not entry.imagesets:
        return False, "no imagesets"
    return _each_imageset(
        entry, lambda i: [label for c, label in IMAGESET_FIELDS.items() if i[c] in (None, "")]
    )


def _voxel_type(entry: Entry) -> Verdict:
    return _each_imageset(entry, lambda i: [] if i["x_voxel_type"] else ["voxel type"])


def _pixel_size(entry: Entry) -> Verdict:
    # A diffraction image's pixels are in reciprocal space: EMPIAR states no size in Å for them.
    return _each_imageset(
        entry,
        lambda i: [] if i["x_pixel_width"] and i["x_pixel_height"] else ["pixel size"],
        skip=lambda i: i["x_empiar_category"] == "diffraction images",
    )


def _image_dimensions(entry: Entry) -> Verdict:
    return _each_imageset(
        entry, lambda i: [] if i["x_image_width"] and i["x_image_height"] else ["width x height"]
    )


def _movies(entry: Entry) -> list[dict[str, Any]]:
    if entry.row["technique"] not in MOVIE_TECHNIQUES:
        return []
    return [i for i in entry.imagesets if i["x_empiar_category"] in MOVIE_CATEGORIES]


def _frames_and_dose(entry: Entry) -> Verdict:
    movies = _movies(entry)
    if not movies:
        return None, "no cryo-EM movies"
    gaps = [
        f"{_label(i)}: {i['x_frames_per_image'] or 'no'} frames"
        for i in movies
        if not (i["x_frames_per_image"] or 0) > 1
    ]
    if not entry.doses:
        gaps.append("no total dose (EMPIAR records none; no linked map states one)")
    if gaps:
        return False, "; ".join(gaps)
    frames = sorted({i["x_frames_per_image"] for i in movies})
    return True, f"{'/'.join(map(str, frames))} frames, {entry.doses[0]:g} e-/Å²"


def _gain_reference(entry: Entry) -> Verdict:
    # A movie of unstated voxel type says nothing either way (voxel_type fails it).
    raw = [
        i
        for i in _movies(entry)
        if i["x_voxel_type"] and i["x_voxel_type"] not in FLOAT_VOXEL_TYPES
    ]
    if not raw:
        return None, "no cryo-EM movies stored as counts"
    if entry.row["files_listed_at"]:  # the files say, not the words
        if entry.row["has_gain_reference"]:
            return True, "a gain reference file is listed"
        kind = raw[0]["x_voxel_type"]
        return False, f"{_label(raw[0])}: {kind} movies, and no gain reference file is listed"
    for imageset in entry.imagesets:
        text = f"{imageset['title'] or ''}\n{imageset['description'] or ''}"
        if _GAIN.search(text) and not _NO_GAIN.search(text):
            return True, f"{_label(imageset)} names a gain reference"
    # The citation's details describe the data collection in some entries.
    for publication in entry.publications:
        text = publication["description"] or ""
        if _GAIN.search(text) and not _NO_GAIN.search(text):
            return True, "the citation's details name a gain reference"
    kind = raw[0]["x_voxel_type"]
    return False, f"{_label(raw[0])}: {kind} movies, and no imageset names a gain reference"


def _files_match_declaration(entry: Entry) -> Verdict:
    if not entry.row["files_listed_at"]:
        return None, "files not listed"
    # Imagesets sharing a directory share its files: held to their declarations together.
    groups: dict[str, list[dict[str, Any]]] = {}
    for imageset in entry.imagesets:
        if imageset["x_num_images_or_tilt_series"] and not PER_FILE_MANY.search(
            imageset["x_empiar_category"] or ""
        ):
            groups.setdefault(imageset["file_path"] or "", []).append(imageset)
    if not groups:
        return None, "no imageset states an image count a file count can be held to"
    gaps = []
    for members in groups.values():
        declared = sum(i["x_num_images_or_tilt_series"] for i in members)
        found = sum(i["x_files_found"] or 0 for i in members)
        if found < declared * FILES_FOUND_SHARE:
            label = " and ".join(_label(i) for i in members)
            gaps.append(f"{label}: {found} files for {declared} declared")
    if gaps:
        return False, "; ".join(gaps)
    return True, f"all {len(groups)} imageset directories hold at least the images declared"


def _detector(entry: Entry) -> Verdict:
    if entry.row["technique"] not in DETECTOR_TECHNIQUES:
        return None, f"technique {entry.row['technique']}"
    detectors = json_list(entry.row["detectors"])
    if detectors:
        return True, ", ".join(detectors)
    return False, "EMPIAR records none and no linked map names one"


def _linked_map(entry: Entry) -> Verdict:
    if entry.row["experiment_type"] != "EMDB":
        return None, f"experiment type {entry.row['experiment_type']}"
    if entry.maps:
        return True, ", ".join(entry.maps)
    named = json_list(entry.row["emdb_ids"])
    if named:
        return False, f"names {', '.join(named)}, not in this mirror"
    return False, "names no EMDB map"


RULES: list[Rule] = [
    Rule("described", "A title, a release date and an experiment type.", _described),
    Rule("people", "Authors, a corresponding author and a principal investigator.", _people),
    Rule("orcids", "Every person listed has an ORCID.", _orcids),
    Rule("citation", "A citation with a DOI.", _citation),
    Rule(
        "imagesets",
        "Imagesets, each with a name, directory, category, header and data formats, "
        "image count and frames per image.",
        _imagesets,
    ),
    Rule("voxel_type", "Every imageset states its voxel type.", _voxel_type),
    Rule(
        "pixel_size",
        "Every imageset (diffraction images aside) states its pixel width and height.",
        _pixel_size,
    ),
    Rule(
        "image_dimensions",
        "Every imageset states its image width and height.",
        _image_dimensions,
    ),
    Rule(
        "frames_and_dose",
        "Cryo-EM/ET movies: more than one frame each, and a total dose (from a linked map).",
        _frames_and_dose,
    ),
    Rule(
        "gain_reference",
        "Cryo-EM/ET movies stored as integer counts: an imageset names a gain reference.",
        _gain_reference,
    ),
    Rule(
        "files_match_declaration",
        "Listed entries: each imageset's directory holds at least 95 % as many files as the "
        "images it declares (particle images aside: many to a stack file).",
        _files_match_declaration,
    ),
    Rule(
        "detector",
        "Cryo-EM, cryo-ET and MicroED: the detector is known (from a linked map).",
        _detector,
    ),
    Rule("linked_map", "EMDB-type entries: a linked EMDB map is in the mirror.", _linked_map),
]


def score(verdicts: list[bool | None]) -> int | None:
    """The percentage of the rules that apply which pass."""
    applied = [v for v in verdicts if v is not None]
    return round(100 * sum(applied) / len(applied)) if applied else None


def score_bin(value: int | None) -> str | None:
    """Text bins for faceting."""
    if value is None:
        return None
    return next(label for floor, label in BINS if value >= floor)


def _accession(row_id: str) -> str:
    """`empiar:EMPIAR-1/imageset/2` -> `EMPIAR-1`."""
    return row_id.split(":", 1)[1].split("/", 1)[0]


def _doses(db: Database) -> dict[str, float]:
    """Experiment id -> its total dose, of entries and maps alike (a small dict of floats)."""
    doses: dict[str, float] = {}
    for experiment_id, dose in db.execute(
        "select experiment_id, total_dose_value from data_collection_strategy "
        "where total_dose_value is not null union all select id, total_dose_value "
        "from experiment_run where total_dose_value is not null",
    ):
        doses.setdefault(experiment_id, dose)
    return doses


def load(db: Database, first: str, last: str, doses: dict[str, float]) -> dict[str, Entry]:
    """The rows of the entries from `first` to `last` (accessions), a query per table."""
    ids = ["empiar:" + first, "empiar:" + last + "0"]
    entries = {
        r["accession"]: Entry(r)
        for r in rows(
            db,
            "select accession, title, release_date, experiment_type, technique, emdb_ids, "
            "detectors, completeness, files_listed_at, has_gain_reference from empiar_entries "
            "where accession between ? and ? "
            "order by accession",
            [first, last],
        )
    }
    for r in rows(
        db,
        "select * from data_file where id >= ? and id < ? and id like '%/imageset/%' order by id",
        ids,
    ):
        if entry := entries.get(_accession(r["id"])):
            entry.imagesets.append(r)
    for r in rows(
        db,
        "select sp.study_id, sp.person_id, sp.role, p.orcid, p.full_name from study_person sp "
        "join person p on p.id = sp.person_id where sp.study_id >= ? and sp.study_id < ? "
        "order by sp.study_id, sp.author_position, sp.person_id",
        ids,
    ):
        if entry := entries.get(_accession(r["study_id"])):
            person = entry.people.setdefault(
                r["person_id"], {"name": r["full_name"], "orcid": r["orcid"], "roles": set()}
            )
            person["roles"].add(r["role"])
    for r in rows(
        db,
        "select sp.study_id, p.doi, p.unpublished, p.description from study_publication sp "
        "join publication p on p.id = sp.publication_id where sp.study_id >= ? "
        "and sp.study_id < ? order by sp.study_id, sp.is_primary desc, p.id",
        ids,
    ):
        if entry := entries.get(_accession(r["study_id"])):
            entry.publications.append(r)
    for accession, entry in entries.items():
        if dose := doses.get(f"empiar:{accession}/experiment"):
            entry.doses.append(dose)
    for accession, emdb_id in db.execute(
        "select accession, emdb_id from empiar_emdb where accession between ? and ? "
        "order by accession, emdb_id",
        [first, last],
    ):
        if entry := entries.get(accession):
            entry.maps.append(emdb_id)
            if dose := doses.get(f"emdb:{emdb_id}/experiment"):
                entry.doses.append(dose)
    return entries


def check(entry: Entry) -> dict[str, Verdict]:
    """Every rule's verdict on one entry."""
    return {rule.name: rule.check(entry) for rule in RULES}


def refresh(db: Database) -> int:
    """Recompute every entry's checks and score; write only the rows that change.

    Returns the number of rows changed. Call inside a transaction, after the links are written.
    """
    changed = 0
    doses = _doses(db)
    for first, last in accession_ranges(db):
        old = {
            (a, rule): (passed, detail)
            for a, rule, passed, detail in db.execute(
                "select accession, rule, passed, detail from metadata_check "
                "where accession between ? and ?",
                [first, last],
            )
        }
        for accession, entry in load(db, first, last, doses).items():
            verdicts = check(entry)
            for rule, (passed, detail) in verdicts.items():
                value = (None if passed is None else int(passed), detail)
                if old.pop((accession, rule), None) != value:
                    db.execute(
                        "insert or replace into metadata_check (accession, rule, passed, detail) "
                        "values (?, ?, ?, ?)",
                        [accession, rule, *value],
                    )
                    changed += 1
            value = score([passed for passed, _ in verdicts.values()])
            if entry.row["completeness"] != value:
                db.execute(
                    "update empiar_entries set completeness = ?, completeness_bin = ? "
                    "where accession = ?",
                    [value, score_bin(value), accession],
                )
                changed += 1
        # Rows of rules no longer in the list.
        for key in old:
            db.execute("delete from metadata_check where accession = ? and rule = ?", list(key))
            changed += 1
    # Rows of entries no longer in the file.
    gone = db.execute(
        "delete from metadata_check where accession not in (select accession from empiar_entries)"
    )
    return changed + gone.rowcount
