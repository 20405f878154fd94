"""Language-aware text helpers shared by chunking, BM25 (retrieval), citation checking and quoting (agent) and rendering (ui).

>>> detect_language("什么是语言模型？")
'zh'
>>> detect_language("What is a language model?")
'en'
>>> [s for s in split_sentences("温度很重要。T=0 时确定！Really? Yes.")]
['温度很重要。', 'T=0 时确定！', 'Really? ', 'Yes.']
>>> split_sentences("熵的概念：$$H(p) = \\sum_x p(x). \\n$$ 它是比特数。")  # never inside a formula
['熵的概念：$$H(p) = \\\\sum_x p(x). \\n$$ 它是比特数。']
>>> tokenize("什么是语言模型 Language Models")
['语言', '模型', 'language', 'models']
"""

from __future__ import annotations

import logging
import re
import unicodedata
from bisect import bisect_left, bisect_right
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_LATIN_LETTER = re.compile(r"[A-Za-z]")

# A sentence ends after Chinese 。！？；… (plus closing quotes/brackets), or after . ! ? ;
# followed by whitespace, or at a line break.
_SENTENCE_END = re.compile(
    r"(?:[。！？；!?;…]+[”’」』）)\]\"']*|(?<=[a-z0-9\)\]\"'])\.(?=\s)|\.[”’\"']?(?=\s))\s*|\n+"
)

# A formula: $$...$$ (may span lines) or $...$ on one line that opens before a non-space, closes after
# one and is not followed by a digit, as pandoc reads them (so "$5 and $6" is not one). Sentences
# never end inside one (common.text.sentence_spans), and ui/tex.py draws those its allowlist accepts.
MATH_SPAN = re.compile(r"\$\$(?P<display>[^$]{1,1000}?)\$\$|\$(?P<inline>(?=[^\s$])[^$\n]*?[^\s$\\]|[^\s$\\])\$(?!\d)")

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


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# a Chinese sentence's own words (particles, question words, pronouns, 用 of 用中文回答), simplified and
# traditional: a run holding one is Chinese prose, not a term of the notes
_ZH_FRAME = re.compile(r"[的了吗呢吧是么哪谁几和与或在有请我你这那如何为怎用们嗎麼幾這為與誰請問們]")
# an English question's or request's first word
_EN_START = re.compile(r"(what|which|who|whom|whose|when|where|why|how|is|are|was|were|does|do|did|can|could|"
                       r"should|would|will|explain|describe|define|tell|give|list|compare|summari[sz]e|show)\b", re.I)
_NOT_PROSE = re.compile(r"```.*?(```|$)|`[^`\n]*`|https?://\S+", re.S)  # code and addresses


def question_language(question: str) -> str:
    """The language a question is asked in, for its answer: an English question naming terms of the
    Chinese notes in Chinese ("What does 温度参数 T control?") is English — it opens with an English
    question or request word, and every Chinese run is a term (none of a Chinese sentence's
    particles, question words or pronouns); otherwise :func:`detect_language`, which counts
    characters and calls it Chinese. Code, formulas and addresses are not read.

    >>> question_language("What does 温度参数 T control?"), question_language("Explain 涌现能力")
    ('en', 'en')
    >>> question_language("GPT-3 的 context window 有多长？"), question_language("State-of-the-art Reimplementation 作业要求")
    ('zh', 'zh')
    >>> question_language("What is in-context learning? 用中文回答"), question_language("```python\\nfor i in range(3): print(i)\\n```\\n运行一下")
    ('zh', 'zh')
    >>> question_language("温度参数是什么？"), question_language("What is perplexity?"), question_language("什麼叫 state of the art")
    ('zh', 'en', 'zh')
    >>> question_language("这段代码怎么理解？\\n```python\\nfor token in tokens: print(token.lower(), len(token))\\n```")
    'zh'

    An answer language the question asks for (:func:`requested_language`) comes first:

    >>> question_language("请用英文回答：什么是熵？"), question_language("What is entropy? Answer in Chinese.")
    ('en', 'zh')
    """
    if requested := requested_language(question):
        return requested
    words = _NOT_PROSE.sub(" ", question)  # "这段代码怎么理解" over an English program is Chinese
    language = detect_language(words if words.strip() else question)
    if language != "zh":
        return language
    prose = _MATH.sub(" ", words).strip(" \t\n\"'“‘*#>-")
    runs = _CJK_RUN.findall(prose)
    if _EN_START.match(prose) and runs and not any(_ZH_FRAME.search(run) for run in runs):
        return "en"
    return language


