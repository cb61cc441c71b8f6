"""Column names and coded values in words a biologist reads: the portal shows these, the
tables and the JSON keep the names and codes (a header's `data-column` still names its
column)."""

from __future__ import annotations

from markupsafe import Markup

COLUMN_LABELS = {
    "accession": "EMPIAR entry",
    "emdb_id": "EMDB map",
    "pdb_id": "PDB model",
    "title": "Title",
    "status": "Status",
    "replaced_by": "Superseded by",
    "technique": "Technique",
    "experimental_method": "Method",
    "methods": "Methods",
    "method": "Method",
    "resolution_best_a": "Best resolution (Å)",
    "resolution_bin": "Best resolution",
    "resolution_a": "Resolution (Å)",
    "resolution_gap_bin": "Recalculated minus stated",
    "resolution_gap_a": "Recalculated minus stated (Å)",
    "recalc_fsc_corrected_0143_a": "Recalculated, corrected FSC 0.143 (Å)",
    "microscope_families": "Microscopes",
    "detector_families": "Detectors",
    "microscope": "Microscope",
    "detector": "Detector",
    "voltage_kv": "Voltage (kV)",
    "organisms": "Organisms",
    "molecules": "Molecules",
    "sample_name": "Sample",
    "experiment_type": "Experiment type",
    "simulated": "Simulated data",
    "scale": "Scale",
    "release_date": "Released",
    "release_year": "Release year",
    "deposition_date": "Deposited",
    "update_date": "Updated",
    "obsolete_date": "Obsolete since",
    "dataset_size": "Dataset size",
    "imageset_count": "Imagesets",
    "image_count": "Images",
    "pixel_size_min_a": "Smallest pixel (Å)",
    "completeness": "Completeness (%)",
    "completeness_bin": "Completeness",
    "software": "Software",
    "has_raw_data": "Raw data in EMPIAR",
}
# Coded values, by column.
VALUE_LABELS = {
    "technique": {
        "cryo_em": "Cryo-EM",
        "cryo_et": "Cryo-ET",
        "microed": "MicroED",
        "electron_microscopy": "Electron microscopy",
        "xray_tomography": "X-ray tomography",
        "integrative_modeling": "Integrative modelling",
    },
    "experimental_method": {
        "single_particle_analysis": "single particle",
        "helical_reconstruction": "helical",
        "subtomogram_averaging": "subtomogram averaging",
        "electron_tomography": "tomography",
        "electron_crystallography": "electron crystallography",
        "electron_diffraction": "electron diffraction",
    },
}
# EMPIAR's experiment types, explained: `EMDB` names no technique, it says the entry holds the
# raw data behind EMDB maps.
EXPERIMENT_TYPES = {
    "EMDB": "raw data behind EMDB maps",
    "SBF-SEM": "serial block-face scanning EM",
    "FIB-SEM": "focused ion beam scanning EM",
    "ATUM-SEM": "serial sections collected on tape, scanning EM",
    "CLEM": "correlative light and electron microscopy",
    "CLXM": "correlative light and X-ray microscopy",
    "ssET": "serial-section electron tomography",
    "SXT": "soft X-ray tomography",
    "Hard X-ray/X-ray microCT": "hard X-ray micro-computed tomography",
    "MicroED": "microcrystal electron diffraction",
    "IHM": "integrative hybrid modelling",
    "INSILICO": "simulated data",
}


def column_label(name: str) -> Markup:
    """A column's label; an unlabelled name may break after its underscores."""
    if name in COLUMN_LABELS:
        return Markup("{}").format(COLUMN_LABELS[name])
    return Markup("_<wbr>").join(name.split("_"))


def value_label(column: str, value):
    """A coded value in words, or the value itself."""
    return VALUE_LABELS.get(column, {}).get(value, value) if isinstance(value, str) else value
