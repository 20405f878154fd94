"""Models that call tools themselves (OpenAI-compatible servers: vLLM, llama.cpp's server, hosted APIs).

The model is offered search_course, list_readings and run_python through LangChain tool calling for
up to ``max_tool_steps`` rounds, then asked once more without tools, so it has to answer. A model
that calls tools is still a writer that may be wrong, so the same rules hold as on the route:

- the first round must call a tool (``first_tool_choice``); what the model writes is shown one
  verified sentence at a time (agent/gate.py); text written before any passage was retrieved is
  never shown (there is nothing to check it against) and is cut off after ``PREAMBLE_CHARS``;
- a model that answers without calling a tool gets the question searched for it and is asked
  again with the passages (weak tool callers, like the 0.5B model, often answer from memory);
- a tool call it gets wrong — a tool that does not exist, arguments that are not JSON or do not fit
  the tool — is answered with an error the model can read and correct, recorded in the trace, and
  never raises;
- so the answer is grounded or declined: declined when the passages do not cover the question
  (``grounded_only``), quoted when none of the model's sentences is supported;
- run_python is offered only when the question asks to run or demonstrate code, and then the
  answer is the code that ran and its output (the model's account of an output is not checked
  against anything);
- a call repeated with the same arguments is not run again: the model is told to answer, and the
  next round offers no tools.
"""

from __future__ import annotations

import json
import re
import time
from contextlib import closing
from typing import Generator, Iterator

from agent.errors import ModelReplyError
from agent.events import Event, Status
from agent.gate import SentenceGate
from agent.policy import route
from agent.prompts import instruction_words, tool_calling_messages
from agent.records import ToolCall
from agent.strategies import Strategy
from agent.tools import CourseTools
from agent.turn import Turn


