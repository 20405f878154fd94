"""The persisted index: chunks, their vectors, a FAISS index, a BM25 index and a manifest.

Layout of the data folder::

    data/
      CURRENT              name of the live index folder (replaced atomically)
      index-<stamp>/       manifest.json, chunks.jsonl, vectors.npy, dense.faiss (+ dense-hnsw.faiss when large), bm25/,
                           vectors2.npy (the second embedder's, when one is set: settings.second_embedder),
                           sentences.json + sentences.npy (every passage sentence's vector: retrieval/sentence_vectors.py)

A new index is written into ``.building-<stamp>/``, renamed to ``index-<stamp>/`` and only
then made live by atomically replacing ``CURRENT``. A crash at any point leaves the old
index live and untouched; leftovers are removed by the next successful save, which runs under
the ingest lock (retrieval/lock.py) and never removes the live index or the one it replaced
(a reader may still be loading it).

The manifest records the size and sha256 of every file of the index and the number of chunks;
:func:`load_stored` checks them, so a truncated ``vectors.npy`` or a deleted ``dense.faiss`` is
an :class:`IndexCorruptError` saying what to run, never a silent partial search.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.hashing import sha256_file
from common.text import TOKENIZER_VERSION
from retrieval.backends import ANN_FILE, FLAT_FILE
from retrieval.chunking import CHUNKER_VERSION
from retrieval import sentence_vectors
from retrieval.embedders import second_embedder_name
from retrieval.errors import IndexCorruptError, IndexMissingError
from retrieval.types import Chunk

log = logging.getLogger("courseta.retrieval")
_INDEX_NAME = re.compile(r"index-[0-9A-Za-z_.-]+")
FORMAT_VERSION = 2  # 2: the manifest holds "integrity" (sizes + sha256 of every file)
CURRENT = "CURRENT"


@dataclass
class StoredIndex:
    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray  # (n, dim) float32, row i ↔ chunks[i]
    vectors2: np.ndarray | None = None  # the second embedder's (n, dim2), when the index has one
    # (texts, vectors) of every passage and its sentences (retrieval/sentence_vectors.py); None in an
    # index written before they were kept (the next ingest adds them)
    sentences: tuple[list[str], np.ndarray] | None = None


def index_params(settings) -> dict:
    """What a stored index must agree with to be searched or updated."""
    return {
        "format": FORMAT_VERSION,
        "embedder": settings.embedder,
        "second_embedder": second_embedder_name(settings),
        "chunking": {"size": settings.chunk_size, "overlap": settings.chunk_overlap, "version": CHUNKER_VERSION},
        "tokenizer": TOKENIZER_VERSION,
    }


def mismatch_reason(manifest: dict, settings) -> str | None:
    """Why a stored index cannot be used with these settings, or None when it can."""
    want = index_params(settings)
    if manifest.get("format") != want["format"]:
        return f"index format {manifest.get('format')} is not the current {want['format']}"
    if manifest.get("embedder") != want["embedder"]:
        return f"the index was built with embedder {manifest.get('embedder')!r}, settings ask for {want['embedder']!r}"
    if manifest.get("second_embedder") != want["second_embedder"]:
        return (f"the index was built with second embedder {manifest.get('second_embedder')!r}, "
                f"settings ask for {want['second_embedder']!r}")
    if manifest.get("chunking") != want["chunking"]:
        return f"the index was built with chunking {manifest.get('chunking')}, settings ask for {want['chunking']}"
    if manifest.get("tokenizer", 1) != want["tokenizer"]:  # indexes written before the version was kept: 1
        return (f"the index's BM25 words were made by tokenizer version {manifest.get('tokenizer', 1)}, "
                f"this code's is {want['tokenizer']}")
    return None


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("faiss-cpu", "faiss-gpu", "bm25s", "jieba", "sentence-transformers", "torch", "pypdf"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def current_index_dir(data_dir: Path) -> Path | None:
    data_dir = Path(data_dir)
    pointer = data_dir / CURRENT
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_bytes().decode("utf-8").strip()
    except UnicodeDecodeError:  # not a name this module wrote: as if there were none (an ingest replaces it,
        return None  # keeping the old folders: pointer_damaged)
    except OSError as exc:  # no path here: the chat page shows this sentence to students
        raise IndexCorruptError(f"the data folder's {CURRENT} file, which names the live index, cannot be read "
                                f"({exc.strerror or type(exc).__name__}); the app's user must be able to read "
                                "the data folder") from exc
    if not _INDEX_NAME.fullmatch(name):  # a folder name this module wrote, never a path
        return None
    path = data_dir / name
    return path if (path / "manifest.json").is_file() else None


def pointer_damaged(data_dir: Path) -> bool:
    """Does ``CURRENT`` exist without naming a usable index folder while index folders exist? (A
    damaged pointer, not a first ingest: nothing may be emptied or deleted on its word.)"""
    data_dir = Path(data_dir)
    if not (data_dir / CURRENT).is_file() or current_index_dir(data_dir) is not None:
        return False
    return any(p.name.startswith("index-") and p.is_dir() for p in data_dir.iterdir())


def read_manifest(data_dir: Path) -> dict[str, Any] | None:
    path = current_index_dir(data_dir)
    if path is None:
        return None
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


REBUILD_HINT = "run `python -m retrieval ingest --rebuild`"


def index_files(folder: Path) -> list[str]:
    """The relative paths of every file under ``folder`` but the manifest, sorted."""
    return [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json"]


def file_digests(folder: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {"bytes", "sha256"}} of every file under ``folder`` but the manifest."""
    return {name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
            for name in index_files(folder)}


