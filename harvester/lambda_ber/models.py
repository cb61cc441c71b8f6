"""lambda-ber classes as pydantic models: class and slot names mirror upstream exactly.

Each model knows its table. `rows()` flattens a record into (table, row) pairs: a QuantityValue slot
becomes `<slot>_value` / `<slot>_unit`, multivalued slots become child-table rows, and extension
fields (no lambda-ber slot) carry an `x_` prefix.
"""

from __future__ import annotations

import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from harvester.lambda_ber.enums import (
    DatabaseNameEnum,
    DataTypeEnum,
    ExperimentalMethodEnum,
    FileFormatEnum,
    OrganizationRoleEnum,
    OrganizationTypeEnum,
    PersonRoleEnum,
    ProcessingStatusEnum,
    TechniqueEnum,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)
    table: ClassVar[str]

    @classmethod
    def columns(cls) -> list[str]:
        """The table's columns, in model order."""
        out = []
        for name, info in cls.model_fields.items():
            if QuantityValue in typing.get_args(info.annotation):
                out += [f"{name}_value", f"{name}_unit"]
            elif typing.get_origin(info.annotation) is not list:
                out.append(name)
        return out

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        row: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, QuantityValue):
                row[f"{name}_value"] = value.numeric_value
                row[f"{name}_unit"] = value.unit
            elif value is None and QuantityValue in typing.get_args(
                type(self).model_fields[name].annotation
            ):
                row[f"{name}_value"] = row[f"{name}_unit"] = None
            elif not isinstance(value, list):  # multivalued slots become child rows
                row[name] = value
        return [(self.table, row), *self._children()]

    def _children(self) -> list[tuple[str, dict[str, Any]]]:
        return []


class QuantityValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numeric_value: float | None = None
    unit: str


def qv(value: float | int | None, unit: str) -> QuantityValue | None:
    return None if value is None else QuantityValue(numeric_value=float(value), unit=unit)


class NamedThing(_Model):
    id: str
    title: str | None = None
    description: str | None = None


class DatabaseCrossReference(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)
    database_name: DatabaseNameEnum
    database_id: str
    database_url: str | None = None
    description: str | None = None


class Dataset(NamedThing):
    table = "dataset"
    deposition_date: str | None = None
    release_date: str | None = None
    last_revision_date: str | None = None
    revision: str | None = None
    x_source: str
    x_status: str | None = None
    x_obsolete_date: str | None = None


class Study(NamedThing):
    table = "study"
    dataset_id: str
    keywords: list[str] = Field(default_factory=list)
    database_cross_references: list[DatabaseCrossReference] = Field(default_factory=list)

    def _children(self) -> list[tuple[str, dict[str, Any]]]:
        rows = [("study_keyword", {"study_id": self.id, "keyword": k}) for k in self.keywords]
        rows += [
            (
                "database_cross_reference",
                {"owner_table": "study", "owner_id": self.id, **x.model_dump()},
            )
            for x in self.database_cross_references
        ]
        return rows


class Person(NamedThing):
    table = "person"
    orcid: str | None = None
    full_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    affiliation: str | None = None


class Organization(NamedThing):
    table = "organization"
    organization_type: OrganizationTypeEnum | None = None
    location: str | None = None
    country: str | None = None


class Publication(NamedThing):
    table = "publication"
    doi: str | None = None
    pubmed_id: str | None = None
    authors: list[str] = Field(default_factory=list)
    journal: str | None = None
    journal_abbreviation: str | None = None
    volume: str | None = None
    issue: str | None = None
    page_first: str | None = None
    page_last: str | None = None
    year: int | None = None
    language: str | None = None
    journal_country: str | None = None
    unpublished: bool | None = None

    def _children(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            ("publication_author", {"publication_id": self.id, "position": i, "name": name})
            for i, name in enumerate(self.authors, start=1)
        ]


class ExperimentRun(NamedThing):
    table = "experiment_run"
    experiment_code: str
    technique: TechniqueEnum
    experimental_method: ExperimentalMethodEnum | None = None
    raw_data_location: str | None = None
    processing_status: ProcessingStatusEnum | None = None
    calibrated_pixel_size: QuantityValue | None = None
    frames_per_movie: QuantityValue | None = None
    number_of_images: QuantityValue | None = None


class DataFile(NamedThing):
    table = "data_file"
    file_name: str
    file_path: str | None = None
    file_format: FileFormatEnum
    file_size_bytes: QuantityValue | None = None
    data_type: DataTypeEnum | None = None
    storage_uri: str | None = None
    related_entity: str | None = None
    file_role: str | None = None
    x_empiar_category: str | None = None
    x_header_format: str | None = None
    x_data_format: str | None = None
    x_voxel_type: str | None = None
    x_num_images_or_tilt_series: int | None = None
    x_frames_per_image: int | None = None
    x_frame_range_min: int | None = None
    x_frame_range_max: int | None = None
    x_image_width: int | None = None
    x_image_height: int | None = None
    x_pixel_width: float | None = None
    x_pixel_height: float | None = None
    x_micrographs_file_pattern: str | None = None
    x_picked_particles_file_pattern: str | None = None
    x_picked_particles_directory: str | None = None


class Image(NamedThing):
    """Image, Image2D, Image3D and Movie in one table; `image_type` names the class."""

    table = "image"
    image_type: str
    file_name: str
    pixel_size: QuantityValue | None = None
    dimensions_x: QuantityValue | None = None
    dimensions_y: QuantityValue | None = None
    dimensions_z: QuantityValue | None = None
    voxel_size: QuantityValue | None = None
    frames: QuantityValue | None = None
    x_data_file_id: str | None = None


class StudyPersonAssociation(_Model):
    table = "study_person"
    study_id: str
    person_id: str
    role: PersonRoleEnum
    author_position: int | None = None
    corresponding: bool | None = None


class StudyPublicationAssociation(_Model):
    table = "study_publication"
    study_id: str
    publication_id: str
    is_primary: bool | None = None


class StudyOrganizationAssociation(_Model):
    table = "study_organization"
    study_id: str
    organization_id: str
    role: OrganizationRoleEnum
    award_number: str | None = None


class PersonOrganizationAssociation(_Model):
    table = "person_organization"
    person_id: str
    organization_id: str
    role: OrganizationRoleEnum


class StudyExperimentAssociation(_Model):
    table = "study_experiment"
    study_id: str
    experiment_id: str


class AdditionalProperty(_Model):
    """One `additional_properties` TextValue of its owner (`attribute` id and label inlined)."""

    table = "additional_property"
    owner_table: str
    owner_id: str
    attribute_id: str
    attribute_label: str
    value: str


class AdditionalMetric(_Model):
    """One `additional_metrics` QuantityValue of its owner."""

    table = "additional_metric"
    owner_table: str
    owner_id: str
    attribute_id: str
    attribute_label: str
    numeric_value: float
    unit: str
