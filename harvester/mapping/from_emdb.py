"""EMDB entry (clean model) -> lambda-ber records and the `emdb_maps` front-door row."""

from __future__ import annotations

import functools
import logging
import re

from empiar_mirror.harvester.mapping import instruments, vocab
from empiar_mirror.harvester.mapping.common import (
    People,
    funders,
    json_list,
    manufacturer,
    publication,
    slug,
)
from empiar_mirror.harvester.raw.emdb import EmdbEntry, Expression, Molecule
from empiar_mirror.harvester.raw.normalize import normalize_pdb_id
from empiar_mirror.index.archives import EMDB, NOT_PUBLIC, PDB
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.enums import (
    ChemicalClassEnum,
    CollectionModeEnum,
    DatabaseNameEnum,
    DataTypeEnum,
    ExperimentSampleRoleEnum,
    FileFormatEnum,
    ImagingModeEnum,
    InstrumentCategoryEnum,
    InstrumentRoleEnum,
    NucleicAcidTypeEnum,
    OutputTypeEnum,
    PreparationTypeEnum,
    SampleComponentTypeEnum,
    SampleRoleEnum,
    SampleTypeEnum,
    VitrificationMethodEnum,
    WorkflowTypeEnum,
)
from empiar_mirror.index.lambda_ber.record import (
    FITTED_MODEL,
    SELF,
    Mapped,
    distinct,
)

# lambda-ber's patterns for the slots a molecule's identity fills; a served value that does not
# fit one is kept as an additional property instead, so nothing said is lost.
PROTEIN_SEQUENCE = re.compile(r"^[ACDEFGHIKLMNPQRSTVWYBJOUXZ]+$")
NUCLEOTIDE_SEQUENCE = re.compile(r"^[ACGTURYKMSWBDHVNI]+$")
UNIPROT = re.compile(
    r"^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})(-[0-9]+)?$"
)
CHEBI = re.compile(r"^(?:CHEBI:)?([0-9]+)$", re.IGNORECASE)
# EMDB fills a ligand's `formula` with its wwPDB chemical component code (`NAG`, `CLA`); a
# chemical formula proper has lower-case letters or is longer (`C8H15NO6`).
CCD_CODE = re.compile(r"^[A-Z0-9]{1,5}$")
# DNA written in parenthesised deoxynucleotide codes, `(DA)(DT)`: one letter each.
DEOXY_CODE = re.compile(r"\(D([ACGTUI])\)")
NUCLEIC_ACID_KINDS = {"dna": NucleicAcidTypeEnum.dna, "rna": NucleicAcidTypeEnum.rna}
# Supramolecules that are a component of their own (a complex is the sample itself).
SUPRAMOLECULE_COMPONENTS = {
    "virus_supramolecule": SampleComponentTypeEnum.virus_particle,
    "cell_supramolecule": SampleComponentTypeEnum.cell,
    "organelle_or_cellular_component_supramolecule": SampleComponentTypeEnum.organelle,
    "tissue_supramolecule": SampleComponentTypeEnum.tissue,
}

MAP_FILES = "https://files.wwpdb.org/pub/emdb/structures/{emdb_id}/{folder}/{file}"
log = logging.getLogger(__name__)


@functools.cache
def _log_unknown(kind: str, value: str) -> None:
    # Once per process, so once per run: every harvest and reindex is a process of its own.
    # Callers pass the value's first 100 characters, so the set of them stays small.
    log.warning("unknown %s %r kept as its own family", kind, value)


def _family(kind: str, value: str | None) -> str | None:
    """The family of a served microscope or detector spelling; one the vocabulary lacks is
    logged, and kept as a family of its own."""
    found = (
        instruments.classify_microscope if kind == "microscope" else instruments.classify_detector
    )(value)
    if value and not found.known:
        _log_unknown(kind, value[:100])
    return found.family


def _property(owner_table: str, owner_id: str, label: str, value: str | None) -> list[lb._Model]:
    if not value:
        return []
    return [
        lb.AdditionalProperty(
            owner_table=owner_table,
            owner_id=owner_id,
            attribute_id=f"emdb:{label}",
            attribute_label=label,
            value=value,
        )
    ]