class ToolCallingStrategy(Strategy):
    name = "tools"
    PREAMBLE_CHARS = 200  # text a model may write before its first tool call ("Let me search the notes.")

    def run(self, turn: Turn) -> Iterator[Event]:
        from langchain_core.messages import AIMessage

        parts = self.parts
        tools = parts.tools(turn)
        if self.homework_request(turn):
            yield from self.homework_note(turn, tools)
            return
        wants_run = route(turn.question) == "run_python"
        if wants_run and not _INLINE_CODE.search(turn.question) and not parts.demo_may_show_code(turn):
            # a demo of what the course does not cover ("Run a demo that tells me who won the 2018 World Cup"):
            # declined as the route strategy declines it, before the model writes and runs code of its own
            own = tools.search_course(turn.query)
            turn.refused, turn.mode = True, "refusal"
            yield self.replace(turn, parts.composer.refusal_for(turn, own))
            return
        # run_python is offered only when the question asks to run or demonstrate code
        offered = {t.name: t for t in tools.langchain_tools() if wants_run or t.name != "run_python"}
        messages = tool_calling_messages(turn.question, turn.language, turn.history)
        gate = SentenceGate(lambda text: parts.check(text, [h.text for h in turn.hits]), turn.language,
                            instructions=instruction_words())
        turn.mode = "generate"
        t = time.perf_counter()
        rounds, calls_made, done, answer_now, own = 0, 0, set(), False, None
        for step in range(parts.settings.max_tool_steps + 1):
            # the last round offers no tools (answer now), nor a round after a repeated call or after
            # the agent searched for a model that would not
            offer = step < parts.settings.max_tool_steps and not answer_now
            rounds += 1
            required = step == 0 and offer and parts.settings.first_tool_choice == "required"
            try:
                full = yield from self._round(turn, gate, messages, list(offered.values()) if offer else None,
                                              "required" if required else None, t)
            except ModelReplyError:
                # the server answered, then could not parse what the model wrote (often a half tool call
                # after a sentence): keep the verified sentences shown so far, else ask once more without tools
                if not offer:
                    raise
                gate.discard()
                turn.timings["reply_errors"] = turn.timings.get("reply_errors", 0) + 1
                if gate.has_statement:
                    yield Status("the server could not read the rest of the model's reply; kept the verified sentences")
                    break
                yield Status("the server could not read the model's reply; asking it to answer without tools")
                if not turn.hits:
                    own = self._search_for_model(turn, tools, messages)
                answer_now = True
                continue
            if full is None:
                break
            calls = list(getattr(full, "tool_calls", None) or [])
            invalid = list(getattr(full, "invalid_tool_calls", None) or [])
            if calls and (getattr(full, "response_metadata", None) or {}).get("finish_reason") == "length":
                # cut off by the token limit: LangChain mends cut-off JSON, so these arguments may be partial
                invalid += [{"name": c.get("name"), "args": json.dumps(c.get("args"), ensure_ascii=False),
                             "id": c.get("id"), "error": "cut off"} for c in calls]
                calls = []
            if not calls and not invalid:
                if not turn.hits and offer:
                    yield Status("the model answered without searching; searching the course materials for it")
                    own = self._search_for_model(turn, tools, messages)
                    answer_now = True
                    continue
                break
            messages.append(AIMessage(content=full.content, tool_calls=calls, invalid_tool_calls=invalid))
            for call in calls:
                calls_made += 1
                key = (call.get("name"), json.dumps(call.get("args"), sort_keys=True, ensure_ascii=False))
                if key in done:  # the same call again: its result is already there
                    yield from self._repeated(call, messages)
                    answer_now = True
                    continue
                done.add(key)
                yield from self._call(turn, tools, offered, call, messages)
            for bad in invalid:
                calls_made += 1
                yield from self._invalid(turn, bad, messages)
            if wants_run and any(r.ok for r in turn.code_runs):
                break  # the demo ran: its code and output are the answer
        turn.timings["generation_s"] = round(time.perf_counter() - t, 3)
        turn.timings["model_rounds"] = rounds
        turn.timings["tool_calls"] = calls_made
        yield from self._finish(turn, tools, gate, own, wants_run)

    def _round(self, turn: Turn, gate: SentenceGate, messages: list, tools: list | None, tool_choice: str | None,
               t0: float) -> Generator[Event, None, object]:
        """One model request. Its verified sentences are shown as they complete; returns the whole
        message (text and tool calls), None when the model sent nothing."""
        full, unchecked = None, 0
        with closing(self.parts.backend.stream(messages, tools=tools, tool_choice=tool_choice)) as stream:
            for chunk in stream:
                full = chunk if full is None else full + chunk
                self._usage(turn, chunk)
                text = chunk.content if isinstance(chunk.content, str) else ""
                if not text:
                    continue
                turn.timings.setdefault("first_token_s", round(time.perf_counter() - t0, 3))
                if turn.hits:
                    for sentence in gate.feed(text):
                        yield from self.show(turn, sentence, t0)
                    if gate.looping and not getattr(full, "tool_call_chunks", None):  # stop a loop here
                        turn.timings["loops_cut"] = turn.timings.get("loops_cut", 0) + 1
                        break
                else:  # before any passage there is nothing to check a sentence against: never shown
                    unchecked += len(text)
                    if unchecked > self.PREAMBLE_CHARS and not getattr(full, "tool_call_chunks", None):
                        return full  # an answer from the model's own knowledge: stop it (closes the request)
        for sentence in gate.close():
            yield from self.show(turn, sentence, t0)
        return full

    @staticmethod
    def _search_for_model(turn: Turn, tools: CourseTools, messages: list) -> list:
        """The model answered without calling a tool: its answer (never shown) is dropped, the question
        is searched for it, and it is asked again with the passages, as if it had called search_course."""
        from langchain_core.messages import AIMessage, ToolMessage

        hits = tools.search_course(turn.query)
        turn.timings["searched_for_model"] = 1
        messages.append(AIMessage(content="", tool_calls=[{"name": "search_course", "args": {"query": turn.query},
                                                           "id": "courseta_search", "type": "tool_call"}]))
        messages.append(ToolMessage(content=tools.numbered(hits, turn.query), tool_call_id="courseta_search"))
        return hits

    # -- the tool calls -------------------------------------------------------------------------
    def _call(self, turn: Turn, tools: CourseTools, offered: dict, call: dict, messages: list) -> Iterator[Event]:
        from langchain_core.messages import ToolMessage

        name, args = call.get("name") or "", call.get("args") or {}
        tool = offered.get(name)
        if tool is None:
            error = f"error: there is no tool named {name!r}; the tools are {', '.join(offered)}"
            self._record_error(turn, name, args, "unknown tool")
            yield Status(f"the model asked for a tool that does not exist ({name!r}); told it so")
        else:
            before = len(turn.calls)
            try:
                output = tool.invoke(args)
            except (TypeError, ValueError) as exc:  # arguments that do not fit the tool (pydantic's ValidationError is a ValueError)
                error = f"error: the arguments do not fit {name}: {_first_line(exc)}"
                self._record_error(turn, name, args, "bad arguments")
                yield Status(f"the model called {name} with arguments that do not fit it; told it so")
            else:
                error = None
                last = turn.calls[-1] if len(turn.calls) > before else None
                yield Status(f"{name}… {last.summary if last else ''}")
        messages.append(ToolMessage(content=error or output, tool_call_id=call.get("id") or name or "call",
                                    status="error" if error else "success"))

    @staticmethod
    def _repeated(call: dict, messages: list) -> Iterator[Event]:
        from langchain_core.messages import ToolMessage

        yield Status(f"the model called {call.get('name')} again with the same arguments; asking it to answer")
        messages.append(ToolMessage(content="You already made this call; its result is above. Answer the question now.",
                                    tool_call_id=call.get("id") or "call"))

    def _invalid(self, turn: Turn, bad: dict, messages: list) -> Iterator[Event]:
        """A tool call whose arguments were not JSON (LangChain's ``invalid_tool_calls``)."""
        from langchain_core.messages import ToolMessage

        name, raw = bad.get("name") or "", bad.get("args") or ""
        self._record_error(turn, name, {"raw_arguments": str(raw)[:500]}, "arguments are not valid JSON")
        yield Status(f"the model's call of {name or 'a tool'} had arguments that are not valid JSON; told it so")
        messages.append(ToolMessage(content=f"error: the arguments of {name or 'this call'} are not valid JSON: "
                                            f"{str(raw)[:200]}. Call the tool again with a JSON object.",
                                    tool_call_id=bad.get("id") or name or "call", status="error"))

    @staticmethod
    def _record_error(turn: Turn, name: str, args, reason: str) -> None:
        if not isinstance(args, dict):
            args = {"raw_arguments": json.dumps(args, ensure_ascii=False)[:500]}
        turn.calls.append(ToolCall(name=name or "?", args=args, summary=f"error: {reason}", duration_s=0.0))

    @staticmethod
    def _usage(turn: Turn, chunk) -> None:
        usage = getattr(chunk, "usage_metadata", None)
        if usage and usage.get("input_tokens"):
            turn.timings["prompt_tokens"] = turn.timings.get("prompt_tokens", 0) + usage["input_tokens"]
        if usage and usage.get("output_tokens"):
            turn.timings["generated_tokens"] = turn.timings.get("generated_tokens", 0) + usage["output_tokens"]

    # -- the answer -----------------------------------------------------------------------------
    def _finish(self, turn: Turn, tools: CourseTools, gate: SentenceGate, own: list | None,
                wants_run: bool) -> Iterator[Event]:
        """Grounded or declined. ``own``: the agent's own search for the question, if it made one.
        What the model retrieved may miss the question (a 0.5B model's queries often do), so before
        declining, or when quoting, the agent searches the question itself."""
        parts, composer = self.parts, self.parts.composer
        if turn.code_runs and wants_run:
            run = turn.code_runs[-1]
            turn.mode = "code"
            yield self.replace(turn, composer.code_result(turn.language, run.code, None, run))
            return
        covered = bool(turn.hits) and parts.covered(turn.hits, turn)
        if own is None and (not covered or not gate.has_statement):
            yield Status("searching the course materials for the question itself")
            own = tools.search_course(turn.query)
        if turn.options.grounded_only and not covered and not parts.covered(own, turn):
            turn.refused, turn.mode = True, "refusal"
            yield self.replace(turn, composer.refusal_for(turn, own))
            return
        if not gate.has_statement:
            turn.mode = "extract"
            yield Status("none of the model's sentences is supported by the passages; quoting them instead")
            yield self.replace(turn, composer.quote(turn, own, parts.turn_tokens(turn), semantics=self.semantics()))
        elif gate.dropped:
            yield self.dropped_status(gate.dropped)


# code of the student's own in the question, unfenced ("Run print(sum(range(10))) for me", "run `x = 2**10`"):
# the model may run it, as a fenced block would be run, whatever the notes cover
_INLINE_CODE = re.compile(r"`[^`\n]+`|\b[A-Za-z_][\w.]*\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\)")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"
