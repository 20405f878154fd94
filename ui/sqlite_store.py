"""What the app's two SQLite stores (answer log, conversations) share: opening and schema upgrades.

Both keep JSON records with a ``schema_version`` column; rows written by an older release keep
their version and are migrated when read (agent/records.py ``migrate_answer``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from common.errors import CourseTAError


class StoreError(CourseTAError):
    """The root of the app layer's errors: a store cannot be opened or written."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection that waits for a busy database instead of failing at once; rows as ``sqlite3.Row``."""
    db = sqlite3.connect(path, timeout=10)
    db.row_factory = sqlite3.Row
    return db


def open_store(path: Path, schema: str) -> Path:
    """Create the file (readable by its owner only) and its tables if missing; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with connect(path) as db:
        db.executescript(schema)
    return path


def add_column(db: sqlite3.Connection, table: str, column: str, declaration: str) -> None:
    """Add ``column`` to ``table`` when a file from an older release lacks it."""
    columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    if column not in columns:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
