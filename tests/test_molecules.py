"""Issue 21 §1, molecules: what an EMDB map's sample holds (its macromolecules, ligands and
expression system) becomes lambda-ber Protein, NucleicAcid, SmallMolecule and SampleComponent
rows, and the search box finds maps and entries by them. On the real recording EMD-25107 and on
crafted documents harvested over loopback: a ligand with references, DNA and RNA, expression
systems, list-or-object variants, and bad values that stay their record's problem."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import SHARED_REFERENCE, datasette_get, harvest, query
from sqlite_utils import Database

from empiar_mirror.harvester.replay import SAMPLE_DIR, ReplayServer
from empiar_mirror.index.export import export_dataset

SCHEMA_FILE = SHARED_REFERENCE / "lambda-ber" / "schema" / "lambda_ber_schema.yaml"
ENTRY = "EMPIAR-99950"
VARIANTS, BAD, ODD = "EMD-99951", "EMD-99952", "EMD-99953"


def search(db: Path, q: str) -> dict[str, list[str]]:
    found = datasette_get(db, f"/-/search.json?q={q}").json()["results"]
    keys = {"empiar_entries": "accession", "emdb_maps": "emdb_id", "pdb_models": "pdb_id"}
    return {t: [r[keys[t]] for r in found[t]["rows"]] for t in keys}


# --- the real recording ------------------------------------------------------------------------


def test_emd_25107_holds_its_protein_its_ligand_and_its_expression_system(harvested_db):
    """EMD-25107 (real): a Lassa glycoprotein construct (6 copies, sequence wrapped every 80
    residues, expressed in HEK293F) and six N-acetylglucosamines (`formula: NAG`)."""
    (protein,) = query(
        harvested_db,
        "select id, protein_name, uniprot_id, organism, organism_name, sequence_length, "
        "substr(amino_acid_sequence, 1, 10), molecular_weight_theoretical_value, "
        "molecular_weight_theoretical_unit from protein where id like 'emdb:EMD-25107/%'",
    )
    assert protein == (
        "emdb:EMD-25107/protein/1",
        "Josiah GPCysR4 I53-50A",
        None,
        "NCBITaxon:11620",
        "Lassa mammarenavirus",
        665,
        "MGQIVTFFQE",
        0.07384557,
        "MDa",
    )
    (ligand,) = query(
        harvested_db,
        "select id, small_molecule_name, pdb_ligand_id, molecular_formula "
        "from small_molecule where id like 'emdb:EMD-25107/%'",
    )
    assert ligand == (
        "emdb:EMD-25107/small-molecule/6",
        "2-acetamido-2-deoxy-beta-D-glucopyranose",
        "pdb.ligand:NAG",
        None,
    )
    components = query(
        harvested_db,
        "select id, component_type, protein_id, small_molecule_id, copy_number "
        "from sample_component where sample_id = 'emdb:EMD-25107/sample' order by id",
    )
    assert components == [
        ("emdb:EMD-25107/component/1", "protein", "emdb:EMD-25107/protein/1", None, 6),
        (
            "emdb:EMD-25107/component/6",
            "small_molecule",
            None,
            "emdb:EMD-25107/small-molecule/6",
            6,
        ),
    ]
    # The supramolecule names the cell line, the macromolecule the same host without it.
    assert query(
        harvested_db, "select expression_system from sample where id = 'emdb:EMD-25107/sample'"
    ) == [("Homo sapiens (HEK293F)",)]


def test_a_virus_is_a_component_named_by_its_taxon(harvested_db):
    rows = query(
        harvested_db,
        "select c.component_type, c.ontology_term from sample_component c "
        "join sample s on s.id = c.sample_id where c.component_type = 'virus_particle' "
        "and s.id = 'emdb:EMD-90003/sample'",
    )
    assert rows == [("virus_particle", "NCBITaxon:12242")]  # tobacco mosaic virus


def test_maps_and_entries_are_found_by_their_proteins_and_ligands(harvested_db):
    def entries_of(*maps: str) -> set[str]:
        marks = ", ".join("?" for _ in maps)
        return {
            a
            for (a,) in query(
                harvested_db, f"select accession from empiar_emdb where emdb_id in ({marks})", maps
            )
        }

    # Neither word is in a title or a sample name: only the molecules name them.
    found = search(harvested_db, "Angiotensin")
    assert found["emdb_maps"] == ["EMD-90017"]
    assert set(found["empiar_entries"]) == entries_of("EMD-90017") != set()
    found = search(harvested_db, "NAG")
    assert set(found["emdb_maps"]) == {"EMD-25107", "EMD-90014"}
    assert set(found["empiar_entries"]) == entries_of("EMD-25107", "EMD-90014")
    # The table page's own search finds them too.
    rows = datasette_get(
        harvested_db, "/mirror/emdb_maps.json?_search=glucopyranose&_shape=objects&_col=emdb_id"
    ).json()["rows"]
    assert {r["emdb_id"] for r in rows} == {"EMD-25107", "EMD-90014"}
    (molecules,) = query(
        harvested_db, "select molecules from empiar_entries where accession = 'EMPIAR-90022'"
    )[0]
    assert "2-acetamido-2-deoxy-beta-D-glucopyranose (NAG)" in json.loads(molecules)


def test_the_map_page_lists_its_molecules_each_a_filter(harvested_db):
    page = datasette_get(harvested_db, "/mirror/emdb_maps/EMD-90027").text
    assert "<dt>Molecules</dt><dd>Photosystem I P700 chlorophyll a apoprotein A1 · " in page
    assert "CHLOROPHYLL A (CLA)</dd>" in page
    assert "molecules__arraycontains=CHLOROPHYLL+A+%28CLA%29" in page
    entry = datasette_get(harvested_db, "/mirror/empiar_entries/EMPIAR-90022").text
    assert "<dt>Molecules</dt><dd>Josiah GPCysR4 I53-50A · 2-acetamido-2-deoxy-beta-D-" in entry


# --- crafted documents, harvested over loopback ------------------------------------------------


def _emdb(accession: str, macromolecules) -> dict:
    doc = copy.deepcopy(json.loads((SAMPLE_DIR / "emdb" / "EMD-25107.json").read_text()))
    doc["emdb_id"] = accession
    doc["admin"]["title"] = f"Crafted map {accession}"
    doc.pop("crossreferences", None)  # no fitted model: nothing else to fetch
    doc["sample"]["macromolecule_list"] = {"macromolecule": macromolecules}
    return doc


VARIANT_MOLECULES = [
    {
        "instance_type": "protein_or_peptide",
        "macromolecule_id": 1,
        "name": {"valueOf_": "Spike glycoprotein"},
        # A list where the real document has an object, in both places.
        "natural_source": [{"organism": {"ncbi": "2697049", "valueOf_": "SARS-CoV-2"}}],
        "recombinant_expression": [
            {
                "recombinant_organism": {"ncbi": 562, "valueOf_": "Escherichia coli"},
                "recombinant_strain": "BL21(DE3)",
            }
        ],
        "number_of_copies": 3,
        "molecular_weight": {"theoretical": {"units": "MDa", "valueOf_": "0.1412"}},
        "sequence": {
            "string": "mfvf lllp\nlvss",
            "external_references": [{"type_": "UNIPROTKB", "valueOf_": "P0DTC2"}],
        },
    },
    {
        "instance_type": "dna",
        "macromolecule_id": 2,
        "name": {"valueOf_": "Template strand"},
        "sequence": {"string": "(DA)(DT)(DG)(DC)"},
        "number_of_copies": "1",
    },
    {
        "instance_type": "rna",
        "macromolecule_id": 3,
        "name": {"valueOf_": "Guide RNA"},
        "classification": "OTHER",
        "sequence": {"string": "ACGU ACGU"},
    },
    {
        "instance_type": "ligand",
        "macromolecule_id": "7",
        "name": {"valueOf_": "ADENOSINE-5'-TRIPHOSPHATE"},
        "formula": "ATP",
        # One reference as an object, not a list.
        "external_references": {"type_": "CHEBI", "valueOf_": "30616"},
        "number_of_copies": "2",
    },
    {
        "instance_type": "other_macromolecule",
        "macromolecule_id": 8,
        "name": {"valueOf_": "Nanodisc scaffold"},
    },
]
# One macromolecule served as an object, every value of it broken.
BAD_MOLECULE = {
    "instance_type": "protein_or_peptide",
    "macromolecule_id": 1,
    "name": {"valueOf_": "Broken protein"},
    "molecular_weight": {"theoretical": {"units": "MDa", "valueOf_": "abc"}},
    "number_of_copies": "-",
    "sequence": {"string": {"unexpected": "object"}},
    "natural_source": None,
    "recombinant_expression": "Escherichia coli",
}
ODD_MOLECULES = [
    {
        "instance_type": "protein_or_peptide",
        "macromolecule_id": 1,
        "name": {"valueOf_": "Selenomethionine protein"},
        "sequence": {
            "string": "MK(MSE)LV",
            "external_references": [{"type_": "UNIPROTKB", "valueOf_": "BOGUS"}],
        },
    },
    # The same id twice, an id that is no number, and an item that is no object.
    {"instance_type": "ligand", "macromolecule_id": 1, "name": {"valueOf_": "ZINC ION"}},
    {"instance_type": "ligand", "macromolecule_id": "x", "formula": "C6 H12 O6"},
    "garbage",
]


@pytest.fixture(scope="module")
def crafted(tmp_path_factory) -> Path:
    """An EMPIAR entry naming the three crafted maps, harvested from a loopback archive."""
    root = tmp_path_factory.mktemp("archive")
    (root / "empiar").mkdir()
    (root / "emdb").mkdir()
    entry = json.loads((SAMPLE_DIR / "empiar" / "EMPIAR-90022.json").read_text())["EMPIAR-90022"]
    entry["title"] = "Crafted entry naming three maps"
    entry["cross_references"] = [VARIANTS, BAD, ODD]
    (root / "empiar" / f"{ENTRY}.json").write_text(json.dumps({ENTRY: entry}))
    for accession, molecules in (
        (VARIANTS, VARIANT_MOLECULES),
        (BAD, BAD_MOLECULE),
        (ODD, ODD_MOLECULES),
    ):
        (root / "emdb" / f"{accession}.json").write_text(json.dumps(_emdb(accession, molecules)))
    db = tmp_path_factory.mktemp("crafted") / "m.db"
    with ReplayServer([root]) as server:
        result = harvest(server, db)
    assert result.returncode == 0, result.stderr
    return db


def test_every_crafted_map_lands_without_an_error(crafted):
    assert query(crafted, "select count(*) from harvest_errors") == [(0,)]
    assert query(crafted, "select emdb_id from emdb_maps order by emdb_id") == [
        (VARIANTS,),
        (BAD,),
        (ODD,),
    ]


def test_list_and_object_variants_and_each_kind_of_molecule(crafted):
    assert query(
        crafted,
        "select id, uniprot_id, organism, amino_acid_sequence, sequence_length from protein "
        "where id like ?",
        (f"emdb:{VARIANTS}/%",),
    ) == [(f"emdb:{VARIANTS}/protein/1", "uniprot:P0DTC2", "NCBITaxon:2697049", "MFVFLLLPLVSS", 12)]
    assert query(
        crafted,
        "select id, nucleic_acid_type, nucleotide_sequence, sequence_length from nucleic_acid "
        "order by id",
    ) == [
        (f"emdb:{VARIANTS}/nucleic-acid/2", "dna", "ATGC", 4),
        (f"emdb:{VARIANTS}/nucleic-acid/3", "rna", "ACGUACGU", 8),
    ]
    assert query(
        crafted,
        "select id, pdb_ligand_id, chebi_id from small_molecule where id like ?",
        (f"emdb:{VARIANTS}/%",),
    ) == [(f"emdb:{VARIANTS}/small-molecule/7", "pdb.ligand:ATP", "CHEBI:30616")]
    assert query(
        crafted,
        "select replace(id, ?, ''), component_type, copy_number "
        "from sample_component where sample_id = ? order by id",
        (f"emdb:{VARIANTS}", f"emdb:{VARIANTS}/sample"),
    ) == [
        ("/component/1", "protein", 3),
        ("/component/2", "nucleic_acid", 1),
        ("/component/3", "nucleic_acid", None),
        ("/component/7", "small_molecule", 2),
        ("/component/8", "other", None),
    ]
    properties = query(
        crafted,
        "select owner_id, attribute_label, value from additional_property "
        "where owner_id like ? and owner_table in ('sample_component', 'nucleic_acid') "
        "order by owner_id",
        (f"emdb:{VARIANTS}/%",),
    )
    assert properties == [
        (f"emdb:{VARIANTS}/component/8", "emdb_kind", "other_macromolecule"),
        (f"emdb:{VARIANTS}/nucleic-acid/3", "classification", "OTHER"),
    ]
    # The supramolecule's host with its cell line, and the protein's own host with its strain.
    assert query(
        crafted, "select expression_system from sample where id = ?", (f"emdb:{VARIANTS}/sample",)
    ) == [("Homo sapiens (HEK293F); Escherichia coli (BL21(DE3))",)]


def test_bad_values_are_that_records_problem(crafted):
    assert query(
        crafted,
        "select p.protein_name, p.amino_acid_sequence, p.molecular_weight_theoretical_value, "
        "p.organism, c.copy_number from protein p join sample_component c on c.protein_id = p.id "
        "where p.id like ?",
        (f"emdb:{BAD}/%",),
    ) == [("Broken protein", None, None, None, None)]
    # A host that is no object is no expression system; the supramolecule's still is.
    assert query(
        crafted, "select expression_system from sample where id = ?", (f"emdb:{BAD}/sample",)
    ) == [("Homo sapiens (HEK293F)",)]
    # What does not fit a lambda-ber slot is kept as served, beside the row.
    assert query(
        crafted,
        "select owner_id, attribute_label, value from additional_property "
        "where owner_table = 'protein' and owner_id like ? order by attribute_label",
        (f"emdb:{ODD}/%",),
    ) == [
        (f"emdb:{ODD}/protein/1", "sequence", "MK(MSE)LV"),
        (f"emdb:{ODD}/protein/1", "uniprot_accessions", "BOGUS"),
    ]
    assert query(
        crafted,
        "select id, small_molecule_name, pdb_ligand_id, molecular_formula from small_molecule "
        "where id like ? order by id",
        (f"emdb:{ODD}/%",),
    ) == [
        (f"emdb:{ODD}/small-molecule/item-2", "ZINC ION", None, None),
        (f"emdb:{ODD}/small-molecule/item-3", None, None, "C6 H12 O6"),
    ]


def test_the_entry_is_found_by_its_maps_molecules(crafted):
    for q in ("P0DTC2", "ATP", "Template strand", "Guide"):
        found = search(crafted, q)
        assert found["empiar_entries"] == [ENTRY], q
        assert found["emdb_maps"] == [VARIANTS], q
    assert search(crafted, "Broken protein")["emdb_maps"] == [BAD]


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA_FILE.is_file():
        pytest.skip(f"the lambda-ber schema is not at {SCHEMA_FILE} (reference copy not present)")
    pytest.importorskip(
        "linkml.validator", reason="linkml is not installed (test-only: pip install linkml)"
    )
    from linkml.validator import Validator
    from linkml.validator.plugins import JsonschemaValidationPlugin

    return Validator(str(SCHEMA_FILE), validation_plugins=[JsonschemaValidationPlugin(closed=True)])


def test_the_export_holds_the_molecules_and_stays_valid(crafted, validator):
    db = Database(crafted)
    try:
        doc = export_dataset(db, ENTRY)
    finally:
        db.close()
    assert {p["id"] for p in doc["proteins"]} == {
        f"emdb:{VARIANTS}/protein/1",
        f"emdb:{BAD}/protein/1",
        f"emdb:{ODD}/protein/1",
    }
    assert len(doc["nucleic_acids"]) == 2 and len(doc["small_molecules"]) == 3
    (spike,) = [p for p in doc["proteins"] if p["id"] == f"emdb:{VARIANTS}/protein/1"]
    assert spike["molecular_weight_theoretical"] == {"numeric_value": 0.1412, "unit": "MDa"}
    (odd,) = [p for p in doc["proteins"] if p["id"] == f"emdb:{ODD}/protein/1"]
    assert {"attribute": {"id": "emdb:sequence", "label": "sequence"}, "value": "MK(MSE)LV"} in (
        odd["additional_properties"]
    )
    sample = next(s for s in doc["samples"] if s["id"] == f"emdb:{VARIANTS}/sample")
    assert sample["expression_system"].startswith("Homo sapiens (HEK293F)")
    report = validator.validate(doc, "Dataset")
    assert not report.results, "\n".join(r.message[:500] for r in report.results[:10])
