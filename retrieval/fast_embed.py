"""The ingest path's encoder: the same vectors as ``SentenceTransformer.encode``, computed faster.

``SentenceTransformer.encode`` tokenises each batch on the calling thread, sorts texts by their
*character* length (a poor proxy for token length in a Chinese/English mix, where a Chinese
character is about one token and an English one about a quarter), pads every batch of a fixed
count to its longest member and runs in fp32. :func:`fast_encode` instead

1. tokenises with the raw Rust tokenizer from a pool of threads (``encode_batch`` releases the
   GIL), slice by slice, so tokenising the next slice overlaps the model on the current one;
2. sorts each slice by *token* count and cuts it into batches under a token budget (length
   bucketing: little padding, big batches of short texts);
3. on CUDA, copies each batch from pinned memory without blocking and runs the model in
   fp16 (or bf16) under ``torch.inference_mode``;
4. runs the model's own modules (transformer → pooling → normalise) on the batch, so any
   sentence-transformers model with a fast tokenizer works; others fall back to ``encode``.

>>> import numpy as np
>>> buckets = token_budget_batches([5, 3, 9, 4], max_tokens=12)
>>> [[int(i) for i in b] for b in buckets]
[[1, 3], [0], [2]]
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FastEncodeConfig:
    """Knobs of :func:`fast_encode`; the defaults suit MiniLM-sized models.

    ``max_tokens`` is the padded tokens per batch (rows × longest row); ``slice_size`` the texts
    tokenised per step (overlapped with the model); ``half`` fp16/bf16 on CUDA ("auto": fp16 on
    CUDA, fp32 on CPU; "fp32", "fp16", "bf16").
    """

    max_tokens_cuda: int = 65536
    max_tokens_cpu: int = 2048  # smaller batches stay in cache: 2048 beat 4096 and 8192 (bench/embed.py)
    slice_size: int = 8192
    tokenizer_threads: int = 0  # 0: os.cpu_count()
    precision: str = "auto"


def token_budget_batches(lengths, max_tokens: int) -> list[np.ndarray]:
    """Indices sorted by length, cut into batches whose padded size (rows × longest) ≤ ``max_tokens``.

    A row longer than the budget gets a batch of its own.
    """
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for end in range(1, len(order) + 1):
        longest = int(lengths[order[end - 1]])
        if end - start > 1 and (end - start) * longest > max_tokens:
            batches.append(order[start:end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


class _Tokenizer:
    """A private copy of the model's Rust tokenizer set to truncate like the model, never pad."""

    def __init__(self, hf_tokenizer, max_length: int):
        from tokenizers import Tokenizer

        raw = getattr(hf_tokenizer, "_tokenizer", None)
        if raw is None:
            raise TypeError("fast_encode needs a fast (Rust) tokenizer")
        self.tok = Tokenizer.from_str(raw.to_str())
        self.tok.no_padding()
        self.tok.enable_truncation(max_length)
        self.pad_id = hf_tokenizer.pad_token_id or 0
        self.wants_token_types = "token_type_ids" in getattr(hf_tokenizer, "model_input_names", ())

    def encode(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch([t.strip() for t in texts])]


def _tokenize_parallel(tok: _Tokenizer, texts: list[str], pool: ThreadPoolExecutor, workers: int) -> list[list[int]]:
    step = max(64, -(-len(texts) // workers))
    parts = pool.map(tok.encode, [texts[i:i + step] for i in range(0, len(texts), step)])
    return [ids for part in parts for ids in part]


def _pad(rows: list[list[int]], pad_id: int, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(r) for r in rows)
    width = -(-width // multiple) * multiple
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for j, r in enumerate(rows):
        ids[j, :len(r)] = r
        mask[j, :len(r)] = 1
    return ids, mask


def supports_fast_encode(model) -> bool:
    """True when the model's first module is a HF transformer with a fast tokenizer."""
    first = model[0] if len(model) else None
    return getattr(getattr(first, "tokenizer", None), "_tokenizer", None) is not None and hasattr(first, "auto_model")


def fast_encode(model, texts: list[str], config: FastEncodeConfig = FastEncodeConfig(), on_batch=None) -> np.ndarray:
    """Embed ``texts`` with a SentenceTransformer ``model``; rows in input order, L2-normalised float32.

    ``on_batch(done, total)`` is called after each batch (for progress bars).
    """
    import torch

    from retrieval.embedders import normalise, st_dimension

    n = len(texts)
    dim = st_dimension(model)
    if n == 0:
        return np.zeros((0, dim), dtype=np.float32)
    device = model.device
    cuda = device.type == "cuda"
    precision = config.precision if config.precision != "auto" else ("fp16" if cuda else "fp32")
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    max_tokens = config.max_tokens_cuda if cuda else config.max_tokens_cpu
    tok = _Tokenizer(model.tokenizer, model.max_seq_length or model.tokenizer.model_max_length)
    workers = config.tokenizer_threads or os.cpu_count() or 1
    pieces: list[tuple[np.ndarray, object]] = []  # (row indices, embeddings still on the device)
    slices = [(s, texts[s:s + config.slice_size]) for s in range(0, n, config.slice_size)]

    # A producer thread tokenises slice i+1 while the model runs on slice i.
    ready: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()  # set when the consumer gives up, so the producer never blocks forever

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            with ThreadPoolExecutor(workers) as pool:
                for start, part in slices:
                    if not put((start, _tokenize_parallel(tok, part, pool, workers))):
                        return
        except BaseException as exc:  # surfaced in the consumer
            put(exc)
        put(None)

    threading.Thread(target=produce, daemon=True, name="fast-encode-tokenize").start()
    was_training = model.training
    model.eval()
    done = 0
    precision_ctx = torch.autocast(device_type=device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()
    try:
        with torch.inference_mode():
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                start, ids = item
                for batch in token_budget_batches([len(r) for r in ids], max_tokens):
                    input_ids, mask = _pad([ids[i] for i in batch], tok.pad_id, 8 if cuda else 1)
                    features = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(mask)}
                    if tok.wants_token_types:
                        features["token_type_ids"] = torch.zeros_like(features["input_ids"])
                    if cuda:
                        features = {k: v.pin_memory().to(device, non_blocking=True) for k, v in features.items()}
                    with precision_ctx:
                        emb = model(features)["sentence_embedding"]
                    pieces.append((start + batch, emb.float()))  # no sync: the GPU runs ahead
                    done += len(batch)
                    if on_batch:
                        on_batch(done, n)
    finally:
        stop.set()
        model.train(was_training)
    out = np.zeros((n, dim), dtype=np.float32)
    if pieces:
        rows = np.concatenate([r for r, _ in pieces])
        out[rows] = torch.cat([e for _, e in pieces]).cpu().numpy()
    return normalise(out)
