"""The database schema: one baseline, then a sqlite-utils migration for every change.

Table and column names are a public interface: scripts query them. Change them only in a new
migration, never by editing an applied one; `docs/schema.md` is generated from the result.
"""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from empiar_mirror.index import table_counts
from empiar_mirror.index.versions import canonical, digest

migrations = Migrations("empiar_mirror")

# The schema of 0.1.0 as one script: what its three pre-release migrations (below, by name)
# built, table by table.
_BASELINE = """
-- Every answer as fetched: the payload byte for byte (EMPIAR) or canonical (EMDB, PDB).
CREATE TABLE source_record (
    source TEXT NOT NULL,
    accession TEXT NOT NULL,
    url TEXT,
    fetched_at TEXT,
    changed_at TEXT,
    http_status INTEGER,
    etag TEXT,
    last_modified TEXT,
    sha256 TEXT,
    payload TEXT,
    PRIMARY KEY (source, accession)
);
-- The lambda-ber classes, one table each; ids are CURIEs, dependent rows path ids below them.
CREATE TABLE dataset (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    deposition_date TEXT,
    release_date TEXT,
    last_revision_date TEXT,
    revision TEXT,
    x_source TEXT,
    x_status TEXT,
    x_obsolete_date TEXT
);
CREATE TABLE study (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    dataset_id TEXT REFERENCES dataset(id)
);
CREATE TABLE study_keyword (
    study_id TEXT NOT NULL REFERENCES study(id),
    keyword TEXT NOT NULL,
    PRIMARY KEY (study_id, keyword)
);
CREATE TABLE database_cross_reference (
    owner_table TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    database_name TEXT NOT NULL,
    database_id TEXT NOT NULL,
    database_url TEXT,
    description TEXT,
    PRIMARY KEY (owner_table, owner_id, database_name, database_id)
);
CREATE TABLE person (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    orcid TEXT,
    full_name TEXT,
    given_name TEXT,
    family_name TEXT,
    email TEXT,
    affiliation TEXT
);
CREATE TABLE organization (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    organization_type TEXT,
    location TEXT,
    country TEXT
);
CREATE TABLE publication (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    doi TEXT,
    pubmed_id TEXT,
    journal TEXT,
    journal_abbreviation TEXT,
    volume TEXT,
    issue TEXT,
    page_first TEXT,
    page_last TEXT,
    year INTEGER,
    language TEXT,
    journal_country TEXT,
    unpublished INTEGER
);
CREATE TABLE publication_author (
    publication_id TEXT NOT NULL REFERENCES publication(id),
    position INTEGER NOT NULL,
    name TEXT,
    PRIMARY KEY (publication_id, position)
);
CREATE TABLE experiment_run (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    experiment_code TEXT,
    technique TEXT,
    experimental_method TEXT,
    raw_data_location TEXT,
    processing_status TEXT,
    calibrated_pixel_size_value REAL,
    calibrated_pixel_size_unit TEXT,
    frames_per_movie_value REAL,
    frames_per_movie_unit TEXT,
    number_of_images_value REAL,
    number_of_images_unit TEXT,
    experiment_date TEXT,
    magnification_value REAL,
    magnification_unit TEXT,
    total_dose_value REAL,
    total_dose_unit TEXT,
    total_exposure_time_value REAL,
    total_exposure_time_unit TEXT,
    defocus_range_min_value REAL,
    defocus_range_min_unit TEXT,
    defocus_range_max_value REAL,
    defocus_range_max_unit TEXT,
    acquisition_software TEXT
);
CREATE TABLE data_file (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    file_name TEXT,
    file_path TEXT,
    file_format TEXT,
    file_size_bytes_value REAL,
    file_size_bytes_unit TEXT,
    data_type TEXT,
    storage_uri TEXT,
    related_entity TEXT,
    file_role TEXT,
    x_empiar_category TEXT,
    x_header_format TEXT,
    x_data_format TEXT,
    x_voxel_type TEXT,
    x_num_images_or_tilt_series INTEGER,
    x_frames_per_image INTEGER,
    x_frame_range_min INTEGER,
    x_frame_range_max INTEGER,
    x_image_width INTEGER,
    x_image_height INTEGER,
    x_pixel_width REAL,
    x_pixel_height REAL,
    x_micrographs_file_pattern TEXT,
    x_picked_particles_file_pattern TEXT,
    x_picked_particles_directory TEXT,
    x_contour_level REAL
);
CREATE TABLE image (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    image_type TEXT,
    file_name TEXT,
    pixel_size_value REAL,
    pixel_size_unit TEXT,
    dimensions_x_value REAL,
    dimensions_x_unit TEXT,
    dimensions_y_value REAL,
    dimensions_y_unit TEXT,
    dimensions_z_value REAL,
    dimensions_z_unit TEXT,
    voxel_size_value REAL,
    voxel_size_unit TEXT,
    frames_value REAL,
    frames_unit TEXT,
    x_data_file_id TEXT REFERENCES data_file(id),
    reconstruction_method TEXT
);
CREATE TABLE study_person (
    study_id TEXT NOT NULL REFERENCES study(id),
    person_id TEXT NOT NULL REFERENCES person(id),
    role TEXT NOT NULL,
    author_position INTEGER,
    corresponding INTEGER,
    PRIMARY KEY (study_id, person_id, role)
);
CREATE TABLE study_publication (
    study_id TEXT NOT NULL REFERENCES study(id),
    publication_id TEXT NOT NULL REFERENCES publication(id),
    is_primary INTEGER,
    PRIMARY KEY (study_id, publication_id)
);
CREATE TABLE study_organization (
    study_id TEXT NOT NULL REFERENCES study(id),
    organization_id TEXT NOT NULL REFERENCES organization(id),
    role TEXT NOT NULL,
    award_number TEXT,
    PRIMARY KEY (study_id, organization_id, role, award_number)
);
CREATE TABLE person_organization (
    person_id TEXT NOT NULL REFERENCES person(id),
    organization_id TEXT NOT NULL REFERENCES organization(id),
    role TEXT NOT NULL,
    PRIMARY KEY (person_id, organization_id, role)
);
CREATE TABLE study_experiment (
    study_id TEXT NOT NULL REFERENCES study(id),
    experiment_id TEXT NOT NULL REFERENCES experiment_run(id),
    PRIMARY KEY (study_id, experiment_id)
);
CREATE TABLE additional_property (
    owner_table TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    attribute_id TEXT NOT NULL,
    attribute_label TEXT,
    value TEXT,
    PRIMARY KEY (owner_table, owner_id, attribute_id)
);
CREATE TABLE additional_metric (
    owner_table TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    attribute_id TEXT NOT NULL,
    attribute_label TEXT,
    numeric_value REAL,
    unit TEXT,
    PRIMARY KEY (owner_table, owner_id, attribute_id)
);
-- The front doors: one row per EMPIAR entry, EMDB map and PDB model.
CREATE TABLE empiar_entries (
    accession TEXT PRIMARY KEY,
    title TEXT,
    status TEXT,
    experiment_type TEXT,
    technique TEXT,
    scale TEXT,
    deposition_date TEXT,
    release_date TEXT,
    update_date TEXT,
    obsolete_date TEXT,
    release_year INTEGER,
    dataset_size TEXT,
    dataset_size_bytes INTEGER,
    entry_doi TEXT,
    authors TEXT,
    corresponding_author TEXT,
    imageset_count INTEGER,
    image_count INTEGER,
    categories TEXT,
    data_formats TEXT,
    pixel_size_min_a REAL,
    emdb_ids TEXT,
    pdb_ids TEXT,
    citation_title TEXT,
    citation_doi TEXT,
    citation_journal TEXT,
    citation_year INTEGER,
    empiar_url TEXT,
    harvested_at TEXT,
    resolution_best_a REAL,
    resolution_bin TEXT,
    methods TEXT,
    microscopes TEXT,
    detectors TEXT,
    voltages_kv TEXT,
    organisms TEXT,
    sample_names TEXT,
    software TEXT,
    disappeared_on TEXT
);
CREATE TABLE harvest_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT,
    finished_at TEXT,
    mode TEXT,
    options TEXT,
    listed INTEGER,
    fetched INTEGER,
    not_modified INTEGER,
    unchanged INTEGER,
    new INTEGER,
    updated INTEGER,
    not_public INTEGER,
    failed INTEGER,
    requests TEXT,
    bytes TEXT,
    retries INTEGER,
    exit_status INTEGER,
    counts TEXT,
    withdrawn INTEGER
);
CREATE TABLE harvest_errors (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES harvest_runs(id),
    source TEXT,
    accession TEXT,
    url TEXT,
    kind TEXT,
    http_status INTEGER,
    message TEXT,
    excerpt TEXT,
    occurred_at TEXT
);
CREATE INDEX idx_study_dataset ON study(dataset_id);
CREATE INDEX idx_study_person_person ON study_person(person_id);
CREATE INDEX idx_study_publication_publication ON study_publication(publication_id);
CREATE INDEX idx_dcr_database_id ON database_cross_reference(database_name, database_id);
CREATE INDEX idx_image_data_file ON image(x_data_file_id);
CREATE INDEX idx_harvest_errors_run ON harvest_errors(run_id);
CREATE INDEX idx_empiar_entries_experiment_type ON empiar_entries(experiment_type);
CREATE INDEX idx_empiar_entries_release_year ON empiar_entries(release_year);
CREATE INDEX idx_empiar_entries_status ON empiar_entries(status);
CREATE TABLE data_collection_strategy (
    experiment_id TEXT PRIMARY KEY REFERENCES experiment_run(id),
    collection_mode TEXT,
    detector_mode TEXT,
    total_dose_value REAL,
    total_dose_unit TEXT
);
CREATE TABLE quality_metrics (
    experiment_id TEXT PRIMARY KEY REFERENCES experiment_run(id),
    resolution_value REAL,
    resolution_unit TEXT,
    clashscore_value REAL,
    clashscore_unit TEXT,
    ramachandran_outliers_percent_value REAL,
    ramachandran_outliers_percent_unit TEXT
);
CREATE TABLE sample (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    sample_code TEXT,
    sample_type TEXT,
    molecular_weight_value REAL,
    molecular_weight_unit TEXT,
    concentration_value REAL,
    concentration_unit TEXT,
    organism TEXT,
    oligomeric_state TEXT,
    x_organism_name TEXT
);
CREATE TABLE buffer_composition (
    sample_id TEXT PRIMARY KEY REFERENCES sample(id),
    ph_value REAL,
    ph_unit TEXT
);
CREATE TABLE buffer_component (
    sample_id TEXT NOT NULL REFERENCES sample(id),
    position INTEGER NOT NULL,
    component TEXT,
    PRIMARY KEY (sample_id, position)
);
CREATE TABLE sample_preparation (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    preparation_type TEXT,
    sample_id TEXT REFERENCES sample(id),
    protocol_description TEXT
);
CREATE TABLE cryoem_preparation (
    preparation_id TEXT PRIMARY KEY REFERENCES sample_preparation(id),
    grid_type TEXT,
    grid_material TEXT,
    support_film TEXT,
    vitrification_method TEXT,
    vitrification_instrument TEXT,
    cryogen TEXT,
    humidity_percentage_value REAL,
    humidity_percentage_unit TEXT,
    chamber_temperature_value REAL,
    chamber_temperature_unit TEXT,
    glow_discharge_applied INTEGER
);
CREATE TABLE instrument (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    instrument_type TEXT,
    instrument_code TEXT,
    instrument_category TEXT,
    manufacturer TEXT,
    model TEXT,
    accelerating_voltage_value REAL,
    accelerating_voltage_unit TEXT,
    cs_value REAL,
    cs_unit TEXT,
    electron_source TEXT,
    illumination_mode TEXT,
    imaging_mode TEXT,
    specimen_holder_model TEXT,
    detector_model TEXT,
    detector_manufacturer TEXT,
    detector_technology TEXT,
    detector_mode TEXT,
    energy_filter_present INTEGER,
    energy_filter_model TEXT
);
CREATE TABLE workflow_run (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    workflow_code TEXT,
    workflow_type TEXT,
    software_name TEXT,
    software_version TEXT,
    additional_software TEXT,
    deposited_to_pdb INTEGER,
    pdb_id TEXT,
    resolution_high_value REAL,
    resolution_high_unit TEXT,
    clashscore_value REAL,
    clashscore_unit TEXT,
    ramachandran_outliers_value REAL,
    ramachandran_outliers_unit TEXT,
    processing_notes TEXT
);
CREATE TABLE refinement_parameters (
    workflow_id TEXT PRIMARY KEY REFERENCES workflow_run(id),
    symmetry TEXT,
    axial_symmetry TEXT,
    pixel_size_value REAL,
    pixel_size_unit TEXT,
    resolution_0_143_value REAL,
    resolution_0_143_unit TEXT,
    number_of_particles INTEGER,
    helical_rise_value REAL,
    helical_rise_unit TEXT,
    helical_twist_value REAL,
    helical_twist_unit TEXT
);
CREATE TABLE particle_picking_parameters (
    workflow_id TEXT PRIMARY KEY REFERENCES workflow_run(id),
    number_of_particles_selected INTEGER
);
CREATE TABLE study_sample (
    study_id TEXT NOT NULL REFERENCES study(id),
    sample_id TEXT NOT NULL REFERENCES sample(id),
    role TEXT,
    PRIMARY KEY (study_id, sample_id)
);
CREATE TABLE experiment_sample (
    experiment_id TEXT NOT NULL REFERENCES experiment_run(id),
    sample_id TEXT NOT NULL REFERENCES sample(id),
    role TEXT,
    preparation_id TEXT REFERENCES sample_preparation(id),
    PRIMARY KEY (experiment_id, sample_id)
);
CREATE TABLE experiment_instrument (
    experiment_id TEXT NOT NULL REFERENCES experiment_run(id),
    instrument_id TEXT NOT NULL REFERENCES instrument(id),
    role TEXT,
    PRIMARY KEY (experiment_id, instrument_id)
);
CREATE TABLE study_workflow (
    study_id TEXT NOT NULL REFERENCES study(id),
    workflow_id TEXT NOT NULL REFERENCES workflow_run(id),
    PRIMARY KEY (study_id, workflow_id)
);
CREATE TABLE workflow_experiment (
    workflow_id TEXT NOT NULL REFERENCES workflow_run(id),
    experiment_id TEXT NOT NULL REFERENCES experiment_run(id),
    x_owner TEXT NOT NULL,
    PRIMARY KEY (workflow_id, experiment_id)
);
CREATE TABLE workflow_input (
    workflow_id TEXT NOT NULL REFERENCES workflow_run(id),
    file_id TEXT NOT NULL REFERENCES data_file(id),
    input_type TEXT,
    x_owner TEXT NOT NULL,
    PRIMARY KEY (workflow_id, file_id)
);
CREATE TABLE workflow_output (
    workflow_id TEXT NOT NULL REFERENCES workflow_run(id),
    file_id TEXT NOT NULL REFERENCES data_file(id),
    output_type TEXT,
    x_owner TEXT NOT NULL,
    PRIMARY KEY (workflow_id, file_id)
);
CREATE INDEX idx_workflow_experiment_owner ON workflow_experiment(x_owner);
CREATE INDEX idx_workflow_experiment_experiment ON workflow_experiment(experiment_id);
CREATE INDEX idx_workflow_input_owner ON workflow_input(x_owner);
CREATE INDEX idx_workflow_input_file ON workflow_input(file_id);
CREATE INDEX idx_workflow_output_owner ON workflow_output(x_owner);
CREATE INDEX idx_workflow_output_file ON workflow_output(file_id);
CREATE TABLE emdb_maps (
    emdb_id TEXT PRIMARY KEY,
    title TEXT,
    status TEXT,
    method TEXT,
    resolution_a REAL,
    release_date TEXT,
    sample_name TEXT,
    organisms TEXT,
    microscope TEXT,
    detector TEXT,
    voltage_kv REAL,
    software TEXT,
    empiar_ids TEXT,
    pdb_ids TEXT,
    emdb_url TEXT,
    harvested_at TEXT
);
CREATE TABLE pdb_models (
    pdb_id TEXT PRIMARY KEY,
    title TEXT,
    status TEXT,
    method TEXT,
    resolution_a REAL,
    release_date TEXT,
    emdb_ids TEXT,
    empiar_ids TEXT,
    replaced_by TEXT,
    pdb_url TEXT,
    harvested_at TEXT
);
CREATE INDEX idx_emdb_maps_method ON emdb_maps(method);
CREATE INDEX idx_emdb_maps_status ON emdb_maps(status);
CREATE INDEX idx_pdb_models_status ON pdb_models(status);
CREATE INDEX idx_empiar_entries_resolution_bin ON empiar_entries(resolution_bin);
-- What the listings said about each EMPIAR accession, kept between runs.
CREATE TABLE listing_state (
    accession TEXT PRIMARY KEY,
    listing_mtime TEXT,
    fetched_mtime TEXT,
    missing_runs INTEGER NOT NULL DEFAULT 0,
    gone_status TEXT,
    gone_since TEXT
);
CREATE INDEX idx_dcr_owner ON database_cross_reference(owner_id);
CREATE INDEX idx_additional_property_owner ON additional_property(owner_id);
CREATE INDEX idx_additional_metric_owner ON additional_metric(owner_id);
CREATE INDEX idx_harvest_errors_record ON harvest_errors(source, accession);

"""
_BASELINE_FTS = """
-- Written by the harvest itself (rowid = empiar_entries.rowid): it indexes text kept in other
-- tables. Migration 002 hands it to sqlite-utils' triggers.
CREATE VIRTUAL TABLE empiar_entries_fts USING fts5(
    title, authors, imagesets, citation_title, linked,
    tokenize = 'porter unicode61 remove_diacritics 2'
)
"""
# The pre-release migrations the baseline replaces: a file they built already has its schema.
_PRE_RELEASE = ("m001_initial", "m002_linked_records", "m003_incremental")

