"""Choose chunking and fusion settings with the eval set: ``python -m retrieval.tune --qa FILE [FILE...]``.

For each (chunk_size, chunk_overlap) it builds a throw-away index with the configured
embedder, runs BM25 and dense retrieval once per question, then scores every fusion
configuration from those rankings (no re-embedding per weight). Prints one table row per
configuration, best first, split by question language, and the BM25-only / dense-only
baselines, so docs/EVALUATION.md can show the numbers behind the defaults.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

from retrieval.cli_args import k_value
from retrieval.eval import first_hit_rank, load_qa, metrics_from_ranks
from retrieval.search import fuse


def _grid(values: str, cast=float) -> list:
    return [cast(v) for v in values.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m retrieval.tune")
    p.add_argument("--qa", required=True, nargs="+", help="question set(s) to tune on, pooled (dev, dev2 and dev3)")
    p.add_argument("--k", type=k_value, default=5)
    p.add_argument("--sizes", default="200,300,400,600,800")
    p.add_argument("--overlaps", default="0,60")
    p.add_argument("--dense-zh", default="0,0.1,0.2,0.3,0.5,1")
    p.add_argument("--dense-en", default="0,0.2,0.5,1,2")
    p.add_argument("--glossary", choices=["on", "off", "both"], default="both")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from retrieval.embedders import get_embedder
    from retrieval.ingest import ingest
    from retrieval.search import Retriever
    from common.text import detect_language
    from settings import get_settings

    base = get_settings().retrieval
    embedder = get_embedder(base.embedder, base.device, base.embed_encoder, base.embed_precision)
    items = [q for path in args.qa for q in load_qa(path) if q.get("answer_contains")]
    langs = [q.get("lang") or detect_language(q["question"]) for q in items]
    rows = []
    for size, overlap in itertools.product(_grid(args.sizes, int), _grid(args.overlaps, int)):
        if overlap >= size:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            settings = base.model_copy(update={"chunk_size": size, "chunk_overlap": overlap, "data_dir": Path(tmp)})
            ingest(settings, progress=False, embedder=embedder)
            glossaries = {"on": base.query_glossary, "off": ""}
            modes = ["on", "off"] if args.glossary == "both" else [args.glossary]
            for mode in modes:
                retr = Retriever.load(settings.model_copy(update={"query_glossary": glossaries[mode]}), embedder=embedder)
                depth = max(10, args.k)
                runs = [
                    {"bm25": retr.bm25(q["question"], base.candidates), "dense": retr.dense_search(q["question"], base.candidates)}
                    for q in items
                ]
                texts = [c.text for c in retr.chunks]

                def score(weights_for, method="rrf"):
                    ranks = []
                    for q, run, lang in zip(items, runs, langs):
                        fused = fuse(run, weights_for(lang), method, base.rrf_k)[:depth]
                        ranks.append(first_hit_rank([texts[d] for d, _ in fused], q["answer_contains"]))
                    by_lang = {}
                    for lang in sorted(set(langs)):
                        sub = [r for r, l in zip(ranks, langs) if l == lang]
                        by_lang[lang] = metrics_from_ranks(sub, args.k)["recall_at_k"]
                    return metrics_from_ranks(ranks, args.k), by_lang

                common = {"size": size, "overlap": overlap, "glossary": mode, "chunks": len(texts)}
                for name, w in (("bm25 only", {"bm25": 1, "dense": 0}), ("dense only", {"bm25": 0, "dense": 1}),
                                ("plain rrf", {"bm25": 1, "dense": 1})):
                    m, by_lang = score(lambda lang, w=w: w)
                    rows.append({**common, "fusion": name, **m, "by_lang": by_lang})
                for method in ("rrf", "score"):
                    for dzh, den in itertools.product(_grid(args.dense_zh), _grid(args.dense_en)):
                        def weights_for(lang, dzh=dzh, den=den):
                            return {"bm25": 1.0, "dense": dzh if lang == "zh" else den}
                        m, by_lang = score(weights_for, method)
                        rows.append({**common, "fusion": f"{method} dense_zh={dzh} dense_en={den}", **m, "by_lang": by_lang})
        print(f"done size={size} overlap={overlap}", file=sys.stderr)
    rows.sort(key=lambda r: (-r["recall_at_k"], -r["mrr"]))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{'size':>4} {'ovl':>3} {'gloss':>5} {'R@'+str(args.k):>5} {'MRR':>5}  by language  fusion")
    for r in rows[:40]:
        langs_txt = " ".join(f"{k}={v:.2f}" for k, v in r["by_lang"].items())
        print(f"{r['size']:>4} {r['overlap']:>3} {r['glossary']:>5} {r['recall_at_k']:.3f} {r['mrr']:.3f}  {langs_txt}  {r['fusion']}")
    print("\nbaselines:")
    for r in rows:
        if r["fusion"] in ("bm25 only", "dense only", "plain rrf"):
            print(f"{r['size']:>4} {r['overlap']:>3} {r['glossary']:>5} {r['recall_at_k']:.3f} {r['mrr']:.3f}  {r['fusion']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
