"""Accepting uploaded course files safely: type and size limits, safe names, duplicates by content.

>>> safe_filename("../../etc/passwd.md")
'passwd.md'
>>> safe_filename("第1讲 引言 (v2).pdf")
'第1讲_引言_v2.pdf'
>>> safe_filename("..")
Traceback (most recent call last):
...
retrieval.errors.UploadError: unusable file name '..'
"""

from __future__ import annotations

import os
import re
import secrets
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from retrieval.errors import NotIndexedYet, UploadError, os_error_sentence
from retrieval.lock import wait_for_lock
from retrieval.loaders import SUPPORTED_SUFFIXES, content_hash

UPLOAD_DIR = "uploads"


def safe_filename(name: str) -> str:
    """The base name only, with anything but letters, digits, '.', '-', '_' turned into '_', short enough
    for any file system.

    >>> safe_filename("../../etc/passwd.md"), len(safe_filename("语" * 89 + ".md").encode())
    ('passwd.md', 201)
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").split("/")[-1]).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._")
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()
    if not stem:
        raise UploadError(f"unusable file name {name!r}")
    # at most 100 characters and 200 bytes (file systems count bytes: 255; 89 Chinese characters are 267)
    stem = stem[:100].encode("utf-8")[:200].decode("utf-8", "ignore")
    suffix = suffix[:10]
    return f"{stem}.{suffix}" if suffix else stem


def known_hashes(manifest: dict | None) -> dict[str, str]:
    """{content hash: source} of the files already indexed."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):  # no index, or a manifest edited into another shape
        return {}
    return {meta["hash"]: source for source, meta in files.items() if isinstance(meta, dict) and meta.get("hash")}


def _uploaded_hashes(folder: Path, corpus_dir: Path, size: int) -> dict[str, str]:
    """{content hash: source} of the files already uploaded, indexed or not yet, that are ``size`` bytes
    long (the same file twice in one batch was saved and indexed twice: two equal passages then took
    two of an answer's places). Equal content means equal size, so only files of that size are read:
    an upload reads a few files, not the whole folder.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory(); corpus = Path(tmp.name).resolve(); (corpus / "uploads").mkdir()
    >>> _ = (corpus / "uploads" / "a.md").write_bytes(b"# a"); _ = (corpus / "uploads" / "bb.md").write_bytes(b"# bb")
    >>> sorted(_uploaded_hashes(corpus / "uploads", corpus, 3).values())
    ['uploads/a.md']
    >>> tmp.cleanup()
    """
    if not folder.is_dir():
        return {}
    found, root = {}, corpus_dir.resolve()
    for path in folder.iterdir():
        try:
            # not a save under way (hidden), not a link, and only a file that could hold the same bytes
            if path.name.startswith(".") or path.is_symlink() or not path.is_file() or path.stat().st_size != size:
                continue
            found[content_hash(path.read_bytes())] = path.relative_to(root).as_posix()
        except (OSError, ValueError):
            continue
    return found


def save_upload(corpus_dir: Path, name: str, data: bytes, max_mb: float, manifest: dict | None) -> Path:
    """Check and store one upload under ``corpus/uploads/``; raise UploadError with the reason."""
    filename = safe_filename(name)
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(f"{name}: only {', '.join(sorted(SUPPORTED_SUFFIXES))} files are accepted")
    if len(data) > max_mb * 2**20:
        raise UploadError(f"{name}: {len(data) / 2**20:.1f} MB is over the {max_mb:g} MB limit")
    if not data.strip():
        raise UploadError(f"{name}: the file is empty")
    target_dir = (Path(corpus_dir) / UPLOAD_DIR).resolve()
    if not target_dir.is_relative_to(Path(corpus_dir).resolve()):  # a symlink out: saved, never indexed
        raise UploadError(f"{name}: the corpus's {UPLOAD_DIR} folder points outside the corpus, where an ingest "
                          "does not look; make it a folder of its own")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        with _one_upload_at_a_time(target_dir, name):  # two TAs' uploads: each checks what the other saved
            _remove_unfinished(target_dir)
            return _save(target_dir, Path(corpus_dir), name, filename, data, manifest)
    except OSError as exc:
        raise UploadError(f"{name}: could not be saved ({exc.strerror or type(exc).__name__})") from None


