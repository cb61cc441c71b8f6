"""RCSB PDB entry (clean model) -> lambda-ber records and the `pdb_models` front-door row."""

from __future__ import annotations

from empiar_mirror.harvester.mapping import vocab
from empiar_mirror.harvester.mapping.common import (
    People,
    funders,
    manufacturer,
    publication,
    slug,
)
from empiar_mirror.harvester.mapping.instruments import detector_family, microscope_family
from empiar_mirror.harvester.raw.rcsb import Holdings, RcsbEntry
from empiar_mirror.index.archives import NOT_PUBLIC, PDB
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.enums import (
    DatabaseNameEnum,
    DataTypeEnum,
    FileFormatEnum,
    InputTypeEnum,
    InstrumentCategoryEnum,
    InstrumentRoleEnum,
    OutputTypeEnum,
    SampleRoleEnum,
    SampleTypeEnum,
    TechniqueEnum,
    WorkflowTypeEnum,
)
from empiar_mirror.index.lambda_ber.record import (
    ASSOCIATED_MAP,
    REPLACES,
    SELF,
    Mapped,
    distinct,
)

MODEL_FILE = "https://files.rcsb.org/download/{pdb_id}.cif"


def _technique(e: RcsbEntry) -> TechniqueEnum:
    method = vocab.RCSB_METHOD.get((e.reconstruction_method or "").upper())
    if (e.method or "").upper() == "X-RAY DIFFRACTION":
        return TechniqueEnum.xray_crystallography
    if (e.method or "").upper() == "ELECTRON CRYSTALLOGRAPHY":
        return TechniqueEnum.microed
    return vocab.technique_for(method)


def _workflows(e: RcsbEntry, dataset_id: str, study_id: str, experiment_id: str):
    records: list[lb._Model] = []
    model_file = f"{dataset_id}/file/model"
    by_type: dict[WorkflowTypeEnum, list] = {}
    for sw in e.software:
        kind = vocab.RCSB_SOFTWARE.get((sw.category or "").upper())
        if kind in (WorkflowTypeEnum.model_building, WorkflowTypeEnum.model_refinement):
            by_type.setdefault(kind, []).append(sw)
    by_type.setdefault(WorkflowTypeEnum.model_building, [])
    for kind, software in by_type.items():
        workflow_id = f"{dataset_id}/workflow/{kind.value.replace('_', '-')}"
        records += [
            lb.WorkflowRun(
                id=workflow_id,
                title=f"{e.pdb_id} {kind.value.replace('_', ' ')}",
                workflow_code=f"PDB-{e.pdb_id}-{kind.value.upper().replace('_', '-')}",
                workflow_type=kind,
                software_name=software[0].name if software else "unknown",
                software_version=software[0].version if software else None,
                additional_software=", ".join(s.name for s in software[1:]) or None,
                deposited_to_pdb=True,
                pdb_id=e.pdb_id,
                resolution_high=lb.qv(e.resolution, "Angstroms"),
                clashscore=lb.qv(e.clashscore, "dimensionless"),
                ramachandran_outliers=lb.qv(e.ramachandran_outliers_percent, "percent"),
            ),
            lb.StudyWorkflowAssociation(study_id=study_id, workflow_id=workflow_id),
            lb.WorkflowExperimentAssociation(
                workflow_id=workflow_id, experiment_id=experiment_id, x_owner=dataset_id
            ),
            lb.WorkflowOutputAssociation(
                workflow_id=workflow_id,
                file_id=model_file,
                output_type=OutputTypeEnum.model,
                x_owner=dataset_id,
            ),
        ]
        # The maps the model was built into are its reference input.
        records += [
            lb.WorkflowInputAssociation(
                workflow_id=workflow_id,
                file_id=f"emdb:{emd}/file/map",
                input_type=InputTypeEnum.reference,
                x_owner=dataset_id,
            )
            for emd in e.emdb_ids
        ]
    records.append(
        lb.DataFile(
            id=model_file,
            title=f"{e.pdb_id} model",
            file_name=f"{e.pdb_id}.cif",
            file_path=MODEL_FILE.format(pdb_id=e.pdb_id),
            file_format=FileFormatEnum.mmcif,
            data_type=DataTypeEnum.model,
            file_role="primary",
            related_entity=f"{dataset_id}/workflow/model-building",
        )
    )
    return records