# the files a search reads (a missing optional one is simply not read; the sentence table has its own check)
LOADED_FILES = ("chunks.jsonl", "vectors.npy", "vectors2.npy", FLAT_FILE, ANN_FILE)
LOADED_FOLDERS = ("bm25/",)


def verify_files(path: Path, manifest: dict[str, Any], only=None, skip=()) -> None:
    """Raise IndexCorruptError when a file of the index (of ``only`` when given, but ``skip``) is
    missing or differs from the manifest, or (without ``only``) when a file a search reads
    (:data:`LOADED_FILES`, :data:`LOADED_FOLDERS`) is there but not listed: a manifest that lists
    fewer files cannot make the loader read unchecked ones. Other files (an editor's backup, a
    ``.DS_Store``) are not read and do not matter."""
    integrity = manifest.get("integrity")
    if not isinstance(integrity, dict) or not integrity:
        raise IndexCorruptError(f"the index in {path} has no integrity record; {REBUILD_HINT}")
    if only is None:
        unlisted = sorted(name for name in index_files(path)
                          if (name in LOADED_FILES or name.startswith(LOADED_FOLDERS))
                          and name not in integrity and name not in skip)
        if unlisted:
            raise IndexCorruptError(
                f"the index in {path} holds files its manifest does not list ({', '.join(unlisted[:3])}); {REBUILD_HINT}")
    for name in (only if only is not None else integrity):
        want = integrity.get(name)
        if name in skip:
            continue
        if not isinstance(want, dict):
            raise IndexCorruptError(f"the index in {path} has no integrity record for {name}; {REBUILD_HINT}")
        file = path / name
        if not file.is_file():
            raise IndexCorruptError(f"the index in {path} is damaged ({name} is missing); {REBUILD_HINT}")
        if file.stat().st_size != want.get("bytes") or sha256_file(file) != want.get("sha256"):
            raise IndexCorruptError(
                f"the index in {path} is damaged ({name} does not match its manifest); {REBUILD_HINT}")


def _load_sentences(path: Path, manifest: dict[str, Any], dim: int, verify: bool):
    """The index's sentence table (retrieval/sentence_vectors.py), or None when it has none or it is
    damaged: it only saves the answer step time and can be made again from the chunks, so a damaged
    one is logged and left out (the next ingest makes it again) instead of taking the index offline."""
    count = manifest.get("sentences")
    if count is None:
        return None
    try:
        if verify:
            verify_files(path, manifest, only=sentence_vectors.FILES)
        return sentence_vectors.load(path, count, dim)
    except (IndexCorruptError, OSError, ValueError, TypeError) as exc:
        log.warning("the sentence table of the index in %s is left out (%s); the next ingest makes it again", path, exc)
        return None


