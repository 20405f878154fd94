"""Errors retrieval raises on purpose; each message is one sentence a user can act on."""


class RetrievalError(Exception):
    """Base class: the CLI prints ``str(err)`` without a traceback."""


class EmbedderError(RetrievalError):
    """The embedding backend is unknown or cannot be loaded."""


class IndexMissingError(RetrievalError):
    """No index has been built yet in the data folder."""


class IndexMismatchError(RetrievalError):
    """The stored index was built with another embedder or chunking than the settings ask for."""
