"""EMPIAR entry (raw model) -> lambda-ber records and the `empiar_entries` front-door row."""

from __future__ import annotations

import json
import re

from empiar_mirror.harvester.mapping import correlative, vocab, volume_em
from empiar_mirror.harvester.mapping.common import (
    People,
    emdb_id,
    funders,
    organization,
    publication,
)
from empiar_mirror.harvester.raw.empiar import Contact, Entry, Imageset
from empiar_mirror.harvester.raw.normalize import iso_date, normalize_pdb_id, parse_size_bytes
from empiar_mirror.index.archives import EMPIAR
from empiar_mirror.index.lambda_ber import models as lb
from empiar_mirror.index.lambda_ber.enums import (
    DatabaseNameEnum,
    DataTypeEnum,
    ExperimentalMethodEnum,
    ExperimentSampleRoleEnum,
    FileFormatEnum,
    InputTypeEnum,
    InstrumentCategoryEnum,
    InstrumentRoleEnum,
    OrganizationRoleEnum,
    PersonRoleEnum,
    ProcessingStatusEnum,
    SampleRoleEnum,
    TechniqueEnum,
)
from empiar_mirror.index.lambda_ber.record import (
    RELATED_EMDB,
    RELATED_PDB,
    SELF,
    Mapped,
    distinct,
)

# Public locations, not the configured endpoints: rows must say where the data really lives.
FILES_BASE = "https://ftp.ebi.ac.uk/empiar/world_availability"
# EMPIAR has no field for an obsolete entry's successor: its curators write it in the entry's
# text ("Obsoleted: …; superseded by EMPIAR-90022").
_SUCCESSOR = re.compile(r"\b(?:superseded|replaced)\s+by\s+(EMPIAR-[0-9]+)", re.IGNORECASE)
OBSOLETE = "OBS"
# An entry linking more maps than this names no imageset as any one map's input, only its
# experiment: its rows stay linear in its size, not maps x imagesets (1,200 x 1,200 = 1.44 M).
MAX_MAPS_WITH_INPUTS = 10


def _contact(people: People, local: str, contact: Contact) -> str:
    return people.add(
        local,
        contact.author_orcid,
        full_name=contact.full_name,
        given_name=contact.first_name,
        family_name=contact.last_name,
        email=contact.email,
        affiliation=contact.organization,
    )


def _cross_references(entry: Entry, emdb_ids: list[str], pdb_ids: list[str]):
    refs = [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.empiar,
            database_id=entry.accession,
            database_url=f"https://doi.org/{entry.entry_doi}" if entry.entry_doi else None,
            description=SELF,
        )
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.emdb,
            database_id=emd,
            database_url=f"https://www.ebi.ac.uk/emdb/{emd}",
            description=RELATED_EMDB,
        )
        for emd in emdb_ids
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.pdb,
            database_id=pdb,
            database_url=f"https://www.rcsb.org/structure/{pdb}",
            description=RELATED_PDB,
        )
        for pdb in pdb_ids
    ]
    refs += [
        lb.DatabaseCrossReference(
            database_name=DatabaseNameEnum.empiar,
            database_id=acc,
            description="related EMPIAR entry",
        )
        for acc in entry.empiar_references
    ]
    for label, names in (
        ("BioStudies", entry.biostudies_references),
        ("IDR", entry.idr_references),
    ):
        refs += [
            lb.DatabaseCrossReference(
                database_name=DatabaseNameEnum.other, database_id=name, description=f"{label} entry"
            )
            for name in names
        ]
    return refs


def _publications(entry: Entry, study_id: str, dataset_id: str) -> list[lb._Model]:
    records: list[lb._Model] = []
    for i, cit in enumerate(entry.citation, start=1):
        # EMPIAR marks no primary citation; the first one listed is taken as primary.
        records += publication(
            f"{dataset_id}/publication/{i}",
            study_id,
            i == 1,
            doi=cit.doi,
            pubmed_id=cit.pubmedid,
            title=cit.title,
            # EMPIAR's free text on the publication: in real entries it names the microscope,
            # detector, defocus range and dose.
            description=cit.details,
            authors=[a.name for a in cit.authors if a.name],
            journal=cit.journal,
            journal_abbreviation=cit.journal_abbreviation,
            volume=cit.volume,
            issue=cit.issue,
            page_first=cit.first_page,
            page_last=cit.last_page,
            year=cit.year,
            language=cit.language,
            journal_country=cit.country,
            unpublished=None if cit.published is None else not cit.published,
        )
    return records


