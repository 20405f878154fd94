"""The schedule's week lookup (agent.schedule.week_rows) on the three hostile reviews' questions.

    python bench/week_rows.py

`tests/data/week_reviews.jsonl` holds the questions of the three reviews of 2026-12-07 (docs/EVALUATION.md,
"A week named by number"): ``expect`` is the text of the row that answers it (every string must be in the rows
found) or ``NOT_ROW`` (no row may be found); ``history`` the student's earlier messages, read as the route
strategy reads them (agent.strategies.route._with_context, agent.policy.standalone_query). This scores the
lookup alone, over the index's schedule passages (agent.tools.schedule_passages) with the configured glossary:
no search, no model. What a question that falls back gets (the search's answer) is not scored here, and a
row question that falls back counts as missed. The reviews' end-to-end runs used the agent and are
described in docs/EVALUATION.md. Per review: row questions found, must-not questions kept from a row, and
each miss. The last line is one JSON object, also appended to bench/results/week_rows.jsonl.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import DATA  # noqa: E402


def main() -> int:
    from agent.policy import standalone_query
    from agent.schedule import week_rows
    from agent.strategies.route import _with_context
    from agent.tools import schedule_passages
    from retrieval.search import Retriever
    from settings import get_settings

    retriever = Retriever.load(get_settings().retrieval)
    passages = schedule_passages(retriever)
    counts: dict[str, dict[str, list[int]]] = {}
    for line in open(DATA / "week_reviews.jsonl", encoding="utf-8"):
        q = json.loads(line)
        turn = SimpleNamespace(question=q["question"], query=standalone_query(q["question"], q["history"]),
                               previous_questions=q["history"])
        rows = "\n".join(row for _, row in week_rows(_with_context(turn), passages, retriever.glossary,
                                                     asked=q["question"]))
        kind = "must_not" if q["expect"] == "NOT_ROW" else "row"
        good = not rows if kind == "must_not" else all(e in rows for e in q["expect"])
        tally = counts.setdefault(q["review"], {}).setdefault(kind, [0, 0])
        tally[0] += good
        tally[1] += 1
        if not good:
            print(f"miss {q['id']} ({kind}): {q['question']!r} -> {rows.splitlines() or 'no row'}")
    for review, kinds in counts.items():
        print(review, ", ".join(f"{kind} {a}/{n}" for kind, (a, n) in kinds.items()))
    report("week_rows", {"reviews": {r: {k: f"{a}/{n}" for k, (a, n) in kinds.items()} for r, kinds in counts.items()}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
