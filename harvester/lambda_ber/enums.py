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