def _depth(iset: Imageset) -> float | None:
    """A volume's z-slices (API-NOTES §1.9); EMPIAR writes `frames_per_image: 1` for volumes
    whose depth it does not state, and no volume is one pixel deep."""
    frames = iset.frames_per_image
    return frames if frames and frames > 1 else None


def _voxel_size(iset: Imageset, stack: bool) -> float | None:
    """A volume's voxel edge in Å: the pixel size of a reconstructed volume; for a section
    stack only when its sections are as thick as its pixels are wide (isotropic voxels)."""
    if not stack:
        return iset.pixel_width
    thickness = volume_em.section_thickness(iset.details)
    square = iset.pixel_width is not None and iset.pixel_height in (None, iset.pixel_width)
    return iset.pixel_width if square and thickness == iset.pixel_width else None


def _light_microscopes(entry: Entry, dataset_id: str, experiment_id: str) -> list[lb._Model]:
    """The optical microscopes of a correlative entry's light images, one per kind: EMPIAR names
    no model, so each is known by its kind alone."""
    kinds = distinct(
        correlative.light_microscope(entry.experiment_type, i.name) for i in entry.imagesets
    )
    records: list[lb._Model] = []
    for kind in kinds:
        instrument_id = f"{dataset_id}/instrument/{kind.replace(' ', '-')}"
        records += [
            lb.Instrument(
                id=instrument_id,
                title=kind[0].upper() + kind[1:],
                instrument_type="Instrument",
                instrument_code=f"{entry.accession} {kind}",
                instrument_category=InstrumentCategoryEnum.OPTICAL_MICROSCOPE,
            ),
            lb.ExperimentInstrumentAssociation(
                experiment_id=experiment_id,
                instrument_id=instrument_id,
                role=InstrumentRoleEnum.primary,
            ),
        ]
    return records


