"""How an answer is produced: the strategies, and the parts of an agent they share.

- :class:`agent.strategies.route.RouteStrategy`: the agent picks the tool (deterministically) and
  the model, if any, only writes the final answer from selected sentences, or the answer quotes them.
- :class:`agent.strategies.tool_calling.ToolCallingStrategy`: the model calls the tools itself.

A strategy is created once per agent and keeps no per-question state: everything a question
changes lives on its :class:`agent.turn.Turn`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from agent.compose import Composer
from agent.events import Event
from agent.llm import ChatBackend
from agent.relevance import is_covered
from agent.sandbox import SandboxLimits
from agent.semantic import Semantics
from agent.tools import CourseTools
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

    def tools(self, turn: Turn) -> CourseTools:
        return CourseTools(turn, self.retriever, self.sandbox_limits)

    def query_tokens(self, query: str) -> set[str]:
        """The query's BM25 tokens with their glossary translations (what retrieval searched for)."""
        tokens, expansion = self.retriever.bm25_tokens(query)
        return set(tokens) | set(expansion)

    def covered(self, hits, query: str) -> bool:
        embedder = getattr(self.retriever, "embedder", None)
        semantics = Semantics.of(embedder) if embedder is not None else None
        return is_covered(hits, query, self.retriever.glossary, self.settings, semantics)

    def answer_mode(self) -> str:
        """generate or extract; auto quotes with a backend that prefers quotes (the bundled 135M model:
        agent.eval, README), lets any other model write."""
        mode = self.settings.answer_mode
        if mode == "auto":
            return "extract" if self.backend.prefers_quotes else "generate"
        return mode


class Strategy:
    name = ""

    def __init__(self, parts: AgentParts):
        self.parts = parts

    def run(self, turn: Turn) -> Iterator[Event]:
        raise NotImplementedError
