"""Retrieval with the question translated into the notes' language (agent/query_translation.py): R@5.

    python bench/query_translation.py                      # the 0.5B model, weights 0.6,1.0,1.5
    python bench/query_translation.py --llm openai:qwen2.5-7b --weights 0.6
    python bench/query_translation.py --reverse            # also Chinese questions into English
    python bench/query_translation.py --weights 0.6 --dense-weights 0.5,1.0   # the translation on the dense side too

For every question of the four sets whose language is not the notes' main one (English, over the
Chinese notes), the chat model translates it with the prompt the agent uses; the search then runs
without the translation and with it at each ``translation_weight``. ``--reverse`` also translates
the Chinese questions into English (the notes' minority language), which the agent does not do
(this is the measurement behind that). ``--dense-weights`` adds, for each BM25 weight, variants with
the translation also on the dense side at each ``translation_dense_weight``. R@5 per set and over
dev + dev2 + dev3 (what settings are chosen on); the translations are printed with their time. The last line is one JSON object, also
appended to bench/results/query_translation.jsonl.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import SETS, TUNING, questions  # noqa: E402
from common.text import detect_language  # noqa: E402
from retrieval.eval import contains_any  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from agent.llm import get_chat_model
    from agent.query_translation import QueryTranslator
    from retrieval.search import Retriever
    from settings import load_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", default="local:qwen2.5-coder-0.5b")
    p.add_argument("--weights", default="0.6,1.0,1.5")
    p.add_argument("--dense-weights", default="", help="translation_dense_weight values to add (comma-separated)")
    p.add_argument("--reverse", action="store_true", help="also translate Chinese questions into English")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    dense_weights = [float(w) for w in args.dense_weights.split(",") if w.strip()]
    settings = load_settings(llm=args.llm)
    backend = get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
    base = Retriever.load(settings.retrieval.model_copy(update={"translation_dense_weight": 0.0}))
    retrievers = {}  # variant name -> a retriever sharing base's loaded index and embedders
    for w in weights:
        for d in [0.0, *dense_weights]:
            name = f"weight {w}" + (f", dense {d}" if d else "")
            retrievers[name] = Retriever(base.settings.model_copy(update={"translation_weight": w, "translation_dense_weight": d}),
                                         base.stored, base.embedder, base.dense, base.lexical, base.second)
    forward = QueryTranslator(backend, base.languages)
    reverse = QueryTranslator(backend, lambda: {"en": 1.0})
    ranks: dict[str, dict[str, dict[str, list]]] = {}  # direction -> variant -> set -> ranks
    seconds: dict[str, list[float]] = {}
    for set_name, item in questions(SETS):
        question, language = item["question"], detect_language(item["question"])
        if target := forward.target_for(question, language):  # what the agent translates (agent/query_translation.py)
            direction, translator = f"{language}->{target}", forward
        elif args.reverse and language == "zh":
            direction, translator = "zh->en", reverse
        else:
            continue
        t0 = time.perf_counter()
        translation = translator.translate(question, language)
        seconds.setdefault(direction, []).append(time.perf_counter() - t0)
        print(f"{seconds[direction][-1]:5.2f}s {question[:70]} -> {translation[:70]}", flush=True)
        gold = {c.id for c in base.chunks if contains_any(c.indexed_text(), item["answer_contains"])}

        def rank(hits) -> int | None:
            return next((i for i, h in enumerate(hits, 1) if h.chunk.id in gold), None)

        variants = {"without": rank(base.search(question, 50))}
        for name, r in retrievers.items():
            variants[name] = rank(r.search(question, 50, translations=[translation] if translation else []))
        for name, value in variants.items():
            ranks.setdefault(direction, {}).setdefault(name, {}).setdefault(set_name, []).append(value)
    pooled = "+".join(TUNING)
    table = {}
    for direction, per_variant in ranks.items():
        print(f"\n{direction}  (found in the top 5 / questions)")
        for name, per_set in per_variant.items():
            per_set = {**per_set, pooled: [x for s in TUNING for x in per_set.get(s, [])]}
            cells = {s: [sum(1 for x in v if x and x <= 5), len(v)] for s, v in per_set.items()}
            table.setdefault(direction, {})[name] = cells
            print(f"  {name:22s}" + "".join(f"  {s}: {a}/{b}" for s, (a, b) in cells.items()))
        t = seconds[direction]
        print(f"  translation time p50 {statistics.median(t):.2f} s, max {max(t):.2f} s (n={len(t)})")
    report("query_translation", {"llm": args.llm, "embedder": base.embedder.name, "top5": table,
                                 "translation_s_p50": {d: round(statistics.median(t), 3) for d, t in seconds.items()}},
           save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