# "请用英文回答", "用中文解释一下", "Answer in Chinese", "in English, please": the answer's language asked
# for. A verb of answering must go with it: "作业要用英文写吗？" and "Can I hand in the report in
# English?" ask about the course, not for an answer in that language
_ANSWER_VERB_ZH = r"(?:回答|回复|答复|作答|解释|说明|讲解|讲讲|讲一下|介绍|翻译)"
_ASKED_LANGUAGE = [
    (re.compile(rf"(?:用|以|使用|換成|换成)\s*(?:英文|英语|英語)\s*{_ANSWER_VERB_ZH}"), "en"),
    (re.compile(rf"(?:用|以|使用|換成|换成)\s*(?:中文|汉语|漢語|简体中文|普通话)\s*{_ANSWER_VERB_ZH}"), "zh"),
    (re.compile(r"\b(?:answer|reply|respond|explain|write\s+(?:it|the\s+answer)|tell\s+me|say\s+it)\b[^.?!\n]{0,40}?"
                r"\bin\s+english\b|^\W*in\s+english\s*[,:：]|\bin\s+english,?\s+please\b", re.I), "en"),
    (re.compile(r"\b(?:answer|reply|respond|explain|write\s+(?:it|the\s+answer)|tell\s+me|say\s+it)\b[^.?!\n]{0,40}?"
                r"\bin\s+(?:chinese|mandarin)\b|^\W*in\s+(?:chinese|mandarin)\s*[,:：]|\bin\s+(?:chinese|mandarin),?\s+please\b",
                re.I), "zh"),
]


def requested_language(question: str) -> str | None:
    """The language the question asks its answer to be in, or None. Code and addresses are not read;
    where both are asked for, the last request counts.

    >>> [requested_language(q) for q in ("请用英文回答：什么是熵？", "What is entropy? 用中文解释一下", "Explain entropy in English")]
    ['en', 'zh', 'en']
    >>> [requested_language(q) for q in ("In English: 什么是熵？", "熵是什么 in English please", "Answer in Mandarin: what is T?")]
    ['en', 'en', 'zh']
    >>> [requested_language(q) for q in ("作业要用英文写吗？", "英文报告写完以后能用聊天机器人改吗？", "Can I hand in the report in English?")]
    [None, None, None]
    >>> requested_language("```python\\nprint('answer in English')\\n```\\n运行一下")
    """
    prose = _NOT_PROSE.sub(" ", question)
    found = [(m.start(), language) for pattern, language in _ASKED_LANGUAGE for m in pattern.finditer(prose)]
    return max(found)[1] if found else None


_LINK_TARGET = re.compile(r"\(?<?https?://\S+|\]\([^)]*\)")


# characters that show nothing or reorder what is shown: the soft hyphen, zero-width characters and marks,
# bidirectional embeddings, overrides and isolates, word joiners, the byte-order mark. A character class's
# body: agent/injection.py reads text without them, ui/render.py writes them out in code
HIDDEN_CHARACTERS = "\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"


def without_links(text: str) -> str:
    """``text`` without addresses: a Markdown link's target and a bare URL, which the reader does
    not read as prose ("[Basic Concepts](#基础知识)" is English to read).

    >>> without_links("**(1)** [Basic Concepts](#基础知识), see <https://a.org/x>")
    '**(1)** [Basic Concepts , see  '
    >>> detect_language("[Basic Concepts](#基础知识)"), detect_language(without_links("[Basic Concepts](#基础知识)"))
    ('zh', 'en')
    """
    return _LINK_TARGET.sub(" ", text)


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


