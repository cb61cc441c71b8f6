"""EMDB entry (clean model) -> lambda-ber records and the `emdb_maps` front-door row."""

from __future__ import annotations

import functools
import logging

from empiar_mirror.harvester.mapping import instruments, vocab
from empiar_mirror.harvester.mapping.common import (
    People,
    funders,
    json_list,
    manufacturer,
    publication,
    slug,
)
from empiar_mirror.harvester.raw.emdb import EmdbEntry
from empiar_mirror.harvester.raw.normalize import normalize_pdb_id
from empiar_mirror.index.archives import EMDB, NOT_PUBLIC, PDB
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.enums import (
    CollectionModeEnum,
    DatabaseNameEnum,
    DataTypeEnum,
    ExperimentSampleRoleEnum,
    FileFormatEnum,
    ImagingModeEnum,
    InstrumentCategoryEnum,
    InstrumentRoleEnum,
    OutputTypeEnum,
    PreparationTypeEnum,
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
    return records


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
        "emdb_url": EMDB.page(emdb_id),
    }
    return Mapped("emdb", emdb_id, f"emdb:{emdb_id}", [], front_door)
