"""The agent: question → tools → grounded answer → verified, repaired citations.

An :class:`Agent` is built once per process (retriever, chat backend and prompts loaded once) and
shared by every user; it never changes after that. What a user may change travels with each
question as :class:`agent.options.TurnOptions`, and everything a question produces lives on its
own :class:`agent.turn.Turn`, so concurrent questions cannot see each other's options.

:meth:`Agent.stream` yields :mod:`agent.events` and ends with ``Done(answer)``, an
:class:`agent.records.Answer`. Over fakes (tests/fakes.py):

>>> from agent.events import Done, Status, Token
>>> from agent.options import TurnOptions
>>> from tests.fakes import FakeRetriever, scripted_backend
>>> agent = Agent(FakeRetriever(["温度参数 T 控制采样的随机性。T=0 时总是选最可能的令牌。"]),
...               scripted_backend("温度参数 T 控制采样的随机性 [1]。"))
>>> events = list(agent.stream("温度参数 T 有什么作用？", options=TurnOptions(k=3)))
>>> [type(e).__name__ for e in events][:3], events[-1].answer.citations[0].verdict
(['Status', 'Status', 'Token'], 'supported')
>>> "".join(e.text for e in events if isinstance(e, Token))
'温度参数 T 控制采样的随机性 [1]。'
"""

from __future__ import annotations

import logging
import time
from typing import Iterator, Sequence

from agent.citations import verify
from agent.compose import Composer
from agent.errors import ModelError
from agent.events import Done, Event, Token
from agent.llm import ChatBackend, get_chat_model
from agent.options import TurnOptions
from agent.pasted_code import asks_to_run_again, rerun_trail, run_with_values
from agent.policy import has_own_topic, route, small_talk, standalone_query, without_pasted_code
from agent.query_translation import query_translator
from agent.records import Answer
from agent.sandbox import SandboxLimits
from agent.strategies import AgentParts
from agent.strategies.route import RouteStrategy, find_code, not_run
from agent.strategies.tool_calling import ToolCallingStrategy
from agent.prompts import phrase
from agent.turn import Turn, user_messages
from common.text import has_letters, question_language, tokenize

log = logging.getLogger("courseta.agent")
MAX_QUESTION_CHARS = 4000  # a question is a few sentences; 19,000 characters cost 70 s of translation


def clean_text(text: str) -> str:
    """A question or history entry without lone surrogates (a page, an embedder's tokenizer cannot
    encode them: the CLI's ``\\xff`` arguments arrive as such).

    >>> clean_text("\\udcff温度")
    '?温度'
    """
    return text.encode("utf-8", "replace").decode("utf-8")


def has_words(query: str) -> bool:
    """Does the question (with the question it follows) hold a word to look for, not only numbers,
    punctuation or emoji ("?", "[99]", "🤖🔥")?

    >>> has_words("熵是什么？"), has_words("[99] ?"), has_words("🤖🤖🔥")
    (True, False, False)
    """
    return any(not token.replace(".", "").isdigit() for token in tokenize(query))


