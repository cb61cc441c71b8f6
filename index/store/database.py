"""The file itself: refused before anything opens it when it cannot be ours to use, locked for
one harvest at a time, opened with the pragmas a harvest needs and migrated; and the time
stamps it holds."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sqlite3
import stat
from pathlib import Path
from urllib.parse import quote

from sqlite_utils import Database

from empiar_mirror.index import migrations

SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(Exception):
    """The file cannot be used: not SQLite, damaged, not writable, or from a newer version.

    Raised from the sqlite3.Error behind it, if any: a full disk's (SQLITE_FULL) has its own
    exit status."""


class Locked(Exception):
    """Another process is harvesting into this file."""


def lock(path: str | os.PathLike) -> int:
    """Hold the file's harvest lock until the returned descriptor is closed or the process dies.

    An flock on the database file itself: the kernel releases it when the holder exits, however
    it exits, so there is never a stale lock to clean up. SQLite's own locks are separate.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise DatabaseError(f"{path} is not writable: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Locked(
            f"another harvest is writing to {path} (an empiar-mirror harvest, reindex or demo "
            "harvesting; a demo that only serves holds no lock); try again when it has finished"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise DatabaseError(f"cannot lock {path}: {exc.strerror}") from None
    return fd


def is_locked(path: str | os.PathLike) -> bool:
    """Whether a harvest (or reindex, or a demo's harvest) holds the file's lock now."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases a shared lock taken here
    return False


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_path(path: str | os.PathLike, *, must_exist: bool) -> Path:
    """Refuse, before touching anything, a path we could not use as our database."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise DatabaseError(f"cannot use {p}: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise DatabaseError(f"{p} is a directory, not a database file")
    if mode is not None:
        # Before anything opens it: reading a FIFO waits for a writer that never comes, and
        # /dev/null swallows every write.
        if not stat.S_ISREG(mode):
            raise DatabaseError(f"{p} is not a regular file")
        try:
            with p.open("rb") as f:
                header = f.read(16)
        except OSError as exc:
            raise DatabaseError(f"cannot read {p}: {exc.strerror}") from None
        if header and header != SQLITE_HEADER:
            raise DatabaseError(f"{p} is not an SQLite database")
    elif must_exist:
        raise DatabaseError(f"{p} does not exist")
    else:
        parent = p.resolve().parent
        if parent.exists() and not parent.is_dir():
            raise DatabaseError(f"cannot create {p}: {parent} is not a directory")
        if not parent.is_dir():
            raise DatabaseError(f"cannot create {p}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise DatabaseError(f"cannot create {p}: directory {parent} is not writable")
    return p


def check_writable(path: str | os.PathLike, *, create: bool) -> Path:
    """Refuse, before anything opens it, a file a harvest must not write."""
    p = check_path(path, must_exist=not create)
    # The mode as well as access(): root may write a file whose mode says read-only, and a
    # snapshot made read-only means "leave it as it is".
    if p.exists() and (not os.access(p, os.W_OK) or not p.stat().st_mode & 0o222):
        raise DatabaseError(f"{p} is not writable (its mode is read-only)")
    if p.exists() and p.stat().st_nlink > 1:
        raise DatabaseError(
            f"{p} has {p.stat().st_nlink} names (hard links): SQLite keeps its write-ahead log "
            "beside the name a file is opened by, so writing through two names corrupts it; "
            "keep one name"
        )
    if not os.access(p.resolve().parent, os.W_OK):
        raise DatabaseError(
            f"cannot write beside {p}: its directory is not writable "
            f"(SQLite keeps {p.name}-wal and {p.name}-shm there)"
        )
    return p


def open_database(path: str | os.PathLike, *, create: bool = True) -> Database:
    """Open (creating if asked) and migrate; refuse files written by a newer schema."""
    p = check_writable(path, create=create)
    # The harvest writes from one worker thread while its event loop runs on another.
    db = Database(sqlite3.connect(p, check_same_thread=False))
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        newer = migrations.unknown_migrations(db)
        if newer:
            db.close()
            raise DatabaseError(
                f"{p} was written by a newer empiar-mirror (schema {', '.join(newer)}); upgrade"
            )
        # WAL lets `serve` keep reading while a harvest writes. With WAL, synchronous=NORMAL
        # still never corrupts the file (a killed process loses nothing committed; only a power
        # cut can lose the last commits) and saves an fsync per record.
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        # Each record's statements keep a statement journal; on disk that is a temporary file
        # created and unlinked per record (a tenth of the harvest's system time).
        db.execute("PRAGMA temp_store = MEMORY")
        migrations.migrations.apply(db)
    except sqlite3.Error as exc:
        db.close()
        raise DatabaseError(_cannot_use(p, exc)) from exc
    except Exception:
        db.close()
        raise
    return db


def errorname(exc: BaseException | None) -> str:
    """SQLite's primary error name for `exc` (SQLITE_IOERR for SQLITE_IOERR_WRITE), else ''.
    Python gives the extended name; what it means to us is the primary one."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return "_".join(name.split("_")[:2])


def open_readonly(path: str | os.PathLike) -> Database:
    """For commands that only read: never creates, migrates or writes the file."""
    p = check_path(path, must_exist=True)
    db = Database(sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True))
    try:
        ours = db["_sqlite_migrations"].exists()
    except sqlite3.Error as exc:
        db.close()
        cantopen = errorname(exc) == "SQLITE_CANTOPEN"
        if cantopen and not os.access(p.resolve().parent, os.W_OK):
            raise DatabaseError(
                f"cannot read {p}: SQLite reads a live (WAL) file through {p.name}-shm beside it, "
                "and its directory is not writable; copy it somewhere writable, or publish "
                "snapshots (`empiar-mirror snapshot`), which need none"
            ) from exc
        raise DatabaseError(_cannot_use(p, exc)) from exc
    if not ours:
        db.close()
        raise DatabaseError(f"{p} is not an empiar-mirror database")
    return db


def _cannot_use(p: Path, exc: sqlite3.Error) -> str:
    if errorname(exc) in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        return f"{p} is damaged ({exc}): restore it from a copy"
    return f"cannot use {p}: {exc}"
