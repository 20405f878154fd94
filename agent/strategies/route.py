"""The deterministic route: the agent picks the tool, the model (if any) only writes the last step.

code in the question (or "run …") → run_python; readings / schedule → list_readings; else
search_course. Then: decline when the passages do not cover the question (``grounded_only``),
point to readings for homework requests (``homework_integrity``), and answer by quoting the best
sentences, by quoting them translated into the question's language, or by letting the model write
from them (``answer_mode``), falling back to quotes when the citation check finds nothing of the
written answer supported.
"""

from __future__ import annotations

import logging
import re
import time
from contextlib import closing
from typing import Iterator

from agent.code_changes import asked_values
from agent.compose import balanced_bold, own_references, shown_row
from agent.errors import ModelError
from agent.events import Event, Status, Token
from agent.gate import SentenceGate
from agent.injection import is_flagged, usable
from agent.line_translation import LineTranslation, line_passage, new_names, split_marker
from agent.pasted_code import question_code, run_with_values, syntax_error, undefined_names
from agent.policy import code_in, names_reading_list, other_language, own_code_sentence, pasted_lines, route
from agent.polarity import contradiction
from agent.prompts import instruction_words, phrase, translate_messages, writer_messages
from agent.schedule import schedule_rows_named
from agent.semantic import Semantics
from agent.sentences import best_sentences
from agent.strategies import Strategy
from agent.tools import CourseTools, is_reading
from agent.turn import Turn
from common.text import detect_language, has_letters, split_sentences, without_links
from retrieval.types import Hit

_MARKER_AT_END = re.compile(r"\s*\[\d{1,3}\]\s*$")
# Lines of a translation whose first try failed that are asked again in one second request; the
# lines after the first of them wait for it (docs/EVALUATION.md, "Asking again for the lines that failed").
RETRY_LINES = 4
# A translated line must be about this alike to its own source line (the calibrated scale of
# agent.semantic: 0 = unrelated course sentences, 1 = a probe sentence and its translation). The
# passage check alone let through a translation of *another* sentence of the same passage, or a
# made-up one that the passage happens to support. Set on 154 hand-labelled lines of dev's English
# questions (docs/EVALUATION.md, "A translated line must match its own line"): at 0.85 the lines shown passed
# 78 right / 23 wrong translations before, 72 / 6 with it.
LINE_LIKENESS = 0.85
TRANSLATING_QUESTION = "translating the question for the search…"


def _quoted_as_is(line: str, language: str) -> bool:
    """Does a quoted line ("sentence [n]") need no translation into ``language``? When it is in that
    language already, or has no words at all (a formula, a row of numbers).

    >>> _quoted_as_is("$$H(p) = -\\sum_x p(x) \\log p(x)$$ [2]", "zh"), _quoted_as_is("温度控制随机性。 [1]", "en")
    (True, False)
    """
    body = _MARKER_AT_END.sub("", line)
    return not has_letters(body) or detect_language(body) == language


def _row_kept_as_is(line: str, language: str) -> bool:
    """Is a quoted line (:meth:`agent.compose.Composer.quote_lines`: a table row's cells apart by a tab,
    with its [n]) a table row in English that a Chinese answer shows as it is? The SJTU slides show
    their English schedule to a Chinese class as it is, and the 0.5B writer's translations of its rows
    were wrong where the check could not tell (the dates and names shared make a row alike to any
    translation of it: "Retrieval Augmented Generation" became 反馈增强生成, "Poster" 项目). A Chinese
    row in an English answer is still translated: an English reader may read no Chinese, and the
    calendar checks were made for the office-hours table ("周五15:30" is not "Week 15:30").

    >>> _row_kept_as_is("6\\t2024/03/28\\tEvaluation\\t👉 hw2 out, hw1 due [1]", "zh")
    True
    >>> _row_kept_as_is("刘鹏飞\\t讲师\\t周五15:30-16:30 [1]", "en"), _row_kept_as_is("It computes P(A | B) for each pair. [1]", "zh")
    (False, False)
    """
    return language == "zh" and "\t" in line and detect_language(_MARKER_AT_END.sub("", line)) == "en"