def _sample(e: EmdbEntry, dataset_id: str, study_id: str, experiment_id: str) -> list[lb._Model]:
    sample_id = f"{dataset_id}/sample"
    prep_id = f"{dataset_id}/sample-preparation"
    top = e.components[0] if e.components else None
    organism = e.organisms[0] if e.organisms else None
    material = vocab.GRID_MATERIAL.get((e.grid_material or "").upper())
    records: list[lb._Model] = [
        lb.Sample(
            id=sample_id,
            title=e.sample_name or (top.name if top else None),
            description=top.details if top else None,
            sample_code=e.emdb_id,
            sample_type=vocab.SAMPLE_TYPE.get(top.kind if top else "", SampleTypeEnum.complex),
            molecular_weight=lb.qv(top.molecular_weight, top.molecular_weight_unit or "MDa")
            if top and top.molecular_weight is not None
            else None,
            concentration=lb.qv(e.concentration, e.concentration_unit or "mg/mL"),
            buffer_composition=lb.BufferComposition(
                ph=lb.qv(e.buffer_ph, "pH"), components=e.buffer_components
            )
            if e.buffer_ph is not None or e.buffer_components
            else None,
            organism=f"NCBITaxon:{organism.ncbi}" if organism and organism.ncbi else None,
            expression_system="; ".join(_expression_label(x) for x in e.expressions) or None,
            x_organism_name=organism.name if organism else None,
        ),
        lb.SamplePreparation(
            id=prep_id,
            preparation_type=PreparationTypeEnum.cryo_em,
            sample_id=sample_id,
            protocol_description=e.preparation_details,
            cryoem_preparation=lb.CryoEMPreparation(
                grid_type=vocab.grid_type(e.grid_model),
                grid_material=material,
                support_film=e.support_film,
                vitrification_method=VitrificationMethodEnum.plunge_freezing if e.cryogen else None,
                vitrification_instrument=e.vitrification_instrument,
                cryogen=e.cryogen,
                humidity_percentage=lb.qv(e.humidity_percent, "percent"),
                chamber_temperature=lb.qv(e.chamber_temperature_k, "K"),
                glow_discharge_applied=True if e.grid_pretreatment else None,
            ),
        ),
        lb.StudySampleAssociation(
            study_id=study_id, sample_id=sample_id, role=SampleRoleEnum.target
        ),
        lb.ExperimentSampleAssociation(
            experiment_id=experiment_id,
            sample_id=sample_id,
            role=ExperimentSampleRoleEnum.target,
            preparation_id=prep_id,
        ),
    ]
    if e.grid_material and not material:
        records += _property("sample_preparation", prep_id, "grid_material", e.grid_material)
    if e.grid_model and not vocab.grid_type(e.grid_model):
        records += _property("sample_preparation", prep_id, "grid_model", e.grid_model)
    records += _property("sample_preparation", prep_id, "grid_pretreatment", e.grid_pretreatment)
    records += _molecules(e, dataset_id, sample_id)
    return records


def _expression_label(x: Expression) -> str:
    host = x.organism.name or f"NCBITaxon:{x.organism.ncbi}"
    line = x.cell or x.strain
    return f"{host} ({line})" if line else host


def _metric(owner_table: str, owner_id: str, label: str, value, unit) -> list[lb._Model]:
    if value is None:
        return []
    return [
        lb.AdditionalMetric(
            owner_table=owner_table,
            owner_id=owner_id,
            attribute_id=f"emdb:{label}",
            attribute_label=label,
            numeric_value=value,
            unit=unit or "unspecified",
        )
    ]


def _molecule_keys(molecules: list[Molecule]) -> list[str]:
    """EMDB's own number of each molecule where it is one and unique, else its place."""
    keys: list[str] = []
    for place, m in enumerate(molecules, start=1):
        key = str(m.number) if m.number is not None else ""
        keys.append(key if key and key not in keys else f"item-{place}")
    return keys


def _sequence(m: Molecule, pattern: re.Pattern) -> str | None:
    """The one-letter sequence in lambda-ber's alphabet, or None when it is not one."""
    sequence = DEOXY_CODE.sub(r"\1", (m.sequence or "").upper())
    return sequence if pattern.fullmatch(sequence) else None


