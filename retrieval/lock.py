"""One ingest at a time per data folder: an exclusive ``flock`` on the folder, held for the whole ingest.

Two ingests at once (two CLIs, or the upload page and a CLI) used to race: each deleted the
other's folders and ``CURRENT`` could name a half-deleted index. Every ingest now takes this
lock first; the second one waits (up to ``timeout_s``) and then works on the first one's result.

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> with ingest_lock(d, timeout_s=0):
...     try:
...         with ingest_lock(d, timeout_s=0):
...             pass
...     except IngestBusyError as exc:
...         print("busy")
busy

The lock is an OS file lock, so it is released when the process dies (no stale lock files to
clean up), and it works across processes on one machine and on local file systems. Several
machines sharing one data folder over NFS need a lock service instead (docs/DEPLOYMENT.md).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from retrieval.errors import RetrievalError

_POLL_S = 0.1


class IngestBusyError(RetrievalError):
    """Another ingest holds the lock and did not finish in time."""


# flock is per open file description: two threads of one process opening the file separately
# do exclude each other, but this in-process lock keeps threads from spinning on it.
_thread_lock = threading.Lock()


# the lock file releases before 2026-12-05 took: an app process of such a release still running beside
# a newer CLI (an upgrade under way) must exclude it too, so a newer ingest takes both
LEGACY_LOCK_FILE = ".ingest.lock"


@contextmanager
def ingest_lock(data_dir, timeout_s: float = 900.0):
    """Hold the data folder's ingest lock; raise IngestBusyError after ``timeout_s`` seconds of waiting."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    acquired = _thread_lock.acquire(timeout=timeout_s) if timeout_s > 0 else _thread_lock.acquire(blocking=False)
    if not acquired:
        raise IngestBusyError("another ingest is running in this app; try again when it has finished")
    fds = []
    try:
        # the folder itself is locked, not a file in it: a lock file deleted during an ingest (a
        # clean-up script) let the next ingest lock a new file of that name and run alongside it
        fds.append(os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        _wait_for(fds[-1], deadline)
        try:
            fds.append(os.open(data_dir / LEGACY_LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
        except OSError:
            pass  # not ours to open (another user's, a symlink): only an older release would need it
        else:
            _wait_for(fds[-1], deadline)
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)  # closing releases its lock
        _thread_lock.release()


def _wait_for(fd: int, deadline: float) -> None:
    wait_for_lock(fd, deadline, IngestBusyError(
        "another ingest of this index is running (a CLI or the upload page); try again when it has finished"))


def wait_for_lock(fd: int, deadline: float, busy: Exception) -> None:
    """``flock`` ``fd`` exclusively, trying again until ``deadline`` (``time.monotonic``); then raise ``busy``."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise busy from None
            time.sleep(_POLL_S)
