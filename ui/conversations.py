"""Chats kept on disk so a browser reload (or a shared link) brings the conversation back.

Each conversation has a random id (it goes in the page URL as ``?c=<id>``, so it is as good as
a password: whoever has the link sees the chat) and is stored as JSON in SQLite: a list of
:class:`ChatMessage`, each assistant message with its whole :class:`agent.records.Answer`
(figures as base64).

>>> import tempfile, pathlib
>>> store = ConversationStore(pathlib.Path(tempfile.mkdtemp()) / "conversations.sqlite")
>>> cid = new_conversation_id()
>>> store.save(cid, [ChatMessage(role="user", content="温度参数T有什么作用？", id="m1")])
>>> store.load(cid)[0].content
'温度参数T有什么作用？'
>>> store.load("no-such-id") is None
True
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, TypeAdapter

from agent.records import SCHEMA_VERSION, Answer, migrate_answer
from ui.sqlite_store import SqliteStore, StoreError, add_column

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    updated REAL NOT NULL,
    messages TEXT NOT NULL       -- the chat as the page keeps it, JSON
);
"""
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class ChatMessage(BaseModel):
    """One message of a chat as the page shows it; an assistant message carries its answer."""

    role: Literal["user", "assistant"]
    content: str
    id: str
    answer: Answer | None = None
    feedback: bool | None = None  # 👍 True, 👎 False
    comment: str = ""
    log_id: int | None = None  # the answer's row in the answer log
    pending: bool = False  # a question stored while it was being answered (ui/answer_jobs.py)


_MESSAGES = TypeAdapter(list[ChatMessage])


def new_conversation_id() -> str:
    return secrets.token_urlsafe(18)


def valid_conversation_id(cid: str | None) -> bool:
    return bool(cid) and bool(_ID.match(cid))


def conversations_path(settings) -> Path:
    """The conversations_path setting, else conversations.sqlite in the data folder (whole Settings)."""
    return Path(settings.app.conversations_path or Path(settings.retrieval.data_dir) / "conversations.sqlite")


def read_messages(raw: str, version: int) -> list[ChatMessage]:
    """Stored messages of any version as :class:`ChatMessage` (version 1: plain dicts with a ``result``
    dict and base64 ``figures`` beside it)."""
    if version >= 2:
        return _MESSAGES.validate_json(raw)
    out = []
    for m in json.loads(raw):
        figures = [base64.b64decode(f) for f in m.get("figures") or []]
        answer = migrate_answer(m["result"], figures) if m.get("result") else None
        out.append(ChatMessage(role=m["role"], content=m["content"], id=m.get("id") or secrets.token_hex(4),
                               answer=answer, feedback=m.get("feedback"), comment=m.get("comment") or "",
                               log_id=m.get("log_id")))
    return out


class ConversationStore(SqliteStore):
    """``keep_days``: conversations not touched for longer are deleted when the store opens (0: never).

    Raises ``ui.sqlite_store.StoreError`` (one sentence) when the file cannot be written or read.
    """

    def __init__(self, path: Path, keep_days: float = 0):
        self.keep_days = keep_days
        super().__init__(path, SCHEMA, "conversation store")

    def upgrade(self, db) -> None:
        add_column(db, "conversations", "schema_version", "INTEGER NOT NULL DEFAULT 1")
        if self.keep_days > 0:
            db.execute("DELETE FROM conversations WHERE updated < ?", (time.time() - self.keep_days * 86400,))

    def save(self, cid: str, messages: list[ChatMessage]) -> None:
        if not valid_conversation_id(cid):
            raise ValueError(f"not a conversation id: {cid!r}")
        data = _MESSAGES.dump_json(messages).decode("utf-8")
        self.run(lambda db: db.execute(
            "INSERT INTO conversations (id, updated, messages, schema_version) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, messages = excluded.messages, "
            "schema_version = excluded.schema_version", (cid, time.time(), data, SCHEMA_VERSION)))

    def load(self, cid: str) -> list[ChatMessage] | None:
        if not valid_conversation_id(cid):
            return None
        row = self.run(lambda db: db.execute(
            "SELECT messages, schema_version FROM conversations WHERE id = ?", (cid,)).fetchone())
        if row is None:
            return None
        try:
            messages = read_messages(row["messages"], row["schema_version"])
            if any(m.role == "assistant" and m.answer is None for m in messages):
                raise ValueError("an answer without its record")  # damage: the page draws answers from it
            return messages
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a newer release's record, or damage
            raise StoreError("the saved chat cannot be read: it was written by a newer release of the app or is "
                             "damaged") from exc

    def delete(self, cid: str) -> None:
        self.run(lambda db: db.execute("DELETE FROM conversations WHERE id = ?", (cid,)))
