"""Answer texts the agent writes itself, without a model: quotes, refusals, homework notes, code results.

Every fixed phrase comes from prompts/agent.yaml in the question's language; every quoted
sentence carries the [n] its passage has in this turn.

>>> from agent.options import TurnOptions
>>> from agent.turn import Turn
>>> from retrieval.types import Chunk, Hit
>>> hit = Hit(Chunk("c1", "a.md", "讲义", "语言模型是概率分布。温度参数 T 控制随机性。", ["1.1 温度"], None, 0, 22, "zh"), 1.0, {})
>>> turn = Turn(question="温度参数？", query="温度参数？", language="zh", options=TurnOptions())
>>> print(Composer(quote_chars=600, extract_passages=3).quote(turn, [hit], {"温度", "参数"}))
课程材料中与问题最相关的内容：
- 语言模型是概率分布 [1]。 温度参数 T 控制随机性。 [1]
>>> print(Composer(quote_chars=600, extract_passages=3).refusal([hit], "en"))
Sorry, the course materials do not cover this, and I can only help with questions about this course on large language models. The closest passages, for reference:
- 讲义 — 1.1 温度
>>> print(Composer(quote_chars=600, extract_passages=3).refusal([], "zh"))  # an empty index: no passages to list
抱歉，课程材料中没有找到与这个问题相关的内容，我只能回答与本课程（大语言模型）相关的问题。
>>> print(Composer(quote_chars=600, extract_passages=3).refusal([], "en", unknown=("GPT-4",)).splitlines()[0])
The course materials never mention `GPT-4`.
"""

from __future__ import annotations

import re
from typing import Iterator

from agent.injection import usable
from agent.prompts import phrase
from agent.sentences import chosen_sentences
from agent.turn import Turn
from retrieval.types import Hit

_BULLET = re.compile(r"^[-*•]\s+")
_REFERENCE = re.compile(r"(?<![A-Za-z0-9_\]\)])\[(\d{1,3})\]")  # not an index: logits[0], x[1][2], f(x)[0]
OWN_REFERENCE = re.compile(r"［\d{1,3}］")  # what own_references writes
_LIST_NUMBER_ONLY = re.compile(r"^\d{1,2}[.)、]$")  # "1." alone; a value ("5", "(3)") stays
# a label alone on a line of its own: a list's bare "1.", a slide's figure numbers "(1)" "（2）" (a superset of
# _LIST_NUMBER_ONLY's; not a value: a line is no cell)
_LABEL_ONLY = re.compile(r"^[(（［\[]?\d{1,2}[)）］\].、]?$")
_WORDS = re.compile(r"[^\W_]")  # a letter, digit or CJK character


CELL_SEPARATOR = " | "  # a table row's cells as an answer shows them
EMPTY_CELL = "—"


def is_table_row(piece: str) -> bool:
    """Is a piece of a passage a row of one of the notes' tables: tab-separated, two cells or more with
    words, no code (a tab inside a code span or a fence is code's)?

    >>> is_table_row("3\\t2024/03/07\\tLMs"), is_table_row("\\tx = 1\\n"), is_table_row("`a\\tb`")
    (True, False, False)
    """
    return "`" not in piece and sum(1 for cell in piece.split("\t") if _WORDS.search(cell)) >= 2


def _row(piece: str) -> str:
    """A table row's cells, each on one line, apart by a tab (an empty cell stays empty)."""
    return "\t".join(" ".join(cell.split()) for cell in piece.strip().split("\t"))


def shown_row(row: str) -> str:
    """A row's tab-separated cells as an answer shows them: apart by " | ", an empty cell between two
    as "—", so the columns stay where they were.

    >>> shown_row("7\\t2024/04/04\\t\\tPengfei Liu [1]")
    '7 | 2024/04/04 | — | Pengfei Liu [1]'
    """
    return CELL_SEPARATOR.join(cell or EMPTY_CELL for cell in row.split("\t"))


