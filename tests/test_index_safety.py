"""The index survives concurrent ingests, damaged files and oversized inputs.

Reproduced before: two ingests at once left ``CURRENT`` naming a half-deleted folder; a
truncated ``vectors.npy`` was searched silently and the next ingest kept 11 of 141 chunks;
a deleted index file gave a traceback; a small PDF expanded to 60,000 chunks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import IndexCorruptError
from retrieval.ingest import ingest
from retrieval.lock import IngestBusyError, ingest_lock
from retrieval.search import Retriever
from retrieval.store import current_index_dir, load_stored

ROOT = Path(__file__).resolve().parents[1]


def _many_files(corpus: Path, n: int, tag: str = "") -> None:
    for i in range(n):
        (corpus / f"doc{i:02d}.md").write_text(
            f"# 第{i}讲{tag}\n\n" + "".join(f"第{i}讲的第{j}个要点：温度参数控制采样。\n\n" for j in range(6)),
            encoding="utf-8")


# ---------------------------------------------------------------------------------- integrity

def test_truncated_vectors_are_a_clear_error_and_the_next_ingest_rebuilds_all(
        mini_corpus, make_retrieval_settings, embedder):
    _many_files(mini_corpus, 8)
    s = make_retrieval_settings(mini_corpus)
    full = ingest(s, progress=False, embedder=embedder).n_chunks
    vectors = current_index_dir(s.data_dir) / "vectors.npy"
    data = vectors.read_bytes()
    vectors.write_bytes(data[: len(data) // 3])

    with pytest.raises(IndexCorruptError) as err:
        Retriever.load(s, embedder=embedder)
    message = str(err.value)
    assert "vectors.npy" in message and "python -m retrieval ingest --rebuild" in message
    assert "\n" not in message

    report = ingest(s, progress=False, embedder=embedder)
    [said] = [m for m in report.messages if "damaged" in m and "rebuilding" in m]
    assert "vectors.npy" in said and "--rebuild" not in said  # what it does now, not advice to do it
    stored = load_stored(s.data_dir)
    assert len(stored.chunks) == stored.vectors.shape[0] == full  # everything, not what survived the cut
    Retriever.load(s, embedder=embedder).search("温度参数", k=3)


@pytest.mark.parametrize("victim", ["dense.faiss", "chunks.jsonl", "bm25"])
def test_a_deleted_or_changed_index_file_is_a_clear_error(mini_corpus, make_retrieval_settings, embedder, victim):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    path = current_index_dir(s.data_dir) / victim
    if path.is_dir():
        next(p for p in sorted(path.iterdir()) if p.is_file()).unlink()
    else:
        path.write_bytes(path.read_bytes()[:-1] + b"x")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        Retriever.load(s, embedder=embedder)


@pytest.mark.parametrize("victim", ["dense.faiss", "chunks.jsonl", "bm25/vocab.index.json"])
def test_a_manifest_that_stops_listing_a_changed_file_does_not_hide_it(mini_corpus, make_retrieval_settings, embedder,
                                                                          victim):
    import json

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    live = current_index_dir(s.data_dir)
    manifest = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    assert victim in manifest["integrity"]
    del manifest["integrity"][victim]  # the file's entry dropped, the file changed
    (live / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (live / victim).write_bytes((live / victim).read_bytes() + b" ")
    with pytest.raises(IndexCorruptError, match=f"does not list \\({victim}\\)"):
        Retriever.load(s, embedder=embedder)
    report = ingest(s, progress=False, embedder=embedder)  # and the next ingest rebuilds it
    assert report.n_chunks > 0 and not report.up_to_date
    Retriever.load(s, embedder=embedder).search("温度参数", k=3)


def test_files_a_search_never_reads_do_not_take_the_index_offline(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    live = current_index_dir(s.data_dir)
    for name in (".DS_Store", "manifest.json~", "#chunks.jsonl#", ".hidden/notes.txt"):
        (live / name).parent.mkdir(exist_ok=True)
        (live / name).write_bytes(b"an editor's or a file browser's")
    assert Retriever.load(s, embedder=embedder).search("温度参数", k=3)
    (live / "bm25" / "stray.json").write_text("{}", encoding="utf-8")  # but anything in bm25/ is checked
    with pytest.raises(IndexCorruptError, match="does not list"):
        Retriever.load(s, embedder=embedder)


def test_an_unreadable_manifest_is_rebuilt(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    (current_index_dir(s.data_dir) / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        Retriever.load(s, embedder=embedder)
    report = ingest(s, progress=False, embedder=embedder)
    assert report.n_chunks > 0 and not report.up_to_date
    Retriever.load(s, embedder=embedder)


# ---------------------------------------------------------------------------------- caps

def test_a_file_over_the_chunk_cap_is_skipped_with_the_reason(mini_corpus, make_retrieval_settings, embedder):
    (mini_corpus / "huge.md").write_text("# 大\n\n" + "".join(f"第{j}段很长的内容。\n\n" * 3 for j in range(400)),
                                         encoding="utf-8")
    report = ingest(make_retrieval_settings(mini_corpus, max_chunks_per_file=20), progress=False, embedder=embedder)
    skipped = {f.source: f.reason for f in report.skipped}
    assert "max_chunks_per_file" in skipped["huge.md"]
    assert {f.source for f in report.files if f.status == "added"} == {"notes/mini.md", "reading.md"}


def test_a_pdf_over_the_page_cap_is_skipped_before_extraction(mini_corpus, make_retrieval_settings, embedder):
    from tests.pdfs import cjk_pdf

    (mini_corpus / "long.pdf").write_bytes(cjk_pdf([f"第{i}页" for i in range(5)]))
    report = ingest(make_retrieval_settings(mini_corpus, max_pages_per_file=3), progress=False, embedder=embedder)
    assert "5 pages is over the limit of 3" in {f.source: f.reason for f in report.skipped}["long.pdf"]


# ---------------------------------------------------------------------------------- the lock

def test_a_second_ingest_waits_then_gives_up_with_a_sentence(mini_corpus, make_retrieval_settings, embedder):
    s = make_retrieval_settings(mini_corpus, ingest_lock_wait_s=0.3)
    with ingest_lock(s.data_dir):
        t0 = time.monotonic()
        with pytest.raises(IngestBusyError, match="another ingest"):
            ingest(s, progress=False, embedder=embedder)
        assert time.monotonic() - t0 >= 0.3
    ingest(s, progress=False, embedder=embedder)  # free again


def test_two_threads_ingesting_at_once_both_finish_with_a_whole_index(mini_corpus, make_retrieval_settings, embedder):
    _many_files(mini_corpus, 6)
    s = make_retrieval_settings(mini_corpus)
    errors, reports = [], []

    def run():
        try:
            reports.append(ingest(s, progress=False, embedder=embedder))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(reports) == 2
    assert sum(r.up_to_date for r in reports) == 1  # the second found the first one's work done
    stored = load_stored(s.data_dir)
    assert {c.source for c in stored.chunks} == {"notes/mini.md", "reading.md"} | {f"doc{i:02d}.md" for i in range(6)}


def _cli_ingest(corpus: Path, data: Path) -> subprocess.Popen:
    env = {**os.environ, "COURSETA_CORPUS_DIR": str(corpus), "COURSETA_DATA_DIR": str(data),
           "COURSETA_EMBEDDER": "hash:64", "COURSETA_CHUNK_SIZE": "200", "COURSETA_CHUNK_OVERLAP": "30"}
    return subprocess.Popen([sys.executable, "-m", "retrieval", "ingest", "--json"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_parallel_cli_ingests_never_break_the_live_index(mini_corpus, make_retrieval_settings):
    """Two ingest processes per round (the second sees a file the first may not), a reader searching throughout."""
    s = make_retrieval_settings(mini_corpus)
    _many_files(mini_corpus, 10)
    first = _cli_ingest(mini_corpus, s.data_dir)
    assert first.wait(120) == 0, first.stderr.read()

    stop, failures, searches = threading.Event(), [], [0]

    def reader():
        while not stop.is_set():
            try:
                hits = Retriever.load(s).search("温度参数", k=3)
                assert hits
                searches[0] += 1
            except Exception as exc:  # noqa: BLE001 - any failure is the bug
                failures.append(repr(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(3):
            _many_files(mini_corpus, 10, tag=f" v{round_}")
            a = _cli_ingest(mini_corpus, s.data_dir)
            (mini_corpus / f"upload{round_}.md").write_text(f"# 上传{round_}\n\n第{round_}次上传的笔记。\n",
                                                            encoding="utf-8")
            b = _cli_ingest(mini_corpus, s.data_dir)
            for proc in (a, b):
                assert proc.wait(120) == 0, proc.stderr.read()
            # the later ingest always ends with the upload in the index, whichever ran first
            assert f"upload{round_}.md" in load_stored(s.data_dir).manifest["files"]
    finally:
        stop.set()
        thread.join(30)
    assert not failures, failures[:3]
    assert searches[0] > 0
    stored = load_stored(s.data_dir)  # verifies sizes and hashes
    assert len({c.source for c in stored.chunks}) == 2 + 10 + 3
    assert len([p for p in s.data_dir.iterdir() if p.name.startswith("index-")]) <= 2
    assert not [p for p in s.data_dir.iterdir() if p.name.startswith(".building")]
    assert np.isfinite(stored.vectors).all()


def test_current_naming_a_path_is_not_followed(mini_corpus, make_retrieval_settings, embedder, tmp_path):
    from retrieval.errors import IndexMissingError

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False, embedder=embedder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_text("{}", encoding="utf-8")
    (s.data_dir / "CURRENT").write_text("../elsewhere", encoding="utf-8")
    assert current_index_dir(s.data_dir) is None
    with pytest.raises(IndexMissingError):
        Retriever.load(s, embedder=embedder)
