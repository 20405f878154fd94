"""Corpus folder → chunks → vectors → a new index, embedding only what changed.

>>> from settings import load_settings
>>> report = ingest(load_settings(embedder="hash:64", corpus_dir="corpus", data_dir="/tmp/ct-doctest").retrieval, progress=False)
>>> report.up_to_date or report.n_chunks > 0
True

Each file is fingerprinted by its bytes plus its ``sources.yaml`` entry. A re-ingest reuses
the stored chunks and vectors of unchanged files, embeds new or changed ones, drops removed
ones, and writes nothing at all when nothing changed. An index built with another embedder
or chunking is rebuilt from scratch (with a message saying why), never mixed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.backends import LexicalIndex, save_dense
from retrieval.chunking import chunk_document
from retrieval.embedders import Embedder, get_embedder, second_embedder_name
from retrieval.errors import IndexCorruptError, LoadError
from retrieval.loaders import SOURCES_FILE, SUPPORTED_SUFFIXES, load_document, load_sources
from retrieval.lock import ingest_lock
from retrieval.sentence_vectors import sentence_table
from retrieval.store import (
    CURRENT, REBUILD_HINT, index_params, load_stored, mismatch_reason, pointer_damaged, read_manifest, save_index,
)
from common.text import tokenize
from retrieval.types import Chunk
from retrieval.uploads import removed_here

@dataclass
class FileReport:
    source: str
    status: str  # added | updated | unchanged | removed | skipped
    chunks: int = 0
    reason: str = ""


@dataclass
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    n_chunks: int = 0
    embedded: int = 0
    up_to_date: bool = False
    seconds: float = 0.0
    index_path: str = ""

    @property
    def skipped(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "skipped"]

    def table(self) -> str:
        width = max([len(f.source) for f in self.files] + [4])
        lines = [f"{'file':<{width}}  {'status':<9}  chunks  note"]
        for f in self.files:
            lines.append(f"{f.source:<{width}}  {f.status:<9}  {f.chunks:>6}  {f.reason}")
        return "\n".join(lines)

    def summary(self) -> str:
        if self.up_to_date:
            return f"index is up to date ({self.n_chunks} chunks); nothing to do [{self.seconds:.1f} s]"
        return (
            f"indexed {self.n_chunks} chunks from {sum(f.status != 'skipped' and f.status != 'removed' for f in self.files)} files "
            f"({self.embedded} embedded now, {len(self.skipped)} files skipped) [{self.seconds:.1f} s]"
        )

    def to_dict(self) -> dict:
        return {
            "files": [f.__dict__ for f in self.files],
            "messages": self.messages,
            "n_chunks": self.n_chunks,
            "embedded": self.embedded,
            "up_to_date": self.up_to_date,
            "seconds": round(self.seconds, 3),
            "index_path": self.index_path,
        }


@dataclass
class _Candidate:
    source: str
    path: Path
    data: bytes
    fingerprint: str


def _discover(corpus_dir: Path, max_bytes: int, report: IngestReport) -> list[_Candidate]:
    root = corpus_dir.resolve()
    sources_entries = load_sources(corpus_dir)
    found = []
    for path in _walk(corpus_dir):
        try:
            candidate = _candidate(corpus_dir, root, path, sources_entries, max_bytes, report)
        except FileNotFoundError:  # removed since the walk listed it (a folder being synced): gone, as if
            continue  # never listed (an indexed version is reported removed)
        if candidate is not None:
            found.append(candidate)
    return found


def _walk(corpus_dir: Path, tries: int = 3) -> list[Path]:
    """Every path under the corpus, sorted. A folder removed during the walk (a sync under way)
    ends it: walked again, a few times."""
    for _ in range(tries - 1):
        try:
            return sorted(corpus_dir.rglob("*"))
        except FileNotFoundError:
            continue
    return sorted(corpus_dir.rglob("*"))  # the last try: its error stops the ingest


def _candidate(corpus_dir: Path, root: Path, path: Path, sources_entries: dict, max_bytes: int,
               report: IngestReport) -> _Candidate | None:
    """One path of the corpus as a file to index, or None (skipped ones are reported)."""
    rel_parts = path.relative_to(corpus_dir).parts
    if any(part.startswith(".") for part in rel_parts) or path.name == SOURCES_FILE:
        return None
    rel = path.relative_to(corpus_dir).as_posix()
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:  # a name in another encoding (GBK, from a Windows zip): shown with ?s
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        report.files.append(FileReport(shown, "skipped", reason="its name is not UTF-8: rename the file"))
        return None
    if path.is_symlink():
        try:
            target = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop
            report.files.append(FileReport(rel, "skipped", reason="symlink that cannot be followed (a loop?)"))
            return None
        if not target.is_relative_to(root):
            report.files.append(FileReport(rel, "skipped", reason="symlink pointing outside the corpus"))
            return None
    if path.is_dir():
        return None
    if not path.is_file():
        if not path.is_symlink() and not path.exists():
            return None  # removed since the walk listed it
        report.files.append(FileReport(rel, "skipped", reason="not a regular file (broken symlink?)"))
        return None
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        report.files.append(FileReport(rel, "skipped", reason=f"unsupported file type {path.suffix or '(none)'}"))
        return None
    size = path.stat().st_size
    if size > max_bytes:
        report.files.append(FileReport(
            rel, "skipped", reason=f"{size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB size limit"))
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.files.append(FileReport(rel, "skipped", reason=f"cannot read ({exc.strerror or exc})"))
        return None
    entry = json.dumps(sources_entries.get(rel, {}), sort_keys=True, ensure_ascii=False, default=str)
    fingerprint = hashlib.sha256(data + b"\0" + entry.encode("utf-8")).hexdigest()
    return _Candidate(rel, path, data, fingerprint)


def write_search_structures(folder: Path, chunks: list[Chunk], vectors: np.ndarray, settings) -> None:
    save_dense(folder, vectors, settings.exact_index_max)
    LexicalIndex.build([tokenize(c.indexed_text()) for c in chunks]).save(folder / "bm25")


def _lasting(skipped: dict) -> bool:
    """Was a file skipped for a cause that stays while it and the limits do (its own content, a limit),
    not a passing one (a MemoryError, a file it could not open)? Entries written before "lasting" was
    kept are read from their reason."""
    return bool(skipped.get("lasting", not str(skipped.get("reason", "")).startswith(_PASSING)))


_PASSING = "it could not be read ("


def ingest(
    settings,
    corpus_dir: Path | None = None,
    rebuild: bool = False,
    progress: bool = True,
    embedder: Embedder | None = None,
    on_progress=None,
    allow_empty: bool = False,
) -> IngestReport:
    """Bring the index in ``settings.data_dir`` (a :class:`settings.RetrievalSettings`) in line with the corpus folder.

    ``on_progress(fraction, message)``, when given, is called as files are read and embedded (for UIs).
    A corpus folder with no file in it while the index holds documents is refused (a mount that
    failed, a wrong ``--corpus``), unless ``allow_empty``: then the index is emptied, as asked; or
    unless those documents were uploads the Corpus page removed (:func:`retrieval.uploads.removed_here`).
    The whole ingest holds the data folder's ingest lock: a second ingest waits for this one
    (up to ``settings.ingest_lock_wait_s``) and then brings the index up to date from its result.
    """
    if on_progress is not None:
        on_progress(0.0, "waiting for another ingest to finish")
    with ingest_lock(settings.data_dir, timeout_s=settings.ingest_lock_wait_s):
        return _ingest_locked(settings, corpus_dir, rebuild, progress, embedder, on_progress, allow_empty)


def _ingest_locked(settings, corpus_dir, rebuild, progress, embedder, on_progress, allow_empty=False) -> IngestReport:
    def tell(fraction: float, message: str) -> None:
        if on_progress is not None:
            on_progress(min(max(fraction, 0.0), 1.0), message)

    t0 = time.perf_counter()
    corpus_dir = Path(corpus_dir or settings.corpus_dir)
    data_dir = Path(settings.data_dir)
    report = IngestReport()
    if not corpus_dir.is_dir():
        raise LoadError(f"corpus folder {corpus_dir} does not exist")
    candidates = _discover(corpus_dir, int(settings.max_file_mb * 2**20), report)

    reused = False  # the stored index is reused (same settings, readable)
    old_files: dict = {}
    old_sentences: dict[str, np.ndarray] | None = None  # the previous index's sentence vectors, by text
    old_chunks: dict[str, list[tuple[Chunk, np.ndarray, np.ndarray | None]]] = {}
    try:
        manifest = read_manifest(data_dir)
    except ValueError:
        manifest = {"format": None}  # an unreadable manifest: rebuilt below like any other mismatch
    if manifest is not None and not well_formed(manifest):
        manifest = {"format": None}  # a manifest edited by hand into another shape: rebuilt too
    indexed = len((manifest or {}).get("files") or {})
    damaged = manifest is None and pointer_damaged(data_dir)
    if damaged:
        report.messages.append(f"the data folder's {CURRENT} file names no index (damaged?): rebuilding; the old "
                               "index folders are kept until the next ingest")
    # the last upload removed from the Corpus page (kept in uploads/.removed/) empties it on purpose: refused,
    # the file stayed in the index and in students' answers (a tester's), and no button on the page could help
    if (not candidates and (indexed or damaged) and not allow_empty  # files it skipped (a .pptx alone) do not count
            and not (indexed and not damaged and removed_here(corpus_dir, (manifest or {}).get("files") or {}))):
        held = f"the index holds {indexed} document(s)" if indexed else "the data folder holds an index"
        raise LoadError(
            f"corpus folder {corpus_dir} holds no file to index, but {held}: a "
            "folder that did not mount or the wrong --corpus? The index is left as it was; to remove every "
            "document, run `python -m retrieval ingest --allow-empty`")
    if manifest is not None and not rebuild:
        reason = mismatch_reason(manifest, settings)
        stored = None
        if not reason:
            try:
                stored = load_stored(data_dir)
            except IndexCorruptError as exc:
                # its own advice (run ingest --rebuild) is what happens next: leave it out
                reason = f"the stored index is damaged ({str(exc).removesuffix('; ' + REBUILD_HINT)})"
        if reason:
            report.messages.append(f"{reason}: rebuilding the index from scratch")
            manifest = None
        else:
            reused = True
            old_files = manifest.get("files", {})
            old_sentences = dict(zip(*stored.sentences)) if stored.sentences is not None else None
            second_vecs = stored.vectors2 if stored.vectors2 is not None else [None] * len(stored.chunks)
            for chunk, vec, vec2 in zip(stored.chunks, stored.vectors, second_vecs):
                old_chunks.setdefault(chunk.source, []).append((chunk, vec, vec2))
    elif rebuild and manifest is not None:
        report.messages.append("--rebuild: re-embedding every file")

    # the stored index is kept (same settings, readable): its skipped files too, even with no file indexed
    old_skipped: dict = manifest.get("skipped", {}) if reused else {}
    present = {c.source for c in candidates}
    unchanged = [c for c in candidates if old_files.get(c.source, {}).get("fingerprint") == c.fingerprint]
    # a skipped file is tried again when it changed or when the limits that may have skipped it did
    # (a teacher raising max_chunks_per_file, as the reason says to)
    limits = _limits(settings)
    # (not one that failed for a passing cause, a MemoryError, a file it could not open: "lasting" is False)
    still_bad = [c for c in candidates if old_skipped.get(c.source, {}).get("fingerprint") == c.fingerprint
                 and old_skipped[c.source].get("limits") == limits and _lasting(old_skipped[c.source])]
    changed = [c for c in candidates if c not in unchanged and c not in still_bad]
    removed = sorted(set(old_files) - present)
    # an index without its sentence table (written before it was kept, or a damaged one) gets it now
    # (every skipped file still as it was skipped: one restored to its indexed bytes leaves a stale entry)
    if old_sentences is not None and not changed and not removed and set(old_skipped) == {c.source for c in still_bad}:
        report.up_to_date = True
        report.n_chunks = manifest.get("n_chunks", 0)
        for c in unchanged:
            report.files.append(FileReport(c.source, "unchanged", old_files[c.source].get("chunks", 0)))
        for c in still_bad:
            report.files.append(FileReport(c.source, "skipped", reason=old_skipped[c.source]["reason"]))
        report.files.sort(key=lambda f: f.source)
        report.seconds = time.perf_counter() - t0
        return report

    sources = load_sources(corpus_dir)
    files_manifest = {}
    kept: list[Chunk] = []
    kept_vecs: list[np.ndarray] = []
    kept_vecs2: list[np.ndarray | None] = []
    for c in unchanged:
        pairs = old_chunks.get(c.source, [])
        kept.extend(ch for ch, _, _ in pairs)
        kept_vecs.extend(v for _, v, _ in pairs)
        kept_vecs2.extend(v2 for _, _, v2 in pairs)
        files_manifest[c.source] = old_files[c.source]
        report.files.append(FileReport(c.source, "unchanged", len(pairs)))

    def keep_previous(source: str) -> int:
        """A skipped file's last good version stays searchable (a half-copied PDF); its chunk count."""
        previous = old_chunks.get(source) if source in old_files else None
        if previous:
            kept.extend(ch for ch, _, _ in previous)
            kept_vecs.extend(v for _, v, _ in previous)
            kept_vecs2.extend(v2 for _, _, v2 in previous)
            files_manifest[source] = old_files[source]
        return len(previous or ())

    skipped_manifest = {}
    # skipped before, unchanged, under the same limits: skipped again without being read (a tester's: a 19 MB
    # file was read again by every later upload's ingest, and a PDF that runs into pdf_timeout_s would cost
    # minutes each time, the ingest lock held)
    for c in still_bad:
        entry = old_skipped[c.source]
        report.files.append(FileReport(c.source, "skipped", keep_previous(c.source), entry["reason"]))
        skipped_manifest[c.source] = entry
    new_chunks: list[Chunk] = []
    todo = changed
    for i, c in enumerate(todo):
        tell(0.5 * i / max(1, len(todo)), f"reading {c.source}")
        status = "updated" if c.source in old_files else "added"
        try:
            doc = load_document(c.path, corpus_dir, sources, data=c.data, max_pages=settings.max_pages_per_file,
                                pdf_timeout_s=settings.pdf_timeout_s)
            chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
            if not chunks:
                raise LoadError("no text to index")
            if len(chunks) > settings.max_chunks_per_file:
                raise LoadError(f"{len(chunks)} passages is over the limit of {settings.max_chunks_per_file} "
                                "(setting max_chunks_per_file)")
        except Exception as exc:  # noqa: BLE001 - one file's failure, whatever it is, skips that file only
            reason = str(exc) if isinstance(exc, LoadError) else f"{_PASSING}{type(exc).__name__})"
            previous = keep_previous(c.source)  # a broken new version (a half-copied PDF): the last good one stays
            if previous:
                reason += "; its previous version stays indexed"
            report.files.append(FileReport(c.source, "skipped", previous, reason))
            skipped_manifest[c.source] = {"fingerprint": c.fingerprint, "reason": reason, "limits": limits,
                                          "lasting": isinstance(exc, LoadError)}  # the file's own fault, or a limit's
            continue
        new_chunks.extend(chunks)
        files_manifest[c.source] = {"fingerprint": c.fingerprint, "hash": doc.content_hash,
                                    "title": doc.title, "chunks": len(chunks), "kind": doc.kind}
        report.files.append(FileReport(c.source, status, len(chunks), "; ".join(doc.notes)))
    for source in removed:
        report.files.append(FileReport(source, "removed", 0, "no longer in the corpus"))

    if embedder is None:
        embedder = get_embedder(settings.embedder, settings.device, settings.embed_encoder, settings.embed_precision)
    tell(0.5, f"embedding {len(new_chunks)} chunks")
    all_chunks = kept + new_chunks
    vectors = _vectors(embedder, kept_vecs, new_chunks, settings, progress)
    dim = vectors.shape[1]
    second = second_embedder_name(settings)
    vectors2 = None if second is None else _vectors(
        get_embedder(second, settings.device, settings.embed_encoder, settings.embed_precision),
        kept_vecs2, new_chunks, settings, progress)

    tell(0.8, "embedding the passages' sentences")
    sentences = sentence_table([c.text for c in all_chunks], embedder, old_sentences or {}, settings.embed_batch_size,
                               progress, on_progress=lambda done, total: tell(
                                   0.8 + 0.1 * done / total, f"embedding the passages' sentences ({done}/{total})"))
    tell(0.9, "writing the index")
    manifest_out = {**index_params(settings), "dim": int(dim), "files": files_manifest,
                    "skipped": skipped_manifest}
    path = save_index(data_dir, manifest_out, all_chunks, vectors,
                      write_extras=lambda folder: write_search_structures(folder, all_chunks, vectors, settings),
                      vectors2=vectors2, sentences=sentences)
    report.files.sort(key=lambda f: f.source)
    report.n_chunks = len(all_chunks)
    report.embedded = len(new_chunks)
    report.index_path = str(path)
    tell(1.0, "done")
    report.seconds = time.perf_counter() - t0
    return report


