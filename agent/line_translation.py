"""A quote translated line by line: each quoted line is shown translated only when its own
translation passes the check, and is left out of the answer otherwise (listed in ``left_out``, for
the caller to show apart, as in the notes), in the quote's order.

The quote's lines go to the model numbered ("1. 温度参数 T 控制随机性。"), without their [n]; the
model's numbered reply is matched back to the lines by number (an unnumbered line takes the next
open number). A line's translation is judged against its source line and the passage that line
came from, with that line's [n] (whatever the model wrote there is ignored), and it must keep the
source line's numbers ("第3周" is not "the first week", "3000亿" is not "3000 billion") and its
days of the week and months ("周五15:30" is not "Week 15:30": :func:`keeps_calendar`), and must not
loop ("…of a statement of a statement of a…": agent/repetition.py; :attr:`LineTranslation.looping`
tells the caller to stop the model). A line
whose translation fails, or that the model left out, is not shown in the answer: an English answer
with a Chinese line in the middle reads as neither (docs/EVALUATION.md, "Lines that could not be translated").

>>> lt = LineTranslation(["温度参数 T 控制随机性。 [1]", "Table: T=0.7 [2]", "香农在1948年提出熵。 [2]"],
...                      send=[True, False, True], judge=lambda text, source: "telephone" not in text)
>>> print(lt.prompt_lines())
1. 温度参数 T 控制随机性。
2. 香农在1948年提出熵。
>>> list(lt.feed("1. Temperature T controls randomness.\\n2. Shannon invented the tele"))  # line 2 still growing
['Temperature T controls randomness. [1]', 'Table: T=0.7 [2]']
>>> list(lt.feed("phone in 1948.\\n")), lt.close()  # judged at the end (a line may go on); left out
([], [])
>>> lt.translated, lt.left_out_lines()
(1, ['香农在1948年提出熵。 [2]'])
>>> lt = LineTranslation(["温度参数 T 控制随机性。 [1]"], send=[True], judge=lambda text, source: True)
>>> [*lt.feed("<passages>\\n1. Temperature T controls randomness.\\n</passages>"), *lt.close()]  # fences skipped
['Temperature T controls randomness. [1]']

With ``retry_lines``, a line whose translation failed (or that the model left out) waits instead,
up to that many; the lines after it wait with it. They are asked again in a second, shorter
request (:meth:`retry`, numbered from 1), and :meth:`settle` shows each translated or leaves it out:

>>> lt = LineTranslation(["熵衡量不确定性。 [1]", "香农在1948年提出熵。 [2]", "交叉熵是上界。 [2]"],
...                      send=[True] * 3, judge=lambda text, source: "telephone" not in text, retry_lines=2)
>>> [*lt.feed("1. Entropy measures uncertainty.\\n2. Shannon invented the telephone.\\n"), *lt.close()]
['Entropy measures uncertainty. [1]']
>>> again = lt.retry()
>>> print(again.prompt_lines())
1. 香农在1948年提出熵。
2. 交叉熵是上界。
>>> _ = [*again.feed("1. Shannon proposed entropy in 1948.\\n"), *again.close()]  # line 2 left out
>>> lt.settle(again)
['Shannon proposed entropy in 1948. [2]']
>>> lt.translated, lt.left_out_lines()
(2, ['交叉熵是上界。 [2]'])
>>> lt = LineTranslation(["[CM3：因果掩码](https://a.org/1) [1]"], send=[True], judge=lambda text, source: True)
>>> [*lt.feed("1. - [CM3: causal masking](https://a.org/1)\\n"), *lt.close()]  # its bullet dropped
['[CM3: causal masking](https://a.org/1) [1]']
"""

from __future__ import annotations

import math
import re
from typing import Callable, Iterator

