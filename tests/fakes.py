"""Scripted chat models for agent tests (cf. smolagents' FakeToolCallModel)."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage


class ScriptedToolModel(FakeMessagesListChatModel):
    """Returns the scripted AIMessages in order (tool calls included); bind_tools is a no-op."""

    seen: list = []

    def bind_tools(self, tools, **kwargs):
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)


def tool_call(name: str, args: dict, call_id: str = "call_1") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}])


def scripted_writer(text: str) -> GenericFakeChatModel:
    """A chat model that streams ``text`` word by word, whatever it is asked."""
    return GenericFakeChatModel(messages=iter([AIMessage(content=text)] * 100))


class RecordingWriter(GenericFakeChatModel):
    """Like :func:`scripted_writer`, and keeps the messages of every call in ``seen``."""

    seen: list = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(list(messages))
        yield from super()._stream(messages, stop, run_manager, **kwargs)
