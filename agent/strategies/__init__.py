"""How an answer is produced: the strategies, and the parts of an agent they share.

- :class:`agent.strategies.route.RouteStrategy`: the agent picks the tool (deterministically) and
  the model, if any, only writes the final answer from selected sentences, or the answer quotes them.
- :class:`agent.strategies.tool_calling.ToolCallingStrategy`: the model calls the tools itself.

A strategy is created once per agent and keeps no per-question state: everything a question
changes lives on its :class:`agent.turn.Turn`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Iterator

from agent.compose import Composer
from agent.events import Event, Replace, Status, Token
from agent.llm import ChatBackend
from agent.pasted_code import question_code
from agent.policy import is_homework_request
from agent.query_translation import QueryTranslator
from agent.relevance import is_covered, judge, unknown_terms
from agent.sandbox import SandboxLimits
from agent.semantic import Semantics
from agent.tools import CourseTools, search_hits, searched_tokens
from agent.turn import Checker, Turn


@dataclass(frozen=True)
class AgentParts:
    """What every strategy of one agent reads and never writes: loaded once, shared by all users."""

    retriever: object  # retrieval.search.Retriever (or a fake with .search, .bm25_tokens, .glossary)
    backend: ChatBackend
    settings: object  # settings.AgentSettings
    sandbox_limits: SandboxLimits
    composer: Composer
    check: Checker
    translator: QueryTranslator | None = None  # the question in the notes' language, for the search

    def tools(self, turn: Turn) -> CourseTools:
        return CourseTools(turn, self.retriever, self.sandbox_limits, self.backend.prompt_chars, self.translator)

    def turn_tokens(self, turn: Turn) -> set[str]:
        """What the turn's search looked for: the query's BM25 tokens, their glossary translations and
        the words of the query's translation (agent/query_translation.py), which pick a quote's sentences."""
        return searched_tokens(self.retriever, turn.query, turn.translations.get(turn.query, ""))

    def covered(self, hits, turn: Turn) -> bool:
        """The scope guard (agent/relevance.py) on the turn's question, with its translation for the
        search where there is one. A follow-up naming a topic of its own (``turn.own_topic``: "And who
        won the 2018 World Cup?" after a course question) must also be covered alone, by a search for
        it alone (not shown; with its translation, as if asked alone): the question it follows lends it
        no coverage. Sets ``turn.number_not_found`` when only the number check declined the question."""
        embedder = getattr(self.retriever, "embedder", None)
        semantics = Semantics.of(embedder) if embedder is not None else None
        if self.settings.relevance_named_terms:
            # the names of the question a follow-up is joined to count: "那训练用了多少GPU呢？" after "GPT-5 有多少
            # 参数？" asks about GPT-5 without naming it (judged by its own words, it was answered with GPT-3's
            # numbers); so "那作业1可以组队吗？" after that question is declined too (docs/EVALUATION.md)
            turn.unknown_terms = unknown_terms(turn.query, self.retriever.term_forms())
        verdict = judge(hits, turn.query, self.retriever.glossary, self.settings, semantics,
                        translation=turn.translations.get(turn.query, ""), unknown=turn.unknown_terms,
                        frequency=self.retriever.document_frequency)
        # declined for the number asked alone? the refusal says that number was not found. Not said of
        # a follow-up with a topic of its own: its query borrows the course words of the question it
        # follows ("那食堂有多少个座位呢？" after a question on temperature)
        turn.number_not_found = verdict.number_only and not turn.own_topic
        if not verdict.covered:
            return False
        if not turn.own_topic:
            return True
        if turn.alone_covered is None:  # judged once per turn
            turn.alone_covered = self._covered_alone(turn, semantics)
        return turn.alone_covered

    def notes_hold(self, code_lines: list[str]) -> bool:
        """Do the notes hold this code: of its lines that say something (12 characters or more, spaces
        aside, not an import, not a comment), at least two and most in one of the passages a search for
        it finds? A student asking what the notes' code means asks about the notes, not about code of
        their own; imports and ``plt.show()`` are in every plot, so a student's own plot is not the notes'."""
        squash = lambda text: "".join(text.split())  # noqa: E731  (a PDF's wrapped lines, indents)
        lines = [squash(line) for line in code_lines
                 if len(squash(line)) >= 12 and not re.match(r"\s*(?:#|(?:>>>\s*)?(?:import|from)\b)", line)]
        if len(lines) < 2:
            return False
        hits = self.retriever.search("\n".join(code_lines)[:2000], 3)
        return any(sum(line in squash(h.text) for line in lines) >= max(2, 0.6 * len(lines)) for h in hits)

    def demo_may_show_code(self, turn: Turn) -> bool:
        """May a demo request look for code to show or run? When it brings its own code, when answers
        need not be grounded, or when the course covers it (the scope guard over a search not shown
        as a tool call): the route strategy's check, and the office-hours preview's."""
        return (question_code(turn.question) is not None or not turn.options.grounded_only
                or turn.earlier_code()[0] is not None
                or self.covered(self.retriever.search(turn.query, turn.options.k), turn))

    def _covered_alone(self, turn: Turn, semantics) -> bool:
        """The question alone is covered over a search for it alone, untranslated or, failing that,
        as if asked alone (with its translation): lenient, as the question it follows may lend it
        the words it leaves out ("And what happens at temperature zero?" after "什么是温度参数？" passes
        untranslated; "And what did GPT-3 show about few-shot prompting?" translated)."""
        def judged(translation: str) -> bool:
            hits = search_hits(self.retriever, turn.question, turn.options.k, translation)
            return is_covered(hits, turn.question, self.retriever.glossary, self.settings, semantics,
                              translation=translation, unknown=turn.unknown_terms,
                              frequency=self.retriever.document_frequency)

        if judged(""):
            return True
        translation = self.tools(turn).translation(turn.question)
        return bool(translation) and judged(translation)

    def answer_mode(self) -> str:
        """generate, translate or extract; auto quotes with a backend that prefers quotes (the bundled
        135M model), translates the quote with one that prefers that (the 0.5B writer; agent.eval,
        docs/EVALUATION.md), lets any other model write."""
        mode = self.settings.answer_mode
        if mode == "auto":
            if self.backend.prefers_quotes:
                return "extract"
            return "translate" if self.backend.prefers_translated_quotes else "generate"
        return mode


class Strategy:
    name = ""

    def __init__(self, parts: AgentParts):
        self.parts = parts

    def run(self, turn: Turn) -> Iterator[Event]:
        raise NotImplementedError

    # -- steps both strategies take ---------------------------------------------------------------
    def homework_request(self, turn: Turn) -> bool:
        return turn.options.homework_integrity and is_homework_request(turn.question)

    def homework_note(self, turn: Turn, tools: CourseTools) -> Iterator[Event]:
        """An assignment request: no solution (and no model), the passages to read instead."""
        t = time.perf_counter()
        hits = tools.search_course(turn.query)
        yield Status(f"searching… {len(hits)} passages")
        turn.mode = "homework"
        turn.answer = self.parts.composer.homework(turn, hits, self.parts.turn_tokens(turn))
        yield Token(turn.answer)
        turn.timings["retrieval_s"] = round(time.perf_counter() - t, 3)

    def semantics(self) -> Semantics | None:
        embedder = getattr(self.parts.retriever, "embedder", None)
        return Semantics.of(embedder) if embedder is not None else None

    @staticmethod
    def show(turn: Turn, sentence: str, t0: float) -> Iterator[Event]:
        """Append a verified sentence to the answer (kept as shown: a model that fails mid-answer loses
        nothing already shown)."""
        if not turn.answer:
            turn.timings["first_sentence_s"] = round(time.perf_counter() - t0, 3)
        turn.answer += sentence
        yield Token(sentence)

    @staticmethod
    def dropped_status(dropped: list) -> Status:
        """What the gate left out, in one line (agent/gate.py ``Dropped``).

        >>> from agent.gate import Dropped
        >>> Strategy.dropped_status([Dropped("a", "unsupported")]).text
        "left out 1 sentence(s) of the model's answer that the passages do not support"
        >>> Strategy.dropped_status([Dropped("a", "repetition"), Dropped("b", "unsupported")]).text
        "left out 2 sentence(s) of the model's answer: 1 it wrote again or in a loop, 1 that the passages do not support"
        """
        looped = sum(1 for d in dropped if d.reason == "repetition")
        if not looped:
            return Status(f"left out {len(dropped)} sentence(s) of the model's answer that the passages do not support")
        rest = len(dropped) - looped
        return Status(f"left out {len(dropped)} sentence(s) of the model's answer: {looped} it wrote again or in a loop"
                      + (f", {rest} that the passages do not support" if rest else ""))

    @staticmethod
    def replace(turn: Turn, text: str) -> Event:
        """``text`` becomes the whole answer: withdraws what was shown, if anything was."""
        shown, turn.answer = bool(turn.answer), text
        return Replace(text) if shown else Token(text)