CODE_SPAN = re.compile(r"(`+)[^`\n]*?\1")  # `code` on one line (ui/render.py unbold leaves it as it is)
# a block agent.compose.fenced wrote, read back (fence, tag, text): ui/render.py draws it, agent/turn.py finds
# the code an earlier answer showed
FENCED_BLOCK = re.compile(r"^(`{3,})([A-Za-z0-9_+-]{0,20})\n(.*?)\n\1[ \t]*$", re.M | re.S)
_PROSE_BREAK = re.compile(r"[。！？]|[.!?]\s+[A-Z]")


def formula_spans(text: str) -> tuple[list[int], list[int]]:
    """(starts, ends) of the formulas a sentence may not end inside, in order and apart: :data:`MATH_SPAN`
    spans outside `code` (``echo $$`` is a shell's), but not a one-dollar span holding a sentence break
    ("costs 5$. The course costs 20$" is two prices)."""
    if "$" not in text:
        return [], []
    masked = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
    starts, ends = [], []
    for m in MATH_SPAN.finditer(masked):
        if m.group("inline") is None or not _PROSE_BREAK.search(m.group("inline")):
            starts.append(m.start())
            ends.append(m.end())
    return starts, ends


# A web address, in ASCII, to its last character that is not punctuation ("see https://a.org/x?id=1." ends
# at "1"; "访问https://a.org吗?" at "g")
_URL = re.compile(r"(?:(?:https?|ftp)://|(?<![\w.])www\.)[!-~]*", re.I)  # then cut at a bracket, end punctuation: _url_spans


def _url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each web address of ``text`` (:data:`_URL`), in order; linear in the text's length."""
    spans = []
    for m in _URL.finditer(text):
        body = re.split(r"[<>()\[\]{}\"'`]", m.group(0), maxsplit=1)[0].rstrip(".,;:!?")
        spans.append((m.start(), m.start() + len(body)))
    return spans


_LINK_TEXT = re.compile(r"\[[^\[\]\n]{1,300}\]\(")  # a Markdown link's text: "[Why LLMs?](" (linear: no "[" inside)
# An author list's initial is no sentence end: "Bommasani, Drew A. Hudson, E. Adeli, Michael S. Bernstein."
# The shape is strict, for a sentence ending in a capital letter must still end ("Pick C. The others are
# wrong [2]." is two claims, each checked against its citation): the letter follows the start of the
# text or a line, a comma, semicolon or bracket, a sentence end, "by", "and" or "&", another initial, or a
# capitalised given name that itself follows one of those; and after the period comes a capitalised surname (or another
# initial) followed by a comma, period, semicolon, colon, bracket, line end, "and" / "&" / "et al", or
# the end of the text (a streamed name still being written: agent/gate.py holds such a piece back).
_OPENS_NAME = r"(?:^|\n|[,;(\[\])][ \t]*|[.!?][ \t]+|(?<![^\W\d_])(?:by|and|&) )"
_BEFORE_INITIAL = re.compile(rf"(?:{_OPENS_NAME}|{_OPENS_NAME}[A-Z][a-z]{{1,30}} |(?<![^\W\d_])[A-Z]\. )$")
_NAME_AFTER = re.compile(
    r"[A-Z](?:\.|[^\W\d_]{0,40}(?:[-'’][^\W\d_]{1,40}){0,3}(?=[,.;:)\]]|[ \t]*(?:\n|$)|[ \t]+(?:and\b|&|et al)))")
# streaming (may_still_join): a piece ending at an initial's period, and a surname still being written
_ENDS_AT_INITIAL = re.compile(r"(?<![^\W\d_])[A-Z]\. $")
_SURNAME_SO_FAR = re.compile(r"[A-Z][^\W\d_]{0,40}(?:[-'’][^\W\d_]{0,40}){0,3}")


def _initial_end(text: str, match: re.Match) -> bool:
    """Whether the sentence end ``match`` is the period of a name's initial (:data:`_BEFORE_INITIAL`)."""
    i = match.start()
    if match.group(0) != ". " or i < 1 or not ("A" <= text[i - 1] <= "Z") or (i > 1 and text[i - 2].isalpha()):
        return False
    return bool(_BEFORE_INITIAL.search(text, max(0, i - 80), i - 1)) and bool(_NAME_AFTER.match(text, match.end()))