KNOWN: list[str] = []


def _migration(fn):
    KNOWN.append(fn.__name__)
    return migrations()(fn)


def _execute_all(db: Database, script: str) -> None:
    # executescript() would COMMIT the transaction the migration runs in.
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def _applied(db: Database) -> set[str]:
    return {m.name for m in migrations.applied(db)}


@_migration
def m001_baseline(db: Database) -> None:
    if _applied(db) & set(_PRE_RELEASE):
        return
    _execute_all(db, _BASELINE)
    _execute_all(db, _BASELINE_FTS)
    db["emdb_maps"].enable_fts(
        ["emdb_id", "title", "sample_name", "organisms", "microscope", "software"],
        tokenize="porter",
        create_triggers=True,
    )
    db["pdb_models"].enable_fts(["pdb_id", "title"], tokenize="porter", create_triggers=True)


def unknown_migrations(db: Database) -> list[str]:
    """Migrations applied to this file that this version does not know: a newer schema."""
    return [m.name for m in migrations.applied(db) if m.name not in {*KNOWN, *_PRE_RELEASE}]


def pending(db: Database) -> list[str]:
    """Migrations this version would still apply to the file."""
    return [name for name in KNOWN if name not in _applied(db)]


def schema_version(db: Database) -> int:
    """How many of this version's migrations the file has."""
    return len(KNOWN) - len(pending(db))


