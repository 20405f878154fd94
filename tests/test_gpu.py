"""GPU placement of the FAISS index; skipped where faiss sees no GPU (CI, developer laptops)."""

import numpy as np
import pytest

from retrieval.backends import DenseIndex, faiss_gpu_count

gpu = pytest.mark.skipif(faiss_gpu_count() == 0, reason="faiss reports no GPU")


@pytest.mark.gpu
@gpu
def test_flat_index_moves_to_gpu_and_matches_cpu():
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((1000, 64)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    on_gpu = DenseIndex.build(vecs, exact_max=10_000, use_gpu=True)
    on_cpu = DenseIndex.build(vecs, exact_max=10_000, use_gpu=False)
    assert on_gpu.device == "gpu" and on_cpu.device == "cpu"
    assert [i for i, _ in on_gpu.search(vecs[3], 5)] == [i for i, _ in on_cpu.search(vecs[3], 5)]


def test_hnsw_beyond_the_exact_limit_finds_neighbours():
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((2000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = DenseIndex.build(vecs, exact_max=100, use_gpu=False)
    assert index.kind == "hnsw"
    found = sum(index.search(vecs[i], 1)[0][0] == i for i in range(0, 2000, 20))
    assert found >= 95
