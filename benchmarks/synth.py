"""Scale the bundled sample archive to N synthetic EMPIAR entries, in the real file layout.

Fresh accessions (EMPIAR-5xxxx, EMD-5xxxxx, PDB ids 5Axx…), varied words drawn from a fixed
vocabulary, about 70% of entries linking one or two EMDB maps and PDB models on about half of the
maps. Deterministic for a given N and seed, so runs are comparable.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import string
from pathlib import Path

from empiar_mirror.harvester.replay import SAMPLE_DIR

PROTEINS = [
    "ribosome",
    "spike glycoprotein",
    "GPCR",
    "apoferritin",
    "proteasome",
    "ATP synthase",
    "nucleosome",
    "spliceosome",
    "ion channel",
    "transporter",
    "capsid",
    "polymerase",
    "helicase",
    "kinesin",
    "dynein",
    "integrin",
    "photosystem",
    "cytochrome oxidase",
    "nuclear pore complex",
    "microtubule",
    "actin filament",
    "insulin receptor",
    "TRPV1",
    "CRISPR-Cas9",
    "Hsp90",
    "chaperonin",
    "ferritin",
    "haemoglobin",
    "kinase",
    "protease",
]
ORGANISMS = [
    ("Homo sapiens", 9606),
    ("Mus musculus", 10090),
    ("Saccharomyces cerevisiae", 4932),
    ("Escherichia coli", 562),
    ("Arabidopsis thaliana", 3702),
    ("Drosophila melanogaster", 7227),
    ("Danio rerio", 7955),
    ("Chlamydomonas reinhardtii", 3055),
    ("Bos taurus", 9913),
    ("Thermus thermophilus", 274),
    ("Plasmodium falciparum", 5833),
    ("Xenopus laevis", 8355),
]
CONTEXTS = [
    "in lipid nanodiscs",
    "bound to an inhibitor",
    "in the apo state",
    "in situ",
    "in complex with",
    "at high resolution",
    "from FIB-milled lamellae",
    "in detergent micelles",
    "after ATP hydrolysis",
    "with a nanobody",
    "under tension",
    "in the closed conformation",
    "in the open conformation",
]
METHODS = [
    "Cryo-EM of",
    "Cryo-ET of",
    "Structure of",
    "Raw movies for",
    "Tomograms of",
    "Volume EM of",
    "Subtomogram averaging of",
]
MICROSCOPES = [
    "FEI TITAN KRIOS",
    "TFS KRIOS",
    "JEOL CRYO ARM 300",
    "FEI TALOS ARCTICA",
    "TFS GLACIOS",
]
DETECTORS = [
    "GATAN K3 BIOQUANTUM (6k x 4k)",
    "FEI FALCON IV (4k x 4k)",
    "GATAN K2 SUMMIT (4k x 4k)",
    "TFS FALCON 4i (4k x 4k)",
]


def _templates(folder: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((SAMPLE_DIR / folder).glob("*.json"))]


def pdb_id(n: int) -> str:
    letters = string.ascii_uppercase
    return f"5{letters[n // 26 // 26 % 26]}{letters[n // 26 % 26]}{letters[n % 26]}"


def generate(n: int, out: Path, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    entries = [next(iter(t.values())) for t in _templates("empiar")]
    maps = _templates("emdb")
    models = _templates("rcsb/entry")
    for sub in ("empiar", "emdb", "rcsb/entry"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    counts = {"empiar": 0, "emdb": 0, "pdb": 0}
    next_map, next_model = 500000, 0
    for i in range(n):
        acc = f"EMPIAR-{50000 + i}"
        entry = copy.deepcopy(rng.choice(entries))
        protein, (organism, taxon) = rng.choice(PROTEINS), rng.choice(ORGANISMS)
        entry["title"] = f"{rng.choice(METHODS)} {organism} {protein} {rng.choice(CONTEXTS)} #{i}"
        entry["entry_doi"] = f"10.6019/{acc}"
        year = rng.randint(2014, 2026)
        entry["deposition_date"] = f"{year}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        entry["release_date"] = entry["update_date"] = entry["deposition_date"]
        entry["dataset_size"] = f"{rng.uniform(0.5, 900):.1f} GB"
        for pi in entry.get("principal_investigator") or []:
            pi["entry"] = acc
        linked = []
        if rng.random() < 0.7:
            entry["experiment_type"] = "EMDB"
            for _ in range(rng.choice((1, 1, 2))):
                emd = f"EMD-{next_map}"
                next_map += 1
                linked.append(emd)
                doc = copy.deepcopy(rng.choice(maps))
                doc["emdb_id"] = emd
                doc["admin"]["title"] = f"{organism} {protein} {rng.choice(CONTEXTS)}"
                doc["sample"]["name"] = {"valueOf_": f"{protein} from {organism}"}
                sd = doc["structure_determination_list"]["structure_determination"]
                sd = sd[0] if isinstance(sd, list) else sd
                mic = sd["microscopy_list"]["microscopy"]
                mic = mic[0] if isinstance(mic, list) else mic
                mic["microscope"] = rng.choice(MICROSCOPES)
                rec = mic["image_recording_list"]["image_recording"]
                rec = rec[0] if isinstance(rec, list) else rec
                rec["film_or_detector_model"] = {"valueOf_": rng.choice(DETECTORS)}
                for supra in doc["sample"].get("supramolecule_list", {}).get("supramolecule", []):
                    supra["natural_source"] = [{"organism": {"ncbi": taxon, "valueOf_": organism}}]
                refs = []
                if rng.random() < 0.5:
                    model_id = pdb_id(next_model)
                    next_model += 1
                    refs.append(
                        {"pdb_id": model_id.lower(), "relationship": {"in_frame": "FULLOVERLAP"}}
                    )
                    model = copy.deepcopy(rng.choice(models))
                    model["rcsb_id"] = model_id
                    model.setdefault("entry", {})["id"] = model_id
                    model["struct"] = {"title": f"{protein} from {organism}, model #{next_model}"}
                    model["rcsb_entry_container_identifiers"] = {
                        "entry_id": model_id,
                        "emdb_ids": [emd],
                    }
                    model["pdbx_database_related"] = [
                        {"db_name": "EMDB", "db_id": emd, "content_type": "associated EM volume"}
                    ]
                    (out / "rcsb/entry" / f"{model_id}.json").write_text(json.dumps(model))
                    counts["pdb"] += 1
                doc.setdefault("crossreferences", {})["pdb_list"] = {"pdb_reference": refs}
                (out / "emdb" / f"{emd}.json").write_text(json.dumps(doc))
                counts["emdb"] += 1
        elif entry["experiment_type"] == "EMDB":
            entry["experiment_type"] = rng.choice(["SBF-SEM", "FIB-SEM", "ssET", "MicroED"])
        entry["cross_references"] = linked
        entry.pop("related_pdb_entries", None)
        (out / "empiar" / f"{acc}.json").write_text(json.dumps({acc: entry}))
        counts["empiar"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    print(json.dumps(generate(args.n, args.out)))


if __name__ == "__main__":
    main()