def quoted_units(sentences: list[str]) -> Iterator[tuple[str, str]]:
    """A passage's quoted sentences as (text, kind): "row" for a table row (its cells apart by a tab, for
    the caller to show or send), "item" for the item of a numbered list (without its bare number), else
    "prose". A list's bare number before a row is the row's first cell; elsewhere it is dropped.

    >>> list(quoted_units(["成绩：\\n", "1. ", "**作业**（20%）", "2.", "Week\\tTopic", "- \\t2024/04/04\\tHoliday", "- 见上"]))
    [('成绩：', 'prose'), ('**作业**（20%）', 'item'), ('2.\\tWeek\\tTopic', 'row'), ('-\\t2024/04/04\\tHoliday', 'row'), ('- 见上', 'prose')]
    """
    number = None  # a list's bare number ("1."), waiting for what it numbers
    for sentence in sentences:
        if is_table_row(sentence):
            row = _row(sentence)
            yield (f"{number}\t{row}" if number else row), "row"
            number = None
            continue
        flat = " ".join(sentence.split())  # one line (a row, told above, keeps its tabs)
        if _LIST_NUMBER_ONLY.match(flat):
            number = flat
            continue
        if flat:
            yield flat, ("item" if number else "prose")
        number = None


def passage_pieces(sentences: list[str], marker: str = "") -> list[str]:
    """A passage's quoted sentences as the bullets of a quote: its prose run together, but each table
    row apart, its cells apart (rows run together read as one line of numbers), and each item of a
    numbered list apart, without its bare number, as :meth:`Composer.quote_lines` shows it ("活动：
    1. **早期作业**" run together drew a citation after the "1", read as a sentence's end: "活动：
    1 [4]. **早期作业**"). An item of a bulleted list ("- 内容：…") is a bullet of its own too, without
    its dash (run together they read "目的：… [4]。 - 内容：… [4]。 - 过程：…"), where what comes before it
    ended a sentence or clause, or was an item itself: a wrapped line that begins with a minus ("… is\\n-
    log p(x)") runs on, its sign kept, and so does a slide's first item after its title. Prose after a list's last item runs on in that item's bullet; a
    piece with no words ("* * *", "—") is left out.

    >>> passage_pieces(["课程大纲", "3\\t2024/03/07\\tLMs", "6\\t2024/03/28\\tEvaluation", "见上。"])
    ['课程大纲', '3 | 2024/03/07 | LMs', '6 | 2024/03/28 | Evaluation', '见上。']
    >>> passage_pieces(["- 温度控制随机性。", "T 是温度。", "- T 越大越随机。", "* 见上", "* * *", "- 代码", "- 报告"])
    ['温度控制随机性。 T 是温度。', 'T 越大越随机。', '见上', '代码', '报告']
    >>> passage_pieces(["The loss is", "- log p(x), summed.", "损失为", "- log p(x)。"])
    ['The loss is - log p(x), summed. 损失为 - log p(x)。']
    >>> passage_pieces(["提交细节", "- 通过Canvas提交作业", "- 代码", "- 报告"])
    ['提交细节 - 通过Canvas提交作业', '代码', '报告']
    >>> passage_pieces(["成绩基于三项：\\n", "1. ", "**作业**（20%）\\n", "2. ", "**项目**（75%）"])
    ['成绩基于三项：', '**作业**（20%）', '**项目**（75%）']

    With a ``marker`` (the passage's "[n]"), each sentence a piece runs together is cited where it ends,
    but the last (its citation follows the piece); a line that does not end a sentence runs on uncited:

    >>> passage_pieces(["温度控制随机性。", "T 越大越随机；", "The loss is", "- log p(x)."], marker="[4]")
    ['温度控制随机性 [4]。 T 越大越随机 [4]； The loss is - log p(x).']
    """
    pieces: list[str] = []
    prose: list[str] = []  # run together; a list item's bullet only where a bullet of the quote begins
    for text, kind in quoted_units(sentences):
        if kind == "prose" and not _WORDS.search(text):
            continue
        item = kind == "prose" and _BULLET.match(text) and prose and (
            _BULLET.match(prose[0]) or _BULLET.match(prose[-1]) or prose[-1].rstrip().endswith(_ITEM_BEFORE))
        if kind == "prose" and not item:
            prose.append(text)
            continue
        if prose:
            pieces.append(_run_together(prose, marker))
        prose = []
        if kind == "row":
            pieces.append(shown_row(text))
        else:
            prose = [text]
    if prose:
        pieces.append(_run_together(prose, marker))
    return pieces


