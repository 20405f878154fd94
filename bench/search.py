"""Dense search latency and recall: ``python bench/search.py [--sizes 10000,100000] [--dims 384,1024] [--smoke]``.

Synthetic normalised vectors; for each size and dimension: FAISS flat (exact) and HNSW on the
CPU (and GPU flat when faiss has GPUs), query latency p50/p95 over single queries, and recall@10
of HNSW against exact search. Last line printed: one JSON object (also appended to bench/results/).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, report  # noqa: E402
from retrieval.backends import DenseIndex, faiss_gpu_count  # noqa: E402


def _vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _time_queries(index: DenseIndex, queries: np.ndarray, k: int = 10) -> tuple[list[list[int]], list[float]]:
    ids, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = index.search(q, k)
        times.append(time.perf_counter() - t0)
        ids.append([i for i, _ in hits])
    return ids, times


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--dims", default="384,1024")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--smoke", action="store_true", help="2,000 vectors, dim 64, 20 queries; not saved")
    args = p.parse_args(argv)
    sizes = [2000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    dims = [64] if args.smoke else [int(d) for d in args.dims.split(",")]
    n_queries = 20 if args.smoke else args.queries
    rows = []
    for dim in dims:
        for n in sizes:
            base = _vectors(n, dim, 0)
            queries = _vectors(n_queries, dim, 1)
            t0 = time.perf_counter()
            flat = DenseIndex.build(base, exact_max=n, use_gpu=False)
            flat_build = time.perf_counter() - t0
            exact, flat_t = _time_queries(flat, queries)
            t0 = time.perf_counter()
            hnsw = DenseIndex.build(base, exact_max=0, use_gpu=False)
            hnsw_build = time.perf_counter() - t0
            approx, hnsw_t = _time_queries(hnsw, queries)
            recall = float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact)]))
            row = {"n": n, "dim": dim,
                   "cpu_flat_ms_p50": round(1000 * percentile(flat_t, 50), 3), "cpu_flat_ms_p95": round(1000 * percentile(flat_t, 95), 3),
                   "cpu_hnsw_ms_p50": round(1000 * percentile(hnsw_t, 50), 3), "cpu_hnsw_ms_p95": round(1000 * percentile(hnsw_t, 95), 3),
                   "hnsw_recall_at_10": round(recall, 4), "flat_build_s": round(flat_build, 2), "hnsw_build_s": round(hnsw_build, 2)}
            if faiss_gpu_count() > 0:
                gpu = DenseIndex.build(base, exact_max=n, use_gpu=True)
                _, gpu_t = _time_queries(gpu, queries)
                row["gpu_flat_ms_p50"] = round(1000 * percentile(gpu_t, 50), 3)
            rows.append(row)
            print(row, file=sys.stderr)
    report("search", {"rows": rows, "queries": n_queries, "faiss_gpus": faiss_gpu_count()}, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
