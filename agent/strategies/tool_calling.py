"""Models that call tools themselves (OpenAI-compatible servers): search_course, list_readings and
run_python are offered through LangChain tool calling for up to ``max_tool_steps`` rounds."""

from __future__ import annotations

import time
from typing import Iterator

from agent.events import Event, Status, Token
from agent.prompts import tool_calling_messages
from agent.strategies import Strategy
from agent.turn import Turn


class ToolCallingStrategy(Strategy):
    name = "tools"

    def run(self, turn: Turn) -> Iterator[Event]:
        from langchain_core.messages import AIMessage, ToolMessage

        tools = {t.name: t for t in self.parts.tools(turn).langchain_tools()}
        messages = tool_calling_messages(turn.question, turn.language, turn.history)
        turn.mode = "tools"
        t = time.perf_counter()
        for _ in range(self.parts.settings.max_tool_steps):
            full = None
            for chunk in self.parts.backend.stream(messages, tools=list(tools.values())):
                full = chunk if full is None else full + chunk
                if isinstance(chunk.content, str) and chunk.content:
                    if "first_token_s" not in turn.timings:
                        turn.timings["first_token_s"] = round(time.perf_counter() - t, 3)
                    yield Token(chunk.content)
            if full is None:
                break
            message = AIMessage(content=full.content, tool_calls=getattr(full, "tool_calls", []) or [])
            messages.append(message)
            if not message.tool_calls:
                turn.answer = message.content if isinstance(message.content, str) else str(message.content)
                break
            for call in message.tool_calls:
                tool = tools.get(call["name"])
                output = tool.invoke(call["args"]) if tool else f"unknown tool {call['name']}"
                last = turn.calls[-1] if turn.calls and tool else None
                yield Status(f"{call['name']}… {last.summary if last else ''}")
                messages.append(ToolMessage(content=output, tool_call_id=call["id"]))
        turn.timings["generation_s"] = round(time.perf_counter() - t, 3)
        if turn.hits and not self.parts.covered(turn.hits, turn.question):
            turn.refused = True
