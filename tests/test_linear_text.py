"""The text passes run in linear time on hostile input.

80 KB of ``{%`` once took 12 s (1 MB about 30 min) and froze every other user's chat; a heading
of 20k spaces took 1.1 s. Each case makes its input four times longer and bounds the growth of the
run time: linear code grows about 4x, quadratic code 16x, and the bound (8x) sits a factor of 2 from
each. Sizes grow until one run takes long enough (≥ 100 ms, past the allocator's small-size effects)
to time reliably, so the check holds on slow and fast machines alike. Runs are timed in the calling
thread's CPU time (``time.thread_time``), so another process or a background thread left by an earlier
test does not count: with a factor of 2 and wall-clock time, a busy CI machine once measured 3.1x for
linear code against a bound of 3.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from retrieval.chunking import chunk_document
from retrieval.loaders import load_document
from common.text import detect_language, split_sentences

STEP = 4  # how many times longer the second input is
MAX_GROWTH = 8.0  # linear ≈ 4, n log n ≈ 4.5, quadratic ≈ 16


def _ingest_markdown(text: str) -> None:
    doc = load_document(Path("/c/x.md"), Path("/c"), {}, data=text.encode("utf-8"))
    chunk_document(doc, 400, 60)


def _best_of(fn, arg, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time()
        fn(arg)
        best = min(best, time.thread_time() - t0)
    return best


def _growth(fn, make, n=1000, floor_s=0.1, max_n=8_000_000, tries=3) -> tuple[int, float]:
    """The size ``n`` timed and how much making it ``STEP`` times longer grew the run time: the
    smallest of ``tries`` ratios, each of interleaved best-of-3 timings (a disturbance slows one size,
    not a whole series; quadratic code grows ~16x every time, so the minimum still exposes it)."""
    while n < max_n and _best_of(fn, make(n), repeat=1) < floor_s:
        n *= 2
    small, large = make(n), make(STEP * n)
    growth = float("inf")
    for _ in range(tries):
        t_small = t_large = float("inf")
        for _ in range(3):
            t_small = min(t_small, _best_of(fn, small, repeat=1))
            t_large = min(t_large, _best_of(fn, large, repeat=1))
        growth = min(growth, t_large / max(t_small, 1e-9))
        if growth < MAX_GROWTH:
            break
    return n, growth


HOSTILE = {
    "unclosed {% tags": lambda n: "intro\n" + "{%" * n,
    "unclosed {{ tags": lambda n: "intro\n" + "{{" * n,
    "closed tags then a far opener": lambda n: "{%%}" * n + "{{",
    "heading of spaces": lambda n: "# a" + " " * n + "b\n\ntext",
    "heading of spaces and hashes": lambda n: "## " + " #" * n + "x\n\ntext",
    "heading of open links": lambda n: "# " + "[a](" * n + "\n\ntext",
    "heading of brackets": lambda n: "# " + "[" * n + "\n\ntext",
    "one long line of dollars": lambda n: "$a " * n,
    "formulas between sentence ends": lambda n: "$a$. " * n,  # quadratic in sentence_spans once (25 KB: 1.4 s)
    "dollars, code and sentence ends": lambda n: "`$` $$x$$。 $y$. " * n,
    "blank-ish lines": lambda n: "a\n" + " \t\n" * n + "b",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_markdown_ingest_is_linear(name):
    n, growth = _growth(_ingest_markdown, HOSTILE[name])
    assert growth < MAX_GROWTH, f"{name}: {n} → {STEP * n} chars grew the time {growth:.1f}x"


@pytest.mark.parametrize("fn", [detect_language, split_sentences])
@pytest.mark.parametrize("make", [lambda n: "$$ x $ y" * n + "。！" * n, lambda n: "$a$. " * n, lambda n: "[a?](" * n + "[" * n,
                                  lambda n: "Ab A. B. " * n], ids=["runs", "alternating", "link texts", "initials"])
def test_sentence_and_language_passes_are_linear(fn, make):
    n, growth = _growth(fn, make)
    assert growth < MAX_GROWTH, f"{fn.__name__}: {n} → {STEP * n} grew the time {growth:.1f}x"


def test_the_check_tells_quadratic_code_from_linear_code():
    """The measure itself: a scan from every position (quadratic) grows about 16x when its input is
    four times longer, one scan (linear) about 4x, so the bound above fails the first and passes the
    second."""
    def quadratic(text: str) -> int:
        return sum(text.find("x", i) for i in range(0, len(text), 4))

    def linear(text: str) -> int:
        return sum(text.find("x", i, i + 8) for i in range(0, len(text), 4))

    assert _growth(quadratic, lambda n: "a" * n, floor_s=0.02)[1] > MAX_GROWTH  # 16x at any size: a cheap one
    assert _growth(linear, lambda n: "a" * n)[1] < MAX_GROWTH


@pytest.mark.parametrize("make", [lambda n: "due homework" + " " * n, lambda n: "截止 第" + " " * n + "作业"],
                         ids=["english spaces", "chinese spaces"])
def test_the_homework_alias_pattern_is_linear(make):
    """Two runs of spaces around an optional "#" backtracked quadratically (0.43 s on 4,000 spaces), and a
    question is matched about four times per search and scope check (a review's finding)."""
    from retrieval.glossary import homework_aliases

    n, growth = _growth(homework_aliases, make)
    assert growth < MAX_GROWTH, f"{n} → {STEP * n} grew the time {growth:.1f}x"