def map_rcsb(e: RcsbEntry) -> Mapped:
    """Map one PDB entry. Pure: the same document always gives the same output."""
    dataset_id = f"pdb:{e.pdb_id}"
    study_id = f"{dataset_id}/study"
    experiment_id = f"{dataset_id}/experiment"
    sample_id = f"{dataset_id}/sample"
    method = vocab.RCSB_METHOD.get((e.reconstruction_method or "").upper())
    refs = [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.pdb,
            database_id=e.pdb_id,
            database_url=f"https://doi.org/10.2210/pdb{e.pdb_id.lower()}/pdb",
            description=SELF,
        )
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.emdb,
            database_id=emd,
            database_url=f"https://www.ebi.ac.uk/emdb/{emd}",
            description=description,
        )
        for emds, description in (
            (e.emdb_ids, ASSOCIATED_MAP),
            (e.related_emdb_ids, "other EM volume"),
        )
        for emd in emds
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.pdb,
            database_id=old,
            database_url=PDB.page(old),
            description=REPLACES,
        )
        for old in e.replaces
    ]
    records: list[lb._Model] = [
        lb.Dataset(
            id=dataset_id,
            title=e.title,
            description=e.descriptor,
            deposition_date=e.deposition_date,
            release_date=e.release_date,
            last_revision_date=e.revision_date,
            revision=e.revision,
            x_source="pdb",
            x_status=e.status,
        ),
        lb.Study(
            id=study_id,
            dataset_id=dataset_id,
            title=e.title,
            description=e.descriptor,
            keywords=e.keywords,
            database_cross_references=refs,
        ),
        lb.ExperimentRun(
            id=experiment_id,
            title=e.title,
            experiment_code=f"PDB-{e.pdb_id}-EXP",
            technique=_technique(e),
            experimental_method=method,
            magnification=lb.qv(e.magnification, "dimensionless"),
            total_dose=lb.qv(e.dose, "e-/Angstrom^2"),
            total_exposure_time=lb.qv(e.exposure_time_s, "s"),
            defocus_range_min=lb.qv(e.defocus_min_nm, "nanometers"),
            defocus_range_max=lb.qv(e.defocus_max_nm, "nanometers"),
            number_of_images=lb.qv(e.number_real_images, "images"),
            calibrated_pixel_size=lb.qv(e.pixel_size, "Angstroms"),
            quality_metrics=lb.QualityMetrics(
                resolution=lb.qv(e.resolution, "Angstroms"),
                clashscore=lb.qv(e.clashscore, "dimensionless"),
                ramachandran_outliers_percent=lb.qv(e.ramachandran_outliers_percent, "percent"),
            ),
        ),
        lb.StudyExperimentAssociation(study_id=study_id, experiment_id=experiment_id),
        lb.Sample(
            id=sample_id,
            title=e.assembly_name,
            sample_code=f"PDB-{e.pdb_id}",
            sample_type=vocab.SAMPLE_TYPE.get(e.assembly_type or "", SampleTypeEnum.complex),
            molecular_weight=lb.qv(e.molecular_weight_kda, "kDa"),
            oligomeric_state=e.oligomeric_state,
        ),
        lb.StudySampleAssociation(
            study_id=study_id, sample_id=sample_id, role=SampleRoleEnum.target
        ),
    ]
    if e.microscope:
        instrument_id = f"{dataset_id}/instrument/em-1"
        records += [
            lb.Instrument(
                id=instrument_id,
                title=e.microscope,
                instrument_type="CryoEMInstrument",
                instrument_code=slug(e.microscope),
                instrument_category=InstrumentCategoryEnum.ELECTRON_MICROSCOPE,
                manufacturer=manufacturer(e.microscope),
                model=e.microscope,
                accelerating_voltage=lb.qv(e.voltage_kv, "kV"),
                cs=lb.qv(e.cs_mm, "mm"),
                electron_source=e.electron_source,
                illumination_mode=e.illumination_mode,
                detector_model=e.detector,
                detector_manufacturer=manufacturer(e.detector),
                detector_technology=vocab.detector_technology(e.detector),
                detector_mode=vocab.DETECTOR_MODE.get((e.detector_mode or "").upper()),
            ),
            lb.ExperimentInstrumentAssociation(
                experiment_id=experiment_id,
                instrument_id=instrument_id,
                role=InstrumentRoleEnum.primary,
            ),
        ]
    people = People(dataset_id, study_id)
    people.authors([(a.name, a.orcid) for a in e.authors])
    records += people.records()
    records += funders(
        "pdb", study_id, [(f.organization, f.grant_number, f.country) for f in e.funding]
    )
    if e.citation and e.citation.title:
        c = e.citation
        records += publication(
            f"{dataset_id}/publication/1",
            study_id,
            True,
            doi=c.doi,
            pubmed_id=c.pubmed_id,
            title=c.title,
            authors=c.authors,
            journal_abbreviation=c.journal_abbreviation,
            volume=c.volume,
            page_first=c.page_first,
            page_last=c.page_last,
            year=c.year,
        )
    records += _workflows(e, dataset_id, study_id, experiment_id)
    front_door = pdb_front_door(e.pdb_id, status=e.status)
    front_door.update(
        title=e.title,
        method=vocab.METHOD_LABEL.get(method, e.reconstruction_method or e.method),
        resolution_a=e.resolution,
        release_date=e.release_date,
        # Searched: a model is found by its instruments as served and by family.
        instrument_text="\n".join(
            distinct(
                [
                    e.microscope,
                    microscope_family(e.microscope),
                    e.detector,
                    detector_family(e.detector),
                ]
            )
        )
        or None,
    )
    return Mapped("pdb", e.pdb_id, dataset_id, records, front_door)


def pdb_front_door(pdb_id: str, *, status: str | None, replaced_by: str | None = None) -> dict:
    """The `pdb_models` row; alone, it stands for an entry RCSB no longer serves."""
    return {
        "pdb_id": pdb_id,
        "title": None,
        "status": status,
        "method": None,
        "resolution_a": None,
        "release_date": None,
        "replaced_by": replaced_by,
        "pdb_url": PDB.page(pdb_id),
        "instrument_text": None,
    }


def _bare(pdb_id: str, status: str | None, replaced_by: str | None = None) -> Mapped:
    """An entry RCSB does not serve: only its status, and what replaced it, are known."""
    front_door = pdb_front_door(pdb_id, status=status, replaced_by=replaced_by)
    return Mapped("pdb", pdb_id, f"pdb:{pdb_id}", [], front_door)


def map_not_public(pdb_id: str) -> Mapped:
    return _bare(pdb_id, NOT_PUBLIC)


def map_removed(holdings: Holdings) -> Mapped:
    """What RCSB's holdings say of an entry its core route does not serve (e.g. obsolete)."""
    return _bare(holdings.pdb_id, holdings.status, holdings.replaced_by)