def _protein(m: Molecule, entity_id: str) -> tuple[lb._Model, list[lb._Model]]:
    sequence = _sequence(m, PROTEIN_SEQUENCE)
    served = m.references.get("UNIPROTKB", [])
    accessions = [a.upper() for a in served if UNIPROT.fullmatch(a.upper())]
    protein = lb.Protein(
        id=entity_id,
        title=m.name,
        uniprot_id=f"uniprot:{accessions[0]}" if accessions else None,
        protein_name=m.name,
        organism=f"NCBITaxon:{m.organism.ncbi}" if m.organism and m.organism.ncbi else None,
        organism_name=m.organism.name if m.organism else None,
        amino_acid_sequence=sequence,
        sequence_length=len(sequence) if sequence else None,
        molecular_weight_theoretical=lb.qv(m.molecular_weight, m.molecular_weight_unit or "MDa"),
    )
    # A chimera names several; one that is no accession is kept as served, as is a sequence
    # outside lambda-ber's alphabet (`(MSE)` for a selenomethionine).
    others = [a for a in served if a.upper() not in accessions[:1]]
    return protein, [
        *_property("protein", entity_id, "uniprot_accessions", ", ".join(others)),
        *_property("protein", entity_id, "sequence", None if sequence else m.sequence),
    ]


def _nucleic_acid(m: Molecule, entity_id: str) -> tuple[lb._Model, list[lb._Model]]:
    sequence = _sequence(m, NUCLEOTIDE_SEQUENCE)
    strand = lb.NucleicAcid(
        id=entity_id,
        title=m.name,
        nucleic_acid_type=NUCLEIC_ACID_KINDS[m.kind or ""],
        nucleic_acid_name=m.name,
        organism=f"NCBITaxon:{m.organism.ncbi}" if m.organism and m.organism.ncbi else None,
        organism_name=m.organism.name if m.organism else None,
        nucleotide_sequence=sequence,
        sequence_length=len(sequence) if sequence else None,
        molecular_weight_theoretical=lb.qv(m.molecular_weight, m.molecular_weight_unit or "MDa"),
    )
    return strand, [
        *_property("nucleic_acid", entity_id, "classification", m.classification),
        *_property("nucleic_acid", entity_id, "sequence", None if sequence else m.sequence),
    ]


def _chebi(value: str) -> str | None:
    found = CHEBI.fullmatch(value)
    return f"CHEBI:{found[1]}" if found else None


def _small_molecule(m: Molecule, entity_id: str) -> tuple[lb._Model, list[lb._Model]]:
    code = m.formula if m.formula and CCD_CODE.fullmatch(m.formula) else None
    chebi = [c for c in map(_chebi, m.references.get("CHEBI", [])) if c]
    molecule = lb.SmallMolecule(
        id=entity_id,
        title=m.name,
        small_molecule_name=m.name,
        chebi_id=chebi[0] if chebi else None,
        pdb_ligand_id=f"pdb.ligand:{code}" if code else None,
        chemical_class=ChemicalClassEnum.carbohydrate if m.kind == "saccharide" else None,
        molecular_formula=m.formula if m.formula and not code else None,
        molecular_weight_theoretical=lb.qv(m.molecular_weight, m.molecular_weight_unit or "MDa"),
    )
    extra: list[lb._Model] = []
    # References with no slot of their own, and a second ChEBI id, are kept as served.
    used = chebi[0] if chebi else None
    for kind, values in m.references.items():
        kept = [v for v in values if not (kind == "CHEBI" and _chebi(v) == used)]
        label = f"{kind.lower() or 'other'}_id"
        extra += _property("small_molecule", entity_id, label, ", ".join(kept))
    return molecule, extra


# EMDB's kind of molecule -> the path of its entity row, the component type, its builder.
ENTITY_KINDS = {
    "protein_or_peptide": ("protein", SampleComponentTypeEnum.protein, _protein),
    "dna": ("nucleic-acid", SampleComponentTypeEnum.nucleic_acid, _nucleic_acid),
    "rna": ("nucleic-acid", SampleComponentTypeEnum.nucleic_acid, _nucleic_acid),
    "ligand": ("small-molecule", SampleComponentTypeEnum.small_molecule, _small_molecule),
    "saccharide": ("small-molecule", SampleComponentTypeEnum.small_molecule, _small_molecule),
}
POINTERS = {
    SampleComponentTypeEnum.protein: "protein_id",
    SampleComponentTypeEnum.nucleic_acid: "nucleic_acid_id",
    SampleComponentTypeEnum.small_molecule: "small_molecule_id",
}


