"""Archive labels -> lambda-ber enum values (LAMBDA-BER-MAPPING §5.4); unknown -> defaults."""

from __future__ import annotations

from harvester.lambda_ber.enums import (
    DataTypeEnum,
    ExperimentalMethodEnum,
    FileFormatEnum,
    TechniqueEnum,
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
TOMOGRAPHY_CATEGORIES = {"tilt series", "micrographs - tilt series", "subtomograms"}

DATA_FORMAT: dict[str, FileFormatEnum] = {
    "MRC": FileFormatEnum.mrc,
    "MRCS": FileFormatEnum.mrcs,
    "TIFF": FileFormatEnum.tiff,
    "EER": FileFormatEnum.eer,
    "BIG DATA VIEWER HDF5": FileFormatEnum.hdf5,
    "SMV": FileFormatEnum.img,
}