_SENTENCE_END = re.compile(r"[。！？；.!?;][\"'”’）)]*$")


def _run_together(prose: list[str], marker: str) -> str:
    """A bullet's sentences as one line, each that ends a sentence but the last followed by ``marker``:
    cited by the quote itself, the citation check gave an uncited sentence the first passage holding its
    words (a tester's: a formula quoted from [4] cited [1])."""
    cited = [_cite(text, marker) if marker else text for text in prose[:-1]]
    return _BULLET.sub("", " ".join(cited + prose[-1:]))


def _cite(text: str, marker: str) -> str:
    """``text`` with ``marker`` before the punctuation that ends its sentence, as the citation check
    writes it ("…随机性 [1]。"; a marker after it would be read as the next sentence's); unchanged when
    it ends no sentence (a wrapped line runs on).

    >>> _cite("温度控制随机性。", "[4]"), _cite("It is “annealed”.", "[2]"), _cite("The loss is", "[1]")
    ('温度控制随机性 [4]。', 'It is “annealed” [2].', 'The loss is')
    """
    m = _SENTENCE_END.search(text)
    if m is None:
        return text
    end = m.start() + len(m.group(0).rstrip("\"'”’）)"))  # the stop, quotes and brackets before it kept
    stop = re.search(r"[。！？；.!?;]+$", text[:end])
    return f"{text[:stop.start()].rstrip()} {marker}{text[stop.start():]}"


_ITEM_BEFORE = tuple("。！？；：.!?;:")  # what ends the prose before a bulleted list's first item


_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


_BOLD_MARK = re.compile(r"\*\*")


def balanced_bold(text: str) -> str:
    """``text`` without the ``**`` of a bold span the sentence split cut in two ("- Output:** Stanford",
    "**Below is an example"): a tester saw them as stray asterisks, the page drawing only pairs. An
    opening ``**`` (before a word) pairs with the next closing one (after a word); code, exponents
    ("x**2") and ``**kwargs`` stay.

    >>> balanced_bold("Output:** Stanford"), balanced_bold("**Below is an example"), balanced_bold("**作业**（20%）")
    ('Output: Stanford', 'Below is an example', '**作业**（20%）')
    >>> balanced_bold("** The model writes"), balanced_bold("a ** b")
    (' The model writes', 'a ** b')
    >>> balanced_bold("温度参数的作用是**控制随机性**。"), balanced_bold("- **Transformers**是一个较新的架构"), balanced_bold("a **b**c")
    ('温度参数的作用是**控制随机性**。', '- **Transformers**是一个较新的架构', 'a **b**c')
    >>> balanced_bold("**粗体**，然后**另一个**。"), balanced_bold("**有害性：**大型语言模型")
    ('**粗体**，然后**另一个**。', '**有害性：**大型语言模型')
    >>> balanced_bold("Continued** **HW2 DUE**"), balanced_bold("x**2 + f(**kw), g(a, **kw) and `a**`")
    ('Continued **HW2 DUE**', 'x**2 + f(**kw), g(a, **kw) and `a**`')
    """
    if "**" not in text:
        return text
    code = [range(m.start(), m.end()) for m in _CODE_SPAN.finditer(text)]
    opens: list[int] = []
    unmatched: list[int] = []
    for m in _BOLD_MARK.finditer(text):
        i, j = m.start(), m.end()
        if any(i in r for r in code):
            continue
        before, after = text[i - 1] if i else " ", text[j] if j < len(text) else " "
        if before == "*" or after == "*":
            continue  # *** and longer runs: left as they are
        if text[:i].rstrip()[-1:] in ("(", ","):
            continue  # f(**kw), g(a, **kw)
        if after.isspace() and before.isspace():  # "a ** b" is no bold; "** The model", opening the text, was a span's end
            if not text[:i].strip():
                unmatched.append(i)
            continue
        if after.isspace():  # after a word only: a closing one
            (opens.pop() if opens else unmatched.append(i))
        elif before.isspace():  # before a word only: an opening one
            opens.append(i)
        elif opens:  # between two characters ("是**控制", "b**c"): closes an open span first
            opens.pop()
        elif not (before.isascii() and (before.isalnum() or before in ")]") and after.isascii()
                  and (after.isalnum() or after in "(-")):  # not an exponent: x**2, (a+b)**2, w**(-1)
            opens.append(i)
    return _without(text, set(unmatched + opens))