def _molecules(e: EmdbEntry, dataset_id: str, sample_id: str) -> list[lb._Model]:
    """What the sample holds: a component per macromolecule and ligand (pointing at its Protein,
    NucleicAcid or SmallMolecule row) and per virus, cell, organelle or tissue it is made of."""
    records: list[lb._Model] = []
    for key, m in zip(_molecule_keys(e.molecules), e.molecules, strict=True):
        component_id = f"{dataset_id}/component/{key}"
        pointer: dict[str, str] = {}
        if m.kind in ENTITY_KINDS:
            path, component_type, build = ENTITY_KINDS[m.kind]
            entity, extra = build(m, f"{dataset_id}/{path}/{key}")
            records += [entity, *extra]
            records += _metric(
                entity.table,
                entity.id,
                "molecular_weight_experimental",
                m.experimental_weight,
                m.experimental_weight_unit,
            )
            pointer = {POINTERS[component_type]: entity.id}
        else:  # a label, or another kind of molecule lambda-ber has no table for
            component_type = SampleComponentTypeEnum.other
            records += _property("sample_component", component_id, "emdb_kind", m.kind)
        records.append(
            lb.SampleComponent(
                id=component_id,
                title=m.name,
                sample_id=sample_id,
                component_type=component_type,
                copy_number=m.copies,
                **pointer,
            )
        )
    supramolecules = [c for c in e.components if c.kind in SUPRAMOLECULE_COMPONENTS]
    for place, c in enumerate(supramolecules, start=1):
        taxon = next((o.ncbi for o in c.organisms if o.ncbi), None)
        kind = SUPRAMOLECULE_COMPONENTS[c.kind or ""]
        named_by_taxon = kind in (
            SampleComponentTypeEnum.virus_particle,
            SampleComponentTypeEnum.cell,
        )
        records.append(
            lb.SampleComponent(
                id=f"{dataset_id}/component/supramolecule-{place}",
                title=c.name,
                description=c.details,
                sample_id=sample_id,
                component_type=kind,
                # A virus or cell is named by its taxon; an organelle or tissue would need a GO
                # or UBERON term, which EMDB does not give.
                ontology_term=f"NCBITaxon:{taxon}" if taxon and named_by_taxon else None,
            )
        )
    return records


def molecule_labels(e: EmdbEntry) -> list[str]:
    """The sample's molecules as a reader searches for them: each name, with its UniProt
    accessions or chemical component code."""
    labels = []
    for m in e.molecules:
        ids = m.references.get("UNIPROTKB", []) if m.kind == "protein_or_peptide" else []
        if m.kind in ("ligand", "saccharide") and m.formula and CCD_CODE.fullmatch(m.formula):
            ids = [m.formula]
        label = " ".join(filter(None, (m.name, f"({', '.join(ids)})" if ids else None)))
        labels.append(label)
    return distinct(labels)


def _instrument(e: EmdbEntry, dataset_id: str, experiment_id: str) -> list[lb._Model]:
    if not e.microscope and not e.detector:
        return []
    instrument_id = f"{dataset_id}/instrument/em-1"
    return [
        lb.Instrument(
            id=instrument_id,
            title=e.microscope,
            instrument_type="CryoEMInstrument",
            instrument_code=slug(e.microscope) if e.microscope else f"{e.emdb_id}-EM1",
            instrument_category=InstrumentCategoryEnum.ELECTRON_MICROSCOPE,
            manufacturer=manufacturer(e.microscope),
            model=e.microscope,
            accelerating_voltage=lb.qv(e.voltage_kv, "kV"),
            cs=lb.qv(e.cs_mm, "mm"),
            electron_source=e.electron_source,
            illumination_mode=e.illumination_mode,
            # An energy filter makes it energy-filtered TEM; EMDB's own mode (bright field)
            # has no lambda-ber value and is kept as a property.
            imaging_mode=ImagingModeEnum.EFTEM if e.energy_filter else None,
            specimen_holder_model=e.specimen_holder_model,
            detector_model=e.detector,
            detector_manufacturer=manufacturer(e.detector),
            detector_technology=vocab.detector_technology(e.detector),
            detector_mode=vocab.DETECTOR_MODE.get((e.detector_mode or "").upper()),
            energy_filter_present=True if e.energy_filter else None,
            energy_filter_model=e.energy_filter,
        ),
        lb.ExperimentInstrumentAssociation(
            experiment_id=experiment_id,
            instrument_id=instrument_id,
            role=InstrumentRoleEnum.primary,
        ),
        *_property("instrument", instrument_id, "imaging_mode", e.imaging_mode),
    ]


