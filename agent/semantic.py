"""Meaning, not words: embedding similarity on a scale that means the same for every embedder.

Raw cosines do not transfer between embedders (multilingual-e5 puts unrelated course sentences at
~0.73 and translations at ~0.85; USE-multilingual at ~0.06 and ~0.70). So each embedder is probed
once with a few Chinese/English translation pairs and the same sentences mismatched, and cosines
are mapped to ``calibrated = (cos - unrelated) / (translation - unrelated)``: 0 = as alike as two
unrelated course sentences, 1 = as alike as a sentence and its translation.

The probe also says whether the embedder understands across languages at all (``cross_lingual``):
all-MiniLM-L6-v2 is English-only, and its translation pairs score barely above mismatched ones,
so an English sentence cannot be checked against a Chinese passage with it.

>>> from retrieval.embedders import HashEmbedder
>>> sem = Semantics(HashEmbedder(64))
>>> sem.cross_lingual   # character n-grams share nothing across scripts
False
>>> Semantics(None).available
False
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from common.text import detect_language, split_sentences
from retrieval.embedders import embed_queries

# (Chinese, its English translation); mismatched pairs are the negatives
PROBES = [
    ("温度参数 T 控制采样的随机性。", "The temperature parameter T controls the randomness of sampling."),
    ("香农在1948年提出了信息论。", "Shannon introduced information theory in 1948."),
    ("语言模型是对令牌序列的概率分布。", "A language model is a probability distribution over sequences of tokens."),
]
# (translation - unrelated) / (1 - unrelated) below this: the embedder does not match meaning across
# languages. Measured: USE-multilingual 0.70, multilingual-e5-small 0.44, all-MiniLM-L6-v2 0.10.
CROSS_LINGUAL_MIN = 0.3

# the last few embedders' (each holds its embedder, and a retriever's embedder holds its index's sentence
# table: a process that loads a new index after each ingest must not keep every older one)
_CACHE: "OrderedDict[int, Semantics]" = OrderedDict()
_CACHE_SIZE = 4
_LOCK = threading.Lock()


class Semantics:
    """Calibrated similarity over one embedder (``None``: nothing available)."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.unrelated, self.translation = 0.0, 1.0
        self.q_unrelated, self.q_translation = 0.0, 1.0  # the same, for a question against passages
        self.cross_lingual = False
        self._vecs: dict[str, np.ndarray] = {}
        self._questions: dict[str, np.ndarray] = {}  # question vectors: a turn asks for its question's 4-6 times
        if embedder is not None:
            zh = embedder.embed([p[0] for p in PROBES])
            en = embedder.embed([p[1] for p in PROBES])
            self.translation, self.unrelated = _diagonal_and_rest(zh @ en.T)
            gap = (self.translation - self.unrelated) / max(1e-6, 1 - self.unrelated)
            self.cross_lingual = gap >= CROSS_LINGUAL_MIN and self.translation > self.unrelated
            # asymmetric embedders (e5) put questions elsewhere: calibrate question-passage pairs on their own
            zq = embed_queries(embedder, [p[0] for p in PROBES])
            eq = embed_queries(embedder, [p[1] for p in PROBES])
            t1, u1 = _diagonal_and_rest(zq @ en.T)
            t2, u2 = _diagonal_and_rest(eq @ zh.T)
            self.q_translation, self.q_unrelated = (t1 + t2) / 2, (u1 + u2) / 2

    @classmethod
    def of(cls, embedder) -> "Semantics":
        """One probe per embedder object per process."""
        with _LOCK:
            key = id(embedder)
            if key not in _CACHE or _CACHE[key].embedder is not embedder:
                _CACHE[key] = cls(embedder)
            _CACHE.move_to_end(key)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
            return _CACHE[key]

    @property
    def available(self) -> bool:
        return self.embedder is not None

    def calibrate(self, cos, question: bool = False):
        """Raw cosine(s) → the calibrated scale (not clipped); ``question``: question-to-passage cosines."""
        lo, hi = (self.q_unrelated, self.q_translation) if question else (self.unrelated, self.translation)
        return (np.asarray(cos, dtype=np.float32) - lo) / max(1e-6, hi - lo)

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Passage-side vectors, cached by text for the life of this object (bounded)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vecs]
        if missing:
            if len(self._vecs) > 20_000:
                self._vecs.clear()
            for t, v in zip(missing, self.embedder.embed(missing)):
                self._vecs[t] = v
        return np.stack([self._vecs[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)

    def can_compare(self, a: str, b: str) -> bool:
        """Can a sentence in ``a``'s language be checked against text in ``b``'s?"""
        return self.available and (self.cross_lingual or detect_language(a) == detect_language(b))

    def similarity(self, a: str, b: str) -> float:
        """Calibrated similarity of two texts (passage-side vectors, cached).

        >>> from retrieval.embedders import HashEmbedder
        >>> sem = Semantics(HashEmbedder(64))
        >>> sem.similarity("熵衡量不确定性。", "熵衡量不确定性。") > sem.similarity("熵衡量不确定性。", "北京是首都。")
        True
        """
        va, vb = self.vectors([a, b])
        return float(self.calibrate(va @ vb))

    def sentence_similarity(self, claim: str, passage: str, other_language_only: bool = False) -> float:
        """Calibrated similarity of ``claim`` to the passage's closest sentence (or the passage itself).

        ``other_language_only``: compare only with the sentences in another language than the claim's
        (and the whole passage). The scale is calibrated across languages; an English fragment inside
        Chinese slides ("• The Illustrated Transformer • Attention is …") sits near 1 on it for almost
        any English sentence, and once let a prompt instruction the model echoed pass as "supported".
        """
        pieces = [s.strip() for s in split_sentences(passage) if len(s.strip()) >= 4]
        if other_language_only:
            language = detect_language(claim)
            pieces = [s for s in pieces if detect_language(s) != language]
        pieces = pieces or [passage]
        vecs = self.vectors([claim] + pieces + [passage])
        return float(self.calibrate(vecs[1:] @ vecs[0]).max())

    def question_similarity(self, question: str, texts: list[str]) -> np.ndarray:
        """Calibrated similarity of a question (encoded as a query) to each text."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        q = self._questions.get(question)
        if q is None:
            q = embed_queries(self.embedder, [question])[0]
            if len(self._questions) > 256:
                self._questions.clear()
            self._questions[question] = q
        return self.calibrate(self.vectors(texts) @ q, question=True)


def _diagonal_and_rest(sims: np.ndarray) -> tuple[float, float]:
    n = sims.shape[0]
    return float(np.trace(sims) / n), float((sims.sum() - np.trace(sims)) / (n * n - n))
