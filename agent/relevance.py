"""Does retrieval have anything relevant? Query-term coverage of the best passage, checked by meaning.

A question's content words (jieba/English tokens) each count as covered when a top passage
contains the word or one of its glossary translations. Raw BM25 scores cannot do this job:
"什么是语言模型" has a tiny BM25 score because 语言/模型 occur everywhere, yet it is covered.
Numbers never count as covered (they still count as words of the question): a year the notes
happen to mention does not make "Who won the 2018 World Cup?" a course question.

With an embedder that can compare the question's language with the passages' (agent/semantic.py),
meaning decides too, with thresholds by the question's language and the embedder
(:data:`CALIBRATED`; settings override): a question whose best passage sentence is not close in
meaning (``relevance_semantic_min_zh`` / ``_en`` on the calibrated scale) is declined whatever
words it shares, and one that is very close (``relevance_semantic_high_zh`` / ``_en``) is covered
with few shared words: a paraphrased question shares few words with the notes. Meaning is used
only with an embedder that matches it across languages (``Semantics.cross_lingual``); with an
English-only one words decide, for every question.

>>> from retrieval.glossary import Glossary
>>> g = Glossary.from_pairs([("entropy", ["熵"])])
>>> coverage("What is entropy?", ["香农提出了熵。"], g)
1.0
>>> coverage("Who won the 2018 World Cup?", ["2018年，香农提出了熵。"], g)
0.0
"""

from __future__ import annotations

import re

from common.text import detect_language, split_sentences, tokenize

_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def coverage(query: str, passages: list[str], glossary=None) -> float:
    tokens = list(dict.fromkeys(tokenize(query)))
    if not tokens:
        return 0.0
    alternatives = {t: set() if _NUMBER.match(t) else
                    {t} | (set(tokenize(" ".join(glossary.expand(t)))) if glossary else set()) for t in tokens}
    best = 0.0
    for text in passages:
        have = set(tokenize(text))
        covered = sum(1 for t in tokens if alternatives[t] & have)
        best = max(best, covered / len(tokens))
    return round(best, 4)


def semantic_closeness(query: str, passages: list[str], semantics) -> float | None:
    """Calibrated similarity of the question to the closest sentence of the passages; None when
    the embedder cannot compare them."""
    if semantics is None or not passages or not semantics.can_compare(query, " ".join(passages)):
        return None
    pieces = [s.strip() for p in passages for s in split_sentences(p) if len(s.strip()) >= 6] + list(passages)
    return float(semantics.question_similarity(query, pieces).max())


def is_covered(hits, query: str, glossary, settings, semantics=None) -> bool:
    """Do the hits cover the question? Term coverage, backed by BM25 for partial coverage, and
    meaning when ``semantics`` is multilingual (thresholds of the :class:`settings.AgentSettings`
    slice, calibrated on the dev set: README)."""
    texts = [h.chunk.indexed_text() for h in hits]
    cov = coverage(query, texts, glossary)
    bm25 = max(((h.scores.get("bm25") or 0.0) for h in hits), default=0.0)
    words = cov >= settings.relevance_coverage or (cov >= settings.relevance_min_coverage and bm25 >= settings.relevance_bm25)
    if semantics is None or not semantics.cross_lingual:
        return words
    close = semantic_closeness(query, [h.text for h in hits[:3]], semantics)
    if close is None:
        return words
    low, high = semantic_bounds(query, settings, getattr(semantics.embedder, "name", ""))
    return close >= low and (words or close >= high)


# (min_zh, min_en, high_zh, high_en) per embedder, chosen on the dev set (README, "Scope guard").
# Same-language similarities on the calibrated scale depend on the embedder (e5 puts a Chinese question
# and its answer above 1, USE near 0.8), so one embedder's values must not be applied to another's.
CALIBRATED = {"e5:small-q4": (1.0, 0.2, 1.2, 0.7)}
UNCALIBRATED = (0.2, 0.2, float("inf"), float("inf"))  # a floor only: far from every sentence is declined


def semantic_bounds(query: str, settings, embedder_name: str = "") -> tuple[float, float]:
    """(decline below, cover at or above) for ``query``'s language: the setting when given, else the
    embedder's calibrated value.

    >>> from settings import AgentSettings
    >>> semantic_bounds("温度是什么？", AgentSettings(), "e5:small-q4"), semantic_bounds("What is T?", AgentSettings(), "use:multilingual-v3")
    ((1.0, 1.2), (0.2, inf))
    """
    min_zh, min_en, high_zh, high_en = CALIBRATED.get(embedder_name, UNCALIBRATED)
    if detect_language(query) == "zh":
        low, high = _given(settings.relevance_semantic_min_zh, min_zh), _given(settings.relevance_semantic_high_zh, high_zh)
    else:
        low, high = _given(settings.relevance_semantic_min_en, min_en), _given(settings.relevance_semantic_high_en, high_en)
    return low, high


def _given(value, default: float) -> float:
    return default if value is None else float(value)
