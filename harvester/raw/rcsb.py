"""RCSB PDB entries as clean values, and the holdings status that tells an obsolete entry from
an unknown one.

The two routes spell field names differently: GraphQL keeps the mmCIF names
(`em_3d_reconstruction`, `pdbx_database_id_DOI`), REST snake-cases their camelCase
(`em3d_reconstruction`, `pdbx_database_id_doi`). `canonical_entry` brings either to one shape,
and `parse_rcsb` reads that shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from empiar_mirror.harvester.raw.emdb import Person, integer, number, text
from empiar_mirror.harvester.raw.normalize import (
    iso_date,
    listify,
    normalize_emdb_id,
    normalize_pdb_id,
)

# The GraphQL selection: the fields parse_rcsb reads, under their GraphQL names. It is also the
# canonical shape of a stored entry (see canonical_entry), whichever route fetched it.
GRAPHQL_FIELDS = """
    rcsb_id
    struct { title pdbx_descriptor }
    struct_keywords { text }
    exptl { method }
    rcsb_entry_info { resolution_combined molecular_weight }
    em_experiment { reconstruction_method aggregation_state }
    em_3d_reconstruction { resolution resolution_method num_particles symmetry_type
                           actual_pixel_size }
    em_imaging { microscope_model accelerating_voltage nominal_defocus_min nominal_defocus_max
                 electron_source illumination_mode mode nominal_cs nominal_magnification }
    em_image_recording { film_or_detector_model avg_electron_dose_per_image detector_mode
                         num_real_images average_exposure_time }
    em_software { name version category }
    em_vitrification { cryogen_name instrument humidity }
    em_entity_assembly { name type oligomeric_details }
    em_single_particle_entity { point_symmetry }
    rcsb_accession_info { deposit_date initial_release_date revision_date status_code
                          major_revision minor_revision }
    rcsb_entry_container_identifiers { emdb_ids related_emdb_ids }
    pdbx_database_related { db_name db_id content_type }
    pdbx_database_PDB_obs_spr { replace_pdb_id }
    audit_author { name pdbx_ordinal identifier_ORCID }
    citation { id rcsb_is_primary title journal_abbrev journal_volume page_first page_last
               year pdbx_database_id_DOI pdbx_database_id_PubMed rcsb_authors }
    pdbx_audit_support { funding_organization country grant_number }
    pdbx_vrpt_summary_geometry { clashscore percent_ramachandran_outliers }
