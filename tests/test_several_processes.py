"""Several app processes on one machine (README, "Several app processes"): they may share the data
folder's SQLite stores (WAL mode, busy timeout) and the index folder; nothing written at once is lost.
(tests/test_llama_server.py: two processes answering over one model server and one index.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WRITER = textwrap.dedent("""
    import sys
    from agent.records import Answer
    from ui.answer_log import AnswerLog
    from ui.conversations import ChatMessage, ConversationStore
    folder, who = sys.argv[1], sys.argv[2]
    log = AnswerLog(f"{folder}/answers.sqlite")
    chats = ConversationStore(f"{folder}/conversations.sqlite")
    for i in range(20):
        answer = Answer(question=f"{who}-{i}", query="q", answer="a [1]", language="en", strategy="route", mode="extract")
        log.record(answer)
        chats.save(f"{who}-chat-{i:02d}-xxxxxxxxxxxx", [ChatMessage(role="user", content=f"{who}-{i}", id="u"),
                                                     ChatMessage(role="assistant", content="a", id="a", answer=answer)])
""")


def test_three_processes_write_the_same_stores_at_once_and_lose_nothing(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"p{n}"], cwd=REPO,
                              stderr=subprocess.PIPE, text=True) for n in range(3)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
    from ui.answer_log import AnswerLog
    from ui.conversations import ConversationStore

    questions = {row["question"] for row in AnswerLog(tmp_path / "answers.sqlite").query(limit=1000)}
    assert questions == {f"p{n}-{i}" for n in range(3) for i in range(20)}
    chats = ConversationStore(tmp_path / "conversations.sqlite")
    assert all(chats.load(f"p{n}-chat-{i:02d}-xxxxxxxxxxxx")[0].content == f"p{n}-{i}" for n in range(3) for i in range(20))


def test_the_stores_can_live_apart_from_the_index_folder(make_settings, mini_corpus, tmp_path):
    from ui.answer_log import answer_log_path
    from ui.conversations import conversations_path

    s = make_settings(mini_corpus, answer_log_path=tmp_path / "local" / "a.sqlite",
                      conversations_path=tmp_path / "local" / "c.sqlite")
    assert answer_log_path(s) == tmp_path / "local" / "a.sqlite"
    assert conversations_path(s) == tmp_path / "local" / "c.sqlite"
    default = make_settings(mini_corpus)
    assert conversations_path(default) == default.retrieval.data_dir / "conversations.sqlite"


def test_a_column_another_process_added_first_is_not_an_error(tmp_path):
    """The race the three writers can hit when they open a new file at once: both see the column
    missing, one adds it, the other's ALTER finds it there."""
    import sqlite3

    from ui.sqlite_store import add_column

    db = sqlite3.connect(tmp_path / "s.sqlite")
    db.execute("CREATE TABLE t (a INTEGER, b INTEGER)")

    class SawItMissing:  # PRAGMA table_info as it was before the other process's ALTER
        def execute(self, sql, *args):
            return iter([(0, "a")]) if sql.startswith("PRAGMA") else db.execute(sql, *args)

    add_column(SawItMissing(), "t", "b", "INTEGER")
    assert [r[1] for r in db.execute("PRAGMA table_info(t)")] == ["a", "b"]