from agent.citations import MARKER as _ANY_MARKER
from agent.citations import _NUMBER as _DIGITS  # the check's own idea of a number
from agent.compose import _BULLET  # the bullet quote_lines takes off a list item
from agent.compose import OWN_REFERENCE  # a passage's own reference number as a quote shows it
from agent.dates import keeps_calendar, months_as_words
from agent.gate import _DELIMITER as _FENCE  # the prompt's data fences, echoed
from agent.repetition import LoopWatch, repeated_run
from common.text import mentions, term_forms, without_links

_NAME_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]")  # a word of letters and digits, "GPT-3.5" whole
_CAPITALS, _CAPITAL, _DIGIT = re.compile(r"[A-Z]{2}"), re.compile(r"[A-Z]"), re.compile(r"\d")
# a course's own numbered things, which a translation writes for 作业2, 第3周, 第1讲: no names
_COURSE_FORM = re.compile(r"(?:homework|hw|week|lecture|lec|assignment|quiz|q|part|chapter|ch|section|step|task|"
                          r"project|day|lab|exercise|problem)s?-?\d+|[IVXLC]+", re.I)  # and Roman numerals: Part III
_NUMBERED = re.compile(r"^\s*(?:[-*•]\s*)?(\d{1,3})\s*[.)、:：]\s*(.*)$")
_LINE_NUMBERS = re.compile(r"^\s*(?:[-*•]\s*)?\d{1,3}\s*[.)、:：]", re.M)  # "2. ": a line's number
_STARTS_NUMBERED = re.compile(r"^\s*(?:[-*•]\s*)?\d{1,3}\s*[.)、:：]\s")
_MARKER_AT_END = re.compile(r"(\s*\[\d{1,3}\])+\s*$")
_LIST_NUMBER = re.compile(r"^\s*(?:[-*•]\s*)?\(?\d{1,2}[.)、](?!\d)\s*")  # "1. ", not the "0." of "0.5B"
_THOUSANDS = re.compile(r"(?<![\d,.])[1-9]\d{0,2}(?:,\d{3})+(?![\d,])")  # "15,000" (not "(224,224,3)", "[0,255]")
# a number with a counting unit: Chinese counts in 万 (10^4) and 亿 (10^8), English in thousands
_UNITS = {"万亿": 10**12, "千亿": 10**11, "百亿": 10**10, "亿": 10**8, "千万": 10**7, "百万": 10**6, "万": 10**4,
          "千": 10**3, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12,
          "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
_COUNTED = re.compile(r"(\d+(?:\.\d+)?)(?:\s*(万亿|千亿|百亿|亿|千万|百万|万|千|thousand|million|billion|trillion)"
                      r"|([KMBT])(?![A-Za-z]))", re.I)


def split_marker(line: str) -> tuple[str, str]:
    """("sentence", "[n]") of a quoted line.

    >>> split_marker("温度控制随机性。 [2]")
    ('温度控制随机性。', '[2]')
    """
    m = _MARKER_AT_END.search(line)
    return (line[: m.start()].rstrip(), m.group(0).strip()) if m else (line.rstrip(), "")


def line_passage(line: str) -> int | None:
    """The passage a quoted line ("sentence [n]") came from: its last marker's number (a sentence of
    the notes may end in a reference of its own: "… 信息论 [4] [2]" came from passage 2).

    >>> line_passage("温度控制随机性。 [2]"), line_passage("香农提出了信息论 [4] [2]"), line_passage("标题")
    (2, 2, None)
    """
    marker = split_marker(line)[1]
    return int(marker.rsplit("[", 1)[1].rstrip("]")) if marker else None


def keeps_source(source: str, translation: str) -> bool:
    """The checks a translated line must pass against its source line alone, before the judge: its
    numbers kept (:func:`keeps_numbers`), its days and months (agent/dates.py), and no loop its source
    does not hold (agent/repetition.py).

    >>> keeps_source("第3周：香农", "Week 3: Shannon"), keeps_source("周五15:30", "Week 15:30")
    (True, False)
    """
    return (keeps_numbers(source, translation) and keeps_calendar(source, translation)
            and repeated_run(translation, unless_in=source) is None)


def new_names(source: str, translation: str, glossary=None) -> list[str]:
    """The names in ``translation`` that its ``source`` line never writes: words of three letters or
    more with two capitals in a row, or with a capital and a digit ("MOSS", "InternLM", "GPT-3", "PDF"),
    outside link targets, less the ``glossary``'s translations of the line's terms ("LLM" for 大语言模型).
    Chinese notes keep such names as they are, so a translation naming one its line lacks took it
    from elsewhere: "**闫宏秀** (上海交通大学教授, …)" came back as "**闫宏秀** (…, Co-Founder of MOSS)",
    the next line's MOSS, and e5 found the two alike (by the name they share) and the passage
    supported it. Capitalised words ("Large-Scale", "PowerPoint"), two letters ("AI", "PM", "TAs"),
    Roman numerals and a course's numbered things ("Homework2", "Week3") are no names here: a
    translation makes them.

    >>> new_names("**闫宏秀** (上海交通大学教授, 主要研究方向: 技术哲学)", "**闫宏秀** (Professor, Co-Founder of MOSS)")
    ['MOSS']
    >>> new_names("浦语大模型InternLM核心完成人", "core contributor of the InternLM model")
    []
    >>> new_names("[大型神经网络训练的碳排放](https://arxiv.org/abs/2104.10350)",
    ...           "[Carbon Emissions from Large-Scale Neural Network Training](https://arxiv.org/abs/2104.10350)")
    []
    >>> new_names("代码", "PDF"), new_names("GPT-3 的上下文长度", "the context length of GPT3")
    (['PDF'], [])
    >>> new_names("邮件联系助教们：第三部分", "Email the TAs: Part III, Lab3")
    []
    >>> new_names("生成式人工智能，周五15:30", "Generative AI, Friday 3:30 PM"), new_names("作业2 团队", "Homework2 team, HW3")
    ([], [])
    >>> from retrieval.glossary import Glossary
    >>> new_names("大语言模型的风险", "Risks of LLMs"), new_names("大语言模型的风险", "Risks of LLMs", Glossary.from_pairs([("LLMs", ["大语言模型"])]))
    (['LLMs'], [])
    """
    have = term_forms(source)
    found = [w for w in _NAME_WORD.findall(without_links(translation))
             if sum(c.isalpha() for c in re.sub(r"s$", "", w)) >= 3  # "TAs", "IDs": two letters
             and (_CAPITALS.search(w) or (_CAPITAL.search(w) and _DIGIT.search(w)))
             and not _COURSE_FORM.fullmatch(w) and not mentions(have, w)]
    return [w for w in found if glossary is None or not any(zh in source for zh in glossary.expand(w))]


def keeps_numbers(source: str, translation: str) -> bool:
    """Does ``translation`` state every number of ``source``? ("第3周" → "the first week" does not.)
    A list item's own number ("1. **早期作业**") and the numbers inside links do not count. A number
    with a counting unit must keep its value: "3000亿" is "300 billion" (or "300B"), not "3000 billion".

    >>> keeps_numbers("免费用100(36 + 64)小时", "100 (36 + 64) free hours"), keeps_numbers("第3周", "the first week")
    (True, False)
    >>> keeps_numbers("2. **季度长项目**（75%）", "**Quarter-long project** (75%)")
    True
    >>> [keeps_numbers("GPT-3只在3000亿个tokens上训练", "GPT-3: " + t) for t in ("300 billion", "300B", "3000 billion")]
    [True, True, False]
    >>> keeps_numbers("在2万亿个tokens上训练了一个5-gram模型", "trained a 5-gram model on 2 trillion tokens")
    True
    >>> keeps_numbers("1750亿参数的GPT-3与7B模型", "GPT-3 with 175 billion parameters and a 7B model")
    True
    >>> [keeps_numbers("0.5B模型约有1.5万个样本", t) for t in ("The 0.5B model has about 15,000 samples",
    ...                                                     "The 5B model has about 50000 samples")]
    [True, False]
    >>> keeps_numbers("3.5万亿个token，4k上下文", "3.5 trillion tokens, a 4,000-token context")
    True

    A comma between digits is read both ways, as a list and as a thousands separator: "64,128,256"
    may be either.

    >>> [keeps_numbers(s, t) for s, t in [("输入形状为(224,224,3)", "The input shape is (224, 224, 3)"),
    ...     ("批大小取64,128,256", "batch sizes of 64, 128, 256"), ("约3,000个", "about 3000"), ("[0,255]", "[0, 25]")]]
    [True, True, True, False]

    A date's month may be a word in one language and a number in the other, and a number may lose its
    leading zero: "1月16日" is "Jan 16", "2024/04/04" is "April 4, 2024" (which month: :func:`keeps_calendar`).

    >>> keeps_numbers("1月16日：节日", "Jan 16: holiday"), keeps_numbers("7 2024/04/04 清明节", "7 April 4, 2024: Qingming")
    (True, True)
    >>> keeps_numbers("7 2024/04/04 清明节", "7 April 14, 2024: Qingming"), keeps_numbers("0.05", "0.5")
    (False, False)
    >>> keeps_numbers("2024/04/04", "2024年04月04日"), keeps_numbers("周一 1月8日", "Monday, Jan 8")
    (True, True)
    """
    source, translation = months_as_words(source), months_as_words(translation)
    return _keeps_numbers(source, translation) or _keeps_numbers(_ungrouped(source), _ungrouped(translation))


def _ungrouped(text: str) -> str:
    """Thousands separators dropped: "15,000" → "15000"."""
    return _THOUSANDS.sub(lambda m: m.group(0).replace(",", ""), text)


def _keeps_numbers(source: str, translation: str) -> bool:
    """:func:`keeps_numbers`, with commas read as they stand."""
    def clean(text: str) -> str:  # a passage's own reference number ("［4］", agent.compose.own_references) is no content
        return OWN_REFERENCE.sub(" ", without_links(_LIST_NUMBER.sub("", text)))

    def counted(text: str) -> tuple[list[float], str]:
        """The values of the numbers with a unit, and the text without them."""
        values = [float(m.group(1)) * _UNITS[(m.group(2) or m.group(3)).lower()] for m in _COUNTED.finditer(text)]
        return values, _COUNTED.sub(" ", text)

    source_values, source_rest = counted(clean(source))
    values = counted(translation)[0]
    values += [float(d) for d in _DIGITS.findall(translation)]  # "300000000000" spelled out
    if not all(any(math.isclose(v, w, rel_tol=1e-9) for w in values) for v in source_values):
        return False
    return _numerals(source_rest) <= _numerals(translation)


def _numerals(text: str) -> set[str]:
    """The numbers of ``text`` as written, a whole number without leading zeros ("04日" is "4 April"'s 4)."""
    return {(d.lstrip("0") or "0") if d.isdigit() else d for d in _DIGITS.findall(text)}  # no int(): 4,300 digits raise


class LineTranslation:
    """Matches a streamed, numbered translation back to the quote's ``lines`` ("sentence [n]").

    ``send[i]``: whether line i is sent (lines already in the question's language are not, and are
    shown as they are in their place). ``judge(text, source)``: does ``text`` ("translation [n]",
    with the source line's marker) pass the check as a translation of ``source`` (the line, no
    marker). :meth:`feed`, :meth:`close`, :meth:`settle` and :meth:`rest` give the lines to show,
    in order, once the first translation has passed (before that, nothing: when none passes, the
    caller quotes instead); ``translated`` counts translations shown, ``left_out`` holds the sent
    lines not shown (no translation passed; :meth:`left_out_lines`), ``failed`` the translations
    that did not pass.
    """

    POOL = 4  # translations that failed under earlier numbers, tried for a line that fails (the latest)

    def __init__(self, lines: list[str], send: list[bool], judge: Callable[[str, str], bool], retry_lines: int = 0,
                 likeness: Callable[[str, str], float] | None = None):
        self.lines = lines
        self.sent = [i for i, s in enumerate(send) if s]  # sent line k (numbered k + 1) is lines[sent[k]]
        self.judge = judge
        self.retry_lines = retry_lines
        self.likeness = likeness  # (translation, source line) -> how alike; a moved translation goes to its likest line
        self._likest: dict[str, int] = {}
        self.pending: list[int] = []  # failed lines waiting for :meth:`retry` (indices into lines)
        self.passed: set[int] = set()  # lines shown translated
        self.result: dict[int, str | None] = {}  # index into lines -> what to show (None: left out)
        self.next_shown = 0  # the first line not shown yet
        self.next_open = 0  # the first sent line (k) not given a translation yet
        self.buffer = ""
        self.current: tuple[int, str] | None = None  # (sent line k, its translation so far)
        self.translated = 0
        self.moved = 0  # translations shown under another line than the number they came under
        self.failed: list[str] = []  # translations that did not pass under their number (and not moved yet)
        self._rejected: set[tuple[int, str]] = set()  # (line, translation) pairs judged and failed
        # a loop the lines sent hold themselves is none; one line under number after number is one
        self._watch = LoopWatch(unless_in="\n".join(split_marker(self.lines[i])[0] for i in self.sent),
                                strip=_LINE_NUMBERS)
        self.looping = False  # the model is stuck in a loop (:meth:`cut`)

    @property
    def started(self) -> bool:
        return self.translated > 0

    def prompt_lines(self) -> str:
        """The sent lines, numbered from 1, without their [n]."""
        return "\n".join(f"{k}. {split_marker(self.lines[i])[0]}" for k, i in enumerate(self.sent, 1))

    def feed(self, text: str) -> Iterator[str]:
        """Add a piece of the reply; yield the lines now ready to show. Sets :attr:`looping` when the
        model is stuck in a loop (agent/repetition.py): the caller stops it and calls :meth:`cut`."""
        self.buffer += text
        self.looping = self.looping or self._watch.feed(text)
        *done, self.buffer = self.buffer.split("\n")
        for line in done:
            self._take(line)
        if _STARTS_NUMBERED.match(self.buffer):
            self._finish()  # the next numbered line has begun: the one before it is whole
        yield from self._ready()

    def close(self) -> list[str]:
        """The end of the stream: what the model left out is left out of the answer too, or waits
        for :meth:`retry` while ``retry_lines`` allows."""
        rest, self.buffer = self.buffer, ""
        self._take(rest)
        self._finish()
        for i in self.sent[self.next_open:]:
            self._fail(i)
        self.next_open = len(self.sent)
        return list(self._ready())

    def cut(self) -> list[str]:
        """The model was stopped in a loop: the line it was writing is left out (asked again, it
        would loop again), the lines it had not reached wait for :meth:`retry` as after :meth:`close`.

        >>> lt = LineTranslation(["熵衡量不确定性。 [1]", "交叉熵是上界。 [1]", "香农提出熵。 [2]"], [True] * 3,
        ...                      judge=lambda t, s: True, retry_lines=2)
        >>> shown = list(lt.feed("1. Entropy measures uncertainty.\\n2. The bound" + " of a statement" * 6))
        >>> lt.looping, shown, lt.cut(), lt.left_out_lines(), lt.pending
        (True, ['Entropy measures uncertainty. [1]'], [], ['交叉熵是上界。 [1]'], [2])
        """
        self._take(self.buffer)
        self.buffer = ""
        if self.current is not None:
            k, self.current = self.current[0], None
            for skipped in self.sent[self.next_open:k]:
                self._fail(skipped)
            self._leave_out(self.sent[k])
            self.next_open = k + 1
        return self.close()

    @property
    def left_out(self) -> list[int]:
        """The sent lines whose translation never passed (indices into lines), in the quote's order."""
        return sorted(i for i, shown in self.result.items() if shown is None)

    def left_out_lines(self) -> list[str]:
        """The quoted lines ("sentence [n]") left out of the answer, in the quote's order."""
        return [self.lines[i] for i in self.left_out]

    def rest(self) -> list[str]:
        """Every line not shown yet, the open and waiting ones left out (a model that broke off:
        nothing half-read)."""
        self.current = None
        for i in [*self.pending, *self.sent[self.next_open:]]:
            self._leave_out(i)
        self.pending = []
        self.next_open = len(self.sent)
        return list(self._ready())

    def retry(self) -> "LineTranslation":
        """The waiting lines as a translation of their own (numbered from 1, judged alike, no retry)."""
        return LineTranslation([self.lines[i] for i in self.pending], [True] * len(self.pending), self.judge,
                               likeness=self.likeness)

    def sources(self) -> dict[str, str]:
        """Each line shown translated, without its [n], -> the notes' line it translates (without its [n]):
        the sentence a TA checks the translation against."""
        sources: dict[str, str] = {}
        for i in sorted(self.passed):
            if self.result.get(i):  # two lines translated alike: the first line's source
                sources.setdefault(split_marker(self.result[i])[0], split_marker(self.lines[i])[0])
        return sources

    def settle(self, again: "LineTranslation") -> list[str]:
        """Take the translations :meth:`retry`'s request passed; the rest of the waiting lines are
        left out. Returns the lines now ready to show, in order."""
        for j, i in enumerate(self.pending):
            if j in again.passed:
                self._pass(i, again.result[j])
            else:
                self._leave_out(i)
        self.failed += again.failed
        self.pending = []
        return list(self._ready())

    def _take(self, raw: str) -> None:
        """One line of the reply: a numbered line starts that line's translation; an unnumbered one
        continues the translation being read (a formula, a wrapped sentence) or, when none is, starts
        the next open one."""
        raw = raw.strip()
        if not raw:
            return
        if _FENCE.fullmatch(raw):
            return  # the prompt's fence written back ("<passages>")
        m = _NUMBERED.match(raw)
        if m:
            self._finish()
            k = int(m.group(1)) - 1
            if self.next_open <= k < len(self.sent):
                self.current = (k, m.group(2))
            # else: a number already answered, or none of ours
        elif self.current is not None:
            self.current = (self.current[0], f"{self.current[1]} {raw}")
        elif not raw.endswith((":", "：")) and self.next_open < len(self.sent):
            self.current = (self.next_open, raw)  # a lead-in ("Here is the translation:") is skipped

    def _finish(self) -> None:
        """Judge the translation being read; the lines before it that the model skipped fail."""
        if self.current is None:
            return
        k, body = self.current
        self.current = None
        for skipped in self.sent[self.next_open:k]:
            self._fail(skipped)
        i = self.sent[k]
        self.next_open = k + 1
        body = _BULLET.sub("", _ANY_MARKER.sub("", body).strip())  # the line is shown as a bullet already
        shown = self._judged(i, body)
        if shown is not None:
            self._pass(i, shown)
            return
        moved = bool(body) and self._moved_to_waiting(body)  # before line i waits: it failed there
        self._fail(i)
        if body and not moved:
            self.failed.append(body)

    def _judged(self, i: int, body: str) -> str | None:
        """``body`` as line i shows it ("translation [n]", with the line's own marker) when it passes
        as line i's translation (its numbers kept, ``judge``), else None."""
        if not body or (i, body) in self._rejected:  # each pair is judged once
            return None
        source, marker = split_marker(self.lines[i])
        candidate = f"{body} {marker}".strip()
        if keeps_source(source, body) and self.judge(candidate, source):
            return candidate
        self._rejected.add((i, body))
        return None

    def _moved_to_waiting(self, body: str) -> bool:
        """A slipped number, one way: the model wrote an earlier line's translation under a later
        number (it split a line, and the numbers after it moved on). ``body`` failed under its own
        number; it is shown under a line waiting for :meth:`retry` that it passes for. The other
        way (it merged or skipped one: a later line's translation under an earlier number) is
        :meth:`_fail`'s. Either way a translation is judged as the line it is shown under.

        >>> key = {"熵衡量不确定性。": "uncertainty", "香农在1948年提出熵。": "Shannon", "交叉熵是上界。": "upper bound"}
        >>> lines = ["熵衡量不确定性。 [1]", "香农在1948年提出熵。 [2]", "交叉熵是上界。 [2]"]
        >>> lt = LineTranslation(lines, [True] * 3, judge=lambda text, source: key[source] in text, retry_lines=2)
        >>> [*lt.feed("1. Entropy\\n2. Entropy measures uncertainty.\\n3. Shannon proposed entropy in 1948.\\n"), *lt.close()]
        ['Entropy measures uncertainty. [1]', 'Shannon proposed entropy in 1948. [2]']
        >>> lt.moved, lt.pending  # lines 1 and 2 came one number late; line 3, left out, waits
        (2, [2])
        >>> lt = LineTranslation(lines, [True] * 3, judge=lambda text, source: key[source] in text, retry_lines=2)
        >>> [*lt.feed("1. Shannon proposed entropy in 1948.\\n2. Cross entropy is an upper bound.\\n"), *lt.close()]
        []
        >>> lt.moved, lt.pending  # line 1 was skipped: lines 2 and 3 came one number early
        (2, [0])
        """
        for p in reversed(self.pending):  # the nearest first: a number moves by one or two
            shown = self._judged(p, body) if self._may_move(body, p) else None
            if shown is not None:
                self.pending.remove(p)
                self._pass(p, shown)
                self.moved += 1
                return True
        return False

    def _may_move(self, body: str, i: int) -> bool:
        """May ``body``, written under another line's number, be shown as line i's? Only when line i
        is the sent line it is likest to (with ``likeness``; else any line it passes for): among
        many tries a translation of one line may pass as another's.

        >>> like = lambda text, source: len(set(text) & set(source))
        >>> lt = LineTranslation(["abc [1]", "abd [1]"], [True, True], judge=lambda t, s: True, likeness=like)
        >>> lt._may_move("abx", 0), lt._may_move("abd", 0), lt._may_move("abd", 1)
        (True, False, True)
        """
        if self.likeness is None:
            return True
        if body not in self._likest:
            self._likest[body] = max(self.sent, key=lambda j: self.likeness(body, split_marker(self.lines[j])[0]))
        return self._likest[body] == i

    def _pass(self, i: int, translation: str) -> None:
        self.result[i] = translation
        self.passed.add(i)
        self.translated += 1

    def _fail(self, i: int) -> None:
        """A line without a passing translation under its own number: one that failed under an
        earlier number may pass as its translation (a slipped number, :meth:`_moved_to_waiting`);
        else it waits for :meth:`retry` while there is room, else it is left out."""
        for body in reversed(self.failed[-self.POOL:]):  # the nearest first, and a few only
            shown = self._judged(i, body) if self._may_move(body, i) else None
            if shown is not None:
                self.failed.remove(body)
                self._pass(i, shown)
                self.moved += 1
                return
        if len(self.pending) < self.retry_lines:
            self.pending.append(i)
        else:
            self._leave_out(i)

    def _leave_out(self, i: int) -> None:
        """Line i gets no translation: it is left out of the answer (``left_out``)."""
        self.result[i] = None

    def _ready(self) -> Iterator[str]:
        if not self.started:
            return
        while self.next_shown < len(self.lines):
            i = self.next_shown
            if i not in self.result:
                if i in self.sent:
                    return  # its translation has not come yet
                self.result[i] = self.lines[i]  # in the question's language already
            self.next_shown += 1
            if self.result[i] is not None:
                yield self.result[i]