def _imagesets(entry: Entry, dataset_id: str, experiment_id: str, number: str):
    records: list[lb._Model] = []
    names = [i.name for i in entry.imagesets]
    simulated = correlative.simulated_imagesets(entry.experiment_type, names)
    whole_entry = correlative.is_simulated(entry.experiment_type, names)
    for k, iset in enumerate(entry.imagesets, start=1):
        file_id = f"{dataset_id}/imageset/{k}"
        stack = volume_em.is_section_stack(entry.experiment_type, iset.category)
        if stack:
            data_type, image_type = DataTypeEnum.raw_data, "Image3D"
        else:
            data_type, image_type = vocab.CATEGORY.get(iset.category or "", vocab.DEFAULT_CATEGORY)
        is_3d = image_type == "Image3D"
        if correlative.light_microscope(entry.experiment_type, iset.name):
            # The light half of a correlative entry. lambda-ber's FluorescenceImage is 2D: a
            # cryo-SIM or confocal volume keeps its voxel and depth all the same.
            image_type = "FluorescenceImage"
        directory = (iset.directory or "").lstrip("/")
        name = iset.name or directory.rstrip("/").rsplit("/", 1)[-1] or f"imageset {k}"
        records.append(
            lb.DataFile(
                id=file_id,
                title=iset.name,
                description=iset.details,
                file_name=name,
                file_path=f"{FILES_BASE}/{number}/{directory}",
                file_format=vocab.DATA_FORMAT.get(iset.data_format or "", FileFormatEnum.other),
                data_type=data_type,
                file_role="raw",
                related_entity=experiment_id,
                x_empiar_category=iset.category,
                x_header_format=iset.header_format,
                x_data_format=iset.data_format,
                x_voxel_type=iset.voxel_type,
                x_num_images_or_tilt_series=iset.num_images_or_tilt_series,
                x_frames_per_image=iset.frames_per_image,
                x_frame_range_min=iset.frame_range_min,
                x_frame_range_max=iset.frame_range_max,
                x_image_width=iset.image_width,
                x_image_height=iset.image_height,
                x_pixel_width=iset.pixel_width,
                x_pixel_height=iset.pixel_height,
                x_micrographs_file_pattern=iset.micrographs_file_pattern,
                x_picked_particles_file_pattern=iset.picked_particles_file_pattern,
                x_picked_particles_directory=iset.picked_particles_directory,
            )
        )
        records.append(
            lb.Image(
                id=f"{file_id}/image",
                title=iset.name,
                image_type=image_type,
                file_name=name,
                # A section stack's in-plane pixel is known even where its voxel is not.
                pixel_size=lb.qv(iset.pixel_width, "Angstroms") if stack or not is_3d else None,
                voxel_size=lb.qv(_voxel_size(iset, stack), "Angstroms") if is_3d else None,
                dimensions_x=lb.qv(iset.image_width, "pixels"),
                dimensions_y=lb.qv(iset.image_height, "pixels"),
                dimensions_z=lb.qv(_depth(iset), "pixels") if is_3d else None,
                frames=lb.qv(iset.frames_per_image, "frames") if image_type == "Movie" else None,
                x_data_file_id=file_id,
            )
        )
        if simulated[k - 1] and not whole_entry:
            # Simulated data beside measured data: lambda-ber has no slot to say so.
            records.append(
                lb.AdditionalProperty(
                    owner_table="experiment_run",
                    owner_id=experiment_id,
                    attribute_id=f"empiar:imageset/{k}/simulated",
                    attribute_label=f"simulated, imageset {k}",
                    value="true",
                )
            )
        thickness = volume_em.section_thickness(iset.details) if stack else None
        if thickness is not None:
            records.append(
                lb.AdditionalMetric(
                    owner_table="experiment_run",
                    owner_id=experiment_id,
                    attribute_id=f"empiar:imageset/{k}/section_thickness",
                    attribute_label=f"section thickness, imageset {k}",
                    numeric_value=thickness,
                    unit="Angstroms",
                )
            )
    return records


def _scale_sample(entry: Entry, dataset_id: str, emdb_ids: list[str]) -> list[lb._Model]:
    """A Sample from EMPIAR's `scale` for an entry naming no EMDB map: all that is known of
    what was imaged (a map's own sample, when there is one, says much more)."""
    sample_type = vocab.SCALE_SAMPLE_TYPE.get((entry.scale or "").lower())
    if emdb_ids or sample_type is None:
        return []
    sample_id = f"{dataset_id}/sample"
    return [
        lb.Sample(
            id=sample_id,
            title=entry.title,
            description=f"EMPIAR scale: {entry.scale}",
            sample_code=entry.accession,
            sample_type=sample_type,
        ),
        lb.StudySampleAssociation(
            study_id=f"{dataset_id}/study", sample_id=sample_id, role=SampleRoleEnum.target
        ),
        lb.ExperimentSampleAssociation(
            experiment_id=f"{dataset_id}/experiment",
            sample_id=sample_id,
            role=ExperimentSampleRoleEnum.target,
        ),
    ]


def successor(entry: Entry) -> str | None:
    """The entry that replaced an obsolete one, as its text names it."""
    if entry.status != OBSOLETE:
        return None
    texts = [
        entry.title,
        *(t for i in entry.imagesets for t in (i.name, i.details)),
        *(c.details for c in entry.citation),
    ]
    for text in texts:
        match = _SUCCESSOR.search(text or "")
        if match and match.group(1).upper() != entry.accession:
            return match.group(1).upper()
    return None


def _own_technique(entry: Entry) -> tuple[TechniqueEnum, ExperimentalMethodEnum | None, str]:
    """Technique, method and source from the entry's own type, categories and words."""
    texts = [entry.title, *(t for i in entry.imagesets for t in (i.name, i.details))]
    return vocab.own_technique(entry.experiment_type, [i.category for i in entry.imagesets], texts)