def _shown(line: str, sent: bool, language: str) -> str:
    """A quoted line as :meth:`RouteStrategy._translate` handles it: a table row sent for translation
    has its cells one space apart, as the notes' rows were always sent (with " | " the 0.5B writer left
    the Chinese grading table's rows untranslated); one shown as it is has them apart by " | ".

    >>> _shown("3\\t2024/03/07\\t\\tLMs [1]", True, "zh"), _shown("3\\t2024/03/07\\t\\tLMs [1]", False, "zh")
    ('3 2024/03/07 LMs [1]', '3 | 2024/03/07 | — | LMs [1]')
    """
    if sent:
        return " ".join(cell for cell in line.split("\t") if cell)
    return as_is_in(shown_row(line), language)


_CJK_STOP_AT_END = re.compile(r"\s*[。；，、：]+(?=(?:\s*\[\d{1,3}\])*\s*$)")  # before or after the [n]


def as_is_in(line: str, language: str) -> str:
    """A line shown untranslated (a formula) in an answer in ``language``: without the Chinese full
    stop the notes' sentence ended with, in an English answer.

    >>> as_is_in("$p(x_i | x_{1:i-1})$ [4]。", "en"), as_is_in("$$p(x)$$。 [1]", "en"), as_is_in("$p(x)$ [4]。", "zh")
    ('$p(x_i | x_{1:i-1})$ [4]', '$$p(x)$$ [1]', '$p(x)$ [4]。')
    """
    return line if language == "zh" else _CJK_STOP_AT_END.sub("", line)


log = logging.getLogger("courseta.agent")


# a demo asked for that the notes hold no code for: the quote's intro says so first (prompts/agent.yaml)
NO_DEMO_INTROS = {"extract_intro": "no_code_intro", "translated_intro": "no_code_translated_intro",
                  "untranslated_intro": "no_code_untranslated_intro"}
DEMO_PASSAGES = 3  # a demo's code is taken from the best passages only (the 5th held the heart plot for
#                   "演示一下温度参数 T 对采样分布的影响": code the question was not about, 7th by BM25 and
#                   10th by meaning); best in the fused order or by either search alone ("画爱心的代码是怎么
#                   写的？": the heart plot 4th fused, 2nd by meaning and 3rd by BM25), see demo_candidate


def demo_candidate(position: int, hit: Hit) -> bool:
    """May a demo's code come from ``hit``, the passage at 0-based ``position`` of the search? Among
    the :data:`DEMO_PASSAGES` best of the fused order, or of BM25's or the dense search's own
    order (its ``ranks``, 1-based).

    >>> from retrieval.types import Chunk
    >>> c = Chunk(id="c", source="s.md", title="t", text="x", heading_path=[], page=None, start=0, end=1, language="en")
    >>> demo_candidate(3, Hit(c, 1.0, {"bm25": 3, "dense": 2})), demo_candidate(4, Hit(c, 1.0, {"bm25": 7, "dense": 10}))
    (True, False)
    >>> demo_candidate(0, Hit(c, 1.0, {"bm25": None, "dense": 40})), demo_candidate(3, Hit(c, 1.0, {"bm25": None}))
    (True, False)
    """
    return position < DEMO_PASSAGES or any(r is not None and r <= DEMO_PASSAGES for r in hit.ranks.values())


def find_code(question: str, query: str, tools: CourseTools,
              earlier: str | None = None) -> tuple[str | None, int | None, str, list[Hit]]:
    """The code a demo request runs or shows: its own code (:func:`agent.pasted_code.question_code`), or
    ``earlier``, the code of the student's previous message a request to run it again asks for
    (:func:`agent.pasted_code.earlier_code`: "再运行一下它"), else the first code block in the
    best passages (:func:`demo_candidate`, with that passage's number), preferring one that is whole;
    its state (ok, repaired, incomplete: agent.policy.code_in); and the passages searched (none for
    the question's own code)."""
    code = question_code(question)
    if code is None:
        code = earlier
    if code is not None:
        return code, None, "ok", []
    incomplete = None
    hits = tools.search_course(query)
    for hit in (h for position, h in enumerate(hits) if demo_candidate(position, h)):
        found, state = code_in(hit.text)
        if is_flagged(hit.text):  # never run (or show as a demo) code from a passage that addresses the reader
            continue
        if state in ("ok", "repaired"):
            return found, tools.turn.number_of(hit), state, hits
        if state == "incomplete" and incomplete is None:
            incomplete = (found, hit)
    if incomplete is not None:
        return incomplete[0], tools.turn.number_of(incomplete[1]), "incomplete", hits
    return None, None, "none", hits


