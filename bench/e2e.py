"""End-to-end timings of the answer path: index load, app cold start, retrieval, first token, tokens/s.

    python bench/e2e.py                          # the configured settings (default: the 0.5B writer), 10 dev questions
    python bench/e2e.py --llm local:bundled      # the quoting model (the default until 2026-12-04)
    python bench/e2e.py --llm openai:Qwen/Qwen2.5-7B-Instruct --questions 20   # any configured model
    python bench/e2e.py --smoke                  # CI-sized: hash embedder, temporary index, 2 questions; not saved

Measured, in this order, on the settings in effect (COURSETA_* variables and .env apply):
- ``index_load_s``: ``Retriever.load`` (chunks, FAISS, BM25) in a fresh process state;
  ``embedder_load_s``: the first query embedding (loads the embedding model);
- ``app_cold_start_s``: a new Python process running app.py once through Streamlit's AppTest
  (imports, cached index, first page), and ``app_rerun_s`` for a second run in that process;
- ``retrieval_ms_p50/p95``: ``Retriever.search`` for each question (warm);
- ``llm_load_s``; then each question is answered in ``generate`` mode through ``Agent.stream``:
  ``ttft_s`` from the question to the first streamed token (retrieval, prompt and prefill
  included), ``prompt_tokens`` (local models) and ``tokens_per_s`` between the first and the
  last streamed token;
- ``extract_answer_s``: the quoting answer (``answer_mode=extract``: no generation of the answer;
  with a model that translates questions for the search, that translation is included).
Last line: one JSON object, also appended to bench/results/e2e.jsonl.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.events import Done, Token  # noqa: E402
from bench.common import percentile, report  # noqa: E402

APP_PROBE = """
import sys, time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=600).run()
first = time.perf_counter() - t0
assert not at.exception, [e.value for e in at.exception]
t1 = time.perf_counter(); at.run(); rerun = time.perf_counter() - t1
print(first, rerun)
"""


def _questions(count: int) -> list[str]:
    from retrieval.eval import load_qa

    items = load_qa(ROOT / "tests/data/dev_qa.jsonl")
    inside = [i["question"] for i in items if i.get("answer_contains")]
    # alternate Chinese and English questions so both languages are in every sample
    zh = [q for q in inside if any("\u4e00" <= c <= "\u9fff" for c in q)]
    en = [q for q in inside if q not in zh]
    mixed = [q for pair in zip(zh, en) for q in pair] + zh[len(en):] + en[len(zh):]
    return mixed[:count]


def _token_count(llm, text: str, fallback: int) -> int:
    tokenizer = getattr(llm, "_tokenizer", None)  # TransformersChatModel
    if tokenizer is None:
        return fallback  # OpenAI-compatible streams: one chunk is about one token
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def answer_timings(agent, question: str) -> dict:
    t0 = time.perf_counter()
    first = last = None
    chunks = []
    result = None
    for event in agent.stream(question):
        if isinstance(event, Token) and event.text:
            last = time.perf_counter() - t0
            if first is None:
                first = last
            chunks.append(event.text)
        elif isinstance(event, Done):
            result = event.answer
    total = time.perf_counter() - t0
    text = "".join(chunks)
    row = {"ttft_s": first, "total_s": total, "mode": result.mode if result else None,
           "prompt_tokens": result.timings.get("prompt_tokens") if result else None}
    if first is not None and result is not None and result.mode == "generate":
        tokens = _token_count(agent.backend.model(), text, len(chunks))
        row.update(tokens=tokens, tokens_per_s=(tokens - 1) / (last - first) if tokens > 1 and last > first else None)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=10)
    p.add_argument("--llm", default="", help="provider:model to time instead of the configured one")
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.llm:
        os.environ["COURSETA_LLM"] = args.llm
    n_questions = 2 if args.smoke else args.questions
    if args.smoke:
        tmp = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
        os.environ.update(COURSETA_EMBEDDER="hash:64", COURSETA_DATA_DIR=str(tmp), COURSETA_LLM_MAX_NEW_TOKENS="8",
                          COURSETA_LOG_ANSWERS="false")
        os.environ.setdefault("COURSETA_LLM", "local:bundled")  # CI-sized: the small quoting model, not the writer

    from agent.core import Agent
    from agent.llm import get_chat_model
    from retrieval.ingest import ingest
    from retrieval.search import Retriever
    from settings import load_settings

    settings = load_settings()
    k = settings.agent.retrieval_k
    built = ingest(settings.retrieval, progress=False)  # no-op when the index is up to date
    backend = get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
    out: dict = {"llm": settings.agent.llm, "embedder": settings.retrieval.embedder, "n_chunks": built.n_chunks,
                 "retrieval_k": k, "prompt_chars": backend.prompt_chars}

    t0 = time.perf_counter()
    retriever = Retriever.load(settings.retrieval)
    out["index_load_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    retriever.search("warm-up", k=k)
    out["embedder_load_s"] = round(time.perf_counter() - t0, 3)

    probe = subprocess.run([sys.executable, "-c", APP_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=900,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    if probe.returncode == 0:
        first, rerun = (float(x) for x in probe.stdout.split()[-2:])
        out["app_cold_start_s"], out["app_rerun_s"] = round(first, 3), round(rerun, 3)
    else:
        out["app_error"] = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else f"exit {probe.returncode}"

    questions = _questions(n_questions)
    times = []
    for q in questions:
        t0 = time.perf_counter()
        retriever.search(q, k=k)
        times.append(time.perf_counter() - t0)
    out["retrieval_ms_p50"] = round(1000 * percentile(times, 50), 2)
    out["retrieval_ms_p95"] = round(1000 * percentile(times, 95), 2)

    gen = Agent.from_settings(settings.override(answer_mode="generate"), retriever=retriever, backend=backend)
    t0 = time.perf_counter()
    llm = backend.model()  # loads the model
    if hasattr(llm, "_model"):
        from langchain_core.messages import HumanMessage

        llm.invoke([HumanMessage("Hi")], max_new_tokens=1)  # first-call kernels, not the user's wait
    out["llm_load_s"] = round(time.perf_counter() - t0, 3)
    rows = [answer_timings(gen, q) for q in questions]
    generated = [r for r in rows if r["mode"] == "generate"]  # not the ones that fell back to quoting or declined
    firsts = [r["ttft_s"] for r in generated if r["ttft_s"] is not None]
    rates = [r["tokens_per_s"] for r in rows if r.get("tokens_per_s")]
    out["generate_answers"] = len(generated)
    out["ttft_s_p50"] = round(percentile(firsts, 50), 3) if firsts else None
    out["ttft_s_p95"] = round(percentile(firsts, 95), 3) if firsts else None
    out["tokens_per_s_p50"] = round(percentile(rates, 50), 1) if rates else None
    prompts = [r["prompt_tokens"] for r in generated if r.get("prompt_tokens")]
    out["prompt_tokens_p50"] = percentile(prompts, 50) if prompts else None

    quote = Agent.from_settings(settings.override(answer_mode="extract"), retriever=retriever, backend=backend)
    totals = []
    for q in questions:
        t0 = time.perf_counter()
        quote.ask(q)
        totals.append(time.perf_counter() - t0)
    out["extract_answer_s_p50"] = round(percentile(totals, 50), 3)
    out["questions"] = len(questions)
    print(rows, file=sys.stderr)
    report("e2e", out, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