def _without(text: str, starts: set[int]) -> str:
    """``text`` without the two characters at each of ``starts``."""
    if not starts:
        return text
    out, last = [], 0
    for k in sorted(starts):
        out.append(text[last:k])
        last = k + 2
    return "".join(out) + text[last:]


def own_references(text: str) -> str:
    """A passage's own reference numbers ("…self-attention [2]", a paper's bibliography) in full-width
    brackets, outside code: left as they were, the answer read them as citations of this turn's passages
    (a hostile test's case: "[2][1]", [2] linking to an unrelated passage, [3] judged unsupported).

    >>> own_references("Self-attention [2] replaced recurrence [12]. Index `x[2]` stays.")
    'Self-attention ［2］ replaced recurrence ［12］. Index `x[2]` stays.'
    >>> own_references("注意力机制[3]。logits[0] 是第一个值。")  # code a PDF gives without backticks stays code
    '注意力机制［3］。logits[0] 是第一个值。'
    """
    pieces, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        pieces += [_REFERENCE.sub(r"［\1］", text[last:m.start()]), m.group(0)]
        last = m.end()
    return "".join(pieces) + _REFERENCE.sub(r"［\1］", text[last:])


class Composer:
    """``quote_chars`` characters of best sentences from the top ``extract_passages`` passages per quote."""

    def __init__(self, quote_chars: int, extract_passages: int):
        self.quote_chars = quote_chars
        self.extract_passages = extract_passages

    def quote(self, turn: Turn, hits: list[Hit], query_tokens: set[str], intro_key: str | None = "extract_intro",
              semantics=None) -> str:
        """An extractive answer: the sentence(s) of the top passages that best answer the question
        (by meaning when ``semantics`` — agent/semantic.py — can compare the languages), each cited;
        a list item of the notes keeps one bullet, not two ("- - 语言模型是…" drew an empty list item).

        >>> from agent.options import TurnOptions
        >>> from retrieval.types import Chunk
        >>> hit = Hit(Chunk("c1", "a.md", "讲义", "- 语言模型是序列的概率分布。", [], None, 0, 16, "zh"), 1.0, {})
        >>> turn = Turn(question="语言模型是什么？", query="语言模型是什么？", language="zh", options=TurnOptions())
        >>> print(Composer(quote_chars=600, extract_passages=3).quote(turn, [hit], {"语言模型"}, intro_key=None))
        - 语言模型是序列的概率分布。 [1]
        """
        lines = []
        for hit, sentences in self._quoted(turn, hits, query_tokens, semantics):
            marker = f"[{turn.number_of(hit)}]"
            # a table row, a list item: a bullet of its own; the passage's own reference numbers set apart first
            for text in passage_pieces([balanced_bold(own_references(s)) for s in sentences], marker):
                if text:
                    lines.append(f"- {text} {marker}")
        if not lines:  # nothing found, or every passage flagged: not an intro with nothing after it
            return phrase("nothing_to_quote", turn.language)
        if intro_key:
            lines.insert(0, phrase(intro_key, turn.language))
        return "\n".join(lines)

    @staticmethod
    def schedule(turn: Turn, rows: list[tuple[Hit, str]]) -> str:
        """The schedule's rows a question names (agent/schedule.py: "RLHF那节lecture是哪天上？"), each as an
        answer shows a table row, cited, as they are (the SJTU schedule is English; its rows' translations
        failed where the check could not tell: agent/strategies/route.py, ``_row_kept_as_is``).

        >>> from agent.options import TurnOptions
        >>> from retrieval.types import Chunk
        >>> hit = Hit(Chunk("c1", "s.pdf", "讲义", "9\\t2024/04/18\\tReward Model and RLHF\\t-\\tPengfei Liu", [], None, 0, 9, "en"), 1.0, {})
        >>> turn = Turn(question="RLHF那节lecture是哪天上？", query="RLHF那节lecture是哪天上？", language="zh", options=TurnOptions())
        >>> print(Composer.schedule(turn, [(hit, hit.text)]))
        课程日程表中的相关行（按原文引用）：
        - 9 | 2024/04/18 | Reward Model and RLHF | - | Pengfei Liu [1]
        """
        lines = [phrase("schedule_intro", turn.language)]
        lines += [f"- {shown_row(_row(row))} [{turn.number_of(hit)}]" for hit, row in rows]
        return "\n".join(lines)

    def _quoted(self, turn: Turn, hits: list[Hit], query_tokens: set[str], semantics):
        """(passage, its best sentences) for each passage a quote shows; flagged passages are never quoted."""
        per_passage = self.quote_chars // self.extract_passages
        for hit in usable(hits)[: self.extract_passages]:
            yield hit, chosen_sentences(hit, query_tokens, per_passage, turn.question, semantics)

    def quote_lines(self, turn: Turn, hits: list[Hit], query_tokens: set[str], semantics=None) -> str:
        """The sentences :meth:`quote` would show, one per line, each ending with its passage's [n]
        (what the writer translates when the notes are in another language than the question).

        >>> from agent.options import TurnOptions
        >>> from retrieval.types import Chunk
        >>> hit = Hit(Chunk("c1", "a.md", "讲义", "语言模型是概率分布。温度参数 T 控制随机性。", [], None, 0, 22, "zh"), 1.0, {})
        >>> turn = Turn(question="What does T do?", query="What does T do?", language="en", options=TurnOptions())
        >>> print(Composer(quote_chars=600, extract_passages=3).quote_lines(turn, [hit], {"t"}))
        语言模型是概率分布。 [1]
        温度参数 T 控制随机性。 [1]

        A list item is a line of its own, without its bullet; a piece with no words (a list's bare
        "1.", a code fence) is left out, and so is a label alone (a slide's "(1)" under a figure, which
        stood as a line "(1) [3]" of a translated answer):

        >>> hit = Hit(Chunk("c2", "r.md", "阅读", "多模态：\\n- [CM3：因果掩码](https://a.org/1)\\n1.\\n```\\n(1)\\n（2）", [], None, 0, 48, "zh"), 1.0, {})
        >>> turn = Turn(question="Which papers?", query="Which papers?", language="en", options=TurnOptions())
        >>> print(Composer(quote_chars=600, extract_passages=3).quote_lines(turn, [hit], {"cm3"}))
        多模态： [1]
        [CM3：因果掩码](https://a.org/1) [1]
        """
        lines = []
        for hit, sentences in self._quoted(turn, hits, query_tokens, semantics):
            n = turn.number_of(hit)
            for unit, kind in quoted_units(sentences):  # a table row's cells apart by a tab (agent/strategies/route.py)
                text = balanced_bold(own_references(unit if kind == "row" else _BULLET.sub("", unit)))
                if _WORDS.search(text) and not _LABEL_ONLY.match(text):
                    lines.append(f"{text} [{n}]")
        return "\n".join(lines)

    def refusal(self, hits: list[Hit], language: str, unknown: tuple[str, ...] = (),
                number_not_found: bool = False) -> str:
        """Not covered: say so (naming what the question asks about that the notes never mention,
        ``unknown``: agent.relevance.unknown_terms; or, ``number_not_found``, that the number asked was
        not found: a course question, not one off the course), and list the closest passages (not
        as an answer).

        >>> Composer(quote_chars=600, extract_passages=3).refusal([], "en", number_not_found=True)
        'Sorry, I could not find the number this question asks for in the course materials.'
        """
        closest = ("" if language == "zh" else " ") + phrase("closest_passages", language) if hits else ""
        lines = [phrase("number_not_found" if number_not_found and not unknown else "not_covered", language) + closest]
        if unknown:
            lines.insert(0, phrase("not_mentioned", language, terms=", ".join(f"`{t}`" for t in unknown)))
        for hit in hits[:3]:
            page = f", p. {hit.page}" if hit.page else ""
            lines.append(f"- {hit.title}{page} — {hit.heading or ''}")
        return "\n".join(lines)

    def refusal_for(self, turn: Turn, hits: list[Hit]) -> str:
        """:meth:`refusal` with what the scope guard left on ``turn``: its language, the names the
        notes never mention, whether only the number asked was missing."""
        return self.refusal(hits, turn.language, turn.unknown_terms, turn.number_not_found)

    def homework(self, turn: Turn, hits: list[Hit], query_tokens: set[str]) -> str:
        """An assignment request: no solution, the passages to read instead."""
        return phrase("homework", turn.language) + "\n" + self.quote(turn, hits, query_tokens, intro_key=None)

    @staticmethod
    def code_shown(language: str, code: str, source_n: int | None, state: str, asked_to_run: bool = False) -> str:
        """Code shown, not run: its source passage cited; a cut-off block is shown as found and said so."""
        lines = [phrase("code_shown_intro", language), fenced(code, "python")]
        if source_n:
            lines.append(phrase("code_from_passage", language, n=source_n))
        if state == "repaired":
            lines.append(phrase("code_repaired", language))
        if state == "incomplete":
            lines.append(phrase("code_incomplete", language))
        elif not asked_to_run:
            lines.append(phrase("code_run_hint", language))
        return "\n\n".join(lines)

    @staticmethod
    def values_note(language: str, change) -> str:
        """What a run did with the values its request asked for (``change``: an
        :class:`agent.code_changes.Change`): those set, those the code does not bind in one place, those
        that are no literal; "" when none was asked."""
        parts = [phrase("code_changed", language, changes=change.summary)] if change.changes else []
        for key, names in (("code_values_not_set", change.unset), ("code_values_not_literal", change.not_literal)):
            if names:
                parts.append(phrase(key, language, names=", ".join(names)))
        return " ".join(parts)

    @staticmethod
    def code_result(language: str, code: str, source_n: int | None, run, repaired: bool = False,
                    note: str = "") -> str:
        """The code that ran, where it came from, its output, its error and its figures
        (``run``: the turn's :class:`agent.records.CodeRun`); ``note``, a sentence on values asked for
        (agent.code_changes), goes before the code."""
        lines = [phrase("code_intro", language), *([note] if note else []), fenced(code, "python")]
        if source_n:
            lines.append(phrase("code_from_passage", language, n=source_n))
        if repaired:
            lines.append(phrase("code_repaired", language))
        if run.stdout.strip():
            lines.append(fenced(run.stdout.rstrip()))
        if run.error:
            lines.append(f"**{run.error.type}**: {run.error.message}")
        if run.n_figures:
            lines.append(f"({run.n_figures} figure(s))")
        return "\n\n".join(lines)


def fenced(text: str, language: str = "") -> str:
    """``text`` in a Markdown fence longer than any run of backticks in it, so that a program printing
    ```, or code holding it, cannot close it early (common.text.FENCED_BLOCK reads the block back).

    >>> print(fenced("print('```')", "python"))
    ````python
    print('```')
    ````
    """
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{language}\n{text}\n{fence}"
