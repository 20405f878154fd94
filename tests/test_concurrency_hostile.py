"""A hostile tester's cases against "concurrent users, concurrent ingests and broken files never
corrupt the index or lose an answer; a user sees one sentence" (2026-12-05 evening). Each failed
before its fix; the tester's own scripts (races over hundreds of rounds, a read-only or full tmpfs
mounted as root) are summarised in docs/SECURITY.md."""

import threading
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from agent.records import Answer
from retrieval.errors import UploadError
from retrieval.lock import ingest_lock
from retrieval.store import CURRENT, current_index_dir, save_index
from retrieval.uploads import remove_upload, save_upload, uploaded_sources
from ui.answer_log import AnswerLog
from ui.conversations import ConversationStore
from ui.sqlite_store import StoreError

REPO = Path(__file__).resolve().parent.parent


def _race(*calls):
    """Run the calls at the same moment in threads; each one's result or its UploadError's text."""
    start, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        start.wait()
        try:
            results[i] = call()
        except UploadError as exc:
            results[i] = str(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return results


def test_two_uploads_of_one_name_at_once_keep_one_whole_file_and_refuse_the_other(tmp_path):
    """Both had been told "saved", and the file could hold both uploads' bytes (7-12 of 300 rounds)."""
    for r in range(30):
        corpus = tmp_path / f"c{r}"
        anna, ben = (f"# {who}\n\n{who}'s week 3 notes {r}\n".encode() * 3000 for who in ("anna", "ben"))
        results = _race(lambda: save_upload(corpus, "week3.md", anna, 20, None),
                        lambda: save_upload(corpus, "week3.md", ben, 20, None))
        saved = [r for r in results if isinstance(r, Path)]
        assert len(saved) == 1 and any("already uploaded" in str(r) for r in results)
        assert saved[0].read_bytes() in (anna, ben)
        assert sorted(p.name for p in (corpus / "uploads").iterdir() if not p.name.startswith(".")) == ["week3.md"]


def test_two_uploads_of_one_content_at_once_are_saved_once(tmp_path):
    data = "# 第3讲\n\n温度参数控制随机性。\n".encode() * 1000
    for r in range(10):
        corpus = tmp_path / f"c{r}"
        results = _race(lambda: save_upload(corpus, "a.md", data, 20, None),
                        lambda: save_upload(corpus, "b.md", data, 20, None))
        assert sum(isinstance(r, Path) for r in results) == 1
        assert any("same content is already in the corpus" in str(r) for r in results)


def test_two_tas_removing_one_upload_at_once_remove_it_once(tmp_path):
    for r in range(20):
        corpus = tmp_path / f"c{r}"
        save_upload(corpus, "week3.md", f"# week 3 {r}\n\ntext\n".encode(), 20, None)
        results = _race(lambda: remove_upload(corpus, "uploads/week3.md"),
                        lambda: remove_upload(corpus, "uploads/week3.md"))
        kept = [r for r in results if isinstance(r, Path)]
        assert len(kept) == 1 and any("no longer in the corpus" in str(r) for r in results)
        assert kept[0].read_bytes() == f"# week 3 {r}\n\ntext\n".encode() and uploaded_sources(corpus) == []


def test_a_removal_racing_a_new_upload_of_that_name_keeps_both_files_whole(tmp_path):
    """A TA replacing a wrong file (remove, then upload the right one) while another TA removes it too:
    the new file is either saved under the name (and stays) or refused; the old one is kept aside."""
    old, new = b"# old\n\nwrong notes\n" * 500, b"# new\n\nright notes\n" * 500
    for r in range(20):
        corpus = tmp_path / f"c{r}"
        save_upload(corpus, "week3.md", old, 20, None)
        results = _race(lambda: remove_upload(corpus, "uploads/week3.md"),
                        lambda: save_upload(corpus, "week3.md", new, 20, None))
        removed = list((corpus / "uploads" / ".removed").glob("*/week3.md"))
        assert [p.read_bytes() for p in removed] == [old]  # the old file moved aside whole, never the new one
        if isinstance(results[1], Path):  # saved after the removal: it is the file under the name now
            assert results[1].read_bytes() == new and uploaded_sources(corpus) == ["uploads/week3.md"]
        else:  # checked before the removal: refused, nothing of it saved
            assert "already uploaded" in results[1] and uploaded_sources(corpus) == []


@pytest.mark.parametrize("store", [AnswerLog, ConversationStore])
def test_a_store_in_a_folder_it_cannot_write_is_one_sentence(tmp_path, store):
    """An OSError (read-only folder, EACCES, a file where the folder should be) escaped the
    constructors: the chat page showed Streamlit's error box and no answer."""
    blocker = tmp_path / "data"
    blocker.write_text("a file, not a folder")
    with pytest.raises(StoreError, match="cannot be opened"):
        store(blocker / "store.sqlite")


def test_the_chat_answers_when_the_log_and_chats_cannot_be_stored(app_env, tmp_path, monkeypatch):
    import streamlit as st

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("COURSETA_ANSWER_LOG_PATH", str(blocker / "answers.sqlite"))
    monkeypatch.setenv("COURSETA_CONVERSATIONS_PATH", str(blocker / "chats.sqlite"))
    from settings import get_settings

    get_settings.cache_clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    at.chat_input[0].set_value("温度参数T有什么作用？").run()
    assert not at.exception
    assert len(at.chat_message) == 2 and "温度参数" in " ".join(m.value for m in at.markdown)
    assert any("Could not save or load" in w.value for w in at.warning)


def test_the_ingest_lock_is_the_folder_so_deleting_files_cannot_break_it(tmp_path):
    """The lock was a file: deleted during an ingest, the next ingest locked a new one and ran alongside."""
    import subprocess
    import sys

    data = tmp_path / "data"
    other = ("import sys; from retrieval.lock import ingest_lock, IngestBusyError\n"
             "try:\n    with ingest_lock(sys.argv[1], timeout_s=0): print('acquired')\n"
             "except IngestBusyError: print('busy')")
    with ingest_lock(data, timeout_s=0):
        for leftover in data.iterdir():  # a clean-up script
            leftover.unlink()
        (data / ".ingest.lock").unlink(missing_ok=True)
        second = subprocess.run([sys.executable, "-c", other, str(data)], cwd=REPO, capture_output=True, text=True)
        assert second.stdout.strip() == "busy", second.stderr
    again = subprocess.run([sys.executable, "-c", other, str(data)], cwd=REPO, capture_output=True, text=True)
    assert again.stdout.strip() == "acquired", again.stderr


def test_the_corpus_pages_search_box_says_a_damaged_index_in_one_sentence(app_env):
    """A damaged or mismatched index raised out of the playground's search: Streamlit's error box."""
    import streamlit as st
    from settings import get_settings

    st.cache_resource.clear()
    (current_index_dir(get_settings().retrieval.data_dir) / "vectors.npy").write_bytes(b"damaged")
    at = AppTest.from_file(str(REPO / "pages" / "3_Corpus.py"), default_timeout=120)
    at.query_params["ta"] = "test-ta-token-0123456789"
    at.run()
    at.text_input[0].set_value("交叉熵").run()
    assert not at.exception
    assert any("is damaged" in e.value and "rebuild" in e.value for e in at.error)


def test_feedback_is_never_written_onto_another_answer_after_the_log_was_replaced(tmp_path):
    path = tmp_path / "answers.sqlite"
    log = AnswerLog(path)
    alice = [Answer(question=f"alice question {i}", query="q", answer=f"alice answer {i}", language="en",
                    strategy="route", mode="extract") for i in range(3)]
    ids = [log.record(a) for a in alice]
    path.write_bytes(b"garbage, not a database" * 100)  # damaged: the next write moves it aside
    bob = Answer(question="bob question", query="q", answer="bob answer", language="en", strategy="route",
                 mode="extract")
    for _ in range(3):
        log.record(bob)
    with pytest.raises(StoreError, match="no longer holds this answer"):
        log.set_feedback(ids[1], False, "alice: wrong source", answer=alice[1])
    assert log.query(thumbs_down=True) == []
    log.set_feedback(ids[1], False, "right one", answer=bob)  # the row that is bob's takes bob's feedback
    assert [r["comment"] for r in log.query(thumbs_down=True)] == ["right one"]


def test_a_fresh_log_another_process_has_not_set_up_yet_is_set_up_and_written(tmp_path):
    """A process moved a damaged log aside; another wrote to the new, still empty file ("no such table")."""
    path = tmp_path / "answers.sqlite"
    log = AnswerLog(path)
    path.unlink()
    path.write_bytes(b"")  # the new file, before its maker created the tables
    rid = log.record(Answer(question="q", query="q", answer="a", language="en", strategy="route", mode="extract"))
    assert log.get(rid).answer.answer == "a"


def test_a_current_pointer_that_is_not_text_is_replaced_by_the_next_ingest(mini_corpus, make_retrieval_settings):
    from retrieval.ingest import ingest
    from retrieval.search import Retriever

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False)
    (s.data_dir / CURRENT).write_bytes(b"index-\xff\xfe")
    assert current_index_dir(s.data_dir) is None  # as if there were no index: no UnicodeDecodeError
    ingest(s, progress=False)
    assert Retriever.load(s).search("语言模型", 1)


