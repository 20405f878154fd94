"""The conversation store behind reload-stable chats (the page side is in test_app.py)."""

import sqlite3
import time

import pytest

from agent.conversations import ConversationStore, new_conversation_id, valid_conversation_id


def test_round_trip_overwrite_and_bad_ids(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite")
    cid = new_conversation_id()
    assert valid_conversation_id(cid) and not valid_conversation_id("../x") and not valid_conversation_id(None)
    store.save(cid, [{"role": "user", "content": "a"}])
    store.save(cid, [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b [1]", "figures": [b"\x89PNG\r\n"]}])
    assert [m["content"] for m in store.load(cid)] == ["a", "b [1]"]
    assert store.load(cid)[1]["figures"] == [b"\x89PNG\r\n"]
    with pytest.raises(ValueError):
        store.save("bad id", [])
    store.delete(cid)
    assert store.load(cid) is None


def test_old_conversations_are_deleted_when_the_store_opens(tmp_path):
    path = tmp_path / "c.sqlite"
    old, recent = new_conversation_id(), new_conversation_id()
    store = ConversationStore(path)
    store.save(old, [{"role": "user", "content": "old"}])
    store.save(recent, [{"role": "user", "content": "recent"}])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time() - 40 * 86400, old))
    assert ConversationStore(path, keep_days=0).load(old) is not None  # 0 keeps everything
    reopened = ConversationStore(path, keep_days=30)
    assert reopened.load(old) is None and reopened.load(recent) is not None
