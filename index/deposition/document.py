"""The EMPIAR deposition document of a lambda-ber Dataset document, in the JSON that EMPIAR's
deposition API and EBI's `empiar-depositor` take."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from empiar_mirror.index.deposition.codes import (
    CATEGORIES,
    CATEGORY_OF_3D_PARTICLES,
    CATEGORY_OF_3D_RAW_DATA,
    CATEGORY_OF_DATA_TYPE,
    DATA_FORMATS,
    EMDB_TECHNIQUES,
    EXPERIMENT_TYPE_OF_TECHNIQUE,
    EXPERIMENT_TYPES,
    FORMAT_CODE_OF_FILE_FORMAT,
    HEADER_FORMATS,
    SCALES,
    UNSTATED_VOLUME_FRAMES,
    VOXEL_TYPES,
)
from empiar_mirror.index.deposition.countries import country_code
from empiar_mirror.index.deposition.dataset import Dataset, items, objects, stripped
from empiar_mirror.index.deposition.names import author_name, email, orcid, person_name
from empiar_mirror.index.lambda_ber.record import SELF

# Extension slots of a DataFile that are EMPIAR imageset fields under the same name.
_COUNTS = ("num_images_or_tilt_series", "frames_per_image", "frame_range_min", "frame_range_max")
_SIZES = ("pixel_width", "pixel_height")
_PATTERNS = (
    "micrographs_file_pattern",
    "picked_particles_file_pattern",
    "picked_particles_directory",
)
_DIMENSIONS = ("image_width", "image_height")
# Pixel size units -> Angstroms (EMPIAR's unit).
_ANGSTROMS = {
    "angstroms": 1.0,
    "angstrom": 1.0,
    "å": 1.0,
    "a": 1.0,
    "nm": 10.0,
    "nanometers": 10.0,
    "µm": 1e4,
    "um": 1e4,
    "micrometers": 1e4,
}


def deposition_from_dataset(doc: Any, release: str = "RE") -> dict[str, Any]:
    """The EMPIAR deposition document of a lambda-ber Dataset document; pure.

    `release` is EMPIAR's release option: RE once processed, EP with the related EMDB entry, HP
    with the primary citation, HO a year after deposition.
    """
    d = Dataset(doc)
    references = _references(d)
    return {
        **_present(
            title=doc.get("title") or d.study.get("title"),
            release_date=release,
            experiment_type=_experiment_type(d, bool(references["cross_references"])),
            scale=_by_label(d.property("empiar:scale"), SCALES),
        ),
        **references,
        "authors": [
            {
                **_present(name=person_name(p)),
                "order_id": i,
                "author_orcid": orcid(p.get("orcid")),
            }
            for i, p in enumerate(d.people("author"))
        ],
        **_present(corresponding_author=_corresponding_author(d)),
        "principal_investigator": [_contact(d, p) for p in d.people("principal_investigator")],
        "imagesets": [_imageset(*raw) for raw in d.raw_data()],
        "citation": [_citation(p) for p in d.publications()],
    }


def dump(deposition: Mapping[str, Any]) -> str:
    """The document as the JSON text empiar-depositor reads."""
    return json.dumps(deposition, indent=2, ensure_ascii=False) + "\n"


def _present(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def _coded(label: Any, codes: Mapping[str, str], *, upper: bool = True) -> str | None:
    """EMPIAR's coded pair for a label: "('T2', '')", or "('OT', 'LABEL')" for any other."""
    text = stripped(label)
    if text is None:
        return None
    code = {k.casefold(): v for k, v in codes.items()}.get(text.casefold())
    if code:
        return f"('{code}', '')"
    return f"('OT', '{text.upper() if upper else text}')"


def _by_label(label: Any, codes: Mapping[str, Any]) -> Any:
    """A label's code (case aside); an unknown label as it is, for the schema to reject."""
    text = stripped(label)
    if text is None:
        return None
    return {k.casefold(): v for k, v in codes.items()}.get(text.casefold(), text)


def _references(d: Dataset) -> dict[str, list[dict[str, str]]]:
    """The study's cross references, by the archive EMPIAR files them under."""
    out: dict[str, list[dict[str, str]]] = {
        "cross_references": [],
        "biostudies_references": [],
        "idr_references": [],
        "empiar_references": [],
    }
    for ref in objects(d.study, "database_cross_references"):
        name, db = stripped(ref.get("database_id")), ref.get("database_name")
        if name is None or ref.get("description") == SELF:
            continue
        if db == "emdb":
            out["cross_references"].append({"name": name})
        elif db == "empiar":
            out["empiar_references"].append({"name": name})
        elif db == "other" and name.startswith("S-"):
            out["biostudies_references"].append({"name": name})
        elif db == "other" and name.casefold().startswith("idr"):
            out["idr_references"].append({"name": name})
    return out


def _experiment_type(d: Dataset, cites_emdb: bool) -> Any:
    """EMPIAR's code: from the archive's own label, else from a technique that decides it."""
    label = d.property("empiar:experiment_type")
    if label is not None:
        return _by_label(label, EXPERIMENT_TYPES)
    techniques = {r.get("technique") for r in d.experiments}
    for technique, code in EXPERIMENT_TYPE_OF_TECHNIQUE.items():
        if techniques == {technique}:
            return code
    if cites_emdb and techniques and techniques <= EMDB_TECHNIQUES:
        return EXPERIMENT_TYPES["EMDB"]
    return None


def _corresponding_author(d: Dataset) -> dict[str, Any] | None:
    person = d.corresponding()
    return None if person is None else _contact(d, person)


