"""Archive labels -> lambda-ber enum values (LAMBDA-BER-MAPPING §5.4); unknown -> defaults."""

from __future__ import annotations

import re

from empiar_mirror.index.front_doors import GENERIC_EXPERIMENT_TYPES
from empiar_mirror.index.lambda_ber.enums import (
    DataTypeEnum,
    DetectorModeEnum,
    DetectorTechnologyEnum,
    ExperimentalMethodEnum,
    FileFormatEnum,
    GridMaterialEnum,
    GridTypeEnum,
    SampleTypeEnum,
    SymmetryEnum,
    TechniqueEnum,
    WorkflowTypeEnum,
)

EXPERIMENT_TYPE: dict[str, tuple[TechniqueEnum, ExperimentalMethodEnum | None]] = {
    "EMDB": (TechniqueEnum.cryo_em, None),
    "SBF-SEM": (TechniqueEnum.electron_microscopy, None),
    "FIB-SEM": (TechniqueEnum.electron_microscopy, None),
    "ATUM-SEM": (TechniqueEnum.electron_microscopy, None),
    "CLEM": (TechniqueEnum.electron_microscopy, None),
    "ssET": (TechniqueEnum.electron_microscopy, ExperimentalMethodEnum.electron_tomography),
    "MicroED": (TechniqueEnum.microed, ExperimentalMethodEnum.electron_diffraction),
    "SXT": (TechniqueEnum.xray_tomography, None),
    "Hard X-ray/X-ray microCT": (TechniqueEnum.xray_tomography, None),
    "CLXM": (TechniqueEnum.xray_tomography, None),
    "IHM": (TechniqueEnum.integrative_modeling, None),
}
DEFAULT_TECHNIQUE = TechniqueEnum.electron_microscopy

# category label -> (DataFile.data_type, image class)
CATEGORY: dict[str, tuple[DataTypeEnum, str]] = {
    "micrographs - single frame": (DataTypeEnum.micrograph, "Image2D"),
    "micrographs - multiframe": (DataTypeEnum.movie, "Movie"),
    "micrographs - focal pairs - unprocessed": (DataTypeEnum.micrograph, "Image2D"),
    "micrographs - focal pairs - contrast inverted": (DataTypeEnum.micrograph, "Image2D"),
    "picked particles - single frame - unprocessed": (DataTypeEnum.particles, "Image2D"),
    "picked particles - multiframe - unprocessed": (DataTypeEnum.particles, "Image2D"),
    "picked particles - single frame - processed": (DataTypeEnum.particles, "Image2D"),
    "picked particles - multiframe - processed": (DataTypeEnum.particles, "Image2D"),
    "tilt series": (DataTypeEnum.raw_data, "Image2D"),
    "micrographs - tilt series": (DataTypeEnum.raw_data, "Image2D"),
    "class averages": (DataTypeEnum.class_averages, "Image2D"),
    "stitched maps": (DataTypeEnum.processed_data, "Image2D"),
    "diffraction images": (DataTypeEnum.diffraction, "Image2D"),
    "reconstructed volumes": (DataTypeEnum.volume, "Image3D"),
    "subtomograms": (DataTypeEnum.particles, "Image3D"),
}
DEFAULT_CATEGORY = (DataTypeEnum.raw_data, "Image2D")
# Categories whose images are the microscope's own frames: they describe the data collection.
COLLECTION_CATEGORIES = {
    "micrographs - single frame",
    "micrographs - multiframe",
    "micrographs - focal pairs - unprocessed",
}

DATA_FORMAT: dict[str, FileFormatEnum] = {
    "MRC": FileFormatEnum.mrc,
    "MRCS": FileFormatEnum.mrcs,
    "TIFF": FileFormatEnum.tiff,
    "EER": FileFormatEnum.eer,
    "BIG DATA VIEWER HDF5": FileFormatEnum.hdf5,
    "SMV": FileFormatEnum.img,
}

EMDB_METHOD: dict[str, ExperimentalMethodEnum] = {
    "singleParticle": ExperimentalMethodEnum.single_particle_analysis,
    "helical": ExperimentalMethodEnum.helical_reconstruction,
    "subtomogramAveraging": ExperimentalMethodEnum.subtomogram_averaging,
    "tomography": ExperimentalMethodEnum.electron_tomography,
    "electronCrystallography": ExperimentalMethodEnum.electron_crystallography,
}
RCSB_METHOD: dict[str, ExperimentalMethodEnum] = {
    "SINGLE PARTICLE": ExperimentalMethodEnum.single_particle_analysis,
    "HELICAL": ExperimentalMethodEnum.helical_reconstruction,
    "SUBTOMOGRAM AVERAGING": ExperimentalMethodEnum.subtomogram_averaging,
    "TOMOGRAPHY": ExperimentalMethodEnum.electron_tomography,
    "CRYSTALLOGRAPHY": ExperimentalMethodEnum.electron_crystallography,
    "ELECTRON CRYSTALLOGRAPHY": ExperimentalMethodEnum.electron_crystallography,
}
# Human-readable method names for the front doors, one vocabulary across EMDB and RCSB.
METHOD_LABEL: dict[ExperimentalMethodEnum, str] = {
    ExperimentalMethodEnum.single_particle_analysis: "single particle",
    ExperimentalMethodEnum.helical_reconstruction: "helical",
    ExperimentalMethodEnum.subtomogram_averaging: "subtomogram averaging",
    ExperimentalMethodEnum.electron_tomography: "tomography",
    ExperimentalMethodEnum.electron_crystallography: "electron crystallography",
}
TOMOGRAPHIC_METHODS = {
    ExperimentalMethodEnum.subtomogram_averaging,
    ExperimentalMethodEnum.electron_tomography,
}


