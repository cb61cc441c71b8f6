"""The database schema, created and evolved with sqlite-utils migrations.

Table and column names are a public interface: scripts query them. Change them only in a new
migration, never by editing an applied one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("empiar_mirror")

_V1_TABLES = """
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
    number_of_images_unit TEXT
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
    x_picked_particles_directory TEXT
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
    x_data_file_id TEXT REFERENCES data_file(id)
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
    harvested_at TEXT
);
-- Maintained by the writer, not by triggers: it also indexes text that lives in other tables
-- (imageset details now, the linked EMDB and PDB records later). rowid = empiar_entries.rowid.
CREATE VIRTUAL TABLE empiar_entries_fts USING fts5(
    title, authors, imagesets, citation_title, tokenize = 'porter unicode61 remove_diacritics 2'
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
    exit_status INTEGER
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
"""


KNOWN: list[str] = []


def _migration(fn):
    KNOWN.append(fn.__name__)
    return migrations()(fn)


def _execute_all(db: Database, script: str) -> None:
    # executescript() would COMMIT the transaction the migration runs in.
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@_migration
def m001_initial(db: Database) -> None:
    _execute_all(db, _V1_TABLES)


def unknown_migrations(db: Database) -> list[str]:
    """Migrations applied to this file that this version does not know: a newer schema."""
    return [m.name for m in migrations.applied(db) if m.name not in KNOWN]


def schema_version(db: Database) -> int:
    return len(migrations.applied(db))
