"""The persisted index: chunks, their vectors, a FAISS index, a BM25 index and a manifest.

Layout of the data folder::

    data/
      CURRENT              name of the live index folder (replaced atomically)
      index-<stamp>/       manifest.json, chunks.jsonl, vectors.npy, dense.faiss (+ dense-hnsw.faiss when large), bm25/

A new index is written into ``.building-<stamp>/``, renamed to ``index-<stamp>/`` and only
then made live by atomically replacing ``CURRENT``. A crash at any point leaves the old
index live and untouched; leftovers are removed by the next successful save.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.chunking import CHUNKER_VERSION
from retrieval.errors import IndexMissingError
from retrieval.types import Chunk

FORMAT_VERSION = 1
CURRENT = "CURRENT"


@dataclass
class StoredIndex:
    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray  # (n, dim) float32, row i ↔ chunks[i]


def index_params(settings) -> dict:
    """What a stored index must agree with to be searched or updated."""
    return {
        "format": FORMAT_VERSION,
        "embedder": settings.embedder,
        "chunking": {"size": settings.chunk_size, "overlap": settings.chunk_overlap, "version": CHUNKER_VERSION},
    }


def mismatch_reason(manifest: dict, settings) -> str | None:
    """Why a stored index cannot be used with these settings, or None when it can."""
    want = index_params(settings)
    if manifest.get("format") != want["format"]:
        return f"index format {manifest.get('format')} is not the current {want['format']}"
    if manifest.get("embedder") != want["embedder"]:
        return f"the index was built with embedder {manifest.get('embedder')!r}, settings ask for {want['embedder']!r}"
    if manifest.get("chunking") != want["chunking"]:
        return f"the index was built with chunking {manifest.get('chunking')}, settings ask for {want['chunking']}"
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
    path = data_dir / pointer.read_text(encoding="utf-8").strip()
    return path if (path / "manifest.json").is_file() else None


def read_manifest(data_dir: Path) -> dict[str, Any] | None:
    path = current_index_dir(data_dir)
    if path is None:
        return None
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def load_stored(data_dir: Path) -> StoredIndex:
    path = current_index_dir(data_dir)
    if path is None:
        raise IndexMissingError(
            f"no index in {data_dir}; build it with `python -m retrieval ingest`"
        )
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    with open(path / "chunks.jsonl", encoding="utf-8") as fh:
        chunks = [Chunk.from_dict(json.loads(line)) for line in fh if line.strip()]
    vectors = np.load(path / "vectors.npy")
    return StoredIndex(path=path, manifest=manifest, chunks=chunks, vectors=vectors)


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
) -> Path:
    """Write a complete index aside, then make it live atomically. Returns its folder.

    ``write_extras(folder)`` writes the search structures (FAISS, BM25) into the new folder
    before it goes live, so a failure there also leaves the old index in place.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    building = data_dir / f".building-{stamp}"
    building.mkdir()
    try:
        with open(building / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        np.save(building / "vectors.npy", np.asarray(vectors, dtype=np.float32))
        if write_extras is not None:
            write_extras(building)
        full_manifest = {**manifest, "format": FORMAT_VERSION, "n_chunks": len(chunks),
                         "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "versions": library_versions()}
        (building / "manifest.json").write_text(
            json.dumps(full_manifest, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        final = data_dir / f"index-{stamp}"
        os.replace(building, final)
        tmp_pointer = data_dir / f".{CURRENT}.{stamp}"
        tmp_pointer.write_text(final.name, encoding="utf-8")
        with open(tmp_pointer, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_pointer, data_dir / CURRENT)  # the atomic switch
        _fsync_dir(data_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _remove_stale(data_dir, keep=final.name)
    return final


def _remove_stale(data_dir: Path, keep: str) -> None:
    for entry in data_dir.iterdir():
        if entry.name == keep:
            continue
        if entry.name.startswith(("index-", ".building-")) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f".{CURRENT}."):
            entry.unlink(missing_ok=True)