def _save(target_dir: Path, corpus_dir: Path, name: str, filename: str, data: bytes, manifest: dict | None) -> Path:
    digest = content_hash(data)
    indexed = known_hashes(manifest).get(digest)
    if indexed and not (corpus_dir / indexed).exists():  # removed since (the ingest dropping it gave up): saved again
        indexed = None
    if indexed:
        raise UploadError(f"{name}: the same content is already in the corpus as {indexed}")
    uploaded = _uploaded_hashes(target_dir, corpus_dir, len(data)).get(digest)
    skipped = manifest.get("skipped") if isinstance(manifest, dict) else None
    if uploaded and isinstance(skipped, dict) and isinstance(skipped.get(uploaded), dict):  # tried, and skipped
        raise UploadError(f"{name}: the same content is already in the corpus as {uploaded}, which the last "
                          f"ingest skipped ({skipped[uploaded].get('reason', 'unreadable')})")
    if uploaded:  # saved by an earlier upload, not indexed yet (a batch's twin, or an ingest that gave up waiting)
        raise NotIndexedYet(f"{name}: the same content is already in the corpus as {uploaded}, not indexed yet; "
                            "indexing it", corpus_dir / uploaded)
    target = (target_dir / filename).resolve()
    if not target.is_relative_to(target_dir):  # belt and braces: safe_filename already drops paths
        raise UploadError(f"{name}: unsafe file name")
    taken = UploadError(f"{name}: a different file named {filename} is already uploaded; rename it, or remove "
                         "the old one first")
    # written in full under a hidden name (an ingest skips those), then linked to its name: an ingest
    # never reads half a file, and a name taken meanwhile (by anything) is refused, never overwritten
    part = target_dir / f"{_PART_PREFIX}{secrets.token_hex(8)}.part"
    try:
        with open(part, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(part, target)
        except FileExistsError:
            raise taken from None
        except OSError:  # no hard links here (a FUSE or SMB mount, a security policy): renamed into place
            if os.path.lexists(target):  # under the lock, no other upload can take the name meanwhile
                raise taken from None
            os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


_PART_PREFIX = ".upload-"
LOCK_WAIT_S = 60.0
REMOVED_DIR = ".removed"  # hidden: an ingest and the duplicate check never look inside


def uploaded_sources(corpus_dir: Path) -> list[str]:
    """The sources (``uploads/<name>``) of the files uploaded into the corpus, indexed or not yet, sorted:
    what the Corpus page can remove. Hidden entries (saves under way, removed files) and links are not.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory(); corpus = Path(tmp.name); (corpus / "uploads" / ".removed").mkdir(parents=True)
    >>> _ = (corpus / "uploads" / "b.md").write_text("# b"); _ = (corpus / "uploads" / ".upload-1.part").write_text("#")
    >>> uploaded_sources(corpus), uploaded_sources(corpus / "missing")
    (['uploads/b.md'], [])
    >>> tmp.cleanup()
    """
    folder = Path(corpus_dir) / UPLOAD_DIR
    try:
        entries = list(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []
    except OSError:
        return []
    # a name that is not UTF-8 (a Windows zip's) cannot be shown in a list: the ingest reports it skipped,
    # with "rename the file"; in the list it stopped the Corpus page
    return sorted(f"{UPLOAD_DIR}/{p.name}" for p in entries
                  if _removable_name(p.name) and not p.is_symlink() and p.is_file())


def _removable_name(name: str) -> bool:
    """A plain file name :func:`remove_upload` takes: no folder, not hidden, no NUL, valid UTF-8.

    >>> [_removable_name(n) for n in ("a.md", "../a.md", "a\\\\b.md", ".removed", "gbk-\\udcc4.md", "")]
    [True, False, False, False, False, False]
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(name) and not name.startswith(".") and not any(c in name for c in "/\\\0")


def removed_here(corpus_dir: Path, files: dict) -> bool:
    """Were all ``files`` (documents an index holds that the corpus folder lacks: source → its manifest
    entry) uploads that :func:`remove_upload` took out, each kept under ``uploads/.removed/`` with the
    bytes the index holds (the entry's ``hash``)? Then a corpus folder left with no file was emptied on
    purpose, from the Corpus page, not by a mount that failed (nor by a file of the same name deleted
    by hand after an earlier one was removed: a review's).

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory(); corpus = Path(tmp.name); (corpus / "uploads").mkdir()
    >>> _ = (corpus / "uploads" / "last.md").write_text("# last")
    >>> held = {"uploads/last.md": {"hash": content_hash(b"# last")}}
    >>> removed_here(corpus, held)
    False
    >>> _ = remove_upload(corpus, "uploads/last.md")
    >>> removed_here(corpus, held), removed_here(corpus, {"uploads/last.md": {"hash": content_hash(b"# new")}}), removed_here(corpus, {})
    (True, False, False)
    >>> tmp.cleanup()
    """
    trash = Path(corpus_dir) / UPLOAD_DIR / REMOVED_DIR
    if not files or trash.is_symlink() or not trash.is_dir():
        return False
    try:
        kept = {(p.name, content_hash(p.read_bytes())) for folder in trash.iterdir()
                if folder.is_dir() and not folder.is_symlink()
                for p in folder.iterdir() if p.is_file() and not p.is_symlink()}
    except OSError:
        return False
    return all(source.startswith(f"{UPLOAD_DIR}/") and isinstance(entry, dict)
               and (source[len(UPLOAD_DIR) + 1:], entry.get("hash")) in kept for source, entry in files.items())


def remove_upload(corpus_dir: Path, source: str) -> Path:
    """Take one uploaded file out of the corpus; the next ingest drops its chunks. Nothing is deleted:
    the file moves to ``uploads/.removed/<time>-<token>/<name>`` (hidden, so never indexed), from where a
    TA restores it by moving it back. Only a file directly under ``uploads/`` can go (the course's own
    files are changed in the corpus folder itself); anything else raises UploadError with the reason.

    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory(); corpus = Path(tmp.name); (corpus / "uploads").mkdir()
    >>> _ = (corpus / "uploads" / "old.md").write_text("# old")
    >>> kept = remove_upload(corpus, "uploads/old.md")
    >>> uploaded_sources(corpus), kept.name, kept.read_text(), kept.parent.parent.name
    ([], 'old.md', '# old', '.removed')
    >>> remove_upload(corpus, "ch01.md")
    Traceback (most recent call last):
    ...
    retrieval.errors.UploadError: ch01.md: only files uploaded from this page can be removed here; the course's own files are changed in its corpus folder
    >>> tmp.cleanup()
    """
    source = source if isinstance(source, str) else ""
    name = source[len(UPLOAD_DIR) + 1:] if source.startswith(f"{UPLOAD_DIR}/") else ""
    if not _removable_name(name):
        raise UploadError(f"{source}: only files uploaded from this page can be removed here; the course's own "
                          "files are changed in its corpus folder")
    folder = Path(corpus_dir) / UPLOAD_DIR
    if folder.is_symlink() or not folder.is_dir():
        raise UploadError(f"{source}: no longer in the corpus")
    try:
        with _one_upload_at_a_time(folder, source):  # not while another TA's upload checks for duplicates
            path = folder / name
            if path.is_symlink() or not path.is_file():
                raise UploadError(f"{source}: no longer in the corpus")
            trash = folder / REMOVED_DIR
            if trash.is_symlink():  # moved there, the file would leave the corpus folder
                raise UploadError(f"{source}: {UPLOAD_DIR}/{REMOVED_DIR} is a link; make it a folder of its own")
            kept = trash / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"
            kept.mkdir(parents=True)
            try:
                os.rename(path, kept / name)  # one file system: atomic, an ingest sees it or does not
            except OSError:
                kept.rmdir()  # no empty folder left for each failed try
                raise
            return kept / name
    except OSError as exc:  # the folder the app may not write is named: a TA can fix it on the server
        raise UploadError(f"{source}: could not be removed ({os_error_sentence(exc)})") from None


def _remove_unfinished(folder: Path) -> None:
    """Remove what a killed upload left (its hidden ``.part`` file); only under the upload lock."""
    for entry in folder.iterdir():
        if entry.name.startswith(_PART_PREFIX) and entry.name.endswith(".part"):
            try:
                entry.unlink()
            except OSError:
                pass


@contextmanager
def _one_upload_at_a_time(folder: Path, name: str, wait_s: float = LOCK_WAIT_S):
    """An exclusive lock on the uploads folder itself (no lock file a clean-up could delete) while one
    upload is checked and saved; after ``wait_s`` seconds of waiting, the upload is refused."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        wait_for_lock(fd, time.monotonic() + wait_s,
                      UploadError(f"{name}: another upload is being saved; try again in a moment"))
        yield
    finally:
        os.close(fd)  # closing releases the lock
