"""The agent's tools over one turn: search_course, list_readings, run_python — as methods and as LangChain tools.

Each call is recorded on the :class:`agent.turn.Turn` (with its duration), and every passage a
tool returns is numbered there, so a model that calls the tools sees the same [n] the answer and
the page will show.
"""

from __future__ import annotations

import re
import threading
import time
import weakref

from agent.injection import WITHHELD, is_flagged, usable
from agent.policy import asks_for_a_reading
from agent.query_translation import QueryTranslator
from agent.records import ToolCall
from agent.sandbox import SandboxLimits, run_python
from agent.schedule import asked_weeks, schedule_rows, week_rows
from agent.sentences import best_sentences
from agent.turn import Turn
from common.text import detect_language, tokenize
from retrieval.types import Hit

READING_KINDS = {"reading-list", "course-overview", "slides"}
_READING_HEADINGS = re.compile(r"阅读|论文|课程大纲|课程日历|课程主题|Week|周|schedule|syllabus|reading", re.I)


def query_tokens(retriever, query: str) -> set[str]:
    """The query's BM25 tokens with their glossary translations (what retrieval searched for)."""
    tokens, expansion = retriever.bm25_tokens(query)
    return set(tokens) | set(expansion)


def searched_tokens(retriever, query: str, translation: str = "") -> set[str]:
    """What a search for ``query`` looked for: its BM25 tokens, their glossary translations and the
    words of its translation into the notes' language (agent/query_translation.py), which pick the
    sentences shown of a passage."""
    return query_tokens(retriever, query) | set(tokenize(translation))


def search_hits(retriever, query: str, k: int, translation: str = "") -> list[Hit]:
    """The retriever's best ``k`` for ``query``, with its ``translation`` into the notes' language when
    there is one (agent/query_translation.py). Retrievers without translations (tests' fakes) are
    called without them."""
    return retriever.search(query, k, translations=[translation]) if translation else retriever.search(query, k)


def is_reading(hit: Hit) -> bool:
    """Is ``hit`` from the reading list, the schedule or the syllabus (by its file's kind or its heading)?"""
    return hit.chunk.meta.get("kind") in READING_KINDS or bool(_READING_HEADINGS.search(hit.chunk.heading or ""))


# a Markdown link, its target captured: "[基础知识](#基础知识)" -> "#基础知识" (common.text's _LINK_TARGET
# matches a target or a bare address, to leave it out of prose)
_MARKDOWN_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]*)\)")


def is_contents(hit: Hit) -> bool:
    """Is ``hit`` a table of contents: three links or more, every one to a section of its own page?
    It names the list's sections, not a reading: "Which paper on the reading list treats in-context learning
    as Bayesian inference?" found the syllabus's contents first and quoted "(1) 基础知识 (2) … (3) …".

    >>> from retrieval.types import Chunk
    >>> hit = lambda text: Hit(Chunk("c", "s.md", "阅读", text, [], None, 0, len(text), "zh"), 1.0, {})
    >>> is_contents(hit("- [基础知识](#基础知识)\\n- [涌现行为](#涌现行为)\\n- [安全与隐私](#安全与隐私)"))
    True
    >>> is_contents(hit("- [基础知识](#基础知识)\\n- [涌现行为](#涌现行为)\\n- [A Generalist Agent](https://arxiv.org/abs/2205.06175)"))
    False
    >>> is_contents(hit("见 [基础知识](#基础知识) 一节。"))
    False
    """
    targets = _MARKDOWN_LINK.findall(hit.text)
    return len(targets) >= 3 and all(len(t) > 1 and t.startswith("#") for t in targets)


def contents_last(hits: list[Hit], topic: str) -> list[Hit]:
    """``hits`` in their order; when ``topic`` asks for a paper or a reading (:func:`agent.policy.asks_for_a_reading`),
    a table of contents (:func:`is_contents`) after the others: "What topics does the reading list cover?" is
    answered by the contents. Only the reading list's entries are ordered so: in the notes' search it moved one
    verdict of the eight sets' scope guard (h-zh24 declined, which the contents had covered by chance) and no
    gold passage."""
    if not asks_for_a_reading(topic):
        return hits
    return [h for h in hits if not is_contents(h)] + [h for h in hits if is_contents(h)]


