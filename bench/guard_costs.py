"""What two of the hostile-input guards cost on 2 cores: the Citation check at a student's limit, and
reading a PDF's text in a child process (``pdf_timeout_s``) instead of in the app's.

    python bench/guard_costs.py
    python bench/guard_costs.py --no-save

- citation check: ``agent.citations.verify`` of an answer at pages/1_Citation_check.py's limits
  (4,000 characters, ~80 sentences, each citing one of 20 passages of 1,000 characters), 3 runs, p50;
- PDF: the course's slides (corpus/cs2916/lecture01-introduction.pdf, 30 pages) read in this
  process (warm: pypdf imported) and through ``retrieval.loaders.read_pdf`` with a timeout (a child
  ``python -m retrieval.pdf_text``), 5 runs each, p50.
The last line is one JSON object, also appended to bench/results/guard_costs.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _p50(work, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    from agent.citations import verify
    from retrieval.loaders import _read_pdf, read_pdf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    source = (REPO / "pages" / "1_Citation_check.py").read_text(encoding="utf-8")
    # the page's constants, read from its source (importing a page would run it)
    limits = {name: int(source.split(f"{name} = ")[1].split()[0].replace("_", ""))
              for name in ("MAX_ANSWER_CHARS", "MAX_PASSAGES", "MAX_PASSAGES_CHARS")}
    n = limits["MAX_PASSAGES"]
    per = limits["MAX_PASSAGES_CHARS"] // n
    passages = [(("Temperature controls the randomness of sampling in passage %d. " % j) * 40)[:per] for j in range(n)]
    answer = " ".join(f"Claim number {i} about temperature sampling [{i % n + 1}]." for i in range(400))
    answer = answer[:limits["MAX_ANSWER_CHARS"]]
    check_s = _p50(lambda: verify(answer, passages, repair=False), 3)
    pdf = (REPO / "corpus" / "cs2916" / "lecture01-introduction.pdf").read_bytes()
    _read_pdf(pdf)  # pypdf imported
    in_process_s = _p50(lambda: _read_pdf(pdf), 5)
    child_s = _p50(lambda: read_pdf(pdf, None, 60), 5)
    print(f"citation check at the limit ({len(answer)} characters, {n} x {per}): {check_s} s p50")
    print(f"the course PDF: {in_process_s} s in process, {child_s} s in a child (p50)")
    report("guard_costs", {"limits": limits, "citation_check_s_p50": check_s,
                           "pdf_in_process_s_p50": in_process_s, "pdf_child_s_p50": child_s}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
