"""The fast ingest encoder gives the vectors of SentenceTransformer.encode (fp32 exactly, fp16 within tolerance).

``COURSETA_TEST_MINILM_DIR`` points these tests at a copy of the MiniLM folder instead of the
installed package (bench/device_check.sh: a GPU machine without the package).
"""

import os

import numpy as np
import pytest

from retrieval.fast_embed import FastEncodeConfig, fast_encode, token_budget_batches


def test_token_budget_batches_cover_every_row_once_within_the_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=500)
    batches = token_budget_batches(lengths, max_tokens=1024)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    for b in batches:
        assert len(b) == 1 or len(b) * lengths[b].max() <= 1024
    # sorted by length: each batch's rows are no longer than the next batch's
    assert all(lengths[a].max() <= lengths[b].min() for a, b in zip(batches, batches[1:]))
    assert token_budget_batches([900, 10], max_tokens=100)[-1].tolist() == [0]  # too long: alone


def _minilm_path() -> str:
    from retrieval.embedders import bundled_model_path

    return os.environ.get("COURSETA_TEST_MINILM_DIR") or bundled_model_path()


@pytest.fixture(scope="module")
def minilm():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(_minilm_path(), device="cpu")


def _mixed_texts():
    from bench.data import synthetic_chunks

    texts = synthetic_chunks(60, seed=3)
    # edge cases: empty, whitespace, one word, longer than the model's 256 tokens
    return texts + ["", "   ", "attention", "温度参数" * 200, "language model " * 300]


@pytest.mark.slow
def test_fast_encode_matches_naive_encode_on_cpu(minilm):
    texts = _mixed_texts()
    naive = minilm.encode(texts, batch_size=16, normalize_embeddings=True)
    # a small budget and slices force many buckets and several tokenising steps
    fast = fast_encode(minilm, texts, FastEncodeConfig(max_tokens_cpu=1500, slice_size=20, tokenizer_threads=2))
    assert fast.shape == naive.shape and fast.dtype == np.float32
    np.testing.assert_allclose(fast, naive, atol=2e-5)


@pytest.mark.slow
def test_embedder_uses_the_fast_path_for_batches_and_both_encoders_agree():
    from retrieval.embedders import get_embedder

    texts = _mixed_texts()
    fast = get_embedder("bundled:all-MiniLM-L6-v2", "cpu", encoder="fast")
    naive = get_embedder("bundled:all-MiniLM-L6-v2", "cpu", encoder="naive")
    assert len(texts) >= fast.FAST_MIN_TEXTS
    np.testing.assert_allclose(fast.embed(texts), naive.embed(texts), atol=2e-5)


def test_unknown_encoder_fails_loudly():
    from retrieval.embedders import get_embedder
    from retrieval.errors import EmbedderError

    with pytest.raises(EmbedderError, match="unknown embed encoder"):
        get_embedder("bundled:all-MiniLM-L6-v2", encoder="turbo")


def _cuda():
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="torch sees no CUDA device")
def test_fp16_on_cuda_matches_fp32_on_cpu_within_tolerance(minilm):
    from sentence_transformers import SentenceTransformer

    texts = _mixed_texts()
    reference = minilm.encode(texts, normalize_embeddings=True)
    gpu = SentenceTransformer(_minilm_path(), device="cuda")
    for precision in ("fp16", "bf16"):
        fast = fast_encode(gpu, texts, FastEncodeConfig(precision=precision))
        cos = (fast * reference).sum(axis=1)
        assert cos.min() > 0.995, (precision, cos.min())
        np.testing.assert_allclose(fast, reference, atol=2e-2 if precision == "bf16" else 5e-3)
