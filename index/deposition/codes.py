"""EMPIAR's deposition codes by their labels, and the lambda-ber values that decide a code."""

from __future__ import annotations

# EMPIAR's labels (as its entry API serves them) -> the codes of its deposition schema.
EXPERIMENT_TYPES: dict[str, int] = {
    "SXT": 1,
    "INSILICO": 2,
    "EMDB": 3,
    "SBF-SEM": 4,
    "3VIEW": 4,  # older XSD name of serial block-face SEM
    "FIB-SEM": 5,
    "IHM": 6,
    "CLEM": 7,
    "CLXM": 8,
    "MicroED": 9,
    "ATUM-SEM": 11,
    "Hard X-ray/X-ray microCT": 12,
    "ssET": 13,
}
SCALES: dict[str, str] = {
    "molecule": "1",
    "virus": "2",
    "cell": "3",
    "tissue": "4",
    "organism": "5",
}
CATEGORIES: dict[str, str] = {
    "micrographs - single frame": "T1",
    "micrographs - multiframe": "T2",
    "micrographs - focal pairs - unprocessed": "T3",
    "micrographs - focal pairs - contrast inverted": "T4",
    "picked particles - single frame - unprocessed": "T5",
    "picked particles - multiframe - unprocessed": "T6",
    "picked particles - single frame - processed": "T7",
    "picked particles - multiframe - processed": "T8",
    "tilt series": "T9",
    "micrographs - tilt series": "T9",  # older XSD name
    "class averages": "T10",
    "stitched maps": "T11",
    "diffraction images": "T12",
    "reconstructed volumes": "T13",
    "subtomograms": "T14",
}
_FORMATS = ("MRC", "MRCS", "TIFF", "IMAGIC", "DM3", "DM4", "SPIDER")
_MORE_FORMATS = ("EER", "PNG", "JPEG", "SMV", "EM", "TPX3")
HEADER_FORMATS: dict[str, str] = {
    **{f: f"T{i}" for i, f in enumerate(_FORMATS, start=1)},
    "XML": "T8",
    **{f: f"T{i}" for i, f in enumerate(_MORE_FORMATS, start=9)},
}
DATA_FORMATS: dict[str, str] = {
    **{f: f"T{i}" for i, f in enumerate(_FORMATS, start=1)},
    "BIG DATA VIEWER HDF5": "T8",
    **{f: f"T{i}" for i, f in enumerate(_MORE_FORMATS, start=9)},
}
VOXEL_TYPES: dict[str, str] = {
    "UNSIGNED BYTE": "T1",
    "SIGNED BYTE": "T2",
    "UNSIGNED 16 BIT INTEGER": "T3",
    "SIGNED 16 BIT INTEGER": "T4",
    "UNSIGNED 32 BIT INTEGER": "T5",
    "SIGNED 32 BIT INTEGER": "T6",
    "32 BIT FLOAT": "T7",
    "BIT": "T8",
    "4 BIT INTEGER": "T9",
}

# lambda-ber DataFile.data_type -> EMPIAR category, only where one category fits: `micrograph`,
# `particles` (2D), `raw_data` and `processed_data` each cover several.
CATEGORY_OF_DATA_TYPE = {
    "movie": "micrographs - multiframe",
    "class_averages": "class averages",
    "diffraction": "diffraction images",
    "volume": "reconstructed volumes",
}
CATEGORY_OF_3D_PARTICLES = "subtomograms"
# A raw 3D stack is a volume EM section stack, which EMPIAR files as multiframe micrographs.
CATEGORY_OF_3D_RAW_DATA = "micrographs - multiframe"
# EMPIAR's frames per image of a volume whose depth is not stated.
UNSTATED_VOLUME_FRAMES = 1
# lambda-ber DataFile.file_format -> EMPIAR format code, for the header and the data alike: EMPIAR
# codes the two in pairs (T8 is an XML header with Big Data Viewer HDF5 data), and its only HDF5
# and `img` formats are BDV and SMV. Other formats but `other` become ('OT', NAME).
FORMAT_CODE_OF_FILE_FORMAT = {
    "mrc": "T1",
    "mrcs": "T2",
    "tiff": "T3",
    "hdf5": "T8",
    "eer": "T9",
    "img": "T12",
}
# Experiment types that a lambda-ber technique alone decides.
EXPERIMENT_TYPE_OF_TECHNIQUE = {"microed": 9, "integrative_modeling": 6}
# Cryo-EM raw data behind EMDB maps is EMPIAR's type 3 (`EMDB`).
EMDB_TECHNIQUES = {"cryo_em", "cryo_et"}
