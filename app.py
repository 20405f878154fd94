"""CourseTA chat: ``streamlit run app.py`` (or ``make run``).

All logic lives in ``agent/`` and ``retrieval/``; this file only draws. Models and the index
load once per process (``st.cache_resource``) and are shared by every session and tab; the agent
is never changed after that: each question carries its user's options (``TurnOptions``).
"""

from __future__ import annotations

import logging
import os
import time
import uuid

import streamlit as st

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from agent.core import MAX_QUESTION_CHARS, Agent  # noqa: E402
from agent.events import Replace, Status, Token  # noqa: E402
from agent.options import TurnOptions  # noqa: E402
from common.errors import CourseTAError  # noqa: E402
from retrieval.store import current_index_dir  # noqa: E402
from settings import get_settings  # noqa: E402
from ui.answer_jobs import AnswerJob, JobBoard  # noqa: E402
from ui.answer_log import AnswerLog, answer_log_path  # noqa: E402
from ui.auth import resolve_role, sign_out_button  # noqa: E402
from ui.conversations import (  # noqa: E402
    ChatMessage, ConversationStore, conversations_path, new_conversation_id, valid_conversation_id,
)
from ui.render import conversation_json, conversation_markdown, md_escape, streamed, visible_controls  # noqa: E402
from ui.sqlite_store import StoreError  # noqa: E402
from ui.widgets import formula_style, show_answer  # noqa: E402

st.set_page_config(page_title="CourseTA", page_icon="🎓", layout="wide")
log = logging.getLogger("courseta.app")
NOT_READY = ("The course assistant cannot answer yet: the course materials are not indexed, or their index "
             "needs repair. Please try again later, or tell a TA.")


@st.cache_resource(show_spinner="Loading the course index and the embedding model…", max_entries=1)
def load_agent(index_dir: str) -> Agent:
    """One agent per live index folder: when an ingest anywhere (this process, another app process,
    the CLI) makes a new index live, the next question loads it; answers under way keep theirs."""
    agent = Agent.from_settings(get_settings())
    # load the embedding model now, once per process, so the first question does not wait ~9 s
    # for it (bench/e2e.py: embedder_load_s); a bare expression would be drawn by st magic
    _ = agent.retriever.embedder.embed(["warm-up"])
    # and the chat model in the background, when answers need one: the page is shown meanwhile
    agent.preload_model()
    return agent


@st.cache_resource
def answer_log(path: str) -> AnswerLog:
    return AnswerLog(path)


@st.cache_resource
def conversation_store(path: str, keep_days: float) -> ConversationStore:
    return ConversationStore(path, keep_days)


def chat_store(settings) -> ConversationStore:
    """The conversation store the settings name (opened once per process)."""
    return conversation_store(str(conversations_path(settings)), settings.app.conversation_days)


@st.cache_resource
def job_board() -> JobBoard:
    """The answers being computed in this process, by conversation (a reload follows its chat's)."""
    return JobBoard()


def store_failed(what: str, exc: StoreError) -> str:
    """Log a store failure; the one sentence the page shows (the store's own message may name files:
    it goes to the log only)."""
    log.warning("%s failed: %s", what, exc, exc_info=exc.__cause__)
    return f"Could not save or load {what}; your answers stay on this page, but may not be kept after a reload."


def stored(what: str, work, default=None):
    """Run a store call; when the store fails, warn in one sentence (details to the log) and go on.

    The answer on the page never depends on the answer log or the conversation store.
    """
    try:
        return work()
    except StoreError as exc:
        # shown at the top of the next run too (the page reruns right after an answer)
        st.session_state.store_warning = store_failed(what, exc)
        return default


def load_conversation(settings, cid: str) -> list[ChatMessage] | None:
    """The stored chat ``cid`` (None: none, or the store failed); a question stored while it was being
    answered (``pending``; its id is its job's) is taken out and kept as the session's ``interrupted``."""
    restored = stored("this conversation", lambda: chat_store(settings).load(cid))
    if restored is not None:
        pending = [m for m in restored if m.pending]
        st.session_state.interrupted = pending[-1] if pending else None
        restored = [m for m in restored if not m.pending]
    return restored


def restore_conversation(settings) -> list[ChatMessage]:
    """The session's messages; on a new session (first visit or reload), the chat named by ``?c=`` in the URL."""
    if "messages" not in st.session_state:
        cid = st.query_params.get("c")
        restored = None
        if settings.app.keep_conversations and valid_conversation_id(cid):
            restored = load_conversation(settings, cid)
        if restored is None:
            cid = new_conversation_id()
        st.session_state.messages, st.session_state.conversation_id = restored or [], cid
        # opened from a link (someone's shared chat, or this student's after a reload): a read-only
        # copy; asking a question forks it into a new chat, so the original is never changed
        st.session_state.read_only = restored is not None
    if settings.app.keep_conversations and st.query_params.get("c") != st.session_state.conversation_id:
        st.query_params["c"] = st.session_state.conversation_id
    return st.session_state.messages


