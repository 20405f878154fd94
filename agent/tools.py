"""The agent's tools over one conversation turn, as plain methods and as LangChain tools.

Passages get numbers in the order the tools first return them, and keep them for the whole
answer: the [n] a model writes, the [n] shown while streaming and the [n] in the saved answer
all point at the same chunk.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from agent.sandbox import SandboxLimits, SandboxResult, run_python
from retrieval.text import tokenize
from retrieval.types import Hit

READING_KINDS = {"reading-list", "course-overview", "slides"}
_READING_HEADINGS = re.compile(r"阅读|论文|课程大纲|课程日历|课程主题|Week|周|schedule|syllabus|reading", re.I)


@dataclass
class ToolCall:
    name: str
    args: dict
    summary: str
    duration_s: float


@dataclass
class ToolBox:
    retriever: object
    k: int = 5
    sandbox_limits: SandboxLimits = field(default_factory=SandboxLimits)
    passages: list[Hit] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    code_runs: list[tuple[str, SandboxResult]] = field(default_factory=list)
    verified: tuple | None = None  # (answer text, Verification) already computed this turn

    def number_of(self, hit: Hit) -> int:
        for i, known in enumerate(self.passages, start=1):
            if known.chunk.id == hit.chunk.id:
                return i
        self.passages.append(hit)
        return len(self.passages)

    def _format(self, hits: list[Hit]) -> str:
        lines = []
        for hit in hits:
            n = self.number_of(hit)
            page = f", p. {hit.page}" if hit.page else ""
            lines.append(f"[{n}] {hit.title}{page} — {hit.heading or ''}\n{hit.text}")
        return "\n\n".join(lines) if lines else "No passages found."

    # -- the tools ------------------------------------------------------------------------------
    def search_course(self, query: str, k: int | None = None) -> list[Hit]:
        t0 = time.perf_counter()
        hits = self.retriever.search(query, k or self.k)
        for hit in hits:
            self.number_of(hit)
        self.calls.append(ToolCall("search_course", {"query": query, "k": k or self.k},
                                   f"{len(hits)} passages", round(time.perf_counter() - t0, 3)))
        return hits

    def list_readings(self, topic: str, k: int | None = None) -> list[Hit]:
        """Reading-list and schedule chunks about ``topic`` (a subject, or "week 3" / "第3周")."""
        t0 = time.perf_counter()
        k = k or self.k
        query = topic
        week = re.search(r"(?:week\s*|第\s*)(\d+)", topic, re.I)
        if week:
            query += f" 第{week.group(1)}周 Week {week.group(1)}"
        candidates = self.retriever.search(query + " 阅读材料 论文 reading", max(30, k * 4))
        hits = [h for h in candidates
                if h.chunk.meta.get("kind") in READING_KINDS or _READING_HEADINGS.search(h.chunk.heading or "")]
        hits = hits[:k] or candidates[:k]
        for hit in hits:
            self.number_of(hit)
        self.calls.append(ToolCall("list_readings", {"topic": topic}, f"{len(hits)} passages", round(time.perf_counter() - t0, 3)))
        return hits

    def run_code(self, code: str) -> SandboxResult:
        t0 = time.perf_counter()
        result = run_python(code, self.sandbox_limits)
        self.code_runs.append((code, result))
        state = "ok" if result.ok else f"{result.error['type']}"
        self.calls.append(ToolCall("run_python", {"code": code}, f"{state}, {len(result.figures)} figure(s)",
                                   round(time.perf_counter() - t0, 3)))
        return result

    # -- LangChain tools for models that call tools themselves ---------------------------------
    def langchain_tools(self):
        from langchain_core.tools import tool

        box = self

        @tool
        def search_course(query: str, k: int = 5) -> str:
            """Search the course materials (lecture notes, slides, reading lists). Returns numbered passages."""
            return box._format(box.search_course(query, k))

        @tool
        def list_readings(topic: str) -> str:
            """What to read about a topic or for a week ("week 3", "第3周"): reading-list and schedule passages."""
            return box._format(box.list_readings(topic))

        @tool
        def run_python(code: str) -> str:
            """Run a small Python demo (numpy and matplotlib available) and return its output."""
            result = box.run_code(code)
            parts = [f"ok: {result.ok}", f"stdout:\n{result.stdout}"]
            if result.error:
                parts.append(f"error: {result.error['type']}: {result.error['message']}")
            parts.append(f"figures: {len(result.figures)}")
            return "\n".join(parts)

        return [search_course, list_readings, run_python]


def best_sentences(hit: Hit, query_tokens: set[str], limit_chars: int) -> str:
    """The passage's sentences that share most words with the query, in their original order."""
    from retrieval.text import split_sentences

    sentences = [s.strip() for s in split_sentences(hit.text) if s.strip()]
    scored = sorted(range(len(sentences)), key=lambda i: -len(query_tokens & set(tokenize(sentences[i]))))
    chosen, used = [], 0
    for i in scored:
        if used + len(sentences[i]) > limit_chars and chosen:
            break
        chosen.append(i)
        used += len(sentences[i])
    return " ".join(sentences[i] for i in sorted(chosen))[: max(limit_chars, 1)]
