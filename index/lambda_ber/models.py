"""lambda-ber classes as pydantic models: class and slot names mirror upstream exactly.

Each model knows its table. `rows()` flattens a record into (table, row) pairs: a QuantityValue slot
becomes `<slot>_value` / `<slot>_unit`, multivalued slots become child-table rows, and extension
fields (no lambda-ber slot) carry an `x_` prefix.
"""

from __future__ import annotations

import functools
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from empiar_mirror.index.lambda_ber.enums import (
    ChemicalClassEnum,
    CollectionModeEnum,
    DatabaseNameEnum,
    DataTypeEnum,
    DetectorModeEnum,
    DetectorTechnologyEnum,
    ExperimentalMethodEnum,
    ExperimentSampleRoleEnum,
    FileFormatEnum,
    GridMaterialEnum,
    GridTypeEnum,
    ImagingModeEnum,
    InputTypeEnum,
    InstrumentCategoryEnum,
    InstrumentRoleEnum,
    NucleicAcidTypeEnum,
    OrganizationRoleEnum,
    OrganizationTypeEnum,
    OutputTypeEnum,
    PersonRoleEnum,
    PreparationTypeEnum,
    ProcessingStatusEnum,
    SampleComponentTypeEnum,
    SampleRoleEnum,
    SampleTypeEnum,
    SymmetryEnum,
    TechniqueEnum,
    VitrificationMethodEnum,
    WorkflowTypeEnum,
)


def _kinds(annotation: Any) -> tuple:
    return (annotation, *typing.get_args(annotation))


def _is_quantity(annotation: Any) -> bool:
    return QuantityValue in _kinds(annotation)


def _is_nested(annotation: Any) -> bool:
    """Multivalued slots and inlined groups: stored in tables of their own."""
    return typing.get_origin(annotation) is list or any(
        isinstance(a, type) and issubclass(a, _Group) for a in _kinds(annotation)
    )


