"""Files and manifests a hostile reviewer found that stopped or emptied an ingest: each is one skipped
file (or a rebuild) now, the rest indexes, and nothing indexed before is lost."""

import errno
import json
import os

import pytest

from retrieval import __main__ as cli
from retrieval.ingest import ingest
from retrieval.loaders import LoadError
from retrieval.search import Retriever
from retrieval.store import current_index_dir, load_stored, read_manifest
from retrieval.uploads import known_hashes
from tests.pdfs import cjk_pdf


def _report(s, embedder):
    report = ingest(s, progress=False, embedder=embedder)
    return report, {f.source: f for f in report.files}


@pytest.mark.parametrize("front", [
    "title: 第7讲\ndate: 2025-02-30",  # no such day: a ValueError in the YAML timestamp
    "title: " + "9" * 5000,  # past Python's int digits limit
    "a: " + "[" * 5000 + "]" * 5000,  # deeper than Python recurses
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\ntitle: [*c, *c, *c, *c, *c, *c, *c, *c, *c]",  # an alias bomb
])
def test_front_matter_it_cannot_read_leaves_the_file_indexed_without_it(front, mini_corpus, make_retrieval_settings,
                                                                          embedder):
    (mini_corpus / "week7.md").write_text(f"---\n{front}\n---\n# 第7讲\n\n注意力机制把每个位置和其他位置联系起来。\n",
                                          encoding="utf-8")
    report, files = _report(make_retrieval_settings(mini_corpus), embedder)
    assert {f.status for f in files.values()} == {"added"} and files["week7.md"].chunks >= 1


def test_a_date_in_sources_yaml_is_kept_as_its_text(mini_corpus, make_retrieval_settings, embedder):
    (mini_corpus / "sources.yaml").write_text("- path: notes/mini.md\n  title: 迷你讲义\n  date: 2025-03-03\n",
                                              encoding="utf-8")
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    assert {c.meta.get("date") for c in load_stored(s.data_dir).chunks if c.source == "notes/mini.md"} == {"2025-03-03"}


def test_a_file_that_fails_in_an_unforeseen_way_is_skipped_and_the_rest_indexed(mini_corpus, make_retrieval_settings,
                                                                                 embedder, monkeypatch):
    import retrieval.ingest as ingest_module

    real = ingest_module.chunk_document

    def chunk(doc, *args):
        if doc.source == "reading.md":
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")
        return real(doc, *args)

    monkeypatch.setattr(ingest_module, "chunk_document", chunk)
    report, files = _report(make_retrieval_settings(mini_corpus), embedder)
    assert files["reading.md"].status == "skipped" and "UnicodeEncodeError" in files["reading.md"].reason
    assert files["notes/mini.md"].status == "added" and report.n_chunks > 0


def test_names_and_links_it_cannot_read_are_skipped(mini_corpus, make_retrieval_settings, embedder):
    os.symlink("loop.md", mini_corpus / "loop.md")  # points at itself
    with open(os.path.join(os.fsencode(mini_corpus), "第3讲".encode("gbk") + b".md"), "wb") as fh:
        fh.write("# 第3讲\n\n自注意力。\n".encode("utf-8"))
    report, files = _report(make_retrieval_settings(mini_corpus), embedder)
    assert "a loop" in files["loop.md"].reason
    assert [f.reason for f in report.files if f.source.endswith(".md") and "\ufffd" in f.source] == [
        "its name is not UTF-8: rename the file"]
    report.table()  # printable
    assert files["notes/mini.md"].status == "added"


def test_a_corpus_of_only_unsupported_files_does_not_empty_the_index(mini_corpus, make_retrieval_settings, embedder,
                                                                      tmp_path):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    slides = tmp_path / "slides"
    slides.mkdir()
    (slides / "deck.pptx").write_bytes(b"PK\x03\x04 not indexable")
    with pytest.raises(LoadError, match="holds no file to index"):
        ingest(s, corpus_dir=slides, progress=False, embedder=embedder)
    assert {c.source for c in load_stored(s.data_dir).chunks} == {"notes/mini.md", "reading.md"}


