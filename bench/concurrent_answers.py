"""Several students asking at once, through one app process's agent (as app.py shares it).

    python bench/concurrent_answers.py                      # the configured defaults, 1 / 2 / 4 students
    python bench/concurrent_answers.py --students 1 3       # other crowd sizes
    python bench/concurrent_answers.py --english            # English questions only: every answer generated
    python bench/concurrent_answers.py --smoke              # CI-sized: hash embedder, local:bundled, 2 students

For each crowd size N, N threads each ask one dev question at the same moment (a barrier), all
through the same ``Agent`` (the app keeps one per process), in the default answer mode. Reported per
N: every answer completed without an error (``completed``), the time from the question to the first
streamed token and to the whole answer (p50 / max over the N students), and the wall time for all N.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.events import Done, Token  # noqa: E402
from bench.common import percentile, report  # noqa: E402


def ask(agent, question: str, start: threading.Barrier, out: list, i: int) -> None:
    start.wait()
    t0 = time.perf_counter()
    first, answer = None, None
    try:
        for event in agent.stream(question):
            if isinstance(event, Token) and event.text and first is None:
                first = time.perf_counter() - t0
            elif isinstance(event, Done):
                answer = event.answer
    finally:
        out[i] = {"first_s": first, "total_s": time.perf_counter() - t0,
                  "ok": answer is not None and answer.error is None and bool(answer.answer.strip()),
                  "mode": answer.mode if answer is not None else None}


def crowd(agent, questions: list[str]) -> dict:
    n = len(questions)
    out: list = [None] * n
    start = threading.Barrier(n)
    threads = [threading.Thread(target=ask, args=(agent, q, start, out, i)) for i, q in enumerate(questions)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    firsts = [r["first_s"] for r in out if r and r["first_s"] is not None]
    totals = [r["total_s"] for r in out if r]
    return {"students": n, "completed": sum(1 for r in out if r and r["ok"]), "wall_s": round(wall, 2),
            "first_s_p50": round(percentile(firsts, 50), 2) if firsts else None,
            "first_s_max": round(max(firsts), 2) if firsts else None,
            "total_s_p50": round(percentile(totals, 50), 2), "total_s_max": round(max(totals), 2),
            "modes": sorted(r["mode"] or "none" for r in out if r)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--english", action="store_true",
                   help="English questions only (with the default writer each is translated line by line: all generate)")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sizes = [2] if args.smoke else args.students
    if args.smoke:
        tmp = Path(tempfile.mkdtemp(prefix="bench-crowd-"))
        os.environ.update(COURSETA_EMBEDDER="hash:64", COURSETA_DATA_DIR=str(tmp), COURSETA_LLM="local:bundled",
                          COURSETA_LOG_ANSWERS="false")

    from agent.core import Agent
    from bench.e2e import _questions
    from retrieval.ingest import ingest
    from settings import load_settings

    settings = load_settings()
    ingest(settings.retrieval, progress=False)
    agent = Agent.from_settings(settings)
    if not agent.backend.prefers_quotes:
        agent.backend.model()  # loaded before the crowd arrives, as the app preloads it
    agent.ask("warm-up")
    pool = _questions(4 * max(sizes))
    if args.english:
        pool = [q for q in pool if not any("\u4e00" <= c <= "\u9fff" for c in q)]
    rows = []
    for i, n in enumerate(sizes):
        rows.append(crowd(agent, pool[i % 2: i % 2 + n]))  # mixed Chinese / English questions, unless --english
    report("concurrent_answers", {"llm": settings.agent.llm, "answer_mode": settings.agent.answer_mode,
                                  "questions": "english" if args.english else "mixed",
                                  "cpus": os.cpu_count(), "rows": rows}, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
