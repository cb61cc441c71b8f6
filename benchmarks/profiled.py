"""Profile one harvest in this process, both of its threads (the event loop's and the writer's)
under cProfile, and print where the CPU went, grouped by the harvest's steps.

`python -m benchmarks.profiled BASE_URL DB_PATH [harvest options] [--out FILE.prof]`
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time

from empiar_mirror.harvester import engine

# A step of the harvest -> the functions whose cumulative time it is (file suffix, name).
STEPS = {
    "HTTP (aiohttp, JSON decoding)": [("harvester/http.py", "request")],
    "JSON decoding of answers": [("harvester/http.py", "parse_json")],
    "raw layer (parse, validate)": [
        ("harvester/raw/empiar.py", "parse_entry"),
        ("harvester/raw/emdb.py", "parse_emdb"),
        ("harvester/raw/rcsb.py", "parse_rcsb"),
        ("harvester/raw/rcsb.py", "canonical_entry"),
    ],
    "mapping to lambda-ber": [
        ("harvester/mapping/from_empiar.py", "map_entry"),
        ("harvester/mapping/from_emdb.py", "map_emdb"),
        ("harvester/mapping/from_rcsb.py", "map_rcsb"),
    ],
    "canonical payload text": [("index/versions.py", "canonical")],
    "what changed (mapping the previous version again)": [("harvester/keep.py", "changed_parts")],
    "rows from records": [("index/lambda_ber/models.py", "rows")],
    "writing a record (SQL, shared rows, front door)": [("index/store/records.py", "write_record")],
    "of which shared rows": [("index/shared.py", "contribute")],
    "of which front door": [("index/front_doors.py", "write_own")],
    "a record's savepoint": [("sqlite_utils/db.py", "atomic")],
    "group commits": [("sqlite_utils/db.py", "commit")],
    "front-door refresh at the end": [("index/front_doors.py", "refresh")],
}


def main() -> None:
    args = sys.argv[1:]
    out = None
    if "--out" in args:
        i = args.index("--out")
        out = args[i + 1]
        del args[i : i + 2]
    url, db, *options = args
    os.environ.update(
        {
            "EMPIAR_MIRROR_EMPIAR_API": f"{url}/empiar/api",
            "EMPIAR_MIRROR_EMPIAR_FILES": f"{url}/empiar/world_availability",
            "EMPIAR_MIRROR_EBI_SEARCH": f"{url}/ebisearch/ws/rest",
            "EMPIAR_MIRROR_EMDB_API": f"{url}/emdb/api",
            "EMPIAR_MIRROR_RCSB_API": f"{url}/rcsb",
            "EMPIAR_MIRROR_EMDB_FILES": f"{url}/pub/databases/emdb",
            "EMPIAR_MIRROR_WWPDB_FILES": f"{url}/pub/pdb",
        }
    )
    main_profile, writer_profile = cProfile.Profile(), cProfile.Profile()
    opened = engine.DatabaseThread.__init__

    def profiled_init(self, connect, **group):
        opened(self, connect, **group)
        # cProfile follows the thread that enables it: enable it on the writer's own thread.
        self._pool.submit(writer_profile.enable).result()

    engine.DatabaseThread.__init__ = profiled_init
    from empiar_mirror.harvester.cli import cli

    started, cpu = time.monotonic(), time.process_time()
    main_profile.enable()
    try:
        cli(["harvest", db, "--json", "--quiet", *options])
    except SystemExit:  # the harvest's exit status; the profile is what we are after
        pass
    finally:
        main_profile.disable()
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    stats = pstats.Stats(main_profile)
    stats.add(writer_profile)
    if out:
        stats.dump_stats(out)
    print(f"wall {wall:.1f} s, CPU {cpu:.1f} s (profiled, so slower than unprofiled)")
    by_function = stats.stats  # (file, line, name) -> (calls, primitive, own, cumulative, callers)
    for step, wanted in STEPS.items():
        total = sum(
            cumulative
            for (path, _, name), (_, _, _, cumulative, _) in by_function.items()
            if any(path.endswith(f) and name == n for f, n in wanted)
        )
        print(f"{total:8.2f} s  {total / cpu:6.1%}  {step}")
    print()
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
