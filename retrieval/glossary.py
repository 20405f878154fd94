"""Cross-lingual query expansion for BM25 from a bilingual course glossary.

The default embedder is English-only while most notes are Chinese, so an English question
("What is cross entropy?") shares no BM25 terms with the passage that answers it (交叉熵).
Expanding the query with glossary equivalents bridges that gap; with a multilingual
embedder (e.g. st:BAAI/bge-m3) the glossary can be switched off (``query_glossary=""``).

>>> g = Glossary.from_pairs([("cross entropy", ["交叉熵"]), ("entropy", ["熵"]), ("temperature", ["温度"])])
>>> g.expand("How do cross-entropy and entropy relate to temperature T?")
['交叉熵', '温度', '熵']
>>> g.expand("什么是温度？")
['定义', '称为', '是指', 'definition', 'defined', 'temperature']
>>> g.expand("温度参数")
['temperature']
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

# "什么是X / X是什么 / what is X / define X": the answer is a definition, which course notes
# phrase with these words; BM25 alone cannot tell a definition from any other mention of X.
DEFINITION_QUESTION = re.compile(r"什么是|是什么|何为|何谓|的定义|\bwhat\s+(?:is|are)\b|\bdefin", re.I)
DEFINITION_TERMS = ("定义", "称为", "是指", "definition", "defined")

# A numbered homework ("作业3", "作业三", "第三次作业", "homework 3", "the third assignment") asked *when*:
# course schedules write it "hw3" ("👉 hw2 due, hw3,4 out"), one BM25 token that no word of the question
# is; "作业3" alone is 作业 + 3, which every homework passage holds. The number is the first one named
# ("作业2,3,4": hw2). Only a question asking when: "What do we implement in the first homework?" is
# answered by the homework's description, and "hw1" pulled the schedule above it (d3-en06, d3-ez08).
# English is matched in ASCII (re.A: "ſecond" is no "second"), full-width forms as ASCII ("作业３" is 作业3).
# "when" anywhere: a whitelist of where it asks ("When is…", "do you know when…") missed "By when…",
# "Homework 3 when?", "Hey TA when will…" (a review); "What should I do when homework 3 crashes?" gets the
# alias, which costs the schedule one place in its top 3 (Retriever.search). "Due to" is no date.
WHEN_ASKED = re.compile(r"什么时候|啥时候|什么时间|何时|几时|哪天|哪一天|几号|几月|星期几|哪个星期|截止|截至|发布|布置|日期|哪周|哪一周|第几周"
                        r"|\b(?:when|due(?! to\b)|deadlines?|ddl|dates?|released?|handed out|which week|what day)\b", re.I | re.A)
_NUMBER_WORDS = {w: n for n, words in enumerate(
    ("1 一 one first 1st", "2 二 two second 2nd", "3 三 three third 3rd", "4 四 four fourth 4th",
     "5 五 five fifth 5th", "6 六 six sixth 6th", "7 七", "8 八", "9 九"), start=1) for w in words.split()}
_ZH_DIGIT = r"[1-9一二三四五六七八九]"
_HALF_WIDTH = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}  # "３" -> "3", "＃" -> "#"
NUMBERED_HOMEWORK = re.compile(
    # 作业3, 作业#2, 作业三 (not 作业一共 / 作业一起 / 作业一样 ..., not 作业12)
    # (spaces bounded: two runs of \s* around an optional mark backtracked quadratically, 0.43 s on 4,000 spaces)
    rf"作业\s{{0,3}}[#第]?\s{{0,3}}({_ZH_DIGIT})(?![0-9]|(?<=[一二三四五六七八九])[共起样直定般些下半])"
    rf"|第\s{{0,3}}({_ZH_DIGIT})\s{{0,3}}[次个份]?\s{{0,3}}作业"
    r"|(?<![a-z0-9])(?:homework|assignment|hw)\s{0,3}(?:no\.?|#|-)?\s{0,3}([1-9]|one|two|three|four|five|six)(?![a-z0-9])"
    r"|(?<![a-z0-9])(first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|6th)\s{1,3}(?:homework|assignment|hw)(?![a-z])",
    re.I | re.A,
)


def homework_aliases(query: str) -> list[str]:
    """The schedule's name ("hw3") of each numbered homework ``query`` names, when it asks when.

    >>> homework_aliases("作业3什么时候截止？"), homework_aliases("第二次作业和作业4哪天发布"), homework_aliases("When is HW 1 due?")
    (['hw3'], ['hw2', 'hw4'], ['hw1'])
    >>> homework_aliases("When is the second homework due?"), homework_aliases("作业2,3,4的截止日期"), homework_aliases("作业12何时截止")
    (['hw2'], ['hw2'], [])
    >>> homework_aliases("作业三啥时候交"), homework_aliases("作业３的ddl"), homework_aliases("When is homework two due?")
    (['hw3'], ['hw3'], ['hw2'])
    >>> homework_aliases("the 2nd assignment's deadline"), homework_aliases("HW-4 due"), homework_aliases("作业#1几号交")
    (['hw2'], ['hw4'], ['hw1'])
    >>> homework_aliases("What is homework 2 about?"), homework_aliases("作业是什么时候布置的"), homework_aliases("GPT-3 的作业何时发布")
    ([], [], [])
    >>> homework_aliases("作业一共有几次，什么时候交？"), homework_aliases("When is the ſecond homework due?")
    ([], [])
    >>> homework_aliases("Until when can I hand in homework 3?"), homework_aliases("Due to OOM in homework 2, what batch size?")
    (['hw3'], [])
    """
    return list(dict.fromkeys(alias for _, alias in homework_mentions(query)))


def homework_mentions(query: str) -> list[tuple[str, str]]:
    """(the words naming it, its schedule name) of each numbered homework ``query`` names, when it asks
    when: the scope guard counts those words as the notes' when a passage holds the schedule name.

    >>> homework_mentions("第二次作业和作业5哪天布置？")
    [('第二次作业', 'hw2'), ('作业5', 'hw5')]
    """
    return [(query[a:b], alias) for a, b, alias in _mention_spans(query)]


def with_homework_aliases(query: str) -> str:
    """``query`` with the schedule's name after each numbered homework it names, for the dense side of the
    search: e5 matches "hw3" in "👉 hw3 due" but not 作业3 (measured: "作业3什么时候截止？" ranks the
    schedule 11th by meaning, "作业3（hw3）什么时候截止？" 4th). Unchanged when it names none.

    >>> with_homework_aliases("作业3什么时候截止？"), with_homework_aliases("When is the second homework due?")
    ('作业3（hw3）什么时候截止？', 'When is the second homework (hw2) due?')
    >>> with_homework_aliases("hw3 什么时候截止？"), with_homework_aliases("作业3要做什么？"), with_homework_aliases("作业３和作业一何时交？")
    ('hw3 什么时候截止？', '作业3要做什么？', '作业３（hw3）和作业一（hw1）何时交？')
    """
    spans = _mention_spans(query)
    named = query.translate(_HALF_WIDTH).lower() if spans else ""  # "hw3 什么时候截止？" names it already
    out, last = [], 0
    for a, b, alias in spans:
        out.append(query[last:b])
        if alias not in named:
            out.append(f"（{alias}）" if re.search(r"[\u4e00-\u9fff]", query[a:b]) else f" ({alias})")
        last = b
    return "".join(out) + query[last:]


def _mention_spans(query: str) -> list[tuple[int, int, str]]:
    """(start, end, schedule name) of each numbered homework ``query`` names, when it asks when; matched in
    its half-width form, which is as long as the query, so a span is the query's."""
    folded = query.translate(_HALF_WIDTH)
    if not WHEN_ASKED.search(folded):
        return []
    return [(m.start(), m.end(), _alias(m)) for m in NUMBERED_HOMEWORK.finditer(folded)]


