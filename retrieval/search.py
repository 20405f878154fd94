"""Hybrid search: BM25 over jieba tokens + dense vectors in FAISS, fused, optionally reranked.

>>> from settings import load_settings
>>> from retrieval.ingest import ingest
>>> s = load_settings(embedder="hash:64", corpus_dir="corpus", data_dir="/tmp/ct-doctest").retrieval
>>> _ = ingest(s, progress=False)
>>> hits = Retriever.load(s).search("温度参数", k=3)
>>> len(hits), sorted(hits[0].ranks)
(3, ['bm25', 'dense'])

Fusion weights depend on the query's language: the default English-only embedder is weak
on Chinese, so Chinese queries lean on BM25 (numbers behind the defaults: docs/EVALUATION.md).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np

from retrieval.backends import DenseIndex, LexicalIndex, load_dense
from retrieval.embedders import Embedder, embed_queries, get_embedder, resolve_device, second_embedder_name
from retrieval.errors import EmbedderError, IndexCorruptError, IndexMismatchError, IndexMissingError
from retrieval.glossary import homework_aliases, load_glossary, with_homework_aliases
from retrieval.sentence_vectors import KnownVectors
from retrieval.store import REBUILD_HINT, StoredIndex, current_index_dir, load_stored, mismatch_reason
from common.text import detect_language, term_forms, tokenize
from retrieval.types import Hit


def fuse(
    rankings: dict[str, list[tuple[int, float]]],
    weights: dict[str, float],
    method: str = "rrf",
    rrf_k: int = 60,
) -> list[tuple[int, float]]:
    """Combine ranked lists of (doc, score) into one ranking of (doc, fused score).

    >>> fuse({"bm25": [(1, 9.0), (2, 3.0)], "dense": [(2, 0.8), (3, 0.5)]}, {"bm25": 1, "dense": 1}, rrf_k=1)
    [(2, 0.8333333333333333), (1, 0.5), (3, 0.3333333333333333)]
    """
    fused: dict[int, float] = {}
    for name, ranked in rankings.items():
        w = weights.get(name, 0.0)
        if not ranked or w == 0:
            continue
        if method == "rrf":
            for rank, (doc, _) in enumerate(ranked, start=1):
                fused[doc] = fused.get(doc, 0.0) + w / (rrf_k + rank)
        elif method == "score":
            scores = np.array([s for _, s in ranked], dtype=np.float64)
            lo, hi = scores.min(), scores.max()
            span = hi - lo if hi > lo else 1.0
            for (doc, s) in ranked:
                fused[doc] = fused.get(doc, 0.0) + w * ((s - lo) / span if hi > lo else 1.0)
        else:
            raise ValueError(f"unknown fusion method {method!r}; use rrf or score")
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


class Retriever:
    """Loaded index + embedder. Build once per process; ``search`` is thread-safe for reads.

    ``settings`` is the :class:`settings.RetrievalSettings` slice.
    """

    def __init__(self, settings, stored: StoredIndex, embedder: Embedder, dense: DenseIndex, lexical: LexicalIndex,
                 second: Embedder | None = None):
        self.settings = settings
        self.second = second  # the second dense embedder (settings.second_embedder), with stored.vectors2
        self.stored = stored
        self.chunks = stored.chunks
        self.embedder = embedder
        self.dense = dense
        self.lexical = lexical
        self._reranker = None
        self._languages: dict[str, float] | None = None
        self._term_forms: frozenset[str] | None = None

    @classmethod
    def load(cls, settings, embedder: Embedder | None = None) -> "Retriever":
        """Load the live index, checked against its manifest.

        An ingest finishing meanwhile may replace the folder being read (it keeps the one it
        replaced, but a second ingest right after removes it): then load the new one instead.
        """
        for attempt in range(3):
            before = current_index_dir(settings.data_dir)
            try:
                return cls._load_once(settings, embedder)
            except (IndexCorruptError, IndexMissingError):
                if attempt == 2 or current_index_dir(settings.data_dir) == before:
                    raise

    @classmethod
    def _load_once(cls, settings, embedder: Embedder | None) -> "Retriever":
        stored = load_stored(settings.data_dir)
        reason = mismatch_reason(stored.manifest, settings)
        if reason:
            raise IndexMismatchError(f"{reason}; run `python -m retrieval ingest` to rebuild it")
        try:
            dense = load_dense(stored.path, use_gpu=settings.faiss_gpu == "auto")
            lexical = LexicalIndex.load(stored.path / "bm25", n_docs=len(stored.chunks))
        except (OSError, RuntimeError, ValueError) as exc:  # faiss raises RuntimeError on a bad file
            raise IndexCorruptError(
                f"the index in {stored.path} cannot be read ({type(exc).__name__}); {REBUILD_HINT}") from None
        embedder = embedder or get_embedder(settings.embedder, settings.device, settings.embed_encoder, settings.embed_precision)
        if stored.sentences is not None:  # the passages' sentences come embedded (retrieval/sentence_vectors.py)
            embedder = KnownVectors(embedder, *stored.sentences)
        name = second_embedder_name(settings)
        second = get_embedder(name, settings.device, settings.embed_encoder, settings.embed_precision) if name else None
        return cls(settings, stored, embedder, dense, lexical, second)

    # -- individual retrievers ------------------------------------------------------------
    @property
    def glossary(self):
        """The bilingual query glossary (None when switched off)."""
        return load_glossary(self.settings.query_glossary)

    def bm25_tokens(self, query: str) -> tuple[list[str], list[str]]:
        """(query tokens, the other language's tokens for glossary terms found in the query); the query's
        tokens include the schedule's name of a numbered homework ("作业3" -> "hw3": homework_aliases),
        glossary or not."""
        tokens = tokenize(query)
        tokens += [a for a in homework_aliases(query) if a not in tokens]
        glossary = self.glossary
        if glossary is None:
            return tokens, []
        return tokens, [t for t in tokenize(" ".join(glossary.expand(query))) if t not in tokens]

    def bm25(self, query: str, n: int, translations: Sequence[str] = ()) -> list[tuple[int, float]]:
        """BM25 over the query's tokens, its glossary expansion and the tokens of ``translations`` (the
        question in the notes' language, made by the agent's model: agent/query_translation.py), each
        group at its weight (``glossary_weight_*``, ``translation_weight``)."""
        tokens, expansion = self.bm25_tokens(query)
        lang = detect_language(query)
        weight = self.settings.glossary_weight_zh if lang == "zh" else self.settings.glossary_weight_en
        more = [(tokenize(text), self.settings.translation_weight) for text in translations if text.strip()]
        return self.lexical.search(tokens, n, expansion, weight, more=more)

    def dense_search(self, query: str, n: int, translations: Sequence[str] = ()) -> list[tuple[int, float]]:
        """The top ``n`` chunks by meaning: cosine with the query's vector (+ ``second_weight`` x the second
        embedder's cosine); with ``translation_dense_weight`` above 0, + that weight x the same score of each
        of ``translations`` (the question in the notes' language, per request). A numbered homework is embedded
        with the schedule's name for it ("作业3（hw3）": retrieval.glossary.with_homework_aliases).

        >>> from types import SimpleNamespace
        >>> from retrieval.backends import DenseIndex
        >>> from retrieval.embedders import HashEmbedder
        >>> r = Retriever.__new__(Retriever)
        >>> r.embedder, r.second = HashEmbedder(64), None
        >>> vectors = r.embedder.embed(["温度参数控制随机性", "the temperature of the sun", "注意力机制"])
        >>> r.stored, r.dense = SimpleNamespace(vectors=vectors, vectors2=None), DenseIndex.build(vectors, 100, use_gpu=False)
        >>> for weight in (0.0, 2.0):
        ...     r.settings = SimpleNamespace(translation_dense_weight=weight)
        ...     print(weight, [doc for doc, _ in r.dense_search("temperature parameter", 3, translations=["温度参数"])])
        0.0 [1, 2, 0]
        2.0 [0, 1, 2]
        """
        texts = [with_homework_aliases(query)]
        if self.settings.translation_dense_weight > 0:
            texts += [t for t in translations if t.strip() and t != query]
        vecs = embed_queries(self.embedder, texts)
        if vecs.shape[1] != self.stored.vectors.shape[1]:
            raise IndexMismatchError(
                f"embedder gives {vecs.shape[1]}-dim vectors but the index holds {self.stored.vectors.shape[1]}-dim ones; "
                "run `python -m retrieval ingest --rebuild`"
            )
        if len(texts) == 1 and (self.second is None or self.stored.vectors2 is None):
            return self.dense.search(vecs[0], n)
        return self._combined(texts, vecs, n)

    def _combined(self, texts: list[str], vecs: np.ndarray, n: int) -> list[tuple[int, float]]:
        """The dense side when more than one score counts: each text's cosine (+ ``second_weight`` x the
        second embedder's cosine), the query's at weight 1 and each translation's at
        ``translation_dense_weight``, summed over the chunks any of them ranks in its top ``n``
        (measured in bench/fusion_variants.py and bench/query_translation.py)."""
        weights = [1.0] + [self.settings.translation_dense_weight] * (len(texts) - 1)
        second = self.second is not None and self.stored.vectors2 is not None
        scores2 = [self.stored.vectors2 @ vec2 for vec2 in embed_queries(self.second, texts)] if second else []
        found = {d for vec in vecs for d, _ in self.dense.search(vec, n)}
        for s2 in scores2:
            found |= set(np.argsort(-s2, kind="stable")[:n].tolist())
        docs = np.array(sorted(found), dtype=np.int64)  # (an empty index: an empty array of indices, not of floats)
        combined = np.zeros(len(docs), dtype=np.float32)
        for i, (weight, vec) in enumerate(zip(weights, vecs)):
            score = self.stored.vectors[docs] @ vec
            if second:
                score = score + self.settings.second_weight * scores2[i][docs]
            combined = combined + weight * score
        order = np.argsort(-combined, kind="stable")[:n]
        return [(int(docs[i]), float(combined[i])) for i in order]

    def weights(self, query: str) -> dict[str, float]:
        s = self.settings
        if detect_language(query) == "zh":
            return {"bm25": s.bm25_weight_zh, "dense": s.dense_weight_zh}
        return {"bm25": s.bm25_weight_en, "dense": s.dense_weight_en}

    # -- the public entry point -----------------------------------------------------------
    def languages(self) -> dict[str, float]:
        """Share of the indexed chunks in each language (``Chunk.language``, detected at ingest), e.g.
        ``{"zh": 0.8, "en": 0.2}``: which language a question must be translated into to match the notes."""
        if self._languages is None:
            counts = Counter(c.language for c in self.chunks)
            self._languages = {lang: counts[lang] / len(self.chunks) for lang in sorted(counts)}
        return self._languages

    def term_forms(self) -> frozenset[str]:
        """Every Latin word the indexed chunks mention, as :func:`common.text.term_forms` gives it: the
        scope guard declines a question naming a model, chip or course the notes never mention ("GPT-5")."""
        if self._term_forms is None:
            self._term_forms = frozenset().union(*(term_forms(c.indexed_text()) for c in self.chunks))
        return self._term_forms

    def document_frequency(self, tokens) -> dict[str, int]:
        """How many passages hold each BM25 token (the scope guard's rarer words: agent/schedule.py)."""
        return {t: len(self.lexical.holding([t])) for t in dict.fromkeys(tokens)}

    def search(self, query: str, k: int = 5, translations: Sequence[str] = ()) -> list[Hit]:
        """The top ``k`` chunks for ``query``; ``translations`` (the query in other languages, per request)
        add their words to BM25's side. A question asking when a numbered homework is due or out gets the
        best two chunks naming it as the schedule does ("hw1": :func:`retrieval.glossary.homework_aliases`)
        right after its best chunk (:func:`_schedule_up`): by meaning, the schedule's first rows ranked
        22nd-28th for "作业1什么时候发布？"."""
        if not query.strip() or not self.chunks:
            return []
        n = max(self.settings.candidates, k)
        weights = self.weights(query)
        # Both retrievers always run (their ranks are shown side by side); weights decide fusion.
        rankings = {"bm25": self.bm25(query, n, translations), "dense": self.dense_search(query, n, translations)}
        fused = fuse(rankings, weights, self.settings.fusion, self.settings.rrf_k)
        aliases = homework_aliases(query)
        if aliases and fused:  # "作业1什么时候发布？": the schedule's rows naming "hw1" answer it
            fused = _schedule_up(fused, self.lexical.holding(aliases))
        rank_of = {name: {doc: r for r, (doc, _) in enumerate(lst, 1)} for name, lst in rankings.items()}
        score_of = {name: dict(lst) for name, lst in rankings.items()}
        hits = [
            Hit(
                chunk=self.chunks[doc],
                score=float(score),
                ranks={name: rank_of[name].get(doc) for name in rankings},
                scores={name: score_of[name].get(doc) for name in rankings},
            )
            for doc, score in fused
        ]
        if self.settings.reranker and hits:
            hits = self._rerank(query, hits)
        return hits[:k]

    def _rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        top = hits[: self.settings.rerank_top_n]
        scores = self.reranker.predict([(query, h.chunk.indexed_text()) for h in top], show_progress_bar=False)
        order = sorted(range(len(top)), key=lambda i: -float(scores[i]))
        reranked = []
        for new_rank, i in enumerate(order, start=1):
            hit = top[i]
            hit.ranks["rerank"] = new_rank
            hit.scores["rerank"] = float(scores[i])
            reranked.append(hit)
        return reranked + hits[len(top):]

    @property
    def reranker(self):
        if self._reranker is None:
            from sentence_transformers import CrossEncoder

            try:
                self._reranker = CrossEncoder(self.settings.reranker, device=resolve_device(self.settings.device))
            except Exception as exc:
                raise EmbedderError(f"could not load reranker {self.settings.reranker!r} ({type(exc).__name__}: {exc})") from None
        return self._reranker


def _schedule_up(fused: list[tuple[int, float]], holding: set[int], places: int = 2) -> list[tuple[int, float]]:
    """``fused`` with its best ``places`` documents of ``holding`` moved up right after its first: the
    first stays (a question about what homework 2 asks, with 布置 in it, keeps the homework's description
    first), and another course's "HW2 DUE" further down cannot fill the top.

    >>> _schedule_up([(0, .9), (1, .8), (2, .7), (3, .6), (4, .5)], {3, 4, 0})
    [(0, 0.9), (3, 0.6), (1, 0.8), (2, 0.7), (4, 0.5)]
    >>> _schedule_up([(0, .9), (1, .8), (2, .7), (3, .6)], {2, 3})
    [(0, 0.9), (2, 0.7), (3, 0.6), (1, 0.8)]
    """
    first = fused[0]
    up = [f for f in fused[1:] if f[0] in holding][: places - (first[0] in holding)]
    return [first, *up, *(f for f in fused[1:] if f not in up)]


@lru_cache(maxsize=1)
def default_retriever() -> Retriever:
    from settings import get_settings

    return Retriever.load(get_settings().retrieval)


def search(query: str, k: int = 5) -> list[Hit]:
    """Search the default index (settings from the environment), loading it on first use."""
    return default_retriever().search(query, k)
