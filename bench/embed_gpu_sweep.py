"""Where the GPU ingest encoder spends its time: fast_encode variants and its parts, one run.

    python bench/embed_gpu_sweep.py --model <MiniLM folder> --count 40000     # on a CUDA machine
    python bench/embed_gpu_sweep.py --smoke                                    # CPU, seconds; not saved

Times (median of ``--repeats`` after one warm-up, same texts as bench/embed.py):
- ``tokenize``: the tokenizer pool alone over all texts (what the producer thread does);
- ``model``: the model alone over the already tokenised, bucketed, padded batches (autocast
  fp16 as fast_encode runs it, and with the weights cast to fp16 instead);
- ``fast_encode`` with its defaults and with one knob changed at a time (token budget, slice
  size, tokenizer threads, fp16 weights instead of autocast).
Last line: one JSON object, also appended to bench/results/embed_gpu_sweep.jsonl.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.data import synthetic_chunks  # noqa: E402


def _timed(fn, device: str, repeats: int) -> float:
    import torch

    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="")
    p.add_argument("--count", type=int, default=40000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--only", default="", help="comma list of fast_* variants to time (default: all, and the parts)")
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    from retrieval.fast_embed import FastEncodeConfig, _pad, _tokenize_parallel, _Tokenizer, fast_encode, token_budget_batches

    if not args.model:
        from retrieval.embedders import bundled_model_path

        args.model = bundled_model_path()
    device = "cpu" if args.smoke or not torch.cuda.is_available() else "cuda"
    count = 32 if args.smoke else args.count
    repeats = 1 if args.smoke else args.repeats
    texts = synthetic_chunks(count, seed=1)
    model = SentenceTransformer(args.model, device=device)
    base = FastEncodeConfig()
    workers = os.cpu_count() or 1
    tok = _Tokenizer(model.tokenizer, model.max_seq_length)
    rows: dict[str, float] = {}

    def tokenize_all():
        with ThreadPoolExecutor(workers) as pool:
            return _tokenize_parallel(tok, texts, pool, workers)

    rows["tokenize"] = _timed(tokenize_all, device, repeats)
    ids = tokenize_all()
    max_tokens = base.max_tokens_cuda if device == "cuda" else base.max_tokens_cpu
    batches = []
    for b in token_budget_batches([len(r) for r in ids], max_tokens):
        input_ids, mask = _pad([ids[i] for i in b], tok.pad_id, 8 if device == "cuda" else 1)
        feats = {"input_ids": torch.from_numpy(input_ids).to(device), "attention_mask": torch.from_numpy(mask).to(device)}
        if tok.wants_token_types:
            feats["token_type_ids"] = torch.zeros_like(feats["input_ids"])
        batches.append(feats)
    half = copy.deepcopy(model).half() if device == "cuda" else model

    def run_model(m, autocast: bool):
        def go():
            ctx = torch.autocast(device_type=device, dtype=torch.float16) if autocast and device == "cuda" else torch.inference_mode()
            with torch.inference_mode(), ctx:
                for f in batches:
                    m(dict(f))["sentence_embedding"]
        return go

    rows["model_autocast_fp16"] = _timed(run_model(model, True), device, repeats)
    if device == "cuda":
        rows["model_fp16_weights"] = _timed(run_model(half, False), device, repeats)
    variants = {
        "fast_default": (model, base),
        "fast_budget_16k": (model, replace(base, max_tokens_cuda=16384)),
        "fast_budget_262k": (model, replace(base, max_tokens_cuda=262144)),
        "fast_slice_2048": (model, replace(base, slice_size=2048)),
        "fast_threads_4": (model, replace(base, tokenizer_threads=4)),
    }
    if device == "cuda":
        variants["fast_fp16_weights"] = (half, replace(base, precision="fp32"))  # weights already fp16: no autocast
    if args.smoke:
        args.only = "fast_default"
    if args.only:
        variants = {k: v for k, v in variants.items() if k in args.only.split(",")}
    for name, (m, cfg) in variants.items():
        rows[name] = _timed(lambda m=m, cfg=cfg: fast_encode(m, texts, cfg), device, repeats)
        print(name, round(count / rows[name], 1), "chunks/s", file=sys.stderr)
    out = {"device": device, "chunks": count, "batches": len(batches), "repeats": repeats, "cpus": workers,
           "chunks_per_s": {k: round(count / v, 1) for k, v in rows.items()}}
    if device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    report("embed_gpu_sweep", out, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