def _experiment(e: EmdbEntry, dataset_id: str) -> list[lb._Model]:
    experiment_id = f"{dataset_id}/experiment"
    method = vocab.EMDB_METHOD.get(e.method or "")
    acquisition = [s for s in e.software if s.step == "image_acquisition"]
    return [
        lb.ExperimentRun(
            id=experiment_id,
            title=e.title,
            experiment_code=e.emdb_id,
            technique=vocab.technique_for(method),
            experimental_method=method,
            experiment_date=e.microscopy_date,
            magnification=lb.qv(e.magnification, "dimensionless"),
            total_dose=lb.qv(e.dose, "e-/Angstrom^2"),
            total_exposure_time=lb.qv(e.exposure_time_s, "s"),
            # EMDB states defocus in micrometers (RCSB in nanometers): kept in its own unit.
            defocus_range_min=lb.qv(e.defocus_min_um, "micrometers"),
            defocus_range_max=lb.qv(e.defocus_max_um, "micrometers"),
            number_of_images=lb.qv(e.number_real_images, "images"),
            tilt_angle_min=lb.qv(e.tilt_angle_min, "degrees"),
            tilt_angle_max=lb.qv(e.tilt_angle_max, "degrees"),
            tilt_angle_increment=lb.qv(e.tilt_angle_increment, "degrees"),
            acquisition_software=acquisition[0].name if acquisition else None,
            data_collection_strategy=lb.DataCollectionStrategy(
                collection_mode=CollectionModeEnum.single_particle
                if method == vocab.ExperimentalMethodEnum.single_particle_analysis
                else None,
                detector_mode=vocab.DETECTOR_MODE.get((e.detector_mode or "").upper()),
                total_dose=lb.qv(e.dose, "e-/Angstrom^2"),
            ),
            quality_metrics=lb.QualityMetrics(resolution=lb.qv(e.resolution, "Angstroms"))
            if e.resolution is not None
            else None,
        ),
        *_property("experiment_run", experiment_id, "aggregation_state", e.aggregation_state),
    ]


