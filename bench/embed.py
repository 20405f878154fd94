"""Embedding throughput: naive ``SentenceTransformer.encode`` against our ingest path, same data, same run.

    python bench/embed.py                       # CPU, 600 chunks × 3 alternating runs; CUDA too (40,000) when torch sees a GPU
    python bench/embed.py --smoke               # CPU-sized, seconds; not saved
    python bench/embed.py --devices cuda --count 40000 --random-weights --model /path/to/minilm-config-dir

For each device: chunks/s of ``encode`` (default batch size 32, fp32) and of
``retrieval.fast_embed.fast_encode`` (the path ``ingest`` uses), their ratio, the largest
difference between the two sets of vectors, and the Rust tokenizer's rate on one thread (the
bound the naive path runs into). The texts are 150–500-character chunks cut from the course
notes (bench/data.py). ``--random-weights`` builds the model from its config.json with random
weights (same speed; for machines without the weights). Last line: one JSON object, also
appended to bench/results/embed.jsonl.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.data import synthetic_chunks  # noqa: E402


def load_model(path: str, device: str, random_weights: bool):
    from sentence_transformers import SentenceTransformer

    if not random_weights:
        return SentenceTransformer(path, device=device)
    from transformers import AutoConfig, AutoModel

    tmp = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    for item in Path(path).iterdir():
        if item.suffix in (".safetensors", ".bin", ".onnx", ".h5") or item.name in ("onnx", "openvino"):
            continue
        (shutil.copytree if item.is_dir() else shutil.copy)(item, tmp / item.name)
    AutoModel.from_config(AutoConfig.from_pretrained(path)).save_pretrained(tmp)
    return SentenceTransformer(str(tmp), device=device)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def measure(model, texts: list[str], device: str, batch_size: int, repeats: int = 3) -> dict:
    from retrieval.fast_embed import FastEncodeConfig, _Tokenizer, fast_encode

    warm = texts[: min(len(texts), 256)]
    model.encode(warm, batch_size=batch_size)
    fast_encode(model, warm)
    _sync(device)

    # alternate the two paths and keep each one's median: this machine's speed drifts by ±10 %
    naive_times, fast_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        naive = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        _sync(device)
        naive_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fast = fast_encode(model, texts, FastEncodeConfig())
        _sync(device)
        fast_times.append(time.perf_counter() - t0)
    naive_s, fast_s = float(np.median(naive_times)), float(np.median(fast_times))

    tok = _Tokenizer(model.tokenizer, model.max_seq_length)
    t0 = time.perf_counter()
    lengths = [len(ids) for ids in tok.encode(texts)]
    tok_s = time.perf_counter() - t0
    n = len(texts)
    return {
        "device": device,
        "chunks": n,
        "mean_tokens": round(float(np.mean(lengths)), 1),
        "naive_chunks_per_s": round(n / naive_s, 1),
        "fast_chunks_per_s": round(n / fast_s, 1),
        "speedup": round(naive_s / fast_s, 2),
        "repeats": repeats,
        "speedups_each": [round(a / b, 2) for a, b in zip(naive_times, fast_times)],
        "tokenizer_1thread_chunks_per_s": round(n / tok_s, 1),
        "max_abs_diff": float(np.abs(naive - fast).max()),
        "min_cosine": round(float((naive * fast).sum(axis=1).min()), 5),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default="auto", help="comma list of cpu, cuda; auto = cpu plus cuda when available")
    p.add_argument("--count", type=int, default=0, help="chunks per device (default: 1,000 on CPU, 40,000 on CUDA)")
    p.add_argument("--model", default="", help="sentence-transformers model folder (default: the bundled MiniLM)")
    p.add_argument("--random-weights", action="store_true", help="random weights from the model's config.json")
    p.add_argument("--batch-size", type=int, default=32, help="batch size of the naive encode (its default: 32)")
    p.add_argument("--repeats", type=int, default=3, help="alternating runs of each path; medians are reported")
    p.add_argument("--smoke", action="store_true", help="CPU only, 48 chunks, one run each; not saved")
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    if args.model:
        model_path = args.model
    else:
        from retrieval.embedders import bundled_model_path

        model_path = bundled_model_path()
    if args.smoke:
        devices = ["cpu"]
    elif args.devices == "auto":
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        devices = args.devices.split(",")
    rows = []
    for device in devices:
        count = 48 if args.smoke else args.count or (40_000 if device.startswith("cuda") else 600)
        texts = synthetic_chunks(count, seed=1)
        model = load_model(model_path, device, args.random_weights)
        row = measure(model, texts, device, args.batch_size, 1 if args.smoke else args.repeats)
        if device.startswith("cuda"):
            row["gpu"] = torch.cuda.get_device_name(0)
        row["torch_threads"] = torch.get_num_threads()
        rows.append(row)
        print(row, file=sys.stderr)
        del model
    report("embed", {"model": args.model or "bundled:all-MiniLM-L6-v2", "random_weights": args.random_weights, "rows": rows},
           save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