def well_formed(manifest) -> bool:
    """Does ``manifest`` have the shape ingest reads (an object whose ``files`` and ``skipped`` map
    sources to objects)? One edited by hand into another shape is rebuilt, not read.

    >>> well_formed({"files": {"a.md": {"chunks": 1}}}), well_formed([]), well_formed({"files": {"a.md": "x"}})
    (True, False, False)
    """
    if not isinstance(manifest, dict):
        return False
    parts = (manifest.get("files", {}), manifest.get("skipped", {}))
    return all(isinstance(part, dict) and all(isinstance(v, dict) for v in part.values()) for part in parts)


def _limits(settings) -> dict:
    """The per-file limits a file may have been skipped for (recorded with each skipped file)."""
    return {"max_pages_per_file": settings.max_pages_per_file, "max_chunks_per_file": settings.max_chunks_per_file,
            "pdf_timeout_s": settings.pdf_timeout_s}


def _vectors(embedder, kept: list, new_chunks: list[Chunk], settings, progress: bool) -> np.ndarray:
    """The kept chunks' vectors (reused: their files did not change), then ``embedder``'s for the new ones."""
    parts = [np.stack(kept)] if kept else []
    if new_chunks:
        parts.append(embedder.embed([ch.indexed_text() for ch in new_chunks],
                                    batch_size=settings.embed_batch_size, progress=progress))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)
