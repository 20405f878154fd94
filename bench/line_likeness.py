"""How well does "alike to its own source line" tell a right translated line from a wrong one?

    python bench/line_likeness.py                    # the labelled lines of dev and dev2, ~1 min
    python bench/line_likeness.py --thresholds 0.8 0.85 0.9
    python bench/line_likeness.py --smoke            # CI-sized: hash embedder, 20 lines per set; not saved

The 0.5B writer translates a quote line by line (agent/line_translation.py); each translated line
is shown only when it passes the check. tests/data/translated_lines.jsonl holds 322 lines the
model wrote for the English and cross-lingual questions of dev (154) and dev2 (168), read by hand:
``right`` when the line says what its source line says (a loose or clumsy translation counts, a
translation of another line, a made-up or a cut-off one does not); ``passed_without_likeness``
when it passed the rest of the check (its language, its numbers, its passage). Source lines are
cut at 120 characters and translations at 160, as a scratch script logged them.

For each threshold it reports the lines that would be shown (passed the rest and are at least
that alike, on agent.semantic's calibrated scale, with the configured embedder) split into right
and wrong, and the right lines lost. The threshold was chosen on dev alone
(route.LINE_LIKENESS); dev2 is the check. The last line is one JSON object, also appended to
bench/results/line_likeness.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent.core  # noqa: E402,F401 - settings import order (settings reads agent's defaults)
from agent.semantic import Semantics  # noqa: E402
from agent.strategies.route import LINE_LIKENESS  # noqa: E402
from bench.common import report  # noqa: E402
from retrieval.embedders import get_embedder  # noqa: E402
from retrieval.search import Retriever  # noqa: E402
from settings import get_settings  # noqa: E402

LINES = Path(__file__).resolve().parent.parent / "tests" / "data" / "translated_lines.jsonl"


def tally(rows: list[dict], likeness: list[float], threshold: float | None) -> dict:
    """Shown right / wrong lines and right lines lost, with the likeness test at ``threshold``
    (``None``: without it).

    >>> rows = [{"right": True, "passed_without_likeness": True}, {"right": False, "passed_without_likeness": True}]
    >>> tally(rows, [1.2, 0.3], None), tally(rows, [1.2, 0.3], 0.85)
    ({'shown_right': 1, 'shown_wrong': 1, 'right_lost': 0}, {'shown_right': 1, 'shown_wrong': 0, 'right_lost': 0})
    """
    shown = [r["passed_without_likeness"] and (threshold is None or s >= threshold) for r, s in zip(rows, likeness)]
    return {"shown_right": sum(1 for r, s in zip(rows, shown) if s and r["right"]),
            "shown_wrong": sum(1 for r, s in zip(rows, shown) if s and not r["right"]),
            "right_lost": sum(1 for r, s in zip(rows, shown) if r["passed_without_likeness"] and r["right"] and not s)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.7, 0.8, LINE_LIKENESS, 0.9, 1.0])
    ap.add_argument("--smoke", action="store_true", help="hash embedder, the first 20 lines of each set, not saved")
    args = ap.parse_args()
    rows = [json.loads(line) for line in LINES.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.smoke:
        rows = [r for name in dict.fromkeys(r["set"] for r in rows) for r in [x for x in rows if x["set"] == name][:20]]
        name, embedder = "hash:64", get_embedder("hash:64")
    else:  # the index's own embedder, as the agent judges lines with it
        name, embedder = get_settings().retrieval.embedder, Retriever.load(get_settings().retrieval).embedder
    semantics = Semantics.of(embedder)
    likeness = [semantics.similarity(r["translation"] or " ", r["source"]) for r in rows]
    result: dict = {"embedder": name, "line_likeness": LINE_LIKENESS, "sets": {}}
    for name in sorted({r["set"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["set"] == name]
        part, sims = [rows[i] for i in idx], [likeness[i] for i in idx]
        result["sets"][name] = {"lines": len(part), "right": sum(r["right"] for r in part),
                                "without": tally(part, sims, None),
                                **{f"at_{t:g}": tally(part, sims, t) for t in args.thresholds}}
        print(f"{name}: {len(part)} lines, without the test {result['sets'][name]['without']}")
        for t in args.thresholds:
            print(f"  at {t:g}: {result['sets'][name][f'at_{t:g}']}")
    report("line_likeness", result, save=not args.smoke)


if __name__ == "__main__":
    main()
