"""Tell a model that is stuck in a loop: the same words written over and over.

A small writer decoding greedily sometimes falls into a loop it never leaves ("…avoid the statement
of a statement of a statement of …" until the token limit, seen translating a line of the notes).
Such a text is no answer and no translation, however alike to its source it scores, and every token
after the loop began is time the student waits for nothing. :func:`repeated_run` finds the loop, so
a line or sentence holding one is left out and the stream is cut where it began.

A run is a stretch of 2-60 characters written ``times`` (4) or more times in a row, with at least
two letters or Chinese characters in it: rules ("----"), dot leaders, zeros and table borders are
not loops, and neither is a stretch the source itself repeats (``unless_in``).

>>> repeated_run("avoid the statement of a statement of a statement of a statement of a statement of a")
' statement of a statement of a statement of a statement of a statement of a'
>>> repeated_run("温度越高，分布越平。温度越高，分布越平。") is None   # twice is a repetition, not a loop
True
>>> repeated_run("| --- | --- | --- | --- |") is None, repeated_run("0.0000000001") is None
(True, True)
>>> repeated_run("我们我们我们我们都喜欢") , repeated_run("p(the the the the)", unless_in="p(the the the the)")
('我们我们我们我们', None)
"""

from __future__ import annotations

import re

TIMES = 4  # a stretch written this often in a row is a loop
_RUN = re.compile(r"(.{2,60}?)\1{%d,}" % (TIMES - 1), re.S)
_WORDISH = re.compile(r"[A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
TAIL = 600  # characters of a growing text looked at: a loop shows within its last few hundred


def repeated_run(text: str, unless_in: str = "") -> str | None:
    """The first loop in ``text`` (the run, as written), or None. With ``unless_in`` (the source)
    (the notes' own "the the the the", an example of a bad sentence) is no loop: when the source
    holds a run of its own, none is counted."""
    if unless_in and unless_in != text and repeated_run(unless_in) is not None:
        return None
    for m in _RUN.finditer(text):
        if len(_WORDISH.findall(m.group(1))) >= 2:
            return m.group(0)
    return None


def runs_away(text: str, unless_in: str = "") -> bool:
    """Is the model looping at the end of ``text`` (a reply still being written)? Looks at its last
    :data:`TAIL` characters only, so calling it on every new piece of a stream stays cheap.

    >>> runs_away("Entropy measures uncertainty. " + "of a statement " * 5)
    True
    >>> runs_away("of a statement " * 5 + "".join(f"line {i} of the notes; " for i in range(40)))
    False
    """
    return repeated_run(text[-TAIL:], unless_in) is not None