def _workflows(e: EmdbEntry, dataset_id: str, study_id: str, experiment_id: str):
    records: list[lb._Model] = []
    recon_id = f"{dataset_id}/workflow/reconstruction"
    refinement_steps = {
        "initial_angle_assignment",
        "final_angle_assignment",
        "final_reconstruction",
    }
    recon_software = [s for s in e.software if s.step == "final_reconstruction"] or [
        s for s in e.software if s.step in refinement_steps
    ]
    others = distinct(
        f"{s.name} {s.version}".strip() if s.version else s.name
        for s in e.software
        if s.step in refinement_steps and s not in recon_software[:1]
    )
    symmetry = e.symmetry if e.symmetry in vocab.SYMMETRY else None
    records.append(
        lb.WorkflowRun(
            id=recon_id,
            title=f"{e.emdb_id} reconstruction",
            workflow_code=f"{e.emdb_id}-RECONSTRUCTION",
            workflow_type=WorkflowTypeEnum.refinement,
            software_name=recon_software[0].name if recon_software else "unknown",
            software_version=recon_software[0].version if recon_software else None,
            additional_software=", ".join(others) or None,
            resolution_high=lb.qv(e.resolution, "Angstroms"),
            refinement_params=lb.RefinementParameters(
                symmetry=symmetry,
                axial_symmetry=e.symmetry if e.symmetry and not symmetry else None,
                pixel_size=lb.qv(
                    e.maps[0].pixel_spacing[0] if e.maps and e.maps[0].pixel_spacing else None,
                    "Angstroms",
                ),
                resolution_0_143=lb.qv(e.resolution, "Angstroms")
                if e.resolution_method == "FSC 0.143 CUT-OFF"
                else None,
                number_of_particles=e.number_images_used,
                helical_rise=lb.qv(e.helical_rise, "Angstroms"),
                helical_twist=lb.qv(e.helical_twist, "degrees"),
            ),
        )
    )
    records += _property("workflow_run", recon_id, "resolution_method", e.resolution_method)
    steps: dict[str, list] = {}
    for sw in e.software:
        if sw.step in vocab.EMDB_STEP:
            steps.setdefault(sw.step, []).append(sw)
    if e.particles_selected and "particle_selection" not in steps:
        steps["particle_selection"] = []
    for step, software in steps.items():
        records.append(
            lb.WorkflowRun(
                id=f"{dataset_id}/workflow/{step.replace('_', '-')}",
                title=f"{e.emdb_id} {step.replace('_', ' ')}",
                workflow_code=f"{e.emdb_id}-{step.upper().replace('_', '-')}",
                workflow_type=vocab.EMDB_STEP[step],
                software_name=software[0].name if software else "unknown",
                software_version=software[0].version if software else None,
                additional_software=", ".join(s.name for s in software[1:]) or None,
                particle_picking_params=lb.ParticlePickingParameters(
                    number_of_particles_selected=e.particles_selected
                )
                if step == "particle_selection"
                else None,
            )
        )
    for workflow in [r for r in records if isinstance(r, lb.WorkflowRun)]:
        records.append(lb.StudyWorkflowAssociation(study_id=study_id, workflow_id=workflow.id))
        records.append(
            lb.WorkflowExperimentAssociation(
                workflow_id=workflow.id, experiment_id=experiment_id, x_owner=dataset_id
            )
        )
    return records


def _files(e: EmdbEntry, dataset_id: str) -> list[lb._Model]:
    records: list[lb._Model] = []
    counters: dict[str, int] = {}
    recon_id = f"{dataset_id}/workflow/reconstruction"
    for m in e.maps:
        counters[m.role] = counters.get(m.role, 0) + 1
        local = "map" if m.role == "primary" else f"{m.role}-map-{counters[m.role]}"
        file_id = f"{dataset_id}/file/{local}"
        folder = "map" if m.role == "primary" else "other"
        records.append(
            lb.DataFile(
                id=file_id,
                title=f"{e.emdb_id} {m.role} map" if m.role != "mask" else f"{e.emdb_id} mask",
                file_name=m.file,
                file_path=MAP_FILES.format(emdb_id=e.emdb_id, folder=folder, file=m.file),
                file_format=FileFormatEnum.ccp4
                if (m.format or "").upper() == "CCP4"
                else FileFormatEnum.mrc,
                file_size_bytes=lb.qv(m.size_kbytes * 1024 if m.size_kbytes else None, "bytes"),
                data_type=DataTypeEnum.map_half if m.role == "half" else DataTypeEnum.volume,
                file_role="primary" if m.role == "primary" else m.role,
                related_entity=recon_id,
                x_contour_level=m.contour_level,
            )
        )
        records.append(
            lb.WorkflowOutputAssociation(
                workflow_id=recon_id,
                file_id=file_id,
                output_type=OutputTypeEnum.map,
                x_owner=dataset_id,
            )
        )
        if m.role == "primary":
            dims = m.dimensions or (None, None, None)
            records.append(
                lb.Image(
                    id=f"{file_id}/image",
                    title=e.title,
                    image_type="Image3D",
                    file_name=m.file,
                    voxel_size=lb.qv(m.pixel_spacing[0] if m.pixel_spacing else None, "Angstroms"),
                    dimensions_x=lb.qv(dims[0], "pixels"),
                    dimensions_y=lb.qv(dims[1], "pixels"),
                    dimensions_z=lb.qv(dims[2], "pixels"),
                    reconstruction_method=e.method,
                    x_data_file_id=file_id,
                )
            )
    return records