@functools.cache
def _layout(cls: type[BaseModel]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(scalar slots, QuantityValue slots, inlined group slots) of a model class."""
    scalars, quantities, groups = [], [], []
    for name, info in cls.model_fields.items():
        if _is_quantity(info.annotation):
            quantities.append(name)
        elif typing.get_origin(info.annotation) is not list:
            (groups if _is_nested(info.annotation) else scalars).append(name)
    return tuple(scalars), tuple(quantities), tuple(groups)


def _flatten(model: BaseModel) -> dict[str, Any]:
    """A model's scalar slots as one row: QuantityValue slots become `_value` / `_unit` pairs;
    multivalued slots and inlined groups are left to their own tables."""
    scalars, quantities, _ = _layout(type(model))
    row = {name: getattr(model, name) for name in scalars}
    for name in quantities:
        value = getattr(model, name)
        row[f"{name}_value"] = value.numeric_value if value is not None else None
        row[f"{name}_unit"] = value.unit if value is not None else None
    return row


class _Group(BaseModel):
    """An inlined lambda-ber AttributeGroup, kept in a 1:1 table keyed by its owner's id."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)
    table: ClassVar[str]
    owner_key: ClassVar[str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)
    table: ClassVar[str]
    # Tables `_children` writes multivalued slots to, with their columns.
    child_tables: ClassVar[dict[str, tuple[str, ...]]] = {}

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        out = [(self.table, _flatten(self))]
        for name in _layout(type(self))[2]:
            group = getattr(self, name)
            if group is not None:
                out.append((group.table, {group.owner_key: self.id, **_flatten(group)}))
        return out + self._children()

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
    child_tables = {
        "study_keyword": ("study_id", "keyword"),
        "database_cross_reference": (
            "owner_table",
            "owner_id",
            "database_name",
            "database_id",
            "database_url",
            "description",
        ),
    }

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
    child_tables = {"publication_author": ("publication_id", "position", "name")}

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
    experiment_date: str | None = None
    calibrated_pixel_size: QuantityValue | None = None
    frames_per_movie: QuantityValue | None = None
    number_of_images: QuantityValue | None = None
    magnification: QuantityValue | None = None
    total_dose: QuantityValue | None = None
    total_exposure_time: QuantityValue | None = None
    defocus_range_min: QuantityValue | None = None
    defocus_range_max: QuantityValue | None = None
    tilt_angle_min: QuantityValue | None = None
    tilt_angle_max: QuantityValue | None = None
    tilt_angle_increment: QuantityValue | None = None
    acquisition_software: str | None = None
    data_collection_strategy: DataCollectionStrategy | None = None
    quality_metrics: QualityMetrics | None = None


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
    x_contour_level: float | None = None
    # What the entry's listed files hold below an imageset's directory (index/file_facts.py).
    x_files_found: int | None = None
    x_bytes_found: int | None = None


class Image(NamedThing):
    """Image and its subclasses in one table; `image_type` names the class."""

    table = "image"
    # Slots of a subclass, with the class that declares them: lambda-ber's `Dataset.images`
    # lists plain Images (no type designator), so the export moves these to the image's owner.
    subclass_slots: ClassVar[dict[str, str]] = {
        "dimensions_z": "Image3D",
        "voxel_size": "Image3D",
        "reconstruction_method": "Image3D",
        "frames": "Movie",
    }
    image_type: str
    file_name: str
    pixel_size: QuantityValue | None = None
    dimensions_x: QuantityValue | None = None
    dimensions_y: QuantityValue | None = None
    dimensions_z: QuantityValue | None = None
    voxel_size: QuantityValue | None = None
    frames: QuantityValue | None = None
    reconstruction_method: str | None = None
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


# --- the sample, its preparation, the instrument --------------------------------------------


class BufferComposition(_Group):
    table = "buffer_composition"
    owner_key = "sample_id"
    ph: QuantityValue | None = None
    components: list[str] = Field(default_factory=list)


class Sample(NamedThing):
    table = "sample"
    sample_code: str
    sample_type: SampleTypeEnum
    molecular_weight: QuantityValue | None = None
    concentration: QuantityValue | None = None
    buffer_composition: BufferComposition | None = None
    organism: str | None = None
    oligomeric_state: str | None = None
    expression_system: str | None = None
    x_organism_name: str | None = None
    child_tables = {"buffer_component": ("sample_id", "position", "component")}

    def _children(self) -> list[tuple[str, dict[str, Any]]]:
        if not self.buffer_composition:
            return []
        return [
            ("buffer_component", {"sample_id": self.id, "position": i, "component": c})
            for i, c in enumerate(self.buffer_composition.components, start=1)
        ]


# What a sample holds: its molecules, each once per record (ids are paths below the record's,
# e.g. `emdb:EMD-25107/protein/1`; the UniProt accession or CCD code is a slot of its own).


class Protein(NamedThing):
    table = "protein"
    uniprot_id: str | None = None
    protein_name: str | None = None
    organism: str | None = None
    organism_name: str | None = None
    amino_acid_sequence: str | None = None
    sequence_length: int | None = None
    molecular_weight_theoretical: QuantityValue | None = None


class NucleicAcid(NamedThing):
    table = "nucleic_acid"
    nucleic_acid_type: NucleicAcidTypeEnum
    nucleic_acid_name: str | None = None
    organism: str | None = None
    organism_name: str | None = None
    nucleotide_sequence: str | None = None
    sequence_length: int | None = None
    molecular_weight_theoretical: QuantityValue | None = None


class SmallMolecule(NamedThing):
    table = "small_molecule"
    small_molecule_name: str | None = None
    chebi_id: str | None = None
    pdb_ligand_id: str | None = None
    chemical_class: ChemicalClassEnum | None = None
    molecular_formula: str | None = None
    molecular_weight_theoretical: QuantityValue | None = None


class SampleComponent(NamedThing):
    """One constituent of a sample; a protein, nucleic acid or small molecule points at its
    entity row, a virus, cell, organelle or tissue is named by title and ontology term."""

    table = "sample_component"
    sample_id: str
    component_type: SampleComponentTypeEnum
    protein_id: str | None = None
    nucleic_acid_id: str | None = None
    small_molecule_id: str | None = None
    ontology_term: str | None = None
    copy_number: int | None = None


class CryoEMPreparation(_Group):
    table = "cryoem_preparation"
    owner_key = "preparation_id"
    grid_type: GridTypeEnum | None = None
    grid_material: GridMaterialEnum | None = None
    support_film: str | None = None
    vitrification_method: VitrificationMethodEnum | None = None
    vitrification_instrument: str | None = None
    cryogen: str | None = None
    humidity_percentage: QuantityValue | None = None
    chamber_temperature: QuantityValue | None = None
    glow_discharge_applied: bool | None = None


class SamplePreparation(NamedThing):
    table = "sample_preparation"
    preparation_type: PreparationTypeEnum
    sample_id: str
    protocol_description: str | None = None
    cryoem_preparation: CryoEMPreparation | None = None


class Instrument(NamedThing):
    """Instrument and CryoEMInstrument in one table; `instrument_type` names the class."""

    table = "instrument"
    instrument_type: str
    instrument_code: str
    instrument_category: InstrumentCategoryEnum | None = None
    manufacturer: str | None = None
    model: str | None = None
    accelerating_voltage: QuantityValue | None = None
    cs: QuantityValue | None = None
    electron_source: str | None = None
    illumination_mode: str | None = None
    imaging_mode: ImagingModeEnum | None = None
    specimen_holder_model: str | None = None
    detector_model: str | None = None
    detector_manufacturer: str | None = None
    detector_technology: DetectorTechnologyEnum | None = None
    detector_mode: DetectorModeEnum | None = None
    energy_filter_present: bool | None = None
    energy_filter_model: str | None = None


# --- what the experiment measured and what processing made of it ------------------------------


class DataCollectionStrategy(_Group):
    table = "data_collection_strategy"
    owner_key = "experiment_id"
    collection_mode: CollectionModeEnum | None = None
    detector_mode: DetectorModeEnum | None = None
    total_dose: QuantityValue | None = None


class QualityMetrics(_Group):
    table = "quality_metrics"
    owner_key = "experiment_id"
    resolution: QuantityValue | None = None
    clashscore: QuantityValue | None = None
    ramachandran_outliers_percent: QuantityValue | None = None


class RefinementParameters(_Group):
    table = "refinement_parameters"
    owner_key = "workflow_id"
    symmetry: SymmetryEnum | None = None
    axial_symmetry: str | None = None
    pixel_size: QuantityValue | None = None
    resolution_0_143: QuantityValue | None = None
    number_of_particles: int | None = None
    helical_rise: QuantityValue | None = None
    helical_twist: QuantityValue | None = None


class ParticlePickingParameters(_Group):
    table = "particle_picking_parameters"
    owner_key = "workflow_id"
    number_of_particles_selected: int | None = None


class WorkflowRun(NamedThing):
    table = "workflow_run"
    workflow_code: str
    workflow_type: WorkflowTypeEnum
    software_name: str
    software_version: str | None = None
    additional_software: str | None = None
    deposited_to_pdb: bool | None = None
    pdb_id: str | None = None
    resolution_high: QuantityValue | None = None
    clashscore: QuantityValue | None = None
    ramachandran_outliers: QuantityValue | None = None
    processing_notes: str | None = None
    refinement_params: RefinementParameters | None = None
    particle_picking_params: ParticlePickingParameters | None = None


# --- associations between them ----------------------------------------------------------------


class StudySampleAssociation(_Model):
    table = "study_sample"
    study_id: str
    sample_id: str
    role: SampleRoleEnum | None = None


class ExperimentSampleAssociation(_Model):
    table = "experiment_sample"
    experiment_id: str
    sample_id: str
    role: ExperimentSampleRoleEnum | None = None
    preparation_id: str | None = None


class ExperimentInstrumentAssociation(_Model):
    table = "experiment_instrument"
    experiment_id: str
    instrument_id: str
    role: InstrumentRoleEnum | None = None


class StudyWorkflowAssociation(_Model):
    table = "study_workflow"
    study_id: str
    workflow_id: str


# These three link records of different archives (an EMPIAR experiment feeds an EMDB
# reconstruction; an EMDB map feeds a PDB model), so each row names the record that stated it.


class WorkflowExperimentAssociation(_Model):
    table = "workflow_experiment"
    workflow_id: str
    experiment_id: str
    x_owner: str


class WorkflowInputAssociation(_Model):
    table = "workflow_input"
    workflow_id: str
    file_id: str
    input_type: InputTypeEnum | None = None
    x_owner: str


class WorkflowOutputAssociation(_Model):
    table = "workflow_output"
    workflow_id: str
    file_id: str
    output_type: OutputTypeEnum | None = None
    x_owner: str


ExperimentRun.model_rebuild()


def columns_by_table() -> dict[str, tuple[str, list[str]]]:
    """Table -> (the lambda-ber class it holds, the columns its rows have), from the models."""
    out: dict[str, tuple[str, list[str]]] = {}
    models = [m for m in globals().values() if isinstance(m, type) and "table" in vars(m)]
    for model in models:
        scalars, quantities, groups = _layout(model)
        columns = [*scalars, *(f"{q}_{part}" for q in quantities for part in ("value", "unit"))]
        if issubclass(model, _Group):
            columns.insert(0, model.owner_key)
        out[model.table] = (model.__name__, columns)
        for child, child_columns in getattr(model, "child_tables", {}).items():
            out[child] = (model.__name__, list(child_columns))
    return out
