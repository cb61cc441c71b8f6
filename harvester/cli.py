"""The `empiar-mirror` command: parse options, call the library, map errors to exit codes."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click

from empiar_mirror.harvester import __version__
from empiar_mirror.harvester.endpoints import Endpoints
from empiar_mirror.index import status as status_report
from empiar_mirror.index import store, validation
from empiar_mirror.index.archives import ARCHIVES

# Commands that only read the file (serve, status, export) import nothing of the harvester's
# network stack: the harvesting commands import it when they run.

EXIT_USAGE = 2
EXIT_LOCKED = 3
# The disk holding the database filled up: what was committed before is kept.
EXIT_DISK_FULL = 4
# The file trees' counts in the summary: trees listed, directories and files read, failures.
FILES_PHASE = "empiar_files"
FILES_COUNTS = ("entries", "directories", "files", "failed")
# A map's figures are fetched, then new, updated or unchanged, or failed.
FIGURES_COUNTS = ("fetched", "new", "updated", "unchanged", "failed")
SUMMARY_COUNTS = (
    "fetched",
    "not_modified",
    "new",
    "updated",
    "unchanged",
    "withdrawn",
    "not_public",
    "failed",
)


class Problem(click.ClickException):
    """An expected failure: one line on stderr, no traceback."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"empiar-mirror: error: {self.format_message()}", err=True)


