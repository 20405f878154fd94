import json
import subprocess
import sys

import pytest

from retrieval.glossary import Glossary
from retrieval.ingest import ingest
from retrieval.search import Retriever, fuse
from retrieval.types import Hit

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


@pytest.fixture
def retriever(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    return Retriever.load(s, embedder=embedder)


def test_hits_carry_text_scores_ranks_and_metadata(retriever):
    hits = retriever.search("温度参数 T 控制什么？", k=3)
    assert len(hits) == 3
    top = hits[0]
    assert isinstance(top, Hit)
    assert "温度参数" in top.text
    assert top.source == "notes/mini.md" and top.title == "迷你讲义（测试）"
    assert top.heading_path == ["1.1 语言模型", "1.1.1 温度"]
    assert top.page is None and top.language == "zh"
    assert set(top.ranks) == {"bm25", "dense"} and top.ranks["bm25"] == 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    d = top.to_dict()
    for key in ("id", "text", "score", "ranks", "source", "title", "heading", "page", "start", "end", "language"):
        assert key in d


def test_english_query_finds_english_passage(retriever):
    assert retriever.search("scaling laws reading before the lecture", k=1)[0].source == "reading.md"


def test_glossary_bridges_english_questions_to_chinese_notes(mini_corpus, make_retrieval_settings, embedder, tmp_path):
    glossary = tmp_path / "g.tsv"
    glossary.write_text("cross entropy\t交叉熵\nentropy\t熵\n", encoding="utf-8")
    s = make_retrieval_settings(mini_corpus, query_glossary=str(glossary), dense_weight_en=0)
    ingest(s, progress=False, embedder=embedder)
    with_glossary = Retriever.load(s, embedder=embedder).search("What is cross entropy?", k=1)
    assert "交叉熵" in with_glossary[0].text
    without = Retriever.load(s.model_copy(update={"query_glossary": ""}), embedder=embedder)
    assert without.search("What is cross entropy?", k=1) == []


def test_k_larger_than_corpus_and_empty_query(retriever):
    assert len(retriever.search("语言模型", k=1000)) == len(retriever.chunks)
    assert retriever.search("   ", k=5) == []


def test_fusion_methods():
    runs = {"bm25": [(1, 9.0), (2, 3.0)], "dense": [(2, 0.9), (3, 0.1)]}
    assert [d for d, _ in fuse(runs, {"bm25": 1, "dense": 0})] == [1, 2]
    # min-max per retriever: bm25 → {1: 1, 2: 0}, dense → {2: 1, 3: 0}
    assert [d for d, _ in fuse(runs, {"bm25": 1, "dense": 2}, "score")] == [2, 1, 3]
    assert [d for d, _ in fuse(runs, {"bm25": 1, "dense": 0.1}, "score")] == [1, 2, 3]
    with pytest.raises(ValueError):
        fuse(runs, {"bm25": 1}, "magic")


def test_language_picks_the_weights(retriever):
    s = retriever.settings
    assert retriever.weights("温度是什么") == {"bm25": s.bm25_weight_zh, "dense": s.dense_weight_zh}
    assert retriever.weights("what is temperature") == {"bm25": s.bm25_weight_en, "dense": s.dense_weight_en}


def test_glossary_file_format(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        Glossary.load(bad)


def test_reranker_reorders_with_a_tiny_cross_encoder(mini_corpus, make_retrieval_settings, embedder, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    model_dir = tmp_path / "tiny-ce"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("温度参数语言模型熵香农交叉") + ["the", "scaling", "laws"]
    model_dir.mkdir()
    (model_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(model_dir / "vocab.txt")).save_pretrained(model_dir)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(model_dir)

    s = make_retrieval_settings(mini_corpus, reranker=str(model_dir), rerank_top_n=3)
    ingest(s, progress=False, embedder=embedder)
    plain = Retriever.load(s.model_copy(update={"reranker": ""}), embedder=embedder).search("温度参数", k=5)
    reranked = Retriever.load(s, embedder=embedder).search("温度参数", k=5)
    assert {h.id for h in reranked[:3]} == {h.id for h in plain[:3]}
    assert [h.id for h in reranked[3:]] == [h.id for h in plain[3:]]
    assert [h.ranks["rerank"] for h in reranked[:3]] == [1, 2, 3]
    scores = [h.scores["rerank"] for h in reranked[:3]]
    assert scores == sorted(scores, reverse=True)


def test_unknown_embedder_fails_loudly():
    from retrieval.embedders import get_embedder
    from retrieval.errors import EmbedderError

    with pytest.raises(EmbedderError, match="unknown embedder provider 'nope'"):
        get_embedder("nope:model")
    with pytest.raises(EmbedderError, match="provider:model"):
        get_embedder("just-a-name")
    with pytest.raises(EmbedderError, match="could not load embedding model"):
        get_embedder("st:/definitely/not/a/model").embed(["x"])


def _cli(*args, env_extra, cwd=REPO):
    import os

    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_cli_ingest_search_and_eval(mini_corpus, tmp_path):
    env = {"COURSETA_EMBEDDER": "hash:64", "COURSETA_DATA_DIR": str(tmp_path / "cli-data"),
           "COURSETA_CORPUS_DIR": str(mini_corpus), "COURSETA_CHUNK_SIZE": "200", "COURSETA_CHUNK_OVERLAP": "30"}
    out = _cli("-m", "retrieval", "ingest", env_extra=env)
    assert out.returncode == 0, out.stderr
    assert "notes/mini.md" in out.stdout and "added" in out.stdout and "indexed" in out.stdout
    out = _cli("-m", "retrieval", "search", "香农 熵", "--k", "2", "--json", env_extra=env)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(hits) == 2 and "香农" in hits[0]["text"]

    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"id": "a", "question": "香农提出了什么？", "answer_contains": ["香农在1948年"]}, ensure_ascii=False) + "\n"
        + json.dumps({"id": "b", "question": "scaling laws", "answer_contains": ["Scaling Laws for Neural"]}) + "\n"
        + json.dumps({"id": "c", "question": "zzz", "answer_contains": ["this string is nowhere"]}) + "\n"
        + json.dumps({"id": "oo", "question": "Who won the 2018 World Cup?", "answer_contains": []}) + "\n",
        encoding="utf-8",
    )
    out = _cli("-m", "retrieval.eval", "--qa", str(qa), "--k", "5", "--json", env_extra=env)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 3
    assert result["recall_at_k"] == pytest.approx(2 / 3, abs=1e-3)
    assert [m["id"] for m in result["misses"]] == ["c"]
    assert 0 < result["mrr"] <= round(2 / 3, 4)

    out = _cli("-m", "retrieval", "search", "x", env_extra={**env, "COURSETA_EMBEDDER": "hash:32"})
    assert out.returncode == 2 and "Traceback" not in out.stderr and "ingest" in out.stderr

    for bad_k in ("0", "101", "-3", "many"):
        out = _cli("-m", "retrieval", "search", "x", "--k", bad_k, env_extra=env)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert "--k must be a whole number from 1 to 100" in out.stderr.strip().splitlines()[-1]

    # a damaged index: one line saying what to run, no traceback
    import retrieval.store as store

    live = store.current_index_dir(tmp_path / "cli-data")
    (live / "vectors.npy").write_bytes((live / "vectors.npy").read_bytes()[:100])
    out = _cli("-m", "retrieval", "search", "x", env_extra=env)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [out.stderr.strip()] and "--rebuild" in out.stderr


