"""Does the scope guard decline an off-topic follow-up and keep an in-course one?

    python bench/follow_up_guard.py            # 34 follow-ups, the default settings (~6 min on 2 cores)
    python bench/follow_up_guard.py --limit 4  # a smoke run

tests/data/followups.jsonl holds 34 follow-ups, each after an earlier question (``prev``): 12 the
notes answer ("那香农的实验呢？" after "什么是语言模型？"; ``"in": true``), 20 they do not (``false``):
14 off-topic ones modelled on the dev set's out-of-corpus questions ("And who won the 2018 World
Cup?" after "What is perplexity?") and 6 on course topics the notes never cover ("那它和top-p有什么
区别？" after "什么是温度参数？"), and 2 unclear (``null``: the notes only name the topic; counted
apart). tests/data/followups_heldout.jsonl (``--set``) holds 40 more, written by a helper who saw
neither the set above nor the code (20 answerable, each with the notes' words that answer it, 18
not, 2 unclear): the rule was not changed after its run. Each is asked through ``Agent.stream`` with the previous question and a placeholder
answer as its history, as the chat page asks it; reported: how many of each kind were declined, and
per question (``--verbose``) the query searched and whether the guard judged it alone too
(``agent.policy.has_own_topic``). The last line is one JSON object, also appended to
bench/results/follow_up_guard.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "data" / "followups.jsonl"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=PAIRS, help="the follow-ups (JSON lines: prev, q, in)")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N of each label")
    parser.add_argument("--verbose", action="store_true", help="print one line per follow-up")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    from agent.core import Agent
    from agent.events import Done
    from agent.policy import has_own_topic
    from settings import load_settings

    settings = load_settings()
    agent = Agent.from_settings(settings)
    rows = [json.loads(line) for line in args.set.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.limit:
        rows = [r for label in (True, False, None) for r in [x for x in rows if x["in"] is label][: args.limit]]
    declined = {True: [], False: [], None: []}
    t0 = time.perf_counter()
    for row in rows:
        history = [{"role": "user", "content": row["prev"]}, {"role": "assistant", "content": "…"}]
        answer = next(e.answer for e in agent.stream(row["q"], history) if isinstance(e, Done))
        if answer.refused:
            declined[row["in"]].append(row["q"])
        if args.verbose:
            print(json.dumps({"in": row["in"], "refused": answer.refused, "alone": has_own_topic(row["q"], [row["prev"]]),
                              "query": answer.query}, ensure_ascii=False), flush=True)
    count = {label: sum(r["in"] is label for r in rows) for label in (True, False, None)}
    report("follow_up_guard", {
        "set": args.set.name, "llm": settings.agent.llm, "embedder": settings.retrieval.embedder,
        "in_course_declined": f"{len(declined[True])}/{count[True]}",
        "not_covered_declined": f"{len(declined[False])}/{count[False]}",
        "unclear_declined": f"{len(declined[None])}/{count[None]}",
        "in_course_declined_questions": declined[True],
        "not_covered_answered": [r["q"] for r in rows if r["in"] is False and r["q"] not in declined[False]],
        "seconds": round(time.perf_counter() - t0, 1),
    }, save=not args.no_save)


if __name__ == "__main__":
    main()
