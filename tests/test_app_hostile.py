"""A hostile tester's cases for "never lose an answer; one sentence, never a traceback" on the chat
page (2026-12-05 evening): reloads during an answer, answers that fail below the agent, questions
sent faster than answers come, stored chats with odd entries. Each failed before its fix."""

import json
import threading
import time
import warnings
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent


def _app(c=None, run=True, timeout=120):
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=timeout)
    if c is not None:
        at.query_params["c"] = c
    if run:
        at.run()
    return at


def _cid(at):
    value = at.query_params.get("c")
    return value[0] if isinstance(value, list) else value


def _held_back(monkeypatch):
    """Answers that do not end until ``finish`` is set (a slow model)."""
    from agent.core import Agent
    from agent.events import Done, Status

    finish, answer, seen = threading.Event(), Agent.stream, []

    def slow(self, question, history=(), options=None):
        seen.append((question, list(history)))
        for event in answer(self, question, history, options):
            while isinstance(event, Done) and not finish.is_set():
                yield Status("still writing…")
                time.sleep(0.2)
            yield event

    monkeypatch.setattr(Agent, "stream", slow)
    return finish, seen


def _ask_on(target, donor, question, timeout=60):
    """Send ``question`` into ``target``, whose last run was stopped (AppTest keeps no widgets of a run
    that timed out; a browser still has the chat input): ``donor``'s finished run lends its widget tree."""
    tree = donor._tree
    tree._runner = target
    tree.chat_input[0].set_value(question)
    return tree.run(timeout=timeout)


def _wait_for_jobs(timeout=15):
    deadline = time.time() + timeout
    while any(t.name == "answer-job" for t in threading.enumerate()) and time.time() < deadline:
        time.sleep(0.1)


def test_a_follow_up_after_a_reload_mid_answer_keeps_the_first_question_and_its_answer(app_env, monkeypatch):
    """The reloaded page is a read-only copy; its first question forked a new chat without the
    question still being answered, and the follow-up lost its context."""
    import streamlit as st

    finish, seen = _held_back(monkeypatch)
    st.cache_resource.clear()
    first = _app(run=False)
    first.run()
    first.chat_input[0].set_value("温度参数T有什么作用？")
    with pytest.raises(RuntimeError, match="timed out"):
        first.run(timeout=4)  # reloaded while the answer is written
    again = _app(c=_cid(first), run=False)
    with pytest.raises(RuntimeError, match="timed out"):
        again.run(timeout=4)  # the reloaded page follows the answer; the student types meanwhile
    threading.Timer(3.0, finish.set).start()
    again = _ask_on(again, _app(), "它和熵有什么关系？")
    _wait_for_jobs()
    assert not again.exception
    users = [m.content for m in again.session_state["messages"] if m.role == "user"]
    assert users == ["温度参数T有什么作用？", "它和熵有什么关系？"]
    assert [m["content"] for m in seen[-1][1] if m["role"] == "user"] == ["温度参数T有什么作用？"]  # its context


def test_an_answer_failing_below_the_agent_is_one_sentence_and_the_question_kept(app_env, monkeypatch):
    """An OSError from the search (too many open files under load) reached Streamlit's error box."""
    import streamlit as st
    from retrieval.search import Retriever

    def fails(self, *args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(Retriever, "search", fails)
    st.cache_resource.clear()
    at = _app()
    at.chat_input[0].set_value("温度参数T有什么作用？").run()
    assert not at.exception
    assert any("could not be answered" in w.value for w in at.warning)
    assert "温度参数T有什么作用？" in " ".join(m.value for m in at.markdown)
    assert [b.label for b in at.button if b.key == "ask_again"] == ["Ask it again"]


def test_a_question_beyond_the_waiting_ones_is_refused_in_a_sentence_never_dropped_unseen(app_env):
    import streamlit as st

    st.cache_resource.clear()
    at = _app()
    waiting = ["温度参数T有什么作用？", "什么是语言模型？", "香农在哪一年提出了熵？"]
    at.session_state["unanswered"] = list(waiting)  # three sent while an answer was written
    at.chat_input[0].set_value("交叉熵是**什么**？").run(timeout=120)
    assert not at.exception
    assert [m.content for m in at.session_state["messages"] if m.role == "user"] == waiting
    warning = " ".join(w.value for w in at.warning)
    assert "was not asked" in warning and "交叉熵是\\*\\*什么\\*\\*？" in warning  # quoted, as text


@pytest.mark.parametrize("raw, version", [
    (json.dumps([{"role": "user", "content": "q"}, {"role": "assistant", "content": "an old answer"}]), 1),
    (json.dumps([{"role": "user", "content": "q", "id": "u1"}, {"role": "assistant", "content": "x", "id": "a1"}]), 2),
])
def test_a_stored_chat_with_an_answer_missing_its_record_is_one_sentence(app_env, raw, version):
    import streamlit as st
    from settings import get_settings
    from ui.conversations import ConversationStore, conversations_path

    cid = "B" * 23 + "2"
    chats = ConversationStore(conversations_path(get_settings()))
    chats.run(lambda db: db.execute("INSERT OR REPLACE INTO conversations (id, updated, messages, schema_version) "
                                    "VALUES (?, ?, ?, ?)", (cid, time.time(), raw, version)))
    st.cache_resource.clear()
    at = _app(c=cid)
    assert not at.exception and at.chat_input
    assert any("Could not save or load this conversation" in w.value for w in at.warning)


def test_a_reload_as_its_answer_is_stored_shows_the_answer_not_ask_it_again(app_env, monkeypatch):
    """The reloaded page read the pending question; before it asked the job board, the answer was
    stored and the board let the finished job go (another student started one): "Not answered"."""
    import gc

    import streamlit as st
    from ui.answer_jobs import AnswerJob, JobBoard
    from ui.conversations import ConversationStore

    finish, _ = _held_back(monkeypatch)
    st.cache_resource.clear()
    first = _app()
    first.chat_input[0].set_value("温度参数T有什么作用？")
    with pytest.raises(RuntimeError, match="timed out"):
        first.run(timeout=3)
    cid = first.session_state["conversation_id"]
    load = ConversationStore.load

    def load_then_race(self, c):
        out = load(self, c)
        if c == cid and any(m.pending for m in out or []):
            finish.set()
            _wait_for_jobs()
            with warnings.catch_warnings():  # isinstance over every object touches deprecated torch names
                warnings.simplefilter("ignore")
                # the app's board: the one holding this chat's job (other tests' boards may be alive)
                [board] = [o for o in gc.get_objects() if isinstance(o, JobBoard) and o.get(cid) is not None]
            board.put("Z" * 24, AnswerJob("another student's question", lambda: iter(()), lambda j: None))
        return out

    monkeypatch.setattr(ConversationStore, "load", load_then_race)
    again = _app(c=cid)
    assert not again.exception
    assert not [c.value for c in again.caption if "Not answered" in c.value]
    assert [m.role for m in again.session_state["messages"]] == ["user", "assistant"]
