"""GPU placement of the dense index (faiss GPU or torch CUDA) and the torch exact search; real-GPU tests skip without one."""

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


def _unit(n, dim, seed):
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _torch_matches_faiss_flat(device):
    from retrieval.backends import TorchExactIndex

    vecs, queries = _unit(3000, 96, 2), _unit(40, 96, 3)
    faiss_scores, faiss_ids = DenseIndex.build(vecs, exact_max=10_000, use_gpu=False).search_many(queries, 10)
    torch_scores, torch_ids = TorchExactIndex(vecs, device=device).search(queries, 10)
    np.testing.assert_array_equal(torch_ids, faiss_ids)
    np.testing.assert_allclose(torch_scores, faiss_scores, atol=1e-5)
    # asking for more than there is gives everything, like faiss
    assert TorchExactIndex(vecs[:4], device=device).search(queries[:1], 10)[1].shape == (1, 4)


def test_torch_exact_search_matches_faiss_flat_on_cpu():
    _torch_matches_faiss_flat("cpu")


def test_exact_index_goes_to_torch_when_faiss_has_no_gpu_but_torch_has_cuda(tmp_path, monkeypatch):
    from retrieval import backends

    vecs = _unit(500, 32, 4)
    DenseIndex.build(vecs, exact_max=10_000, use_gpu=False).save(tmp_path / "dense.faiss")
    monkeypatch.setattr(backends, "faiss_gpu_count", lambda: 0)
    monkeypatch.setattr(backends, "torch_cuda_available", lambda: True)
    monkeypatch.setattr(DenseIndex, "TORCH_DEVICE", "cpu")  # stands in for "cuda" on this machine
    picked = DenseIndex.load(tmp_path / "dense.faiss", use_gpu=True)
    assert picked.device == "torch-cuda"
    assert isinstance(picked.searcher, backends.TorchExactIndex)
    cpu = DenseIndex.load(tmp_path / "dense.faiss", use_gpu=False)
    assert cpu.device == "cpu"
    assert picked.search(vecs[7], 5) == [(i, pytest.approx(s, abs=1e-5)) for i, s in cpu.search(vecs[7], 5)]
    picked.save(tmp_path / "again.faiss")  # still saveable: the faiss index stays on the CPU
    assert DenseIndex.load(tmp_path / "again.faiss", use_gpu=False).size == 500
    # HNSW indexes never move to torch (it only does exact search)
    DenseIndex.build(vecs, exact_max=10, use_gpu=False).save(tmp_path / "hnsw.faiss")
    assert DenseIndex.load(tmp_path / "hnsw.faiss", use_gpu=True).device == "cpu"


def _torch_cuda():
    from retrieval.backends import torch_cuda_available

    return torch_cuda_available()


@pytest.mark.gpu
@pytest.mark.skipif(not _torch_cuda(), reason="torch sees no CUDA device")
def test_torch_exact_search_on_cuda_matches_faiss_flat_on_cpu():
    _torch_matches_faiss_flat("cuda")


def test_large_indexes_get_hnsw_for_the_cpu_and_keep_the_exact_one_for_gpus(tmp_path, monkeypatch):
    from retrieval import backends

    vecs = _unit(600, 32, 5)
    backends.save_dense(tmp_path, vecs, exact_max=1000)
    assert not (tmp_path / backends.ANN_FILE).exists()  # small: exact only
    big = tmp_path / "big"
    big.mkdir()
    backends.save_dense(big, vecs, exact_max=100)
    assert (big / backends.ANN_FILE).exists() and (big / backends.FLAT_FILE).exists()
    monkeypatch.setattr(backends, "faiss_gpu_count", lambda: 0)
    monkeypatch.setattr(backends, "torch_cuda_available", lambda: False)
    assert backends.load_dense(big).kind == "hnsw"
    assert backends.load_dense(tmp_path).kind == "flat"
    monkeypatch.setattr(backends, "torch_cuda_available", lambda: True)
    monkeypatch.setattr(DenseIndex, "TORCH_DEVICE", "cpu")
    on_gpu = backends.load_dense(big)
    assert on_gpu.kind == "flat" and on_gpu.device == "torch-cuda"
    assert backends.load_dense(big, use_gpu=False).kind == "hnsw"  # faiss_gpu=off
