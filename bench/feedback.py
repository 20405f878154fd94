"""Pseudo-relevance feedback: does the search find more gold passages when it searches again with what
its own first top chunks say? R@5 per set.

    python bench/feedback.py                       # the configured model translates the English questions
    python bench/feedback.py --translations /tmp/t.json --no-save

For every answerable question of the sets, the search runs as the agent's does (the question's
translation into the notes' language on BM25's side, from the configured chat model; translations
are cached in ``--translations`` so a second run costs no model call), and each variant changes one
side before the same fusion (`retrieval.search.fuse`, the live settings):

- ``dense beta=B m=M`` (Rocchio): the dense side scores each chunk with the question's vector plus B
  times the mean vector of the default search's top M chunks (e5's and the second embedder's alike,
  each renormalised), in place of the question's alone;
- ``bm25 terms=T w=W``: BM25's side gets the T tokens of the default top 3 chunks with the highest
  sum of tf x idf over them (none of the question's own), at weight W.

Found in the top 5 / questions per set and over the tuning sets (dev + dev2 + dev3). The last line is
one JSON object, also appended to bench/results/feedback.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.fusion_variants import ranked  # noqa: E402
from bench.qa_sets import ALL_SETS as SETS, TUNING, questions  # noqa: E402
from common.text import detect_language, tokenize  # noqa: E402
from retrieval.eval import contains_any  # noqa: E402
from retrieval.glossary import homework_aliases, with_homework_aliases  # noqa: E402

DENSE = [(b, m) for b in (0.25, 0.5, 1.0) for m in (1, 3)]
TERMS = [(t, w) for t in (5, 10) for w in (0.2, 0.4)]


def unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def main(argv: list[str] | None = None) -> int:
    from agent.llm import get_chat_model
    from agent.query_translation import QueryTranslator
    from retrieval.embedders import embed_queries
    from retrieval.search import Retriever, _schedule_up, fuse
    from settings import load_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--translations", default="", help="JSON file caching the translations (read and written)")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    settings = load_settings()
    r = Retriever.load(settings.retrieval)
    cache_path = Path(args.translations) if args.translations else None
    cache = json.loads(cache_path.read_text(encoding="utf-8")) if cache_path and cache_path.exists() else {}
    translator = None
    chunk_tokens = [Counter(tokenize(c.indexed_text())) for c in r.chunks]
    df = Counter(t for counts in chunk_tokens for t in counts)
    idf = {t: math.log(len(r.chunks) / n) for t, n in df.items()}
    vectors, vectors2 = r.stored.vectors, r.stored.vectors2
    second_weight = r.settings.second_weight if r.second is not None and vectors2 is not None else 0.0
    n = max(r.settings.candidates, 50)
    variants = ["default"] + [f"dense beta={b} m={m}" for b, m in DENSE] + [f"bm25 terms={t} w={w}" for t, w in TERMS]
    found: dict[str, dict[str, int]] = {v: {} for v in variants}
    totals: dict[str, int] = {}
    for set_name, item in questions(SETS):
        question = item["question"]
        if question not in cache:
            if translator is None:
                backend = get_chat_model(settings.agent, cache_dir=Path(settings.retrieval.data_dir) / "models")
                translator = QueryTranslator(backend, r.languages) if backend.translates_queries else False
            cache[question] = translator.translate(question, detect_language(question)) if translator else ""
        translations = [cache[question]] if cache[question] else []
        weights = r.weights(question)
        bm25 = r.bm25(question, n, translations)
        dense = r.dense_search(question, n, translations)
        default = fuse({"bm25": bm25, "dense": dense}, weights, r.settings.fusion, r.settings.rrf_k)
        top = [d for d, _ in default]
        text = with_homework_aliases(question)
        q1 = embed_queries(r.embedder, [text])[0]
        q2 = embed_queries(r.second, [text])[0] if second_weight else None
        lists = {"default": default}
        for b, m in DENSE:
            v1 = unit(q1 + b * unit(vectors[top[:m]].mean(axis=0)))
            scores = vectors @ v1
            if second_weight:
                scores = scores + second_weight * (vectors2 @ unit(q2 + b * unit(vectors2[top[:m]].mean(axis=0))))
            lists[f"dense beta={b} m={m}"] = fuse({"bm25": bm25, "dense": ranked(scores, n)}, weights,
                                                  r.settings.fusion, r.settings.rrf_k)
        tokens, expansion = r.bm25_tokens(question)
        own = set(tokens) | set(expansion) | {t for tr in translations for t in tokenize(tr)}
        pooled = Counter()
        for d in top[:3]:
            for t, c in chunk_tokens[d].items():
                if t not in own and len(t) > 1:
                    pooled[t] += c * idf[t]
        for t, w in TERMS:
            extra = [term for term, _ in pooled.most_common(t)]
            lang = detect_language(question)
            gw = r.settings.glossary_weight_zh if lang == "zh" else r.settings.glossary_weight_en
            more = [(tokenize(tr), r.settings.translation_weight) for tr in translations] + [(extra, w)]
            lexical = r.lexical.search(tokens, n, expansion, gw, more=more)
            lists[f"bm25 terms={t} w={w}"] = fuse({"bm25": lexical, "dense": dense}, weights, r.settings.fusion,
                                                  r.settings.rrf_k)
        aliases = homework_aliases(question)
        if aliases:  # as Retriever.search does
            lists = {v: _schedule_up(fused, r.lexical.holding(aliases)) for v, fused in lists.items()}
        totals[set_name] = totals.get(set_name, 0) + 1
        for v, fused in lists.items():
            hit = any(contains_any(r.chunks[d].text, item["answer_contains"]) for d, _ in fused[:5])
            found[v][set_name] = found[v].get(set_name, 0) + hit
    if cache_path:
        cache_path.write_text(json.dumps(cache, ensure_ascii=False, indent=0), encoding="utf-8")
    table = {}
    for v in variants:
        cells = {s: [found[v].get(s, 0), totals[s]] for s in totals}
        cells["+".join(TUNING)] = [sum(found[v].get(s, 0) for s in TUNING), sum(totals[s] for s in TUNING)]
        table[v] = cells
        print(f"{v:24s} " + "  ".join(f"{s} {a}/{b}" for s, (a, b) in cells.items()))
    report("feedback", {"llm": settings.agent.llm, "embedder": r.embedder.name, "top5": table}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
