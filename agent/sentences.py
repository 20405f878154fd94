"""Which sentences of a passage to quote or to give the writer: those that answer the question.

Without an embedder: the sentences sharing most words with the query. With one that can compare
the question's language with the passage's (agent/semantic.py), by meaning first — the sentence
that answers the question, not the one that repeats its words — with shared words as a tie-break.

>>> from retrieval.types import Chunk, Hit
>>> hit = Hit(Chunk("c", "a.md", "A", "语言模型是概率分布。温度参数 T 控制随机性。T=0 时确定。", [], None, 0, 30, "zh"), 1.0, {})
>>> best_sentences(hit, {"温度", "参数"}, 14)
'温度参数 T 控制随机性。'
"""

from __future__ import annotations

import re

from common.text import formula_spans, split_sentences, tokenize
from retrieval.types import Hit

WORD_WEIGHT = 0.05  # per shared word, on top of the calibrated similarity (0..1 scale)


def sentence_scores(sentences: list[str], query_tokens: set[str], question: str = "", semantics=None) -> list[float]:
    """How well each sentence answers: calibrated similarity to the question (when the embedder can
    compare the two languages) plus a little per shared query word; shared words alone otherwise."""
    words = [len(query_tokens & set(tokenize(s))) for s in sentences]
    if not (question and semantics is not None and sentences and semantics.can_compare(question, " ".join(sentences))):
        return [float(w) for w in words]
    sims = semantics.question_similarity(question, sentences)
    return [float(s) + WORD_WEIGHT * w for s, w in zip(sims, words)]


def best_sentences(hit: Hit, query_tokens: set[str], limit_chars: int, question: str = "", semantics=None) -> str:
    """The passage's best sentences (:func:`sentence_scores`) within ``limit_chars``, in their original order."""
    return " ".join(chosen_sentences(hit, query_tokens, limit_chars, question, semantics))


def chosen_sentences(hit: Hit, query_tokens: set[str], limit_chars: int, question: str = "", semantics=None) -> list[str]:
    """:func:`best_sentences` one by one: a list item of the passage stays a piece of its own
    (a sentence ends at a line break), where the joined text runs the items together.

    >>> from retrieval.types import Chunk
    >>> hit = Hit(Chunk("c", "r.md", "A", "多模态阅读：\\n- [CM3：因果掩码](https://a.org/1)\\n- [Gato：通才智能体](https://a.org/2)", [], None, 0, 60, "zh"), 1.0, {})
    >>> chosen_sentences(hit, {"cm3", "gato"}, 200)
    ['多模态阅读：', '- [CM3：因果掩码](https://a.org/1)', '- [Gato：通才智能体](https://a.org/2)']

    A lead-in without what it introduces, and a formula alone (not after the sentence it ends), are left out:

    >>> text = "温度 T 控制随机性。例如：\\n\\n$$p_{T=0}(x) = 1$$\\n\\n每一步都用温度 T。计算每个概率\\n\\n$p(x_i)$ 。"
    >>> chosen_sentences(Hit(Chunk("d", "a.md", "A", text, [], None, 0, 60, "zh"), 1.0, {}), {"温度", "例如", "t"}, 40)
    ['温度 T 控制随机性。', '每一步都用温度 T。']
    """
    sentences = [s.strip() for s in split_sentences(hit.text) if s.strip()]
    scores = sentence_scores(sentences, query_tokens, question, semantics)
    ranked = sorted(range(len(sentences)), key=lambda i: -scores[i])
    chosen, used = [], 0
    for i in ranked:
        cost = len(sentences[i]) + (1 if chosen else 0)  # the space that joins it to the others
        if used + cost > limit_chars and chosen:
            break
        chosen.append(i)
        used += cost
    # a lead-in whose next sentence is not chosen ("例如：" before a formula left out) introduces nothing, and a
    # formula alone is the tail of a sentence the notes broke at a line ("…每个条件概率分布\n\n$p(x_i | x_{1:i-1})$ 。"):
    # quoted, they read "例如： 具体来说…" and "- $p(x_i | x_{1:i-1})$ [1]。" (a tester's), the citation check
    # giving that formula the first passage that holds it
    # (a formula after a sentence that is quoted is its end, or what it leads in to: "…由神经网络给出：\n$p(…)$ 。")
    kept = [i for i in sorted(chosen) if not (_bare_lead_in(sentences[i]) and i + 1 not in chosen)
            and not (_INLINE_FORMULA_ONLY.fullmatch(sentences[i]) and i - 1 not in chosen)]
    pieces = [sentences[i] for i in (kept or sorted(chosen))]
    # only a single sentence longer than the limit is cut; the chosen ones always fit whole
    return [clip(pieces[0], max(limit_chars, 1))] if len(pieces) == 1 else pieces


