import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.ingest import ingest
from retrieval.loaders import LoadError
from retrieval.search import Retriever
from retrieval.store import CURRENT, current_index_dir, load_stored
from tests.pdfs import cjk_pdf, encrypted_pdf, image_only_pdf

REPO = Path(__file__).resolve().parent.parent


def _statuses(report):
    return {f.source: f.status for f in report.files}


def _chunk_texts_embedded(embedder, data_dir) -> list[str]:
    """What ``embedder`` embedded as chunks (the rest is their sentences: retrieval/sentence_vectors.py)."""
    indexed = {c.indexed_text() for c in load_stored(data_dir).chunks}
    return [t for t in embedder.embedded if t in indexed]


def test_first_ingest_then_nothing_to_do(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    report = ingest(s, progress=False, embedder=embedder)
    assert set(_statuses(report).values()) == {"added"}
    assert report.n_chunks == len(_chunk_texts_embedded(embedder, s.data_dir)) > 0
    n_embedded = len(embedder.embedded)
    pointer = s.data_dir / CURRENT
    before = (pointer.read_text(), pointer.stat().st_mtime_ns, sorted(os.listdir(s.data_dir)))

    again = ingest(s, progress=False, embedder=embedder)
    assert again.up_to_date and again.embedded == 0
    assert set(_statuses(again).values()) == {"unchanged"}
    assert (pointer.read_text(), pointer.stat().st_mtime_ns, sorted(os.listdir(s.data_dir))) == before
    assert len(embedder.embedded) == n_embedded  # nothing re-embedded


def test_incremental_add_change_remove(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    embedder.embedded.clear()

    (mini_corpus / "new.md").write_text("# 新增\n\n检索增强生成把检索器和生成器结合起来。\n", encoding="utf-8")
    (mini_corpus / "reading.md").write_text("# Reading list\n\nOnly week 5 now: alignment.\n", encoding="utf-8")
    (mini_corpus / "notes" / "mini.md").unlink()
    report = ingest(s, progress=False, embedder=embedder)
    assert _statuses(report) == {"new.md": "added", "reading.md": "updated", "notes/mini.md": "removed"}
    # only the chunks of the new and changed files were embedded
    assert all(("检索增强" in t) or ("alignment" in t) for t in embedder.embedded)
    stored = load_stored(s.data_dir)
    assert {c.source for c in stored.chunks} == {"new.md", "reading.md"}
    assert stored.vectors.shape[0] == len(stored.chunks)
    hits = Retriever.load(s, embedder=embedder).search("检索增强生成", k=1)
    assert hits[0].source == "new.md"


def test_an_index_of_another_tokenizer_is_rebuilt(mini_corpus, make_retrieval_settings, embedder, monkeypatch):
    """BM25's words are made by common.text.tokenize at index and at query time; when it changes
    (version 2 drops the "s" of "what's"), an index made by the other version is not searched but
    rebuilt, as for changed chunking."""
    import retrieval.store as store
    from retrieval.errors import IndexMismatchError

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    monkeypatch.setattr(store, "TOKENIZER_VERSION", store.TOKENIZER_VERSION + 1)
    with pytest.raises(IndexMismatchError, match="tokenizer version"):
        Retriever.load(s, embedder=embedder)
    report = ingest(s, progress=False, embedder=embedder)
    assert any("tokenizer version" in m and "rebuilding" in m for m in report.messages)
    Retriever.load(s, embedder=embedder).search("温度", k=2)


def test_changed_settings_rebuild_with_message(mini_corpus, make_retrieval_settings, embedder):
    ingest(make_retrieval_settings(mini_corpus), progress=False, embedder=embedder)
    s2 = make_retrieval_settings(mini_corpus, chunk_size=120)
    with pytest.raises(Exception, match="chunking"):
        Retriever.load(s2, embedder=embedder)  # never searched with mismatched chunks
    report = ingest(s2, progress=False, embedder=embedder)
    assert any("rebuilding" in m for m in report.messages)
    assert set(_statuses(report).values()) == {"added"}
    Retriever.load(s2, embedder=embedder).search("温度", k=2)

    s3 = make_retrieval_settings(mini_corpus, chunk_size=120, embedder="hash:32")
    from retrieval.errors import IndexMismatchError

    with pytest.raises(IndexMismatchError, match="embedder 'hash:64'.*hash:32.*ingest"):
        Retriever.load(s3)
    report = ingest(s3, progress=False)
    assert any("embedder" in m for m in report.messages)
    assert load_stored(s3.data_dir).vectors.shape[1] == 32


def test_rebuild_flag_reembeds_everything(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    first = ingest(s, progress=False, embedder=embedder)
    embedder.embedded.clear()
    report = ingest(s, rebuild=True, progress=False, embedder=embedder)
    assert report.embedded == first.n_chunks == len(_chunk_texts_embedded(embedder, s.data_dir))


def test_every_bad_input_is_reported_and_skipped(mini_corpus, make_retrieval_settings, embedder, tmp_path):
    bad = mini_corpus / "bad"
    bad.mkdir()
    (bad / "empty.md").write_bytes(b"")
    (bad / "junk.md").write_bytes(os.urandom(4096) + b"\x00" * 10)
    (bad / "truncated.pdf").write_bytes(cjk_pdf(["第一页内容", "第二页内容"])[:700])
    (bad / "encrypted.pdf").write_bytes(encrypted_pdf(cjk_pdf(["机密"]), "secret"))
    (bad / "scanned.pdf").write_bytes(image_only_pdf())
    with open(bad / "huge.md", "wb") as fh:  # 50 MB, sparse
        fh.truncate(50 * 2**20)
    (bad / "latin1.txt").write_bytes("café naïve résumé déjà vu à la carte".encode("latin-1") * 10)
    outside = tmp_path / "secret.md"
    outside.write_text("# 秘密\n\n不应被索引。\n", encoding="utf-8")
    (bad / "escape.md").symlink_to(outside)
    (mini_corpus / "good.pdf").write_bytes(cjk_pdf(["课程资源\n免费的 GPU 资源"]))

    report = ingest(make_retrieval_settings(mini_corpus, max_file_mb=20), progress=False, embedder=embedder)
    skipped = {f.source: f.reason for f in report.skipped}
    expected = {
        "bad/empty.md": "empty file",
        "bad/junk.md": "binary",
        "bad/truncated.pdf": "truncated PDF",
        "bad/encrypted.pdf": "encrypted PDF",
        "bad/scanned.pdf": "no text layer",
        "bad/huge.md": "over the 20 MB size limit",
        "bad/latin1.txt": "undecodable",
        "bad/escape.md": "symlink pointing outside the corpus",
    }
    assert set(skipped) == set(expected)
    for source, reason in expected.items():
        assert reason in skipped[source], (source, skipped[source])
    assert _statuses(report)["good.pdf"] == "added"
    assert _statuses(report)["notes/mini.md"] == "added"
    assert not any("秘密" in t for t in embedder.embedded)
    # and a second run with the same bad files is "nothing to do", still reporting them
    again = ingest(make_retrieval_settings(mini_corpus, max_file_mb=20), progress=False, embedder=embedder)
    assert again.up_to_date
    assert {f.source for f in again.skipped} == set(expected)


def test_crash_while_building_keeps_the_old_index(mini_corpus, make_retrieval_settings, embedder, monkeypatch):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    live = current_index_dir(s.data_dir)
    before = Retriever.load(s, embedder=embedder).search("温度参数", k=3)

    (mini_corpus / "more.md").write_text("# 更多\n\n新的内容。\n", encoding="utf-8")
    import retrieval.ingest as ingest_mod

    def boom(folder, *args, **kwargs):
        (folder / "dense.faiss").write_bytes(b"half written")
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(ingest_mod, "write_search_structures", boom)
    with pytest.raises(KeyboardInterrupt):
        ingest(s, progress=False, embedder=embedder)
    assert current_index_dir(s.data_dir) == live
    assert not [p for p in s.data_dir.iterdir() if p.name.startswith(".building")]
    after = Retriever.load(s, embedder=embedder).search("温度参数", k=3)
    assert [h.id for h in after] == [h.id for h in before]

    monkeypatch.undo()
    report = ingest(s, progress=False, embedder=embedder)
    assert _statuses(report)["more.md"] == "added"
    assert current_index_dir(s.data_dir) != live and live.exists()  # kept one generation: a reader may hold it
    (mini_corpus / "more.md").write_text("# 更多\n\n又改了。\n", encoding="utf-8")
    ingest(s, progress=False, embedder=embedder)
    assert not live.exists()
    assert len([p for p in s.data_dir.iterdir() if p.name.startswith("index-")]) == 2


def test_missing_corpus_and_index_are_clear_errors(make_retrieval_settings, tmp_path):
    from retrieval.errors import IndexMissingError
    from retrieval.loaders import LoadError

    s = make_retrieval_settings(tmp_path / "nope")
    with pytest.raises(LoadError, match="does not exist"):
        ingest(s, progress=False)
    with pytest.raises(IndexMissingError, match="python -m retrieval ingest"):
        Retriever.load(s)


def test_removing_every_file_empties_the_index_instead_of_keeping_the_old_one(mini_corpus, make_retrieval_settings,
                                                                              embedder):
    """A teacher who removes every file must not leave the removed notes searchable (bm25s cannot save
    an index of no documents: the ingest used to fail there and the old index stayed live)."""
    import shutil

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    assert Retriever.load(s, embedder=embedder).search("温度", k=1)
    for entry in list(mini_corpus.iterdir()):
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    report = ingest(s, progress=False, embedder=embedder, allow_empty=True)  # (refused without: the next test)
    assert report.n_chunks == 0 and set(_statuses(report).values()) == {"removed"}
    retriever = Retriever.load(s, embedder=embedder)
    assert retriever.chunks == [] and retriever.search("温度", k=3) == [] and retriever.languages() == {}
    assert ingest(s, progress=False, embedder=embedder).up_to_date

    (mini_corpus / "empty.md").write_bytes(b"")  # only a file that cannot be indexed: reported, and then nothing to do
    report = ingest(s, progress=False, embedder=embedder)
    assert _statuses(report) == {"empty.md": "skipped"} and report.n_chunks == 0
    again = ingest(s, progress=False, embedder=embedder)
    assert again.up_to_date and {f.source for f in again.skipped} == {"empty.md"}


def test_an_empty_corpus_folder_does_not_empty_a_live_index_unless_asked(mini_corpus, make_retrieval_settings,
                                                                          embedder, tmp_path):
    """A mount that failed (an empty folder) or a wrong --corpus must not wipe the class's index."""
    s = make_retrieval_settings(mini_corpus)
    full = ingest(s, progress=False, embedder=embedder).n_chunks
    empty = tmp_path / "mnt"
    empty.mkdir()
    with pytest.raises(LoadError, match="holds no file.*--allow-empty"):
        ingest(s, corpus_dir=empty, progress=False, embedder=embedder)
    assert len(Retriever.load(s, embedder=embedder).chunks) == full  # left as it was
    assert Retriever.load(s, embedder=embedder).search("温度", k=1)

    env = {**os.environ, "COURSETA_CORPUS_DIR": str(empty), "COURSETA_DATA_DIR": str(s.data_dir),
           "COURSETA_EMBEDDER": s.embedder, "COURSETA_SECOND_EMBEDDER": s.second_embedder}
    out = subprocess.run([sys.executable, "-m", "retrieval", "ingest"], env=env, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 2 and "--allow-empty" in out.stderr and len(out.stderr.strip().splitlines()) == 1

    report = ingest(s, corpus_dir=empty, progress=False, embedder=embedder, allow_empty=True)
    assert report.n_chunks == 0
    assert ingest(s, corpus_dir=empty, progress=False, embedder=embedder).up_to_date  # nothing left to protect


def test_the_last_upload_removed_from_the_corpus_page_leaves_the_index(make_retrieval_settings, embedder, tmp_path):
    """A tester's: a corpus of uploads only, its last one removed on the Corpus page, was refused as "a
    folder that did not mount", so the removed file stayed in the index and in students' answers, and no
    button on the page could help. Removed there (kept in uploads/.removed/), the index drops it; a
    folder emptied otherwise is still refused."""
    from retrieval.uploads import remove_upload, save_upload

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    s = make_retrieval_settings(corpus)
    save_upload(corpus, "secret.md", "# 考试\n\n第七题的答案是紫色大象。".encode(), s.max_file_mb, None)
    assert ingest(s, progress=False, embedder=embedder).n_chunks
    assert Retriever.load(s, embedder=embedder).search("紫色大象", k=1)
    remove_upload(corpus, "uploads/secret.md")
    report = ingest(s, progress=False, embedder=embedder)
    assert report.n_chunks == 0 and _statuses(report) == {"uploads/secret.md": "removed"}
    assert Retriever.load(s, embedder=embedder).search("紫色大象", k=3) == []

    # gone, but not through the page (a file of the name removed there earlier held other bytes): refused
    save_upload(corpus, "secret.md", "# 笔记\n\n温度控制随机性。".encode(), s.max_file_mb, None)
    ingest(s, progress=False, embedder=embedder)
    (corpus / "uploads" / "secret.md").unlink()
    with pytest.raises(LoadError, match="holds no file.*--allow-empty"):
        ingest(s, progress=False, embedder=embedder)


def test_a_file_skipped_for_a_limit_is_tried_again_when_the_limit_is_raised(mini_corpus, make_retrieval_settings,
                                                                           embedder):
    big = "# 大文件\n\n" + "\n\n".join(f"第{i}段：语言模型把概率分配给令牌序列，温度控制采样。" * 3 for i in range(40))
    (mini_corpus / "big.md").write_text(big, encoding="utf-8")
    tight = make_retrieval_settings(mini_corpus, chunk_size=200, max_chunks_per_file=2)
    report = ingest(tight, progress=False, embedder=embedder)
    assert _statuses(report)["big.md"] == "skipped" and "max_chunks_per_file" in report.skipped[0].reason
    assert ingest(tight, progress=False, embedder=embedder).up_to_date  # same limit: nothing to do

    raised = make_retrieval_settings(mini_corpus, chunk_size=200, max_chunks_per_file=10_000)
    report = ingest(raised, progress=False, embedder=embedder)
    assert _statuses(report)["big.md"] == "added" and not report.up_to_date


def test_a_skipped_file_is_not_read_again_when_another_file_changes(mini_corpus, make_retrieval_settings, embedder,
                                                                    monkeypatch):
    """A tester's: a file skipped for a limit was read and chunked again by every later ingest (a 19 MB
    file on each upload; a PDF that runs into pdf_timeout_s would cost minutes each time, the ingest lock
    held). Unchanged under the same limits, it is skipped again unread, its reason kept."""
    import retrieval.ingest as ingest_module

    (mini_corpus / "big.md").write_text("# 大文件\n\n" + "\n\n".join(f"第{i}段：温度控制采样。" * 3 for i in range(40)),
                                        encoding="utf-8")
    tight = make_retrieval_settings(mini_corpus, chunk_size=200, max_chunks_per_file=2)
    first = ingest(tight, progress=False, embedder=embedder)
    read = []
    real = ingest_module.load_document
    monkeypatch.setattr(ingest_module, "load_document", lambda path, *a, **k: read.append(path.name) or real(path, *a, **k))
    (mini_corpus / "new.md").write_text("# 新讲义\n\n蓝鲸的迁徙。", encoding="utf-8")
    report = ingest(tight, progress=False, embedder=embedder)
    assert read == ["new.md"] and _statuses(report)["big.md"] == "skipped" and _statuses(report)["new.md"] == "added"
    assert report.skipped[0].reason == first.skipped[0].reason
    assert ingest(tight, progress=False, embedder=embedder).up_to_date

    # skipped for a passing cause (memory): tried again by the next ingest, not kept skipped (a review's)
    (mini_corpus / "new.md").write_text("# 新讲义\n\n蓝鲸的迁徙，第二版。", encoding="utf-8")
    monkeypatch.setattr(ingest_module, "load_document", lambda path, *a, **k: (_ for _ in ()).throw(MemoryError()))
    assert _statuses(ingest(tight, progress=False, embedder=embedder))["new.md"] == "skipped"
    monkeypatch.setattr(ingest_module, "load_document", real)
    assert _statuses(ingest(tight, progress=False, embedder=embedder))["new.md"] == "updated"


def test_an_empty_index_with_a_second_embedder_searches_nothing(mini_corpus, make_retrieval_settings, embedder,
                                                               monkeypatch):
    import shutil

    import retrieval.ingest as ingest_module
    from tests.conftest import CountingEmbedder

    monkeypatch.setattr(ingest_module, "get_embedder", lambda name, *a: CountingEmbedder(32))
    for entry in list(mini_corpus.iterdir()):
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    s = make_retrieval_settings(mini_corpus, second_embedder="hash:32")
    ingest(s, progress=False, embedder=embedder)
    retriever = Retriever.load(s, embedder=embedder)
    retriever.second = CountingEmbedder(32)
    assert retriever.dense_search("温度", 5) == [] and retriever.search("温度", k=5) == []
