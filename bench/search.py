"""Dense search latency and recall@10 against exact search, on the CPU and the GPU.

    python bench/search.py                                   # 10k and 100k, dim 384 and 1024, both datasets
    python bench/search.py --sizes 10000,100000,1000000 --ann-max 1000000   # on a big machine
    python bench/search.py --smoke                           # seconds; not saved

Datasets (synthetic, L2-normalised; queries are fresh draws, not copies of stored vectors):
- ``uniform``: i.i.d. Gaussian directions. No structure at all: the worst case for ANN indexes.
- ``clustered``: a Gaussian mixture (one centre per 1,000 vectors, noise as large as the centre,
  so a vector's cosine to its centre is about 0.7), closer to how text embeddings bunch by topic.

For each dataset × dim × size: FAISS flat (exact; the reference), HNSW (M=32, efConstruction
80) at several efSearch, IVF-flat (nlist ≈ 4·√n) at several nprobe, on the CPU, single queries
(p50/p95 in ms, recall@10 against flat); on a GPU, exact search through faiss (when it has
GPUs) and through torch CUDA (``TorchExactIndex``): single queries and batches of 64 queries.
Each row names the fastest CPU configuration with recall@10 ≥ 0.95. Last line: one JSON object,
also appended to bench/results/search.jsonl.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, report  # noqa: E402
from retrieval.backends import DenseIndex, TorchExactIndex, faiss_gpu_count, torch_cuda_available  # noqa: E402

HNSW_EF = (32, 64, 128, 256, 512)
IVF_NPROBE = (4, 8, 16, 32, 64)
GPU_BATCH = 64


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def make_data(kind: str, n: int, n_queries: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return _unit(rng.standard_normal((n, dim), dtype=np.float32)), _unit(rng.standard_normal((n_queries, dim), dtype=np.float32))
    if kind == "clustered":
        centres = _unit(rng.standard_normal((max(8, n // 1000), dim), dtype=np.float32))

        def draw(count):
            noise = rng.standard_normal((count, dim), dtype=np.float32) / math.sqrt(dim)
            return _unit(centres[rng.integers(0, len(centres), count)] + noise)

        return draw(n), draw(n_queries)
    raise SystemExit(f"unknown dataset {kind!r}; use uniform or clustered")


def _time_single(search, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, list[float]]:
    ids, times = [], []
    for q in queries:
        q = q.reshape(1, -1)
        t0 = time.perf_counter()
        _, found = search(q, k)
        times.append(time.perf_counter() - t0)
        ids.append(found[0])
    return np.array(ids), times


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / len(e) for f, e in zip(found, exact)]))


def _ms(times: list[float], q: float) -> float:
    return round(1000 * percentile(times, q), 3)


def _variant(name, param, search, queries, exact, build_s=None) -> dict:
    found, times = _time_single(search, queries)
    row = {"index": name, "param": param, "ms_p50": _ms(times, 50), "ms_p95": _ms(times, 95),
           "recall_at_10": round(_recall(found, exact), 4)}
    if build_s is not None:
        row["build_s"] = round(build_s, 2)
    return row


def cpu_variants(base: np.ndarray, queries: np.ndarray, exact: np.ndarray, hnsw_ef, ivf_nprobe) -> list[dict]:
    import faiss

    n, dim = base.shape
    out = []
    t0 = time.perf_counter()
    hnsw = DenseIndex.build(base, exact_max=0, use_gpu=False).index  # the app's HNSW, as ingest builds it
    build = time.perf_counter() - t0
    for ef in hnsw_ef:
        hnsw.hnsw.efSearch = ef
        out.append(_variant("hnsw", f"efSearch={ef}", hnsw.search, queries, exact, build))
    nlist = max(16, int(4 * math.sqrt(n)))
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    train = base[np.random.default_rng(1).choice(n, size=min(n, 40 * nlist), replace=False)]
    ivf.train(train)
    ivf.add(base)
    build = time.perf_counter() - t0
    for nprobe in ivf_nprobe:
        ivf.nprobe = nprobe
        out.append(_variant("ivf", f"nlist={nlist},nprobe={nprobe}", ivf.search, queries, exact, build))
    return out


def gpu_variants(base: np.ndarray, queries: np.ndarray, exact: np.ndarray) -> list[dict]:
    out = []
    searchers = []
    if faiss_gpu_count() > 0:
        index = DenseIndex.build(base, exact_max=len(base), use_gpu=True)
        searchers.append(("faiss-gpu-flat", index.search_many))
    if torch_cuda_available():
        import torch

        searchers.append(("torch-cuda-flat", TorchExactIndex(base, device="cuda").search))  # returns on the CPU: synced
        torch.cuda.synchronize()
    batches = [queries[i:i + GPU_BATCH] for i in range(0, len(queries) - GPU_BATCH + 1, GPU_BATCH)] or [queries]
    for name, search in searchers:
        search(queries[:GPU_BATCH], 10)  # warm-up (kernels, cuBLAS handles)
        row = _variant(name, "single", search, queries, exact)
        times = []
        for _ in range(max(1, 20 // len(batches))):
            for b in batches:
                t0 = time.perf_counter()
                search(b, 10)
                times.append(time.perf_counter() - t0)
        row[f"batch{len(batches[0])}_ms_p50"] = _ms(times, 50)
        row[f"batch{len(batches[0])}_ms_p95"] = _ms(times, 95)
        out.append(row)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--dims", default="384,1024")
    p.add_argument("--data", default="clustered,uniform")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--ann-max", type=int, default=200_000, help="skip the CPU HNSW/IVF builds above this size")
    p.add_argument("--no-cpu-flat-above", type=int, default=1_000_000, help="skip CPU flat timing above this size")
    p.add_argument("--smoke", action="store_true", help="2,000 vectors, dim 64, 64 queries; not saved")
    args = p.parse_args(argv)
    import faiss

    sizes = [2000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    dims = [64] if args.smoke else [int(d) for d in args.dims.split(",")]
    datasets = ["clustered"] if args.smoke else args.data.split(",")
    n_queries = 64 if args.smoke else args.queries
    hnsw_ef, ivf_nprobe = ((32, 128), (8,)) if args.smoke else (HNSW_EF, IVF_NPROBE)
    rows = []
    for data in datasets:
        for dim in dims:
            for n in sizes:
                base, queries = make_data(data, n, n_queries, dim)
                flat = faiss.IndexFlatIP(dim)
                flat.add(base)
                _, exact = flat.search(queries, 10)  # the reference answer
                variants = []
                if n <= args.no_cpu_flat_above:
                    variants.append(_variant("flat", "exact", flat.search, queries, exact))
                if n <= args.ann_max:
                    variants += cpu_variants(base, queries, exact, hnsw_ef, ivf_nprobe)
                gpu = gpu_variants(base, queries, exact)
                ok = [v for v in variants if v["recall_at_10"] >= 0.95]
                best = min(ok, key=lambda v: v["ms_p50"]) if ok else None
                row = {"data": data, "n": n, "dim": dim, "cpu": variants, "gpu": gpu,
                       "cpu_best_at_recall_95": best and {k: best[k] for k in ("index", "param", "ms_p50", "recall_at_10")}}
                rows.append(row)
                print(f"{data} n={n} dim={dim} best={row['cpu_best_at_recall_95']} gpu={gpu}", file=sys.stderr)
                del flat
    report("search", {"rows": rows, "queries": n_queries, "faiss_gpus": faiss_gpu_count(),
                      "torch_cuda": torch_cuda_available(), "faiss_threads": faiss.omp_get_max_threads()},
           save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
