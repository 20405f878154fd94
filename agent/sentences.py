"""Which sentences of a passage to quote or to give the writer: those that answer the query.

>>> from retrieval.types import Chunk, Hit
>>> hit = Hit(Chunk("c", "a.md", "A", "语言模型是概率分布。温度参数 T 控制随机性。T=0 时确定。", [], None, 0, 30, "zh"), 1.0, {})
>>> best_sentences(hit, {"温度", "参数"}, 14)
'温度参数 T 控制随机性。'
"""

from __future__ import annotations

from common.text import split_sentences, tokenize
from retrieval.types import Hit


def best_sentences(hit: Hit, query_tokens: set[str], limit_chars: int) -> str:
    """The passage's sentences that share most words with the query, in their original order."""
    sentences = [s.strip() for s in split_sentences(hit.text) if s.strip()]
    scored = sorted(range(len(sentences)), key=lambda i: -len(query_tokens & set(tokenize(sentences[i]))))
    chosen, used = [], 0
    for i in scored:
        if used + len(sentences[i]) > limit_chars and chosen:
            break
        chosen.append(i)
        used += len(sentences[i])
    return " ".join(sentences[i] for i in sorted(chosen))[: max(limit_chars, 1)]