def may_still_join(sentence: str, rest: str) -> bool:
    """Whether more text after ``rest`` could join ``sentence`` and ``rest`` into one sentence: a streamed
    answer is split again as it grows, and a sentence is judged only once what follows it decides where it
    ends. That is so when ``sentence`` ends inside a Markdown link's text not yet closed, or at a capital
    letter's period whose name is still being written (:data:`_NAME_AFTER`).

    >>> may_still_join("- [Can LMs Be Too Big? ", "A Stu"), may_still_join("- [Can LMs Be Too Big? ", "A Study](x) ok")
    (True, False)
    >>> may_still_join("Michael S. ", "Bernst"), may_still_join("Michael S. ", "Bernstein wrote it"), may_still_join("Pick C. ", "The others")
    (True, False, False)
    """
    line = sentence.rsplit("\n", 1)[-1]
    if line.rfind("[") > line.rfind("]") and "]" not in rest and "\n" not in rest and len(line) + len(rest) <= 300:
        return True  # "[Can LMs Be Too Big? " + "A Stu": the link's "](" may still come
    if not _ENDS_AT_INITIAL.search(sentence) or "\n" in rest:
        return False
    return bool(_SURNAME_SO_FAR.fullmatch(rest.strip()))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``; no sentence ends inside a formula (:func:`formula_spans`),
    a table row or a web address (a reading list's "papers.cfm?abstract_id=3191751" was cut at its "?", and a
    citation was put inside the link).

    >>> [text[a:b] for text in ["costs 5$. The course costs 20$. Both."] for a, b in sentence_spans(text)]
    ['costs 5$. ', 'The course costs 20$. ', 'Both.']
    >>> split_sentences("[Law](https://ssrn.com/p.cfm?id=31) and https://youtu.be/watch?v=a!b; Read it? Yes.")
    ['[Law](https://ssrn.com/p.cfm?id=31) and https://youtu.be/watch?v=a!b; ', 'Read it? ', 'Yes.']

    Nor at a table cell's end: a row is one piece ("1\\t2024/02/22\\tWhy LLMs?\\t-\\tPengfei Liu" was quoted
    as "1 | 2024/02/22 | Why LLMs [3]?", the rest of its row lost):

    >>> split_sentences("1\\t2024/02/22\\tWhy LLMs?\\t-\\tPengfei Liu\\n2\\tEnd.\\tx")
    ['1\\t2024/02/22\\tWhy LLMs?\\t-\\tPengfei Liu\\n', '2\\tEnd.\\tx']
    >>> split_sentences("1 | Why LLMs? | - [3] 你访问过https://a.org吗?我没有。www.a.org/p?x=1 好的。")
    ['1 | Why LLMs? | - [3] 你访问过https://a.org吗?', '我没有。', 'www.a.org/p?x=1 好的。']

    Nor inside a Markdown link's text, nor at an author list's initial (a reading list's author line was
    quoted as "Drew A [3]. Hudson"); a sentence ending in a capital letter still ends (:data:`_BEFORE_INITIAL`):

    >>> split_sentences("[随机鹦鹉：模型是否过大？ 🦜](https://a.org) 好的。Models. R. Józefowicz, Noam M. Shazeer. 2016.")
    ['[随机鹦鹉：模型是否过大？ 🦜](https://a.org) 好的。', 'Models. ', 'R. Józefowicz, Noam M. Shazeer. ', '2016.']
    >>> split_sentences("Pick C. The others are wrong. We chose Plan A. Then Q, K, V. Then J. R. R. Tolkien, W. Wu.")
    ['Pick C. ', 'The others are wrong. ', 'We chose Plan A. ', 'Then Q, K, V. ', 'Then J. R. R. Tolkien, W. Wu.']
    """
    starts, ends = formula_spans(text)
    whole = _url_spans(text) if ("://" in text or "www." in text.lower()) else []  # addresses, link texts
    if "](" in text:  # a link's text is no sentence's end either: "[Can Language Models Be Too Big?](…)"
        whole = sorted(whole + [(m.start(), m.end() - 2) for m in _LINK_TEXT.finditer(text)])
    whole_starts = [a for a, _ in whole]
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        i = bisect_left(starts, match.start()) - 1  # the last formula opening before this end
        if i >= 0 and match.start() < ends[i]:
            continue
        i = bisect_right(whole_starts, match.start()) - 1  # the last address or link text opening at or before it
        if i >= 0 and match.start() < whole[i][1]:
            continue
        if "\n" not in match.group(0) and ("\t" in match.group(0) or text.startswith("|", match.end())):
            continue  # a table cell's end ("Why LLMs?\t-", "Why LLMs? | -"): the row goes on
        if _initial_end(text, match):
            continue
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


# bump when tokenize() gives other tokens for the same text: a stored index's BM25 words were made
# by one version (retrieval/store.py index_params), and an index of another is rebuilt (2: the ends
# of contractions and possessives dropped)
TOKENIZER_VERSION = 2

# "can't", "won't", "shan't": the stem is no prefix of the word; then the ends of "doesn't", "it's",
# "they're", "we've", "you'll", "I'd", "I'm" and of possessives ("Shannon's", "models'" keeps its s)
_IRREGULAR_NOT = re.compile(r"(?<![A-Za-z])(can|won|shan)['’]t(?![A-Za-z])", re.I)
_IRREGULAR_NOT_STEM = {"can": "can", "won": "will", "shan": "shall"}
_CONTRACTION = re.compile(r"(?<=[A-Za-z])n['’]t(?![A-Za-z])|(?<=[A-Za-z0-9])['’](?:s|re|ve|ll|d|m)(?![A-Za-z])", re.I)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba search-mode words for Chinese, lower-cased words for English.

    The same function runs at index and at query time. Punctuation and a short list of
    function words are dropped; single letters stay (the temperature ``T`` of "温度 T"), but not
    the ends of English contractions and possessives, which are no words of their own: "what's
    perplexity" held "s", which half the notes' English passages hold ("Shannon's"), and the scope
    guard found half its words in the notes.

    >>> tokenize("What's perplexity?"), tokenize("Why doesn't it scale, and can't GPT-3's T change?")
    (['perplexity'], ['scale', 'gpt', '3', 't', 'change'])
    """
    jieba = _jieba()
    tokens = []
    text = _CONTRACTION.sub("", _IRREGULAR_NOT.sub(lambda m: _IRREGULAR_NOT_STEM.get(m.group(1).lower(), m.group(1)), text))
    for token in jieba.cut_for_search(text.lower()):
        token = token.strip()
        if not token or not _is_word(token) or token in _STOPWORDS:
            continue
        tokens.append(token)
    return tokens


