"""Answers computed in threads of their own, so that a reload never loses one.

Streamlit stops a page's run when the browser reloads it or a new question arrives; an answer
computed inside that run was lost with it. Here the page starts an :class:`AnswerJob` and only
follows it: the job runs to its end whatever happens to the page, then stores the question and its
answer itself (``on_done``). A page that comes back (the same session rerun, or a reload opening
the chat's link) follows the same job from its first event (:meth:`AnswerJob.follow`), so the
answer streams on from where it was. The jobs of the process are kept per conversation on a
:class:`JobBoard`, which also stops the oldest jobs nobody follows when there are too many (a
student who asks and reloads again and again), and gives each conversation one lock for its saves.

>>> from agent.events import Done, Token
>>> events = [Token("熵衡量"), Token("不确定性。"), Done("the Answer record")]
>>> stored = []
>>> job = AnswerJob("熵是什么？", lambda: iter(events), lambda j: stored.append((j.question, j.answer)))
>>> job.start()
>>> "".join(e.text for e in job.follow() if isinstance(e, Token)), stored, job.finished
('熵衡量不确定性。', [('熵是什么？', 'the Answer record')], True)
>>> len(list(job.follow()))  # followed again (a rerun, a reload): from the first event
3
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from typing import Callable, Iterable, Iterator

from agent.events import Done, Event

log = logging.getLogger("courseta.app")


class AnswerFailed(RuntimeError):
    """The job's answer raised; the cause is the original exception (logged once, by the job)."""


class AnswerJob:
    """``produce`` yields the answer's events (``Agent.stream``); ``on_done(job)`` runs in the job's
    thread once a ``Done`` event came, before followers see the job finished (it stores the answer);
    it is not called when ``produce`` raises or the job is cancelled. Followers get every event, then
    :class:`AnswerFailed` if the answer raised."""

    def __init__(self, question: str, produce: Callable[[], Iterable[Event]], on_done: Callable[["AnswerJob"], None]):
        self.id = uuid.uuid4().hex[:12]
        self.question = question
        self.started = time.time()
        self.events: list[Event] = []
        self.answer = None
        self.error: BaseException | None = None
        self.warnings: list[str] = []  # one sentence each, for the page that follows (on_done adds them)
        self.stored = False  # on_done finished: the question and its answer are in the chat
        self.pending = None  # what the page stores in the answer's place until then (app.py: a ChatMessage)
        self.added: list = []  # what on_done added to the chat (app.py: the question and its answer)
        self.finished = False
        self.cancelled = threading.Event()
        self.followers = 0
        self.seen = time.monotonic()  # when a page last started, re-adopted or read the job (touch)
        self._produce, self._on_done = produce, on_done
        self._changed = threading.Condition()

    def start(self) -> None:
        threading.Thread(target=self._run, name="answer-job", daemon=True).start()

    def touch(self) -> None:
        """A page is about to follow the job (it may still be drawing the chat above it)."""
        self.seen = time.monotonic()

    def unfollowed_for(self) -> float:
        """Seconds since a page last touched or read the job; 0 while one follows it."""
        return 0.0 if self.followers else time.monotonic() - self.seen

    def cancel(self) -> None:
        """Stop after the current event; the answer is then neither finished nor stored (a local
        model stops decoding when its stream is closed)."""
        self.cancelled.set()

    def _run(self) -> None:
        events = iter(())
        try:
            events = iter(self._produce())
            for event in events:
                if self.cancelled.is_set():
                    break
                with self._changed:
                    self.events.append(event)
                    if isinstance(event, Done):
                        self.answer = event.answer
                    self._changed.notify_all()
            if self.answer is not None and not self.cancelled.is_set():
                self._on_done(self)
                self.stored = True
        except BaseException as exc:  # kept for the followers; the thread itself ends quietly
            log.exception("answering %r failed", self.question[:80])
            self.error = exc
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a cancelled answer's generator stops now, and frees the model
            with self._changed:
                self.finished = True
                self._changed.notify_all()

    def follow(self) -> Iterator[Event]:
        """Every event from the first, as they come; :class:`AnswerFailed` at the end if the answer raised."""
        with self._changed:
            self.followers += 1
        try:
            seen = 0
            while True:
                with self._changed:
                    while seen >= len(self.events) and not self.finished:
                        self._changed.wait(1.0)
                    if seen >= len(self.events):
                        break
                    event = self.events[seen]
                seen += 1
                self.seen = time.monotonic()
                yield event
        finally:  # also when the page following it is stopped (the generator is closed)
            with self._changed:
                self.followers -= 1
                self.seen = time.monotonic()
        if self.error is not None:
            raise AnswerFailed("the answer failed") from self.error