def test_a_second_embedder_is_stored_with_the_index_and_adds_its_cosine(mini_corpus, make_retrieval_settings,
                                                                        embedder, monkeypatch):
    import numpy as np

    import retrieval.ingest as ingest_module
    from retrieval.embedders import HashEmbedder, embed_queries
    from retrieval.store import load_stored
    from tests.conftest import CountingEmbedder

    second = CountingEmbedder(32)
    monkeypatch.setattr(ingest_module, "get_embedder", lambda name, *a: second)
    s = make_retrieval_settings(mini_corpus, second_embedder="hash:32", second_weight=0.5)
    ingest(s, progress=False, embedder=embedder)
    stored = load_stored(s.data_dir)
    assert stored.vectors2.shape == (len(stored.chunks), 32) and stored.manifest["second_embedder"] == "hash:32"

    r = Retriever.load(s, embedder=embedder)
    query = "温度参数 T 控制什么？"
    q1, q2 = embed_queries(embedder, [query])[0], HashEmbedder(32).embed([query])[0]
    want = stored.vectors @ q1 + 0.5 * (stored.vectors2 @ q2)
    got = r.dense_search(query, 3)
    assert [d for d, _ in got] == list(np.argsort(-want, kind="stable")[:3])
    assert [round(sc, 5) for _, sc in got] == [round(float(want[d]), 5) for d, _ in got]

    # an added file: only its chunks are embedded by the second embedder too; the others' vectors are kept
    second.embedded.clear()
    (mini_corpus / "new.md").write_text("# 新增\n\n检索增强生成把检索器和生成器结合起来。\n", encoding="utf-8")
    ingest(s, progress=False, embedder=embedder)
    assert second.embedded and all("检索增强" in t for t in second.embedded)
    again = load_stored(s.data_dir)
    old = {c.id: v for c, v in zip(stored.chunks, stored.vectors2)}
    assert all(np.array_equal(old[c.id], v) for c, v in zip(again.chunks, again.vectors2) if c.id in old)


