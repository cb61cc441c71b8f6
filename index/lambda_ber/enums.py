"""lambda-ber enums we use, with their permissible values spelled exactly as upstream."""

from enum import StrEnum


class TechniqueEnum(StrEnum):
    cryo_em = "cryo_em"
    xray_crystallography = "xray_crystallography"
    saxs = "saxs"
    waxs = "waxs"
    sans = "sans"
    cryo_et = "cryo_et"
    electron_microscopy = "electron_microscopy"
    mass_spectrometry = "mass_spectrometry"
    xas = "xas"
    xanes = "xanes"
    exafs = "exafs"
    xmcd = "xmcd"
    neutron_crystallography = "neutron_crystallography"
    fiber_diffraction = "fiber_diffraction"
    time_resolved_crystallography = "time_resolved_crystallography"
    xray_tomography = "xray_tomography"
    microed = "microed"
    solution_nmr = "solution_nmr"
    solid_state_nmr = "solid_state_nmr"
    powder_diffraction = "powder_diffraction"
    epr = "epr"
    fluorescence_transfer = "fluorescence_transfer"
    infrared_spectroscopy = "infrared_spectroscopy"
    integrative_modeling = "integrative_modeling"


class ExperimentalMethodEnum(StrEnum):
    x_ray_diffraction = "x_ray_diffraction"
    neutron_diffraction = "neutron_diffraction"
    electron_diffraction = "electron_diffraction"
    fiber_diffraction = "fiber_diffraction"
    single_particle_analysis = "single_particle_analysis"
    helical_reconstruction = "helical_reconstruction"
    subtomogram_averaging = "subtomogram_averaging"
    electron_tomography = "electron_tomography"
    electron_crystallography = "electron_crystallography"


class DataTypeEnum(StrEnum):
    micrograph = "micrograph"
    diffraction = "diffraction"
    scattering = "scattering"
    particles = "particles"
    volume = "volume"
    model = "model"
    metadata = "metadata"
    raw_data = "raw_data"
    processed_data = "processed_data"
    movie = "movie"
    motion_corrected = "motion_corrected"
    ctf_estimation = "ctf_estimation"
    particle_coordinates = "particle_coordinates"
    class_averages = "class_averages"
    fsc_curve = "fsc_curve"
    map_half = "map_half"
    validation_report = "validation_report"


class FileFormatEnum(StrEnum):
    mrc = "mrc"
    tiff = "tiff"
    hdf5 = "hdf5"
    star = "star"
    pdb = "pdb"
    mmcif = "mmcif"
    mtz = "mtz"
    cbf = "cbf"
    cbf_zst = "cbf_zst"
    img = "img"
    h5 = "h5"
    ascii = "ascii"
    thermo_raw = "thermo_raw"
    zip = "zip"
    tar = "tar"
    mrcs = "mrcs"
    eer = "eer"
    cs = "cs"
    json = "json"
    csv = "csv"
    ccp4 = "ccp4"
    gz = "gz"
    pdf = "pdf"
    nmr_star = "nmr_star"
    other = "other"


class ProcessingStatusEnum(StrEnum):
    collected = "collected"
    raw = "raw"
    preprocessing = "preprocessing"
    processing = "processing"
    completed = "completed"
    failed = "failed"


class PersonRoleEnum(StrEnum):
    principal_investigator = "principal_investigator"
    co_investigator = "co_investigator"
    author = "author"
    operator = "operator"
    local_contact = "local_contact"
    analyst = "analyst"
    reviewer = "reviewer"
    data_curator = "data_curator"
    submitter = "submitter"
    contact = "contact"


class OrganizationTypeEnum(StrEnum):
    national_laboratory = "national_laboratory"
    university = "university"
    research_institute = "research_institute"
    government_agency = "government_agency"
    funding_agency = "funding_agency"
    company = "company"
    hospital = "hospital"
    consortium = "consortium"
    other = "other"


class OrganizationRoleEnum(StrEnum):
    host_institution = "host_institution"
    operating_institution = "operating_institution"
    funder = "funder"
    collaborating_institution = "collaborating_institution"
    depositor = "depositor"
    primary_affiliation = "primary_affiliation"
    secondary_affiliation = "secondary_affiliation"
    former_affiliation = "former_affiliation"


class DatabaseNameEnum(StrEnum):
    """The values we write; upstream has many more (uniprot, chebi, ...)."""

    emdb = "emdb"
    empiar = "empiar"
    pdb = "pdb"
    other = "other"


class SampleTypeEnum(StrEnum):
    protein = "protein"
    nucleic_acid = "nucleic_acid"
    complex = "complex"
    membrane_protein = "membrane_protein"
    virus = "virus"
    organelle = "organelle"
    cell = "cell"
    tissue = "tissue"


class PreparationTypeEnum(StrEnum):
    cryo_em = "cryo_em"
    xray_crystallography = "xray_crystallography"
    saxs = "saxs"
    sans = "sans"
    protein_expression = "protein_expression"
    protein_purification = "protein_purification"
    negative_stain = "negative_stain"


