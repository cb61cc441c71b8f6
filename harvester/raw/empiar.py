"""The EMPIAR entry as the REST API really serves it (API-NOTES §1.6–1.9), quirks included."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from empiar_mirror.harvester.raw.normalize import (
    CleanStr,
    LooseFloat,
    LooseInt,
    LooseStr,
    NameList,
    SizeStr,
    listify,
)


class _Raw(BaseModel):
    # Fields appear over time: keep unknown ones rather than fail.
    model_config = ConfigDict(extra="allow")


class Author(_Raw):
    name: LooseStr = None
    author_orcid: LooseStr = None


class Contact(_Raw):
    """A corresponding author (wrapped in `author`) or a principal investigator (flat)."""

    author_orcid: LooseStr = None
    first_name: LooseStr = None
    middle_name: LooseStr = None
    last_name: LooseStr = None
    organization: LooseStr = None
    street: LooseStr = None
    town_or_city: LooseStr = None
    state_or_province: LooseStr = None
    post_or_zip: LooseStr = None
    country: LooseStr = None
    email: LooseStr = None

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.first_name, self.middle_name, self.last_name) if p]
        return " ".join(parts) or None


class Grant(_Raw):
    funding_body: LooseStr = None
    code: LooseStr = None
    country: LooseStr = None


class Citation(_Raw):
    authors: list[Author] = Field(default_factory=list)
    editors: list[Author] = Field(default_factory=list)
    published: bool | None = None
    j_or_nj_citation: bool | None = None
    preprint: bool | None = None
    title: LooseStr = None
    journal: LooseStr = None
    journal_abbreviation: LooseStr = None
    volume: LooseStr = None
    issue: LooseStr = None
    first_page: LooseStr = None
    last_page: LooseStr = None
    year: LooseInt = None
    language: LooseStr = None
    country: LooseStr = None
    doi: LooseStr = None
    pubmedid: LooseStr = None
    details: LooseStr = None

    @field_validator("authors", "editors", mode="before")
    @classmethod
    def _unwrap_authors(cls, value: Any) -> list:
        return [a.get("author", a) if isinstance(a, dict) else a for a in listify(value)]

    @field_validator("doi", mode="after")
    @classmethod
    def _bare_doi(cls, value: str | None) -> str | None:
        if value and value.lower().startswith("doi:"):
            return value[4:]
        return value


class Imageset(_Raw):
    name: LooseStr = None
    directory: LooseStr = None
    category: LooseStr = None
    header_format: LooseStr = None
    data_format: LooseStr = None
    num_images_or_tilt_series: LooseInt = None
    frames_per_image: LooseInt = None
    frame_range_min: LooseInt = None
    frame_range_max: LooseInt = None
    voxel_type: LooseStr = None
    pixel_width: LooseFloat = None
    pixel_height: LooseFloat = None
    image_width: LooseInt = None
    image_height: LooseInt = None
    details: LooseStr = None
    micrographs_file_pattern: LooseStr = None
    picked_particles_file_pattern: LooseStr = None
    picked_particles_directory: LooseStr = None


class Entry(_Raw):
    """One EMPIAR entry; `accession` comes from the response's wrapping key, not the body."""

    accession: str
    title: CleanStr
    status: LooseStr = None
    deposition_date: LooseStr = None
    release_date: LooseStr = None
    update_date: LooseStr = None
    obsolete_date: LooseStr = None
    dataset_size: SizeStr = None
    experiment_type: LooseStr = None
    scale: LooseStr = None
    entry_doi: LooseStr = None
    authors: list[Author] = Field(default_factory=list)
    corresponding_author: Contact | None = None
    principal_investigator: list[Contact] = Field(default_factory=list)
    grant_references: list[Grant] = Field(default_factory=list)
    cross_references: NameList = Field(default_factory=list)
    related_pdb_entries: NameList = Field(default_factory=list)
    biostudies_references: NameList = Field(default_factory=list)
    idr_references: NameList = Field(default_factory=list)
    empiar_references: NameList = Field(default_factory=list)
    citation: list[Citation] = Field(default_factory=list)
    imagesets: list[Imageset] = Field(default_factory=list)

    @field_validator("authors", mode="before")
    @classmethod
    def _unwrap_authors(cls, value: Any) -> list:
        return [a.get("author", a) if isinstance(a, dict) else a for a in listify(value)]

    @field_validator("corresponding_author", mode="before")
    @classmethod
    def _unwrap_contact(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = value.get("author", value)
            return value or None  # old records serve {}
        return value

    @field_validator(
        "principal_investigator", "grant_references", "citation", "imagesets", mode="before"
    )
    @classmethod
    def _listify(cls, value: Any) -> list:
        return listify(value)


class NotAnEntry(ValueError):
    """The body is JSON but holds no EMPIAR entry we can recognise."""


def unwrap_entry(data: Any, requested: str) -> tuple[str, dict]:
    """Return (accession, entry body) from `{accession: entry}`, a bare entry or a one-item list."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict) or not data:
        raise NotAnEntry("expected a JSON object holding one EMPIAR entry")
    if "title" in data or "imagesets" in data:
        return requested, data
    keys = [k for k in data if isinstance(k, str) and k.startswith("EMPIAR-")]
    if len(keys) != 1 or not isinstance(data[keys[0]], dict):
        raise NotAnEntry(f"expected one EMPIAR-… key, found {sorted(map(str, data))[:5]}")
    return keys[0], data[keys[0]]


def parse_entry(data: Any, requested: str) -> Entry:
    """Validate a decoded entry response; raises NotAnEntry or pydantic.ValidationError."""
    accession, body = unwrap_entry(data, requested)
    return Entry.model_validate({**body, "accession": accession})
