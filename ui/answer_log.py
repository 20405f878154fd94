"""The answer log TAs review: every answered question in SQLite, with citations, verdicts, feedback.

>>> import tempfile, pathlib
>>> log = AnswerLog(pathlib.Path(tempfile.mkdtemp()) / "answers.sqlite")
>>> rid = log.record({"question": "q", "answer": "a [1]", "mode": "extract", "refused": False,
...                   "citations": [{"verdict": "unsupported"}], "verification": {"precision": 0.0, "recall": 0.0}})
>>> log.set_feedback(rid, False, "wrong source")
>>> [r["question"] for r in log.query(unsupported=True, thumbs_down=True)]
['q']
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    mode TEXT,
    refused INTEGER NOT NULL DEFAULT 0,
    n_citations INTEGER NOT NULL DEFAULT 0,
    n_unsupported INTEGER NOT NULL DEFAULT 0,
    precision REAL,
    recall REAL,
    feedback INTEGER,          -- 1 = thumbs up, 0 = thumbs down, NULL = none
    comment TEXT,
    result TEXT NOT NULL        -- the whole answer record as JSON (passages, citations, timings)
);
CREATE INDEX IF NOT EXISTS answers_ts ON answers (ts);
"""


def answer_log_path(settings) -> Path:
    """The log file: the answer_log_path setting, else answers.sqlite in the data folder."""
    return Path(settings.answer_log_path or Path(settings.data_dir) / "answers.sqlite")


class AnswerLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def record(self, result: dict) -> int:
        citations = result.get("citations", [])
        ver = result.get("verification") or {}
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO answers (ts, question, answer, mode, refused, n_citations, n_unsupported, precision, recall, result)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), result["question"], result["answer"], result.get("mode"), int(bool(result.get("refused"))),
                 len(citations), sum(c["verdict"] == "unsupported" for c in citations), ver.get("precision"),
                 ver.get("recall"), json.dumps(result, ensure_ascii=False)),
            )
            return int(cur.lastrowid)

    def set_feedback(self, answer_id: int, thumbs_up: bool | None, comment: str = "") -> None:
        with self._connect() as db:
            db.execute("UPDATE answers SET feedback = ?, comment = ? WHERE id = ?",
                       (None if thumbs_up is None else int(thumbs_up), comment or None, answer_id))

    def query(self, unsupported: bool = False, thumbs_down: bool = False, refused: bool = False,
              since: float | None = None, until: float | None = None, limit: int = 500) -> list[dict]:
        where, args = [], []
        if unsupported:
            where.append("n_unsupported > 0")
        if thumbs_down:
            where.append("feedback = 0")
        if refused:
            where.append("refused = 1")
        if since is not None:
            where.append("ts >= ?")
            args.append(since)
        if until is not None:
            where.append("ts < ?")
            args.append(until)
        sql = "SELECT id, ts, question, answer, mode, refused, n_citations, n_unsupported, precision, recall, feedback, comment FROM answers"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts DESC LIMIT ?"
        with self._connect() as db:
            return [dict(r) for r in db.execute(sql, (*args, limit))]

    def get(self, answer_id: int) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT result, feedback, comment FROM answers WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        return {**json.loads(row["result"]), "feedback": row["feedback"], "comment": row["comment"]}