_V2 = """
-- One word for a record no longer public: an entry gone from the listings and then answered
-- 404 (or obsolete) is withdrawn, on the day it was found so.
ALTER TABLE empiar_entries RENAME COLUMN disappeared_on TO withdrawn_on;
ALTER TABLE listing_state RENAME COLUMN gone_status TO withdrawn_status;
ALTER TABLE listing_state RENAME COLUMN gone_since TO withdrawn_on;
-- The entries' search index becomes an ordinary sqlite-utils one over their own columns.
ALTER TABLE empiar_entries ADD COLUMN imageset_text TEXT;
ALTER TABLE empiar_entries ADD COLUMN linked_text TEXT;
UPDATE empiar_entries SET
    imageset_text = (select imagesets from empiar_entries_fts where rowid = empiar_entries.rowid),
    linked_text = (select linked from empiar_entries_fts where rowid = empiar_entries.rowid);
DROP TABLE empiar_entries_fts;
-- Records whose front-door rows gather others' values and must be recomputed: marked in the
-- same transaction as the change, cleared in the one that recomputes them.
CREATE TABLE front_door_stale (
    source TEXT NOT NULL,
    accession TEXT NOT NULL,
    PRIMARY KEY (source, accession)
);
INSERT INTO front_door_stale (source, accession) SELECT 'empiar', accession FROM empiar_entries
"""


