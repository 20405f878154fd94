"""Errors retrieval raises on purpose; each message is one sentence a user can act on."""

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
