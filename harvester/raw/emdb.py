"""The EMDB entry document (a dump of its XML header) turned into clean, typed values.

EMDB JSON wraps values as `{"valueOf_": "3.97", "units": "Å"}`, keeps numbers in strings, names
the XML `type` attribute `type_`, and serves the same element as a list or as one object. This is
the one place that knows; the mapping only ever sees `EmdbEntry`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from empiar_mirror.harvester.raw.normalize import (
    bounded,
    clean_text,
    finite,
    iso_date,
    listify,
    normalize_emdb_id,
    normalize_pdb_id,
    set_aside,
)

# Image-processing steps whose software EMDB lists, in processing order.
PROCESSING_STEPS = (
    "startup_model",
    "ctf_correction",
    "particle_selection",
    "initial_angle_assignment",
    "final_two_d_classification",
    "final_three_d_classification",
    "final_angle_assignment",
    "final_reconstruction",
)


def unwrap(value: Any) -> Any:
    """`{"valueOf_": x, ...}` -> x; `{}` (an empty XML element) -> None; else unchanged."""
    if isinstance(value, dict):
        if "valueOf_" in value:
            return value["valueOf_"]
        if not value:
            return None
    return value


def get(doc: Any, *path: str) -> Any:
    """Follow keys, taking the first item wherever a list stands in the way."""
    for key in path:
        if isinstance(doc, list):
            doc = doc[0] if doc else None
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def text(value: Any) -> str | None:
    value = unwrap(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    value = clean_text(str(value)).strip()
    return value or None


def number(value: Any) -> float | None:
    """A finite float, or None; NaN, Infinity and 1e400 are set aside."""
    value = unwrap(value)
    if isinstance(value, bool) or value is None:
        return None
    try:
        return finite(float(value), value)
    except OverflowError:  # an integer too large for a float
        set_aside(value, "too large for a float")
        return None
    except (TypeError, ValueError):
        return None


def integer(value: Any) -> int | None:
    n = number(value)
    return bounded(int(n), value) if n is not None else None


def first(value: Any) -> Any:
    items = listify(value)
    return items[0] if items else None


def first_object(value: Any) -> dict:
    """The first object of an element, or {} when it is not one (a string in its place)."""
    item = first(value)
    return item if isinstance(item, dict) else {}


class Person(BaseModel):
    name: str
    orcid: str | None = None


class Software(BaseModel):
    step: str
    name: str
    version: str | None = None


class Organism(BaseModel):
    ncbi: int | None = None
    name: str | None = None


class Component(BaseModel):
    """A supramolecule or macromolecule of the sample."""

    kind: str | None = None
    name: str | None = None
    details: str | None = None
    organisms: list[Organism] = Field(default_factory=list)
    molecular_weight: float | None = None
    molecular_weight_unit: str | None = None


class Expression(BaseModel):
    """A recombinant expression system: the host organism, and its cell line or strain."""

    organism: Organism
    cell: str | None = None
    strain: str | None = None


class Molecule(BaseModel):
    """One entry of the sample's macromolecule list: a protein, nucleic acid, ligand, saccharide,
    label or other molecule, as EMDB states it."""

    number: int | None = None
    kind: str | None = None  # instance_type: protein_or_peptide, dna, rna, ligand, saccharide…
    name: str | None = None
    organism: Organism | None = None
    copies: int | None = None
    molecular_weight: float | None = None
    molecular_weight_unit: str | None = None
    experimental_weight: float | None = None
    experimental_weight_unit: str | None = None
    # One-letter code as served, whitespace removed (EMDB wraps it every 80 residues).
    sequence: str | None = None
    # External references by type (UNIPROTKB, CHEBI, PUBCHEM, …), in the order served.
    references: dict[str, list[str]] = Field(default_factory=dict)
    formula: str | None = None
    classification: str | None = None
    expressions: list[Expression] = Field(default_factory=list)


class MapFile(BaseModel):
    role: str  # primary, half, mask, additional
    file: str
    format: str | None = None
    size_kbytes: int | None = None
    dimensions: tuple[int | None, int | None, int | None] | None = None
    pixel_spacing: tuple[float | None, float | None, float | None] | None = None
    contour_level: float | None = None


class Citation(BaseModel):
    title: str | None = None
    journal: str | None = None
    journal_abbreviation: str | None = None
    year: int | None = None
    volume: str | None = None
    first_page: str | None = None
    last_page: str | None = None
    published: bool | None = None
    doi: str | None = None
    pubmed_id: str | None = None
    authors: list[Person] = Field(default_factory=list)


class Grant(BaseModel):
    funding_body: str
    code: str | None = None
    country: str | None = None


class EmdbEntry(BaseModel):
    emdb_id: str
    title: str | None = None
    status: str | None = None
    deposition_date: str | None = None
    release_date: str | None = None
    update_date: str | None = None
    obsolete_date: str | None = None
    # The maps that replace an obsolete one (the XSD: present only when this entry is obsolete).
    superseded_by: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    authors: list[Person] = Field(default_factory=list)
    grants: list[Grant] = Field(default_factory=list)
    citation: Citation | None = None

    method: str | None = None
    aggregation_state: str | None = None
    resolution: float | None = None
    resolution_method: str | None = None
    symmetry: str | None = None
    helical_rise: float | None = None
    helical_twist: float | None = None
    number_images_used: int | None = None
    particles_selected: int | None = None
    software: list[Software] = Field(default_factory=list)

    microscope: str | None = None
    voltage_kv: float | None = None
    cs_mm: float | None = None
    electron_source: str | None = None
    illumination_mode: str | None = None
    imaging_mode: str | None = None
    magnification: float | None = None
    defocus_min_um: float | None = None
    defocus_max_um: float | None = None
    specimen_holder_model: str | None = None
    energy_filter: str | None = None
    microscopy_date: str | None = None
    detector: str | None = None
    detector_mode: str | None = None
    dose: float | None = None
    exposure_time_s: float | None = None
    number_real_images: int | None = None
    # A tomography map's tilt series (its first axis), in degrees.
    tilt_angle_min: float | None = None
    tilt_angle_max: float | None = None
    tilt_angle_increment: float | None = None

    sample_name: str | None = None
    components: list[Component] = Field(default_factory=list)
    molecules: list[Molecule] = Field(default_factory=list)
    # Every expression system the supramolecules and macromolecules name, first seen first.
    expressions: list[Expression] = Field(default_factory=list)
    concentration: float | None = None
    concentration_unit: str | None = None
    buffer_ph: float | None = None
    buffer_components: list[str] = Field(default_factory=list)
    grid_model: str | None = None
    grid_material: str | None = None
    support_film: str | None = None
    grid_pretreatment: str | None = None
    cryogen: str | None = None
    vitrification_instrument: str | None = None
    humidity_percent: float | None = None
    chamber_temperature_k: float | None = None
    preparation_details: str | None = None

    pdb_ids: list[str] = Field(default_factory=list)
    related_emdb_ids: list[str] = Field(default_factory=list)
    maps: list[MapFile] = Field(default_factory=list)

    @property
    def organisms(self) -> list[Organism]:
        seen: dict[tuple, Organism] = {}
        for component in self.components:
            for org in component.organisms:
                seen.setdefault((org.ncbi, org.name), org)
        return list(seen.values())


def _people(authors: Any) -> list[Person]:
    items = [a for a in listify(authors) if isinstance(a, dict)]
    items.sort(key=lambda a: integer(a.get("order")) or 0)
    return [
        Person(name=name, orcid=text(a.get("ORCID")))
        for a in items
        if (name := text(a.get("valueOf_") if "valueOf_" in a else a.get("name")))
    ]


def _organisms(sources: Any) -> list[Organism]:
    out = []
    for source in listify(sources):
        org = get(source, "organism") if isinstance(source, dict) else None
        if isinstance(org, dict):
            out.append(Organism(ncbi=integer(org.get("ncbi")), name=text(org)))
    return out


def _component(item: dict[str, Any]) -> Component:
    weight = get(item, "molecular_weight", "experimental") or get(
        item, "molecular_weight", "theoretical"
    )
    return Component(
        kind=text(item.get("instance_type")),
        name=text(item.get("name")),
        details=text(item.get("details")),
        # A virus names itself in sci_species_name; other samples name their natural source.
        organisms=_organisms(item.get("natural_source"))
        or _organisms(
            [{"organism": item["sci_species_name"]}] if item.get("sci_species_name") else []
        ),
        molecular_weight=number(weight),
        molecular_weight_unit=text(weight.get("units")) if isinstance(weight, dict) else None,
    )


def _expressions(value: Any) -> list[Expression]:
    """`recombinant_expression`: one object on a macromolecule, a list on a supramolecule."""
    out = []
    for item in listify(value):
        org = item.get("recombinant_organism") if isinstance(item, dict) else None
        if isinstance(org, dict) and (text(org) or integer(org.get("ncbi"))):
            out.append(
                Expression(
                    organism=Organism(ncbi=integer(org.get("ncbi")), name=text(org)),
                    cell=text(item.get("recombinant_cell")),
                    strain=text(item.get("recombinant_strain")),
                )
            )
    return out


def _weight(item: dict[str, Any], kind: str) -> tuple[float | None, str | None]:
    weight = get(item, "molecular_weight", kind)
    unit = text(weight.get("units")) if isinstance(weight, dict) else None
    return number(weight), unit


def _references(block: Any) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = {}
    for ref in listify(block.get("external_references") if isinstance(block, dict) else None):
        if isinstance(ref, dict) and (value := text(ref)):
            refs.setdefault((text(ref.get("type_")) or "").upper(), []).append(value)
    return refs


def _molecule(item: dict[str, Any]) -> Molecule:
    sequence = item.get("sequence")
    # The sequence is an object holding `string`; a bare string is read too.
    raw = text(sequence.get("string")) if isinstance(sequence, dict) else text(sequence)
    weight, unit = _weight(item, "theoretical")
    experimental, experimental_unit = _weight(item, "experimental")
    copies = integer(item.get("number_of_copies"))
    organisms = _organisms(item.get("natural_source"))
    number_ = integer(item.get("macromolecule_id"))
    return Molecule(
        number=number_ if number_ and number_ > 0 else None,
        kind=text(item.get("instance_type")),
        name=text(item.get("name")),
        organism=organisms[0] if organisms else None,
        copies=copies if copies and copies > 0 else None,
        molecular_weight=weight,
        molecular_weight_unit=unit,
        experimental_weight=experimental,
        experimental_weight_unit=experimental_unit,
        sequence="".join(raw.split()) if raw else None,
        # Ligands and saccharides hold their references beside the formula, polymers in the
        # sequence.
        references=_references(item) | _references(sequence),
        formula=text(item.get("formula")),
        classification=text(item.get("classification")),
        expressions=_expressions(item.get("recombinant_expression")),
    )


def _map(role: str, item: Any) -> MapFile | None:
    if not isinstance(item, dict) or not text(item.get("file")):
        return None
    dims = item.get("dimensions") if isinstance(item.get("dimensions"), dict) else {}
    spacing = item.get("pixel_spacing") if isinstance(item.get("pixel_spacing"), dict) else {}
    contours = [c for c in listify(get(item, "contour_list", "contour")) if isinstance(c, dict)]
    primary = next((c for c in contours if c.get("primary") is True), first(contours))
    return MapFile(
        role=role,
        file=text(item["file"]),
        format=text(item.get("format")),
        size_kbytes=integer(item.get("size_kbytes")),
        dimensions=(integer(dims.get("col")), integer(dims.get("row")), integer(dims.get("sec")))
        if dims
        else None,
        pixel_spacing=(number(spacing.get("x")), number(spacing.get("y")), number(spacing.get("z")))
        if spacing
        else None,
        contour_level=number(primary.get("level")) if primary else None,
    )


def _citation(doc: dict[str, Any]) -> Citation | None:
    cit = get(doc, "crossreferences", "citation_list", "primary_citation", "citation_type")
    if not isinstance(cit, dict):
        return None
    refs = {
        (text(r.get("type_")) or "").upper(): text(r)
        for r in listify(cit.get("external_references"))
        if isinstance(r, dict)
    }
    doi = refs.get("DOI")
    if doi and doi.lower().startswith("doi:"):
        doi = doi[4:]
    published = cit.get("published")
    return Citation(
        title=text(cit.get("title")),
        journal=text(cit.get("journal")),
        journal_abbreviation=text(cit.get("journal_abbreviation")),
        year=integer(cit.get("year")),
        volume=text(cit.get("volume")),
        first_page=text(cit.get("first_page")),
        last_page=text(cit.get("last_page")),
        published=published if isinstance(published, bool) else None,
        doi=doi,
        pubmed_id=refs.get("PUBMED"),
        authors=_people(cit.get("author")),
    )


def parse_emdb(doc: Any) -> EmdbEntry:
    """Read one EMDB entry document; raises ValueError when it is not one."""
    if not isinstance(doc, dict) or not isinstance(doc.get("emdb_id"), str):
        raise ValueError("expected an EMDB entry document with an emdb_id")
    admin = doc.get("admin") if isinstance(doc.get("admin"), dict) else {}
    dates = admin.get("key_dates") if isinstance(admin.get("key_dates"), dict) else {}
    sd = first_object(get(doc, "structure_determination_list", "structure_determination"))
    ip = first_object(sd.get("image_processing"))
    mic = first_object(get(sd, "microscopy_list", "microscopy"))
    rec = first_object(get(mic, "image_recording_list", "image_recording"))
    prep = first_object(get(sd, "specimen_preparation_list", "specimen_preparation"))
    final = (
        ip.get("final_reconstruction") if isinstance(ip.get("final_reconstruction"), dict) else {}
    )
    grid = prep.get("grid") if isinstance(prep.get("grid"), dict) else {}
    vit = first(prep.get("vitrification")) or {}
    buffer = prep.get("buffer") if isinstance(prep.get("buffer"), dict) else {}
    symmetry = (
        final.get("applied_symmetry") if isinstance(final.get("applied_symmetry"), dict) else {}
    )
    helical = (
        symmetry.get("helical_parameters")
        if isinstance(symmetry.get("helical_parameters"), dict)
        else {}
    )

    software = []
    for step in PROCESSING_STEPS:
        for block in listify(ip.get(step)):
            if not isinstance(block, dict):
                continue
            for sw in listify(get(block, "software_list", "software")):
                if isinstance(sw, dict) and text(sw.get("name")):
                    software.append(
                        Software(step=step, name=text(sw["name"]), version=text(sw.get("version")))
                    )
    for sw in listify(get(mic, "software_list", "software")):
        if isinstance(sw, dict) and text(sw.get("name")):
            software.append(
                Software(
                    step="image_acquisition", name=text(sw["name"]), version=text(sw.get("version"))
                )
            )

    components = [
        _component(item)
        for key, inner in (
            ("supramolecule_list", "supramolecule"),
            ("macromolecule_list", "macromolecule"),
        )
        for item in listify(get(doc, "sample", key, inner))
        if isinstance(item, dict)
    ]
    molecules = [
        _molecule(item)
        for item in listify(get(doc, "sample", "macromolecule_list", "macromolecule"))
        if isinstance(item, dict)
    ]
    # One per host organism: a supramolecule and its macromolecules name the same host, one of
    # them with its cell line.
    expressions: dict[tuple, Expression] = {}
    stated = [
        x
        for item in listify(get(doc, "sample", "supramolecule_list", "supramolecule"))
        if isinstance(item, dict)
        for x in _expressions(item.get("recombinant_expression"))
    ]
    for x in stated + [x for m in molecules for x in m.expressions]:
        held = expressions.setdefault((x.organism.ncbi, x.organism.name), x.model_copy())
        held.cell, held.strain = held.cell or x.cell, held.strain or x.strain
    films = [
        " ".join(filter(None, (text(f.get("film_material")), text(f.get("film_topology")))))
        for f in listify(grid.get("support_film"))
        if isinstance(f, dict)
    ]
    pretreatment = grid.get("pretreatment") if isinstance(grid.get("pretreatment"), dict) else {}
    interpretation = (
        doc.get("interpretation") if isinstance(doc.get("interpretation"), dict) else {}
    )
    maps = [_map("primary", doc.get("map"))]
    maps += [_map("half", m) for m in listify(get(interpretation, "half_map_list", "half_map"))]
    maps += [
        _map("additional", m)
        for m in listify(get(interpretation, "additional_map_list", "additional_map"))
    ]
    maps += [
        _map("mask", m) for m in listify(get(interpretation, "segmentation_list", "segmentation"))
    ]

    # Ids that are no PDB or EMDB id are dropped: they must never become URLs or links.
    pdb_ids = []
    for ref in listify(get(doc, "crossreferences", "pdb_list", "pdb_reference")):
        pdb = text(ref.get("pdb_id")) if isinstance(ref, dict) else None
        pdb = normalize_pdb_id(pdb) if pdb else None
        if pdb and pdb not in pdb_ids:
            pdb_ids.append(pdb)
    related = [
        emd
        for r in listify(get(doc, "crossreferences", "emdb_list", "emdb_reference"))
        if isinstance(r, dict)
        and (emd := normalize_emdb_id(text(r.get("emdb_id")) or ""))
        and emd != doc["emdb_id"]
    ]
    selected = [
        integer(p.get("number_selected"))
        for p in listify(ip.get("particle_selection"))
        if isinstance(p, dict)
    ]

    return EmdbEntry(
        emdb_id=doc["emdb_id"],
        title=text(admin.get("title")),
        status=text(get(admin, "current_status", "code")),
        deposition_date=iso_date(dates.get("deposition")),
        release_date=iso_date(dates.get("map_release")) or iso_date(dates.get("header_release")),
        update_date=iso_date(dates.get("update")),
        obsolete_date=iso_date(dates.get("obsolete")),
        superseded_by=list(
            dict.fromkeys(
                emd
                for r in listify(get(admin, "superseded_by_list", "entry"))
                if isinstance(r, dict)
                and (emd := normalize_emdb_id(text(r.get("entry")) or ""))
                and emd != doc["emdb_id"]
            )
        ),
        keywords=[k.strip() for k in (text(admin.get("keywords")) or "").split(",") if k.strip()],
        authors=_people(get(admin, "authors_list", "author")),
        grants=[
            Grant(
                funding_body=text(g.get("funding_body")),
                code=text(g.get("code")),
                country=text(g.get("country")),
            )
            for g in listify(get(admin, "grant_support", "grant_reference"))
            if isinstance(g, dict) and text(g.get("funding_body"))
        ],
        citation=_citation(doc),
        method=text(sd.get("method")),
        aggregation_state=text(sd.get("aggregation_state")),
        resolution=number(final.get("resolution")),
        resolution_method=text(final.get("resolution_method")),
        symmetry=text(symmetry.get("point_group")),
        helical_rise=number(helical.get("delta_z")),
        helical_twist=number(helical.get("delta_phi")),
        number_images_used=integer(final.get("number_images_used"))
        or integer(final.get("number_subtomograms_used")),
        particles_selected=sum(s for s in selected if s) or None,
        software=software,
        microscope=text(mic.get("microscope")),
        voltage_kv=number(mic.get("acceleration_voltage")),
        cs_mm=number(mic.get("nominal_cs")),
        electron_source=text(mic.get("electron_source")),
        illumination_mode=text(mic.get("illumination_mode")),
        imaging_mode=text(mic.get("imaging_mode")),
        magnification=number(mic.get("nominal_magnification")),
        defocus_min_um=number(mic.get("nominal_defocus_min")),
        defocus_max_um=number(mic.get("nominal_defocus_max")),
        specimen_holder_model=text(mic.get("specimen_holder_model")),
        energy_filter=text(get(mic, "specialist_optics", "energy_filter", "name")),
        microscopy_date=iso_date(text(mic.get("date"))),
        detector=text(rec.get("film_or_detector_model")),
        detector_mode=text(rec.get("detector_mode")),
        dose=number(rec.get("average_electron_dose_per_image")),
        exposure_time_s=number(rec.get("average_exposure_time")),
        number_real_images=integer(rec.get("number_real_images")),
        tilt_angle_min=number(get(mic, "tilt_series", "axis1", "min_angle")),
        tilt_angle_max=number(get(mic, "tilt_series", "axis1", "max_angle")),
        tilt_angle_increment=number(get(mic, "tilt_series", "axis1", "angle_increment")),
        sample_name=text(get(doc, "sample", "name")),
        components=components,
        molecules=molecules,
        expressions=list(expressions.values()),
        concentration=number(prep.get("concentration")),
        concentration_unit=text(get(prep, "concentration", "units")),
        buffer_ph=number(buffer.get("ph")),
        buffer_components=[
            n
            for n in (
                text(c.get("name")) or text(c.get("formula"))
                for c in listify(buffer.get("component"))
                if isinstance(c, dict)
            )
            if n
        ],
        grid_model=text(grid.get("model")),
        grid_material=text(grid.get("material")),
        support_film=", ".join(f for f in films if f) or None,
        grid_pretreatment=text(pretreatment.get("type_")),
        cryogen=text(vit.get("cryogen_name")) if isinstance(vit, dict) else None,
        vitrification_instrument=text(vit.get("instrument")) if isinstance(vit, dict) else None,
        humidity_percent=number(vit.get("chamber_humidity")) if isinstance(vit, dict) else None,
        chamber_temperature_k=number(vit.get("chamber_temperature"))
        if isinstance(vit, dict)
        else None,
        preparation_details=text(prep.get("details")),
        pdb_ids=pdb_ids,
        related_emdb_ids=list(dict.fromkeys(related)),
        maps=[m for m in maps if m is not None],
    )