@_migration
def m002_one_writer_of_front_doors(db: Database) -> None:
    _execute_all(db, _V2)
    db["empiar_entries"].enable_fts(
        ["title", "authors", "imageset_text", "citation_title", "linked_text"],
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
    )


_V3_SHARED = """
-- What each record says of a row it shares with others (a person by ORCID, a publication by DOI,
-- an organisation): the shared row is merged from these by source priority (index/shared.py).
CREATE TABLE shared_contribution (
    table_name TEXT NOT NULL,
    id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    source TEXT NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (table_name, id, owner_id)
);
CREATE INDEX idx_shared_contribution_owner ON shared_contribution(owner_id);
-- The rows a file already holds stand as contributions of their own, outranked by any record's
-- (a reindex replaces them with the records' own).
INSERT INTO shared_contribution (table_name, id, owner_id, source, row)
    SELECT 'person', id, 'legacy:', 'legacy', json_object('id', id, 'title', title,
        'description', description, 'orcid', orcid, 'full_name', full_name,
        'given_name', given_name, 'family_name', family_name, 'email', email,
        'affiliation', affiliation) FROM person;
INSERT INTO shared_contribution (table_name, id, owner_id, source, row)
    SELECT 'organization', id, 'legacy:', 'legacy', json_object('id', id, 'title', title,
        'description', description, 'organization_type', organization_type,
        'location', location, 'country', country) FROM organization;
INSERT INTO shared_contribution (table_name, id, owner_id, source, row)
    SELECT 'publication', id, 'legacy:', 'legacy', json_object('id', id, 'title', title,
        'description', description, 'doi', doi, 'pubmed_id', pubmed_id, 'journal', journal,
        'journal_abbreviation', journal_abbreviation, 'volume', volume, 'issue', issue,
        'page_first', page_first, 'page_last', page_last, 'year', year, 'language', language,
        'journal_country', journal_country, 'unpublished', unpublished,
        '_authors', (select json_group_array(name) from (select name from publication_author a
            where a.publication_id = publication.id order by position))) FROM publication
"""


@_migration
def m003_shared_rows_by_source(db: Database) -> None:
    _execute_all(db, _V3_SHARED)


_V4_LINKS = """
-- The links between the front doors as rows, so that scripts and Datasette join entries, maps
-- and models without json_each; front_doors.refresh keeps them, from emdb_ids and pdb_ids.
CREATE TABLE empiar_emdb (
    accession TEXT NOT NULL REFERENCES empiar_entries(accession),
    emdb_id TEXT NOT NULL REFERENCES emdb_maps(emdb_id),
    PRIMARY KEY (accession, emdb_id)
);
CREATE INDEX idx_empiar_emdb_emdb_id ON empiar_emdb(emdb_id);
CREATE TABLE emdb_pdb (
    emdb_id TEXT NOT NULL REFERENCES emdb_maps(emdb_id),
    pdb_id TEXT NOT NULL REFERENCES pdb_models(pdb_id),
    PRIMARY KEY (emdb_id, pdb_id)
);
CREATE INDEX idx_emdb_pdb_pdb_id ON emdb_pdb(pdb_id);
-- The common questions, one row per pair.
CREATE VIEW entry_maps AS
SELECT e.accession, e.title, e.experiment_type, e.technique, e.release_date, e.release_year,
       e.dataset_size_bytes, m.emdb_id, m.status AS map_status, m.method, m.resolution_a,
       m.microscope, m.detector, m.voltage_kv, m.sample_name, m.organisms
FROM empiar_emdb l
JOIN empiar_entries e ON e.accession = l.accession
JOIN emdb_maps m ON m.emdb_id = l.emdb_id;
CREATE VIEW entry_models AS
SELECT l.accession, l.emdb_id, m.resolution_a AS map_resolution_a, p.pdb_id,
       p.status AS model_status, p.method AS model_method, p.resolution_a AS model_resolution_a,
       p.replaced_by, p.title AS model_title
FROM empiar_emdb l
JOIN emdb_maps m ON m.emdb_id = l.emdb_id
JOIN emdb_pdb f ON f.emdb_id = l.emdb_id
JOIN pdb_models p ON p.pdb_id = f.pdb_id;
CREATE VIEW entry_organisms AS
SELECT DISTINCT l.accession, o.value AS organism
FROM empiar_emdb l
JOIN emdb_maps m ON m.emdb_id = l.emdb_id
JOIN json_each(m.organisms) o;
-- Filled by the next refresh (a harvest or a reindex).
INSERT OR IGNORE INTO front_door_stale (source, accession) SELECT 'empiar', accession
    FROM empiar_entries
"""


