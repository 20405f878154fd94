"""The deterministic route: the agent picks the tool, the model (if any) only writes the last step.

code in the question (or "run …") → run_python; readings / schedule → list_readings; else
search_course. Then: decline when the passages do not cover the question (``grounded_only``),
point to readings for homework requests (``homework_integrity``), and answer by quoting the best
sentences or by letting the model write from them (``answer_mode``), falling back to quotes when
the citation check finds nothing of the written answer supported.
"""

from __future__ import annotations

import time
from typing import Iterator

from agent.events import Event, Replace, Status, Token
from agent.injection import is_flagged, usable
from agent.policy import extract_code, is_homework_request, route, runnable_code_in
from agent.prompts import writer_messages
from agent.sentences import best_sentences
from agent.strategies import Strategy
from agent.tools import CourseTools
from agent.turn import Turn
from retrieval.types import Hit


def find_code(question: str, query: str, tools: CourseTools) -> tuple[str | None, int | None]:
    """The code a demo request runs: its own code block, else the first runnable block in the passages
    (with that passage's number)."""
    code = extract_code(question)
    if code is not None:
        return code, None
    for hit in tools.search_course(query):
        found = runnable_code_in(hit.text)
        if found and not is_flagged(hit.text):
            return found, tools.turn.number_of(hit)
    return None, None


class RouteStrategy(Strategy):
    name = "route"

    def run(self, turn: Turn) -> Iterator[Event]:
        parts, composer = self.parts, self.parts.composer
        tools = parts.tools(turn)
        t_retrieval = time.perf_counter()
        if turn.options.homework_integrity and is_homework_request(turn.question):
            hits = tools.search_course(turn.query)
            yield Status(f"searching… {len(hits)} passages")
            turn.mode = "homework"
            turn.answer = composer.homework(turn, hits, parts.query_tokens(turn.query))
            yield Token(turn.answer)
            turn.timings["retrieval_s"] = round(time.perf_counter() - t_retrieval, 3)
            return
        tool = route(turn.question)
        if tool == "run_python":
            yield from self._run_code(turn, tools)
            return
        hits = tools.list_readings(turn.query) if tool == "list_readings" else tools.search_course(turn.query)
        turn.timings["retrieval_s"] = round(time.perf_counter() - t_retrieval, 3)
        yield Status(f"{'listing readings' if tool == 'list_readings' else 'searching'}… {len(hits)} passages")
        if turn.options.grounded_only and not parts.covered(hits, turn.query):
            turn.refused, turn.mode = True, "refusal"
            turn.answer = composer.refusal(hits, turn.language)
            yield Token(turn.answer)
            return
        mode = "extract" if tool == "list_readings" else parts.answer_mode()
        if mode == "generate":
            yield from self._write(turn, hits)
            if parts.settings.answer_mode == "auto" and turn.check(parts.check).recall == 0:
                turn.answer = composer.quote(turn, hits, parts.query_tokens(turn.query))
                turn.mode = "extract"
                yield Status("the model's answer was not supported by the passages; quoting them instead")
                yield Replace(turn.answer)
            return
        turn.mode = "extract"
        intro = "readings_intro" if tool == "list_readings" else "extract_intro"
        turn.answer = composer.quote(turn, hits, parts.query_tokens(turn.query), intro_key=intro)
        yield Token(turn.answer)

    def _write(self, turn: Turn, hits: list[Hit]) -> Iterator[Event]:
        """The model writes the answer from the best sentences of the best passages, within the backend's
        prompt budget; passages past it stay sources only."""
        backend = self.parts.backend
        qtokens = self.parts.query_tokens(turn.query)
        budget = backend.prompt_chars
        per = max(80, budget // max(1, len(hits)))
        lines, used = [], 0
        for h in usable(hits):  # best first; flagged passages never reach the model
            text = " ".join(best_sentences(h, qtokens, per).split())
            if lines and used + len(text) > budget:
                break
            lines.append(f"[{turn.number_of(h)}] {text}")
            used += len(text)
        messages = writer_messages(turn.question, turn.language, "\n".join(lines))
        turn.mode = "generate"
        yield Status("writing the answer…")
        t = time.perf_counter()
        for chunk in backend.stream(messages):
            usage = getattr(chunk, "usage_metadata", None)
            if usage and usage.get("input_tokens"):  # local models and servers that report usage
                turn.timings["prompt_tokens"] = usage["input_tokens"]
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text:
                if not turn.answer:
                    turn.timings["first_token_s"] = round(time.perf_counter() - t, 3)
                turn.answer += text  # kept as it arrives: a model that fails mid-answer loses nothing shown
                yield Token(text)
        turn.answer = turn.answer.strip()
        turn.timings["generation_s"] = round(time.perf_counter() - t, 3)

    def _run_code(self, turn: Turn, tools: CourseTools) -> Iterator[Event]:
        code, source_n = find_code(turn.question, turn.query, tools)
        turn.mode = "code"
        if code is None:
            turn.answer = self.parts.composer.no_code(turn.language)
            yield Token(turn.answer)
            return
        yield Status("running code…")
        run = tools.run_python(code)
        yield Status(f"running code… {run.duration_s:.1f} s")
        turn.answer = self.parts.composer.code_result(turn.language, code, source_n, run)
        yield Token(turn.answer)