def _experiment(entry: Entry, dataset_id: str, number: str) -> list[lb._Model]:
    experiment_id = f"{dataset_id}/experiment"
    # The entry's own evidence, kept as its experiment's: the linked maps may outweigh it in
    # the front door (front_doors.refresh), never here, so the mapping stays a pure function.
    technique, method, _ = _own_technique(entry)
    collected = [i for i in entry.imagesets if i.category in vocab.COLLECTION_CATEGORIES]
    first = collected[0] if collected else None
    movies = [
        i
        for i in collected
        if i.category == "micrographs - multiframe"
        and not volume_em.is_section_stack(entry.experiment_type, i.category)
    ]
    n_images = sum(i.num_images_or_tilt_series or 0 for i in collected) if collected else None
    records: list[lb._Model] = [
        lb.ExperimentRun(
            id=experiment_id,
            title=entry.title,
            experiment_code=entry.accession,
            technique=technique,
            experimental_method=method,
            raw_data_location=f"{FILES_BASE}/{number}/",
            processing_status=ProcessingStatusEnum.raw,
            calibrated_pixel_size=lb.qv(first.pixel_width if first else None, "Angstroms"),
            frames_per_movie=lb.qv(movies[0].frames_per_image if movies else None, "frames"),
            number_of_images=lb.qv(n_images, "images"),
        )
    ]
    # Status and its dates have no lambda-ber slot: a reader of the export learns them here,
    # as whether the data are simulated rather than measured.
    simulated = correlative.is_simulated(entry.experiment_type, [i.name for i in entry.imagesets])
    properties = {
        "experiment_type": entry.experiment_type,
        "scale": entry.scale,
        "simulated": "true" if simulated else None,
        "status": entry.status,
        "obsolete_date": iso_date(entry.obsolete_date),
        "superseded_by": successor(entry),
    }
    records += [
        lb.AdditionalProperty(
            owner_table="experiment_run",
            owner_id=experiment_id,
            attribute_id=f"empiar:{label}",
            attribute_label=label,
            value=value,
        )
        for label, value in properties.items()
        if value
    ]
    size = parse_size_bytes(entry.dataset_size)
    if size is not None:
        records.append(
            lb.AdditionalMetric(
                owner_table="experiment_run",
                owner_id=experiment_id,
                attribute_id="empiar:dataset_size",
                attribute_label="dataset_size",
                numeric_value=size,
                unit="bytes",
            )
        )
    return records