@_migration
def m004_link_tables_and_views(db: Database) -> None:
    _execute_all(db, _V4_LINKS)


_V5_TECHNIQUE_AND_FAMILIES = """
-- An entry's technique from all the evidence (its linked maps' methods, its imagesets, its own
-- words, its experiment type), the method beside it, and how they were decided; its own record's
-- verdict is kept for when no map decides (front_doors.refresh).
ALTER TABLE empiar_entries ADD COLUMN experimental_method TEXT;
ALTER TABLE empiar_entries ADD COLUMN technique_source TEXT;
ALTER TABLE empiar_entries ADD COLUMN own_technique_source TEXT;
-- Instruments in families (harvester/mapping/instruments.py), beside the spellings as served.
ALTER TABLE emdb_maps ADD COLUMN microscope_family TEXT;
ALTER TABLE emdb_maps ADD COLUMN detector_family TEXT;
ALTER TABLE empiar_entries ADD COLUMN microscope_families TEXT;
ALTER TABLE empiar_entries ADD COLUMN detector_families TEXT;
-- The mapped values are filled by `empiar-mirror reindex` (or as each record changes), the
-- gathered ones by the next refresh.
INSERT OR IGNORE INTO front_door_stale (source, accession) SELECT 'empiar', accession
    FROM empiar_entries
"""


@_migration
def m005_technique_and_instrument_families(db: Database) -> None:
    _execute_all(db, _V5_TECHNIQUE_AND_FAMILIES)


_V6_COMPLETENESS = """
-- What each EMPIAR entry holds of what reprocessing and citing it need, rule by rule
-- (index/completeness.py), and the share of the rules that apply which pass.
CREATE TABLE metadata_check (
    accession TEXT NOT NULL REFERENCES empiar_entries(accession),
    rule TEXT NOT NULL,
    passed INTEGER,
    detail TEXT,
    PRIMARY KEY (accession, rule)
);
CREATE INDEX idx_metadata_check_rule ON metadata_check(rule, passed);
ALTER TABLE empiar_entries ADD COLUMN completeness INTEGER;
ALTER TABLE empiar_entries ADD COLUMN completeness_bin TEXT;
-- Filled by the next refresh (a harvest or a reindex).
INSERT OR IGNORE INTO front_door_stale (source, accession) SELECT 'empiar', accession
    FROM empiar_entries
"""


@_migration
def m006_metadata_completeness(db: Database) -> None:
    _execute_all(db, _V6_COMPLETENESS)


_V7_SHARED_SUPPLIERS = """
-- Per shared row, the merge key of the contribution that gives each field its value
-- (index/shared.py): a new contribution is weighed against these instead of all the others.
-- A row without keys is rebuilt from its contributions the next time a record touches it.
CREATE TABLE shared_supplier (
    table_name TEXT NOT NULL,
    id TEXT NOT NULL,
    keys TEXT NOT NULL,
    PRIMARY KEY (table_name, id)
)
"""


@_migration
def m007_shared_row_suppliers(db: Database) -> None:
    _execute_all(db, _V7_SHARED_SUPPLIERS)


_V8_VERSIONS = """
-- Every distinct payload a record has had, by its hash (index/versions.py): the tables come from
-- the newest one that maps, and an answer that does not map is kept beside it, never in its
-- place. source_record keeps the fetch state, and in sha256 the version in use.
CREATE TABLE record_version (
    source TEXT NOT NULL,
    accession TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    payload TEXT NOT NULL,
    first_served TEXT NOT NULL,
    last_served TEXT NOT NULL,
    maps INTEGER,
    error TEXT,
    PRIMARY KEY (source, accession, sha256)
);
-- A row whenever a record's version in use changes: what changed, in a curator's words.
CREATE TABLE record_change (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    accession TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    previous_sha256 TEXT,
    changed_at TEXT NOT NULL,
    change TEXT NOT NULL,
    fields TEXT
);
CREATE INDEX idx_record_change_record ON record_change(source, accession);
CREATE INDEX idx_record_change_changed_at ON record_change(changed_at);
-- An error's source is the kind of record it concerns (or none); the service it came from is a
-- column of its own. Before, source also held service and listing names.
ALTER TABLE harvest_errors ADD COLUMN service TEXT;
UPDATE harvest_errors SET service = CASE source
    WHEN 'pdb' THEN 'rcsb' WHEN 'pdb_holdings' THEN 'rcsb'
    WHEN 'empiar-search' THEN 'ebi_search' WHEN 'empiar-listing' THEN 'empiar_files'
    ELSE source END
    WHERE kind != 'withdrawal-guard';
UPDATE harvest_errors SET source = CASE
    WHEN source IN ('empiar-search', 'empiar-listing') THEN 'empiar'
    WHEN source IN ('rcsb', 'ebi_search', 'empiar_files') THEN NULL
    ELSE source END
"""
_V8_PAYLOADS_AT_ONCE = 500