class WorkflowTypeEnum(StrEnum):
    motion_correction = "motion_correction"
    ctf_estimation = "ctf_estimation"
    particle_picking = "particle_picking"
    classification_2d = "classification_2d"
    classification_3d = "classification_3d"
    refinement = "refinement"
    model_building = "model_building"
    phasing = "phasing"
    integration = "integration"
    scaling = "scaling"
    saxs_analysis = "saxs_analysis"
    xas_normalization = "xas_normalization"
    xanes_analysis = "xanes_analysis"
    exafs_analysis = "exafs_analysis"
    em_2d_classification = "em_2d_classification"
    mass_spec_deconvolution = "mass_spec_deconvolution"
    particle_extraction = "particle_extraction"
    ab_initio = "ab_initio"
    postprocessing = "postprocessing"
    map_validation = "map_validation"
    model_refinement = "model_refinement"
    model_validation = "model_validation"


class CollectionModeEnum(StrEnum):
    counting = "counting"
    super_resolution = "super_resolution"
    continuous = "continuous"
    oscillation = "oscillation"
    still = "still"
    batch = "batch"
    sec_saxs = "sec_saxs"
    single_particle = "single_particle"


class DetectorTechnologyEnum(StrEnum):
    direct_electron_detector = "direct_electron_detector"
    ccd = "ccd"
    cmos = "cmos"
    hybrid_photon_counting = "hybrid_photon_counting"
    scintillator_coupled = "scintillator_coupled"
    imaging_plate = "imaging_plate"
    film = "film"


class DetectorModeEnum(StrEnum):
    counting = "counting"
    integrating = "integrating"
    super_resolution = "super_resolution"
    linear = "linear"
    correlated_double_sampling = "correlated_double_sampling"


class ImagingModeEnum(StrEnum):
    EFTEM = "EFTEM"
    TEM = "TEM"
    STEM = "STEM"


class GridTypeEnum(StrEnum):
    c_flat = "c_flat"
    quantifoil = "quantifoil"
    lacey_carbon = "lacey_carbon"
    ultrathin_carbon = "ultrathin_carbon"
    gold = "gold"


class GridMaterialEnum(StrEnum):
    carbon = "carbon"
    gold = "gold"
    graphene = "graphene"
    silicon_nitride = "silicon_nitride"


class VitrificationMethodEnum(StrEnum):
    plunge_freezing = "plunge_freezing"
    high_pressure_freezing = "high_pressure_freezing"
    slam_freezing = "slam_freezing"


SymmetryEnum = StrEnum(
    "SymmetryEnum",
    [(f"C{n}", f"C{n}") for n in range(1, 11)]
    + [(f"D{n}", f"D{n}") for n in range(2, 11)]
    + [("T", "T"), ("O", "O"), ("I", "I")],
)


class InstrumentCategoryEnum(StrEnum):
    SYNCHROTRON_BEAMLINE = "SYNCHROTRON_BEAMLINE"
    NEUTRON_BEAMLINE = "NEUTRON_BEAMLINE"
    XFEL_BEAMLINE = "XFEL_BEAMLINE"
    ELECTRON_MICROSCOPE = "ELECTRON_MICROSCOPE"
    BENCHTOP_XRAY = "BENCHTOP_XRAY"
    OPTICAL_MICROSCOPE = "OPTICAL_MICROSCOPE"
    SPECTROMETER = "SPECTROMETER"


class InstrumentRoleEnum(StrEnum):
    primary = "primary"
    detector = "detector"
    sample_handler = "sample_handler"


class InputTypeEnum(StrEnum):
    raw_data = "raw_data"
    reference = "reference"
    parameters = "parameters"
    mask = "mask"


class OutputTypeEnum(StrEnum):
    map = "map"
    model = "model"
    particles = "particles"
    micrographs = "micrographs"
    ctf_estimates = "ctf_estimates"
    metadata = "metadata"
    statistics = "statistics"
    processed_data = "processed_data"
    log = "log"


class SampleRoleEnum(StrEnum):
    target = "target"
    control = "control"
    reference = "reference"
    blank = "blank"


class ExperimentSampleRoleEnum(StrEnum):
    target = "target"
    buffer_blank = "buffer_blank"
    standard = "standard"
    size_marker = "size_marker"


class NucleicAcidTypeEnum(StrEnum):
    dna = "dna"
    rna = "rna"
    dna_rna_hybrid = "dna_rna_hybrid"
    peptide_nucleic_acid = "peptide_nucleic_acid"
    other = "other"


class SampleComponentTypeEnum(StrEnum):
    protein = "protein"
    nucleic_acid = "nucleic_acid"
    small_molecule = "small_molecule"
    virus_particle = "virus_particle"
    organelle = "organelle"
    cell = "cell"
    tissue = "tissue"
    membrane_mimetic = "membrane_mimetic"
    nanoparticle = "nanoparticle"
    other = "other"


class ChemicalClassEnum(StrEnum):
    ion = "ion"
    lipid = "lipid"
    detergent = "detergent"
    carbohydrate = "carbohydrate"
    nucleotide = "nucleotide"
    amino_acid = "amino_acid"
    organic = "organic"
    polymer = "polymer"
    other = "other"