def _alias(m: re.Match) -> str:
    word = next(g for g in m.groups() if g)
    return f"hw{_NUMBER_WORDS[word.lower()]}"


def _english_pattern(term: str) -> re.Pattern:
    words = [re.escape(w) for w in re.split(r"[\s\-]+", term.lower()) if w]
    # words may be joined by spaces or hyphens; a trailing plural "s"/"es" is allowed
    return re.compile(r"(?<![a-z0-9])" + r"[\s\-]*".join(words) + r"(?:e?s)?(?![a-z0-9])")


def _claim(taken: list[bool], start: int, end: int) -> bool:
    """Mark ``[start, end)`` of a text as a term's, unless a longer term (looked for first) took part of
    it already: then False, and the shorter term is not found there.

    >>> taken = [False] * 4
    >>> _claim(taken, 0, 3), _claim(taken, 2, 4), _claim(taken, 3, 4)
    (True, False, True)
    """
    if any(taken[start:end]):
        return False
    taken[start:end] = [True] * (end - start)
    return True


class Glossary:
    def __init__(self, pairs: list[tuple[str, list[str]]]):
        # longest English terms first so "cross entropy" wins over "entropy" for the same span
        self.en = sorted(((_english_pattern(en), en, zh) for en, zh in pairs), key=lambda t: -len(t[1]))
        zh_to_en: dict[str, list[str]] = {}
        for en, zhs in pairs:
            for zh in zhs:
                if re.search(r"[\u4e00-\u9fff]", zh):
                    zh_to_en.setdefault(zh, []).append(en)
        self.zh = sorted(zh_to_en.items(), key=lambda kv: -len(kv[0]))
        # for a translator: a Chinese term's English is the term that lists it first ("退火" -> the first
        # of annealed / annealing); a looser equivalent ("指令" under "instruction tuning") is not one
        self._first_listed: dict[str, str] = {}
        for en, zhs in pairs:
            if zhs and re.search(r"[\u4e00-\u9fff]", zhs[0]):
                self._first_listed.setdefault(zhs[0], en)

    @classmethod
    def from_pairs(cls, pairs):
        return cls([(en, list(zh)) for en, zh in pairs])

    @classmethod
    def load(cls, path: Path) -> "Glossary":
        pairs = []
        for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            en, sep, zh = line.partition("\t")
            if not sep:
                raise ValueError(f"{path}:{lineno}: expected 'english<TAB>中文,中文'")
            pairs.append((en.strip(), [z.strip() for z in zh.split(",") if z.strip()]))
        return cls(pairs)

    def expand(self, query: str) -> list[str]:
        """Terms in the other language for the glossary terms found in ``query``, plus
        definition cues (定义, 称为, definition ...) when the query asks what something is."""
        out: list[str] = [t for t in DEFINITION_TERMS] if DEFINITION_QUESTION.search(query) else []
        lowered = query.lower()
        taken = [False] * len(lowered)
        for pattern, _, zhs in self.en:
            for m in pattern.finditer(lowered):
                if _claim(taken, m.start(), m.end()):
                    out.extend(z for z in zhs if z not in out)
        for zh, ens in self.zh:
            if zh in query:
                out.extend(e for e in ens if e not in out)
        return out


    def terms_in(self, text: str, limit: int = 6) -> list[tuple[str, str]]:
        """The course terms of Chinese ``text`` with their English, for a translator, longest first, at
        most ``limit``. Every Chinese term of the glossary claims its spans, longest first; a term is
        named only when an entry lists it first (a looser equivalent, 指令 under "instruction tuning",
        is not named, and 生成式AI, listed second, keeps 生成 = "generation" from being named inside
        it) and it has two characters or more ("周" is "week" in 第3周 but not in 周五).

        >>> g = Glossary.from_pairs([("shannon game", ["香农游戏"]), ("Shannon", ["香农"]), ("generation", ["生成"]),
        ...                          ("instruction tuning", ["指令精调", "指令"]), ("week", ["周"]),
        ...                          ("generative AI", ["生成式人工智能", "生成式AI"])])
        >>> g.terms_in("香农游戏由香农提出，指令精调在第3周和周五。")
        [('香农游戏', 'shannon game'), ('指令精调', 'instruction tuning'), ('香农', 'Shannon')]
        >>> g.terms_in("生成式AI 会生成文本"), g.terms_in("指令"), g.terms_in("香农游戏", limit=0)
        ([('生成', 'generation')], [], [])
        """
        taken = [False] * len(text)
        found: list[tuple[str, str]] = []
        for zh, _ in self.zh:  # longest first
            en = self._first_listed.get(zh)
            for m in re.finditer(re.escape(zh), text):
                if _claim(taken, m.start(), m.end()) and en is not None and len(zh) >= 2 and (zh, en) not in found:
                    found.append((zh, en))
        return found[:limit]


@lru_cache(maxsize=4)
def load_glossary(path: str) -> Glossary | None:
    return Glossary.load(Path(path)) if path else None
