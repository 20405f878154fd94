"""Benchmark data: chunk-like texts of 150–500 characters cut from the course corpus.

>>> texts = synthetic_chunks(50, seed=0)
>>> len(texts), all(150 <= len(t) <= 500 for t in texts)
(50, True)

Sentences of every Markdown/TXT file in ``corpus/`` (Chinese and English) are shuffled with a
fixed seed and packed into texts of a random target length between 150 and 500 characters, so
the mix of languages and lengths is that of the real notes, at any count (40,000 for the GPU
benchmark). Deterministic for a given seed.
"""

from __future__ import annotations

import random
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@lru_cache(maxsize=1)
def corpus_sentences() -> tuple[str, ...]:
    from common.text import split_sentences

    out = []
    for path in sorted((ROOT / "corpus").rglob("*")):
        if path.suffix.lower() in (".md", ".txt"):
            for s in split_sentences(path.read_text(encoding="utf-8", errors="replace")):
                s = " ".join(s.split())
                if 10 <= len(s) <= 300:
                    out.append(s)
    if not out:
        raise SystemExit("no sentences found under corpus/; run from a checkout with the corpus")
    return tuple(out)


def synthetic_chunks(count: int, seed: int = 0, low: int = 150, high: int = 500) -> list[str]:
    sentences = corpus_sentences()
    rng = random.Random(seed)
    texts = []
    while len(texts) < count:
        target = rng.randint(low, high)
        parts, size = [], 0
        while size < target:
            s = sentences[rng.randrange(len(sentences))]
            parts.append(s)
            size += len(s) + 1
        text = " ".join(parts)[:target]
        if len(text) >= low:
            texts.append(text)
    return texts