# a lead-in that says nothing of its own: "例如：", "例如，生成 $T = 0$ 的产生的：", "For example:" (not "Bengio 等人在2003年
#首次提出了神经语言模型，其中 … 由神经网络给出：", whose formula follows)
_BARE_LEAD_IN = re.compile(r"\s*(?:例如|比如|譬如|如下|具体如下|举例来说|for\s+example|for\s+instance|e\.g\.|such\s+as|as\s+follows)"
                           r"|\W*\w{0,6}\W*$", re.I)


def _bare_lead_in(sentence: str) -> bool:
    """Does ``sentence`` only lead in to what follows: it ends with a colon, is short (16 letters at most,
    formulas aside) and is one word or opens with "例如" / "for example"?

    >>> _bare_lead_in("例如："), _bare_lead_in("For example, at T = 0:"), _bare_lead_in("其中 p 由神经网络给出："), _bare_lead_in("例如，T=0。")
    (True, True, False, False)
    >>> _bare_lead_in("例如，这篇论文显示可以将毒性文档注入到训练集中，以使模型在提示中包含“Apple”时生成负面情绪文本：")
    False
    """
    text = sentence.rstrip()
    words = re.sub(r"\$[^$]*\$|\W", "", text)  # outside formulas
    return text.endswith(("：", ":")) and bool(_BARE_LEAD_IN.match(text[:-1])) and len(words) <= 16
_INLINE_FORMULA_ONLY = re.compile(r"\s*\$(?!\$)[^$]+\$\s*[。．.，,；;]?\s*")

_BREAKS = " ，,；;、：:"


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, never inside a formula (the formulas a sentence
    never ends inside: :func:`common.text.formula_spans`; an unclosed ``$$`` shows as raw TeX):
    before the formula the limit falls in, or after it when too little (a third of the limit) comes
    before it; at a word or clause break in the last third when there is one.

    >>> clip("设温度 $T=0$ ：确定性地选择最可能的令牌", 6), clip("$$p_{T=0.5}(x) = 0.31$$ 其余略", 5)
    ('设温度', '$$p_{T=0.5}(x) = 0.31$$')
    >>> clip("Deterministically pick the most likely token at each position", 40)
    'Deterministically pick the most likely'
    >>> clip("：$$a+b+c+d$$ 其余", 5), clip("- $$p_T(x) = p(x)^{1/T}$$ is the annealed distribution", 20)
    ('：$$a+b+c+d$$', '- $$p_T(x) = p(x)^{1/T}$$')
    """
    if len(text) <= limit:
        return text
    spans = list(zip(*formula_spans(text)))  # the formulas a sentence never ends inside
    end = limit
    for start, stop in spans:
        if start < end < stop:
            end = start if start >= limit / 3 else stop
            break
    low = int(end * 2 / 3)
    blocked = {i for a, b in spans if b > low and a < end for i in range(max(a + 1, low), min(b, end + 1))}
    if end < len(text) and text[end] not in _BREAKS:
        end = next((i for i in range(end, low, -1) if text[i - 1] in _BREAKS and i not in blocked), end)
    return text[:end].rstrip(_BREAKS) or text[:end]