# jieba's part-of-speech tags for a name of a person, place or organisation, another proper noun, an
# abbreviation (北大)
_NAME_TAGS = frozenset({"nr", "nrt", "ns", "nt", "nz", "j"})


def chinese_names(question: str) -> list[str]:
    """The Chinese proper names of ``question`` (jieba's part-of-speech tags for people, places,
    organisations, other proper nouns and abbreviations): agent/schedule.py holds a question naming
    another school ("斯坦福的RLHF那节课是哪天？") off the schedule of a passage that does not name it.

    >>> chinese_names("斯坦福的RLHF那节课是哪天？"), chinese_names("北大的RLHF那节课是哪天？"), chinese_names("RLHF那节lecture是哪天上？")
    (['斯坦福'], ['北大'], [])
    """
    import jieba.posseg

    _jieba()  # initialised once, quietly
    return [w.word for w in jieba.posseg.cut(question) if w.flag in _NAME_TAGS and re.search(r"[\u4e00-\u9fff]", w.word)]


# A Latin word, with its hyphenated, dotted or underscored parts ("GPT-3.5", "CS2916", "log_2");
# the lookarounds, not \b, so that a word touching Chinese characters ("GPT-4的") is still one.
_TERM_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z0-9]+(?:[-._][A-Za-z0-9]+)*")
_LOWER_SUFFIX = re.compile(r"^(.*?[A-Za-z0-9])(?:-[a-z]{2,})+$")  # "GPT-4-style": the name is the head
_SIZE_SUFFIX = re.compile(r"^(.*?[A-Za-z0-9])(?:-\d+(?:\.\d+)?[KMBTkmbt])+$")  # "Llama-2-7B": the name is Llama-2
_NAME_NUMBER = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9]*)\s+(\d{1,2}(?:\.\d+)?)(?![A-Za-z0-9_.])")  # "GPT 4"