def map_entry(entry: Entry) -> Mapped:
    """Map one EMPIAR entry. Pure: the same raw record always gives the same output."""
    acc = entry.accession
    number = acc.removeprefix("EMPIAR-")
    dataset_id = EMPIAR.curie(acc)
    study_id = f"{dataset_id}/study"
    experiment_id = f"{dataset_id}/experiment"
    emdb_ids = distinct(emdb_id(x) for x in entry.cross_references)
    pdb_ids = distinct(normalize_pdb_id(x) for x in entry.related_pdb_entries)

    records: list[lb._Model] = [
        lb.Dataset(
            id=dataset_id,
            title=entry.title,
            deposition_date=iso_date(entry.deposition_date),
            release_date=iso_date(entry.release_date),
            last_revision_date=iso_date(entry.update_date),
            x_source="empiar",
            x_status=entry.status,
            x_obsolete_date=iso_date(entry.obsolete_date),
        ),
        lb.Study(
            id=study_id,
            dataset_id=dataset_id,
            title=entry.title,
            keywords=distinct([entry.experiment_type, entry.scale]),
            database_cross_references=_cross_references(entry, emdb_ids, pdb_ids),
        ),
    ]

    people = People(dataset_id, study_id)
    people.authors([(a.name, a.author_orcid) for a in entry.authors if a.name])
    affiliations: list[tuple[str, Contact]] = []
    if entry.corresponding_author:
        pid = _contact(people, "contact", entry.corresponding_author)
        people.link(pid, PersonRoleEnum.contact, corresponding=True)
        affiliations.append((pid, entry.corresponding_author))
    for i, pi in enumerate(entry.principal_investigator, start=1):
        pid = _contact(people, f"pi-{i}", pi)
        people.link(pid, PersonRoleEnum.principal_investigator)
        affiliations.append((pid, pi))
    records += people.records()

    organizations: dict[str, lb.Organization] = {}
    for pid, contact in affiliations:
        if not contact.organization:
            continue
        org = organization(
            "empiar", contact.organization, location=contact.town_or_city, country=contact.country
        )
        organizations.setdefault(org.id, org)
        records.append(
            lb.PersonOrganizationAssociation(
                person_id=pid, organization_id=org.id, role=OrganizationRoleEnum.primary_affiliation
            )
        )
    records += organizations.values()
    records += funders(
        "empiar",
        study_id,
        [(g.funding_body, g.code, g.country) for g in entry.grant_references if g.funding_body],
    )
    records += _publications(entry, study_id, dataset_id)
    records += _experiment(entry, dataset_id, number)
    records.append(lb.StudyExperimentAssociation(study_id=study_id, experiment_id=experiment_id))
    records += _imagesets(entry, dataset_id, experiment_id, number)
    records += _light_microscopes(entry, dataset_id, experiment_id)
    records += _scale_sample(entry, dataset_id, emdb_ids)
    # EMPIAR is the authoritative side of the link: its data collection fed these maps'
    # reconstructions, and its imagesets were their raw input (which imageset fed which map is
    # a fair guess only for an entry linking few maps).
    fed = len(entry.imagesets) if len(emdb_ids) <= MAX_MAPS_WITH_INPUTS else 0
    for emd in emdb_ids:
        workflow_id = f"emdb:{emd}/workflow/reconstruction"
        records.append(
            lb.WorkflowExperimentAssociation(
                workflow_id=workflow_id, experiment_id=experiment_id, x_owner=dataset_id
            )
        )
        records += [
            lb.WorkflowInputAssociation(
                workflow_id=workflow_id,
                file_id=f"{dataset_id}/imageset/{k}",
                input_type=InputTypeEnum.raw_data,
                x_owner=dataset_id,
            )
            for k in range(1, fed + 1)
        ]

    experiment = next(r for r in records if isinstance(r, lb.ExperimentRun))
    own_source = _own_technique(entry)[2]
    primary = entry.citation[0] if entry.citation else None
    release = iso_date(entry.release_date)
    pixel_sizes = [i.pixel_width for i in entry.imagesets if i.pixel_width]
    author_names = [a.name for a in entry.authors if a.name]
    front_door = {
        "accession": acc,
        "title": entry.title,
        "status": entry.status,
        "experiment_type": entry.experiment_type,
        "technique": experiment.technique,
        "experimental_method": experiment.experimental_method,
        # Until the linked maps are weighed (front_doors.refresh), the own evidence decides.
        "technique_source": own_source,
        "own_technique_source": own_source,
        "scale": entry.scale,
        "deposition_date": iso_date(entry.deposition_date),
        "release_date": release,
        "update_date": iso_date(entry.update_date),
        "obsolete_date": iso_date(entry.obsolete_date),
        "replaced_by": successor(entry),
        "release_year": int(release[:4]) if release else None,
        "dataset_size": entry.dataset_size,
        "dataset_size_bytes": parse_size_bytes(entry.dataset_size),
        "entry_doi": entry.entry_doi,
        "authors": "; ".join(author_names),
        "corresponding_author": (
            entry.corresponding_author.full_name if entry.corresponding_author else None
        ),
        "simulated": int(
            correlative.is_simulated(entry.experiment_type, [i.name for i in entry.imagesets])
        ),
        "imageset_count": len(entry.imagesets),
        "image_count": sum(i.num_images_or_tilt_series or 0 for i in entry.imagesets),
        "categories": json.dumps(distinct(i.category for i in entry.imagesets)),
        "data_formats": json.dumps(distinct(i.data_format for i in entry.imagesets)),
        "pixel_size_min_a": min(pixel_sizes) if pixel_sizes else None,
        "citation_title": primary.title if primary else None,
        "citation_doi": primary.doi if primary else None,
        "citation_journal": primary.journal if primary else None,
        "citation_year": primary.year if primary else None,
        "empiar_url": EMPIAR.page(acc),
        # For full-text search: the imagesets' words live in another table.
        "imageset_text": "\n".join(t for i in entry.imagesets for t in (i.name, i.details) if t),
    }
    return Mapped("empiar", acc, dataset_id, records, front_door)