def test_the_translation_counts_on_the_dense_side_only_at_its_weight(mini_corpus, make_retrieval_settings, embedder):
    import numpy as np

    from retrieval.embedders import embed_queries

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    query, translation = "What does the temperature control?", "温度参数 T 控制采样的随机性"
    off = Retriever.load(s, embedder=embedder)
    assert off.dense_search(query, 3, translations=[translation]) == off.dense_search(query, 3)

    on = Retriever.load(s.model_copy(update={"translation_dense_weight": 2.0}), embedder=embedder)
    q, t = embed_queries(embedder, [query, translation])
    want = on.stored.vectors @ q + 2.0 * (on.stored.vectors @ t)
    got = on.dense_search(query, 3, translations=[translation])
    assert [d for d, _ in got] == list(np.argsort(-want, kind="stable")[:3])
    assert [round(sc, 5) for _, sc in got] == [round(float(want[d]), 5) for d, _ in got]
    assert got != off.dense_search(query, 3)  # the translation moved the dense side
    # search passes the translation to both sides
    hit = on.search(query, k=1, translations=[translation])[0]
    assert hit.ranks["dense"] == 1 and "温度" in hit.text


def test_an_index_without_the_second_embedder_the_settings_ask_for_is_rebuilt(mini_corpus, make_retrieval_settings,
                                                                               embedder):
    from retrieval.errors import IndexCorruptError, IndexMismatchError

    ingest(make_retrieval_settings(mini_corpus), progress=False, embedder=embedder)
    s = make_retrieval_settings(mini_corpus, second_embedder="hash:32")
    with pytest.raises(IndexMismatchError, match="second embedder None.*hash:32"):
        Retriever.load(s, embedder=embedder)
    report = ingest(s, progress=False, embedder=embedder)
    assert any("second embedder" in m for m in report.messages)
    assert Retriever.load(s, embedder=embedder).search("温度", k=1)
    from retrieval.store import current_index_dir

    (current_index_dir(s.data_dir) / "vectors2.npy").write_bytes(b"\x93NUMPY broken")
    with pytest.raises(IndexCorruptError, match="vectors2.npy"):
        Retriever.load(s, embedder=embedder)


def test_a_translation_of_the_question_adds_its_words_to_bm25(mini_corpus, make_retrieval_settings, embedder):
    """An English question about the Chinese notes, with no glossary: BM25 finds nothing of its own; the
    question's translation (made by the agent's model, passed per request) finds the passage, at the
    ``translation_weight`` it is given; weight 0 is the search without it."""
    s = make_retrieval_settings(mini_corpus, query_glossary="", dense_weight_en=0)
    ingest(s, progress=False, embedder=embedder)
    r = Retriever.load(s, embedder=embedder)
    question = "What does the temperature parameter control?"
    assert r.search(question, k=1) == []
    hit = r.search(question, k=1, translations=["温度参数控制什么？"])[0]
    assert "温度参数" in hit.text and hit.ranks["bm25"] == 1
    light = Retriever.load(s.model_copy(update={"translation_weight": 0.3}), embedder=embedder)
    assert light.search(question, k=1, translations=["温度参数控制什么？"])[0].scores["bm25"] == pytest.approx(
        0.3 / s.translation_weight * hit.scores["bm25"], rel=1e-4)
    off = Retriever.load(s.model_copy(update={"translation_weight": 0}), embedder=embedder)
    assert off.search(question, k=1, translations=["温度参数控制什么？"]) == []


def test_the_notes_languages_are_the_share_of_chunks_in_each(retriever):
    shares = retriever.languages()
    assert set(shares) == {"zh", "en"} and shares["zh"] > shares["en"] and sum(shares.values()) == pytest.approx(1)


