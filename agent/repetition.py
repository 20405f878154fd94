"""Tell a model that is stuck in a loop: the same words written over and over.

A small writer decoding greedily sometimes falls into a loop it never leaves ("…avoid the statement
of a statement of a statement of …" until the token limit, seen translating a line of the notes),
or writes one sentence again and again. Such a text is no answer and no translation, however alike
to its source it scores, and every token after the loop began is time the student waits for
nothing. :func:`repeated_run` finds a loop, so a line or sentence holding one is left out, and
:class:`LoopWatch` watches a reply as it streams, so it is cut where the loop began.

Words are compared, not characters: Latin words, numbers and single Chinese characters, with
punctuation, spacing and citation markers ([n]) ignored ("… [1]. … [2]. … [3]." is one sentence
written three times). A loop is a group of words written :data:`TIMES` (4) times in a row, of
:data:`MIN_WORDS` (12) words or more in all, whose group holds two different words of two letters or
more (a Chinese character counting half). So a table's "| Yes | Yes | Yes | Yes |", "[PAD] [PAD] [PAD] [PAD]",
"P(A)P(A)P(A)P(A)", 哈哈哈哈哈哈哈哈, "N/A" or 支持 in every column, rules and zeros are no loops, nor are
counted lists ("Week 1, Week 2, Week 3, Week 4": their numbers differ). One Chinese character written
:data:`SINGLE_TIMES` (16) times in a row is a loop too ("的，的，的，…"; 哈 sixteen times is no laugh an
answer needs). One Latin word or number over and over is not: "[PAD] [PAD] …", a printed
``tensor([True, True, …])``, "-inf" across a causal mask row, coin flips "H H H …", "\\quad", "0 0 0 …".

>>> repeated_run("avoid the statement of a statement of a statement of a statement of a statement of a")
'statement of a statement of a statement of a statement of a'
>>> repeated_run("Temperature flattens the distribution [1]. " * 4)[:40]
'temperature flattens the distribution te'
>>> [repeated_run(t) for t in ("温度越高分布越平。温度越高分布越平。", "| Yes | Yes | Yes | Yes | Yes |", "哈哈哈哈" * 3)]
[None, None, None]
>>> repeated_run("分布越平坦，分布越平坦，分布越平坦，分布越平坦"), repeated_run("Week 1, Week 2, Week 3, Week 4, Week 5")
('分 布 越 平 坦 分 布 越 平 坦 分 布 越 平 坦 分 布 越 平 坦', None)
>>> repeated_run("答案是" + "的，" * 16)[:7], repeated_run("[PAD] " * 30), repeated_run("0, " * 40), repeated_run("哈" * 12)
('的 的 的 的', None, None, None)

A loop its source holds too (``unless_in``: the line a translation translates) is no loop there:

>>> bad = "A bad sentence: 'the cat sat the cat sat the cat sat the cat sat'."
>>> repeated_run(bad) is not None, repeated_run(bad, unless_in="坏句子：“the cat sat the cat sat the cat sat the cat sat”。")
(True, None)
"""

from __future__ import annotations

import re

