"""Choose the scope guard's thresholds: ``python -m agent.calibrate --tune SET... [--report SET...]``.

For every question of the sets it retrieves what the route strategy would (agent/strategies/route.py:
a reading-list question gets the reading-list hits and, should those not cover it, the notes'; a demo
request with its own code block is never guarded) and records the guard's three signals for each
set of hits (agent/relevance.py): the share of the question's words a top passage holds, the best
BM25 score and the calibrated similarity of the closest top-passage sentence. Then it tries every
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

from agent.relevance import CALIBRATED, Calibration, calibration, coverage, decide, semantic_closeness
from agent.policy import extract_code, route
from agent.semantic import Semantics
from agent.tools import reading_hits
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
}


class Try(NamedTuple):
    """The guard's signals over one set of hits."""

    coverage: float
    bm25: float
    closeness: float | None


class Signals(NamedTuple):
    id: str
    set: str  # "tune" or "report"
    lang: str  # the question's, as the guard detects it
    in_corpus: bool
    tries: tuple[Try, ...]  # covered when any is; none: the guard is not asked (a demo with its code)


def covered(row: Signals, cal: Calibration) -> bool:
    """agent.relevance.is_covered's decision from recorded signals, over the route's tries."""
    return not row.tries or any(decide(t.coverage, t.bm25, t.closeness, row.lang, cal) for t in row.tries)


def declined(rows: list[Signals], cal: Calibration) -> tuple[float, float]:
    """(share of in-corpus questions declined, share of out-of-corpus ones declined)."""
    inside = [r for r in rows if r.in_corpus]
    outside = [r for r in rows if not r.in_corpus]
    share = lambda group: round(sum(not covered(r, cal) for r in group) / len(group), 3) if group else 0.0
    return share(inside), share(outside)


def signals(retriever, items: list[dict], which: str, k: int) -> list[Signals]:
    semantics = Semantics.of(retriever.embedder)

    def signals_of(question: str, hits) -> Try:
        return Try(
            coverage=coverage(question, [h.chunk.indexed_text() for h in hits], retriever.glossary),
            bm25=max(((h.scores.get("bm25") or 0.0) for h in hits), default=0.0),
            closeness=semantic_closeness(question, [h.text for h in hits[:3]], semantics) if semantics.cross_lingual else None,
        )

    rows = []
    for item in items:
        question = item["question"]
        tool = route(question)
        if tool in ("run_python", "show_code") and extract_code(question) is not None:
            tries = ()
        else:
            tries = (signals_of(question, retriever.search(question, k)),)
            if tool == "list_readings":
                tries = (signals_of(question, reading_hits(retriever, question, k)),) + tries
        rows.append(Signals(id=item["id"], set=which, lang=detect_language(question),
                            in_corpus=bool(item.get("answer_contains")), tries=tries))
    return rows


def frontier(rows: list[Signals]) -> list[tuple[float, float, Calibration, int]]:
    """For each out-of-corpus-declined rate on the tune rows: the fewest in-corpus declines, and how
    (of combinations that tie, the one with the largest thresholds, compared in field order), and how
    many combinations tie: the data does not choose between those."""
    tune = [r for r in rows if r.set == "tune"]
    best: dict[float, tuple[float, Calibration, int]] = {}
    for values in itertools.product(*GRID.values()):
        cal = Calibration(*values)
        inside, outside = declined(tune, cal)
        fewest, chosen, ties = best.get(outside, (float("inf"), None, 0))
        if inside < fewest:
            best[outside] = (inside, cal, 1)
        elif inside == fewest:
            best[outside] = (inside, max(cal, chosen), ties + 1)  # of equals, the strictest
    return [(outside, inside, cal, ties) for outside, (inside, cal, ties) in sorted(best.items())]


def main(argv: list[str] | None = None) -> int:
    from retrieval.search import Retriever
    from settings import get_settings

    p = argparse.ArgumentParser(prog="python -m agent.calibrate", description=__doc__.splitlines()[0])
    p.add_argument("--tune", nargs="+", type=Path, required=True, help="question sets the thresholds are chosen on")
    p.add_argument("--report", nargs="*", type=Path, default=[], help="question sets only reported (held-out)")
    p.add_argument("--k", type=int, default=None, help="passages per question (default: the retrieval_k setting)")
    args = p.parse_args(argv)
    settings = get_settings()
    retriever = Retriever.load(settings.retrieval)
    k = args.k or settings.agent.retrieval_k
    rows = [r for which, paths in (("tune", args.tune), ("report", args.report))
            for path in paths for r in signals(retriever, load_qa(path), which, k)]
    report = [r for r in rows if r.set == "report"]
    fmt = lambda pair: f"in-corpus declined {pair[0]:.3f}, out-of-corpus declined {pair[1]:.3f}"
    print(f"embedder {retriever.embedder.name}; {sum(r.set == 'tune' for r in rows)} tune questions, "
          f"{len(report)} report questions; grid of {len(list(itertools.product(*GRID.values())))}")
    for outside, inside, cal, ties in frontier(rows):
        line = f"tune: in-corpus declined {inside:.3f}, out-of-corpus declined {outside:.3f} | {tuple(cal)} ({ties} tie)"
        print(line + (f" | report: {fmt(declined(report, cal))}" if report else ""))
    current = calibration(settings.agent, retriever.embedder.name, Semantics.of(retriever.embedder).cross_lingual)
    tune = [r for r in rows if r.set == "tune"]
    print(f"current {tuple(current)}{' (calibrated for this embedder)' if retriever.embedder.name in CALIBRATED else ''}: "
          f"tune: {fmt(declined(tune, current))}" + (f" | report: {fmt(declined(report, current))}" if report else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