@_migration
def m008_record_versions(db: Database) -> None:
    """Each stored payload becomes its record's first version (EMPIAR's made canonical, as the
    other archives' are), and its history starts there."""
    _execute_all(db, _V8_VERSIONS)
    unmappable = set(
        db.execute(
            "select e.source, e.accession from harvest_errors e join source_record s "
            "on s.source = e.source and s.accession = e.accession "
            "where e.kind in ('validation', 'mapping') and e.occurred_at >= s.fetched_at"
        ).fetchall()
    )
    last = 0
    while True:
        # A range at a time: the payloads of a whole archive do not fit in memory.
        batch = db.execute(
            "select rowid, source, accession, payload, fetched_at, changed_at from source_record "
            "where rowid > ? and payload is not null order by rowid limit ?",
            [last, _V8_PAYLOADS_AT_ONCE],
        ).fetchall()
        if not batch:
            break
        last = batch[-1][0]
        for rowid, source, accession, payload, fetched_at, changed_at in batch:
            if source == "empiar":
                try:
                    payload = canonical(json.loads(payload))
                except ValueError:
                    pass  # kept as it was: it is an error beside its record already
            sha = digest(payload)
            first, served = changed_at or fetched_at or "", fetched_at or changed_at or ""
            maps = (source, accession) not in unmappable
            db.execute(
                "insert or ignore into record_version (source, accession, sha256, payload, "
                "first_served, last_served, maps) values (?, ?, ?, ?, ?, ?, ?)",
                [source, accession, sha, payload, first, served, int(maps)],
            )
            db.execute("update source_record set sha256 = ? where rowid = ?", [sha, rowid])
            if maps:
                db.execute(
                    "insert into record_change (source, accession, sha256, changed_at, change) "
                    "values (?, ?, ?, ?, 'first kept')",
                    [source, accession, sha, first],
                )
    db.execute("ALTER TABLE source_record DROP COLUMN payload")


_V9_LINKS_AS_DATA = """
-- Every link a record states to another, as the graph in index/archives.py reads it from the
-- record (a cross reference, or a front-door column): owned by the stating record and replaced
-- with it. The front doors' id lists and the link tables are recomputed from it.
CREATE TABLE record_link (
    from_archive TEXT NOT NULL,
    from_accession TEXT NOT NULL,
    relation TEXT NOT NULL,
    to_archive TEXT NOT NULL,
    to_accession TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (from_archive, from_accession, relation, to_archive, to_accession)
);
CREATE INDEX idx_record_link_to ON record_link(to_archive, to_accession);
-- The links a file holds already, from its cross references (the graph as it stood then), so an
-- upgraded file needs no reindex.
INSERT OR IGNORE INTO record_link
SELECT archive, substr(owner_id, length(archive) + 2, length(owner_id) - length(archive) - 7),
       description, database_name, database_id,
       row_number() OVER (PARTITION BY owner_id ORDER BY rowid) - 1
FROM (SELECT rowid, *, substr(owner_id, 1, instr(owner_id, ':') - 1) AS archive
      FROM database_cross_reference WHERE owner_table = 'study' AND owner_id LIKE '%/study')
WHERE (archive, description, database_name) IN (VALUES
    ('empiar', 'related EMDB entry', 'emdb'),
    ('emdb', 'fitted model', 'pdb'),
    ('empiar', 'related PDB entry', 'pdb'),
    ('pdb', 'associated EM volume', 'emdb'),
    ('pdb', 'replaces this obsolete entry', 'pdb'));
INSERT OR IGNORE INTO record_link
SELECT 'pdb', pdb_id, 'replaced by', 'pdb', replaced_by, 0
FROM pdb_models WHERE replaced_by IS NOT NULL AND replaced_by != '';
-- The id lists and link tables are recomputed from it by the next refresh.
INSERT OR IGNORE INTO front_door_stale (source, accession) SELECT 'empiar', accession
    FROM empiar_entries
"""


@_migration
def m009_links_as_data(db: Database) -> None:
    _execute_all(db, _V9_LINKS_AS_DATA)
    # The listings' state belongs to an archive, part of its key: rebuilt, whatever columns
    # it has gained meanwhile, by sqlite-utils' transform.
    db["listing_state"].add_column("archive", str, not_null_default="empiar")
    db["listing_state"].transform(
        pk=("archive", "accession"),
        not_null={"accession"},
        column_order=("archive", "accession"),
    )


_V10_NAMES = """
-- A front door's time column holds when its record last changed, not when it was harvested.
ALTER TABLE empiar_entries RENAME COLUMN harvested_at TO changed_at;
ALTER TABLE emdb_maps RENAME COLUMN harvested_at TO changed_at;
ALTER TABLE pdb_models RENAME COLUMN harvested_at TO changed_at
"""


def search_triggers_on_their_columns(db: Database, table: str) -> None:
    """Re-index a row's search text only when a searched column changes: sqlite-utils' update
    trigger rewrites the row's whole entry in the search index on any update, and the refresh
    updates every front door's gathered columns (id lists, completeness) after each harvest.
    A migration that changes a table's search columns calls this again."""
    name = f"{table}_au"
    (sql,) = db.execute("select sql from sqlite_master where name = ?", [name]).fetchone()
    columns = [r[1] for r in db.execute(f"pragma table_info([{table}_fts])")]
    db.execute(f"drop trigger [{name}]")
    db.execute(
        sql.replace(
            f'AFTER UPDATE ON "{table}"',
            'AFTER UPDATE OF {} ON "{}"'.format(", ".join(f'"{c}"' for c in columns), table),
        )
    )


@_migration
def m010_front_door_time_and_search_triggers(db: Database) -> None:
    _execute_all(db, _V10_NAMES)
    for table in ("empiar_entries", "emdb_maps", "pdb_models"):
        search_triggers_on_their_columns(db, table)


@_migration
def m011_table_counts(db: Database) -> None:
    db.execute(
        "CREATE TABLE table_counts (table_name TEXT PRIMARY KEY, row_count INTEGER NOT NULL)"
    )
    # A file upgraded here is served with its counts before its next harvest writes them.
    table_counts.write(db)


_V12_STATUS_AND_INSTRUMENTS = """
-- The entry an obsolete EMPIAR entry names as its successor (record_link holds the link too).
ALTER TABLE empiar_entries ADD COLUMN replaced_by TEXT;
-- A model's microscopes and detectors, as served and by family, for its search index.
ALTER TABLE pdb_models ADD COLUMN instrument_text TEXT;
-- The mapped values are filled by `empiar-mirror reindex` (or as each record changes), the
-- gathered ones (an entry's linked instruments in linked_text) by the next refresh.
INSERT OR IGNORE INTO front_door_stale (source, accession) SELECT 'empiar', accession
    FROM empiar_entries
"""
# The search indexes of maps and models gain the instruments, by name and by family, so a
# search for `Krios`, `K3` or `Falcon 4` finds every record however the archive spells it.
SEARCH_INDEXES = {
    "emdb_maps": [
        "emdb_id",
        "title",
        "sample_name",
        "organisms",
        "microscope",
        "software",
        "detector",
        "microscope_family",
        "detector_family",
    ],
    "pdb_models": ["pdb_id", "title", "instrument_text"],
}