TIMES = 4  # a group of words written this often in a row is a loop…
SINGLE_TIMES = 16  # …and one Chinese character written this often in a row
MIN_WORDS = 12  # …when the copies hold this many words in all
MAX_GROUP = 48  # words in the longest group looked for (a long sentence)
TAIL = 800  # characters of a growing reply looked at: a loop shows within its last few hundred
EVERY = 24  # characters a reply grows by between two looks
_WORD = re.compile(r"[A-Za-z]+|\d+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MARKER = re.compile(r"\[\d{1,3}\]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def words(text: str) -> list[str]:
    """The words loops are counted in: Latin words (lower case), numbers, Chinese characters.

    >>> words("The [PAD] token [2]，温度 T=0.7")
    ['the', 'pad', 'token', '温', '度', 't', '0', '7']
    """
    return [w.lower() for w in _WORD.findall(_MARKER.sub(" ", text))]


def repeated_run(text: str, unless_in: str = "") -> str | None:
    """The first loop in ``text`` (its words, space-separated), or None. A loop ``unless_in`` holds
    as well (the same group of words, written as often) is no loop."""
    allowed = _groups(unless_in)
    for group, run in _loops(words(text)):
        if _canonical(group) not in allowed:
            return " ".join(run)
    return None


class LoopWatch:
    """Watches a reply as it streams: :meth:`feed` says whether its last :data:`TAIL` characters
    loop (looked at each time it has grown by :data:`EVERY` characters, so a reply of a few hundred
    tokens costs milliseconds). ``unless_in``: text whose own loops are allowed (the lines sent for
    translation); ``strip``: a pattern removed before looking (a translation's line numbers: one
    line written under number after number is a loop).

    >>> watch = LoopWatch()
    >>> any(watch.feed(piece) for piece in "It is fine. It is a list of things and more. ".split(" "))
    False
    >>> any(watch.feed("of a statement ") for _ in range(8))
    True
    """

    def __init__(self, unless_in: str = "", strip: re.Pattern | None = None):
        self.unless_in = unless_in
        self.strip = strip
        self.recent = ""
        self._unseen = 0
        self._allowed = _groups(unless_in)

    def feed(self, text: str) -> bool:
        """Add a piece of the reply; is it looping now?"""
        self.recent = (self.recent + text)[-TAIL:]
        self._unseen += len(text)
        if self._unseen < EVERY:
            return False
        self._unseen = 0
        return self.looping()

    def looping(self) -> bool:
        """Does the reply's tail loop (whatever was looked at last)?"""
        tail = self.strip.sub(" ", self.recent) if self.strip is not None else self.recent
        return any(_canonical(group) not in self._allowed for group, _ in _loops(words(tail)))

    def reset(self) -> None:
        """A new reply begins (the tool-calling strategy's next request)."""
        self.recent, self._unseen = "", 0


def _groups(text: str) -> set[tuple[str, ...]]:
    """The loops ``text`` holds itself, as :func:`_canonical` groups (allowed in its translation)."""
    return {_canonical(group) for group, _ in _loops(words(text))} if text else set()


def _loops(ws: list[str]):
    """Each loop in ``ws`` as (its group of words, the run of copies), shortest groups first."""
    m = len(ws)
    streak = 0
    for i in range(m - 1):  # one Chinese character over and over
        streak = streak + 1 if ws[i] == ws[i + 1] and _CJK.fullmatch(ws[i]) else 0
        if streak == SINGLE_TIMES - 1:
            yield [ws[i]], ws[i - streak + 1:i + 2]
    for n in range(2, min(MAX_GROUP, m // TIMES) + 1):
        need = max((TIMES - 1) * n, MIN_WORDS - n)  # equal pairs in a row for TIMES copies and MIN_WORDS words
        streak = 0
        for i in range(m - n):
            streak = streak + 1 if ws[i] == ws[i + n] else 0
            if streak == need:
                start = i - need + 1
                group = ws[start:start + n]
                if _wordy(group):
                    yield group, ws[start:i + n + 1]


def _wordy(group: list[str]) -> bool:
    """Two different words of two letters or more, a Chinese character counting half ("p a", "yes",
    "支持" and "不支持" are not: a table's cells; "分布越平坦" is).

    >>> [_wordy(words(t)) for t in ("of a statement", "p a", "N/A", "支持", "不支持", "越高越平坦", "GPT 越高")]
    [True, False, False, False, False, True, True]
    """
    distinct = set(group)
    latin = sum(1 for w in distinct if len(w) >= 2 and not w.isdigit())
    return latin + sum(1 for w in distinct if _CJK.fullmatch(w)) / 2 >= 2


def _canonical(group: list[str]) -> tuple[str, ...]:
    """The group whatever word it starts at ("a statement of" = "of a statement")."""
    return min(tuple(group[i:] + group[:i]) for i in range(len(group)))