def test_a_broken_new_version_keeps_the_last_good_one_searchable(tmp_path, make_retrieval_settings, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = cjk_pdf(["第5讲 注意力机制把每个位置和其他位置联系起来。"])
    (corpus / "lecture5.pdf").write_bytes(good)
    (corpus / "notes.md").write_text("# 笔记\n\n温度参数控制采样的随机性。\n", encoding="utf-8")
    s = make_retrieval_settings(corpus)
    ingest(s, progress=False, embedder=embedder)
    (corpus / "lecture5.pdf").write_bytes(good[: len(good) // 2])  # a copy cut off halfway
    for _ in range(2):  # and again, with nothing changed since
        report, files = _report(s, embedder)
        assert files["lecture5.pdf"].status == "skipped" and "previous version stays indexed" in files["lecture5.pdf"].reason
        assert any(c.source == "lecture5.pdf" for c in load_stored(s.data_dir).chunks)
    (corpus / "lecture5.pdf").write_bytes(good)  # the good copy put back: no stale "skipped" entry left (a review's case)
    report, files = _report(s, embedder)
    assert files["lecture5.pdf"].status == "unchanged" and "lecture5.pdf" not in read_manifest(s.data_dir)["skipped"]
    (corpus / "lecture5.pdf").write_bytes(cjk_pdf(["第5讲 修订版：多头注意力。"]))  # fixed: the new version replaces it
    report, files = _report(s, embedder)
    assert files["lecture5.pdf"].status == "updated"
    assert any("多头注意力" in c.text for c in load_stored(s.data_dir).chunks if c.source == "lecture5.pdf")
    (corpus / "lecture5.pdf").unlink()
    assert _report(s, embedder)[1]["lecture5.pdf"].status == "removed"


@pytest.mark.parametrize("edit", [lambda m: [m], lambda m: {**m, "files": []},
                                  lambda m: {**m, "files": {k: "x" for k in m["files"]}}])
def test_a_manifest_edited_into_another_shape_is_rebuilt(edit, mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    path = current_index_dir(s.data_dir) / "manifest.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")
    assert known_hashes(json.loads(path.read_text(encoding="utf-8"))) == {}
    report = ingest(s, progress=False, embedder=embedder)
    assert report.n_chunks > 0 and Retriever.load(s, embedder=embedder).search("温度", k=1)


def test_the_command_line_says_a_full_disk_in_one_sentence(monkeypatch, capsys):
    import retrieval.ingest as ingest_module

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/index-x/vectors.npy")

    monkeypatch.setattr(ingest_module, "ingest", full)
    assert cli.main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert err == "error: No space left on device (/data/index-x/vectors.npy); the index is left as it was\n"


def test_a_pdf_whose_text_takes_too_long_is_skipped_and_the_rest_indexed(mini_corpus, make_retrieval_settings,
                                                                          embedder):
    from tests.pdfs import slow_pdf

    (mini_corpus / "slow.pdf").write_bytes(slow_pdf())  # tens of seconds of pypdf, 5 KB
    (mini_corpus / "lecture.pdf").write_bytes(cjk_pdf(["第5讲 注意力机制把每个位置和其他位置联系起来。"]))
    report, files = _report(make_retrieval_settings(mini_corpus, pdf_timeout_s=1.0), embedder)
    assert files["slow.pdf"].status == "skipped"
    assert files["slow.pdf"].reason == "reading its text took over 1 s (setting pdf_timeout_s)"
    assert files["lecture.pdf"].status == "added" and files["notes/mini.md"].status == "added"


def test_a_pdf_padded_after_its_end_marker_is_read():
    from retrieval.loaders import read_pdf

    pages, _, _ = read_pdf(cjk_pdf(["第1讲 注意力。"]) + b"\0" * 4096)  # rejected as "truncated" before
    assert "注意力" in pages[0]


def test_sources_yaml_may_use_anchors_and_merge_keys(mini_corpus, make_retrieval_settings, embedder):
    """sources.yaml is the course staff's (an upload cannot replace it): its anchors are read; a
    corpus file's front matter may not use them (the alias bomb above)."""
    (mini_corpus / "sources.yaml").write_text(
        "- &common\n  path: notes/mini.md\n  course: cs2916\n  language: zh\n"
        "- <<: *common\n  path: reading.md\n  language: en\n", encoding="utf-8")
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    assert {c.meta.get("course") for c in load_stored(s.data_dir).chunks} == {"cs2916"}
