"""What embedding the passages' sentences at ingest saves each answer (retrieval/sentence_vectors.py).

    python bench/sentence_vectors.py                 # the configured index and embedder, 16 dev questions
    python bench/sentence_vectors.py --smoke         # CI-sized: hash embedder, temporary index; not saved

Each question is answered by quoting (``answer_mode=extract`` on ``local:bundled``: no model call, so
what is left is search and the answer step's embedding) twice, in a fresh process state each way:
``table`` with the index's sentence vectors, ``none`` with the bare embedder (each text embedded
when a question first needs it, then cached for the process, as before). Reported per way: answer
seconds p50 / p95, model seconds and texts embedded per question (p50 / max); and the ingest-time
cost: seconds to embed the whole table once (``table_build_s``, ``table_texts``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, report  # noqa: E402


class Timed:
    """Wraps an embedder: counts the texts it embeds and the seconds it takes."""

    def __init__(self, inner):
        self.inner, self.name, self.texts, self.seconds = inner, inner.name, 0, 0.0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _timed(self, fn, texts, *args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(texts, *args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t
            self.texts += len(texts)

    def embed(self, texts, batch_size=64, progress=False):
        return self._timed(self.inner.embed, texts, batch_size=batch_size, progress=progress)

    def __getattr__(self, name):
        if name == "inner":
            raise AttributeError(name)
        method = getattr(self.inner, name)  # embed_queries, where the embedder has it
        return (lambda texts, *a, **kw: self._timed(method, texts, *a, **kw)) if name == "embed_queries" else method


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=16)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["COURSETA_LLM"] = "local:bundled"  # quoting: no model call in the timings
    if args.smoke:
        tmp = Path(tempfile.mkdtemp(prefix="bench-sentences-"))
        os.environ.update(COURSETA_EMBEDDER="hash:64", COURSETA_DATA_DIR=str(tmp), COURSETA_LOG_ANSWERS="false")

    from agent.core import Agent
    from bench.e2e import _questions
    from retrieval.embedders import get_embedder
    from retrieval.ingest import ingest
    from retrieval.search import Retriever
    from retrieval.sentence_vectors import KnownVectors, sentence_table
    from settings import load_settings

    settings = load_settings().override(answer_mode="extract")
    rs = settings.retrieval
    ingest(rs, progress=False)
    questions = _questions(2 if args.smoke else args.questions)
    out: dict = {"embedder": rs.embedder, "questions": len(questions)}
    for way in ("table", "none"):
        inner = Timed(get_embedder(rs.embedder, rs.device, rs.embed_encoder, rs.embed_precision))
        retriever = Retriever.load(rs, embedder=inner)
        if way == "none" and isinstance(retriever.embedder, KnownVectors):
            retriever.embedder = inner  # as before the table: embedded on first need, cached by agent/semantic.py
        agent = Agent.from_settings(settings, retriever=retriever)
        agent.ask("warm-up")  # loads the engine, probes the embedder (agent/semantic.py): not a question's cost
        seconds, model_s, texts = [], [], []
        for q in questions:
            inner.texts, inner.seconds = 0, 0.0
            t = time.perf_counter()
            agent.ask(q)
            seconds.append(time.perf_counter() - t)
            model_s.append(inner.seconds)
            texts.append(inner.texts)
        out[way] = {"answer_s_p50": round(percentile(seconds, 50), 3), "answer_s_p95": round(percentile(seconds, 95), 3),
                    "embed_s_p50": round(percentile(model_s, 50), 3), "embed_s_max": round(max(model_s), 3),
                    "texts_p50": percentile(texts, 50), "texts_max": max(texts)}
    chunks = Retriever.load(rs).chunks
    bare = get_embedder(rs.embedder, rs.device, rs.embed_encoder, rs.embed_precision)
    bare.embed(["warm-up"])
    t = time.perf_counter()
    table, _ = sentence_table([c.text for c in chunks], bare, {}, rs.embed_batch_size)
    out.update(table_build_s=round(time.perf_counter() - t, 2), table_texts=len(table), chunks=len(chunks))
    report("sentence_vectors", out, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
