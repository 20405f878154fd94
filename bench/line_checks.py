"""What each deterministic line check refuses among the 322 labelled translated lines.

    python bench/line_checks.py            # a second, no model
    python bench/line_checks.py --no-save

tests/data/translated_lines.jsonl holds lines the 0.5B writer translated for dev and dev2, read by
hand as ``right`` or wrong (bench/line_likeness.py says how). For each check a translated line must
pass — its numbers (agent.line_translation.keeps_numbers), its days and months
(agent.dates.keeps_calendar), no negation or direction its source lacks (agent.polarity), the
addresses and secret words of its source (agent.citations.SupportScorer._holds_its_addresses), no
clause of its own (``_has_a_clause_of_its_own``, same language only), no name its source lacks
(agent.line_translation.new_names, without the glossary) — it counts the right and
the wrong lines refused. The lines are logged cut (sources at 120, translations at 160
characters), so a refusal can be the cut's. The last line is one JSON object, also appended to
bench/results/line_checks.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from agent.citations import SupportScorer
    from agent.dates import keeps_calendar
    from agent.line_translation import keeps_numbers, new_names
    from agent.polarity import contradiction

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    checks = {
        "numbers": lambda s, t: keeps_numbers(s, t),
        "days and months": lambda s, t: keeps_calendar(s, t),
        "negation / direction": lambda s, t: contradiction(t, s) is None,
        "addresses and secret words": lambda s, t: SupportScorer([s])._holds_its_addresses(t, [0]),
        "no clause of its own": lambda s, t: not SupportScorer([s])._has_a_clause_of_its_own(t, [0]),
        "no name its line lacks": lambda s, t: not new_names(s, t),
    }
    rows = [json.loads(line) for line in open(Path(__file__).resolve().parent.parent / "tests" / "data"
                                              / "translated_lines.jsonl", encoding="utf-8")]
    right = sum(r["right"] for r in rows)
    out = {}
    print(f"{len(rows)} lines, {right} right, {len(rows) - right} wrong")
    for name, passes in checks.items():
        refused = [r for r in rows if not passes(r["source"], r["translation"])]
        out[name] = {"right_refused": sum(r["right"] for r in refused), "wrong_refused": sum(not r["right"] for r in refused)}
        print(f"{name:28s} refuses {out[name]['right_refused']:3d} right, {out[name]['wrong_refused']:3d} wrong")
    report("line_checks", {"lines": len(rows), "right": right, "refused": out}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