def terms_to_name(lines: str, language: str, glossary, limit: int) -> list[tuple[str, str]]:
    """The course terms a request translating ``lines`` into ``language`` names, as the glossary
    translates them: ``limit`` (setting ``translation_terms``) of them, into English only (the
    glossary's terms are Chinese); none without a glossary. bench/translator_labels.py asks the same.

    >>> from retrieval.glossary import Glossary
    >>> g = Glossary.from_pairs([("Shannon", ["香农"])])
    >>> terms_to_name("1. 香农提出了熵。", "en", g, 6), terms_to_name("1. 香农提出了熵。", "zh", g, 6)
    ([('香农', 'Shannon')], [])
    >>> terms_to_name("1. 香农提出了熵。", "en", None, 6), terms_to_name("1. 香农提出了熵。", "en", g, 0)
    ([], [])
    """
    return glossary.terms_in(lines, limit) if glossary is not None and limit and language == "en" else []


def line_supported(check, language: str, marked: str, n: int) -> bool | None:
    """Does ``check`` (text -> agent.citations.Verification, over some passages) find every sentence of
    ``marked`` (each ending in ``[n]``) supported by passage n, with none dropped by the sentence gate
    (agent/gate.py)? None: nothing in it to cite."""
    # loops were judged against the line's source (LineTranslation): its own may be quoted
    gate = SentenceGate(check, language, lead_ins=False, instructions=instruction_words(), loops=False)
    shown = [*gate.feed(marked), *gate.close()]
    if gate.dropped:
        return False
    result = check(marked)
    statements = {s.index for s in result.sentences}
    if not statements:
        return None
    by_source = {c.sentence_index for c in result.citations if c.n == n and c.verdict == "supported"}
    return bool(shown) and statements <= by_source


def alike_and_same_sense(translation: str, source: str, semantics: Semantics) -> bool:
    """Is ``translation`` about as alike to its ``source`` line as a translation (``LINE_LIKENESS``, on
    agent.semantic's calibrated scale) without saying its opposite (agent/polarity.py)?"""
    return semantics.similarity(translation, source) >= LINE_LIKENESS and not contradiction(translation, source)


def not_run(turn: Turn, notes_hold) -> tuple[str, dict] | None:
    """Why a request bringing code, or changing the student's earlier code, runs nothing: the phrase
    (prompts/agent.yaml) that says so and its fields; None when it may run, or asks no run.
    ``notes_hold(lines)``: are these pasted lines the notes' own (then the question is on the notes)?
    The route strategy answers with the phrase; the office-hours preview shows no code for it.

    "用 T=5 再运行一下它" after the student's code that sets no T; "不要运行，这段代码会输出什么？```…```" and
    "这段代码是什么意思？\\nx = 1" (agent.policy.own_code_sentence); code that reads names it never defines
    ("运行一下\\nprint(np.mean(data))") or does not compile; a fence in another language ("```bash")."""
    earlier, change = turn.earlier_code()
    found: tuple[str, dict] | None = None
    if change:  # "倒序再运行一下" after the student's own code
        names = list(asked_values(turn.question))  # "用 n=3 再运行": n is named
        found = ("code_values_not_made", {"names": ", ".join(names)}) if names else ("code_change_not_made", {})
    own = own_code_sentence(turn.question)
    names = [] if own else undefined_names(turn.question)
    error = None if own or names else syntax_error(turn.question)
    if (own or names or error) and not notes_hold(pasted_lines(turn.question)):
        found = ((own, {}) if own else ("code_names_undefined", {"names": ", ".join(names)}) if names
                 else ("code_syntax_error", {"line": error[0], "message": error[1]}))
    if language := other_language(turn.question):  # "```bash\\nnvidia-smi```": no Python to run
        found = ("code_not_python", {"tag": language})
    return found


