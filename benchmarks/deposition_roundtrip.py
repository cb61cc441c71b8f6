"""The deposition round trip over a synthetic archive: harvest it over loopback, then for every
entry `export --extensions` and `deposition`, and report the fraction valid and what the invalid
ones lack, field by field.

`python -m benchmarks.deposition_roundtrip [--entries 300]`
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.synth import generate
from empiar_mirror.harvester.pipeline import HarvestOptions, harvest
from empiar_mirror.harvester.replay import ReplayServer
from empiar_mirror.index import store
from empiar_mirror.index.deposition import document, schema
from empiar_mirror.index.export import entry_accessions, export_dataset


def roundtrip(entries: int) -> tuple[int, int, Counter]:
    """(entries, valid depositions, problem count by field path without indices)."""
    with tempfile.TemporaryDirectory() as work:
        root, db_path = Path(work) / "archive", Path(work) / "synthetic.db"
        generate(entries, root)
        store.open_database(db_path).close()
        with ReplayServer([root]) as server:
            asyncio.run(harvest(db_path, server.endpoints(), HarvestOptions(rate=0, retries=1)))
        db = store.open_readonly(db_path)
        try:
            accessions = entry_accessions(db)
            valid, lacking = 0, Counter()
            for accession in accessions:
                dataset = export_dataset(db, accession, extensions=True)
                problems = schema.problems(document.deposition_from_dataset(dataset))
                valid += not problems
                for line in problems:
                    path = line.split(":", 1)[0]
                    lacking["".join(c for c in path if not c.isdigit()).replace("[]", "[*]")] += 1
        finally:
            db.close()
    return len(accessions), valid, lacking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=300)
    args = parser.parse_args()
    total, valid, lacking = roundtrip(args.entries)
    print(f"{valid}/{total} valid ({valid / max(total, 1):.0%})")
    for path, n in lacking.most_common():
        print(f"  {n:6d}  {path}")


if __name__ == "__main__":
    main()
