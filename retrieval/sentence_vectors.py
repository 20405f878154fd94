"""Every passage and each of its sentences embedded once, at ingest, and kept beside the index.

The answer step compares the question and the model's sentences with each sentence of the passages
it found (agent/semantic.py: which sentences to quote or give the writer, the scope guard, the
citation check). Embedded when a question first needs them, they were nearly all of a quoted
answer's time with e5 on 2 cores: 0.3-3.1 s a question, 7-89 texts
(``python bench/sentence_vectors.py``). So ingest embeds them with the passages, into two files of the
index folder that its manifest checks like the others:

- ``sentences.json``: the texts (each passage's text, then its sentences: :func:`pieces`), once each;
- ``sentences.npy``: their passage-side vectors, row i for text i.

:class:`KnownVectors` hands them to whoever embeds through the retriever's embedder and embeds only
the texts it has not seen (a question, a sentence a model wrote). The vectors are the embedder's
own (the same call the answer step would make), so answers do not change, they only come sooner.

>>> pieces("温度控制随机性。T=0 时确定。")
['温度控制随机性。T=0 时确定。', '温度控制随机性。', 'T=0 时确定。']
>>> from retrieval.embedders import HashEmbedder
>>> inner = HashEmbedder(16)
>>> known = KnownVectors(inner, ["熵。"], inner.embed(["熵。"]))
>>> known.name, known.known("熵。"), known.known("温度。")
('hash:16', True, False)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from common.text import split_sentences

TEXTS = "sentences.json"
VECTORS = "sentences.npy"
FILES = (TEXTS, VECTORS)
SLICE = 2048  # texts embedded between two progress reports


def pieces(text: str) -> list[str]:
    """The texts of a passage the answer step embeds: the passage, then its sentences (stripped,
    without empty ones), each once, in order."""
    return list(dict.fromkeys([text, *(s.strip() for s in split_sentences(text) if s.strip())]))


def sentence_table(texts: Sequence[str], embedder, known: dict[str, np.ndarray], batch_size: int = 64,
                   progress: bool = False, on_progress=None) -> tuple[list[str], np.ndarray]:
    """(every piece of ``texts``, its vector): those in ``known`` (the previous index's, for files that
    did not change) reused, the others embedded now with ``embedder``, ``SLICE`` at a time;
    ``on_progress(done, total)`` after each slice (the Corpus page's progress bar)."""
    table = list(dict.fromkeys(p for text in texts for p in pieces(text)))
    missing = [t for t in table if t not in known]
    fresh: dict[str, np.ndarray] = {}
    for start in range(0, len(missing), SLICE):
        part = missing[start:start + SLICE]
        fresh.update(zip(part, embedder.embed(part, batch_size=batch_size, progress=progress)))
        if on_progress is not None:
            on_progress(start + len(part), len(missing))
    if not table:
        return [], np.zeros((0, embedder.dim), dtype=np.float32)
    return table, np.stack([fresh[t] if t in fresh else known[t] for t in table]).astype(np.float32, copy=False)


def save(folder: Path, texts: list[str], vectors: np.ndarray) -> None:
    (folder / TEXTS).write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    np.save(folder / VECTORS, np.asarray(vectors, dtype=np.float32))


def load(folder: Path, count: int, dim: int) -> tuple[list[str], np.ndarray]:
    """The table saved in ``folder``; ValueError when it is not ``count`` texts and vectors of ``dim``."""
    texts = json.loads((folder / TEXTS).read_text(encoding="utf-8"))
    vectors = np.load(folder / VECTORS, allow_pickle=False)
    if (not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or vectors.ndim != 2
            or len(texts) != count or vectors.shape != (count, dim)):
        raise ValueError(f"{TEXTS} / {VECTORS} do not hold {count} texts and {dim}-dim vectors")
    return texts, vectors


class KnownVectors:
    """An embedder that answers from the index's table for texts it holds and asks ``inner`` for the
    rest; everything else (``name``, ``dim``, ``embed_queries`` where ``inner`` has it) is ``inner``'s."""

    def __init__(self, inner, texts: list[str], vectors: np.ndarray):
        self.inner = inner
        self._row = {t: i for i, t in enumerate(texts)}
        self._vectors = vectors

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def known(self, text: str) -> bool:
        return text in self._row

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        rows = [self._row.get(t) for t in texts]
        missing = [t for t, r in zip(texts, rows) if r is None]
        if not missing:
            return self._vectors[rows] if rows else np.zeros((0, self.dim), dtype=np.float32)
        fresh = iter(self.inner.embed(missing, batch_size=batch_size, progress=progress))
        return np.stack([self._vectors[r] if r is not None else next(fresh) for r in rows]).astype(np.float32, copy=False)

    def __getattr__(self, name: str):
        if name == "inner":  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.inner, name)