def test_a_killed_ingests_leftovers_are_removed_before_the_next_index_is_written(tmp_path):
    """Removed only after a successful save, they kept a nearly full disk full: every ingest failed."""
    data = tmp_path / "data"
    data.mkdir()
    (data / ".building-20990101-000000-1-1").mkdir()
    (data / ".building-20990101-000000-1-1" / "vectors.npy").write_bytes(b"x" * 1000)
    (data / f".{CURRENT}.20990101-000000-1-1").write_text("index-x")

    def fail(folder):
        assert sorted(p.name for p in data.iterdir() if p.name != folder.name) == []
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        save_index(data, {"files": {}}, [], np.zeros((0, 4), dtype=np.float32), write_extras=fail)
    assert list(data.iterdir()) == []  # its own half-written folder is gone too


def test_a_faiss_write_error_is_an_os_error_with_its_file(tmp_path):
    """A full disk made faiss raise RuntimeError: a traceback on the command line."""
    from retrieval.backends import DenseIndex
    from retrieval.errors import os_error_sentence

    index = DenseIndex.build(np.eye(4, dtype=np.float32), exact_max=100)
    with pytest.raises(OSError) as info:
        index.save(tmp_path / "no-such-folder" / "dense.faiss")
    assert os_error_sentence(info.value).startswith("the FAISS index could not be written (")


