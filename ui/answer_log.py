"""The answer log TAs review: every answered question in SQLite, with citations, verdicts, feedback.

>>> import tempfile, pathlib
>>> from agent.records import Answer
>>> log = AnswerLog(pathlib.Path(tempfile.mkdtemp()) / "answers.sqlite")
>>> rid = log.record(Answer(question="q", query="q", answer="a [1]", language="en", strategy="route", mode="extract"))
>>> log.set_feedback(rid, False, "wrong source")
>>> [r["question"] for r in log.query(thumbs_down=True)], log.get(rid).answer.answer
(['q'], 'a [1]')
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from agent.records import SCHEMA_VERSION, Answer, migrate_answer
from ui.sqlite_store import SqliteStore, StoreError, add_column

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
    """The log file: the answer_log_path setting, else answers.sqlite in the data folder (whole Settings)."""
    return Path(settings.app.answer_log_path or Path(settings.retrieval.data_dir) / "answers.sqlite")


@dataclass
class LoggedAnswer:
    id: int
    ts: float
    answer: Answer
    feedback: bool | None
    comment: str


class AnswerLog(SqliteStore):
    """Raises ``ui.sqlite_store.StoreError`` (one sentence) when the file cannot be written or read."""

    def __init__(self, path: Path):
        super().__init__(path, SCHEMA, "answer log")

    def upgrade(self, db) -> None:  # rows from before the records were versioned are version 1
        add_column(db, "answers", "schema_version", "INTEGER NOT NULL DEFAULT 1")

    def record(self, answer: Answer) -> int:
        """Log ``answer`` (without its figures); returns its id."""
        ver = answer.verification
        row = (time.time(), answer.question, answer.answer, answer.mode, int(answer.refused), len(answer.citations),
               sum(c.verdict == "unsupported" for c in answer.citations), ver.precision if ver else None,
               ver.recall if ver else None, answer.model_dump_json(exclude={"figures"}), SCHEMA_VERSION)
        return self.run(lambda db: int(db.execute(
            "INSERT INTO answers (ts, question, answer, mode, refused, n_citations, n_unsupported, precision, recall,"
            " result, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row).lastrowid))

    def set_feedback(self, answer_id: int, thumbs_up: bool | None, comment: str = "",
                     answer: Answer | None = None) -> None:
        """Feedback on row ``answer_id``; with ``answer`` (what the page showed), only when that row
        is that answer: a log moved aside while a page was open (a damaged file) starts its ids
        again, and a 👎 meant for one student's answer must not land on another's."""
        values = (None if thumbs_up is None else int(thumbs_up), comment or None, answer_id)
        if answer is None:
            self.run(lambda db: db.execute("UPDATE answers SET feedback = ?, comment = ? WHERE id = ?", values))
            return
        changed = self.run(lambda db: db.execute(
            "UPDATE answers SET feedback = ?, comment = ? WHERE id = ? AND question = ? AND answer = ?",
            (*values, answer.question, answer.answer)).rowcount)
        if not changed:
            raise StoreError("the answer log no longer holds this answer (it was replaced since), so the feedback "
                             "was not saved there")

    def query(self, unsupported: bool = False, thumbs_down: bool = False, refused: bool = False,
              since: float | None = None, until: float | None = None, limit: int = 500,
              number_not_found: bool = False) -> list[dict]:
        """Summary rows (the review table), newest first. ``number_not_found``: only the course
        questions declined because the number they ask for was not found near (``Answer.number_not_found``,
        read from each record's JSON; a damaged record is simply not selected)."""
        where, args = [], []
        if number_not_found:  # CASE: json_extract of a damaged record would fail the whole query
            where.append("CASE WHEN json_valid(result) THEN json_extract(result, '$.number_not_found') END = 1")
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
        return self.run(lambda db: [dict(r) for r in db.execute(sql, (*args, limit))])

    def get(self, answer_id: int) -> LoggedAnswer | None:
        """One logged answer, migrated to the current record whatever release wrote it."""
        row = self.run(lambda db: db.execute(
            "SELECT id, ts, result, feedback, comment FROM answers WHERE id = ?", (answer_id,)).fetchone())
        if row is None:
            return None
        try:
            answer = migrate_answer(json.loads(row["result"]))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a newer release's record, or damage
            raise StoreError(f"answer #{answer_id} cannot be opened: it was written by a newer release of the app "
                             "or is damaged") from exc
        return LoggedAnswer(id=row["id"], ts=row["ts"], answer=answer,
                            feedback=None if row["feedback"] is None else bool(row["feedback"]),
                            comment=row["comment"] or "")
