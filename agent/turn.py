"""One question being answered: everything that belongs to this turn and to no other.

A :class:`Turn` is created by :meth:`agent.core.Agent.stream` for each question and thrown away
after it. It owns the passage numbering (a passage gets its number the first time a tool returns
it and keeps it for the whole answer: the [n] a model writes, the [n] shown while streaming and
the [n] stored all point at the same chunk), the tool calls, the code runs, the answer text as it
grows, and the citation check of that text. At the end, :meth:`Turn.to_answer` turns it into the
immutable :class:`agent.records.Answer`.

>>> from agent.citations import verify
>>> from retrieval.types import Chunk, Hit
>>> hit = Hit(Chunk("c1", "a.md", "A", "温度参数 T 控制采样的随机性。", ["1.1 温度"], None, 0, 14, "zh"), 1.0, {})
>>> turn = Turn(question="温度参数的作用？", query="温度参数的作用？", language="zh", options=TurnOptions())
>>> turn.number_of(hit), turn.number_of(hit)
(1, 1)
>>> turn.answer, turn.mode = "温度参数 T 控制随机性 [1][3]。", "extract"
>>> answer = turn.to_answer("route", check=lambda text, passages: verify(text, passages))
>>> answer.answer, answer.verification.invalid, answer.citations[0].supporting_sentence
('温度参数 T 控制随机性 [1]。', [3], '温度参数 T 控制采样的随机性。')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from agent.citations import Verification as CheckResult
from agent.citations import supporting_sentence
from agent.injection import injection_flags
from agent.options import TurnOptions
from agent.pasted_code import earlier_code
from agent.records import (
    Answer, Citation, CodeError, CodeRun, Passage, SentenceCheck, ToolCall, Verification,
)
from common.text import FENCED_BLOCK
from retrieval.types import Hit

# (answer text, passage texts) -> the citation check; the agent binds the embedder into it
Checker = Callable[[str, list[str]], CheckResult]


def user_messages(history: list[dict]) -> list[str]:
    """The student's messages of a chat history ({"role", "content"} dicts), oldest first."""
    return [m["content"] for m in history if m.get("role") == "user"]


def answers_code(history: list[dict]) -> list[tuple[str, ...]]:
    """For each of the student's messages (:func:`user_messages`), the code blocks its answer showed.

    >>> answers_code([{"role": "user", "content": "演示一下"}, {"role": "assistant", "content": "```python\\nprint(1)\\n```"},
    ...               {"role": "user", "content": "什么是熵？"}, {"role": "assistant", "content": "熵是……"}])
    [('print(1)',), ()]
    """
    shown: list[tuple[str, ...]] = []
    for m in history:
        if m.get("role") == "user":
            shown.append(())
        elif shown and m.get("role") == "assistant":
            shown[-1] += tuple(block.group(3) for block in FENCED_BLOCK.finditer(m["content"]))
    return shown