def technique_for(method: ExperimentalMethodEnum | None) -> TechniqueEnum:
    if method in TOMOGRAPHIC_METHODS:
        return TechniqueEnum.cryo_et
    if method == ExperimentalMethodEnum.electron_crystallography:
        return TechniqueEnum.microed
    return TechniqueEnum.cryo_em


# What an EMPIAR entry's own record says of its technique and method, strongest evidence first
# (the linked maps, stronger still, are weighed in index/front_doors.py `refresh`). Only for the
# experiment types that name no technique (GENERIC_EXPERIMENT_TYPES): elsewhere the type decides,
# since words and categories mislead there (SXT and ssET collect tilt series, CLEM entries hold
# "electron tomograms" of resin sections).
Evidence = tuple[TechniqueEnum, ExperimentalMethodEnum | None]
_M = ExperimentalMethodEnum
_ET = (TechniqueEnum.cryo_et, _M.electron_tomography)
_STA = (TechniqueEnum.cryo_et, _M.subtomogram_averaging)
_ED = (TechniqueEnum.microed, _M.electron_diffraction)
_EC = (TechniqueEnum.microed, _M.electron_crystallography)
_SPA = (TechniqueEnum.cryo_em, _M.single_particle_analysis)
_HELICAL = (TechniqueEnum.cryo_em, _M.helical_reconstruction)
_VOLUME_EM = (TechniqueEnum.electron_microscopy, None)
_SERIAL_SECTION_ET = (TechniqueEnum.electron_microscopy, _M.electron_tomography)
_XRAY = (TechniqueEnum.xray_tomography, None)
# Imageset category -> evidence; the first category of this table an entry has wins.
CATEGORY_EVIDENCE: dict[str, Evidence] = {
    "subtomograms": _STA,
    "tilt series": _ET,
    "micrographs - tilt series": _ET,
    "diffraction images": _ED,
}
# Words of the title and the imagesets' names and details (case-insensitive); the first rule of
# this table that matches anywhere wins. Order is what guards against false positives: sub-
# tomograms before tomograms ("Sub-tomogram" holds "tomogram"); X-ray, array and serial-section
# tomography before cryo-ET's words; cryo-ET before FIB-SEM, whose name cryo-ET entries use for
# the milling of their lamellae ("cryo-FIB lamellae" alone names no technique).
TEXT_EVIDENCE: tuple[tuple[re.Pattern[str], Evidence], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), evidence)
    for pattern, evidence in (
        (r"\bsub-?tomogram", _STA),
        (r"\bsoft x-?ray\b|\bx-?ray (?:micro-?)?(?:ct|tomograph)|\bmicro-?ct\b", _XRAY),
        (r"\barray tomography\b", _VOLUME_EM),
        (r"\bserial[- ]section(?:ed)? (?:electron )?tomograph", _SERIAL_SECTION_ET),
        (r"\bcryo-?et\b|\btomogra(?:ms?|phy|phic)\b|\btilt[- ]series\b", _ET),
        (r"\bmicro-?ed\b|\b3d[- ]ed\b|\belectron diffraction\b", _ED),
        (r"\belectron crystallograph", _EC),
        (r"\bfib[-/ ]?sem\b|\bserial block[- ]face\b|\bsbf-?sem\b|\batum-?sem\b", _VOLUME_EM),
        (r"\bhelical (?:reconstruction|processing|refinement)\b", _HELICAL),
        (r"\bsingle[- ]particle\b", _SPA),
    )
)


def own_technique(
    experiment_type: str | None, categories: list[str | None], texts: list[str | None]
) -> tuple[TechniqueEnum, ExperimentalMethodEnum | None, str]:
    """Technique, method and how they were decided (`imagesets`, `text`, `experiment_type`)
    from an EMPIAR entry's own record. Pure."""
    by_type = EXPERIMENT_TYPE.get(experiment_type or "", (DEFAULT_TECHNIQUE, None))
    if experiment_type not in GENERIC_EXPERIMENT_TYPES:
        return (*by_type, "experiment_type")
    held = set(categories)
    for category, evidence in CATEGORY_EVIDENCE.items():
        if category in held:
            return (*evidence, "imagesets")
    words = "\n".join(t for t in texts if t)
    for pattern, evidence in TEXT_EVIDENCE:
        if pattern.search(words):
            return (*evidence, "text")
    return (*by_type, "experiment_type")