@_migration
def m012_status_successors_and_instrument_search(db: Database) -> None:
    _execute_all(db, _V12_STATUS_AND_INSTRUMENTS)
    for table, columns in SEARCH_INDEXES.items():
        db[table].disable_fts()
        db[table].enable_fts(columns, tokenize="porter", create_triggers=True)
        search_triggers_on_their_columns(db, table)


_V13_TILT_SERIES = """
-- A tomography map's tilt series as EMDB states it (lambda-ber ExperimentRun's tilt slots).
ALTER TABLE experiment_run ADD COLUMN tilt_angle_min_value REAL;
ALTER TABLE experiment_run ADD COLUMN tilt_angle_min_unit TEXT;
ALTER TABLE experiment_run ADD COLUMN tilt_angle_max_value REAL;
ALTER TABLE experiment_run ADD COLUMN tilt_angle_max_unit TEXT;
ALTER TABLE experiment_run ADD COLUMN tilt_angle_increment_value REAL;
ALTER TABLE experiment_run ADD COLUMN tilt_angle_increment_unit TEXT
"""


@_migration
def m013_tilt_series(db: Database) -> None:
    # Filled by `empiar-mirror reindex`, or as each map changes.
    _execute_all(db, _V13_TILT_SERIES)


_V20_FILES = """
-- Every file of every entry, as the file server's directory listings give it: one row per file,
-- its path relative to the entry's directory. Without a rowid, the key is the row: the path is
-- stored once.
CREATE TABLE empiar_file (
    accession TEXT NOT NULL,
    path TEXT NOT NULL,
    size_bytes INTEGER,
    size_text TEXT,
    modified TEXT,
    role TEXT,
    imageset INTEGER,
    missing_listings INTEGER NOT NULL DEFAULT 0,
    removed_on TEXT,
    PRIMARY KEY (accession, path)
) WITHOUT ROWID;
-- Every directory listed: what makes a re-listing incremental and a crawl resumable.
CREATE TABLE empiar_directory (
    accession TEXT NOT NULL,
    path TEXT NOT NULL,
    modified TEXT,
    file_count INTEGER,
    subdirectory_count INTEGER,
    listed_at TEXT,
    missing_listings INTEGER NOT NULL DEFAULT 0,
    removed_on TEXT,
    PRIMARY KEY (accession, path)
) WITHOUT ROWID
"""


@_migration
def m020_file_tree(db: Database) -> None:
    _execute_all(db, _V20_FILES)


_V21_FILE_FACTS = """
-- What the listed files say of each entry and imageset (index/file_facts.py).
ALTER TABLE empiar_entries ADD COLUMN file_count INTEGER;
ALTER TABLE empiar_entries ADD COLUMN file_bytes INTEGER;
ALTER TABLE empiar_entries ADD COLUMN movie_format TEXT;
ALTER TABLE empiar_entries ADD COLUMN has_gain_reference INTEGER;
ALTER TABLE empiar_entries ADD COLUMN has_defect_map INTEGER;
ALTER TABLE empiar_entries ADD COLUMN has_particle_coordinates INTEGER;
ALTER TABLE empiar_entries ADD COLUMN has_mdoc INTEGER;
ALTER TABLE empiar_entries ADD COLUMN files_listed_at TEXT;
ALTER TABLE data_file ADD COLUMN x_files_found INTEGER;
ALTER TABLE data_file ADD COLUMN x_bytes_found INTEGER
"""


@_migration
def m021_file_facts(db: Database) -> None:
    _execute_all(db, _V21_FILE_FACTS)


_V22_REPROCESSABLE = """
-- "Can I reprocess this?" per entry (index/reprocessing.py).
ALTER TABLE empiar_entries ADD COLUMN reprocessable INTEGER;
ALTER TABLE empiar_entries ADD COLUMN reprocessable_tier TEXT;
ALTER TABLE empiar_entries ADD COLUMN reprocessing_gaps TEXT
"""


@_migration
def m022_reprocessable(db: Database) -> None:
    _execute_all(db, _V22_REPROCESSABLE)


_V14_MOLECULES = """
-- What each sample holds (lambda-ber SampleComponent), and the molecules they are: a protein,
-- a nucleic acid or a small molecule row per EMDB macromolecule or ligand, owned by its map.
CREATE TABLE protein (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    uniprot_id TEXT,
    protein_name TEXT,
    organism TEXT,
    organism_name TEXT,
    amino_acid_sequence TEXT,
    sequence_length INTEGER,
    molecular_weight_theoretical_value REAL,
    molecular_weight_theoretical_unit TEXT
);
CREATE TABLE nucleic_acid (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    nucleic_acid_type TEXT,
    nucleic_acid_name TEXT,
    organism TEXT,
    organism_name TEXT,
    nucleotide_sequence TEXT,
    sequence_length INTEGER,
    molecular_weight_theoretical_value REAL,
    molecular_weight_theoretical_unit TEXT
);
CREATE TABLE small_molecule (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    small_molecule_name TEXT,
    chebi_id TEXT,
    pdb_ligand_id TEXT,
    chemical_class TEXT,
    molecular_formula TEXT,
    molecular_weight_theoretical_value REAL,
    molecular_weight_theoretical_unit TEXT
);
CREATE TABLE sample_component (
    id TEXT PRIMARY KEY,
    title TEXT,
    description TEXT,
    sample_id TEXT NOT NULL REFERENCES sample(id),
    component_type TEXT NOT NULL,
    protein_id TEXT REFERENCES protein(id),
    nucleic_acid_id TEXT REFERENCES nucleic_acid(id),
    small_molecule_id TEXT REFERENCES small_molecule(id),
    ontology_term TEXT,
    copy_number INTEGER
);
CREATE INDEX idx_sample_component_sample ON sample_component(sample_id);
CREATE INDEX idx_protein_uniprot_id ON protein(uniprot_id);
CREATE INDEX idx_small_molecule_pdb_ligand_id ON small_molecule(pdb_ligand_id);
ALTER TABLE sample ADD COLUMN expression_system TEXT;
-- A map's molecules (names, with UniProt accessions and ligand codes) for reading and search;
-- an entry's, gathered from its linked maps.
ALTER TABLE emdb_maps ADD COLUMN molecules TEXT;
ALTER TABLE empiar_entries ADD COLUMN molecules TEXT;
-- The mapped values are filled by `empiar-mirror reindex` (or as each map changes), the
-- gathered ones (an entry's molecules, in its linked_text too) by the next refresh.
INSERT OR IGNORE INTO front_door_stale (source, accession) SELECT 'empiar', accession
    FROM empiar_entries
"""


