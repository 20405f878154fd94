"""Structure-aware chunking: Markdown by headings, PDFs by page, sentences inside.

A chunk never crosses a heading (Markdown) or a page (PDF), never cuts a fenced code
block, a table or a display formula, and otherwise ends at a sentence boundary
(Chinese 。！？； or English . ! ?, or a line break). Chunks are contiguous slices of
``Document.text``, so ``doc.text[chunk.start:chunk.end] == chunk.text``.

>>> from retrieval.types import Document
>>> doc = Document(source="a.md", title="A", kind="markdown", content_hash="x",
...                text="# 1 引言\\n\\n语言模型是概率分布。它给序列打分。\\n\\n## 1.1 温度\\n\\nT 控制随机性。\\n")
>>> [(c.heading, c.text) for c in chunk_document(doc, size=200, overlap=0)]
[('1 引言', '语言模型是概率分布。它给序列打分。'), ('1 引言 > 1.1 温度', 'T 控制随机性。')]
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterator

from common.text import detect_language, sentence_spans
from retrieval.types import Chunk, Document

CHUNKER_VERSION = 7  # bump when chunking logic changes in a way that changes chunks (5: never cut inside a formula; 6: nor inside a web address or a table row; 7: nor at a name's initial or inside a link's text)

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")  # closing #s stripped in code: linear (see loaders.py)
_FENCE = re.compile(r"^[ \t]*(```+|~~~+)")
_RULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$")
_MATH_ENV = re.compile(r"^[ \t]*\\begin\{(\w+\*?)\}")


@dataclass
class _Unit:
    start: int
    end: int
    atomic: bool  # code/table/formula: never split, never used as overlap


@dataclass
class _Section:
    heading_path: list[str]
    units: list[_Unit]
    page: int | None = None


_SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?(?=\s|[^\d.])\s*")


def _clean_heading(text: str) -> str:
    """Plain heading text; a leading section number gets a space: '1.2大模型' → '1.2 大模型'."""
    text = re.sub(r"[*_`]+", "", text)
    text = re.sub(r"\[([^\[\]]*)\]\([^()]*\)", r"\1", text)  # [text](link) → text; no nested brackets: linear
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^(\d+(?:\.\d+)*)(?=[^\d.\s])", r"\1 ", text)


@dataclass
class _Heading:
    level: int  # Markdown level, 1–6
    text: str
    number: tuple[int, ...] | None  # (1, 2, 1) for "1.2.1 ..."


def _section_number(text: str) -> tuple[int, ...] | None:
    m = _SECTION_NUMBER.match(text)
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


def _nest(path: list[_Heading], new: _Heading) -> list[_Heading]:
    """The heading path after ``new``. Section numbers beat Markdown levels, which course
    notes often get wrong ('# 1.1' followed by '## 1.2' makes 1.2 a sibling, not a child)."""
    kept = []
    for h in path:
        if new.number is not None:
            ok = (h.number is not None and h.number == new.number[: len(h.number)] and h.number != new.number) or (
                h.number is None and h.level < new.level
            )
        else:
            ok = h.level < new.level if h.number is None else h.level <= new.level
        if not ok:
            break
        kept.append(h)
    return kept + [new]


def _lines_with_offsets(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(line_start, line_end_without_newline) for each line of text[start:end]."""
    out, pos = [], start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl == -1 else nl
        out.append((pos, line_end))
        pos = line_end + 1
    return out


def _sentence_units(text: str, start: int, end: int) -> list[_Unit]:
    units = []
    for a, b in sentence_spans(text[start:end]):
        piece = text[start + a:start + b]
        stripped = piece.strip()
        if not stripped:
            continue
        lead = len(piece) - len(piece.lstrip())
        units.append(_Unit(start + a + lead, start + a + lead + len(stripped), False))
    return units


def _block_units(text: str, lines: list[tuple[int, int]]) -> Iterator[_Unit]:
    """Group body lines into paragraphs (split into sentences) and atomic blocks."""
    i, n = 0, len(lines)
    para_start = None

    def flush(upto: int) -> Iterator[_Unit]:
        nonlocal para_start
        if para_start is not None:
            yield from _sentence_units(text, lines[para_start][0], lines[upto - 1][1])
            para_start = None

    while i < n:
        a, b = lines[i]
        line = text[a:b]
        stripped = line.strip()
        fence = _FENCE.match(line)
        env = _MATH_ENV.match(line)
        if fence or stripped.startswith("$$") or env or stripped.startswith("|"):
            yield from flush(i)
            j = i
            if fence:
                marker = fence.group(1)[:3]
                j = i + 1
                while j < n and not text[lines[j][0]:lines[j][1]].strip().startswith(marker):
                    j += 1
            elif stripped.startswith("$$"):
                if not (len(stripped) > 2 and "$$" in stripped[2:]):
                    j = i + 1
                    while j < n and "$$" not in text[lines[j][0]:lines[j][1]]:
                        j += 1
            elif env:
                closing = "\\end{" + env.group(1) + "}"
                while j < n and closing not in text[lines[j][0]:lines[j][1]]:
                    j += 1
            else:  # table: consecutive lines starting with |
                while j + 1 < n and text[lines[j + 1][0]:lines[j + 1][1]].strip().startswith("|"):
                    j += 1
            j = min(j, n - 1)
            yield _Unit(a, lines[j][1], True)
            i = j + 1
            continue
        if not stripped or _RULE.match(line):
            yield from flush(i)
        elif para_start is None:
            para_start = i
        i += 1
    yield from flush(n)


