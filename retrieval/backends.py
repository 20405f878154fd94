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

import errno

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)


def torch_cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device (without importing torch when it is absent)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


class TorchExactIndex:
    """Exact inner-product search as one matmul + top-k in torch: FAISS ``IndexFlatIP`` for GPUs faiss can't use.

    Same results as ``IndexFlatIP`` (fp32 throughout; TF32 is switched off for the matmul).

    >>> import numpy as np
    >>> index = TorchExactIndex(np.eye(3, dtype=np.float32), device="cpu")
    >>> index.search(np.array([[0, 1, 0.5]], dtype=np.float32), 2)[1].tolist()
    [[1, 2]]
    """

    def __init__(self, vectors: np.ndarray, device: str = "cuda"):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.vectors = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)).to(self.device)

    @property
    def ntotal(self) -> int:
        return int(self.vectors.shape[0])

    def search(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each ``len(queries) × n``, best first: the signature of ``faiss.Index.search``."""
        torch = self.torch
        q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.vectors.shape[1]))
        q = q.to(self.device, non_blocking=True)
        tf32 = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            with torch.inference_mode():
                scores, ids = torch.topk(q @ self.vectors.T, min(n, self.ntotal), dim=1)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = tf32
        return scores.cpu().numpy(), ids.cpu().numpy()


def faiss_gpu_count() -> int:
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    try:
        return int(get()) if get else 0
    except Exception:  # CPU builds may raise instead of returning 0
        return 0


class DenseIndex:
    """Inner-product search over normalised vectors: exact up to ``exact_max`` rows, HNSW beyond.

    With ``use_gpu``, an exact index goes to the GPU: to all GPUs through faiss when faiss reports
    any (``device == "gpu"``), else to torch's CUDA device as a :class:`TorchExactIndex`
    (``device == "torch-cuda"``; faiss-cpu with a CUDA torch, e.g. CUDA 13 where the faiss-gpu
    wheels can't run). ``self.index`` stays a faiss index for saving.
    """

    HNSW_M = 32
    HNSW_EF_SEARCH = 128
    HNSW_EF_CONSTRUCTION = 80
    TORCH_DEVICE = "cuda"  # where TorchExactIndex goes (tests put it on the CPU)

    def __init__(self, index, kind: str, device: str, searcher=None):
        self.index = index
        self.kind = kind
        self.device = device
        self.searcher = searcher if searcher is not None else index  # what answers queries: faiss's search()

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
            index.hnsw.efConstruction = cls.HNSW_EF_CONSTRUCTION
            kind = "hnsw"
        index.add(vectors)
        return cls._placed(index, kind, use_gpu)

    @classmethod
    def _placed(cls, index, kind: str, use_gpu: bool) -> "DenseIndex":
        import faiss

        if kind == "hnsw":
            index.hnsw.efSearch = cls.HNSW_EF_SEARCH
        if use_gpu and kind == "flat" and index.ntotal:
            if faiss_gpu_count() > 0:
                index = faiss.index_cpu_to_all_gpus(index)
                return cls(index, kind, "gpu")
            if torch_cuda_available():
                vectors = faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)
                return cls(index, kind, "torch-cuda", TorchExactIndex(vectors, cls.TORCH_DEVICE))
        return cls(index, kind, "cpu")

    def save(self, path: Path) -> None:
        import faiss

        index = self.index
        if self.device == "gpu":
            index = faiss.index_gpu_to_cpu(index)
        try:
            faiss.write_index(index, str(path))
        except RuntimeError as exc:  # faiss's C++ write error (a full disk): an OSError, as numpy's would be
            raise OSError(errno.EIO, "the FAISS index could not be written", str(path)) from exc

    @classmethod
    def load(cls, path: Path, use_gpu: bool = True) -> "DenseIndex":
        import faiss

        index = faiss.read_index(str(path))
        kind = "hnsw" if isinstance(index, faiss.IndexHNSW) or "HNSW" in type(index).__name__ else "flat"
        return cls._placed(index, kind, use_gpu)

    def search(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        if self.size == 0:
            return []
        scores, ids = self.search_many(query.reshape(1, -1), n)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def search_many(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch of queries at once: (scores, ids) arrays of shape ``len(queries) × min(n, size)``."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries.reshape(1, -1)
        return self.searcher.search(queries, min(n, self.size))


FLAT_FILE = "dense.faiss"  # always exact: the GPU copy is made from it
ANN_FILE = "dense-hnsw.faiss"  # written only beyond exact_max: what a CPU-only machine searches


def save_dense(folder: Path, vectors: np.ndarray, exact_max: int) -> None:
    """Write the exact index, and an HNSW one too when there are more than ``exact_max`` vectors."""
    DenseIndex.build(vectors, exact_max=max(exact_max, len(vectors)), use_gpu=False).save(folder / FLAT_FILE)
    if len(vectors) > exact_max:
        DenseIndex.build(vectors, exact_max=exact_max, use_gpu=False).save(folder / ANN_FILE)


def gpu_available() -> bool:
    return faiss_gpu_count() > 0 or torch_cuda_available()


def load_dense(folder: Path, use_gpu: bool = True) -> DenseIndex:
    """The exact index on a GPU when there is one; else HNSW when it was written (large indexes); else exact on the CPU.

    (bench/search.py: at 100k chunks exact search takes 16–70 ms on 2 CPU cores, HNSW under 1 ms
    at recall@10 ≥ 0.99 on clustered data; a GPU searches 1M exactly in a few ms.)
    """
    if use_gpu and gpu_available():
        return DenseIndex.load(folder / FLAT_FILE, use_gpu=True)
    if (folder / ANN_FILE).exists():
        return DenseIndex.load(folder / ANN_FILE, use_gpu=False)
    return DenseIndex.load(folder / FLAT_FILE, use_gpu=False)


EMPTY_MARKER = "empty"  # bm25/empty: an index of no documents (LexicalIndex.save)


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
        """Write it under ``path``; an index of no documents (every file removed or skipped) is a
        folder with an ``empty`` marker: bm25s cannot save one, and the index must still be written,
        or the old one would go on serving the removed files."""
        if not self.n_docs:
            path.mkdir(parents=True, exist_ok=True)
            (path / EMPTY_MARKER).write_text("no documents\n", encoding="utf-8")
            return
        self.bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path, n_docs: int) -> "LexicalIndex":
        """The index saved under ``path`` (``n_docs``: the chunks it must hold)."""
        import bm25s

        if not n_docs:
            return cls.build([])
        return cls(bm25s.BM25.load(str(path), show_progress=False, verbosity=0), n_docs)

    def holding(self, tokens: Sequence[str]) -> set[int]:
        """The documents holding any of ``tokens``.

        >>> LexicalIndex.build([["hw1", "out"], ["作业"], ["hw2", "due"]]).holding(["hw2", "hw9"])
        {2}
        """
        ids = self.bm25.get_tokens_ids(list(tokens)) if self.n_docs and tokens else []
        return set(np.flatnonzero(self.bm25.get_scores_from_ids(ids) > 0).tolist()) if ids else set()

    def search(
        self, query_tokens: list[str], n: int, extra_tokens: list[str] = (), extra_weight: float = 1.0,
        more: Sequence[tuple[Sequence[str], float]] = (),
    ) -> list[tuple[int, float]]:
        """Top ``n`` (doc, score); ``extra_tokens`` (e.g. glossary expansions) count ``extra_weight`` times,
        and each further group of ``more`` (tokens, weight) — e.g. the question's translation — its own
        weight; a token counts once, in the first group that has it.

        >>> idx = LexicalIndex.build([["温度", "采样"], ["注意力"], ["temperature"]])
        >>> idx.search(["temperature"], 3, more=[(["温度", "temperature"], 0.5)])[0][0], len(idx.search(["x"], 3))
        (2, 0)
        """
        if not self.n_docs:
            return []
        scores = np.zeros(self.n_docs, dtype=np.float32)
        seen: set[str] = set()
        for tokens, weight in [(query_tokens, 1.0), (extra_tokens, extra_weight), *more]:
            if not weight:
                continue
            fresh = [t for t in tokens if t not in seen]  # repeats within the query count, as in bm25s
            seen.update(fresh)
            ids = self.bm25.get_tokens_ids(fresh) if fresh else []
            if ids:
                scores = scores + weight * self.bm25.get_scores_from_ids(ids)
        n = min(n, len(scores))  # no token matched: every score is 0 and the filter below leaves nothing
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