"""

# A selection as a tree keyed by folded name: (GraphQL name, its sub-selection or None).
Selection = dict[str, tuple[str, "Selection | None"]]


def fold(name: str) -> str:
    """The spelling both routes share: REST's `em3d_reconstruction` and GraphQL's
    `em_3d_reconstruction` both fold to `em3dreconstruction`."""
    return name.replace("_", "").lower()


def parse_selection(text: str) -> Selection:
    """A GraphQL selection set (names and braces, no arguments) as a tree."""
    # The closing brace of the whole set is implied; a stray "}" would leave tokens behind.
    tokens = iter([*re.findall(r"\w+|[{}]", text), "}"])
    tree = _selection(tokens)
    if next(tokens, None) is not None:
        raise ValueError("unbalanced braces in the GraphQL selection")
    return tree


def _selection(tokens: Iterator[str]) -> Selection:
    node: Selection = {}
    name = ""
    for token in tokens:
        if token == "}":
            return node
        if token == "{":
            node[fold(name)] = (name, _selection(tokens))
        else:
            name = token
            if fold(name) in node:
                # Folding could no longer tell them apart on the REST route.
                raise ValueError(f"two selected fields fold to {fold(name)!r}")
            node[fold(name)] = (name, None)
    raise ValueError("unbalanced braces in the GraphQL selection")


SELECTION = parse_selection(GRAPHQL_FIELDS)


def canonical_entry(doc: dict) -> dict:
    """Either route's entry document (REST `core/entry`, or one GraphQL `entries` item) in one
    shape: GraphQL names, only the selected fields, no nulls.

    GraphQL answers a selected field the entry lacks with null, REST leaves it out; dropping
    nulls makes both mean "absent". Pure and idempotent, so stored documents can pass again."""
    return _project(doc, SELECTION)


def _project(doc: dict, selection: Selection) -> dict:
    out = {}
    for key, value in doc.items():
        field = selection.get(fold(key))
        if field is None or value is None:
            continue
        name, sub = field
        if sub is not None and isinstance(value, dict):
            value = _project(value, sub)
        elif sub is not None and isinstance(value, list):
            value = [_project(v, sub) if isinstance(v, dict) else v for v in value]
        out[name] = value
    return out


class Software(BaseModel):
    name: str
    version: str | None = None
    category: str | None = None


class Citation(BaseModel):
    title: str | None = None
    journal_abbreviation: str | None = None
    volume: str | None = None
    page_first: str | None = None
    page_last: str | None = None
    year: int | None = None
    doi: str | None = None
    pubmed_id: str | None = None
    authors: list[str] = Field(default_factory=list)


class Funding(BaseModel):
    organization: str
    country: str | None = None
    grant_number: str | None = None


class RcsbEntry(BaseModel):
    pdb_id: str
    title: str | None = None
    descriptor: str | None = None
    keywords: list[str] = Field(default_factory=list)
    method: str | None = None
    reconstruction_method: str | None = None
    aggregation_state: str | None = None
    resolution: float | None = None
    resolution_method: str | None = None
    num_particles: int | None = None
    symmetry: str | None = None
    pixel_size: float | None = None
    microscope: str | None = None
    voltage_kv: float | None = None
    defocus_min_nm: float | None = None
    defocus_max_nm: float | None = None
    electron_source: str | None = None
    illumination_mode: str | None = None
    imaging_mode: str | None = None
    cs_mm: float | None = None
    magnification: float | None = None
    detector: str | None = None
    detector_mode: str | None = None
    dose: float | None = None
    exposure_time_s: float | None = None
    number_real_images: int | None = None
    software: list[Software] = Field(default_factory=list)
    cryogen: str | None = None
    vitrification_instrument: str | None = None
    humidity_percent: float | None = None
    assembly_name: str | None = None
    assembly_type: str | None = None
    oligomeric_state: str | None = None
    molecular_weight_kda: float | None = None
    deposition_date: str | None = None
    release_date: str | None = None
    revision_date: str | None = None
    status: str | None = None
    revision: str | None = None
    emdb_ids: list[str] = Field(default_factory=list)
    related_emdb_ids: list[str] = Field(default_factory=list)
    replaces: list[str] = Field(default_factory=list)
    authors: list[Person] = Field(default_factory=list)
    citation: Citation | None = None
    funding: list[Funding] = Field(default_factory=list)
    clashscore: float | None = None
    ramachandran_outliers_percent: float | None = None


def _emdb_id(value: Any) -> str | None:
    found = text(value)
    return normalize_emdb_id(found) if found else None


def _pdb_id(value: Any) -> str | None:
    found = text(value)
    return normalize_pdb_id(found) if found else None


def _first(doc: dict, key: str) -> dict:
    value = listify(doc.get(key))
    return value[0] if value and isinstance(value[0], dict) else {}


def _obj(doc: dict, key: str) -> dict:
    value = doc.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def parse_rcsb(doc: Any) -> RcsbEntry:
    """Read one RCSB entry under GraphQL names (`canonical_entry` gives that from either route);
    raises ValueError when it is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("rcsb_id"), str):
        raise ValueError("expected an RCSB entry with an rcsb_id")
    info = _obj(doc, "rcsb_entry_info")
    accession = _obj(doc, "rcsb_accession_info")
    ids = _obj(doc, "rcsb_entry_container_identifiers")
    recon = _first(doc, "em_3d_reconstruction")
    imaging = _first(doc, "em_imaging")
    recording = _first(doc, "em_image_recording")
    experiment = _obj(doc, "em_experiment")
    vitrification = _first(doc, "em_vitrification")
    assembly = _first(doc, "em_entity_assembly")
    citations = [c for c in listify(doc.get("citation")) if isinstance(c, dict)]
    primary = next((c for c in citations if c.get("rcsb_is_primary") == "Y"), None)
    primary = primary or next((c for c in citations if c.get("id") == "primary"), None)
    resolutions = [r for r in listify(info.get("resolution_combined")) if number(r) is not None]
    major, minor = accession.get("major_revision"), accession.get("minor_revision")
    emdb_ids = list(listify(ids.get("emdb_ids")))
    for rel in listify(doc.get("pdbx_database_related")):
        # An associated EM volume is the map the model was built into (RCSB's own rule).
        if (
            isinstance(rel, dict)
            and text(rel.get("db_name")) == "EMDB"
            and (text(rel.get("content_type")) == "associated EM volume")
        ):
            emdb_ids.append(rel.get("db_id"))
    # Ids that are no EMDB or PDB id are dropped: they must never become URLs or links.
    emdb_ids = [e for x in emdb_ids if (e := _emdb_id(x))]
    authors = sorted(
        (
            a
            for a in listify(doc.get("audit_author"))
            if isinstance(a, dict) and text(a.get("name"))
        ),
        key=lambda a: integer(a.get("pdbx_ordinal")) or 0,
    )
    return RcsbEntry(
        pdb_id=doc["rcsb_id"].upper(),
        title=text(_obj(doc, "struct").get("title")),
        descriptor=text(_obj(doc, "struct").get("pdbx_descriptor")),
        keywords=[
            k.strip()
            for k in (text(_obj(doc, "struct_keywords").get("text")) or "").split(",")
            if k.strip()
        ],
        method=text(_first(doc, "exptl").get("method")),
        reconstruction_method=text(experiment.get("reconstruction_method")),
        aggregation_state=text(experiment.get("aggregation_state")),
        resolution=number(resolutions[0]) if resolutions else number(recon.get("resolution")),
        resolution_method=text(recon.get("resolution_method")),
        num_particles=integer(recon.get("num_particles")),
        symmetry=text(_first(doc, "em_single_particle_entity").get("point_symmetry"))
        or text(recon.get("symmetry_type")),
        pixel_size=number(recon.get("actual_pixel_size")),
        microscope=text(imaging.get("microscope_model")),
        voltage_kv=number(imaging.get("accelerating_voltage")),
        defocus_min_nm=number(imaging.get("nominal_defocus_min")),
        defocus_max_nm=number(imaging.get("nominal_defocus_max")),
        electron_source=text(imaging.get("electron_source")),
        illumination_mode=text(imaging.get("illumination_mode")),
        imaging_mode=text(imaging.get("mode")),
        cs_mm=number(imaging.get("nominal_cs")),
        magnification=number(imaging.get("nominal_magnification")),
        detector=text(recording.get("film_or_detector_model")),
        detector_mode=text(recording.get("detector_mode")),
        dose=number(recording.get("avg_electron_dose_per_image")),
        exposure_time_s=number(recording.get("average_exposure_time")),
        number_real_images=integer(recording.get("num_real_images")),
        software=[
            Software(
                name=text(s["name"]),
                version=text(s.get("version")),
                category=text(s.get("category")),
            )
            for s in listify(doc.get("em_software"))
            if isinstance(s, dict) and text(s.get("name"))
        ],
        cryogen=text(vitrification.get("cryogen_name")),
        vitrification_instrument=text(vitrification.get("instrument")),
        humidity_percent=number(vitrification.get("humidity")),
        assembly_name=text(assembly.get("name")),
        assembly_type=text(assembly.get("type")),
        oligomeric_state=text(assembly.get("oligomeric_details")),
        molecular_weight_kda=number(info.get("molecular_weight")),
        deposition_date=iso_date(accession.get("deposit_date")),
        release_date=iso_date(accession.get("initial_release_date")),
        revision_date=iso_date(accession.get("revision_date")),
        status=text(accession.get("status_code")),
        revision=f"{major}.{minor}" if major is not None and minor is not None else None,
        emdb_ids=list(dict.fromkeys(emdb_ids)),
        related_emdb_ids=[e for x in listify(ids.get("related_emdb_ids")) if (e := _emdb_id(x))],
        replaces=[
            p
            for r in listify(doc.get("pdbx_database_PDB_obs_spr"))
            if isinstance(r, dict) and (p := _pdb_id(r.get("replace_pdb_id")))
        ],
        authors=[
            Person(name=text(a["name"]), orcid=text(a.get("identifier_ORCID"))) for a in authors
        ],
        citation=Citation(
            title=text(primary.get("title")),
            journal_abbreviation=text(primary.get("journal_abbrev")),
            volume=text(primary.get("journal_volume")),
            page_first=text(primary.get("page_first")),
            page_last=text(primary.get("page_last")),
            year=integer(primary.get("year")),
            doi=text(primary.get("pdbx_database_id_DOI")),
            pubmed_id=text(primary.get("pdbx_database_id_PubMed")),
            authors=[text(a) for a in listify(primary.get("rcsb_authors")) if text(a)],
        )
        if primary
        else None,
        funding=[
            Funding(
                organization=text(f["funding_organization"]),
                country=text(f.get("country")),
                grant_number=text(f.get("grant_number")),
            )
            for f in listify(doc.get("pdbx_audit_support"))
            if isinstance(f, dict) and text(f.get("funding_organization"))
        ],
        clashscore=number(_first(doc, "pdbx_vrpt_summary_geometry").get("clashscore")),
        ramachandran_outliers_percent=number(
            _first(doc, "pdbx_vrpt_summary_geometry").get("percent_ramachandran_outliers")
        ),
    )


class Holdings(BaseModel):
    pdb_id: str
    status: str | None = None
    replaced_by: str | None = None


def parse_holdings(doc: Any, pdb_id: str) -> Holdings:
    """`holdings/status/{id}`: whether an entry is current, obsolete (and by what replaced)."""
    combined = doc.get("rcsb_repository_holdings_combined") if isinstance(doc, dict) else None
    if not isinstance(combined, dict):
        raise ValueError("expected rcsb_repository_holdings_combined in the holdings answer")
    return Holdings(
        pdb_id=pdb_id,
        status=text(combined.get("status_code")),
        replaced_by=_pdb_id(combined.get("id_code_replaced_by_latest")),
    )
