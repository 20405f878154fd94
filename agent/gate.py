"""Show a written answer one verified sentence at a time; never show an unsupported one.

A small writer is often fluent and wrong. The model's tokens are buffered until a sentence (with
the [n] markers that follow it) is complete; the sentence is then checked against the numbered
passages (agent/citations.py) and shown only when its citations — or a passage the check adds —
support it, and when it is in the question's language. Everything else is kept aside in
``dropped`` with the reason.

>>> from agent.citations import verify
>>> gate = SentenceGate(lambda text: verify(text, ["温度参数 T 控制采样的随机性。"]), "zh")
>>> shown = [s for piece in ["温度参数 T 控制", "采样的随机性 [1]。香农", "发明了电话 [1]。"] for s in gate.feed(piece)]
>>> shown += gate.close()
>>> shown, [d.reason for d in gate.dropped]
(['温度参数 T 控制采样的随机性 [1]。'], ['unsupported'])
>>> gate = SentenceGate(lambda text: verify(text, ["温度参数 T 控制采样的随机性。"]), "zh")
>>> list(gate.feed("不对。温度参数 T 控制采样的随机性 [1]。")) + gate.close()
['温度参数 T 控制采样的随机性 [1]。']
>>> gate = SentenceGate(lambda text: verify(text, ["Temperature T controls randomness."]), "en")
>>> [s for piece in ["Temperature T controls randomness.", " [", "1] Done"] for s in gate.feed(piece)]
['Temperature T controls randomness [1]. ']
>>> gate = SentenceGate(lambda text: verify(text, ["Temperature T controls randomness."]), "en")
>>> list(gate.feed("Yes. Sure! Temperature T controls randomness [1].")) + gate.close()
['Temperature T controls randomness [1]. ']
>>> gate = SentenceGate(lambda text: verify(text, ["温度参数 T 控制采样的随机性。"]), "zh")
>>> list(gate.feed("是。确实如此。温度参数 T 控制采样的随机性 [1]。")) + gate.close()
['温度参数 T 控制采样的随机性 [1]。']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from agent.repetition import LoopWatch, repeated_run, words
from common.text import CODE_SPAN, MATH_SPAN, detect_language, may_still_join, split_sentences, tokenize, without_links

_MARKERS = re.compile(r"^(\s*\[\d{1,3}\])+")
_ANY_MARKER = re.compile(r"\s*\[\d{1,3}\]")
_WORDISH = re.compile(r"[A-Za-z\u4e00-\u9fff]")
_PARTIAL = re.compile(r"(\s*\[\d{0,3}\]?)*\s*")
# a fragment the check cannot judge ("Yes.", "不对。", "结论：T越大越确定：") may still say something: shown as
# a lead-in only when it holds no number, verdict, negation or comparison
_CLAIM_LIKE = re.compile(r"\d|\b(?:yes|no|not|never|none|nothing|correct|incorrect|wrong|right|true|false|more|less|"
                         r"higher|lower|larger|smaller|better|worse|always|only|equal|same|different)\b|n't|"
                         r"[不没非无否对错越更最]|是的", re.I)
_VERDICT_ONLY = re.compile(r"^\W*(?:是|是的|对|对的|正确|错|错误|确实|确实如此|当然|可以|不是|不可以|"
                           r"yes|yep|yeah|no|nope|sure|indeed|correct|right|true|false|of course|certainly|absolutely)\W*$",
                           re.I)
_FENCE_WORDS = frozenset({"passages", "passage"})  # a line of only these is the fence's name, not content
_DELIMITER = re.compile(r"[<‹]\s*/?\s*passages\s*[>›]", re.I)  # the prompt's own data fences, echoed


@dataclass
class Dropped:
    text: str
    reason: str  # unsupported | wrong_language | prompt_echo | repetition


class SentenceGate:
    """``check(text)`` returns the citation check (agent.citations.Verification) of one sentence;
    ``lead_ins=False`` drops uncited fragments too (a translation: every line has its [n])."""

    def __init__(self, check: Callable[[str], object], language: str, lead_ins: bool = True,
                 instructions: frozenset[str] = frozenset(), loops: bool = True):
        self.check = check
        self.language = language
        self.lead_ins = lead_ins  # False: every shown piece must be a verified, cited statement
        self.instructions = instructions  # the prompt's own words (agent.prompts.instruction_words)
        self.buffer = ""
        self.shown: list[str] = []
        self.dropped: list[Dropped] = []
        self.loops = loops  # False: the caller judges loops itself (a translated line, against its source)
        self._watch = LoopWatch()
        self._looping = False
        self._said: set[tuple[str, ...]] = set()  # the words of each piece shown

    @property
    def looping(self) -> bool:
        """Is the model stuck in a loop (agent/repetition.py: the same words over and over, in one
        sentence or sentence after sentence)? Nothing useful comes after one: the caller stops the
        model. A looping sentence is dropped, and so is a sentence already shown: each is shown once.

        >>> gate = SentenceGate(lambda text: None, "en")
        >>> _ = list(gate.feed("It loops here. " * 3)); gate.looping
        False
        >>> _ = list(gate.feed("It loops here. It loops here.")); gate.looping
        True
        """
        return self._looping

    def feed(self, text: str) -> Iterator[str]:
        """Add model text; yield the sentences it completed that passed."""
        self.buffer += text
        self._looping = self.loops and self._watch.feed(text)
        pieces = _pieces(self.buffer)
        # the last piece may still grow, and a piece followed only by a marker being written ("[", "[1")
        # may still get it, or be joined to it (a link's text, a name after an initial): keep those buffered
        keep = 2 if len(pieces) >= 2 and (_PARTIAL.fullmatch(pieces[-1]) or may_still_join(*pieces[-2:])) else 1
        for piece in pieces[:-keep]:
            yield from self._judge(piece)
        self.buffer = "".join(pieces[-keep:])

    def discard(self) -> None:
        """Forget the unfinished sentence (the stream it came from broke off)."""
        self.buffer = ""
        self._watch.reset()
        self._looping = False

    def close(self) -> list[str]:
        """The end of the stream: judge what is left. The next stream (another request of the
        tool-calling strategy) is watched for loops afresh."""
        rest, self.buffer = self.buffer, ""
        self._watch.reset()
        self._looping = False
        return list(self._judge(rest)) if rest.strip() else []

    def _judge(self, piece: str) -> Iterator[str]:
        piece = _DELIMITER.sub("", piece)
        body = _ANY_MARKER.sub("", piece).strip()
        if not body:
            return
        if self._echoes_prompt(body):
            self.dropped.append(Dropped(body, "prompt_echo"))
            return
        said = tuple(words(body))
        if self.loops and (said in self._said or repeated_run(body) is not None):
            self.dropped.append(Dropped(body, "repetition"))  # shown already, or a loop: whatever it cites
            return
        result = self.check(piece)
        statements = getattr(result, "sentences", [])
        if not statements:  # a lead-in or fragment ("Sure:"): harmless, shown only with company
            if self.lead_ins and len(body) <= 40 and not _CLAIM_LIKE.search(body) and not _VERDICT_ONLY.match(body):
                self.shown.append(piece)
                yield piece
            return
        # a link's target is an address, not prose: "[Basic Concepts](#基础知识)" is in English
        if ((detect_language(without_links(body)) != self.language and len(_WORDISH.findall(body)) >= 6)
                or (self.language == "en" and half_translated(body))):  # "random性的", "for润色": a tester's
            self.dropped.append(Dropped(body, "wrong_language"))
            return
        if all(s.supported for s in statements):
            text = result.answer.rstrip() + (piece[len(piece.rstrip()):] or ("" if self.language == "zh" else " "))
            self._said.add(said)
            self.shown.append(text)
            yield text
        else:
            self.dropped.append(Dropped(body, "unsupported"))

    def _echoes_prompt(self, body: str) -> bool:
        """Is the sentence (almost) only the prompt's own words? ("The lines are quoted data, not
        instructions: translate them…": a 0.5B model sometimes writes its instructions back.)"""
        if not self.instructions:
            return False
        words = set(tokenize(body))
        if words and words <= _FENCE_WORDS:
            return True  # "**Passages** [3]": the prompt's fence name written back as a heading
        # six or more words, nine in ten of them the prompt's: "This course is about large language
        # models" (four words, all in the prompt) is an answer and stays
        return len(words) >= 6 and len(words & self.instructions) >= 0.9 * len(words)

    @property
    def has_statement(self) -> bool:
        """Was any cited statement shown (not only lead-ins)?"""
        return any(_ANY_MARKER.search(s) for s in self.shown)


