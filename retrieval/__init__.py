"""Retrieval core of CourseTA: load → chunk → embed → index → search.

    >>> from retrieval import search          # doctest: +SKIP
    >>> search("什么是语言模型", k=5)[0].heading  # doctest: +SKIP
    '1.1 什么是语言模型'

Heavy modules (torch, faiss, jieba) load lazily, on first use.
"""

from retrieval.errors import (  # noqa: F401
    EmbedderError,
    IndexMismatchError,
    IndexMissingError,
    RetrievalError,
)
from retrieval.types import Chunk, Document, Hit  # noqa: F401


def search(query: str, k: int = 5) -> list[Hit]:
    """Hybrid search of the default index; see :mod:`retrieval.search`."""
    from retrieval.search import search as _search

    return _search(query, k)


__all__ = ["search", "Hit", "Chunk", "Document", "RetrievalError", "EmbedderError",
           "IndexMismatchError", "IndexMissingError"]
