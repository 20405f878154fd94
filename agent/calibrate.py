"""Choose the scope guard's thresholds: ``python -m agent.calibrate --tune SET... [--report SET...]``.

For every question of the sets it retrieves what the route strategy would (agent/strategies/route.py:
a reading-list question gets agent.tools.reading_hits and, when it names the list and the entries do
not cover it, the notes'; a demo request with its own code block and a question a schedule row of the
week it names answers, agent.schedule.week_rows, are never guarded) and records the guard's three signals for each
set of hits (agent/relevance.py): the share of the question's words a top passage holds, the best
BM25 score and the calibrated similarity of the closest top-passage sentence; when the configured
chat model translates questions for the search (``query_translation``; agent/query_translation.py),
the notes are searched with the translation, as the agent does, and the translation's similarity
is the fourth signal. Then it tries every
threshold combination of a fixed grid and prints, for each out-of-corpus-declined rate reached on
the *tune* sets, the combination that declines the fewest in-corpus questions there (of equals, the
strictest: the largest thresholds), with what that combination does on the *report* sets
(held-out: only reported, never chosen on). The current settings' line comes last.

>>> rows = [Signals("a", "tune", "zh", True, (Try(0.6, 5.0, 1.3),)), Signals("b", "tune", "zh", False, (Try(0.2, 2.0, 0.9),))]
>>> declined(rows, Calibration(0.5, 0.3, 3.0, 1.0, 0.2, 1.2, 0.7))
(0.0, 1.0)
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import NamedTuple

from agent.relevance import CALIBRATED, Calibration, GuardSignals, calibration, decide, guard_signals, unknown_terms
from agent.pasted_code import question_code
from agent.policy import names_reading_list, route
from agent.semantic import Semantics
from agent.schedule import week_rows
from agent.tools import reading_hits, schedule_passages, search_hits
from common.text import detect_language
from retrieval.eval import load_qa

GRID = {
    "coverage": (0.4, 0.5, 0.6),
    "min_coverage": (0.15, 0.2, 0.25, 0.3),
    "bm25": (2.0, 3.0, 4.0, 5.0),
    "min_zh": (0.9, 1.0, 1.05, 1.1),
    "min_en": (0.2, 0.3, 0.4, 0.5),
    "high_zh": (1.1, 1.15, 1.2, 1.25, float("inf")),
    "high_en": (0.6, 0.65, 0.7, 0.8, float("inf")),
    "high_translated": (1.1, 1.15, 1.2, 1.25, 1.3, float("inf")),
    "number": (float("-inf"), 1.1, 1.15, 1.2, 1.25),
}


Try = GuardSignals  # the guard's signals over one set of hits


class Signals(NamedTuple):
    id: str
    set: str  # "tune" or "report"
    lang: str  # the question's, as the guard detects it
    in_corpus: bool
    tries: tuple[Try, ...]  # covered when any is; none: the guard is not asked (a demo with its code)


def covered(row: Signals, cal: Calibration) -> bool:
    """agent.relevance.is_covered's decision from recorded signals, over the route's tries."""
    return not row.tries or any(decide(t.coverage, t.bm25, t.closeness, row.lang, cal, t.translated, t.unknown,
                                       t.number, t.number_translated, t.other_language, t.schedule_row)
                                for t in row.tries)


def declined(rows: list[Signals], cal: Calibration) -> tuple[float, float]:
    """(share of in-corpus questions declined, share of out-of-corpus ones declined)."""
    inside = [r for r in rows if r.in_corpus]
    outside = [r for r in rows if not r.in_corpus]
    share = lambda group: round(sum(not covered(r, cal) for r in group) / len(group), 3) if group else 0.0
    return share(inside), share(outside)


def signals(retriever, items: list[dict], which: str, k: int, translator=None, named_terms: bool = True,
            numbers: bool = True) -> list[Signals]:
    """The guard's signals for each question, over what the route strategy retrieves; with a
    ``translator`` (agent/query_translation.py: the configured chat model translates questions), the
    notes are searched with the question's translation and its closeness is recorded, as the agent does;
    with ``named_terms`` (the ``relevance_named_terms`` setting), the names the notes never mention;
    with ``numbers`` (``relevance_number_check``), a number asked."""
    semantics = Semantics.of(retriever.embedder)
    vocabulary = retriever.term_forms() if named_terms else None

    def signals_of(question: str, hits, translation: str = "") -> Try:
        return guard_signals(hits, question, retriever.glossary, semantics, translation,
                             unknown_terms(question, vocabulary), numbers,
                             retriever.document_frequency)

    def searched(question: str, tool: str) -> tuple[Try, ...]:
        translation = translator.translate(question, detect_language(question)) if translator else ""

        def notes() -> Try:  # made only where the route searches the notes
            return signals_of(question, search_hits(retriever, question, k, translation), translation)

        if tool != "list_readings":
            return (notes(),)
        entries_only = names_reading_list(question)
        tries = (signals_of(question, reading_hits(retriever, question, k, translation, entries_only), translation),)
        # the reading list's entries not covering it, the notes are searched
        return tries + (notes(),) if entries_only else tries

    schedule = schedule_passages(retriever)
    rows = []
    for item in items:
        question = item["question"]
        tool = route(question)
        if tool in ("run_python", "show_code") and question_code(question) is not None:
            tries = ()
        elif week_rows(question, schedule, retriever.glossary):  # "第9周讲什么？": the week's row, unguarded
            tries = ()
        else:
            tries = searched(question, tool)
        rows.append(Signals(id=item["id"], set=which, lang=detect_language(question),
                            in_corpus=bool(item.get("answer_contains")), tries=tries))
    return rows


def frontier(rows: list[Signals], grid: dict[str, tuple[float, ...]] = GRID) -> list[tuple[float, float, Calibration, int]]:
    """For each out-of-corpus-declined rate on the tune rows: the fewest in-corpus declines, and how
    (of combinations that tie, the one with the largest thresholds, compared in field order), and how
    many combinations tie: the data does not choose between those."""
    tune = [r for r in rows if r.set == "tune"]
    best: dict[float, tuple[float, Calibration, int]] = {}
    for values in itertools.product(*grid.values()):
        cal = Calibration(*values)
        inside, outside = declined(tune, cal)
        fewest, chosen, ties = best.get(outside, (float("inf"), None, 0))
        if inside < fewest:
            best[outside] = (inside, cal, 1)
        elif inside == fewest:
            best[outside] = (inside, max(cal, chosen), ties + 1)  # of equals, the strictest
    return [(outside, inside, cal, ties) for outside, (inside, cal, ties) in sorted(best.items())]


def main(argv: list[str] | None = None) -> int:
    from agent.llm import get_chat_model
    from agent.query_translation import query_translator
    from retrieval.search import Retriever
    from settings import get_settings

    p = argparse.ArgumentParser(prog="python -m agent.calibrate", description=__doc__.splitlines()[0])
    p.add_argument("--tune", nargs="+", type=Path, required=True, help="question sets the thresholds are chosen on")
    p.add_argument("--report", nargs="*", type=Path, default=[], help="question sets only reported (held-out)")
    p.add_argument("--k", type=int, default=None, help="passages per question (default: the retrieval_k setting)")
    p.add_argument("--only", nargs="+", choices=list(GRID), default=None,
                   help="vary only these thresholds; the others stay at the current settings' values")
    args = p.parse_args(argv)
    settings = get_settings()
    retriever = Retriever.load(settings.retrieval)
    k = args.k or settings.agent.retrieval_k
    translator = None
    if settings.agent.query_translation != "off":
        backend = get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
        translator = query_translator(settings.agent, backend, retriever)
    rows = [r for which, paths in (("tune", args.tune), ("report", args.report))
            for path in paths for r in signals(retriever, load_qa(path), which, k, translator,
                                                settings.agent.relevance_named_terms,
                                                settings.agent.relevance_number_check)]
    report = [r for r in rows if r.set == "report"]
    current = calibration(settings.agent, retriever.embedder.name, Semantics.of(retriever.embedder).cross_lingual)
    grid = {f: (GRID[f] if args.only is None or f in args.only else (getattr(current, f),)) for f in GRID}
    fmt = lambda pair: f"in-corpus declined {pair[0]:.3f}, out-of-corpus declined {pair[1]:.3f}"
    print(f"embedder {retriever.embedder.name}; questions translated for the search: "
          f"{sum(t.translated is not None for r in rows for t in r.tries)} ({settings.agent.llm}); "
          f"{sum(r.set == 'tune' for r in rows)} tune questions, "
          f"{len(report)} report questions; grid of {len(list(itertools.product(*grid.values())))}")
    for outside, inside, cal, ties in frontier(rows, grid):
        line = f"tune: in-corpus declined {inside:.3f}, out-of-corpus declined {outside:.3f} | {tuple(cal)} ({ties} tie)"
        print(line + (f" | report: {fmt(declined(report, cal))}" if report else ""))
    tune = [r for r in rows if r.set == "tune"]
    print(f"current {tuple(current)}{' (calibrated for this embedder)' if retriever.embedder.name in CALIBRATED else ''}: "
          f"tune: {fmt(declined(tune, current))}" + (f" | report: {fmt(declined(report, current))}" if report else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
