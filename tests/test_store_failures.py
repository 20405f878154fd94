"""The SQLite stores never lose an answer: busy and damaged files, owner-only permissions."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from agent.records import Answer
from ui.answer_log import AnswerLog
from ui.conversations import ChatMessage, ConversationStore, new_conversation_id
from ui.sqlite_store import StoreError


def _answer(text="a [1]"):
    return Answer(question="q", query="q", answer=text, language="en", strategy="route", mode="extract")


@pytest.mark.parametrize("damage", [b"not a database at all" * 200, None])
def test_a_damaged_answer_log_is_moved_aside_and_a_fresh_one_started(tmp_path, damage, caplog):
    path = tmp_path / "answers.sqlite"
    if damage is None:  # a real database with its pages scribbled over
        log = AnswerLog(path)
        for i in range(50):
            log.record(_answer(f"answer {i}" * 20))
        data = bytearray(path.read_bytes())
        data[4096:12288] = b"\xff" * 8192
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(damage)
    log = AnswerLog(path)
    rid = log.record(_answer("kept"))
    assert log.get(rid).answer.answer == "kept"
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert aside and "moved it to" in caplog.text
    assert path.stat().st_mode & 0o777 == 0o600


def test_damage_after_opening_costs_nothing_either(tmp_path):
    path = tmp_path / "answers.sqlite"
    log = AnswerLog(path)
    log.record(_answer())
    path.write_bytes(b"garbage" * 1000)  # damaged while the app runs
    rid = log.record(_answer("after damage"))
    assert log.get(rid).answer.answer == "after damage"


def test_a_locked_store_is_one_sentence_and_writes_once_free(tmp_path):
    path = tmp_path / "answers.sqlite"
    log = AnswerLog(path)
    log.timeout = 0.2
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError) as err:
        log.record(_answer())
    assert "busy" in str(err.value) and "\n" not in str(err.value)
    holder.rollback()
    holder.close()
    assert log.get(log.record(_answer("later"))).answer.answer == "later"


def test_wal_lets_readers_and_writers_work_at_once(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    assert sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cids = [new_conversation_id() for _ in range(4)]
    errors = []

    def work(cid):
        try:
            for i in range(25):
                store.save(cid, [ChatMessage(role="user", content=f"{cid} {i}", id=str(i))])
                assert store.load(cid)[0].content == f"{cid} {i}"
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in cids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for p in tmp_path.iterdir():
        assert p.stat().st_mode & 0o777 == 0o600, p.name