def reading_hits(retriever, topic: str, k: int, translation: str = "", entries_only: bool = True) -> list[Hit]:
    """The best ``k`` chunks for ``topic`` (a subject, or "week 3" / "第3周") from the reading list, the
    schedule or the syllabus, in the search's order (its best chunks when it finds none); with
    ``entries_only`` off, the search's best ``k`` with one such entry at least (``k`` of 2 or more):
    when none of them is, the best entry takes the last place. ``translation``: the topic in the notes' language, as for
    search_course.

    For a question asking for a paper or a reading, a table of contents is an entry after all the others: it
    names sections, not readings (of the 58 reading questions of eight sets, the syllabus's opening was among
    the first four entries of 21 and held the answer of none); for one asking what the list covers it is the
    answer and stays where the search put it (a review's "What topics does the reading list cover?" lost
    it; docs/EVALUATION.md, "A reading list's table of contents").

    A question that names a paper but not the list is often answered by the notes themselves
    ("香农在哪篇论文中奠定了信息理论的基础？": the lecture notes name it, the reading list does not): the
    route strategy asks for ``entries_only`` when the question names the list (agent.policy.names_reading_list).
    Measured on the 49 stored reading questions (docs/EVALUATION.md, "Reading questions"): a quote
    cites a gold passage for 42, for 38 when every reading question kept only entries and searched
    with reading words added to the question.
    """
    query = topic
    week = re.search(r"(?:week\s*|第\s*)(\d+)", topic, re.I)
    if week:
        query += f" 第{week.group(1)}周 Week {week.group(1)}"
    if entries_only:
        found = search_hits(retriever, query, max(30, k * 4), translation)
        return contents_last([h for h in found if is_reading(h)], topic)[:k] or found[:k]
    hits = search_hits(retriever, query, k, translation)
    if k < 2 or not hits or any(is_reading(h) for h in hits):  # one passage: the search's best, the notes'
        return hits
    ids = {h.chunk.id for h in hits}
    entry = next((h for h in contents_last(search_hits(retriever, query, max(30, k * 4), translation), topic)
                  if is_reading(h) and h.chunk.id not in ids), None)
    return hits[:k - 1] + [entry] if entry else hits


_SCHEDULES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # retriever -> its schedule passages
_SCHEDULES_LOCK = threading.Lock()


def schedule_passages(retriever) -> list[Hit]:
    """Every passage of ``retriever``'s index holding a schedule row (agent.schedule.schedule_rows), in the
    index's order, less those flagged (agent/injection.py: never quoted); read once per loaded index (a new
    ingest loads a new retriever). A retriever without its chunks at hand (tests' fakes) has none.

    >>> from retrieval.types import Chunk
    >>> class Index: chunks = [Chunk("a", "s.pdf", "S", "3\\t2024/03/07\\tLanguage Models", [], None, 0, 9, "en"),
    ...                        Chunk("b", "n.md", "N", "语言模型是概率分布。", [], None, 0, 9, "zh")]
    >>> [h.chunk.id for h in schedule_passages(Index())]
    ['a']
    """
    try:
        with _SCHEDULES_LOCK:
            found = _SCHEDULES.get(retriever)
    except TypeError:  # not weakly referable: read each time
        found = None
    if found is None:
        found = usable([Hit(chunk, 0.0, {}) for chunk in getattr(retriever, "chunks", ()) or ()
                        if schedule_rows(chunk.text)])
        try:
            with _SCHEDULES_LOCK:
                _SCHEDULES[retriever] = found
        except TypeError:
            pass
    return found


