"""The way most scripts harvest these archives today, for comparison: one request at a time over
one connection, every record by its own GET, and the official EMDB client's pause between calls.

`python -m benchmarks.baseline BASE_URL DB_PATH` prints a JSON line of counts and requests."""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import sys
import time
from urllib.parse import urlsplit

EMDB_CLIENT_PAUSE = 0.45  # the official emdb-api-wrapper sleeps 0.4-0.5 s between calls


def main() -> None:
    base, db_path = sys.argv[1], sys.argv[2]
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    requests = 0

    def get(path: str) -> tuple[int, bytes]:
        nonlocal requests
        requests += 1
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()

    db = sqlite3.connect(db_path)
    db.execute("create table if not exists raw (source, accession, body)")
    _, listing = get("/empiar/world_availability/")
    ids = [f"EMPIAR-{n}" for n in re.findall(r'href="(\d+)/"', listing.decode())]
    maps: list[str] = []
    for acc in ids:
        status, body = get(f"/empiar/api/entry/{acc}/")
        if status == 200:
            entry = next(iter(json.loads(body).values()))
            maps += entry.get("cross_references") or []
            db.execute("insert into raw values ('empiar', ?, ?)", [acc, body])
    models: list[str] = []
    for emd in dict.fromkeys(maps):
        status, body = get(f"/emdb/api/entry/{emd}")
        time.sleep(EMDB_CLIENT_PAUSE)
        if status == 200:
            doc = json.loads(body)
            refs = (doc.get("crossreferences") or {}).get("pdb_list") or {}
            models += [r["pdb_id"].upper() for r in refs.get("pdb_reference") or []]
            db.execute("insert into raw values ('emdb', ?, ?)", [emd, body])
    for pdb in dict.fromkeys(models):
        status, body = get(f"/rcsb/rest/v1/core/entry/{pdb}")
        if status == 200:
            db.execute("insert into raw values ('pdb', ?, ?)", [pdb, body])
    db.commit()
    print(
        json.dumps(
            {
                "entries": len(ids),
                "maps": len(set(maps)),
                "models": len(set(models)),
                "requests": requests,
            }
        )
    )


if __name__ == "__main__":
    main()
