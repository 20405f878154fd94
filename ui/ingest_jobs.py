"""Ingests started from the Corpus page run in a background thread, never in a page's request thread.

An upload used to be indexed inside the page script, so a big file held that session's script
(and the GIL-heavy parts slowed every other user's chat). The page now starts a job here and
polls it; the job runs :func:`retrieval.ingest.ingest`, which takes the data folder's ingest lock,
so a job and a CLI ingest never overlap. One registry per process (module level, not
``st.cache_resource``: clearing the cache after an ingest must not lose the jobs).

>>> from settings import load_settings
>>> import tempfile, pathlib, time
>>> corpus = pathlib.Path(tempfile.mkdtemp())
>>> _ = (corpus / "a.md").write_text("# A\\n\\n温度参数控制随机性。\\n", encoding="utf-8")
>>> s = load_settings(embedder="hash:16", corpus_dir=corpus, data_dir=corpus / "data").retrieval
>>> job = JOBS.start(s)
>>> job.wait(60).done, job.error, job.report["n_chunks"] > 0
(True, None, True)
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field

from common.errors import CourseTAError
from retrieval.errors import os_error_sentence

log = logging.getLogger(__name__)


@dataclass
class IngestJob:
    id: str
    started: float = field(default_factory=time.time)
    fraction: float = 0.0
    message: str = "queued"
    report: dict | None = None  # IngestReport.to_dict() plus "summary"
    error: str | None = None  # one sentence
    done: bool = False
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> "IngestJob":
        self._finished.wait(timeout)
        return self


class IngestJobs:
    def __init__(self, keep: int = 50):
        self._jobs: dict[str, IngestJob] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def start(self, settings, ingest_fn=None) -> IngestJob:
        """Start ``ingest(settings)`` in a daemon thread; returns its job at once."""
        from retrieval.ingest import ingest

        job = IngestJob(id=secrets.token_urlsafe(8))
        with self._lock:
            self._jobs[job.id] = job
            for old in sorted(self._jobs.values(), key=lambda j: j.started)[: max(0, len(self._jobs) - self._keep)]:
                if old.done:
                    del self._jobs[old.id]

        def progress(fraction: float, message: str) -> None:
            job.fraction, job.message = fraction, message

        def run() -> None:
            try:
                report = (ingest_fn or ingest)(settings, progress=False, on_progress=progress)
                job.report = {**report.to_dict(), "summary": report.summary()}
            except CourseTAError as exc:
                job.error = str(exc)
            except OSError as exc:  # a full disk, a folder the app may not write
                log.warning("ingest job %s failed", job.id, exc_info=True)
                job.error = f"indexing failed: {os_error_sentence(exc, settings.data_dir)}; the previous index is still in use"
            except Exception:  # noqa: BLE001 - the page shows one sentence; the log has the details
                log.exception("ingest job %s failed", job.id)
                job.error = "indexing failed unexpectedly; the previous index is still in use (details in the server log)"
            finally:
                job.done = True
                job._finished.set()

        threading.Thread(target=run, name=f"ingest-{job.id}", daemon=True).start()
        return job

    def running(self) -> list[IngestJob]:
        """The jobs not done yet, oldest first: a Corpus page opened while one runs (a reload, another TA)
        follows it, and gets its report."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if not j.done), key=lambda j: j.started)

    def get(self, job_id: str | None) -> IngestJob | None:
        with self._lock:
            return self._jobs.get(job_id) if job_id else None


JOBS = IngestJobs()
