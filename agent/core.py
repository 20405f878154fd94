"""The agent loop: question → tools → grounded answer → verified, repaired citations.

Two strategies, picked in one place (:meth:`Agent.strategy`) from the backend's capability:

- ``tools``: models that call tools (OpenAI-compatible servers) drive search_course /
  list_readings / run_python themselves through LangChain tool calling;
- ``route``: for the bundled 135M model, which cannot call tools reliably, a deterministic
  route picks the tool (code → run_python, readings/schedule → list_readings, else
  search_course) and the model only writes the final answer from numbered passages — or the
  answer quotes the passages' best sentences (``answer_mode``; see README for the numbers).

Either way the answer's citations are verified and repaired afterwards (agent/citations.py),
and passage numbers never change once given.

>>> from tests.fakes import scripted_agent           # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Iterator

from agent.citations import Verification, verify
from agent.llm import explain_llm_error, get_chat_model, supports_tool_calls
from agent.policy import extract_code, is_homework_request, route, standalone_query
from agent.prompts import load_prompts, phrase
from agent.relevance import coverage
from agent.sandbox import SandboxLimits
from agent.tools import ToolBox, best_sentences
from retrieval.glossary import load_glossary
from retrieval.text import detect_language
from retrieval.types import Hit
from settings import prompt_budget


@dataclass
class AnswerResult:
    question: str
    query: str
    answer: str
    language: str
    strategy: str
    mode: str  # generate | extract | homework | refusal | code | tools
    refused: bool = False
    citations: list[dict] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    code_runs: list[dict] = field(default_factory=list)
    figures: list[bytes] = field(default_factory=list)
    verification: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    error: str | None = None

    def to_json_dict(self) -> dict:
        data = asdict(self)
        data.pop("figures")
        data["n_figures"] = len(self.figures)
        return data


class Agent:
    def __init__(self, settings, retriever=None, llm=None):
        self.settings = settings
        self._retriever = retriever
        self._llm = llm

    # -- lazily loaded parts ------------------------------------------------------------------
    @property
    def retriever(self):
        if self._retriever is None:
            from retrieval.search import Retriever

            self._retriever = Retriever.load(self.settings)
        return self._retriever

    @property
    def llm(self):
        if self._llm is None:
            self._llm = get_chat_model(self.settings.llm, self.settings)
        return self._llm

    def model_state(self) -> str:
        """For the UI: 'ready', 'not loaded yet', 'not needed (quoting)', or why it is unreachable."""
        if self._llm is not None:
            return "ready"
        if self.strategy() == "route" and self._answer_mode("en") == "extract":
            return "not needed (answers quote the passages)"
        if self.settings.llm.startswith("openai:"):
            import urllib.request

            url = (self.settings.llm_base_url or "https://api.openai.com/v1").rstrip("/") + "/models"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.settings.llm_api_key or 'none'}"})
            try:
                urllib.request.urlopen(request, timeout=2)
                return "reachable"
            except Exception as exc:  # noqa: BLE001 - reported as a state, not raised
                if getattr(exc, "code", None):  # the server answered (401, 404 …): it is up
                    return "reachable"
                return f"unreachable ({type(exc).__name__})"
        return "not loaded yet (loads on the first written answer)"

    def strategy(self) -> str:
        """The one place that picks how tools are driven."""
        if self.settings.agent_strategy != "auto":
            return self.settings.agent_strategy
        return "tools" if supports_tool_calls(self.settings.llm) else "route"

    # -- public API -----------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict] | None = None) -> AnswerResult:
        result = None
        for event in self.stream(question, history):
            if event["type"] == "result":
                result = event["result"]
        return result

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[dict]:
        """Events: {"type": "status", "text"}, {"type": "token", "text"}, {"type": "replace", "text"},
        and finally {"type": "result", "result": AnswerResult}."""
        t0 = time.perf_counter()
        history = history or []
        language = detect_language(question)
        previous = [m["content"] for m in history if m.get("role") == "user"]
        query = standalone_query(question, previous)
        box = ToolBox(self.retriever, k=self.settings.retrieval_k,
                      sandbox_limits=SandboxLimits.from_settings(self.settings))
        strategy = self.strategy()
        result = AnswerResult(question=question, query=query, answer="", language=language, strategy=strategy, mode="")
        try:
            if strategy == "tools":
                yield from self._tools_loop(question, history, language, box, result)
            else:
                yield from self._route(question, query, language, box, result)
        except Exception as exc:  # noqa: BLE001 - a model/server failure becomes one sentence, never a traceback
            result.error = explain_llm_error(exc, self.settings.llm, self.settings.llm_base_url)
            if not result.answer:
                result.answer = result.error
        self._finish(result, box, t0)
        yield {"type": "result", "result": result}

    # -- the deterministic route ------------------------------------------------------------------
    def _route(self, question, query, language, box: ToolBox, result: AnswerResult):
        t_retrieval = time.perf_counter()
        if self.settings.homework_integrity and is_homework_request(question):
            hits = box.search_course(query)
            yield {"type": "status", "text": f"searching… {len(hits)} passages"}
            result.mode = "homework"
            result.answer = phrase("homework", language) + "\n" + self._quote(box, hits, query, language, intro=False)
            yield {"type": "token", "text": result.answer}
            result.timings["retrieval_s"] = round(time.perf_counter() - t_retrieval, 3)
            return
        tool = route(question)
        if tool == "run_python":
            yield from self._run_code(question, query, language, box, result)
            return
        if tool == "list_readings":
            hits = box.list_readings(query)
        else:
            hits = box.search_course(query)
        result.timings["retrieval_s"] = round(time.perf_counter() - t_retrieval, 3)
        yield {"type": "status", "text": f"{'listing readings' if tool == 'list_readings' else 'searching'}… {len(hits)} passages"}
        if self.settings.grounded_only and not self._relevant(hits, query):
            result.refused, result.mode = True, "refusal"
            result.answer = self._refusal(box, hits, language)
            yield {"type": "token", "text": result.answer}
            return
        mode = self._answer_mode(language)
        if tool == "list_readings":
            mode = "extract"
        if mode == "generate":
            yield from self._generate(question, query, language, box, hits, result)
            ver = verify(result.answer, [h.text for h in box.passages], self._verify_embedder())
            box.verified = (result.answer, ver)  # _finish reuses it when the answer stays
            if self.settings.answer_mode == "auto" and ver.recall == 0:
                result.answer = self._quote(box, hits, query, language)
                result.mode = "extract"
                yield {"type": "status", "text": "the model's answer was not supported by the passages; quoting them instead"}
                yield {"type": "replace", "text": result.answer}
            return
        result.mode = "extract"
        result.answer = self._quote(box, hits, query, language,
                                    intro_key="readings_intro" if tool == "list_readings" else "extract_intro")
        yield {"type": "token", "text": result.answer}

    def _answer_mode(self, language: str) -> str:
        """auto: quote with the bundled 135M model (agent.eval: better cited-gold rate and citation
        recall than its own writing, README); other models write, falling back to quotes when unsupported."""
        mode = self.settings.answer_mode
        if mode == "auto":
            return "extract" if self.settings.llm == "local:bundled" else "generate"
        return mode

    def _query_tokens(self, query: str) -> set[str]:
        """The query's BM25 tokens with their glossary translations (what retrieval searched for)."""
        tokens, expansion = self.retriever.bm25_tokens(query)
        return set(tokens) | set(expansion)

    def _quote(self, box: ToolBox, hits: list[Hit], query: str, language: str, intro: bool = True,
               intro_key: str = "extract_intro") -> str:
        """An extractive answer: the most relevant sentence(s) of the top passages, each cited."""
        qtokens = self._query_tokens(query)
        lines = [phrase(intro_key, language)] if intro else []
        budget = self.settings.quote_chars
        for hit in hits[: self.settings.extract_passages]:
            text = best_sentences(hit, qtokens, budget // self.settings.extract_passages)
            text = " ".join(text.split())
            if text:
                lines.append(f"- {text} [{box.number_of(hit)}]")
        return "\n".join(lines)

    def _refusal(self, box: ToolBox, hits: list[Hit], language: str) -> str:
        lines = [phrase("not_covered", language)]
        for hit in hits[:3]:
            page = f", p. {hit.page}" if hit.page else ""
            lines.append(f"- {hit.title}{page} — {hit.heading or ''}")
        return "\n".join(lines)

    def _relevant(self, hits: list[Hit], query: str) -> bool:
        """Calibrated on the dev set (README): term coverage, backed by BM25 for partial coverage."""
        s = self.settings
        cov = coverage(query, [h.chunk.indexed_text() for h in hits], load_glossary(s.query_glossary))
        bm25 = max(((h.scores.get("bm25") or 0.0) for h in hits), default=0.0)
        return cov >= s.relevance_coverage or (cov >= s.relevance_min_coverage and bm25 >= s.relevance_bm25)

    def _generate(self, question, query, language, box: ToolBox, hits: list[Hit], result: AnswerResult):
        from langchain_core.messages import HumanMessage, SystemMessage

        prompts = load_prompts()
        qtokens = self._query_tokens(query)
        budget = prompt_budget(self.settings)
        per = max(80, budget // max(1, len(hits)))
        lines, used = [], 0
        for h in hits:  # best first; the rest are still shown as sources, just not in the prompt
            text = " ".join(best_sentences(h, qtokens, per).split())
            if lines and used + len(text) > budget:
                break
            lines.append(f"[{box.number_of(h)}] {text}")
            used += len(text)
        passages = "\n".join(lines)
        lang_name = prompts["languages"].get(language, "English")
        messages = [SystemMessage(prompts["system"].format(language=lang_name)),
                    HumanMessage(prompts["user"].format(passages=passages, question=question))]
        result.mode = "generate"
        yield {"type": "status", "text": "writing the answer…"}
        t = time.perf_counter()
        parts = []
        for chunk in self.llm.stream(messages):
            usage = getattr(chunk, "usage_metadata", None)
            if usage and usage.get("input_tokens"):  # local models and servers that report usage
                result.timings["prompt_tokens"] = usage["input_tokens"]
            text = chunk.content if isinstance(chunk.content, str) else ""
            if text:
                if not parts:
                    result.timings["first_token_s"] = round(time.perf_counter() - t, 3)
                parts.append(text)
                yield {"type": "token", "text": text}
        result.answer = "".join(parts).strip()
        result.timings["generation_s"] = round(time.perf_counter() - t, 3)

    def demo_code(self, question: str) -> str | None:
        """The code a demo request would run (its own code block, else code found in the passages),
        so a presenter can show it before running it."""
        if route(question) != "run_python":
            return None
        box = ToolBox(self.retriever, k=self.settings.retrieval_k)
        return self._find_code(question, question, box)[0]

    def _find_code(self, question, query, box: ToolBox):
        code, source_n = extract_code(question), None
        if code is None:
            for hit in box.search_course(query):
                found = _code_in(hit.text)
                if found:
                    code, source_n = found, box.number_of(hit)
                    break
        return code, source_n

    def _run_code(self, question, query, language, box: ToolBox, result: AnswerResult):
        code, source_n = self._find_code(question, query, box)
        result.mode = "code"
        if code is None:
            result.answer = phrase("no_code", language)
            yield {"type": "token", "text": result.answer}
            return
        yield {"type": "status", "text": "running code…"}
        run = box.run_code(code)
        yield {"type": "status", "text": f"running code… {run.duration_s:.1f} s"}
        lines = [phrase("code_intro", language), f"```python\n{code}\n```"]
        if source_n:
            lines.append(phrase("code_from_passage", language, n=source_n))
        if run.stdout.strip():
            lines.append(f"```\n{run.stdout.rstrip()}\n```")
        if run.error:
            lines.append(f"**{run.error['type']}**: {run.error['message']}")
        if run.figures:
            lines.append(f"({len(run.figures)} figure(s))")
        result.answer = "\n\n".join(lines)
        yield {"type": "token", "text": result.answer}

    # -- models that call tools themselves -------------------------------------------------------
    def _tools_loop(self, question, history, language, box: ToolBox, result: AnswerResult):
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

        prompts = load_prompts()
        tools = {t.name: t for t in box.langchain_tools()}
        model = self.llm.bind_tools(list(tools.values()))
        messages = [SystemMessage(prompts["tools_system"].format(language=prompts["languages"].get(language, "English")))]
        for m in history:
            messages.append(HumanMessage(m["content"]) if m.get("role") == "user" else AIMessage(m["content"]))
        messages.append(HumanMessage(question))
        result.mode = "tools"
        t = time.perf_counter()
        for _ in range(self.settings.max_tool_steps):
            full = None
            for chunk in model.stream(messages):
                full = chunk if full is None else full + chunk
                if isinstance(chunk.content, str) and chunk.content:
                    if "first_token_s" not in result.timings:
                        result.timings["first_token_s"] = round(time.perf_counter() - t, 3)
                    yield {"type": "token", "text": chunk.content}
            if full is None:
                break
            message = AIMessage(content=full.content, tool_calls=getattr(full, "tool_calls", []) or [])
            messages.append(message)
            if not message.tool_calls:
                result.answer = message.content if isinstance(message.content, str) else str(message.content)
                break
            for call in message.tool_calls:
                tool = tools.get(call["name"])
                output = tool.invoke(call["args"]) if tool else f"unknown tool {call['name']}"
                last = box.calls[-1] if box.calls and tool else None
                yield {"type": "status", "text": f"{call['name']}… {last.summary if last else ''}"}
                messages.append(ToolMessage(content=output, tool_call_id=call["id"]))
        result.timings["generation_s"] = round(time.perf_counter() - t, 3)
        if box.passages and not self._relevant(box.passages, question):
            result.refused = True

    # -- verification and the final record ------------------------------------------------------
    def _verify_embedder(self):
        return getattr(self._retriever, "embedder", None) if self.settings.verify_with_embeddings else None

    def _finish(self, result: AnswerResult, box: ToolBox, t0: float) -> None:
        passages = box.passages
        if result.answer and passages and result.mode not in ("refusal", "code") and not result.error:
            if box.verified and box.verified[0] == result.answer:
                ver: Verification = box.verified[1]
            else:
                ver = verify(result.answer, [h.text for h in passages], self._verify_embedder())
            result.answer = ver.answer
            result.verification = {"precision": ver.precision, "recall": ver.recall, "invalid": ver.invalid,
                                   "added": ver.added, "sentences": [asdict(s) for s in ver.sentences]}
            for c in ver.citations:
                result.citations.append({
                    "n": c.n, **_where(passages[c.n - 1]),
                    "sentence_index": c.sentence_index, "score": c.score, "verdict": c.verdict, "added": c.added,
                })
        result.passages = [{"n": i, **_where(h), "text": h.text, "score": h.score, "ranks": h.ranks}
                           for i, h in enumerate(passages, start=1)]
        result.tool_calls = [asdict(c) for c in box.calls]
        for code, run in box.code_runs:
            result.code_runs.append({"code": code, "ok": run.ok, "stdout": run.stdout, "stderr": run.stderr,
                                     "error": run.error, "n_figures": len(run.figures), "limits_hit": run.limits_hit,
                                     "duration_s": run.duration_s})
            result.figures.extend(run.figures)
        result.timings["total_s"] = round(time.perf_counter() - t0, 3)


def _where(hit: Hit) -> dict:
    """What a citation and a passage record both say about where the text comes from."""
    return {"chunk_id": hit.chunk.id, "source": hit.source, "title": hit.title, "heading": hit.chunk.heading,
            "page": hit.page, "start": hit.start, "end": hit.end}


def _code_in(text: str) -> str | None:
    """A runnable code block inside a passage (slides add lines like 'python Copy code')."""
    code = extract_code(text)
    if code is None:
        return None
    lines = [line.rstrip() for line in code.splitlines()]
    for start in range(min(4, len(lines))):
        candidate = "\n".join(lines[start:]).strip()
        try:
            compile(candidate, "<passage>", "exec")
            return candidate
        except SyntaxError:
            continue
    return None
