"""Language-aware text helpers shared by chunking, BM25 (retrieval), citation checking and quoting (agent) and rendering (ui).

>>> detect_language("什么是语言模型？")
'zh'
>>> detect_language("What is a language model?")
'en'
>>> [s for s in split_sentences("温度很重要。T=0 时确定！Really? Yes.")]
['温度很重要。', 'T=0 时确定！', 'Really? ', 'Yes.']
>>> tokenize("什么是语言模型 Language Models")
['语言', '模型', 'language', 'models']
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_LATIN_LETTER = re.compile(r"[A-Za-z]")

# A sentence ends after Chinese 。！？；… (plus closing quotes/brackets), or after . ! ? ;
# followed by whitespace, or at a line break.
_SENTENCE_END = re.compile(
    r"(?:[。！？；!?;…]+[”’」』）)\]\"']*|(?<=[a-z0-9\)\]\"'])\.(?=\s)|\.[”’\"']?(?=\s))\s*|\n+"
)

_STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 或 及 也 就 都 而 其 之 这 那 这个 那个 一个 一种 我们 你们 他们 它们 我 你 他 她 它
    吗 呢 吧 啊 么 什么 怎么 怎样 如何 为什么 哪些 哪个 哪 有 没有 会 能 可以 被 把 对 从 向 让 给 为 以
    中 上 下 等 个 请 问 说 要 用 将 又 还 但 并 所 由 于 着 过 得 地 么样 起 作用 吗？
    a an the of to in on at for from by with and or is are was were be been being it its this that these
    those what which who whom how why when where do does did can could should would will shall may might
    must about as into than then so such there their they them we you your our i me my he she his her
    """.split()
)


_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\\[A-Za-z]+", re.S)


def detect_language(text: str) -> str:
    """'zh' when a noticeable share of the letters are CJK ideographs, else 'en'.

    LaTeX (``$...$`` and ``\\commands``) is ignored: formulas are not English prose.
    """
    text = _MATH.sub(" ", text)
    cjk = len(_CJK.findall(text))
    latin = sum(len(w) for w in _LATIN_WORD.findall(text)) / 4  # ~4 letters per English word
    return "zh" if cjk and cjk >= 0.25 * (cjk + latin) else "en"


def has_letters(text: str) -> bool:
    """Any Latin letter or CJK ideograph outside LaTeX (what :func:`detect_language` ignores)? A
    formula or a row of numbers has none.

    >>> has_letters("$$H(p) = -\\sum_x p(x) \\log p(x)$$ 0.7 175,000,000,000"), has_letters("T=0 时")
    (False, True)
    """
    text = _MATH.sub(" ", text)
    return bool(_CJK.search(text) or _LATIN_LETTER.search(text))


def split_sentences(text: str) -> list[str]:
    """Split into sentences, keeping every character (the pieces join back to ``text``)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if end > start:
            spans.append((start, end))
            start = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _is_word(token: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba search-mode words for Chinese, lower-cased words for English.

    The same function runs at index and at query time. Punctuation and a short list of
    function words are dropped; single letters stay (the temperature ``T`` of "温度 T").
    """
    jieba = _jieba()
    tokens = []
    for token in jieba.cut_for_search(text.lower()):
        token = token.strip()
        if not token or not _is_word(token) or token in _STOPWORDS:
            continue
        tokens.append(token)
    return tokens


# A Latin word, with its hyphenated or dotted parts ("GPT-3", "CS2916", "xAI", "v1.0", "IO-aware").
_TERM_WORD = re.compile(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*")
_LOWER_SUFFIX = re.compile(r"^(.*?[A-Za-z0-9])(?:-[a-z]{2,})+$")  # "GPT-style", "280-billion-parameter": the head
_QUANTITY = re.compile(r"^\d+(?:\.\d+)?[KMBTkmbt]$")  # "7B", "175B", "10k": a size, not a name
_NAME_NUMBER = re.compile(r"\b([A-Za-z][A-Za-z0-9]*)\s+(\d+(?:\.\d+)?)\b")  # "GPT 4", "Llama 2"


def _term_key(word: str) -> str:
    """How a term is compared: lower case, without hyphens and dots ("GPT-4" and "gpt4" are one)."""
    return re.sub(r"[-.]", "", word.lower())


def named_terms(text: str) -> list[str]:
    """The names a text uses that must be in the notes for the notes to be about them: Latin words
    with a letter and a digit ("GPT-4", "H100", "7B", "CO2"), two capitals ("MMLU", "FIFA") or a
    capital inside ("xAI", "AlphaGo"). Plain capitalised words ("English", "December") are not
    names here: a Chinese note says 英语 and 12月. A word with a lower-case suffix is its head
    ("GPT-style" is GPT); a size ("7B", "175B") is not a name. Kept as written, in order, once each.

    >>> named_terms("How many parameters does GPT-4 have, and what about GPT-style models on MMLU?")
    ['GPT-4', 'GPT', 'MMLU']
    >>> named_terms("马斯克搞的那家大模型公司xAI具体是哪一年成立的？"), named_terms("How did Shannon define the entropy of English?")
    (['xAI'], [])
    >>> named_terms("Are the Mistral 7B weights open? T=0, 2018, decoder-only, a 280-billion-parameter model, CO2")
    ['CO2']
    """
    found: dict[str, str] = {}
    for word in _TERM_WORD.findall(text):
        word = _LOWER_SUFFIX.sub(r"\1", word)
        letters = [c for c in word if c.isalpha()]
        if not letters or _QUANTITY.match(word):
            continue
        digit = any(c.isdigit() for c in word)
        capitals = sum(c.isupper() for c in letters)
        if digit or capitals >= 2 or any(c.isupper() for c in word[1:]):
            found.setdefault(_term_key(word), word)
    return list(found.values())


def term_forms(text: str) -> set[str]:
    """Every form under which a text mentions a Latin word, for :func:`mentions`: each word, its
    hyphenated parts, and a name with the number after it ("GPT 4" is GPT-4).

    >>> sorted(term_forms("GPT-3 与 GPT 4, xAI"))
    ['3', '4', 'gpt', 'gpt3', 'gpt4', 'xai']
    """
    forms: set[str] = set()
    for word in _TERM_WORD.findall(text):
        forms.add(_term_key(word))
        forms.update(p.lower() for p in re.split(r"[-.]", word) if p)
    forms.update(_term_key(name + number) for name, number in _NAME_NUMBER.findall(text))
    return forms


def mentions(forms: set[str], term: str) -> bool:
    """Is ``term`` among ``forms`` (:func:`term_forms`), in the singular or the plural?

    >>> forms = term_forms("GPT-3 与 GPT 4 的 LLM, 一块 GPU")
    >>> [mentions(forms, t) for t in ("GPT-4", "gpt3", "LLMs", "GPUs", "GPT-2", "MMLU")]
    [True, True, True, True, False, False]
    """
    key = _term_key(term)
    return key in forms or (key.endswith("s") and key[:-1] in forms) or key + "s" in forms