@_migration
def m014_molecules(db: Database) -> None:
    _execute_all(db, _V14_MOLECULES)
    # A map is found by its molecules: the search index gains the column.
    columns = [*SEARCH_INDEXES["emdb_maps"], "molecules"]
    db["emdb_maps"].disable_fts()
    db["emdb_maps"].enable_fts(columns, tokenize="porter", create_triggers=True)
    search_triggers_on_their_columns(db, "emdb_maps")


_V15_CORRELATIVE_AND_SIMULATED = """
-- 1 for an entry of simulated, not measured, data (INSILICO, or every imageset's name says so):
-- charts and their canned queries leave it out unless asked. The imageset names are read by
-- `empiar-mirror reindex` (or as each entry changes); the experiment type at once.
ALTER TABLE empiar_entries ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;
UPDATE empiar_entries SET simulated = 1 WHERE experiment_type = 'INSILICO'
"""


@_migration
def m015_correlative_and_simulated(db: Database) -> None:
    # The light half of correlative entries (FluorescenceImage rows, optical instruments) needs
    # no new column: it is filled by `empiar-mirror reindex`, or as each entry changes.
    _execute_all(db, _V15_CORRELATIVE_AND_SIMULATED)


_V23_VALIDATION_FIGURES = """
-- EMDB's validation figures per map (index/validation.py): recalculated resolutions in Å,
-- the recommended contour level, the gap to the stated resolution and why a figure is absent.
ALTER TABLE emdb_maps ADD COLUMN recalc_fsc_0143_a REAL;
ALTER TABLE emdb_maps ADD COLUMN recalc_fsc_05_a REAL;
ALTER TABLE emdb_maps ADD COLUMN recalc_fsc_halfbit_a REAL;
ALTER TABLE emdb_maps ADD COLUMN recalc_fsc_masked_0143_a REAL;
ALTER TABLE emdb_maps ADD COLUMN recalc_fsc_corrected_0143_a REAL;
ALTER TABLE emdb_maps ADD COLUMN recommended_contour_level REAL;
ALTER TABLE emdb_maps ADD COLUMN resolution_gap_a REAL;
ALTER TABLE emdb_maps ADD COLUMN resolution_gap_bin TEXT;
ALTER TABLE emdb_maps ADD COLUMN validation_notes TEXT;
CREATE INDEX idx_emdb_maps_resolution_gap_a ON emdb_maps(resolution_gap_a);
-- Per fit of a model into a map: a model fitted into several maps has a row for each.
CREATE TABLE emdb_model_fits (
    emdb_id TEXT NOT NULL,
    pdb_id TEXT NOT NULL,
    model_index TEXT NOT NULL,
    map_model_fsc_05_a REAL,
    qscore_average REAL,
    atom_inclusion REAL,
    PRIMARY KEY (emdb_id, model_index)
);
CREATE INDEX idx_emdb_model_fits_pdb_id ON emdb_model_fits(pdb_id)
"""


@_migration
def m023_validation_figures(db: Database) -> None:
    _execute_all(db, _V23_VALIDATION_FIGURES)


_V24_WHOLE_EMDB = """
-- `harvest --emdb all` (harvester/sources/holdings.py, index/store/holdings.py): what EMDB's
-- weekly holdings file says of every released map, and its files.
CREATE TABLE emdb_holdings (
    emdb_id TEXT PRIMARY KEY,
    entry_last_update TEXT,
    validation_reports_last_update TEXT,
    file_count INTEGER,
    holdings_digest TEXT,
    listed_run INTEGER,
    listed_on TEXT,
    removed_on TEXT,
    fetched_update TEXT
);
CREATE TABLE emdb_file (
    emdb_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    md5_checksum TEXT,
    last_update TEXT,
    PRIMARY KEY (emdb_id, kind, file_name)
) WITHOUT ROWID;
CREATE INDEX idx_emdb_file_kind ON emdb_file(kind);
-- wwPDB's last-modification time of every released entry: which models a run refetches.
CREATE TABLE pdb_last_modified (
    pdb_id TEXT PRIMARY KEY,
    last_modified TEXT,
    fetched_last_modified TEXT
) WITHOUT ROWID
"""


@_migration
def m024_whole_emdb(db: Database) -> None:
    _execute_all(db, _V24_WHOLE_EMDB)


_V25_COVERAGE = """
-- Cross-archive coverage on the EMDB front door: is the map's raw data in EMPIAR, when was it
-- released (for the share per year), and which map superseded an obsolete one.
ALTER TABLE emdb_maps ADD COLUMN has_raw_data INTEGER;
ALTER TABLE emdb_maps ADD COLUMN release_year INTEGER;
ALTER TABLE emdb_maps ADD COLUMN replaced_by TEXT;
UPDATE emdb_maps SET release_year = CAST(substr(release_date, 1, 4) AS INTEGER)
    WHERE release_date GLOB '[0-9][0-9][0-9][0-9]-*';
UPDATE emdb_maps SET has_raw_data = (coalesce(json_array_length(empiar_ids), 0) > 0);
CREATE INDEX idx_emdb_maps_has_raw_data ON emdb_maps (has_raw_data, resolution_a)
"""


@_migration
def m025_cross_archive_coverage(db: Database) -> None:
    # replaced_by is filled by `empiar-mirror reindex`, or as each map changes.
    _execute_all(db, _V25_COVERAGE)