class JobBoard:
    """The process's answer jobs, the latest per conversation id (finished ones are let go when the
    next job starts); at most ``max_unfollowed`` running jobs that no page has followed for
    ``grace_s`` seconds (the oldest are cancelled first: a closed tab's; a page being redrawn or
    reloaded comes back to its job within seconds); and a lock per conversation, held around each
    save of its messages.

    >>> board = JobBoard(max_unfollowed=1, grace_s=0)
    >>> a, b = (AnswerJob(q, lambda: iter(()), lambda j: None) for q in "ab")
    >>> board.put("c1", a); board.running("c1") is a, board.running("c2")
    (True, None)
    >>> board.put("c2", b); a.cancelled.is_set(), b.cancelled.is_set()  # two nobody follows: the older stops
    (True, False)
    >>> b.finished = True; board.running("c2"), board.get("c2") is b
    (None, True)
    >>> patient = JobBoard(max_unfollowed=0, grace_s=60); c = AnswerJob("c", lambda: iter(()), lambda j: None)
    >>> patient.put("c3", c); c.cancelled.is_set()  # just started: its page will follow it
    False
    >>> one = JobBoard(max_unfollowed=1, grace_s=0); d, e = (AnswerJob(q, lambda: iter(()), lambda j: None) for q in "de")
    >>> one.put("c4", d); one.put("c4", e); d.cancelled.is_set()  # replaced in its chat, still counted
    True
    """

    def __init__(self, max_unfollowed: int = 4, grace_s: float = 15.0, stripes: int = 64):
        self.max_unfollowed = max_unfollowed
        self.grace_s = grace_s
        self._jobs: dict[str, AnswerJob] = {}  # the latest per conversation
        self._running: list[AnswerJob] = []  # every job not finished, latest or not, with a chat or not
        self._lock = threading.Lock()
        self._saves = [threading.Lock() for _ in range(stripes)]

    def put(self, cid: str | None, job: AnswerJob) -> None:
        """Keep ``job`` (under its conversation ``cid``, if any) and stop the oldest unfollowed jobs."""
        with self._lock:
            self._jobs = {c: j for c, j in self._jobs.items() if not j.finished}
            if cid:
                self._jobs[cid] = job
            self._running = [j for j in self._running if not j.finished] + [job]
            idle = sorted((j for j in self._running
                           if not j.cancelled.is_set() and j.unfollowed_for() > self.grace_s), key=lambda j: j.started)
        for stale in idle[:max(0, len(idle) - self.max_unfollowed)]:
            log.info("cancelling an answer nobody follows (%d running unfollowed)", len(idle))
            stale.cancel()

    def get(self, cid: str | None) -> AnswerJob | None:
        with self._lock:
            return self._jobs.get(cid or "")

    def running(self, cid: str | None) -> AnswerJob | None:
        job = self.get(cid)
        return job if job is not None and not job.finished else None

    def save_lock(self, cid: str) -> threading.Lock:
        """The lock every save of conversation ``cid``'s messages holds (a page's and its job's)."""
        return self._saves[zlib.crc32(cid.encode()) % len(self._saves)]
