"""Where a deposition document breaks EMPIAR's deposition schema, as the installed
empiar-depositor package ships it, and where each missing field would come from.

The one module that needs the optional extra `empiar-mirror[deposition]`: importing it without
the extra raises ModuleNotFoundError, naming one of EXTRA_MODULES.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import empiar_depositor
import jsonschema


@functools.cache
def schema() -> dict[str, Any]:
    """EMPIAR's deposition schema, as the installed empiar-depositor package ships it."""
    source = resources.files(empiar_depositor).joinpath("empiar_deposition.schema.json")
    return json.loads(source.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> jsonschema.Draft7Validator:
    # The schema names no draft ("http://json-schema.org/schema#"); its keywords are draft 7's.
    return jsonschema.Draft7Validator(
        schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


# Where a required deposition field comes from, for a depositor to fill it in (`[]`: any item).
_SOURCES = {
    "title": "from the Dataset's title",
    "release_date": "from the release option",
    "experiment_type": (
        "from an experiment run's additional property empiar:experiment_type (EMPIAR's label), "
        "or its technique (microed, integrative_modeling; cryo_em or cryo_et with EMDB references)"
    ),
    "authors": "from the study's people with role author",
    "authors[].name": "from the person's full_name, or family_name and given_name",
    "corresponding_author": "from the study's person with corresponding: true",
    "principal_investigator": "from the study's people with role principal_investigator",
    "imagesets": "from the data files with file_role raw",
    "citation": "from the study's publications",
    "[].first_name": "from the person's given_name",
    "[].last_name": "from the person's family_name",
    "[].organization": "from the person's affiliation",
    "[].email": "from the person's email",
    "[].country": "from the country of the person's affiliation (organizations)",
    "imagesets[].name": "from the data file's title or file_name",
    "imagesets[].directory": "from the data file's file_path, below its run's raw_data_location",
    "imagesets[].category": (
        "from the data file's x_empiar_category (EMPIAR's label), or its data_type where one "
        "category fits (movie, class_averages, diffraction, volume, 3D particles)"
    ),
    "imagesets[].header_format": (
        "from the data file's x_header_format (EMPIAR's label), or its file_format (not other)"
    ),
    "imagesets[].data_format": (
        "from the data file's x_data_format (EMPIAR's label), or its file_format (not other)"
    ),
    "imagesets[].voxel_type": (
        "lambda-ber has no slot for it: give the data file x_voxel_type (EMPIAR's label)"
    ),
    "imagesets[].num_images_or_tilt_series": (
        "lambda-ber has no slot for it: give the data file x_num_images_or_tilt_series"
    ),
    "imagesets[].frames_per_image": (
        "from the data file's x_frames_per_image, or its image's frames or dimensions_z"
    ),
    "citation[].authors": "from the publication's authors",
    "citation[].published": "from the publication's unpublished",
    "citation[].j_or_nj_citation": "from the publication's journal or book_title",
    "citation[].title": "from the publication's title",
}


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _source(path: str) -> str:
    general = re.sub(r"\[\d+\]", "[]", path)
    field = re.sub(r"^[a-z_]+(?:\[\])?", "[]", general)
    return _SOURCES.get(general) or _SOURCES.get(field) or ""


def _problems(error: jsonschema.ValidationError) -> list[tuple[list[Any], str]]:
    """An error as (field path, what is missing or wrong): one per missing field."""
    parts = list(error.absolute_path)
    value, rule, instance = error.validator_value, error.validator, error.instance
    if rule == "required":
        missing = [[*parts, name] for name in value if name not in instance]
        return [(path, f"missing; {_source(_path(path))}".rstrip("; ")) for path in missing]
    path = _path(parts)
    if rule == "minItems":
        message = f"{len(instance)} given, at least {value} needed; {_source(path)}".rstrip("; ")
    elif rule == "enum" and parts and parts[-1] == "country":
        message = f"{instance!r} is not an ISO 3166-1 alpha-2 country code"
    elif rule == "enum":
        message = f"{instance!r} is not one of {', '.join(map(repr, value))}"
    elif rule == "pattern":
        message = f"{instance!r} does not match {value}"
    elif rule == "minLength":
        message = f"{len(instance)} characters, at least {value} needed"
    elif rule == "maxLength":
        message = f"{len(instance)} characters, at most {value} allowed"
    elif rule == "format":
        message = f"{instance!r} is not a valid {value}"
    else:
        message = error.message
    return [(parts, message)]


def _schema_order(parts: list[Any]) -> list[int]:
    """A field path as positions in the schema (item numbers for lists): document order."""
    node, key = schema(), []
    for part in parts:
        if isinstance(part, int):
            key.append(part)
            node = node.get("items", {})
        else:
            names = list(node.get("properties", {}))
            key.append(names.index(part) if part in names else len(names))
            node = node.get("properties", {}).get(part, {})
    return key


def problems(deposition: Mapping[str, Any]) -> list[str]:
    """Where the document breaks EMPIAR's deposition schema: "field.path: what", in field order."""
    found = [
        (parts, error.validator != "enum", what)
        for error in _validator().iter_errors(deposition)
        for parts, what in _problems(error)
    ]
    # One line a field: an unknown label breaks both `type` and `enum`, and the latter says more.
    found.sort(key=lambda p: (_schema_order(p[0]), p[1]))
    lines: dict[str, str] = {}
    for parts, _, what in found:
        lines.setdefault(_path(parts) or "(document)", what)
    return [f"{path}: {what}" for path, what in lines.items()]