def _markdown_sections(text: str) -> list[_Section]:
    sections: list[_Section] = []
    path: list[_Heading] = []
    lines = _lines_with_offsets(text, 0, len(text))
    body: list[tuple[int, int]] = []
    in_fence: str | None = None

    def close() -> None:
        units = list(_block_units(text, body))
        if units:
            sections.append(_Section([h.text for h in path], units))

    for a, b in lines:
        line = text[a:b]
        fence = _FENCE.match(line)
        if in_fence:
            if line.strip().startswith(in_fence):
                in_fence = None
        elif fence:
            in_fence = fence.group(1)[:3]
        elif (m := _HEADING.match(line)) is not None:
            close()
            body = []
            heading = _clean_heading(m.group(2).rstrip(" \t#"))
            path = _nest(path, _Heading(len(m.group(1)), heading, _section_number(heading)))
            continue
        body.append((a, b))
    close()
    return sections


def _pdf_sections(doc: Document) -> list[_Section]:
    sections = []
    for page in doc.pages:
        lines = _lines_with_offsets(doc.text, page.start, page.end)
        # slide lines are bullets: each line ends a sentence; fenced code stays whole
        units = [u for block in _block_units(doc.text, lines)
                 for u in ([block] if block.atomic else _sentence_units(doc.text, block.start, block.end))]
        if not units:
            continue
        first = doc.text[units[0].start:units[0].end]
        heading = [first] if len(first) <= 40 else []
        sections.append(_Section(heading, units, page=page.number))
    return sections


def _split_long(unit: _Unit, size: int) -> list[_Unit]:
    """A single sentence longer than 1.5 × size is cut at size; atomic blocks stay whole."""
    if unit.atomic or unit.end - unit.start <= size * 3 // 2:
        return [unit]
    return [_Unit(s, min(s + size, unit.end), False) for s in range(unit.start, unit.end, size)]


def _pack(units: list[_Unit], size: int, overlap: int) -> list[tuple[int, int]]:
    """Greedily pack units into spans of about ``size`` characters with sentence overlap."""
    units = [piece for u in units for piece in _split_long(u, size)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1].end - units[i].start <= size:
            j += 1
        spans.append((units[i].start, units[j].end))
        if j + 1 >= len(units):
            break
        # Next chunk starts with the trailing sentences of this one that fit in `overlap`.
        k = j + 1
        while (
            overlap
            and k - 1 > i
            and not units[k - 1].atomic
            and units[j].end - units[k - 1].start <= overlap
        ):
            k -= 1
        i = k
    # Fold a tiny tail into its predecessor when the result stays reasonable.
    if len(spans) >= 2:
        (a, _), (c, d) = spans[-2], spans[-1]
        if d - c < size // 4 and d - a <= size * 5 // 4:
            spans[-2:] = [(a, d)]
    return spans


def chunk_id(source: str, text: str, occurrence: int = 0) -> str:
    """Stable id: hash of the source path and the chunk text (plus a counter for repeats)."""
    key = f"{source}\n{text}" + (f"\n#{occurrence}" if occurrence else "")
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def chunk_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    if doc.kind == "pdf":
        sections = _pdf_sections(doc)
    elif doc.kind == "markdown":
        sections = _markdown_sections(doc.text)
    else:
        sections = [_Section([], list(_block_units(doc.text, _lines_with_offsets(doc.text, 0, len(doc.text)))))]
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in sections:
        for start, end in _pack(section.units, size, overlap):
            text = doc.text[start:end]
            occurrence = seen.get(text, 0)
            seen[text] = occurrence + 1
            chunks.append(
                Chunk(
                    id=chunk_id(doc.source, text, occurrence),
                    source=doc.source,
                    title=doc.title,
                    text=text,
                    heading_path=section.heading_path,
                    page=section.page,
                    start=start,
                    end=end,
                    language=detect_language(text),
                    meta=dict(doc.meta),
                )
            )
    return chunks