@dataclass
class Turn:
    question: str
    query: str
    language: str
    options: TurnOptions
    history: list[dict] = field(default_factory=list)  # earlier messages: {"role", "content"}
    own_topic: bool = False  # a follow-up naming a topic of its own (policy.has_own_topic): judged alone too
    no_demo: bool = False  # a demo asked for that the notes hold no code for: answered from them, saying so
    alone_covered: bool | None = None  # the scope guard's verdict on such a question alone (None: not judged yet)
    hits: list[Hit] = field(default_factory=list)  # the numbered passages: hits[n - 1] is [n]
    calls: list[ToolCall] = field(default_factory=list)
    code_runs: list[CodeRun] = field(default_factory=list)
    figures: list[bytes] = field(default_factory=list)
    answer: str = ""
    mode: str = ""
    refused: bool = False
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    translations: dict[str, str] = field(default_factory=dict)  # search query -> its translation ('' = none)
    unknown_terms: tuple[str, ...] = ()  # names in the question the notes never mention (the scope guard's)
    number_not_found: bool = False  # declined only because no sentence near holds the number asked (the scope guard's)
    untranslated: list[str] = field(default_factory=list)  # quoted lines a translation left out ("sentence [n]")
    line_sources: dict[str, str] = field(default_factory=dict)  # a line shown translated -> the notes' line it translates
    _checked: tuple[str, CheckResult] | None = None
    _earlier: tuple[str | None, bool] | None = None

    @property
    def previous_questions(self) -> list[str]:
        """The student's earlier messages in this chat, oldest first."""
        return user_messages(self.history)

    def earlier_code(self) -> tuple[str | None, bool]:
        """:func:`agent.pasted_code.earlier_code` of this turn (the student's code a follow-up asks to run
        again, whether it asks for a change instead), computed once: the route strategy, the demo check
        and the office-hours preview all ask."""
        if self._earlier is None:
            self._earlier = earlier_code(self.question, self.previous_questions, answers_code(self.history))
        return self._earlier

    def number_of(self, hit: Hit) -> int:
        """The passage number of ``hit`` in this answer, given on first sight and never changed."""
        for i, known in enumerate(self.hits, start=1):
            if known.chunk.id == hit.chunk.id:
                return i
        self.hits.append(hit)
        return len(self.hits)

    def check(self, checker: Checker) -> CheckResult:
        """The citation check of the current answer text (computed once per text)."""
        if self._checked is None or self._checked[0] != self.answer:
            self._checked = (self.answer, checker(self.answer, [h.text for h in self.hits]))
        return self._checked[1]

    def needs_check(self) -> bool:
        # after a model failure the answer may still be what was shown or the quotes that replaced it
        return bool(self.answer and self.hits and self.mode not in ("refusal", "code") and self.answer != self.error)

    def to_answer(self, strategy: str, check: Checker) -> Answer:
        """The finished record: the answer text repaired by the citation check, every citation
        located and given the passage sentence that supports it."""
        passages = [Passage(n=i, chunk_id=h.chunk.id, source=h.source, title=h.title, heading=h.chunk.heading,
                            page=h.page, start=h.start, end=h.end, text=h.text, score=h.score, ranks=h.ranks,
                            flags=injection_flags(h.text))
                    for i, h in enumerate(self.hits, start=1)]
        text, citations, verification = self.answer, [], None
        if self.needs_check():
            result = self.check(check)
            text = result.answer
            claims = {s.index: s.text for s in result.sentences}
            for c in result.citations:
                passage = passages[c.n - 1]
                claim = claims.get(c.sentence_index)
                citations.append(Citation.at(
                    passage, sentence_index=c.sentence_index, score=c.score, verdict=c.verdict, added=c.added,
                    supporting_sentence=self.support(passage.text, claim, c.evidence) if claim else None,
                ))
            verification = Verification(precision=result.precision, recall=result.recall, invalid=result.invalid,
                                        added=result.added,
                                        sentences=[SentenceCheck(**asdict(s)) for s in result.sentences])
        return Answer(question=self.question, query=self.query, answer=text, language=self.language,
                      strategy=strategy, mode=self.mode, refused=self.refused, citations=citations,
                      passages=passages, tool_calls=list(self.calls), code_runs=list(self.code_runs),
                      figures=list(self.figures), verification=verification, timings=dict(self.timings),
                      error=self.error, untranslated=list(self.untranslated),
                      number_not_found=self.refused and self.number_not_found)

    def support(self, passage: str, claim: str, evidence: str = "") -> str | None:
        """The passage sentence shown as a claim's support: for a line the model translated, the
        notes' line it translates; for a claim in another language than the passage, the check's
        ``evidence`` (found only for such claims: a lexical match across languages picks an
        unrelated sentence); else the sentence sharing most with the claim."""
        said = claim.lstrip("-*• ").strip()  # a line of the answer's list
        flat = " ".join(passage.split())  # a quoted line's spaces are collapsed
        for shown, source in self.line_sources.items():
            if said and said in shown and " ".join(source.split()) in flat:
                return source
        if evidence:
            return evidence
        return supporting_sentence(passage, [claim])

    def record_code_run(self, code: str, run) -> CodeRun:
        """Keep a sandbox result (agent/sandbox.py ``SandboxResult``) as this turn's record."""
        record = CodeRun(code=code, ok=run.ok, stdout=run.stdout, stderr=run.stderr,
                         error=CodeError(**run.error) if run.error else None, n_figures=len(run.figures),
                         limits_hit=run.limits_hit, duration_s=run.duration_s, isolation=list(run.isolation))
        self.code_runs.append(record)
        self.figures.extend(run.figures)
        return record
