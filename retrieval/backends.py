"""Search structures over the stored chunks: a FAISS dense index and a bm25s lexical index.

>>> import numpy as np
>>> vecs = np.eye(3, dtype=np.float32)
>>> dense = DenseIndex.build(vecs, exact_max=10)
>>> dense.kind, dense.search(np.array([0, 1, 0], dtype=np.float32), 2)[0][0]
('flat', 1)
>>> lex = LexicalIndex.build([["温度", "参数"], ["语言", "模型"]])
>>> lex.search(["模型"], 2)
[(1, ...)]
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def faiss_gpu_count() -> int:
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    try:
        return int(get()) if get else 0
    except Exception:  # CPU builds may raise instead of returning 0
        return 0


class DenseIndex:
    """Inner-product search over normalised vectors: exact up to ``exact_max`` rows, HNSW beyond.

    When faiss reports GPUs (and ``use_gpu``), the index is copied to all of them.
    """

    HNSW_M = 32
    HNSW_EF_SEARCH = 128

    def __init__(self, index, kind: str, device: str):
        self.index = index
        self.kind = kind
        self.device = device

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(cls, vectors: np.ndarray, exact_max: int, use_gpu: bool = True) -> "DenseIndex":
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) <= exact_max:
            index, kind = faiss.IndexFlatIP(dim), "flat"
        else:
            index = faiss.IndexHNSWFlat(dim, cls.HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            kind = "hnsw"
        index.add(vectors)
        return cls._placed(index, kind, use_gpu)

    @classmethod
    def _placed(cls, index, kind: str, use_gpu: bool) -> "DenseIndex":
        import faiss

        if kind == "hnsw":
            index.hnsw.efSearch = cls.HNSW_EF_SEARCH
        if use_gpu and kind == "flat" and faiss_gpu_count() > 0:
            index = faiss.index_cpu_to_all_gpus(index)
            return cls(index, kind, "gpu")
        return cls(index, kind, "cpu")

    def save(self, path: Path) -> None:
        import faiss

        index = self.index
        if self.device == "gpu":
            index = faiss.index_gpu_to_cpu(index)
        faiss.write_index(index, str(path))

    @classmethod
    def load(cls, path: Path, use_gpu: bool = True) -> "DenseIndex":
        import faiss

        index = faiss.read_index(str(path))
        kind = "hnsw" if isinstance(index, faiss.IndexHNSW) or "HNSW" in type(index).__name__ else "flat"
        return cls._placed(index, kind, use_gpu)

    def search(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        if self.size == 0:
            return []
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(n, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class LexicalIndex:
    """BM25 (bm25s, Lucene variant) over pre-tokenised chunks."""

    def __init__(self, bm25, n_docs: int):
        self.bm25 = bm25
        self.n_docs = n_docs

    @classmethod
    def build(cls, corpus_tokens: list[list[str]]) -> "LexicalIndex":
        import bm25s

        bm25 = bm25s.BM25()
        if corpus_tokens:
            bm25.index(corpus_tokens, show_progress=False)
        return cls(bm25, len(corpus_tokens))

    def save(self, path: Path) -> None:
        self.bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path, n_docs: int) -> "LexicalIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(path), show_progress=False, verbosity=0), n_docs)

    def search(
        self, query_tokens: list[str], n: int, extra_tokens: list[str] = (), extra_weight: float = 1.0
    ) -> list[tuple[int, float]]:
        """Top ``n`` (doc, score); ``extra_tokens`` (e.g. glossary expansions) count ``extra_weight`` times."""
        if not self.n_docs:
            return []
        ids = self.bm25.get_tokens_ids(list(query_tokens))
        extra = self.bm25.get_tokens_ids([t for t in extra_tokens if t not in query_tokens])
        if not ids and not (extra and extra_weight):
            return []
        scores = self.bm25.get_scores_from_ids(ids) if ids else np.zeros(self.n_docs, dtype=np.float32)
        if extra and extra_weight:
            scores = scores + extra_weight * self.bm25.get_scores_from_ids(extra)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
