"""Scripted chat models, backends and a retriever for agent tests (cf. smolagents' FakeToolCallModel).

>>> retriever = FakeRetriever(["温度参数 T 控制采样的随机性。", "香农在1948年提出了熵。"])
>>> [h.text for h in retriever.search("香农 熵", 1)]
['香农在1948年提出了熵。']
"""

from __future__ import annotations

import itertools

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from agent.llm import StaticBackend
from common.text import term_forms, tokenize
from retrieval.types import Chunk, Hit


class ScriptedToolModel(FakeMessagesListChatModel):
    """Returns the scripted AIMessages in order (tool calls included); bind_tools is a no-op."""

    seen: list = []
    tool_choices: list = []

    def bind_tools(self, tools, tool_choice=None, **kwargs):
        self.tool_choices.append(tool_choice)
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def tool_call(name: str, args: dict, call_id: str = "call_1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def scripted_writer(text: str) -> GenericFakeChatModel:
    """A chat model that streams ``text`` word by word, whatever it is asked."""
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)] * 100))


def scripted_backend(text: str, **abilities) -> StaticBackend:
    """A backend whose model always writes ``text`` (abilities as keyword arguments, e.g. prefers_quotes=True)."""
    return StaticBackend(scripted_writer(text), name="scripted", **abilities)


class RecordingWriter(GenericFakeChatModel):
    """Like :func:`scripted_writer`, and keeps the messages of every call in ``seen``."""

    seen: list = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        yield from super()._stream(messages, stop, run_manager, **kwargs)


class LoopingWriter(GenericFakeChatModel):
    """A small model stuck in a loop: streams the pieces of ``lead``, then ``loop`` over and over,
    up to ``limit`` pieces in all. ``served`` holds how many pieces each call handed out (a reader
    that stops early takes fewer)."""

    messages: object = Field(default_factory=lambda: iter(()))
    lead: list[str] = Field(default_factory=list)
    loop: str = ""
    limit: int = 5000
    served: list[int] = Field(default_factory=list)

    def bind_tools(self, tools, tool_choice=None, **kwargs):
        return self

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.served.append(0)
        for piece in itertools.islice(itertools.chain(self.lead, itertools.repeat(self.loop)), self.limit):
            self.served[-1] += 1
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


class FakeRetriever:
    """Passages in memory, ranked by shared words (BM25's tokens); no index, no embedder."""

    embedder = None
    glossary = None

    def __init__(self, texts: list[str], title: str = "Fake notes"):
        self.chunks = [Chunk(id=f"fake{i}", source="fake.md", title=title, text=t, heading_path=[f"§{i}"], page=None,
                             start=0, end=len(t), language="zh") for i, t in enumerate(texts, start=1)]

    def bm25_tokens(self, query: str) -> tuple[list[str], list[str]]:
        return tokenize(query), []

    def term_forms(self) -> frozenset[str]:
        """As retrieval.search.Retriever's: the Latin words the passages mention."""
        return frozenset().union(*(term_forms(c.indexed_text()) for c in self.chunks))

    def document_frequency(self, tokens) -> dict[str, int]:
        """As retrieval.search.Retriever's: how many passages hold each token."""
        held = [set(tokenize(c.indexed_text())) for c in self.chunks]
        return {t: sum(t in words for words in held) for t in dict.fromkeys(tokens)}

    def search(self, query: str, k: int = 5) -> list[Hit]:
        words = set(tokenize(query))
        scored = [(len(words & set(tokenize(c.text))), i) for i, c in enumerate(self.chunks)]
        ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))[:k]
        return [Hit(chunk=self.chunks[i], score=float(s), ranks={"bm25": r}, scores={"bm25": float(s)})
                for r, (s, i) in enumerate(ranked, start=1)]


def course_agent(course, model=None, **overrides):
    """An agent over the ``course`` fixture's index; ``model`` (a LangChain chat model) wrapped as a
    backend that neither calls tools nor prefers quotes, else the backend the ``llm`` setting names."""
    from agent.core import Agent

    s, retriever = course
    s = s.override(**overrides)
    backend = StaticBackend(model, name="scripted", prompt_chars=s.agent.prompt_chars) if model is not None else None
    return Agent.from_settings(s, retriever=retriever, backend=backend)
