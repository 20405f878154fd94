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


@pytest.mark.parametrize("damage", ["truncated", "missing", "count", "flipped"])
def test_a_damaged_sentence_table_is_left_out_and_made_again_without_the_chunks(
        mini_corpus, make_retrieval_settings, embedder, caplog, damage):
    """The table only saves time and can be made from the chunks: a damaged one never takes the index
    offline (it is left out, with a warning), and the next ingest makes it again, embedding no chunk."""
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    stored = load_stored(s.data_dir)
    want = stored.sentences[0]
    path = stored.path / VECTORS
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:-64])
    elif damage == "missing":
        path.unlink()
    elif damage == "flipped":  # same size, one byte of a vector changed: only the hash can tell
        data = bytearray(path.read_bytes())
        data[-3] ^= 0x40
        path.write_bytes(bytes(data))
    else:  # hashes still match: the count is what disagrees
        manifest_path = stored.path / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["sentences"] += 1
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level("WARNING", logger="courseta.retrieval"):
        damaged = load_stored(s.data_dir)
    assert damaged.sentences is None and len(damaged.chunks) == len(stored.chunks)
    assert "sentence table" in caplog.text
    retriever = Retriever.load(s, embedder=embedder)
    assert not isinstance(retriever.embedder, KnownVectors) and retriever.search("温度", k=1)  # still searchable

    embedder.embedded.clear()
    report = ingest(s, progress=False, embedder=embedder)
    assert not report.up_to_date and report.embedded == 0
    assert load_stored(s.data_dir).sentences[0] == want


def test_damage_to_the_chunks_is_still_an_error(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    path = load_stored(s.data_dir).path / "vectors.npy"
    path.write_bytes(path.read_bytes()[:-64])
    with pytest.raises(IndexCorruptError, match="vectors.npy"):
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
    all_known = known.embed([passage, sentence, sentence])  # no model call, the table's rows in order
    assert embedder.embedded == [] and np.allclose(all_known, CountingEmbedder(64).embed([passage, sentence, sentence]))
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


def test_answers_are_the_same_with_the_table_and_embed_far_less(course, embedder):
    """The answer step (sentence choice, scope guard, citation check) gets the table's vectors: the
    same answer as embedding each text when first needed, with only new text embedded (the question,
    the quote's lines, the embedder's probe)."""
    from agent.core import Agent
    from agent.semantic import Semantics

    s, retriever = course
    assert isinstance(retriever.embedder, KnownVectors)
    settings = s.override(answer_mode="extract", llm="local:bundled")
    questions = ["采样时温度参数 T 起什么作用？", "什么是语言模型？", "香农在哪篇论文中奠定了信息理论的基础？"]
    answers, counts = {}, {}
    for way in ("table", "none"):
        inner = CountingEmbedder(64)
        table = Retriever.load(settings.retrieval, embedder=inner)
        if way == "none":
            table.embedder = inner  # every text embedded when first needed, as before the table
        agent = Agent.from_settings(settings, retriever=table)
        answers[way] = [(a.answer, [c.n for c in a.citations]) for a in map(agent.ask, questions)]
        counts[way] = len(inner.embedded)
        if way == "table":
            stored = set(table.stored.sentences[0])
            assert not [t for t in inner.embedded if t in stored]
        Semantics.of(table.embedder)  # (the probe's texts count in both ways)
    assert answers["table"] == answers["none"] and all(text for text, _ in answers["table"])
    assert counts["table"] < counts["none"] / 2


def test_a_process_keeps_the_semantics_of_a_few_embedders_only(mini_corpus, make_retrieval_settings, embedder):
    """Each ingest makes the app load a new index (and a new table): older ones must be let go."""
    import gc
    import weakref

    from agent.semantic import Semantics

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    alive = []
    for _ in range(8):
        retriever = Retriever.load(s, embedder=embedder)
        Semantics.of(retriever.embedder)
        alive.append(weakref.ref(retriever.embedder))
        del retriever
    gc.collect()
    assert sum(ref() is not None for ref in alive) <= 4


def test_ingest_reports_the_sentences_progress(mini_corpus, make_retrieval_settings, embedder, monkeypatch):
    import retrieval.sentence_vectors as sv

    monkeypatch.setattr(sv, "SLICE", 5)
    s = make_retrieval_settings(mini_corpus)
    seen = []
    ingest(s, progress=False, embedder=embedder, on_progress=lambda fraction, message: seen.append((fraction, message)))
    total = len(load_stored(s.data_dir).sentences[0])
    steps = [(f, m) for f, m in seen if m.startswith("embedding the passages' sentences (")]
    assert len(steps) == -(-total // 5) and steps[-1][1].endswith(f"({total}/{total})")
    assert [f for f, _ in steps] == sorted(f for f, _ in steps) and 0.8 < steps[-1][0] <= 0.9
