"""Retrieval variants the defaults were compared with, on every question set: R@5 / MRR.

    python bench/fusion_variants.py            # the live index (its embedder: e5 by default)
    python bench/fusion_variants.py --no-save  # print only

On the live index it compares, per question set (dev, dev2, dev3, held-out; dev + dev2 + dev3 is
what settings are chosen on): BM25 alone, the index's dense side alone, USE-multilingual alone,
the default blend, a three-way min-max blend adding USE as a second dense retriever (several
weights), a composite dense score (e5 cosine + b × USE cosine) blended with BM25, and the
dense side scored by each chunk's best sentence instead of the whole chunk. USE vectors and
sentence vectors are computed here, not stored. The last line is one JSON object, also
appended to bench/results/fusion_variants.jsonl.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import SETS, TUNING, gold_chunks, questions  # noqa: E402
from common.text import split_sentences  # noqa: E402
from retrieval.embedders import embed_queries, get_embedder  # noqa: E402
from retrieval.search import Retriever, fuse  # noqa: E402
from retrieval.glossary import with_homework_aliases  # noqa: E402  (as Retriever.dense_search embeds a question)



def ranked(scores: np.ndarray, n: int = 50) -> list[tuple[int, float]]:
    order = np.argsort(-scores, kind="stable")[:n]
    return [(int(i), float(scores[i])) for i in order]


def sentence_pieces(text: str, min_chars: int = 30) -> list[str]:
    """Sentences of a chunk, short ones joined to the next (a heading alone is not a sentence).

    >>> sentence_pieces("标题。温度参数控制采样的随机性。尾。", min_chars=8)
    ['标题。温度参数控制采样的随机性。尾。']
    >>> sentence_pieces("First sentence is long enough. Second one is too, I think. Tail.", min_chars=20)
    ['First sentence is long enough.', 'Second one is too, I think.Tail.']
    """
    out, buf = [], ""
    for sentence in split_sentences(text):
        buf += sentence
        if len(buf.strip()) >= min_chars:
            out.append(buf.strip())
            buf = ""
    if buf.strip() and out:
        out[-1] += buf.strip()
    elif buf.strip():
        out.append(buf.strip())
    return out


def variants(r: Retriever, use, use_vecs, owners, sent_vecs, question: str) -> dict[str, list[tuple[int, float]]]:
    qv = embed_queries(r.embedder, [with_homework_aliases(question)])[0]
    quv = embed_queries(use, [with_homework_aliases(question)])[0]
    bm25 = r.bm25(question, 50)
    dense_scores, use_scores = r.stored.vectors @ qv, use_vecs @ quv
    best_sentence = np.full(len(r.chunks), -1.0)
    np.maximum.at(best_sentence, owners, sent_vecs @ qv)
    dense, use_ranked = ranked(dense_scores), ranked(use_scores)
    w = r.weights(question)
    out = {"bm25": bm25, "dense": dense, "use": use_ranked,
           "bm25 + e5 blend (default to dev3)": fuse({"bm25": bm25, "dense": dense}, w, "score"),
           "best-sentence dense, blended": fuse({"bm25": bm25, "dense": ranked(best_sentence)}, w, "score")}
    for wu in (0.25, 0.5, 1.0):
        out[f"3-way blend, USE weight {wu}"] = fuse({"bm25": bm25, "dense": dense, "use": use_ranked}, {**w, "use": wu}, "score")
    for b in (0.1, 0.2):
        out[f"dense + {b}*USE cosine, blended" + (" (default)" if b == 0.1 else "")] = fuse({"bm25": bm25, "dense": ranked(dense_scores + b * use_scores)}, w, "score")
    return out


def main(argv: list[str] | None = None) -> int:
    from settings import get_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    r = Retriever.load(get_settings().retrieval)
    use = get_embedder("use:multilingual-v3")
    use_vecs = use.embed([c.indexed_text() for c in r.chunks])
    pieces = [(i, piece) for i, c in enumerate(r.chunks) for piece in sentence_pieces(c.text)]
    owners = np.array([i for i, _ in pieces])
    sent_vecs = r.embedder.embed([piece for _, piece in pieces])
    ranks: dict[str, dict[str, list[int | None]]] = {}
    for set_name, item in questions(SETS):
        gold = gold_chunks(r.chunks, item)
        for name, ranking in variants(r, use, use_vecs, owners, sent_vecs, item["question"]).items():
            rank = next((j for j, (doc, _) in enumerate(ranking, 1) if doc in gold), None)
            ranks.setdefault(name, {}).setdefault(set_name, []).append(rank)

    def metrics(values: list[int | None]) -> tuple[float, float]:
        return (round(sum(1 for x in values if x and x <= 5) / len(values), 3),
                round(sum(1 / x for x in values if x) / len(values), 3))

    pooled = "+".join(TUNING)
    columns = list(SETS) + [pooled]
    print(f"{'variant (R@5 / MRR)':44s}" + "".join(f"{c:>15s}" for c in columns))
    table = {}
    for name, per in ranks.items():
        per = {**per, pooled: [r for name in TUNING for r in per[name]]}
        table[name] = {c: metrics(per[c]) for c in columns}
        print(f"{name:44s}" + "".join(f"{a:>9.3f}/{b:.3f}" for a, b in table[name].values()))
    report("fusion_variants", {"embedder": r.embedder.name, "chunks": len(r.chunks), "sentence_pieces": len(pieces),
                               "r5_mrr": table}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
