"""Each chunk's best sentence as a third fused list beside BM25 and the dense side: R@5 per set.

    python bench/sentence_fusion.py                  # the 0.5B model translates the English questions
    python bench/sentence_fusion.py --weights 0.25,0.5,1.0 --no-save

For every answerable question of the five sets, the search runs as the agent's does (the question's
translation into the notes' language on BM25's side, from the configured chat model), and the
fusion (`retrieval.search.fuse`, the live settings) gets a third list: each chunk's best e5 cosine
over its sentences (the sentence vectors stored at ingest, retrieval/sentence_vectors.py) at each
weight; weight 0 is the default search. Found in the top 5 / questions per set and over the tuning
sets (dev + dev2 + dev3). Not adopted on 2026-12-06 (docs/EVALUATION.md, "Retrieval quality": 117 /
116 / 114 of 125 at 0.25 / 0.5 / 1.0 against 118). The last line is one JSON object, also appended to
bench/results/sentence_fusion.jsonl.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.fusion_variants import ranked  # noqa: E402
from bench.qa_sets import ALL_SETS, TUNING, questions  # noqa: E402
from common.text import detect_language  # noqa: E402
from retrieval.eval import contains_any  # noqa: E402
from retrieval.sentence_vectors import TEXTS, VECTORS, pieces  # noqa: E402
from retrieval.glossary import with_homework_aliases  # noqa: E402  (as Retriever.dense_search embeds a question)

SETS = {name: ALL_SETS[name] for name in ("dev", "dev2", "dev3", "held-out", "dev4")}


def sentence_owners(retriever, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(chunk index of each sentence row, the rows' vectors): each chunk's sentences of 8 characters or
    more as the index stored them, or the chunk's own text when it has none."""
    texts = json.loads((folder / TEXTS).read_text(encoding="utf-8"))
    vectors = np.load(folder / VECTORS)
    row_of = {t: i for i, t in enumerate(texts)}
    owners, rows = [], []
    for i, chunk in enumerate(retriever.chunks):
        parts = pieces(chunk.text)
        for text in [p for p in parts[1:] if len(p) >= 8] or parts[:1]:
            if text in row_of:
                owners.append(i)
                rows.append(row_of[text])
    return np.array(owners), vectors[rows]


def main(argv: list[str] | None = None) -> int:
    from agent.llm import get_chat_model
    from agent.query_translation import QueryTranslator
    from retrieval.embedders import embed_queries
    from retrieval.search import Retriever, fuse
    from settings import load_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default="0.25,0.5,1.0")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    weights = [0.0] + [float(w) for w in args.weights.split(",")]
    settings = load_settings()
    r = Retriever.load(settings.retrieval)
    data_dir = Path(settings.retrieval.data_dir)
    owners, sentence_vectors = sentence_owners(r, data_dir / (data_dir / "CURRENT").read_text().strip())
    backend = get_chat_model(settings.agent, cache_dir=data_dir / "models")
    translator = QueryTranslator(backend, r.languages) if backend.translates_queries else None
    found = {w: {} for w in weights}
    totals: dict[str, int] = {}
    for set_name, item in questions(SETS):
        question = item["question"]
        translation = translator.translate(question, detect_language(question)) if translator else ""
        translations = [translation] if translation else []
        n = max(r.settings.candidates, 50)
        rankings = {"bm25": r.bm25(question, n, translations), "dense": r.dense_search(question, n, translations)}
        best = np.full(len(r.chunks), -1.0)
        np.maximum.at(best, owners, sentence_vectors @ embed_queries(r.embedder, [with_homework_aliases(question)])[0])
        totals[set_name] = totals.get(set_name, 0) + 1
        for w in weights:
            lists = {**rankings, "sentence": ranked(best, n)} if w else rankings
            fused = fuse(lists, {**r.weights(question), "sentence": w}, r.settings.fusion, r.settings.rrf_k)
            hit = any(contains_any(r.chunks[d].text, item["answer_contains"]) for d, _ in fused[:5])
            found[w][set_name] = found[w].get(set_name, 0) + hit
    table = {}
    for w in weights:
        cells = {s: [found[w].get(s, 0), totals[s]] for s in totals}
        cells["+".join(TUNING)] = [sum(found[w].get(s, 0) for s in TUNING), sum(totals[s] for s in TUNING)]
        table[str(w)] = cells
        print(f"sentence weight {w}: " + "  ".join(f"{s} {a}/{b}" for s, (a, b) in cells.items()))
    report("sentence_fusion", {"llm": settings.agent.llm, "embedder": r.embedder.name, "top5": table},
           save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