def test_a_numbered_homework_asked_when_finds_the_schedule_that_writes_it_hw_n(tmp_path, make_retrieval_settings, embedder,
                                                                            monkeypatch):
    """"作业3什么时候截止？" shares 作业 and 3 with every homework passage and no word with the English
    schedule row "👉 hw3 due": the schedule's name "hw3" is searched too, by BM25 and by meaning, when
    the question asks when; a question about what the homework is searches its own words only."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "homework.md").write_text(
        "# 作业1\n\n作业1个人完成，实现一个小型语言模型。\n\n# 作业2\n\n作业2团队完成，构建数据并精调模型。\n\n"
        "# 作业3\n\n作业3团队完成，复现一篇前沿论文，报告约3页。\n\n# 提交\n\n作业2、3、4迟交总计不超过5天。\n",
        encoding="utf-8")
    (corpus / "schedule.md").write_text(
        "# Schedule\n\n14\t2024/05/23\tRetrieval Augmented Generation\t👉 hw3 due\n\n"
        "# Readings\n\nRead the scaling laws paper before the lecture on evaluation.\n", encoding="utf-8")
    s = make_retrieval_settings(corpus, query_glossary="", chunk_size=80, chunk_overlap=0)
    ingest(s, progress=False, embedder=embedder)
    r = Retriever.load(s, embedder=embedder)

    def schedule_rank(question):
        return [h.source for h in r.search(question, k=10)].index("schedule.md") + 1

    def dense_rank(question):  # the search by meaning alone
        return [r.chunks[doc].source for doc, _ in r.dense_search(question, 10)].index("schedule.md") + 1

    assert "hw3" in r.bm25_tokens("作业3什么时候截止？")[0]
    assert "hw3" in r.bm25_tokens("When is the third homework due?")[0]
    assert "hw3" not in r.bm25_tokens("作业3要做什么？")[0]
    questions = ("作业3什么时候截止？", "第三次作业哪天交？截止日期")
    with_alias = [schedule_rank(q) for q in questions], [dense_rank(q) for q in questions]
    assert schedule_rank("作业3要做什么？") > 1  # not asking when: no alias, no first place
    monkeypatch.setattr("retrieval.search.homework_aliases", lambda q: [])
    monkeypatch.setattr("retrieval.search.with_homework_aliases", lambda q: q)
    without = [schedule_rank(q) for q in questions], [dense_rank(q) for q in questions]
    assert with_alias == ([2, 1], [2, 1]) and without == ([5, 4], [5, 1]), (with_alias, without)


def test_the_schedule_naming_the_homework_asked_comes_second_not_first(tmp_path, make_retrieval_settings, embedder,
                                                                       monkeypatch):
    """Passages that repeat the question's words (作业1, 发布, 时间) outrank the schedule row "👉 hw1 out"
    even with the alias searched; the best chunks naming "hw1" are moved up right after the best chunk,
    which stays first (a question with 发布 in it may ask what was released)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    notes = "".join(f"# 说明{i}\n\n作业1发布时间请关注通知{i}，作业1发布后请按时提交，发布时间以通知为准。\n\n" for i in range(3))
    notes += "".join(f"# 其他{i}\n\n第{i}讲介绍语言模型的基本概念与训练方法。\n\n" for i in range(4))
    (corpus / "notes.md").write_text(notes, encoding="utf-8")
    (corpus / "schedule.md").write_text("# Schedule\n\n3\t2024/03/07\tLanguage Models\t👉 hw1 out\n", encoding="utf-8")
    s = make_retrieval_settings(corpus, query_glossary="", chunk_size=80, chunk_overlap=0)
    ingest(s, progress=False, embedder=embedder)
    r = Retriever.load(s, embedder=embedder)

    def schedule_rank():
        return [h.source for h in r.search("作业1什么时候发布？", k=10)].index("schedule.md") + 1

    moved = schedule_rank()
    monkeypatch.setattr("retrieval.search._schedule_up", lambda fused, holding: fused)
    assert (moved, schedule_rank() > 3) == (2, True)


@pytest.mark.parametrize("query", ["When is the ſecond homework due?", "When is the FİRST HOMEWORK due?", "ſhan't",
                                   "firſt assignment deadline", "作业３ ＃2 何时截止"])
def test_case_folding_letters_in_a_question_raise_nothing(query):
    """re.I folds "ſ" to "s" and "İ" to "i" where str.lower() does not: a lookup keyed by the lowered
    match raised KeyError, and every search of such a question failed (a hostile review's finding)."""
    from common.text import tokenize
    from retrieval.glossary import homework_aliases, with_homework_aliases

    tokenize(query), homework_aliases(query), with_homework_aliases(query)