class CourseTools:
    """The tools of one turn: ``retriever`` searches, ``sandbox_limits`` bound the code demos."""

    def __init__(self, turn: Turn, retriever, sandbox_limits: SandboxLimits, prompt_chars: int | None = None,
                 translator: QueryTranslator | None = None):
        self.turn = turn
        self.retriever = retriever
        self.sandbox_limits = sandbox_limits
        self.prompt_chars = prompt_chars  # passage characters one tool result may hold (None: whole passages)
        self.translator = translator  # the query in the notes' language, for BM25 (None: never)

    def translation(self, query: str) -> str:
        """``query`` in the notes' language ('' when not needed or not made), once per query per turn."""
        if self.translator is None:
            return ""
        if query not in self.turn.translations:
            if not self.will_translate(query):  # in the notes' language, or no words: no call
                self.turn.translations[query] = ""
                return ""
            t0 = time.perf_counter()
            self.turn.translations[query] = self.translator.translate(query, detect_language(query))
            self.turn.timings["query_translation_s"] = round(
                self.turn.timings.get("query_translation_s", 0.0) + time.perf_counter() - t0, 3)
        return self.turn.translations[query]

    def will_translate(self, query: str) -> bool:
        """Will :meth:`search_course` ask the model to translate ``query`` first (about a second with the
        0.5B model on 2 cores: worth a status line)?"""
        return (self.translator is not None and query not in self.turn.translations
                and self.translator.target_for(query, detect_language(query)) is not None)

    def _record(self, name: str, args: dict, summary: str, t0: float) -> None:
        self.turn.calls.append(ToolCall(name=name, args=args, summary=summary,
                                        duration_s=round(time.perf_counter() - t0, 3)))

    def search_course(self, query: str, k: int | None = None) -> list[Hit]:
        t0 = time.perf_counter()
        k = k or self.turn.options.k
        translation = self.translation(query)
        hits = search_hits(self.retriever, query, k, translation)
        for hit in hits:
            self.turn.number_of(hit)
        args = {"query": query, "k": k, **({"translation": translation} if translation else {})}
        self._record("search_course", args, f"{len(hits)} passages", t0)
        return hits

    def list_readings(self, topic: str, k: int | None = None, entries_only: bool = True) -> list[Hit]:
        """Reading-list and schedule chunks about ``topic`` (a subject, or "week 3" / "第3周"); with
        ``entries_only`` off, the best chunks with one such entry at least (:func:`reading_hits`)."""
        t0 = time.perf_counter()
        translation = self.translation(topic)
        hits = reading_hits(self.retriever, topic, k or self.turn.options.k, translation, entries_only)
        for hit in hits:
            self.turn.number_of(hit)
        args = {"topic": topic, **({"translation": translation} if translation else {})}
        self._record("list_readings", args, f"{len(hits)} passages", t0)
        return hits

    def week_rows(self, question: str, asked: str | None = None) -> list[tuple[Hit, str]]:
        """The schedule rows of the week ``question`` names by number, from every schedule of the index
        (agent.schedule.week_rows: "第9周讲什么？"); [] for a question naming no week or asking more than
        a row says; ``asked``: the student's own message when ``question`` joins a follow-up to the question before.
        Recorded as a call of ``schedule`` when it finds rows; each row's passage is numbered."""
        if not asked_weeks(question if asked is None else asked):
            return []  # no week named: the index's schedules are not read (the route asks this of every question)
        t0 = time.perf_counter()
        rows = week_rows(question, schedule_passages(self.retriever), getattr(self.retriever, "glossary", None), asked)
        if rows:
            for hit, _ in rows:
                self.turn.number_of(hit)
            self._record("schedule", {"question": question}, f"{len(rows)} row(s)", t0)
        return rows

    def run_python(self, code: str):
        t0 = time.perf_counter()
        result = run_python(code, self.sandbox_limits)
        self.turn.record_code_run(code, result)
        state = "ok" if result.ok else f"{result.error['type']}"
        self._record("run_python", {"code": code}, f"{state}, {len(result.figures)} figure(s)", t0)
        return result

    # -- LangChain tools for models that call tools themselves ---------------------------------
    def numbered(self, hits: list[Hit], query: str = "") -> str:
        """Passages as a tool result: each under its [n], title, page and heading. Within the
        ``prompt_chars`` budget each passage gives its sentences that best match ``query`` (a model
        on a CPU reads a 2,000-character tool result for ~10 s before its first word)."""
        lines = []
        per = max(80, self.prompt_chars // max(1, len(hits))) if self.prompt_chars else None
        tokens = None
        for hit in hits:
            n = self.turn.number_of(hit)
            page = f", p. {hit.page}" if hit.page else ""
            text = hit.text
            if is_flagged(text):
                text = WITHHELD  # never shown to the model
            elif per and len(text) > per:
                if tokens is None:
                    tokens = searched_tokens(self.retriever, query, self.turn.translations.get(query, ""))
                text = " ".join(best_sentences(hit, tokens, per, query).split())
            lines.append(f"[{n}] {hit.title}{page} — {hit.heading or ''}\n{text}")
        return "\n\n".join(lines) if lines else "No passages found."

    def langchain_tools(self) -> list:
        from langchain_core.tools import tool

        tools = self

        @tool
        def search_course(query: str, k: int = 5) -> str:
            """Search the course notes and slides for the student's question. query: the question itself, in its own words. Returns numbered passages."""
            k = min(max(1, int(k)), tools.turn.options.k)  # the model may not widen the user's k
            return tools.numbered(tools.search_course(query, k), query)

        @tool
        def list_readings(topic: str) -> str:
            """Only when the student asks what to read or about the schedule: reading-list and schedule passages. topic: the subject or the week asked about."""
            return tools.numbered(tools.list_readings(topic), topic)

        @tool
        def run_python(code: str) -> str:
            """Only when the student asks to run code: run the Python code (numpy and matplotlib available) and return its output."""
            result = tools.run_python(code)
            parts = [f"ok: {result.ok}", f"stdout:\n{result.stdout}"]
            if result.error:
                parts.append(f"error: {result.error['type']}: {result.error['message']}")
            parts.append(f"figures: {len(result.figures)}")
            return "\n".join(parts)

        return [search_course, list_readings, run_python]
