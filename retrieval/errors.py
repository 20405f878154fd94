"""Errors retrieval raises on purpose; each message is one sentence a user can act on."""

import shutil
from pathlib import Path

from common.errors import CourseTAError


class RetrievalError(CourseTAError):
    """The root of the retrieval layer: the CLI and pages print ``str(err)`` without a traceback."""


class EmbedderError(RetrievalError):
    """The embedding backend is unknown or cannot be loaded."""


class IndexMissingError(RetrievalError):
    """No index has been built yet in the data folder."""


class IndexCorruptError(RetrievalError):
    """A file of the stored index is missing, truncated or differs from its manifest; the message says what to run."""


class IndexMismatchError(RetrievalError):
    """The stored index was built with another embedder or chunking than the settings ask for."""


class LoadError(RetrievalError):
    """A file cannot be indexed; ``str(err)`` is the reason shown to the user (ingest skips the file)."""


class UploadError(RetrievalError):
    """An upload is refused; the message says why."""


class NotIndexedYet(UploadError):
    """The same content was uploaded before and is not in the index yet (``path``): nothing is saved
    again, but an ingest should run. A TA whose upload waited out another ingest was told to try again,
    and the retry was refused as a duplicate while the first copy stayed out of the index."""

    def __init__(self, message: str, path):
        super().__init__(message)
        self.path = path


def os_error_sentence(exc: OSError, near=None) -> str:
    """What went wrong, in words: the system's reason, or the library's own message (numpy's "9600
    requested and 2016 written" has no reason), the file, and how little room is left on its disk
    (the file's, else the disk of ``near``: the data folder).

    >>> os_error_sentence(OSError(28, "No space left on device", "/no/such/x.npy")).startswith(
    ...     "No space left on device (/no/such/x.npy)")
    True
    >>> os_error_sentence(OSError("9600 requested and 2016 written"))
    'could not write: 9600 requested and 2016 written'
    """
    reason = exc.strerror or (f"could not write: {exc}" if str(exc) else type(exc).__name__)
    where = f" ({exc.filename})" if exc.filename else ""
    folder = Path(exc.filename) if exc.filename else (Path(near) if near else None)
    while folder is not None and not folder.exists() and folder != folder.parent:  # a build folder removed since
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free if folder is not None else None
    except OSError:
        free = None
    room = f"; only {free / 2**20:.1f} MB free on that disk" if free is not None and free < 256 * 2**20 else ""
    return f"{reason}{where}{room}"
