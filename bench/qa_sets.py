"""The question sets the retrieval benchmarks read, and the loop over their questions.

Every bench script that scores retrieval variants walks the same sets the same way: each set's
questions in file order, the answerable ones (those with ``answer_contains``) only, unless asked.

>>> counts = {}
>>> for set_name, item in questions({"dev": "dev_qa.jsonl"}):
...     counts[set_name] = counts.get(set_name, 0) + 1
>>> counts, sum(1 for _ in questions({"dev": "dev_qa.jsonl"}, answerable_only=False, limit=3))
({'dev': 52}, 3)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from retrieval.eval import contains_any, load_qa

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = {"dev": "dev_qa.jsonl", "dev2": "dev2_qa.jsonl", "dev3": "dev3_qa.jsonl", "held-out": "heldout_qa.jsonl"}
# the sets written later; scripts written after them read them too
ALL_SETS = {**SETS, "dev4": "dev4_qa.jsonl", "codemixed": "codemixed_qa.jsonl", "codemixed2": "codemixed2_qa.jsonl",
            "dev5": "dev5_qa.jsonl"}
TUNING = ("dev", "dev2", "dev3")  # what settings are chosen on; held-out is only reported


def questions(sets: dict[str, str] = SETS, answerable_only: bool = True,
              limit: int | None = None) -> Iterator[tuple[str, dict]]:
    """(set name, question record) for each set's questions in order: at most ``limit`` records of each
    set's file are read, and out-of-corpus ones (no ``answer_contains``) are skipped when
    ``answerable_only``."""
    for set_name, file in sets.items():
        for item in load_qa(DATA / file)[:limit]:
            if item.get("answer_contains") or not answerable_only:
                yield set_name, item


def gold_chunks(chunks, item: dict) -> set[int]:
    """The positions of the chunks holding one of the question's ``answer_contains`` strings."""
    return {i for i, c in enumerate(chunks) if contains_any(c.indexed_text(), item["answer_contains"])}