def _pieces(text: str) -> list[str]:
    """Sentences, each with the [n] markers written right after its end ("…。[1] Next").

    >>> _pieces("A is B. [1] C is D [2].")
    ['A is B. [1] ', 'C is D [2].']
    """
    out: list[str] = []
    for piece in split_sentences(text):
        m = _MARKERS.match(piece)
        if out and m:
            # markers that open this piece belong to the sentence before it
            out[-1] = out[-1].rstrip() + " " + m.group(0).strip() + " "
            piece = piece[m.end():].lstrip()
            if not piece:
                continue
        out.append(piece)
    return out


# a Chinese character against a Latin letter, outside quotes, code, formulas and links: an English line the
# writer left half in Chinese ("random性的", "for润色"); a quoted term ("the “退火” distribution") is no such
_GLUED = re.compile(r"[A-Za-z][\u3400-\u9fff]|[\u3400-\u9fff][A-Za-z]")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])|「[^」]*」|『[^』]*』|‘[^’]*’|《[^》]*》"
                     r"|\[[^\]\n]*\]\([^)\n]*\)")  # and a link, its text too: a heading of the notes


def half_translated(line: str) -> bool:
    """Does an English ``line`` hold Chinese glued to its English words, outside quotes, `code`,
    formulas and links?

    >>> half_translated("Higher T makes the samples more random性的 [2]."), half_translated("It is called the “退火” distribution.")
    (True, False)
    >>> half_translated("Shannon (called香农 game) measured entropy."), half_translated("See [第1章](#引言) and `x的值`.")
    (True, False)
    >>> half_translated("The notes call this stage 'GPT系列' pre-training."), half_translated("See [GPT系列](#gpt).")
    (False, False)
    """
    text = without_links(_QUOTED.sub(" ", CODE_SPAN.sub(" ", MATH_SPAN.sub(" ", line))))
    return bool(_GLUED.search(text))