def test_a_file_or_folder_removed_while_the_corpus_is_read_does_not_stop_the_ingest(
        mini_corpus, make_retrieval_settings, monkeypatch):
    """A syncing folder: FileNotFoundError from the walk or a file's stat stopped the whole ingest."""
    import retrieval.ingest as ingest_module
    from retrieval.ingest import ingest

    s = make_retrieval_settings(mini_corpus)
    walk, calls = ingest_module._walk, []

    def vanishing(corpus_dir, tries=3):
        calls.append(1)
        return walk(corpus_dir, tries) + [Path(corpus_dir) / "gone" / "removed.md"]

    monkeypatch.setattr(ingest_module, "_walk", vanishing)
    report = ingest(s, progress=False)
    assert calls and "gone/removed.md" not in {f.source for f in report.files}
    assert {f.source for f in report.files if f.status == "added"} == {"notes/mini.md", "reading.md"}

    real_rglob, failed = Path.rglob, []

    def rglob_once_broken(self, pattern):
        if not failed:
            failed.append(1)
            raise FileNotFoundError("a folder removed during the walk")
        return real_rglob(self, pattern)

    monkeypatch.setattr(ingest_module, "_walk", walk)
    monkeypatch.setattr(Path, "rglob", rglob_once_broken)
    (mini_corpus / "new.md").write_text("# 新\n\n新的讲义内容。", encoding="utf-8")
    assert "new.md" in {f.source for f in ingest(s, progress=False).files if f.status == "added"}