def load_stored(data_dir: Path, verify: bool = True) -> StoredIndex:
    """The live index, checked against its manifest (sizes, hashes, counts) unless ``verify`` is False."""
    path = current_index_dir(data_dir)
    if path is None:
        raise IndexMissingError(
            f"no index in {data_dir}; build it with `python -m retrieval ingest`"
        )
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"the index in {path} has an unreadable manifest ({exc}); {REBUILD_HINT}") from None
    if verify and manifest.get("format") == FORMAT_VERSION:
        try:
            verify_files(path, manifest, skip=sentence_vectors.FILES)
        except OSError as exc:  # the folder removed while being read (an ingest replaced it twice): load again
            raise IndexCorruptError(f"the index in {path} went away while it was read ({type(exc).__name__}); "
                                    f"{REBUILD_HINT}") from None
    try:
        with open(path / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
        vectors = np.load(path / "vectors.npy", allow_pickle=False)
        vectors2 = np.load(path / "vectors2.npy", allow_pickle=False) if manifest.get("second_embedder") else None
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorruptError(f"the index in {path} cannot be read ({exc}); {REBUILD_HINT}") from None
    n = manifest.get("n_chunks")
    if vectors.ndim != 2 or len(chunks) != vectors.shape[0] or (n is not None and n != len(chunks)):
        raise IndexCorruptError(
            f"the index in {path} is damaged ({len(chunks)} chunks, {vectors.shape[0] if vectors.ndim else 0} "
            f"vectors, manifest says {n}); {REBUILD_HINT}")
    if vectors2 is not None and (vectors2.ndim != 2 or vectors2.shape[0] != len(chunks)):
        raise IndexCorruptError(f"the index in {path} is damaged (the second embedder's vectors do not match its "
                                f"{len(chunks)} chunks); {REBUILD_HINT}")
    sentences = _load_sentences(path, manifest, vectors.shape[-1], verify and manifest.get("format") == FORMAT_VERSION)
    return StoredIndex(path=path, manifest=manifest, chunks=chunks, vectors=vectors, vectors2=vectors2,
                       sentences=sentences)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_index(
    data_dir: Path,
    manifest: dict[str, Any],
    chunks: list[Chunk],
    vectors: np.ndarray,
    write_extras=None,
    vectors2: np.ndarray | None = None,
    sentences: tuple[list[str], np.ndarray] | None = None,
) -> Path:
    """Write a complete index aside, then make it live atomically. Returns its folder.

    ``write_extras(folder)`` writes the search structures (FAISS, BM25) into the new folder
    before it goes live, so a failure there also leaves the old index in place. Call it only under
    the ingest lock (retrieval/lock.py): it removes crashed builds and old folders.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    damaged = pointer_damaged(data_dir)  # its old folders are kept: the one it should have named among them
    _remove_crashed_builds(data_dir)  # a killed ingest's half-written folder: on a nearly full disk it blocked every next one
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    building = data_dir / f".building-{stamp}"
    final = data_dir / f"index-{stamp}"
    tmp_pointer = data_dir / f".{CURRENT}.{stamp}"
    switched = False  # CURRENT names the new folder
    building.mkdir()
    try:
        with open(building / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        np.save(building / "vectors.npy", np.asarray(vectors, dtype=np.float32))
        if vectors2 is not None:
            np.save(building / "vectors2.npy", np.asarray(vectors2, dtype=np.float32))
        if sentences is not None:
            sentence_vectors.save(building, *sentences)
            manifest = {**manifest, "sentences": len(sentences[0])}
        if write_extras is not None:
            write_extras(building)
        full_manifest = {**manifest, "format": FORMAT_VERSION, "n_chunks": len(chunks),
                         "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": library_versions(),
                         "integrity": file_digests(building)}
        (building / "manifest.json").write_text(
            json.dumps(full_manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        previous = current_index_dir(data_dir)
        os.replace(building, final)
        tmp_pointer.write_text(final.name, encoding="utf-8")
        with open(tmp_pointer, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_pointer, data_dir / CURRENT)  # the atomic switch
        switched = True
        _fsync_dir(data_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        if not switched:  # made but never switched to (the pointer could not be written)
            shutil.rmtree(final, ignore_errors=True)
        tmp_pointer.unlink(missing_ok=True)
        raise
    if not damaged:
        _remove_stale(data_dir, keep={final.name} | ({previous.name} if previous else set()))
    return final


def _remove_crashed_builds(data_dir: Path) -> None:
    """Remove what a killed ingest left: half-written ``.building-*`` folders and pointer files never
    switched to (under the ingest lock, so none of them is being written). Index folders wait for
    :func:`_remove_stale`: a reader may still be loading the one the last ingest replaced."""
    _remove_leftovers(data_dir, (".building-",))


def _remove_stale(data_dir: Path, keep: set[str]) -> None:
    """Remove older index folders and crashed builds; call it only under the ingest lock.

    Never the live one (``CURRENT`` is read again here) nor the one it replaced: a search
    process that read ``CURRENT`` a moment ago may still be loading that folder.
    """
    live = current_index_dir(data_dir)
    _remove_leftovers(data_dir, ("index-", ".building-"), keep | ({live.name} if live else set()))


def _remove_leftovers(data_dir: Path, folders: tuple[str, ...], keep: set[str] = frozenset()) -> None:
    """Remove the folders whose names start with one of ``folders`` (never through a symlink) and the
    pointer files never switched to, but those named in ``keep``; best effort: a leftover it may not
    remove is logged and does not stop the ingest."""
    for entry in data_dir.iterdir():
        if entry.name in keep:
            continue
        try:
            if entry.name.startswith(folders) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith(f".{CURRENT}.") and entry.is_file():
                entry.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s from the data folder", entry.name)
