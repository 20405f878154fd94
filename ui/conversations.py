"""Chats kept on disk so a browser reload (or a shared link) brings the conversation back.

Each conversation has a random id (it goes in the page URL as ``?c=<id>``, so it is as good as
a password: whoever has the link sees the chat) and is stored as JSON in SQLite; figures (PNG
bytes) are base64 inside it.

>>> import tempfile, pathlib
>>> store = ConversationStore(pathlib.Path(tempfile.mkdtemp()) / "conversations.sqlite")
>>> cid = new_conversation_id()
>>> store.save(cid, [{"role": "user", "content": "温度参数T有什么作用？"},
...                  {"role": "assistant", "content": "… [1]", "figures": [b"\\x89PNG"]}])
>>> restored = store.load(cid)
>>> restored[0]["content"], restored[1]["figures"]
('温度参数T有什么作用？', [b'\\x89PNG'])
>>> store.load("no-such-id") is None
True
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    updated REAL NOT NULL,
    messages TEXT NOT NULL       -- the chat as the page keeps it, JSON
);
"""
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_conversation_id() -> str:
    return secrets.token_urlsafe(18)


def valid_conversation_id(cid: str | None) -> bool:
    return bool(cid) and bool(_ID.match(cid))


def conversations_path(settings) -> Path:
    return Path(settings.data_dir) / "conversations.sqlite"


def _encode(message: dict) -> dict:
    out = dict(message)
    if out.get("figures"):
        out["figures"] = [base64.b64encode(f).decode("ascii") for f in out["figures"]]
    return out


def _decode(message: dict) -> dict:
    if message.get("figures"):
        message["figures"] = [base64.b64decode(f) for f in message["figures"]]
    return message


class ConversationStore:
    """``keep_days``: conversations not touched for longer are deleted when the store opens (0: never)."""

    def __init__(self, path: Path, keep_days: float = 0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
            if keep_days > 0:
                db.execute("DELETE FROM conversations WHERE updated < ?", (time.time() - keep_days * 86400,))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def save(self, cid: str, messages: list[dict]) -> None:
        if not valid_conversation_id(cid):
            raise ValueError(f"not a conversation id: {cid!r}")
        data = json.dumps([_encode(m) for m in messages], ensure_ascii=False)
        with self._connect() as db:
            db.execute("INSERT INTO conversations (id, updated, messages) VALUES (?, ?, ?) "
                       "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, messages = excluded.messages",
                       (cid, time.time(), data))

    def load(self, cid: str) -> list[dict] | None:
        if not valid_conversation_id(cid):
            return None
        with self._connect() as db:
            row = db.execute("SELECT messages FROM conversations WHERE id = ?", (cid,)).fetchone()
        return None if row is None else [_decode(m) for m in json.loads(row[0])]

    def delete(self, cid: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (cid,))