def _contact(d: Dataset, person: Mapping[str, Any]) -> dict[str, Any]:
    """A corresponding author or principal investigator, with their affiliation's address."""
    org = d.affiliation(person)
    return _present(
        author_orcid=orcid(person.get("orcid")),
        first_name=stripped(person.get("given_name")),
        last_name=stripped(person.get("family_name")),
        organization=stripped(person.get("affiliation")) or stripped(org.get("title")),
        town_or_city=stripped(org.get("location")),
        email=email(person.get("email")),
        country=country_code(org.get("country")),
    )


def _imageset(
    data_file: Mapping[str, Any], run: Mapping[str, Any], image: Mapping[str, Any]
) -> dict[str, Any]:
    """The imageset of one data file of raw data."""
    is_3d = "voxel_size" in image or "dimensions_z" in image
    data_type = data_file.get("data_type", "")
    category = stripped(data_file.get("x_empiar_category")) or (
        CATEGORY_OF_3D_PARTICLES
        if is_3d and data_type == "particles"
        else CATEGORY_OF_3D_RAW_DATA
        if is_3d and data_type == "raw_data"
        else CATEGORY_OF_DATA_TYPE.get(data_type)
    )
    file_format = data_file.get("file_format")
    code = FORMAT_CODE_OF_FILE_FORMAT.get(file_format or "")
    derived_format = (
        f"('{code}', '')"
        if code
        else f"('OT', '{file_format.replace('_', ' ').upper()}')"
        if isinstance(file_format, str) and file_format not in ("", "other")
        else None
    )
    # A section stack states its in-plane pixel even where its voxel is not cubic.
    pixel = _angstroms(image.get("pixel_size")) or _angstroms(image.get("voxel_size"))
    derived = {
        "frames_per_image": _count(image.get("frames"))
        or _count(image.get("dimensions_z"))
        or (UNSTATED_VOLUME_FRAMES if is_3d else None),
        "pixel_width": pixel,
        # lambda-ber's one pixel size is that of a square pixel.
        "pixel_height": pixel,
        "image_width": _count(image.get("dimensions_x")),
        "image_height": _count(image.get("dimensions_y")),
    }

    def verbatim(names: tuple[str, ...]) -> dict[str, Any]:
        return {
            name: data_file[f"x_{name}"]
            if data_file.get(f"x_{name}") is not None
            else derived.get(name)
            for name in names
        }

    # In the schema's order.
    return _present(
        name=stripped(data_file.get("title")) or stripped(data_file.get("file_name")),
        directory=_directory(data_file.get("file_path"), run.get("raw_data_location")),
        category=_coded(category, CATEGORIES, upper=False),
        header_format=_coded(data_file.get("x_header_format"), HEADER_FORMATS) or derived_format,
        data_format=_coded(data_file.get("x_data_format"), DATA_FORMATS) or derived_format,
        **verbatim(_COUNTS),
        voxel_type=_coded(data_file.get("x_voxel_type"), VOXEL_TYPES),
        **verbatim(_SIZES),
        details=data_file.get("description"),
        **verbatim(_PATTERNS),
        **verbatim(_DIMENSIONS),
    )


def _directory(path: Any, base: Any) -> str | None:
    """The data's directory within the entry: below the run's raw data location, or relative."""
    text = stripped(path)
    if text is None:
        return None
    root = f"{base.rstrip('/')}/" if stripped(base) else None
    if root and text.startswith(root):
        text = text[len(root) :]
    elif "://" in text:
        return None
    return text.strip("/") or None


def _number(quantity: Any) -> float | None:
    if not isinstance(quantity, Mapping):
        return None
    value = quantity.get("numeric_value")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(quantity: Any) -> int | None:
    value = _number(quantity)
    return int(value) if value is not None and value == int(value) else None


def _angstroms(quantity: Any) -> float | None:
    value = _number(quantity)
    factor = _ANGSTROMS.get(str(quantity.get("unit", "")).casefold()) if value else None
    # Rounded: a unit conversion must not add float noise to a depositor's value.
    return round(value * factor, 6) if value is not None and factor else None


def _citation(pub: Mapping[str, Any]) -> dict[str, Any]:
    unpublished = pub.get("unpublished")
    journal = pub.get("journal") or pub.get("journal_abbreviation")
    book = pub.get("book_title") or pub.get("book_publisher")
    year = pub.get("year")
    return _present(
        authors=[
            {"name": author_name(name), "order_id": i, "author_orcid": None}
            for i, name in enumerate(n for n in items(pub, "authors") if isinstance(n, str))
        ],
        published=None if not isinstance(unpublished, bool) else not unpublished,
        j_or_nj_citation=True if journal else False if book else None,
        title=pub.get("title"),
        volume=pub.get("volume"),
        issue=pub.get("issue"),
        first_page=pub.get("page_first"),
        last_page=pub.get("page_last"),
        year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
        language=pub.get("language"),
        doi=_unprefixed(pub.get("doi"), "doi:"),
        pubmedid=_unprefixed(pub.get("pubmed_id"), "pmid:"),
        journal=pub.get("journal"),
        journal_abbreviation=pub.get("journal_abbreviation"),
        country=country_code(pub.get("journal_country")),
        book_chapter_title=pub.get("book_title"),
        publisher=pub.get("book_publisher"),
        publication_location=pub.get("book_publisher_city"),
    )


def _unprefixed(curie: Any, prefix: str) -> str | None:
    text = stripped(curie)
    return text.removeprefix(prefix) if text else None
