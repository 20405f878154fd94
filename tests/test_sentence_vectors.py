"""Passage sentences embedded at ingest (retrieval/sentence_vectors.py): stored with the index, reused
for unchanged files, added to an older index, and served so the answer step embeds only new text."""

import json

import numpy as np
import pytest

from retrieval.errors import IndexCorruptError
from retrieval.ingest import ingest
from retrieval.search import Retriever
from retrieval.sentence_vectors import VECTORS, KnownVectors, pieces
from retrieval.store import load_stored, save_index
from tests.conftest import CountingEmbedder


def _all_pieces(stored) -> list[str]:
    return list(dict.fromkeys(p for c in stored.chunks for p in pieces(c.text)))


def test_ingest_stores_every_passage_and_sentence_with_the_embedders_vectors(mini_corpus, make_retrieval_settings,
                                                                             embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    stored = load_stored(s.data_dir)
    texts, vectors = stored.sentences
    assert texts == _all_pieces(stored) and stored.manifest["sentences"] == len(texts)
    assert "温度参数 T 控制采样的随机性。" in texts  # a sentence, not only whole passages
    assert np.allclose(vectors, CountingEmbedder(64).embed(texts))
    assert {"sentences.json", "sentences.npy"} <= set(stored.manifest["integrity"])


def test_a_changed_file_embeds_only_its_new_sentences(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    before = load_stored(s.data_dir).sentences
    embedder.embedded.clear()
    (mini_corpus / "new.md").write_text("# 新增\n\n检索增强生成把检索器和生成器结合起来。它先检索再生成。\n", encoding="utf-8")
    ingest(s, progress=False, embedder=embedder)
    assert embedder.embedded and all("检索" in t or "生成" in t for t in embedder.embedded)
    after = load_stored(s.data_dir)
    assert "它先检索再生成。" in after.sentences[0]
    old = dict(zip(*before))
    assert all(np.array_equal(old[t], v) for t, v in zip(*after.sentences) if t in old)


def test_an_index_without_sentences_gets_them_without_embedding_its_chunks_again(
        mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    stored = load_stored(s.data_dir)
    manifest = {k: v for k, v in stored.manifest.items() if k not in ("sentences", "integrity")}
    from retrieval.ingest import write_search_structures

    save_index(s.data_dir, manifest, stored.chunks, stored.vectors,  # as written before sentences were kept
               write_extras=lambda folder: write_search_structures(folder, stored.chunks, stored.vectors, s))
    old = load_stored(s.data_dir)
    assert old.sentences is None and "sentences" not in old.manifest
    assert not isinstance(Retriever.load(s, embedder=embedder).embedder, KnownVectors)  # still searchable

    embedder.embedded.clear()
    report = ingest(s, progress=False, embedder=embedder)
    assert not report.up_to_date and report.embedded == 0  # no chunk embedded again
    assert load_stored(s.data_dir).sentences[0] == _all_pieces(old)
    assert ingest(s, progress=False, embedder=embedder).up_to_date


def test_a_damaged_sentence_table_is_reported_not_used(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    path = load_stored(s.data_dir).path / VECTORS
    path.write_bytes(path.read_bytes()[:-64])
    with pytest.raises(IndexCorruptError, match="sentences.npy"):
        load_stored(s.data_dir)


def test_a_sentence_table_that_does_not_match_its_manifest_is_refused(mini_corpus, make_retrieval_settings,
                                                                     embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    stored = load_stored(s.data_dir)
    manifest_path = stored.path / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["sentences"] += 1  # hashes still match: the count is what disagrees
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        load_stored(s.data_dir)


def test_the_retrievers_embedder_embeds_only_what_the_index_does_not_hold(mini_corpus, make_retrieval_settings,
                                                                         embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    retriever = Retriever.load(s, embedder=embedder)
    known = retriever.embedder
    assert isinstance(known, KnownVectors) and known.name == embedder.name and known.dim == embedder.dim
    embedder.embedded.clear()
    sentence, passage = "温度参数 T 控制采样的随机性。", retriever.chunks[0].text
    got = known.embed([sentence, "一句新话。", passage, "一句新话。"])
    assert embedder.embedded == ["一句新话。", "一句新话。"]  # only the unknown text reaches the model
    assert np.allclose(got, CountingEmbedder(64).embed([sentence, "一句新话。", passage, "一句新话。"]))
    assert known.embed([]).shape == (0, embedder.dim)
    assert getattr(known, "embed_queries", None) is None  # the inner embedder has none: search falls back to embed

    class WithQueries(CountingEmbedder):
        def embed_queries(self, texts):
            return -self.embed(texts)

    wrapped = KnownVectors(WithQueries(64), [], np.zeros((0, 64), dtype=np.float32))
    assert np.allclose(wrapped.embed_queries(["问"]), -CountingEmbedder(64).embed(["问"]))


def test_a_quoted_answer_embeds_no_passage_sentence(course, embedder):
    """The answer step (sentence choice, scope guard, citation check) finds every passage sentence in
    the table: what it still embeds is only new text (the question, a probe of the embedder)."""
    from tests.fakes import course_agent

    s, retriever = course
    table = set(retriever.stored.sentences[0])
    embedder.embedded.clear()
    answer = course_agent(course, answer_mode="extract", llm="local:bundled").ask("采样时温度参数 T 起什么作用？")
    assert answer.mode == "extract" and answer.citations
    assert not [t for t in embedder.embedded if t in table]