class Agent:
    """``settings`` is the :class:`settings.AgentSettings` slice (defaults when omitted)."""

    def __init__(self, retriever, backend: ChatBackend, settings=None, sandbox_limits: SandboxLimits | None = None):
        if settings is None:
            from settings import AgentSettings

            settings = AgentSettings()
        self.settings = settings
        self.backend = backend
        self.retriever = retriever
        embedder = getattr(retriever, "embedder", None) if settings.verify_with_embeddings else None
        self._parts = AgentParts(
            retriever=retriever, backend=backend, settings=settings, sandbox_limits=sandbox_limits or SandboxLimits(),
            composer=Composer(settings.quote_chars, settings.extract_passages),
            check=lambda text, passages: verify(text, passages, embedder),
            translator=query_translator(settings, backend, retriever),
        )
        use_tools = settings.agent_strategy == "tools" or (settings.agent_strategy == "auto" and backend.supports_tools)
        self.strategy = (ToolCallingStrategy if use_tools else RouteStrategy)(self._parts)

    @classmethod
    def from_settings(cls, settings, retriever=None, backend: ChatBackend | None = None) -> "Agent":
        """Assemble an agent from the whole :class:`settings.Settings`: each part gets its slice.
        Loads the index now (a missing one raises a RetrievalError); the chat model loads on first use."""
        if retriever is None:
            from retrieval.search import Retriever

            retriever = Retriever.load(settings.retrieval)
        if backend is None:
            backend = get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
        return cls(retriever, backend, settings.agent, SandboxLimits.from_settings(settings.sandbox))

    def default_options(self) -> TurnOptions:
        return TurnOptions.defaults(self.settings)

    # -- answering ------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[dict] = (), options: TurnOptions | None = None) -> Iterator[Event]:
        """Answer ``question`` (after ``history``: {"role", "content"} dicts) with ``options``.

        Yields Status / Token / Replace events and finally ``Done(answer)``. A model that fails
        gives an answer whose ``error`` says why in one sentence; anything else raises.
        """
        t0 = time.perf_counter()
        turn = self._new_turn(question, history, options)
        question = turn.question
        try:
            if kind := small_talk(question):  # "hi", "谢谢": answered in one sentence, no search, no model
                turn.answer = phrase(kind, turn.language)
                yield Token(turn.answer)
            elif len(question) > MAX_QUESTION_CHARS or not has_words(turn.query):
                # nothing to search for, or far more than a question: one sentence, no search, no model
                turn.refused, turn.mode = True, "refusal"
                turn.answer = (phrase("question_too_long", turn.language, limit=MAX_QUESTION_CHARS)
                               if len(question) > MAX_QUESTION_CHARS else phrase("ask_a_question", turn.language))
                yield Token(turn.answer)
            else:
                yield from self.strategy.run(turn)
        except ModelError as exc:
            turn.error = str(exc)
            yield from self._after_model_error(turn)
        answer = turn.to_answer(self.strategy.name, self._parts.check)
        answer.timings["total_s"] = round(time.perf_counter() - t0, 3)
        yield Done(answer)

    def _after_model_error(self, turn: Turn) -> Iterator[Event]:
        """The model failed (server down, killed mid-answer, timed out). What was shown stays shown;
        when nothing was, the passages already found are quoted, so the answer is still grounded
        (a tool-calling model that failed before its first search: the question's own search);
        with no passages, one sentence says the model is unavailable (``model_failed``; the failure
        itself stays in the answer's ``error``, for TAs)."""
        if turn.answer.strip():
            return
        parts = self._parts
        if not turn.hits and turn.mode not in ("refusal", "code", "homework"):
            try:
                for hit in parts.retriever.search(turn.query, turn.options.k):
                    turn.number_of(hit)
            except Exception:  # noqa: BLE001 - the model's failure is the answer's; this one goes to the log
                log.warning("the search after a model failure failed too", exc_info=True)
        if not turn.hits or turn.mode in ("refusal", "code", "homework"):
            turn.answer = phrase("model_failed", turn.language)  # the details (a server's address) stay in .error
            yield Token(turn.answer)
        elif turn.options.grounded_only and not parts.covered(turn.hits, turn):
            turn.refused, turn.mode = True, "refusal"  # what the tools found does not cover the question
            turn.answer = parts.composer.refusal_for(turn, turn.hits)
            yield Token(turn.answer)
        else:
            turn.mode = "extract"
            turn.answer = parts.composer.quote(turn, turn.hits, parts.turn_tokens(turn),
                                               intro_key="no_code_intro" if turn.no_demo else "extract_intro",
                                               semantics=self.strategy.semantics())
            yield Token(turn.answer)

    def ask(self, question: str, history: Sequence[dict] = (), options: TurnOptions | None = None) -> Answer:
        """:meth:`stream` to the end; the answer."""
        for event in self.stream(question, history, options):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream() always ends with Done")

    def demo_code(self, question: str, options: TurnOptions | None = None, history: Sequence[dict] = ()) -> str | None:
        """The code a demo request would run (its own code block, else code found in the passages),
        so a presenter can show it before running it; None when the question asks for no demo. A
        follow-up ("运行一下它") is searched joined to the question it follows, as :meth:`stream`
        searches it: the code shown is the code run."""
        turn = self._new_turn(question, history, options)
        earlier, _ = turn.earlier_code()
        if not_run(turn, self._parts.notes_hold):
            return None  # the answer says why nothing runs (a change not made, code that cannot run)
        if (earlier is None and route(turn.question) != "run_python") or self.strategy.homework_request(turn):
            return None  # the answer would be the homework note, not a demo
        if not self._parts.demo_may_show_code(turn):
            return None  # the answer would decline it
        code, _, state, _ = find_code(turn.question, turn.query, self._parts.tools(turn), earlier)
        if code is None or state == "incomplete":  # shown as found, never run: no value is set in it
            return code
        return run_with_values(turn.question, code, turn.previous_questions).code  # "用 T=5 再运行": as the run sets it

    def _new_turn(self, question: str, history: Sequence[dict], options: TurnOptions | None) -> Turn:
        """A turn for ``question`` after ``history``: cleaned, a follow-up joined to the question it
        follows for the search, in the question's language."""
        question = clean_text(question)
        # entries without text (a caller's malformed history: no content, None, not a mapping) are left out
        history = [{**m, "content": clean_text(m["content"])} for m in history
                   if isinstance(m, dict) and isinstance(m.get("content"), str)]
        previous = user_messages(history)
        words = without_pasted_code(question)  # "帮我跑跑看" over code with English strings is Chinese
        query = standalone_query(question, previous)
        if previous and asks_to_run_again(question):  # "用 T=5 再运行" after a demo: that demo's search, again
            topic = rerun_trail(previous)[1]
            query = question if topic is None else f"{topic} {question}"
        return Turn(question=question, query=query,
                    language=question_language(words if has_letters(words) else question),
                    options=options or self.default_options(), history=list(history),
                    own_topic=has_own_topic(question, previous))

    def needs_model(self) -> bool:
        """Will answers call the chat model? (Not when the route quotes every answer.)"""
        quotes_only = self.strategy.name == "route" and self._parts.answer_mode() == "extract"
        return not quotes_only or self._parts.translator is not None

    def preload_model(self) -> bool:
        """Start loading the chat model in the background when answers will need it (the app does
        this at start, so the first question does not wait for the load); returns whether it did."""
        if not self.needs_model():
            return False
        self.backend.preload()
        return True

    def model_state(self, wait_s: float = 0.0) -> str:
        """For the UI: 'ready', 'not needed (quoting)', or the backend's own state. Never blocks
        longer than ``wait_s`` (a server's reachability is probed in the background)."""
        if self.backend.loaded:
            return "ready"
        if not self.needs_model():
            return "not needed (answers quote the passages)"
        return self.backend.health(wait_s)