def term_key(word: str) -> str:
    """How a term is compared: lower case, without hyphens, dots, underscores and spaces ("GPT 4" is "gpt4")."""
    return re.sub(r"[-._\s]", "", word.lower())


def _is_name(word: str) -> bool:
    """A capital first and a digit within, and three digits ("H100", "CS2916") or three letters
    with two capitals ("GPT-4", "PaLM-2"): not "HW2", "Q3", "Week3" or "Llama-2"."""
    letters = [c for c in word if c.isalpha()]
    digits = sum(c.isdigit() for c in word)
    return word[0].isupper() and digits > 0 and (
        digits >= 3 or (len(letters) >= 3 and sum(c.isupper() for c in letters) >= 2))


def named_terms(text: str) -> list[str]:
    """The names of models, chips and courses a text uses (:func:`_is_name`: "GPT-4", "GPT 5",
    "H100", "CS2916"). Chinese text keeps such names as they are, so notes that never write one
    are not about it. Only these: a concept's acronym ("MLM", "RLHF", "LoRA") and plain or
    capitalised words ("English", "Cross-Entropy") are often written in Chinese in the notes
    (掩码语言模型, 英语, 交叉熵); a course's own short forms ("HW2", "Week 3", "Q3") and words
    starting with a digit ("7B", "2nd", "3D") are not names either. A lower-case suffix or a size
    leaves the name ("GPT-4-style" is GPT-4, "LLaMA-2-7B" is LLaMA-2). Kept as written, in order,
    once each (full-width letters read as ASCII).

    >>> named_terms("How many parameters does GPT-4 have, and the GPT-4-style models on MMLU?")
    ['GPT-4']
    >>> named_terms("Is GPT 5 out? What does LLaMA-2-7B do on an H100? ＧＰＴ－４ｏ呢？")
    ['GPT 5', 'LLaMA-2', 'H100', 'GPT-4o']
    >>> named_terms("Is HW2 of Week 3 OK at 11:59 PM in December 2021? Mistral 7B, Llama-2, T=0, 3D, np.log2, xAI, MLM")
    []
    """
    text = unicodedata.normalize("NFKC", text)
    joined = {m.start(): m.group(0) for m in _NAME_NUMBER.finditer(text)}  # "GPT 5": a name with its number
    found: dict[str, str] = {}
    for m in _TERM_WORD.finditer(text):
        word = _SIZE_SUFFIX.sub(r"\1", _LOWER_SUFFIX.sub(r"\1", m.group(0)))
        if word == m.group(0) and m.start() in joined and _is_name(joined[m.start()]):
            word = re.sub(r"\s+", " ", joined[m.start()])
        if _is_name(word):
            found.setdefault(term_key(word), word)
    return list(found.values())


def term_forms(text: str) -> set[str]:
    """Every form under which a text mentions a Latin word, for :func:`mentions`: each word, its
    parts, and a word with the number after it ("GPT 4" is GPT-4).

    >>> sorted(term_forms("GPT-3 与 GPT 4的, xAI, log_2"))
    ['2', '3', '4', 'gpt', 'gpt3', 'gpt4', 'log', 'log2', 'xai']
    """
    text = unicodedata.normalize("NFKC", text)
    forms: set[str] = set()
    for word in _TERM_WORD.findall(text):
        forms.add(term_key(word))
        forms.update(p.lower() for p in re.split(r"[-._]", word) if p)
    forms.update(term_key(name + number) for name, number in _NAME_NUMBER.findall(text))
    return forms


def mentions(forms: set[str], term: str) -> bool:
    """Is ``term`` among ``forms`` (:func:`term_forms`), in the singular or the plural?

    >>> forms = term_forms("GPT-3 与 GPT 4 的 A100")
    >>> [mentions(forms, t) for t in ("GPT-4", "GPT3", "A100s", "GPT-2", "H100")]
    [True, True, True, False, False]
    """
    key = term_key(term)
    return key in forms or (key.endswith("s") and key[:-1] in forms)
