"""Does a sentence say the opposite of the sentence that supports it? Negation and direction.

The citation check (agent/citations.py) measures how much of a sentence its passage contains, by
words and by meaning; neither sees that "温度参数 T 不控制随机性" says the opposite of "温度参数 T
控制采样的随机性", or "when T is high" of "当 T 值较低时": the words are the same, the meanings
close. A small writer makes exactly these slips. Two checks, in either language and across them
(an English sentence against its Chinese source):

- negation: one of the two holds a negation ("not", "never", "n't", 不, 没, 并非, 未, 无法) and the
  other none;
- direction: the up / down words (high, more, increase, 较高, 更多, 增加… / low, less, decrease, 较低,
  更少, 减少…) differ word for word (only where both have as many).

Deliberately small lists: a check that fires on a right sentence drops it from the answer.

>>> contradiction("温度参数 T 不控制随机性", "温度参数 T 控制采样的随机性。")
'negation'
>>> contradiction("当 T 值较高时，模型更倾向于生成概率较高的令牌。", "当 T 值较低时，模型更倾向于生成概率较高的令牌。")
'direction'
>>> contradiction("温度参数 T 控制随机性", "温度参数 T 控制采样的随机性。") is None
True
>>> contradiction("这与一次性采样并不等同", "这种方法并不等同于从整个序列的退火分布中一次性采样。") is None
True
"""

from __future__ import annotations

import re

# 不 in words that do not negate (不同 different, 不断 continually, 不仅 not only, 不过 however, 不少 many …)
# or that English writes as one word (不可避免 unavoidably, 不可接受 unacceptable); 非 as a prefix (非自回归
# non-autoregressive) likewise
_NEGATION_ZH = re.compile(r"(?<!而)不(?!同|断|仅|过|少|久|论|管|如|但|然|妨|停|错|可避|可或|可否)|没|并非|未(?![来知])|无法|无需|"
                          r"绝非|无关")
_NEGATION_EN = re.compile(r"\b(?:not|never|no|none|cannot|neither|nor|without|hardly|barely|scarcely|seldom|rarely|untrue)\b"
                          r"|\bit is false that\b|n't\b", re.I)
_UP = r"\b(?:high|higher|increases?|increased|increasing|more|larger|greater|raises?|raised)\b|较高|更高|提高|升高|增加|增大|越大|越高|较大|更大|更多|较多"
_DOWN = r"\b(?:low|lower|decreases?|decreased|decreasing|less|fewer|smaller|reduces?|reduced)\b|较低|更低|降低|减少|减小|越小|越低|较小|更小|更少|较少"
_DIRECTION = re.compile(f"(?P<up>{_UP})|(?P<down>{_DOWN})", re.I)


def negated(text: str) -> bool:
    """Does ``text`` hold a negation? (Presence, not parity: "既不是…也不是" is neither…nor, and
    "而不是" is "instead of", not a negation.)

    >>> negated("T does not control randomness."), negated("这并不等同于一次性采样"), negated("不同的温度")
    (True, True, False)
    >>> negated("答案既不是最具信息性的"), negated("直接得到答案而不是整个句子")
    (True, False)
    """
    return bool(_NEGATION_ZH.search(text) or _NEGATION_EN.search(text))


def directions(text: str) -> list[str]:
    """The 'up' / 'down' words of ``text``, in order.

    >>> directions("当 T 值较低时，模型更倾向于生成概率较高的令牌"), directions("a lower temperature")
    (['down', 'up'], ['down'])
    """
    return [m.lastgroup for m in _DIRECTION.finditer(text)]


def contradiction(claim: str, evidence: str) -> str | None:
    """Why ``claim`` says the opposite of ``evidence`` ('negation', 'direction'), or None.

    Across languages only a negation the claim *adds* counts: English often negates inside a word
    (不正确 "incorrect", 未标记 "unlabeled", 不确定性 "uncertainty"), so a Chinese negation without an
    English "not" is no sign of a wrong translation.

    >>> contradiction("grammatically incorrect", "语法上不正确"), contradiction("is not correct", "语法上正确")
    (None, 'negation')
    """
    a_neg, b_neg = negated(claim), negated(evidence)
    if a_neg != b_neg and (a_neg or _language(claim) == _language(evidence)):
        return "negation"
    a, b = directions(claim), directions(evidence)
    if a and b and len(a) == len(b) and a != b:  # word for word, where both have as many
        return "direction"
    return None


def _language(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"