def _with_context(turn: Turn) -> str:
    """The question with the one before it, for the schedule's week lookup: the follow-up joined to it
    (``turn.query``, agent.policy.standalone_query) or, where it was not joined, the two side by side. "第5周讲什么？"
    after "基础模型的进展这门课的课程日历是怎样的？" asks about that course, not CS2916 (a hostile review's)."""
    if turn.query != turn.question or not turn.previous_questions:
        return turn.query
    return f"{turn.previous_questions[-1]} {turn.question}"


class RouteStrategy(Strategy):
    name = "route"

    def run(self, turn: Turn) -> Iterator[Event]:
        parts, composer = self.parts, self.parts.composer
        tools = parts.tools(turn)
        t_retrieval = time.perf_counter()
        if self.homework_request(turn):
            yield from self.homework_note(turn, tools)
            return
        earlier, change = turn.earlier_code()
        unrun, fmt = not_run(turn, parts.notes_hold) or (None, {})
        if unrun:  # not run, said so (turn.language is the request's words', not its code's)
            turn.refused, turn.mode = True, "refusal"
            turn.answer = phrase(unrun, turn.language, **fmt)
            yield Token(turn.answer)
            return
        tool = "run_python" if earlier is not None else route(turn.question)  # "再来一次" after their code
        grounded = turn.options.grounded_only
        searched = None  # a demo's search when the notes hold no code for it: answered from those passages
        if tool in ("run_python", "show_code"):
            if parts.demo_may_show_code(turn):
                searched = yield from self._code(turn, tools, run=tool == "run_python", earlier=earlier)
                if searched is None:
                    return
                turn.no_demo = True
                yield Status("no code for this in the notes; answering from what they say")
            tool = "search_course"  # "how much power does an H100 draw?" asks for no demo the notes hold
        if searched is None and (weekly := tools.week_rows(_with_context(turn), asked=turn.question)):
            # "第9周讲什么？": that week's row of the schedule, wherever a search would rank its passage (none of
            # "CS2916第三周的主题是什么？"'s five held it); no scope guard: the row is the question's lookup. The
            # weeks the student's own words name ("那第10周呢？" after "第9周讲什么？" showed weeks 9 and 10; "为什么？"
            # names none); the rules read them with the question before (another course named there)
            turn.timings["retrieval_s"] = round(time.perf_counter() - t_retrieval, 3)
            yield Status(f"reading the schedule… {len(weekly)} row(s)")
            turn.mode = "extract"
            yield self.replace(turn, composer.schedule(turn, weekly))
            return
        if searched is not None:
            hits = searched
        elif tool == "list_readings":
            if tools.will_translate(turn.query):
                yield Status(TRANSLATING_QUESTION)
            entries_only = names_reading_list(turn.query)
            hits = tools.list_readings(turn.query, entries_only=entries_only)
        else:
            hits = yield from self._search_notes(turn, tools)
        turn.timings["retrieval_s"] = round(time.perf_counter() - t_retrieval, 3)
        if tool == "list_readings" and hits and not is_reading(hits[0]):
            tool = "search_course"  # "which paper did Shannon …": the notes answer it, like any question on them
        yield Status(f"{'listing readings' if tool == 'list_readings' else 'searching'}… {len(hits)} passages")
        covered = not grounded or parts.covered(hits, turn)
        if tool == "list_readings" and entries_only and not covered:
            # "读什么可以了解香农的信息论？" names the list, but the notes answer it
            turn.hits.clear()
            t_search = time.perf_counter()
            tool, hits = "search_course", (yield from self._search_notes(turn, tools))
            turn.timings["retrieval_s"] = round(turn.timings["retrieval_s"] + time.perf_counter() - t_search, 3)
            yield Status(f"the reading list does not cover this; searching the notes… {len(hits)} passages")
            covered = parts.covered(hits, turn)
        if not covered:
            turn.refused, turn.mode = True, "refusal"
            turn.answer = composer.refusal_for(turn, hits)
            yield Token(turn.answer)
            return
        # "RLHF那节lecture是哪天上？": the schedule's row, not fifteen quoted lines around it (the top three
        # passages, those the scope guard read; a flagged one is never quoted)
        named = [] if tool != "search_course" or turn.no_demo else schedule_rows_named(
            turn.query, usable(hits[:3]), parts.retriever.document_frequency, parts.retriever.glossary)
        if named:
            turn.mode = "extract"
            yield self.replace(turn, composer.schedule(turn, named))
            return
        semantics = self.semantics()
        if tool == "list_readings":  # quoted: a reading list is titles and dates; a writer only translates them
            if (parts.answer_mode() in ("generate", "translate")
                    and (yield from self._translated(turn, hits, semantics, "readings_translated_intro"))):
                return
            mode = "extract"
        else:
            mode = parts.answer_mode()
        if mode == "generate" and parts.settings.answer_mode == "auto" and not self._can_verify(turn, hits, semantics):
            yield Status("the citation check cannot compare this language with the notes' (English-only embedder); "
                         "quoting them instead")
            mode = "extract"
        if mode == "generate":
            yield from self._write(turn, hits, semantics)
            return
        if mode == "translate" and (yield from self._translated(turn, hits, semantics, "translated_intro")):
            return  # the quote, translated line by line
        turn.mode = "extract"
        intro = self._quote_intro(turn, "readings_intro" if tool == "list_readings" else "extract_intro")
        yield self.replace(turn, composer.quote(turn, hits, parts.turn_tokens(turn), intro_key=intro,
                                                semantics=semantics))

    @staticmethod
    def _search_notes(turn: Turn, tools: CourseTools):
        """``search_course`` for the question; a status line first when the model translates the
        question for it (about a second with the 0.5B model). Returns the hits."""
        if tools.will_translate(turn.query):
            yield Status(TRANSLATING_QUESTION)
        return tools.search_course(turn.query)

    def _can_verify(self, turn: Turn, hits: list[Hit], semantics: Semantics | None) -> bool:
        """Can the citation check judge sentences in the question's language against these passages?"""
        if not hits or all(detect_language(h.text) == turn.language for h in hits[:3]):
            return True
        return bool(self.parts.settings.verify_with_embeddings and semantics is not None and semantics.cross_lingual)

    def prompt_passages(self, turn: Turn, hits: list[Hit], semantics: Semantics | None) -> str:
        """The numbered best sentences of the best passages, within the backend's prompt budget;
        passages past it stay sources only."""
        qtokens = self.parts.turn_tokens(turn)
        budget = self.parts.backend.prompt_chars
        per = max(80, budget // max(1, min(len(hits), 3)))
        lines, used = [], 0
        for h in usable(hits):  # best first; flagged passages never reach the model
            text = own_references(" ".join(best_sentences(h, qtokens, per, turn.question, semantics).split()))
            if lines and used + len(text) > budget:
                break
            lines.append(f"[{turn.number_of(h)}] {text}")
            used += len(text)
        return "\n".join(lines)

    def _write(self, turn: Turn, hits: list[Hit], semantics: Semantics | None) -> Iterator[Event]:
        """The model writes from the selected sentences; each sentence it finishes is shown only when
        the citation check finds it supported and in the question's language (agent/gate.py). When
        none is, the best sentences are quoted instead."""
        parts = self.parts
        messages = writer_messages(turn.question, turn.language, self.prompt_passages(turn, hits, semantics))
        passages = [h.text for h in turn.hits]
        gate = SentenceGate(lambda text: parts.check(text, passages), turn.language, instructions=instruction_words())
        turn.mode = "generate"
        yield Status("writing the answer…")
        t = time.perf_counter()
        # a demo the notes hold no code for: the written answer says so first (a lead-in, not a claim)
        intro = phrase("no_code_intro", turn.language) + "\n" if turn.no_demo else ""

        def show(sentence: str) -> Iterator[Event]:
            return self.show(turn, ("" if turn.answer else intro) + sentence, t)

        n_tokens = yield from self._stream_gated(turn, messages, gate, show)
        elapsed = time.perf_counter() - t
        turn.timings["generation_s"] = round(elapsed, 3)
        if n_tokens > 1 and "first_token_s" in turn.timings:
            turn.timings["generated_tokens"] = n_tokens
            turn.timings["tokens_per_s"] = round((n_tokens - 1) / max(1e-6, elapsed - turn.timings["first_token_s"]), 2)
        turn.answer = turn.answer.strip()
        if not gate.has_statement:
            yield from self._quote_instead(turn, hits, semantics, t)
        elif gate.dropped:
            yield self.dropped_status(gate.dropped)

    def _quote_instead(self, turn: Turn, hits: list[Hit], semantics: Semantics | None, t0: float) -> Iterator[Event]:
        """None of the model's sentences was supported: quote the best sentences — translated first
        when the notes are in another language than the question and the citation check can judge
        the translation (:meth:`_translate`)."""
        if self._other_language(turn, hits) and self._can_verify(turn, hits, semantics):
            yield Status("the model's answer was not supported by the passages; translating the best sentences instead")
            if (yield from self._translate(turn, hits, semantics, "translated_intro", t0)):
                return
        turn.mode = "extract"
        yield Status("the model's answer was not supported by the passages; quoting them instead")
        yield self.replace(turn, self.parts.composer.quote(turn, hits, self.parts.turn_tokens(turn),
                                                           intro_key=self._quote_intro(turn, "extract_intro"),
                                                           semantics=semantics))

    @staticmethod
    def _quote_intro(turn: Turn, key: str) -> str:
        """The quote's intro: ``key``'s, or, when the model translated and no line passed the check,
        one that says why an answer in the question's language is in the notes' language; for a demo
        the notes hold no code for, one that says so first."""
        key = "untranslated_intro" if turn.timings.get("untranslated_quote") else key
        return NO_DEMO_INTROS.get(key, key) if turn.no_demo else key

    def _translated(self, turn: Turn, hits: list[Hit], semantics: Semantics | None, intro_key: str):
        """:meth:`_translate` the quote when the notes are in another language than the question and the
        citation check can judge the translation; returns whether a translation was shown."""
        if not (self._other_language(turn, hits) and self._can_verify(turn, hits, semantics)):
            return False
        return (yield from self._translate(turn, hits, semantics, intro_key, time.perf_counter()))

    def _translate(self, turn: Turn, hits: list[Hit], semantics: Semantics | None, intro_key: str, t0: float):
        """The model translates the sentences a quote would show (a narrower task than answering),
        numbered one per line; each line is shown translated when its own translation passes the check
        against the passage the line came from (:meth:`_judge_line`), in the quote's order, and is
        left out of the answer otherwise: it goes to ``turn.untranslated``, which the page shows apart,
        as in the notes (agent/line_translation.py). Lines whose translation failed or was left out
        (up to ``RETRY_LINES``) are asked again in one second request, and the lines after the first
        of them wait for it. Lines already in the question's language (a slide's English title, a
        table of model sizes) are not sent and are shown as they are. Returns whether any line was
        shown translated; when none was, or the model failed before one was, the caller quotes
        (nothing of this was shown)."""
        parts = self.parts
        lines = parts.composer.quote_lines(turn, hits, parts.turn_tokens(turn), semantics).splitlines()
        send = [not (_quoted_as_is(line, turn.language) or _row_kept_as_is(line, turn.language)) for line in lines]
        if not any(send):
            return False  # the quote is in the question's language already
        lines = [_shown(line, sent, turn.language) for line, sent in zip(lines, send)]
        lt = LineTranslation(lines, send, lambda text, source: self._judge_line(turn, text, source, semantics),
                             retry_lines=RETRY_LINES, likeness=semantics.similarity if semantics is not None else None)
        intro = phrase(self._quote_intro(turn, intro_key), turn.language) + "\n"

        def emit(line: str) -> Event:
            # as the final answer shows it; a "**" the translation left unpaired dropped ("(**Guest Lecture …)")
            line = balanced_bold(parts.check(line, [h.text for h in turn.hits]).answer.strip())
            if not turn.timings.get("translated"):
                turn.mode = "generate"
                turn.timings["translated"] = 1
                turn.timings["first_sentence_s"] = round(time.perf_counter() - t0, 3)
                return self.replace(turn, intro + f"- {line}")  # withdraws a lead-in the writer had shown
            turn.answer += f"\n- {line}"
            return Token(f"\n- {line}")

        try:
            for line in self._lines(turn, self._translate_messages(turn, lt), lt):
                yield emit(line)
        except ModelError as exc:
            if not lt.started:
                log.warning("the model failed while translating the quote (%s); quoting instead", type(exc).__name__)
                return False
            for line in lt.rest():  # what was shown stays, the rest is left out
                yield emit(line)
            turn.untranslated = lt.left_out_lines()
            turn.line_sources.update(lt.sources())
            raise  # the agent adds the error sentence (agent/core.py)
        if lt.pending:  # failed lines, asked again on their own (a shorter task); the lines after them wait
            turn.timings["retried_lines"] = len(lt.pending)
            yield Status(f"translating {len(lt.pending)} line(s) again: the first translation was missing or not supported")
            again = lt.retry()
            try:
                for _ in self._lines(turn, self._translate_messages(turn, again), again):
                    pass  # shown through lt, in the quote's order
            except ModelError as exc:  # what passed stands (of either try); the other waiting lines are left out
                log.warning("the model failed while translating lines again (%s); leaving the rest out", type(exc).__name__)
            for line in lt.settle(again):
                yield emit(line)
            lt.moved += again.moved
        if not lt.started:
            turn.timings["untranslated_quote"] = 1  # the quote's intro says why it is in the notes' language
            return False
        turn.timings["translated_lines"] = lt.translated
        if lt.moved:
            turn.timings["moved_lines"] = lt.moved  # shown under another line than their number's
        turn.untranslated = lt.left_out_lines()
        turn.line_sources.update(lt.sources())
        if turn.untranslated:
            yield Status(f"left {len(turn.untranslated)} line(s) out of the answer: their translation was missing or "
                         "not supported by the passage; they are listed below it, as in the notes")
        return True

    def _translate_messages(self, turn: Turn, lt: LineTranslation) -> list:
        """The request translating ``lt``'s lines, naming their course terms (:func:`terms_to_name`)."""
        lines = lt.prompt_lines()
        terms = terms_to_name(lines, turn.language, getattr(self.parts.retriever, "glossary", None),
                              self.parts.settings.translation_terms)
        return translate_messages(turn.language, lines, terms)

    def _judge_line(self, turn: Turn, text: str, source: str, semantics: Semantics | None) -> bool:
        """Does the translated line ``text`` ("translation [n]") pass as the translation of ``source``
        (its line, no marker): in the question's language, not the prompt's words, about as alike
        to ``source`` as a translation (``LINE_LIKENESS``) without saying its opposite (a negation or
        direction it lacks: agent/polarity.py), naming nothing its line does not (a model, a project:
        :func:`agent.line_translation.new_names`), and every sentence of it supported by passage n itself
        (not by another passage the check would add) and by its own line, ``source``, standing as passage n
        (not by another line of that passage alone: "**闫宏秀** (上海交通大学教授, …)" translated as "**闫宏秀** (…,
        Co-Founder of MOSS)" was supported by the next line's "MOSS大模型领导者" and passed)? Both: the
        citation check a TA runs on the answer judges it by the passage. A line with nothing to cite
        (a heading, a lead-in: "*Blog posts*:") passes on its likeness and language alone. Without
        an embedder that compares the two languages no line passes: its likeness cannot be told."""
        body, n = split_marker(text)[0], line_passage(text)
        if n is None or semantics is None or not semantics.can_compare(body, source):
            return False
        marker = f"[{n}]"  # its own passage's (a reference the notes' sentence ends in is not)
        if not alike_and_same_sense(body, source, semantics):
            return False  # not alike enough, or alike but the opposite ("does not control …")
        if new_names(source, body, getattr(self.parts.retriever, "glossary", None)):
            return False  # a name its line never writes ("MOSS", from the next line of the passage)
        passages = [h.text for h in turn.hits]
        if not 1 <= n <= len(passages):
            return False
        own = passages[:n - 1] + [source] + passages[n:]  # a translation says what its line says
        # every sentence of the line carries the line's marker, so each is checked against passage n
        marked = " ".join(f"{s.strip()} {marker}" for s in split_sentences(body) if s.strip())
        by_line = line_supported(lambda t: self.parts.check(t, own), turn.language, marked, n)
        if by_line is False:
            return False  # the passage need not be asked
        by_passage = line_supported(lambda t: self.parts.check(t, passages), turn.language, marked, n)
        if by_line is None or by_passage is None:  # nothing to cite (the gate has ruled out the prompt's words)
            return by_line is by_passage and detect_language(without_links(body)) == turn.language  # likeness decides
        return by_passage

    def _lines(self, turn: Turn, messages, lt: LineTranslation) -> Iterator[str]:
        """Stream a translation through ``lt``; yields each line it releases, as it releases it."""
        t = time.perf_counter()
        with closing(self.parts.backend.stream(messages)) as stream:  # closing it stops the model
            for chunk in stream:
                usage = getattr(chunk, "usage_metadata", None) or {}
                if usage.get("input_tokens"):
                    turn.timings.setdefault("prompt_tokens", usage["input_tokens"])
                text = chunk.content if isinstance(chunk.content, str) else ""
                if not text:
                    continue
                turn.timings.setdefault("first_token_s", round(time.perf_counter() - t, 3))
                yield from lt.feed(text)
                if lt.looping:  # the same words over and over until the token limit: stop it here
                    break
        if lt.looping:
            turn.timings["loops_cut"] = turn.timings.get("loops_cut", 0) + 1
            yield from lt.cut()  # the looping line is left out, not asked again
        else:
            yield from lt.close()

    def _stream_gated(self, turn: Turn, messages, gate: SentenceGate, emit) -> Iterator[Event]:
        """Stream the model's reply to ``messages`` through ``gate``; ``emit(sentence)`` gives the events
        for each sentence that passes, as it passes. Records the first model token and the prompt size
        (where not yet recorded: a translation after a rejected answer keeps the writer's) and returns
        how many tokens the model generated (its own count where it reports usage, else text chunks)."""
        t = time.perf_counter()
        chunks, reported = 0, 0
        with closing(self.parts.backend.stream(messages)) as stream:  # closing it stops the model
            for chunk in stream:
                usage = getattr(chunk, "usage_metadata", None) or {}
                if usage.get("input_tokens"):  # local models and servers that report usage
                    turn.timings.setdefault("prompt_tokens", usage["input_tokens"])
                if usage.get("output_tokens"):
                    reported = usage["output_tokens"]
                text = chunk.content if isinstance(chunk.content, str) else ""
                if not text:
                    continue
                turn.timings.setdefault("first_token_s", round(time.perf_counter() - t, 3))
                chunks += 1  # a local model's streamer hands out words
                for sentence in gate.feed(text):
                    yield from emit(sentence)
                if gate.looping:  # the same words over and over until the token limit: stop it here
                    turn.timings["loops_cut"] = turn.timings.get("loops_cut", 0) + 1
                    break
        for sentence in gate.close():
            yield from emit(sentence)
        return reported or chunks

    def _other_language(self, turn: Turn, hits: list[Hit]) -> bool:
        """Are the passages a quote would come from in another language than the question? For a Chinese
        question the top 3 (an English slide further down is shown as it is: the course shows its English
        slides to a Chinese class); for an English one every passage quoted: a fourth, Chinese passage
        was shown untranslated in an English answer ("When is the 2nd assignment due?")."""
        top = usable(hits)[:3 if turn.language == "zh" else self.parts.composer.extract_passages]
        return bool(top) and any(detect_language(h.text) != turn.language for h in top)

    def _code(self, turn: Turn, tools: CourseTools, run: bool, earlier: str | None = None):
        """Show the code with its citation; run it only when asked to and when it is whole; returns
        None. When neither the question nor the best passages hold code ("演示一下温度采样"), shows
        nothing and returns the passages searched: the notes' worked example is then quoted from them,
        not "no code found"."""
        code, source_n, state, hits = find_code(turn.question, turn.query, tools, earlier)
        if code is None:
            return hits
        turn.mode = "code"
        composer = self.parts.composer
        if not run or state == "incomplete":
            turn.answer = composer.code_shown(turn.language, code, source_n, state, asked_to_run=run)
            yield Token(turn.answer)
            return None
        change = run_with_values(turn.question, code, turn.previous_questions)  # "用 T=5 再运行": T set, said so
        code, note = change.code, composer.values_note(turn.language, change)
        yield Status("running code…")
        tools.run_python(code)
        run = turn.code_runs[-1]
        yield Status(f"running code… {run.duration_s:.1f} s")
        turn.answer = composer.code_result(turn.language, code, source_n, run, repaired=state == "repaired", note=note)
        yield Token(turn.answer)
        return None