def fork_if_read_only(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Before the first question on a chat opened from a link: continue in a new chat with a copy."""
    if st.session_state.get("read_only"):
        # copies without answer-log ids: feedback on the fork never changes the original's log rows
        st.session_state.messages = messages = [m.model_copy(deep=True, update={"log_id": None}) for m in messages]
        st.session_state.conversation_id = new_conversation_id()
        st.session_state.read_only = False
        st.query_params["c"] = st.session_state.conversation_id
    return messages


def keep_conversation(settings) -> None:
    """Save the session's chat (feedback changed it); the question its job is answering stays stored
    as pending until the job stores its answer (both save under the conversation's lock)."""
    if st.session_state.get("read_only"):
        return
    cid = st.session_state.get("conversation_id")
    if settings.app.keep_conversations and cid:
        job = st.session_state.get("job")
        with job_board().save_lock(cid):
            waiting = [job.pending] if job is not None and job.pending is not None and not job.stored \
                and not job.finished else []
            stored("this conversation", lambda: chat_store(settings).save(cid, [*st.session_state.messages, *waiting]))


def save_feedback(message: ChatMessage) -> None:
    if message.log_id:
        stored("your feedback", lambda: answer_log(str(answer_log_path(get_settings()))).set_feedback(
            message.log_id, message.feedback, message.comment, answer=message.answer))
    keep_conversation(get_settings())


def sidebar(settings, agent: Agent) -> TurnOptions:
    """The sidebar; returns this user's options for the next question."""
    defaults = agent.default_options()
    with st.sidebar:
        st.header("CourseTA")
        if st.session_state.get("role") == "ta":
            st.caption("signed in as a TA: Review queue, Corpus and the answer log are open")
            sign_out_button()
        # never waits: a server's reachability is probed in the background and cached
        st.caption(f"model: `{agent.backend.name}` — {agent.model_state()}")
        st.caption(f"embedder: `{settings.retrieval.embedder}` — index ready")
        st.session_state.setdefault("k", min(defaults.k, 20))
        st.slider("passages per question (k)", 1, 20, key="k")
        st.toggle("grounded only", value=defaults.grounded_only, key="grounded",
                  help="Decline questions the course materials do not cover.")
        st.toggle("homework integrity", value=defaults.homework_integrity, key="homework")
        st.toggle("office-hours mode", key="office_hours",
                  help="For a projector: larger type, the tool trace expanded, code shown before it runs.")
        if st.button("Clear chat", help="Start a new conversation (a new link; the old one still opens the old chat)."):
            st.session_state.messages, st.session_state.conversation_id = [], new_conversation_id()
            st.session_state.read_only = False
            if job := st.session_state.get("job"):
                job.cancel()  # the chat it answers is left: its question stays "not answered" there
            st.session_state.unanswered, st.session_state.job, st.session_state.interrupted = [], None, None
            st.rerun()
        messages = st.session_state.get("messages", [])
        st.download_button("Export Markdown", conversation_markdown(messages), "courseta-chat.md", "text/markdown")
        st.download_button("Export JSON", conversation_json(messages), "courseta-chat.json", "application/json")
    return TurnOptions(k=st.session_state.k, grounded_only=st.session_state.grounded,
                       homework_integrity=st.session_state.homework,
                       office_hours=bool(st.session_state.get("office_hours")))


MAX_WAITING = 3  # questions a session may have waiting for an answer


def start_answer(question: str, messages: list[ChatMessage], agent: Agent, options: TurnOptions, settings) -> AnswerJob:
    """Answer ``question`` in a job of its own (ui/answer_jobs.py). The question is stored at once,
    marked pending, so that a reload finds it; when the answer is complete the job adds both to the
    chat (``messages``) and the stores, whether or not a page still follows it."""
    history = [{"role": m.role, "content": m.content} for m in messages]
    cid = st.session_state.get("conversation_id")
    keep = bool(settings.app.keep_conversations and cid and not st.session_state.get("read_only"))
    chats = stored("this conversation", lambda: chat_store(settings)) if keep else None
    answers = stored("the answer to the log", lambda: answer_log(str(answer_log_path(settings)))) \
        if settings.app.log_answers else None
    board = job_board()

    def on_done(job: AnswerJob) -> None:  # in the job's thread: no st.* calls here
        log_id = None
        if answers is not None:
            try:
                log_id = answers.record(job.answer)
            except StoreError as exc:
                job.warnings.append(store_failed("the answer to the log", exc))
        job.added = [ChatMessage(role="user", content=question, id=uuid.uuid4().hex[:8]),
                     ChatMessage(role="assistant", content=job.answer.answer, id=uuid.uuid4().hex[:8],
                                 answer=job.answer, log_id=log_id)]
        with board.save_lock(cid or ""):
            messages.extend(job.added)
            job.stored = True  # under the lock: a page saving now stores the answer, not the pending question
            if chats is not None:
                try:
                    chats.save(cid, messages)
                except StoreError as exc:
                    job.warnings.append(store_failed("this conversation", exc))

    job = AnswerJob(question, lambda: agent.stream(question, history, options), on_done)
    if chats is not None:
        job.pending = ChatMessage(role="user", content=question, id=job.id, pending=True)
        with board.save_lock(cid):
            stored("this conversation", lambda: chats.save(cid, [*messages, job.pending]))
    board.put(cid, job)
    job.start()
    return job


def answer_one(question: str, messages: list[ChatMessage], agent: Agent, options: TurnOptions, settings) -> None:
    """Answer ``question`` and follow the answer under the chat; a run that was stopped (the next
    question came) follows its job again instead of starting another."""
    job = st.session_state.get("job")
    if job is None or job.question != question or job.error is not None or job.cancelled.is_set():
        job = st.session_state.job = start_answer(question, messages, agent, options, settings)
    job.touch()
    if not job.stored:  # stored already (the run stopped after its end): the chat above shows it
        follow_answer(job, options)
    st.session_state.job = None
    if job.cancelled.is_set() and not job.stored:  # the board stopped it (see ui/answer_jobs.JobBoard)
        st.session_state.store_warning = "Your question's answer was stopped while the app was busy; please ask it again."
    if job.warnings:
        st.session_state.store_warning = job.warnings[-1]


def follow_answer(job: AnswerJob, options: TurnOptions) -> None:
    """Draw the question and stream its job's answer, from its first event (the job adds both to the chat)."""
    with st.chat_message("user"):
        st.markdown(md_escape(job.question))
    with st.chat_message("assistant"):
        status = st.status("searching the course materials…", expanded=options.office_hours)

        # the model's words are text, never Markdown/HTML (allowlisted math aside), escaped as a whole each
        # time they grow: pieces escaped one by one could join into a link ("www" + ".evil.com/login");
        # the [n] markers shown here keep their numbers in the final answer
        shown, pieces = st.empty(), [""]  # a Replace starts a new piece under a rule
        started, step = time.perf_counter(), 0
        for event in job.follow():
            if isinstance(event, Status):
                step += 1
                status.update(label=md_escape(event.text, line_breaks=False))
                status.markdown(f"{step}\\. {md_escape(event.text)} · {time.perf_counter() - started:.1f} s")
                continue
            if isinstance(event, Token):
                pieces[-1] += event.text
            elif isinstance(event, Replace):
                pieces.append(event.text)
            else:
                continue
            shown.markdown(streamed(pieces))
        status.update(label="done", state="complete")


def finish_interrupted(settings, options: TurnOptions) -> bool:
    """The interrupted question's answer, when this process is still computing it (or has just
    finished it): follow it to its end and take the chat as stored with it. Returns whether it did."""
    pending, cid = st.session_state.get("interrupted"), st.session_state.get("conversation_id")
    job = job_board().get(cid) if pending is not None else None  # running, or finished since this page loaded
    if job is None or job.id != pending.id or job.error is not None or job.cancelled.is_set():
        return False
    job.touch()
    try:
        follow_answer(job, options)
    except Exception:  # noqa: BLE001 - the job logged it; the question is offered again
        return False
    if not job.stored:
        return False
    current = st.session_state.messages
    restored = load_conversation(settings, cid)
    interrupted = st.session_state.get("interrupted")
    if restored is None or (interrupted is not None and interrupted.id == job.id):
        # the job could not store its answer (a store error): show it from the job itself
        restored = [*(restored if restored is not None else current), *job.added]
    st.session_state.interrupted = None
    st.session_state.messages = restored
    return True


def answered_meanwhile(settings, pending: ChatMessage) -> bool:
    """Was ``pending``'s answer stored since this page read the chat (its job finished, and the board
    let it go, between the two)? Then the chat as stored now is shown."""
    cid = st.session_state.get("conversation_id")
    restored = load_conversation(settings, cid) if settings.app.keep_conversations and cid else None
    if restored is None or st.session_state.get("interrupted") is not None:
        st.session_state.interrupted = pending  # still waiting (or unreadable): offered again
        return False
    st.session_state.messages = restored
    return True


def interrupted_question(settings, options: TurnOptions) -> str | None:
    """A question this chat's link was stored with while it was being answered (the page was reloaded
    meanwhile, or the app stopped): follow its answer when this process is still computing it (then
    show the chat as stored), else offer to ask it again. Returns the question when asked again."""
    pending = st.session_state.get("interrupted")
    if pending is None:
        return None
    if finish_interrupted(settings, options) or answered_meanwhile(settings, pending):
        st.rerun()
    with st.chat_message("user"):
        st.markdown(md_escape(pending.content))
        st.caption("Not answered: its answer was interrupted (the page was reloaded, the app restarted or the "
                   "answer failed).")
        if st.button("Ask it again", key="ask_again"):
            st.session_state.interrupted = None
            return pending.content
    return None


def main() -> None:
    st.title("🎓 CourseTA")
    st.caption("Ask about the course readings and lecture notes. Answers cite the course materials; "
               "each citation is checked against its passage.")
    try:
        settings = get_settings()
        st.session_state.role = resolve_role(settings.app)  # consumes a ?ta= link, even when the index is missing
        agent = load_agent(str(current_index_dir(settings.retrieval.data_dir)))
    except CourseTAError as exc:
        # the sentence names server folders and commands: for TAs and the log, not for students (a tester's)
        log.warning("the chat cannot answer: %s", exc)
        st.error(str(exc) if st.session_state.get("role") == "ta" else NOT_READY)
        st.stop()
    messages = restore_conversation(settings)
    if st.session_state.get("read_only") and messages:
        st.info("A shared conversation, read-only. Asking a question continues it as a new chat of your own; "
                "the original stays as it was.")
    if warning := st.session_state.pop("store_warning", None):
        st.warning(md_escape(warning))  # it may quote the student's question
    options = sidebar(settings, agent)
    formula_style()
    for message in messages:
        with st.chat_message(message.role):
            if message.role == "user":
                st.markdown(md_escape(message.content))
            else:
                show_answer(message, on_feedback=None if st.session_state.get("read_only") else save_feedback,
                            details=st.session_state.get("role") == "ta",
                            expand_trace=options.office_hours)

    if options.office_hours:
        st.markdown("<style>.stMarkdown, .stChatMessage p, .stChatMessage li {font-size: 1.35rem !important;}</style>",
                    unsafe_allow_html=True)
    question = st.chat_input("Ask about the course… 例如：温度参数T有什么作用？", max_chars=MAX_QUESTION_CHARS)
    if question:
        # a new question: an interrupted one still being answered here (the page was reloaded meanwhile)
        # is finished into this chat first, so the follow-up continues it; else it is left as it is
        # (still in the chat's link)
        if finish_interrupted(settings, options):
            messages = st.session_state.messages
        st.session_state.interrupted = None
        st.session_state.pop("pending_demo", None)  # and a demo shown but not run is dropped: it followed other questions
    else:
        question = interrupted_question(settings, options)
    pending = st.session_state.get("pending_demo")
    if question and options.office_hours:
        code = agent.demo_code(question, options, [{"role": m.role, "content": m.content} for m in messages])
        if code:  # show the code first; run it on a click
            st.session_state.pending_demo = pending = {"question": question, "code": code}
            question = None
    if pending and not question:
        with st.chat_message("assistant"):
            st.markdown(f"**Code to run** for: {md_escape(pending['question'])}")
            st.code(visible_controls(pending["code"]), language="python")
            if st.button("▶ Run demo", type="primary"):
                question = st.session_state.pop("pending_demo")["question"]
    # Questions wait here until their answer is stored: a question sent while another is being answered
    # stops that run (Streamlit reruns the page), and the interrupted one is answered again first.
    # A question that fails for any other reason is dropped, not retried on every rerun.
    unanswered = st.session_state.setdefault("unanswered", [])
    if question and len(unanswered) >= MAX_WAITING:  # refused, and said: never one dropped unseen
        st.session_state.store_warning = (f"{MAX_WAITING} questions are already waiting for their answers, so this "
                                          f"one was not asked; ask it again when they have come: {question}")
    elif question:
        unanswered.append(question)
    if not unanswered:
        return
    messages = fork_if_read_only(messages)
    while unanswered:
        try:
            answer_one(unanswered[0], messages, agent, options, settings)
        except Exception:  # not Streamlit's rerun/stop (BaseException): that one is answered again
            # anything the agent does not turn into a sentence itself (a failure below it): one sentence
            # here, the question kept with "Ask it again" (interrupted_question), the rest still answered
            log.exception("answering a question failed")
            failed = unanswered[0]
            st.session_state.job = None
            if st.session_state.get("interrupted") is None:
                st.session_state.interrupted = ChatMessage(role="user", content=failed, id=uuid.uuid4().hex[:8],
                                                           pending=True)
            st.session_state.store_warning = ("A question could not be answered: something failed on the server "
                                              "(details in its log). It is shown below with a button to ask it again.")
        unanswered.pop(0)
    st.rerun()


main()
