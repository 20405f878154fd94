"""What the app's two SQLite stores (answer log, conversations) share: opening, failures, schema upgrades.

Both keep JSON records with a ``schema_version`` column; rows written by an older release keep
their version and are migrated when read (agent/records.py ``migrate_answer``).

Failures never cost an answer: the files are in WAL mode with a busy timeout (readers never
block the writer, two writers wait for each other), every sqlite3 error becomes a
:class:`StoreError` with one sentence (the app shows it as a warning and keeps the answer), and a
file that is not a database, or is damaged, is moved aside (``<name>.corrupt-<time>``) and a
fresh one started, with a warning in the log.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.sqlite"
>>> _ = path.write_bytes(b"this is not a database" * 100)
>>> store = SqliteStore(path, "CREATE TABLE IF NOT EXISTS t (v TEXT);", "test store")
>>> with store.db() as db:
...     _ = db.execute("INSERT INTO t VALUES ('kept')")
>>> sorted(p.name.split("-")[0] for p in path.parent.iterdir())
['x.sqlite', 'x.sqlite.corrupt']
>>> oct(path.stat().st_mode & 0o777)
'0o600'
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from common.errors import CourseTAError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0


class StoreError(CourseTAError):
    """The root of the app layer's errors: a store cannot be opened or written."""


def connect(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection that waits for a busy database instead of failing at once; rows as ``sqlite3.Row``."""
    db = sqlite3.connect(path, timeout=timeout)
    db.row_factory = sqlite3.Row
    return db


def _is_corruption(exc: sqlite3.Error) -> bool:
    """Damage (as opposed to a busy or read-only database, or a bad query)."""
    if isinstance(exc, sqlite3.OperationalError):
        return False
    return isinstance(exc, sqlite3.DatabaseError) and any(
        word in str(exc).lower() for word in ("not a database", "malformed", "corrupt", "disk image"))


class SqliteStore:
    """One SQLite file with a schema, opened safely; subclasses add the queries.

    ``db()`` is a transaction: committed on success, rolled back and turned into one
    :class:`StoreError` on any sqlite3 error. A damaged file is moved aside and the
    transaction retried once on a fresh file (so a logged answer is not lost to old damage).
    """

    def __init__(self, path: Path, schema: str, what: str, timeout: float = BUSY_TIMEOUT_S):
        self.path, self.schema, self.what, self.timeout = Path(path), schema, what, timeout
        self._open()

    # -- opening ---------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            try:
                self._create()
            except sqlite3.Error as exc:
                if not _is_corruption(exc):
                    raise StoreError(f"the {self.what} cannot be opened ({exc})") from exc
                self._move_aside(exc)
                try:
                    self._create()
                except sqlite3.Error as exc2:
                    raise StoreError(f"the {self.what} cannot be opened ({exc2})") from exc2
        except OSError as exc:  # a read-only or full folder, one the app's user may not write
            raise StoreError(f"the {self.what} cannot be opened ({exc.strerror or type(exc).__name__})") from exc

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            _create_owner_only(self.path)
        _owner_only(self.path)
        db = connect(self.path, self.timeout)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed (quick_check)")
            db.executescript(self.schema)
            self.upgrade(db)
            db.commit()
        finally:
            db.close()
        for suffix in ("-wal", "-shm"):
            _owner_only(self.path.with_name(self.path.name + suffix))

    def upgrade(self, db: sqlite3.Connection) -> None:
        """Schema changes for files written by older releases (see :func:`add_column`)."""

    def _move_aside(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{os.getpid()}")
        log.warning("the %s at %s is damaged (%s); moved it to %s and started a fresh one",
                    self.what, self.path, exc, aside.name)
        for suffix in ("", "-wal", "-shm"):
            src = self.path.with_name(self.path.name + suffix)
            if src.exists():
                os.replace(src, aside.with_name(aside.name + suffix))

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = connect(self.path, self.timeout)
        except sqlite3.Error as exc:
            raise StoreError(self._sentence(exc)) from exc
        try:
            yield db
            db.commit()
        except sqlite3.Error as exc:
            db.rollback()
            raise StoreError(self._sentence(exc)) from exc
        finally:
            db.close()

    def run(self, work):
        """``work(db)`` in a transaction; on a damaged file, move it aside and run it once more on a
        fresh one. Another process may have done that meanwhile (the file is another one now, or one
        not yet given its tables or columns): then it runs once more on that file, opened again."""
        before = self._inode()
        try:
            with self.db() as db:
                return work(db)
        except StoreError as exc:
            if self._damaged():
                try:
                    self._move_aside(exc.__cause__ or exc)
                except OSError as os_exc:
                    raise StoreError(f"the {self.what} is damaged and could not be moved aside "
                                     f"({os_exc.strerror or type(os_exc).__name__})") from os_exc
            elif not (before is None or self._inode() != before or _schema_missing(exc)):
                raise
            self._open()
            with self.db() as db:
                return work(db)

    def _inode(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
            return st.st_dev, st.st_ino
        except OSError:
            return None

    def _damaged(self) -> bool:
        try:
            db = connect(self.path, self.timeout)
            try:
                return db.execute("PRAGMA quick_check").fetchone()[0] != "ok"
            finally:
                db.close()
        except sqlite3.Error as exc:
            return _is_corruption(exc)

    def _sentence(self, exc: sqlite3.Error) -> str:
        reason = "it is busy" if "locked" in str(exc) or "busy" in str(exc) else str(exc)
        return f"the {self.what} could not be written or read ({reason})"


def _schema_missing(exc: Exception) -> bool:
    """A table or column the schema makes is missing: a fresh file another process has not set up yet."""
    text = str(exc.__cause__ or exc)
    return "no such table" in text or "no such column" in text or "has no column named" in text


def _create_owner_only(path: Path) -> None:
    """Create an empty 0600 file at ``path`` without ever holding a descriptor of ``path`` itself.

    Closing any descriptor of a database file drops the POSIX locks SQLite holds on it in this
    process (they are per process and inode), so the file is made under a private name, closed,
    then hard-linked into place; if another thread made it first, theirs is kept.
    """
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{time.monotonic_ns()}")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def _owner_only(path: Path) -> None:
    try:
        if path.exists() and not path.is_symlink() and path.stat().st_uid == os.getuid():
            os.chmod(path, 0o600)
    except OSError:
        pass


def add_column(db: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    """Add ``column`` to ``table`` when a file from an older release lacks it. Another process opening
    the same new file may add it between the check and the ALTER (tests/test_several_processes.py):
    then it is there, which is all this asks."""
    columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    if column not in columns:
        try:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise
