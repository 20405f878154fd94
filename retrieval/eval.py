"""Retrieval evaluation: ``python -m retrieval.eval --qa FILE.jsonl --k 5 [--json]``.

Each line of FILE is ``{"id": ..., "question": ..., "answer_contains": [...]}``. A question is
a hit at rank r when the r-th retrieved chunk contains any of its strings; matching ignores
case and all whitespace (PDF extraction and line wrapping move spaces around). Questions
with an empty ``answer_contains`` (out-of-corpus questions, used by the agent eval) are
left out of retrieval metrics.

>>> contains_any("温度  参数\\nT", ["温度参数 T"])
True
>>> metrics_from_ranks([1, None, 3], k=5)["recall_at_k"]
0.6667
"""

from __future__ import annotations

import argparse

from retrieval.cli_args import k_value
import json
import os
import re
import sys
import time
from pathlib import Path

CUTOFFS = (1, 3, 5, 10)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``values`` (used by the evals and bench/).

    >>> percentile([3.0, 1.0, 2.0, 10.0], 50), percentile([3.0, 1.0, 2.0, 10.0], 95)
    (3.0, 10.0)
    """
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def contains_any(text: str, needles: list[str]) -> bool:
    hay = normalise(text)
    return any(normalise(n) and normalise(n) in hay for n in needles)


def load_qa(path: Path) -> list[dict]:
    items = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{lineno}: not JSON ({exc.msg})")
            if "question" not in item or not isinstance(item.get("answer_contains", []), list):
                raise SystemExit(f"{path}:{lineno}: needs 'question' and a list 'answer_contains'")
            item.setdefault("id", f"line{lineno}")
            items.append(item)
    return items


def first_hit_rank(texts: list[str], needles: list[str]) -> int | None:
    for rank, text in enumerate(texts, start=1):
        if contains_any(text, needles):
            return rank
    return None


def metrics_from_ranks(ranks: list[int | None], k: int) -> dict:
    n = len(ranks)
    out = {f"recall@{c}": round(sum(1 for r in ranks if r and r <= c) / n, 4) if n else 0.0 for c in sorted({*CUTOFFS, k})}
    out["recall_at_k"] = out[f"recall@{k}"]
    out["mrr"] = round(sum(1.0 / r for r in ranks if r and r <= max(max(CUTOFFS), k)) / n, 4) if n else 0.0
    out["n"] = n
    return out


def evaluate(retriever, items: list[dict], k: int) -> dict:
    depth = max(max(CUTOFFS), k)
    ranks, misses, per_question, latencies = [], [], [], []
    for item in items:
        needles = item.get("answer_contains") or []
        if not needles:
            continue
        t0 = time.perf_counter()
        hits = retriever.search(item["question"], depth)
        latencies.append(time.perf_counter() - t0)
        rank = first_hit_rank([h.text for h in hits], needles)
        ranks.append(rank)
        per_question.append({"id": item["id"], "rank": rank})
        if rank is None or rank > k:
            misses.append({
                "id": item["id"],
                "question": item["question"],
                "answer_contains": needles,
                "rank": rank,
                "top": [f"{h.source}#{h.heading}"[:120] for h in hits[:3]],
            })
    result = metrics_from_ranks(ranks, k)
    result["k"] = k
    result["misses"] = misses
    result["per_question"] = per_question
    if latencies:
        latencies.sort()
        result["latency_ms_p50"] = round(1000 * latencies[len(latencies) // 2], 2)
    return result


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m retrieval.eval", description="Retrieval recall@k / MRR on a QA file.")
    parser.add_argument("--qa", required=True, type=Path)
    parser.add_argument("--k", type=k_value, default=5)
    parser.add_argument("--json", action="store_true", help="last line printed: one JSON object")
    args = parser.parse_args(argv)

    from common.errors import CourseTAError
    from retrieval.search import Retriever
    from settings import get_settings

    try:
        retriever = Retriever.load(get_settings().retrieval)
    except CourseTAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = evaluate(retriever, load_qa(args.qa), args.k)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "per_question"}, ensure_ascii=False))
        return 0
    cut = "  ".join(f"R@{c}={result[f'recall@{c}']:.3f}" for c in sorted({*CUTOFFS, args.k}))
    print(f"n={result['n']}  {cut}  MRR={result['mrr']:.3f}")
    for miss in result["misses"]:
        print(f"miss {miss['id']} (rank {miss['rank']}): {miss['question']}")
        for top in miss["top"]:
            print(f"      got {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
