"""Answers computed in threads of their own, so that a reload or a closed tab never loses one.

Streamlit stops a page's run when the browser reloads it or a new question arrives; an answer
computed inside that run was lost with it. Here the page starts an :class:`AnswerJob` and only
follows it: the job runs to its end whatever happens to the page, then stores the question and its
answer itself (``on_done``). A page that comes back (the same session rerun, or a reload opening
the chat's link) follows the same job from its first event (:meth:`AnswerJob.follow`), so the
answer streams on from where it was. The running jobs of the process are kept per conversation on
a :class:`JobBoard`.

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
from typing import Callable, Iterable, Iterator

from agent.events import Done, Event

log = logging.getLogger("courseta.app")


class AnswerJob:
    """``produce`` yields the answer's events (``Agent.stream``); ``on_done(job)`` runs in the job's
    thread once a ``Done`` event came, before followers see the job finished (it stores the answer);
    it is not called when ``produce`` raises. Followers get every event, then the error if any."""

    def __init__(self, question: str, produce: Callable[[], Iterable[Event]], on_done: Callable[["AnswerJob"], None]):
        self.question = question
        self.started = time.time()
        self.events: list[Event] = []
        self.answer = None
        self.error: BaseException | None = None
        self.warnings: list[str] = []  # one sentence each, for the page that follows (on_done adds them)
        self.finished = False
        self._produce, self._on_done = produce, on_done
        self._changed = threading.Condition()

    def start(self) -> None:
        threading.Thread(target=self._run, name="answer-job", daemon=True).start()

    def _run(self) -> None:
        try:
            for event in self._produce():
                with self._changed:
                    self.events.append(event)
                    if isinstance(event, Done):
                        self.answer = event.answer
                    self._changed.notify_all()
            if self.answer is not None:
                self._on_done(self)
        except BaseException as exc:  # kept for the followers; the thread itself ends quietly
            log.exception("answering %r failed", self.question[:80])
            self.error = exc
        finally:
            with self._changed:
                self.finished = True
                self._changed.notify_all()

    def follow(self) -> Iterator[Event]:
        """Every event from the first, as they come; raises the job's error at the end, if any."""
        seen = 0
        while True:
            with self._changed:
                while seen >= len(self.events) and not self.finished:
                    self._changed.wait(1.0)
                if seen >= len(self.events):
                    break
                event = self.events[seen]
            seen += 1
            yield event
        if self.error is not None:
            raise self.error


class JobBoard:
    """The process's answer jobs, the latest per conversation id; finished ones are let go when the
    next job starts.

    >>> board = JobBoard()
    >>> job = AnswerJob("q", lambda: iter(()), lambda j: None)
    >>> board.put("c1", job); board.running("c1") is job, board.running("c2")
    (True, None)
    >>> job.finished = True; board.running("c1"), board.get("c1") is job
    (None, True)
    """

    def __init__(self):
        self._jobs: dict[str, AnswerJob] = {}
        self._lock = threading.Lock()

    def put(self, cid: str, job: AnswerJob) -> None:
        with self._lock:
            self._jobs = {c: j for c, j in self._jobs.items() if not j.finished}
            self._jobs[cid] = job

    def get(self, cid: str | None) -> AnswerJob | None:
        with self._lock:
            return self._jobs.get(cid or "")

    def running(self, cid: str | None) -> AnswerJob | None:
        job = self.get(cid)
        return job if job is not None and not job.finished else None
