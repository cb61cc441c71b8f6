"""What a database holds and how fresh it is, for `empiar-mirror status`."""

from __future__ import annotations

import datetime as dt
from importlib import metadata
from typing import Any

from sqlite_utils import Database

from empiar_mirror.index import migrations
from empiar_mirror.index.archives import ARCHIVES, NOT_PUBLIC

RECENT_RUNS = 5
OPEN_ERRORS_SHOWN = 10
# `status --check` answers as a monitoring plugin does (Nagios, Icinga, and the checks that
# follow them): one line, and the exit status says how bad.
OK, WARNING, CRITICAL = 0, 1, 2
CHECK_WORDS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL"}


def collect(db: Database) -> dict[str, Any]:
    """Counts per source and status, the last runs, staleness and the last run's errors."""

    def rows(sql: str, params: list | None = None) -> list[dict[str, Any]]:
        cursor = db.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    runs = rows(
        "select id, started_at, finished_at, mode, listed, fetched, new, updated, unchanged, "
        "not_public, failed, retries, exit_status from harvest_runs order by id desc limit ?",
        [RECENT_RUNS],
    )
    oldest = db.execute(
        "select min(fetched_at) from source_record where sha256 is not null"
    ).fetchone()[0]
    stale_days = None
    if oldest:
        fetched = dt.datetime.fromisoformat(oldest.replace("Z", "+00:00"))
        stale_days = round((dt.datetime.now(dt.UTC) - fetched).total_seconds() / 86400, 2)
    last_run = runs[0]["id"] if runs else None
    return {
        # This program's version, the one reading the file.
        "version": metadata.version("empiar-mirror"),
        "schema_version": migrations.schema_version(db),
        "records": rows(
            "select source, status, count(*) as count from ("
            + " union all ".join(
                f"select '{a.key}' as source, status from [{a.front_door}] union all "
                # A record answered 404 before its archive ever served it has no row.
                f"select '{a.key}', '{NOT_PUBLIC}' from source_record where source = '{a.key}' "
                f"and sha256 is null and http_status in (404, 410) and accession not in "
                f"(select [{a.key_column}] from [{a.front_door}])"
                for a in ARCHIVES.values()
            )
            + ") group by 1, 2 order by 1, 2"
        ),
        **{
            a.front_door: db.execute(f"select count(*) from [{a.front_door}]").fetchone()[0]
            for a in ARCHIVES.values()
        },
        "last_harvest": runs[0]["finished_at"] if runs else None,
        "oldest_fetch": oldest,
        "oldest_fetch_age_days": stale_days,
        "runs": runs,
        "errors": rows(
            "select source, service, accession, kind, http_status, message from harvest_errors "
            "where run_id = ? order by id limit ?",
            [last_run, OPEN_ERRORS_SHOWN],
        ),
        "error_count": db.execute(
            "select count(*) from harvest_errors where run_id = ?", [last_run]
        ).fetchone()[0],
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        f"empiar-mirror {report['version']}, schema version {report['schema_version']}",
        *(f"{a.records}: {report[a.front_door]}" for a in ARCHIVES.values()),
        f"Last harvest finished: {report['last_harvest'] or 'never'}",
        f"Oldest fetch: {report['oldest_fetch'] or '-'}"
        + (f" ({report['oldest_fetch_age_days']} days ago)" if report["oldest_fetch"] else ""),
        "",
        "Records by source and status:",
    ]
    lines += [
        f"  {r['source']:8} {r['status'] or '(none)':12} {r['count']}" for r in report["records"]
    ] or ["  (none)"]
    lines += ["", "Recent runs:"]
    for run in report["runs"]:
        lines.append(
            "  #{id} {mode:11} started {started_at} finished {fin}: {listed} listed, {fetched} "
            "fetched, {new} new, {updated} updated, {failed} failed, exit {exit}".format(
                **{k: (v if v is not None else "-") for k, v in run.items()},
                fin=run["finished_at"] or "(did not finish)",
                exit=run["exit_status"] if run["exit_status"] is not None else "-",
            )
        )
    if not report["runs"]:
        lines.append("  (none)")
    lines += ["", f"Errors in the last run: {report['error_count']}"]
    lines += [
        f"  {e['source'] or e['service']} {e['accession'] or ''} {e['kind']}"
        + (f" HTTP {e['http_status']}" if e["http_status"] else "")
        + f": {e['message']}"
        for e in report["errors"]
    ]
    return "\n".join(lines)


def health(
    report: dict[str, Any], now: dt.datetime, max_age_hours: float, harvesting: bool
) -> tuple[int, str]:
    """How the harvests are doing, for a scheduled check: CRITICAL when none ever finished, the
    last one did not finish (killed, or stopped by a full disk) or the last finished is older
    than `max_age_hours`; WARNING when it finished with failures; else OK. A run still under way
    (`harvesting`: it holds the lock) is judged by the one before it."""
    runs = report["runs"]
    if runs and runs[0]["finished_at"] is None and not harvesting:
        last = runs[0]
        why = f" with exit status {last['exit_status']}" if last["exit_status"] else ""
        return CRITICAL, f"run {last['id']} (started {last['started_at']}) did not finish{why}"
    finished = [r for r in runs if r["finished_at"]]
    if not finished:
        return (
            (OK, "the first harvest is under way")
            if harvesting
            else (
                CRITICAL,
                "never harvested",
            )
        )
    last = finished[0]
    ended = dt.datetime.fromisoformat(last["finished_at"].replace("Z", "+00:00"))
    hours = (now - ended).total_seconds() / 3600
    if hours > max_age_hours:
        return CRITICAL, (
            f"the last harvest (run {last['id']}) finished {hours:.0f} hours ago, "
            f"more than {max_age_hours:g}"
        )
    if last["exit_status"]:
        return WARNING, (
            f"run {last['id']} finished at {last['finished_at']} with errors "
            f"({last['failed'] or 0} failed records, exit status {last['exit_status']}); "
            "`empiar-mirror status` lists them"
        )
    return OK, (
        f"run {last['id']} finished at {last['finished_at']}: {last['fetched'] or 0} fetched, "
        f"{last['new'] or 0} new, {last['updated'] or 0} updated"
    )
