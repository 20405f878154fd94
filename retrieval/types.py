"""The records that flow through retrieval: Document → Chunk → Hit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Page:
    """Where one PDF page lies in its document's extracted text (1-based number)."""

    number: int
    start: int
    end: int


@dataclass
class Document:
    """One loaded source file.

    ``text`` is the extracted text every chunk offset points into: for Markdown the file
    minus front matter and template tags, for a PDF the pages' text joined by blank lines.
    """

    source: str  # path relative to the corpus folder, with forward slashes
    title: str
    text: str
    kind: str  # markdown | text | pdf
    content_hash: str
    pages: list[Page] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # from sources.yaml / front matter
    notes: list[str] = field(default_factory=list)  # things worth telling the user


@dataclass
class Chunk:
    """One retrievable passage with everything a citation needs."""

    id: str
    source: str
    title: str
    text: str
    heading_path: list[str]
    page: int | None
    start: int  # char offsets into Document.text
    end: int
    language: str  # zh | en
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: a short heading prefix, then the passage."""
        prefix = self.heading or self.title
        return f"{prefix}\n{self.text}" if prefix else self.text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Chunk":
        return cls(**data)


@dataclass
class Hit:
    """A search result: the chunk, its fused score and each retriever's 1-based rank (None = not retrieved)."""

    chunk: Chunk
    score: float
    ranks: dict[str, int | None]
    scores: dict[str, float | None] = field(default_factory=dict)

    # Convenience accessors so callers can write hit.text, hit.source, ...
    def __getattr__(self, name: str):
        if name == "chunk":  # not yet set during unpickling
            raise AttributeError(name)
        return getattr(self.chunk, name)

    def to_dict(self) -> dict[str, Any]:
        out = self.chunk.to_dict()
        out.update(score=self.score, ranks=self.ranks, scores=self.scores, heading=self.chunk.heading)
        return out