# --- a hostile review of those fixes ---------------------------------------------------------------
def test_an_older_releases_ingest_lock_excludes_a_newer_ingest_during_an_upgrade(tmp_path):
    import fcntl
    import os

    from retrieval.lock import IngestBusyError

    data = tmp_path / "data"
    data.mkdir()
    fd = os.open(data / ".ingest.lock", os.O_RDWR | os.O_CREAT, 0o600)  # what releases before 2026-12-05 lock
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(IngestBusyError):
            with ingest_lock(data, timeout_s=0):
                pass
    finally:
        os.close(fd)
    with ingest_lock(data, timeout_s=0):
        pass


def test_a_damaged_pointer_never_lets_an_empty_corpus_folder_empty_the_index(mini_corpus, make_retrieval_settings):
    """A CURRENT read as no index, then a corpus folder that did not mount: the index was emptied and
    the good folder deleted. Now refused; and a rebuild keeps the old folders until the next ingest."""
    import shutil

    from retrieval.errors import LoadError
    from retrieval.ingest import ingest

    s = make_retrieval_settings(mini_corpus)
    ingest(s, progress=False)
    good = current_index_dir(s.data_dir)
    (s.data_dir / CURRENT).write_bytes(good.name.encode()[:-1] + b"\xff")
    saved = mini_corpus.parent / "saved"
    shutil.move(mini_corpus, saved)
    mini_corpus.mkdir()
    with pytest.raises(LoadError, match="the data folder holds an index"):
        ingest(s, progress=False)
    assert good.is_dir()
    shutil.rmtree(mini_corpus)
    shutil.move(saved, mini_corpus)
    report = ingest(s, progress=False)
    assert any("names no index" in m for m in report.messages)
    assert good.is_dir() and current_index_dir(s.data_dir) not in (None, good)


def test_an_upload_is_saved_whole_where_hard_links_fail(tmp_path, monkeypatch):
    import errno
    import os

    for code in (errno.ENOSYS, errno.EACCES, errno.EPERM):
        def no_links(src, dst, code=code):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(os, "link", no_links)
        corpus = tmp_path / f"c{code}"
        data = b"# notes\n\n" + b"text " * 4000
        saved = save_upload(corpus, "week3.md", data, 20, None)
        assert saved.read_bytes() == data
        assert [p.name for p in (corpus / "uploads").iterdir()] == ["week3.md"]
        with pytest.raises(UploadError, match="already uploaded"):
            save_upload(corpus, "week3.md", b"# other\n\ncontent", 20, None)


def test_a_killed_uploads_part_file_is_removed_by_the_next_upload(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / ".upload-0123456789abcdef.part").write_bytes(b"x" * 10000)
    save_upload(tmp_path, "later.md", b"# later\n\ntext", 20, None)
    assert sorted(p.name for p in uploads.iterdir()) == ["later.md"]


def test_an_uploads_folder_pointing_outside_the_corpus_is_refused(tmp_path):
    """Saved there, an upload was never indexed (the walk does not follow it) nor checked for duplicates."""
    (tmp_path / "corpus").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "corpus" / "uploads").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UploadError, match="points outside the corpus"):
        save_upload(tmp_path / "corpus", "a.md", b"# a\n\ntext", 20, None)


def test_leftovers_it_cannot_remove_do_not_stop_an_index_being_written(tmp_path):
    data = tmp_path / "data"
    (data / f".{CURRENT}.odd").mkdir(parents=True)  # a folder where a pointer file would be
    folder = save_index(data, {"files": {}}, [], np.zeros((0, 4), dtype=np.float32))
    assert current_index_dir(data) == folder


def test_a_pointer_the_app_may_not_read_is_one_sentence_without_a_path(tmp_path, monkeypatch):
    """Shown to every student on the chat page: no server path, and no advice to rebuild (it cannot help)."""
    from retrieval.errors import IndexCorruptError

    data = tmp_path / "srv-data"
    data.mkdir()
    (data / CURRENT).write_text("index-20260101-000000-1-1")
    real = Path.read_bytes

    def denied(self):
        if self.name == CURRENT:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(IndexCorruptError) as info:
        current_index_dir(data)
    assert "srv-data" not in str(info.value) and "rebuild" not in str(info.value)
    assert "cannot be read (Permission denied)" in str(info.value)