DETECTOR_MODE: dict[str, DetectorModeEnum] = {
    "COUNTING": DetectorModeEnum.counting,
    "SUPER-RESOLUTION": DetectorModeEnum.super_resolution,
    "INTEGRATING": DetectorModeEnum.integrating,
}
_DIRECT_DETECTORS = ("K2", "K3", "FALCON", "DE-", "DIRECT ELECTRON", "APOLLO", "CETA-D", "EER")


def detector_technology(model: str | None) -> DetectorTechnologyEnum | None:
    if not model:
        return None
    upper = model.upper()
    if any(key in upper for key in _DIRECT_DETECTORS):
        return DetectorTechnologyEnum.direct_electron_detector
    if "CCD" in upper or "ULTRASCAN" in upper:
        return DetectorTechnologyEnum.ccd
    if "FILM" in upper:
        return DetectorTechnologyEnum.film
    return None


def grid_type(model: str | None) -> GridTypeEnum | None:
    upper = (model or "").upper()
    for key, value in (
        ("QUANTIFOIL", GridTypeEnum.quantifoil),
        ("C-FLAT", GridTypeEnum.c_flat),
        ("CFLAT", GridTypeEnum.c_flat),
        ("LACEY", GridTypeEnum.lacey_carbon),
        ("ULTRATHIN", GridTypeEnum.ultrathin_carbon),
        ("ULTRAUFOIL", GridTypeEnum.gold),
    ):
        if key in upper:
            return value
    return None


GRID_MATERIAL: dict[str, GridMaterialEnum] = {
    "GOLD": GridMaterialEnum.gold,
    "CARBON": GridMaterialEnum.carbon,
    "GRAPHENE": GridMaterialEnum.graphene,
    "GRAPHENE OXIDE": GridMaterialEnum.graphene,
    "SILICON NITRIDE": GridMaterialEnum.silicon_nitride,
}
SYMMETRY = {s.value for s in SymmetryEnum}

# EMPIAR's `scale` -> SampleTypeEnum, for the Sample of an entry that names no EMDB map (whose
# own sample would say more). `organism` and unknown scales have no sample type: no Sample.
SCALE_SAMPLE_TYPE: dict[str, SampleTypeEnum] = {
    "molecule": SampleTypeEnum.complex,
    "virus": SampleTypeEnum.virus,
    "organelle": SampleTypeEnum.organelle,
    "cell": SampleTypeEnum.cell,
    "tissue": SampleTypeEnum.tissue,
}

# EMDB supramolecule kinds and RCSB assembly types -> SampleTypeEnum.
SAMPLE_TYPE: dict[str, SampleTypeEnum] = {
    "complex_supramolecule": SampleTypeEnum.complex,
    "virus_supramolecule": SampleTypeEnum.virus,
    "organelle_or_cellular_component_supramolecule": SampleTypeEnum.organelle,
    "cell_supramolecule": SampleTypeEnum.cell,
    "tissue_supramolecule": SampleTypeEnum.tissue,
    "protein_or_peptide": SampleTypeEnum.protein,
    "dna": SampleTypeEnum.nucleic_acid,
    "rna": SampleTypeEnum.nucleic_acid,
    "COMPLEX": SampleTypeEnum.complex,
    "VIRUS": SampleTypeEnum.virus,
    "ORGANELLE OR CELLULAR COMPONENT": SampleTypeEnum.organelle,
    "CELL": SampleTypeEnum.cell,
    "TISSUE": SampleTypeEnum.tissue,
}

# EMDB image-processing steps and RCSB software categories -> WorkflowTypeEnum.
EMDB_STEP: dict[str, WorkflowTypeEnum] = {
    "ctf_correction": WorkflowTypeEnum.ctf_estimation,
    "particle_selection": WorkflowTypeEnum.particle_picking,
    "final_two_d_classification": WorkflowTypeEnum.classification_2d,
    "final_three_d_classification": WorkflowTypeEnum.classification_3d,
    "startup_model": WorkflowTypeEnum.ab_initio,
}
RCSB_SOFTWARE: dict[str, WorkflowTypeEnum] = {
    "PARTICLE SELECTION": WorkflowTypeEnum.particle_picking,
    "CTF CORRECTION": WorkflowTypeEnum.ctf_estimation,
    "CLASSIFICATION": WorkflowTypeEnum.classification_2d,
    "INITIAL EULER ASSIGNMENT": WorkflowTypeEnum.refinement,
    "FINAL EULER ASSIGNMENT": WorkflowTypeEnum.refinement,
    "RECONSTRUCTION": WorkflowTypeEnum.refinement,
    "MODEL FITTING": WorkflowTypeEnum.model_building,
    "MODEL REFINEMENT": WorkflowTypeEnum.model_refinement,
}
