"""Questions written for each passage at ingest ("doc2query"): do they help the search find paraphrases?

    python bench/doc2query.py                              # the 0.5B model writes, ~5 min on 2 cores
    python bench/doc2query.py --llm openai:qwen2.5-7b      # a stronger writer (a server)

The chat model writes three questions each passage answers, in the passage's language (greedy,
one call per chunk; cached in ``--cache`` by chunk id and model, so a rerun only scores). The search
then gets a third fused list beside BM25 and the dense side, min-max blended as they are:

- ``A<w>``: each chunk's best e5 cosine between the question and its written questions, weight w;
- ``B<w>``: BM25 over each chunk's written questions (the question's translation added as the
  agent adds it), weight w;
- ``C0.5``: both at 0.5.

English questions are translated by the same model, as the agent does (agent/query_translation.py),
for every row, the baseline included. The scope guard reads the passages' own text, so the variants
leave it as it is. Reported: gold passage in the top 5 per set and over dev + dev2 + dev3 (where
settings are chosen), and which questions each variant gained or lost. The last line is one JSON
object, also appended to bench/results/doc2query.jsonl.

Result with the 0.5B model (2026-12-05, docs/EVALUATION.md "Questions written per passage"): every variant
lost 6-11 of the 125 tuning questions — its questions are generic ("什么是基础模型？") and pull
generic passages up — so nothing of this is in the search.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import SETS, TUNING, gold_chunks, questions  # noqa: E402
from common.text import detect_language, tokenize  # noqa: E402
from retrieval.glossary import with_homework_aliases  # noqa: E402  (as Retriever.dense_search embeds a question)

PROMPTS = {
    "zh": ("你是一门大语言模型课程的助教。",
           "下面是课程笔记中的一段：\n<passage>\n{text}\n</passage>\n"
           "请写出3个学生可能会问、而这段笔记能够回答的问题。用中文，每行一个问题，不要编号，不要回答。"),
    "en": ("You are a teaching assistant for a course on large language models.",
           "Here is a passage from the course notes:\n<passage>\n{text}\n</passage>\n"
           "Write 3 questions a student might ask that this passage answers. One question per line, no numbering, "
           "no answers."),
}
VARIANTS = {"baseline": {}, "A0.5": {"qd": 0.5}, "A1.0": {"qd": 1.0}, "B0.5": {"qb": 0.5}, "B1.0": {"qb": 1.0},
            "C0.5": {"qd": 0.5, "qb": 0.5}}
_NUMBERING = re.compile(r"^\s*(?:\d+\s*[.、)）]|[-*•])\s*")


def question_lines(reply: str, at_most: int = 3) -> list[str]:
    """The questions in a model's reply: one per line, numbering and bullets removed, fragments dropped.

    >>> question_lines("1. 什么是熵？\\n2) What is BPE?\\n- ok\\n\\n3、温度参数有什么作用？\\n4. 多余的？")
    ['什么是熵？', 'What is BPE?', '温度参数有什么作用？']
    """
    lines = (_NUMBERING.sub("", line).strip() for line in reply.splitlines())
    return [line for line in lines if len(line) >= 4][:at_most]


def best_per_chunk(scores: np.ndarray, owner: np.ndarray, n_chunks: int, n: int) -> list[tuple[int, float]]:
    """Each chunk's best score among its written questions (``owner[i]``: question i's chunk), top ``n``;
    chunks without questions are left out.

    >>> best_per_chunk(np.array([0.2, 0.9, 0.5]), np.array([0, 0, 2]), 3, 5)
    [(0, 0.9), (2, 0.5)]
    """
    best = np.full(n_chunks, -np.inf)
    np.maximum.at(best, owner, scores)
    order = [int(d) for d in np.argsort(-best, kind="stable")[:n] if np.isfinite(best[d])]
    return [(d, float(best[d])) for d in order]


def write_questions(backend, chunks, cache: Path, llm: str) -> list[list[str]]:
    """Three questions per chunk (cached by model and chunk id in ``cache``)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    done = json.loads(cache.read_text(encoding="utf-8")) if cache.exists() else {}
    replies = done.setdefault(llm, {})
    for i, chunk in enumerate(chunks):
        if chunk.id in replies:
            continue
        system, user = PROMPTS["zh" if chunk.language == "zh" else "en"]
        t0 = time.perf_counter()
        replies[chunk.id] = "".join(str(piece.content) for piece in backend.stream(
            [SystemMessage(system), HumanMessage(user.format(text=chunk.text[:600]))], max_tokens=120))
        cache.write_text(json.dumps(done, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{i:4d} {time.perf_counter() - t0:5.1f}s {replies[chunk.id]!r}"[:200], flush=True)
    return [question_lines(replies[c.id]) for c in chunks]


def main(argv: list[str] | None = None) -> int:
    from agent.llm import get_chat_model
    from agent.query_translation import QueryTranslator
    from retrieval.backends import LexicalIndex
    from retrieval.embedders import embed_queries
    from retrieval.search import Retriever, fuse
    from settings import load_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--llm", default="local:qwen2.5-coder-0.5b")
    p.add_argument("--cache", type=Path, default=Path("/tmp/courseta-doc2query.json"))
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    settings = load_settings(llm=args.llm)
    s = settings.retrieval
    backend = get_chat_model(settings.agent, cache_dir=s.data_dir / "models")
    r = Retriever.load(s)
    written = write_questions(backend, r.chunks, args.cache, args.llm)
    flat = [(i, q) for i, qs in enumerate(written) for q in qs]
    vectors = embed_queries(r.embedder, [q for _, q in flat])
    owner = np.array([i for i, _ in flat], dtype=np.int64)
    lexical = LexicalIndex.build([tokenize(" ".join(qs)) for qs in written])
    translator = QueryTranslator(backend, r.languages)
    n = max(s.candidates, 50)

    def ranking(question: str, translations: list[str], extra: dict) -> list[int]:
        rankings = {"bm25": r.bm25(question, n, translations), "dense": r.dense_search(question, n, translations)}
        weights = dict(r.weights(question))
        if "qd" in extra:
            scores = vectors @ embed_queries(r.embedder, [with_homework_aliases(question)])[0]
            rankings["qd"], weights["qd"] = best_per_chunk(scores, owner, len(r.chunks), n), extra["qd"]
        if "qb" in extra:
            more = [(tokenize(t), s.translation_weight) for t in translations]
            rankings["qb"], weights["qb"] = lexical.search(tokenize(question), n, more=more), extra["qb"]
        return [doc for doc, _ in fuse(rankings, weights, s.fusion, s.rrf_k)]

    ranks: dict[str, dict[str, list]] = {v: {} for v in VARIANTS}  # variant -> set -> [(id, rank)]
    for set_name, item in questions(SETS):
        question = item["question"]
        translation = translator.translate(question, detect_language(question))
        gold = gold_chunks(r.chunks, item)
        for name, extra in VARIANTS.items():
            docs = ranking(question, [translation] if translation else [], extra)
            rank = next((k for k, d in enumerate(docs, 1) if d in gold), None)
            ranks[name].setdefault(set_name, []).append((item["id"], rank))
    top5 = lambda rows: sum(1 for _, k in rows if k and k <= 5)  # noqa: E731
    table, changes = {}, {}
    base = {i: k for rows in ranks["baseline"].values() for i, k in rows}
    for name, per_set in ranks.items():
        cells = {name_: [top5(rows), len(rows)] for name_, rows in per_set.items()}
        cells["+".join(TUNING)] = [sum(cells[t][0] for t in TUNING), sum(cells[t][1] for t in TUNING)]
        table[name] = cells
        print(f"{name:9s}" + "".join(f"  {k}: {a}/{b}" for k, (a, b) in cells.items()))
        if name != "baseline":
            changes[name] = [[i, base[i], k] for rows in per_set.values() for i, k in rows
                             if bool(base[i] and base[i] <= 5) != bool(k and k <= 5)]
            print(f"          in/out of the top 5 (id, baseline rank, rank): {changes[name]}")
    report("doc2query", {"llm": args.llm, "embedder": r.embedder.name, "top5": table, "changed": changes,
                         "chunks": len(r.chunks), "questions": len(flat)}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
