"""Does retrieval have anything relevant? Query-term coverage of the best passage.

A question's content words (jieba/English tokens) each count as covered when a top passage
contains the word or one of its glossary translations. Raw BM25 scores cannot do this job:
"什么是语言模型" has a tiny BM25 score because 语言/模型 occur everywhere, yet it is covered.

>>> from retrieval.glossary import Glossary
>>> g = Glossary.from_pairs([("entropy", ["熵"])])
>>> coverage("What is entropy?", ["香农提出了熵。"], g)
1.0
>>> coverage("Who won the 2018 World Cup?", ["香农提出了熵。"], g)
0.0
"""

from __future__ import annotations

from common.text import tokenize


def coverage(query: str, passages: list[str], glossary=None) -> float:
    tokens = list(dict.fromkeys(tokenize(query)))
    if not tokens:
        return 0.0
    alternatives = {t: {t} | (set(tokenize(" ".join(glossary.expand(t)))) if glossary else set()) for t in tokens}
    best = 0.0
    for text in passages:
        have = set(tokenize(text))
        covered = sum(1 for t in tokens if alternatives[t] & have)
        best = max(best, covered / len(tokens))
    return round(best, 4)


def is_covered(hits, query: str, glossary, settings) -> bool:
    """Do the hits cover the question? Term coverage, backed by BM25 for partial coverage
    (thresholds of the :class:`settings.AgentSettings` slice, calibrated on the dev set: README)."""
    cov = coverage(query, [h.chunk.indexed_text() for h in hits], glossary)
    bm25 = max(((h.scores.get("bm25") or 0.0) for h in hits), default=0.0)
    return cov >= settings.relevance_coverage or (
        cov >= settings.relevance_min_coverage and bm25 >= settings.relevance_bm25)