def _cross_references(e: EmdbEntry) -> list[lb.DatabaseCrossReference]:
    refs = [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.emdb,
            database_id=e.emdb_id,
            database_url=EMDB.page(e.emdb_id),
            description=SELF,
        )
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.pdb,
            database_id=pdb,
            database_url=PDB.page(pdb),
            description=FITTED_MODEL,
        )
        for pdb in distinct(normalize_pdb_id(p) for p in e.pdb_ids)
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.emdb,
            database_id=other,
            database_url=EMDB.page(other),
            description="related EMDB entry",
        )
        for other in e.related_emdb_ids
    ]
    return refs


def map_emdb(e: EmdbEntry) -> Mapped:
    """Map one EMDB entry. Pure: the same document always gives the same output."""
    dataset_id = f"emdb:{e.emdb_id}"
    study_id = f"{dataset_id}/study"
    experiment_id = f"{dataset_id}/experiment"
    records: list[lb._Model] = [
        lb.Dataset(
            id=dataset_id,
            title=e.title,
            deposition_date=e.deposition_date,
            release_date=e.release_date,
            last_revision_date=e.update_date,
            x_source="emdb",
            x_status=e.status,
            x_obsolete_date=e.obsolete_date,
        ),
        lb.Study(
            id=study_id,
            dataset_id=dataset_id,
            title=e.title,
            description=e.sample_name,
            keywords=e.keywords,
            database_cross_references=_cross_references(e),
        ),
        lb.StudyExperimentAssociation(study_id=study_id, experiment_id=experiment_id),
    ]
    people = People(dataset_id, study_id)
    people.authors([(a.name, a.orcid) for a in e.authors])
    records += people.records()
    records += funders("emdb", study_id, [(g.funding_body, g.code, g.country) for g in e.grants])
    if e.citation and e.citation.title:
        c = e.citation
        records += publication(
            f"{dataset_id}/publication/1",
            study_id,
            True,
            doi=c.doi,
            pubmed_id=c.pubmed_id,
            title=c.title,
            authors=[a.name for a in c.authors],
            journal=c.journal,
            journal_abbreviation=c.journal_abbreviation,
            volume=c.volume,
            page_first=c.first_page,
            page_last=c.last_page,
            year=c.year,
            unpublished=None if c.published is None else not c.published,
        )
    records += _experiment(e, dataset_id)
    records += _sample(e, dataset_id, study_id, experiment_id)
    records += _instrument(e, dataset_id, experiment_id)
    records += _workflows(e, dataset_id, study_id, experiment_id)
    records += _files(e, dataset_id)

    method = vocab.EMDB_METHOD.get(e.method or "")
    front_door = {
        "emdb_id": e.emdb_id,
        "title": e.title,
        "status": e.status,
        "method": vocab.METHOD_LABEL.get(method, e.method),
        "resolution_a": e.resolution,
        "release_date": e.release_date,
        "release_year": int(e.release_date[:4]) if e.release_date else None,
        "replaced_by": e.superseded_by[0] if e.superseded_by else None,
        "sample_name": e.sample_name,
        "organisms": json_list(o.name for o in e.organisms),
        "microscope": e.microscope,
        "detector": e.detector,
        "microscope_family": _family("microscope", e.microscope),
        "detector_family": _family("detector", e.detector),
        "voltage_kv": e.voltage_kv,
        "software": json_list(s.name for s in e.software),
        "molecules": json_list(molecule_labels(e)),
        "emdb_url": EMDB.page(e.emdb_id),
    }
    return Mapped("emdb", e.emdb_id, dataset_id, records, front_door)


def map_not_public(emdb_id: str) -> Mapped:
    """A linked map EMDB does not serve (withdrawn, or never public): the link still shows."""
    front_door = {
        "emdb_id": emdb_id,
        "title": None,
        "status": NOT_PUBLIC,
        "method": None,
        "resolution_a": None,
        "release_date": None,
        "release_year": None,
        "replaced_by": None,
        "sample_name": None,
        "organisms": "[]",
        "microscope": None,
        "detector": None,
        "microscope_family": None,
        "detector_family": None,
        "voltage_kv": None,
        "software": "[]",
        "molecules": "[]",
        "emdb_url": EMDB.page(emdb_id),
    }
    return Mapped("emdb", emdb_id, f"emdb:{emdb_id}", [], front_door)