class Group(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Click's own usage errors print several lines; scripts want one.
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            click.echo("empiar-mirror: aborted", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if isinstance(exc, Problem):
                exc.show()
            else:
                click.echo(f"empiar-mirror: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except store.DatabaseError as exc:
            problem = _database_problem(exc)
            problem.show()
            sys.exit(problem.exit_code)
        except sqlite3.Error as exc:
            problem = _sqlite_problem(exc)
            if problem is None:
                raise
            problem.show()
            sys.exit(problem.exit_code)
        except OSError as exc:
            # Standard output refused what we wrote (a full disk, /dev/full): every other write
            # names its file, and says so itself.
            if exc.errno not in _FULL_ERRNOS or exc.filename is not None:
                raise
            # Said once: the interpreter's last flush of the same output must not say it again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            Problem(f"cannot write the output: {exc.strerror}").show()
            sys.exit(EXIT_USAGE)


_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _sqlite_problem(exc: sqlite3.Error) -> Problem | None:
    """The one line for an SQLite failure that is the file's or its disk's doing; None for any
    other, a bug, which keeps its traceback."""
    name = store.errorname(exc)
    if name == "SQLITE_FULL":
        return DiskFull(
            f"the disk is full ({exc}): what was committed before is kept; free some space and "
            "run again"
        )
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return Problem(f"the database is damaged ({exc}): restore it from a copy")
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return LockHeld(f"another program holds the database locked ({exc}); try again later")
    if name in ("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM"):
        return Problem(f"cannot use the database file: {exc}")
    return None


def _database_problem(exc: store.DatabaseError) -> Problem:
    full = store.errorname(exc.__cause__) == "SQLITE_FULL"
    return (DiskFull if full else Problem)(str(exc))


def _endpoint_options(func):
    for name, env in reversed(Endpoints.env_vars().items()):
        default = getattr(Endpoints, name)
        func = click.option(
            f"--{name.replace('_', '-')}",
            name,
            envvar=env,
            default=default,
            show_default=True,
            help=f"Base URL (env {env}).",
        )(func)
    return func


def _finite(param: click.Parameter, value: float) -> float:
    if value != value:
        raise click.BadParameter("must be a number", param=param)
    return value


def _endpoints(**urls: str) -> Endpoints:
    try:
        return Endpoints(**urls)
    except ValueError as exc:
        raise Problem(str(exc)) from None


class LockHeld(Problem):
    exit_code = EXIT_LOCKED


class DiskFull(Problem):
    exit_code = EXIT_DISK_FULL


def _lock(path: str, *, create: bool) -> int:
    """Check the path and take its harvest lock, held while the returned descriptor is open."""
    try:
        store.check_writable(path, create=create)
        return store.lock(path)
    except store.DatabaseError as exc:
        raise _database_problem(exc) from None
    except store.Locked as exc:
        raise LockHeld(str(exc)) from None


def _open(path: str, *, create: bool):
    """Check, lock (until the command ends) and open the database for writing."""
    fd = _lock(path, create=create)
    # A process exits when its command ends; a command called in-process (as the tests call it)
    # must still give the lock back, or the next command on that file finds it held.
    click.get_current_context().call_on_close(lambda: os.close(fd))
    try:
        return store.open_database(path, create=create)
    except store.DatabaseError as exc:
        raise _database_problem(exc) from None


def _open_current(path: str):
    """Open read-only a file whose tables this version reads: not newer, not awaiting a reindex."""
    from empiar_mirror.index import migrations

    try:
        db = store.open_readonly(path)
    except store.DatabaseError as exc:
        raise Problem(str(exc)) from None
    if migrations.unknown_migrations(db):
        db.close()
        raise Problem(f"{path} was written by a newer empiar-mirror; upgrade")
    if migrations.pending(db):
        db.close()
        raise Problem(
            f"{path} was written by an older empiar-mirror; "
            f"run `empiar-mirror reindex {path}` first"
        )
    return db


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR
        if quiet
        else logging.DEBUG
        if verbose > 1
        else (logging.INFO if verbose else logging.WARNING)
    )
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="empiar-mirror")
def cli() -> None:
    """Mirror EMPIAR (with its EMDB maps and PDB models) into one SQLite file."""


@cli.command(name="harvest")
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.option(
    "--ids", help="Only these entries: a comma list with ranges, e.g. EMPIAR-10002,10100-10120."
)
@click.option("--limit", type=click.IntRange(min=0), help="Fetch at most N entries.")
@click.option(
    "--full",
    is_flag=True,
    help="Fetch every record again, unconditionally (default: only new, changed, failed or due).",
)
@click.option(
    "--refresh-days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Fetch every record again at least this often, spread evenly over the runs.",
)
@click.option(
    "--linked/--no-linked",
    default=True,
    help="Also fetch the EMDB maps and PDB models the entries link to (default: yes).",
)
@click.option(
    "--emdb",
    type=click.Choice(["linked", "all"]),
    default="linked",
    show_default=True,
    help="EMDB maps to mirror: those EMPIAR entries name, or every released map and every "
    "model fitted into one (enumerated with EMDB's weekly holdings file; about 60,000 maps).",
)
@click.option(
    "--batch/--no-batch",
    default=True,
    help="Fetch EMDB and PDB records many per request (default); --no-batch: one request each.",
)
@click.option(
    "--files/--no-files",
    default=True,
    help="Also list every entry's files on the file server, where changed (default: yes).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    help="Requests in flight per host (default: per-host politeness defaults).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    help="Requests per second per host; 0 for no limit (default: per-host politeness defaults).",
)
@click.option(
    "--timeout",
    # Within the HTTP layer's overall deadline per request (120 s); NaN passes a range check.
    type=click.FloatRange(min=0.1, max=120.0),
    callback=lambda ctx, param, value: _finite(param, value),
    default=15.0,
    show_default=True,
    help="Seconds to wait for a connection or the next bytes of an answer (each request "
    "also ends after 120 s in all).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=20),
    default=4,
    show_default=True,
    help="Retries per request after a transient failure.",
)
@click.option(
    "--backoff",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds before the first retry; each further retry waits about twice as long (max 60).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar (default: when stderr is a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a one-line JSON summary at the end.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("-v", "--verbose", count=True, help="More logging; twice for debug.")
@_endpoint_options
def harvest_command(
    db_path,
    ids,
    limit,
    full,
    refresh_days,
    linked,
    emdb,
    batch,
    files,
    concurrency,
    rate,
    timeout,
    retries,
    backoff,
    progress,
    as_json,
    quiet,
    verbose,
    **urls,
):
    """Harvest EMPIAR into DB_PATH (created if missing)."""
    from empiar_mirror.harvester.pipeline import HarvestOptions, harvest
    from empiar_mirror.harvester.sources.empiar import parse_ids

    _setup_logging(verbose, quiet)
    endpoints = _endpoints(**urls)
    try:
        id_list = parse_ids(ids) if ids else None
    except ValueError as exc:
        raise Problem(f"--ids: {exc}") from None
    if emdb == "all" and (ids or not linked):
        raise Problem(
            f"--emdb all mirrors every EMDB map: not with {'--ids' if ids else '--no-linked'}"
        )
    options = HarvestOptions(
        ids=id_list,
        limit=limit,
        full=full,
        refresh_days=refresh_days,
        linked=linked,
        emdb=emdb,
        batch=batch,
        files=files,
        concurrency=concurrency,
        rate=rate,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
    )
    db = _open(db_path, create=True)
    # The run this harvest starts comes after these, should a full disk stop it.
    runs_before = store.last_run_id(db)
    db.close()
    run_options = {
        "ids": ids,
        "limit": limit,
        "full": full,
        "refresh_days": refresh_days,
        "linked": linked,
        "emdb": emdb,
        "batch": batch,
        "files": files,
        "concurrency": concurrency,
        "rate": rate,
        "timeout": timeout,
        "retries": retries,
        "backoff": backoff,
        **endpoints.public(),
    }
    show_bar = sys.stderr.isatty() if progress is None else progress
    bar = None
    try:
        if show_bar and not quiet:
            bar = click.progressbar(length=1, label="Harvesting", file=sys.stderr)
            bar.__enter__()

        counts: Counter[str] = Counter()

        def on_progress(done: int, total: int, phase: str) -> None:
            if phase == FILES_PHASE:  # directories and files listed so far: no total known
                bar.label = f"Listing files ({done} directories, {total} files)"
                bar.render_progress()
                return
            counts[phase] += 1
            # The archive being fetched, and the records done so far per archive.
            done_per_archive = ", ".join(f"{a.name} {counts[k]}" for k, a in ARCHIVES.items())
            name = ARCHIVES[phase].name if phase in ARCHIVES else "EMDB validation figures"
            bar.label = f"Harvesting {name} ({done_per_archive})"
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        result = asyncio.run(
            harvest(
                db_path,
                endpoints,
                options,
                run_options=run_options,
                progress=on_progress if bar else None,
            )
        )
    except sqlite3.OperationalError as exc:
        if store.errorname(exc) == "SQLITE_FULL":
            store.mark_stopped_runs(db_path, runs_before, EXIT_DISK_FULL)
        raise
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    summary: dict[str, Any] = {
        "run_id": result.run_id,
        "requests": result.requests,
        "retries": result.retries,
        "exit_status": result.exit_status,
    }
    # Beside the counts every source has: what the listings (EMPIAR) and EMDB's holdings file
    # (--emdb all) held.
    extra = {"empiar": ("listed",)}
    if emdb == "all":
        extra["emdb"] = ("in_holdings", "gone_from_holdings")
    for source in ARCHIVES:
        kinds = extra.get(source, ()) + SUMMARY_COUNTS
        summary[source] = {k: result.counts[source][k] for k in kinds}
    summary["files"] = {k: result.counts[FILES_PHASE][k] for k in FILES_COUNTS}
    summary[validation.SOURCE] = {k: result.counts[validation.SOURCE][k] for k in FIGURES_COUNTS}
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
    elif not quiet:
        parts = [
            f"{label} " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary[s].items())
            for s, label in ((key, a.name) for key, a in ARCHIVES.items())
        ]
        figures = summary[validation.SOURCE]
        if any(figures.values()):
            parts.append(
                "EMDB validation figures "
                + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in figures.items())
            )
        if files:
            parts.append("files " + ", ".join(f"{v} {k}" for k, v in summary["files"].items()))
        click.echo(f"Harvest {result.run_id}: " + "; ".join(parts), err=True)
    sys.exit(result.exit_status)


def _listen(host: str, port: int):
    """The server's socket, claimed before anything is printed or harvested."""
    from empiar_mirror.index.serve import listen

    try:
        return listen(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise Problem(f"port {port} on {host} is taken; choose another with --port") from None
        raise Problem(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _url(host: str, sock) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{sock.getsockname()[1]}/"


def _check_readable(path: str) -> None:
    try:
        store.open_readonly(path).close()
    except store.DatabaseError as exc:
        raise Problem(str(exc)) from None


@cli.command()
@click.argument("db_paths", metavar="[DB_PATH]...", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "-i",
    "--immutable",
    "immutables",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Serve this file immutable: a snapshot (see `snapshot`), which can also be downloaded "
    "whole. Repeatable.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option(
    "--metadata",
    type=click.Path(exists=True, dir_okay=False),
    help="A Datasette metadata file, merged over the bundled one.",
)
@click.option("--cors", is_flag=True, help="Send CORS headers, for pages on other sites.")
@click.option(
    "--setting",
    "settings",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="A Datasette setting over ours, e.g. --setting sql_time_limit_ms 10000. Repeatable.",
)
@click.option(
    "--crossdb",
    is_flag=True,
    help="Allow SQL across the files: each is attached, under its name, to the _memory database.",
)
def serve(db_paths, immutables, host, port, metadata, cors, settings, crossdb):
    """Serve database files read-only with Datasette: a live DB_PATH to browse (a harvest may
    write to it meanwhile), or -i FILE, a snapshot, to browse and download."""
    from datasette.app import DEFAULT_SETTINGS
    from datasette.cli import Setting

    from empiar_mirror.index.serve import load_metadata, make_datasette
    from empiar_mirror.index.serve import serve as run_server

    if not db_paths and not immutables:
        raise Problem("serve: name a database file: DB_PATH, or -i FILE for a snapshot")
    for path in (*db_paths, *immutables):
        _check_readable(path)
    for name, _ in settings:
        if name not in DEFAULT_SETTINGS:
            raise Problem(
                f"--setting: {name} is not a Datasette setting "
                "(`datasette serve --help-settings` lists them)"
            )
    try:
        chosen = dict(Setting().convert(pair, None, None) for pair in settings)
    except click.BadParameter as exc:
        raise Problem(f"--setting: {exc.message}") from None
    try:
        extra_metadata = load_metadata(metadata) if metadata else None
    except ValueError as exc:
        raise Problem(f"--metadata: {exc}") from None
    datasette = make_datasette(
        db_paths,
        extra_metadata,
        immutables=immutables,
        cors=cors,
        settings=chosen,
        crossdb=crossdb,
    )
    sock = _listen(host, port)
    click.echo(f"Serving {', '.join((*db_paths, *immutables))} at {_url(host, sock)}", err=True)
    run_server(datasette, sock)


@cli.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.argument("out_path", metavar="OUT.db", type=click.Path(dir_okay=False))
@click.option(
    "--keep-contacts",
    is_flag=True,
    help="Keep depositors' e-mail addresses and the raw records (with postal addresses, "
    "telephone and fax numbers) in the copy; by default it holds only what the portal shows.",
)
def snapshot(db_path, out_path, keep_contacts):
    """Copy DB_PATH to OUT.db: compact, consistent and read-only, for `serve -i` (browse and
    download) or `datasette publish`, without personal contact details unless asked. Only
    reads, so it may run while a harvest writes."""
    from empiar_mirror.index.serve import snapshot as copy

    _check_readable(db_path)
    try:
        out = store.check_path(out_path, must_exist=False)
    except store.DatabaseError as exc:
        raise Problem(str(exc)) from None
    if out.exists() and out.samefile(db_path):
        raise Problem(f"{out_path} is the file to copy; name another")
    try:
        copy(db_path, out, keep_contacts=keep_contacts)
    except sqlite3.Error as exc:
        raise Problem(f"cannot copy {db_path}: {exc}") from None
    except OSError as exc:
        raise Problem(f"cannot write {out_path}: {exc.strerror}") from None
    click.echo(f"Wrote {out_path}: serve it with `empiar-mirror serve -i {out_path}`", err=True)


@cli.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--check",
    is_flag=True,
    help="One line for a monitoring check, and its exit status: 0 OK, 1 WARNING (the last run "
    "had failures), 2 CRITICAL (no harvest finished, the last did not finish, or it is too old).",
)
@click.option(
    "--max-age-hours",
    type=click.FloatRange(min=0),
    default=48,
    show_default=True,
    help="With --check: how long ago the last harvest may have finished.",
)
def status(db_path, as_json, check, max_age_hours):
    """What DB_PATH holds and when it was harvested."""
    import datetime as dt

    try:
        db = store.open_readonly(db_path)
    except store.DatabaseError as exc:
        raise Problem(str(exc)) from None
    report = status_report.collect(db)
    db.close()
    if check:
        code, line = status_report.health(
            report, dt.datetime.now(dt.UTC), max_age_hours, store.is_locked(db_path)
        )
        click.echo(f"{status_report.CHECK_WORDS[code]}: {line}")
        sys.exit(code)
    click.echo(json.dumps(report, indent=2) if as_json else status_report.render(report))


def _day(param: click.Parameter, value: str | None) -> str | None:
    """An ISO date (or date and time): the form the file's times are compared in."""
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise click.BadParameter(f"not a date like 2026-11-01: {value!r}", param=param) from None


@cli.command()
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.option("--since", callback=lambda ctx, param, v: _day(param, v), help="From this date on.")
@click.option("--source", type=click.Choice(sorted(ARCHIVES)), help="One archive's records.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def changes(db_path, since, source, limit, as_json):
    """What changed in DB_PATH, newest first: new, updated, obsoleted and withdrawn records,
    each with the parts that changed."""
    from empiar_mirror.index import history

    db = _open_current(db_path)
    try:
        found = history.changes(db.conn, since=since, source=source, limit=limit)
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    for item in found:
        click.echo(f"{item['changed_at']}  {history.summary(item)}  {item['title'] or ''}")


@cli.command(name="files")
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.argument("accession", required=False)
@click.option(
    "--query",
    "sql",
    help="SQL whose first column names the entries (e.g. select accession from empiar_entries "
    "where reprocessable).",
)
@click.option("--role", "roles", multiple=True, help="Only files of this role; repeatable.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["tsv", "urls", "aria2", "wget", "globus"]),
    default="tsv",
    show_default=True,
    help="tsv (path, size, role, URL), urls, an aria2c input file, a wget script, Globus batch "
    "lines.",
)
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here (stdout).")
def files_command(db_path, accession, sql, roles, fmt, output):
    """The files of ACCESSION (or of the entries --query names) as a download list."""
    from empiar_mirror.harvester.mapping.file_roles import ROLES
    from empiar_mirror.harvester.sources.empiar import accession as parse_accession
    from empiar_mirror.index import downloads

    if bool(accession) == bool(sql):
        raise Problem("give one ACCESSION or --query, not both and not neither")
    for role in roles:
        if role not in ROLES:
            raise Problem(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    db = _open_current(db_path)
    try:
        if accession:
            try:
                wanted = [parse_accession(accession)]
            except ValueError as exc:
                raise Problem(str(exc)) from None
        else:
            try:
                found = [r[0] for r in db.execute(sql)]
            except sqlite3.Error as exc:
                raise Problem(f"--query: {exc}") from None
            wanted = []
            for value in found:
                try:
                    wanted.append(parse_accession(str(value)))
                except ValueError:
                    raise Problem(f"--query: not an EMPIAR accession: {value!r}") from None
        held = dict(
            db.execute(
                "select accession, files_listed_at from empiar_entries "
                "where accession in (select value from json_each(?))",
                [json.dumps(wanted)],
            ).fetchall()
        )
        if accession and wanted[0] not in held:
            raise Problem(f"{wanted[0]} is not in {db_path}")
        for acc in wanted:
            if acc in held and held[acc] is None:
                click.echo(f"empiar-mirror: {acc}: its files have not been listed yet", err=True)
        refused = 0

        def safe(files):
            nonlocal refused
            for file in files:
                why = downloads.unsafe(file.path)
                if why is None:
                    yield file
                    continue
                refused += 1
                click.echo(
                    f"empiar-mirror: {file.accession}: refused {file.path[:200]!r}: {why}",
                    err=True,
                )

        selected = downloads.select(db.conn, [a for a in wanted if a in held], list(roles))
        for line in downloads.lines(safe(selected), fmt):
            output.write(line + "\n")
    finally:
        db.close()
    sys.exit(1 if refused else 0)


@cli.command(name="reindex")
@click.argument("db_path", type=click.Path(dir_okay=False))
def reindex_command(db_path):
    """Rebuild every table from the raw records stored in DB_PATH; no network."""
    from empiar_mirror.harvester.pipeline import EXIT_SOME_FAILED, reindex

    try:
        store.check_writable(db_path, create=False)
        store.open_readonly(db_path).close()
    except store.DatabaseError as exc:
        raise Problem(str(exc)) from None
    db = _open(db_path, create=False)
    try:
        counts, failures = reindex(db)
    finally:
        db.close()
    click.echo(
        "Rebuilt the tables from the stored records: "
        + ", ".join(f"{n} {source}" for source, n in sorted(counts.items())),
        err=True,
    )
    for failure in failures:
        click.echo(
            f"empiar-mirror: cannot map {failure.source} {failure.accession}: {failure.message}",
            err=True,
        )
    sys.exit(EXIT_SOME_FAILED if failures else 0)


@cli.command(name="export")
@click.argument("db_path", type=click.Path(dir_okay=False))
@click.argument("accession", required=False)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every EMPIAR entry: one file each (ACCESSION.yaml or .json) in the -o directory, or "
    "JSON Lines on standard output.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json", "parquet", "rocrate"]),
    help="Output format (default: yaml; --all on standard output writes JSON Lines). "
    "parquet: every public table into the -o directory, for DuckDB, Polars or Spark. rocrate: "
    "a detached LAMBDA RO-Crate per EMPIAR entry; without ACCESSION, every entry.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Write to this file (with --all: into this directory) instead of standard output.",
)
@click.option(
    "--extensions",
    is_flag=True,
    help="Keep our x_ slots (EMPIAR's imageset values verbatim), as `deposition` needs; the "
    "document then no longer validates against lambda-ber's closed classes.",
)
def export_command(db_path, accession, every, fmt, output, extensions):
    """A record as a lambda-ber Dataset document: an EMPIAR entry with its linked maps and
    models, or an EMDB map or PDB model (EMD-25107, 7SGD) on its own."""
    from empiar_mirror.index.export import dump, entry_accessions, export_dataset

    if fmt == "parquet":
        _export_parquet(db_path, accession, every, output)
        return
    if fmt == "rocrate":
        if every and accession is not None:
            raise Problem("name one ACCESSION, or --all")
        if extensions:
            raise Problem("--extensions applies to the yaml and json documents, not to crates")
        _export_crates(db_path, accession, output)
        return
    if every == (accession is not None):
        raise Problem("name one ACCESSION, or --all")
    if every and output is None and fmt == "yaml":
        raise Problem("--all on standard output writes JSON Lines; use -o DIR for YAML files")
    fmt = fmt or "yaml"
    db = _open_current(db_path)
    try:
        if every:
            _export_all(db, entry_accessions(db), fmt, output, extensions)
            return
        document = export_dataset(db, accession, extensions=extensions)
    except LookupError as exc:
        raise Problem(str(exc)) from None
    finally:
        db.close()
    text = dump(document, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        _write_whole(Path(output), text)
    except OSError as exc:
        raise Problem(f"cannot write {output}: {exc.strerror}") from None


def _export_parquet(db_path: str, accession: str | None, every: bool, output: str | None) -> None:
    """Every public table as Parquet into the directory `output`."""
    if accession is not None or every:
        raise Problem("--format parquet writes every table: name no ACCESSION and no --all")
    if output is None:
        raise Problem("--format parquet writes a directory: name it with -o DIR")
    directory = Path(output)
    if directory.exists() and not directory.is_dir():
        raise Problem(f"{output} is not a directory")
    try:
        from empiar_mirror.index import parquet
    except ModuleNotFoundError as exc:
        if exc.name != "pyarrow":
            raise
        raise Problem(
            "the Parquet export needs the optional extra: pip install 'empiar-mirror[parquet]'"
        ) from None
    from empiar_mirror.index.portal.metadata import hidden_tables

    db = _open_current(db_path)
    try:
        written = parquet.export(db.conn, directory, hidden_tables())
    except OSError as exc:
        raise Problem(f"cannot write into {output}: {exc.strerror}") from None
    finally:
        db.close()
    click.echo(
        f"Wrote {len(written)} tables ({sum(written.values())} rows) as Parquet into {output}",
        err=True,
    )


def _write_whole(path: Path, text: str) -> None:
    """Write `text` under a temporary name beside `path`, then rename it into place: a reader
    (or a full disk) never leaves a cut-off document at `path`."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _export_all(db, accessions: list[str], fmt: str, output: str | None, extensions: bool) -> None:
    """One document per entry: a file each in the directory `output`, else JSON Lines."""
    from empiar_mirror.index.export import dump, export_dataset

    if output is None:
        for accession in accessions:
            document = export_dataset(db, accession, extensions=extensions)
            click.echo(dump(document, "jsonl"), nl=False)
        return
    directory = Path(output)
    if directory.exists() and not directory.is_dir():
        raise Problem(f"{output} is not a directory: with --all, -o names one")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for accession in accessions:
            path = directory / f"{accession}.{fmt}"
            document = export_dataset(db, accession, extensions=extensions)
            _write_whole(path, dump(document, fmt))
    except OSError as exc:
        raise Problem(f"cannot write into {output}: {exc.strerror}") from None
    click.echo(f"Wrote {len(accessions)} {fmt.upper()} documents into {output}", err=True)


def _export_crates(db_path: str, accession: str | None, output: str | None) -> None:
    """One detached RO-Crate: of ACCESSION into a file, else of every entry into the directory
    `output` (EMPIAR-n-ro-crate-metadata.json each), or as JSON Lines."""
    from empiar_mirror.index.export import entry_accessions
    from empiar_mirror.index.rocrate import METADATA_FILE, dump, entry_crate

    db = _open_current(db_path)
    try:
        if accession is not None:
            text = dump(entry_crate(db, accession))
            if output is None:
                click.echo(text, nl=False)
            else:
                _write_whole(Path(output), text)
            return
        accessions = entry_accessions(db)
        if output is None:
            for each in accessions:
                click.echo(json.dumps(entry_crate(db, each), ensure_ascii=False))
            return
        directory = Path(output)
        if directory.exists() and not directory.is_dir():
            raise Problem(f"{output} is not a directory: without ACCESSION, -o names one")
        directory.mkdir(parents=True, exist_ok=True)
        for each in accessions:
            _write_whole(directory / f"{each}-{METADATA_FILE}", dump(entry_crate(db, each)))
    except LookupError as exc:
        raise Problem(str(exc)) from None
    except OSError as exc:
        raise Problem(f"cannot write {output}: {exc.strerror}") from None
    finally:
        db.close()
    if output is not None:
        click.echo(f"Wrote {len(accessions)} RO-Crates into {output}", err=True)


@cli.command(name="deposition")
@click.argument("source")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="SOURCE is an EMPIAR accession in this database, exported as `export` does.",
)
@click.option(
    "--release",
    type=click.Choice(["RE", "EP", "HP", "HO"]),
    default="RE",
    show_default=True,
    help="When EMPIAR releases the entry: RE once processed, EP with its EMDB entry, "
    "HP with its primary citation, HO a year after deposition.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
def deposition_command(source, db_path, release, output):
    """An EMPIAR deposition document (the JSON empiar-depositor submits) from a lambda-ber Dataset.

    SOURCE is a Dataset document (YAML or JSON), or with --db an entry of that database. Where the
    document breaks EMPIAR's deposition schema: one line per problem on stderr, exit status 1, and
    the document is written all the same.
    """
    from empiar_mirror.index.deposition import EXTRA_MODULES
    from empiar_mirror.index.deposition.dataset import NotADataset, parse_document
    from empiar_mirror.index.deposition.document import deposition_from_dataset, dump
    from empiar_mirror.index.export import export_dataset

    try:
        from empiar_mirror.index.deposition import schema
    except ModuleNotFoundError as exc:
        if exc.name not in EXTRA_MODULES:
            raise
        raise Problem(
            "the deposition command needs the optional extra: "
            "pip install 'empiar-mirror[deposition]'"
        ) from None
    if db_path is None:
        try:
            document = parse_document(Path(source).read_text(encoding="utf-8"))
        except OSError as exc:
            raise Problem(f"cannot read {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise Problem(f"cannot read {source}: not a text file") from None
        except NotADataset as exc:
            raise Problem(f"{source}: {exc}") from None
    else:
        db = _open_current(db_path)
        try:
            # The imageset values EMPIAR asks for live in our x_ slots.
            document = export_dataset(db, source, extensions=True)
        except LookupError as exc:
            raise Problem(str(exc)) from None
        finally:
            db.close()
    try:
        result = deposition_from_dataset(document, release)
    except NotADataset as exc:
        raise Problem(f"{source}: {exc}") from None
    except (TypeError, AttributeError) as exc:
        # A value of another type than the schema's where the document is read: bad input.
        raise Problem(f"{source}: not a usable lambda-ber Dataset document ({exc})") from None
    text = dump(result)
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            _write_whole(Path(output), text)
        except OSError as exc:
            raise Problem(f"cannot write {output}: {exc.strerror}") from None
    found = schema.problems(result)
    for line in found:
        click.echo(line, err=True)
    sys.exit(1 if found else 0)


@cli.command()
@click.option(
    "--db", "db_path", default="empiar-demo.db", show_default=True, type=click.Path(dir_okay=False)
)
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("--no-serve", is_flag=True, help="Harvest the sample, then stop.")
def demo(db_path, port, no_serve):
    """Harvest the bundled sample archive over loopback, then serve it."""
    from empiar_mirror.harvester.pipeline import HarvestOptions, harvest
    from empiar_mirror.harvester.replay import ReplayServer
    from empiar_mirror.index.serve import make_datasette
    from empiar_mirror.index.serve import serve as run_server

    _setup_logging(0, False)
    # A taken port is said before anything is harvested or any address printed.
    sock = None if no_serve else _listen("127.0.0.1", port)
    lock = _lock(db_path, create=True)
    try:
        store.open_database(db_path).close()
    except store.DatabaseError as exc:
        raise _database_problem(exc) from None
    with ReplayServer() as server:
        click.echo(f"Sample archive served at {server.base_url}", err=True)
        result = asyncio.run(
            harvest(
                db_path,
                server.endpoints(),
                HarvestOptions(rate=0, retries=1),
                run_options={"demo": True},
            )
        )
    # Serving only reads: a harvest (or another demo) may write meanwhile.
    os.close(lock)
    # What the file holds, as the home page counts it: a second demo fetches nothing new.
    db = store.open_readonly(db_path)
    try:
        held = {
            a.key: db.execute(f"select count(*) from [{a.front_door}]").fetchone()[0]
            for a in ARCHIVES.values()
        }
    finally:
        db.close()
    counts = [f"{held[a.key]} {a.records}" for a in ARCHIVES.values()]
    click.echo(
        f"{db_path} holds {', '.join(counts[:-1])} and {counts[-1]} (this run: "
        f"{result.total('fetched')} fetched, {result.total('failed')} failed)",
        err=True,
    )
    if sock is None:
        return
    click.echo(f"Browse it at {_url('127.0.0.1', sock)}  (Ctrl-C to stop)", err=True)
    run_server(make_datasette(db_path), sock)
