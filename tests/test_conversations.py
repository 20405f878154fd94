"""The app's two stores (conversations, answer log): round trips, expiry, and rows from older releases."""

import sqlite3
import time
from pathlib import Path

import pytest

from agent.records import SCHEMA_VERSION, Answer
from ui.answer_log import AnswerLog
from ui.conversations import ChatMessage, ConversationStore, new_conversation_id, valid_conversation_id

LEGACY = Path(__file__).parent / "data" / "legacy"  # made with the release before versioned records


def _answer(**fields) -> Answer:
    return Answer(**{"question": "q", "query": "q", "answer": "b [1]", "language": "en", "strategy": "route",
                     "mode": "code", **fields})


def _restore(sql_file: str, path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.executescript((LEGACY / sql_file).read_text(encoding="utf-8"))
    return path


def test_round_trip_overwrite_and_bad_ids(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = new_conversation_id()
    assert valid_conversation_id(cid) and not valid_conversation_id("../x") and not valid_conversation_id(None)
    store.save(cid, [ChatMessage(role="user", content="a", id="m1")])
    store.save(cid, [ChatMessage(role="user", content="a", id="m1"),
                     ChatMessage(role="assistant", content="b [1]", id="m2", answer=_answer(figures=[b"\x89PNG\r\n"]))])
    assert [m.content for m in store.load(cid)] == ["a", "b [1]"]
    assert store.load(cid)[1].answer.figures == [b"\x89PNG\r\n"]
    with pytest.raises(ValueError):
        store.save("bad id", [])
    store.delete(cid)
    assert store.load(cid) is None


def test_old_conversations_are_deleted_when_the_store_opens(tmp_path):
    path = tmp_path / "c.sqlite"
    old, recent = new_conversation_id(), new_conversation_id()
    store = ConversationStore(path)
    store.save(old, [ChatMessage(role="user", content="old", id="m1")])
    store.save(recent, [ChatMessage(role="user", content="recent", id="m2")])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time() - 40 * 86400, old))
    assert ConversationStore(path, keep_days=0).load(old) is not None  # 0 keeps everything
    reopened = ConversationStore(path, keep_days=30)
    assert reopened.load(old) is None and reopened.load(recent) is not None


def test_stores_write_their_schema_version(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = new_conversation_id()
    store.save(cid, [ChatMessage(role="user", content="a", id="m1")])
    log = AnswerLog(tmp_path / "a.sqlite")
    log.record(_answer())
    with sqlite3.connect(tmp_path / "c.sqlite") as db:
        assert db.execute("SELECT schema_version FROM conversations").fetchone()[0] == SCHEMA_VERSION
    with sqlite3.connect(tmp_path / "a.sqlite") as db:
        assert db.execute("SELECT schema_version FROM answers").fetchone()[0] == SCHEMA_VERSION


def test_a_conversation_written_by_the_previous_release_is_read(tmp_path):
    """tests/data/legacy/conversations-v1.sql: a quoted answer with 👎, a refusal and a code demo with a figure."""
    store = ConversationStore(_restore("conversations-v1.sql", tmp_path / "c.sqlite"))
    messages = store.load("legacyConversation0001")
    assert [m.role for m in messages] == ["user", "assistant"] * 3
    quoted, refusal, demo = (m.answer for m in messages[1::2])
    assert quoted.mode == "extract" and quoted.citations and quoted.schema_version == SCHEMA_VERSION
    # what the old format did not keep is recomputed: the sentence of each passage that supports its claim
    for c in quoted.citations:
        assert c.supporting_sentence and c.supporting_sentence in quoted.passage(c.n).text
    assert messages[1].feedback is False and messages[1].comment == "wrong source" and messages[1].log_id == 1
    assert refusal.refused and refusal.verification is None
    assert demo.mode == "code" and demo.code_runs[0].ok and demo.figures[0].startswith(b"\x89PNG")
    # saved again, it is written in the current format and reads back the same
    store.save("legacyConversation0001", messages)
    assert store.load("legacyConversation0001") == messages


def test_an_answer_log_written_by_the_previous_release_is_read_and_appended(tmp_path):
    log = AnswerLog(_restore("answers-v1.sql", tmp_path / "a.sqlite"))
    rows = log.query()
    assert len(rows) == 3 and [r["question"] for r in log.query(thumbs_down=True)] == ["温度参数T有什么作用？"]
    old = log.get(1)
    assert old.feedback is False and old.comment == "wrong source"
    assert old.answer.citations and all(c.supporting_sentence for c in old.answer.citations)
    assert log.get(2).answer.refused and log.get(3).answer.code_runs[0].n_figures == 1
    new_id = log.record(_answer())
    assert log.get(new_id).answer.answer == "b [1]" and len(log.query()) == 4


def test_the_review_queue_selects_number_not_found_declines(tmp_path):
    """Answer.number_not_found lives in each record's JSON: the log's filter reads it there, and a
    damaged record (or one written before the field) is simply not selected, the query still runs."""
    log = AnswerLog(tmp_path / "a.sqlite")
    log.record(_answer(question="How many parameters does GPT-4 have?", refused=True, number_not_found=True, mode="refusal"))
    log.record(_answer(question="Who won the 2018 World Cup?", refused=True, mode="refusal"))
    log.record(_answer(question="What does T do?"))
    log.run(lambda db: db.execute("INSERT INTO answers (ts, question, answer, result) VALUES (?, ?, ?, ?)",
                                  (time.time(), "damaged", "a", "{not json")))
    assert [r["question"] for r in log.query(number_not_found=True)] == ["How many parameters does GPT-4 have?"]
    assert len(log.query(refused=True)) == 2 and len(log.query()) == 4
