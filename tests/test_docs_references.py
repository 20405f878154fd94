"""A section named in a reference exists: `README, "Scope guard"` or `docs/EVALUATION.md, "A fresh set"`
in code, prompts, settings descriptions, tests and docs must name a heading, a bold label or a list
item's label of that file.

The measurement history moved from the README to docs/EVALUATION.md on 2026-12-06 and a review still
found references pointing at the old file; this keeps them from dangling again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SKIP = {".venv", "build", "data", "test-artifacts", "__pycache__", ".git", "corpus"}
# README, "X" / README's "X" / docs/EVALUATION.md, "X" / (README: "X") — X starting with a letter or a digit
REFERENCE = re.compile(r"\b(README(?:\.md)?|docs/[A-Z]+\.md)(?:'s|,|:)?\s+\(?[\"“]([A-Za-z0-9][^\"”]{2,150})[\"”]")
# a heading, a bold label, or a list item's label ("- Formulas: …")
ANCHOR = re.compile(r"^\s*(?:#{1,6}\s+(.+)|[-*\d.\s]*\*\*([^*]+)\*\*|[-*]\s+([^:\n*]{2,80}):)", re.M)


def _norm(text: str) -> str:
    return " ".join(text.replace("`", "").lower().split()).rstrip(".,:;")


def _anchors(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # not in code blocks
    return [_norm(m.group(1) or m.group(2) or m.group(3)) for m in ANCHOR.finditer(text)]


def _sources():
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith("."))  # not .venv, build, data…
        for name in sorted(files):
            path = Path(folder) / name
            if path.suffix in (".py", ".md", ".yaml", ".yml", ".sh") or name == "Makefile":
                yield path


def references(text: str) -> list[tuple[str, str]]:
    """(file, section) of each reference in ``text``, wrapped lines (and their comment markers) joined.

    >>> references('see (README, "Scope\\n# guard") and docs/EVALUATION.md, "A fresh set", not README.md").read(')
    [('README.md', 'Scope guard'), ('docs/EVALUATION.md', 'A fresh set')]
    """
    joined = re.sub(r"[ \t]*\n[ \t]*(?:#+[ \t]*)?", " ", text)
    return [("README.md" if m.group(1).startswith("README") else m.group(1), m.group(2)) for m in REFERENCE.finditer(joined)]


def test_every_section_named_in_a_reference_exists():
    anchors = {name: _anchors(REPO / name) for name in ["README.md", *(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]}
    found, dangling = 0, []
    for path in _sources():
        if path.name == Path(__file__).name:
            continue
        for target, section in references(path.read_text(encoding="utf-8", errors="replace")):
            found += 1
            if target not in anchors or not any(a.startswith(_norm(section)) for a in anchors[target]):
                dangling.append(f"{path.relative_to(REPO)}: {target}, \"{section}\"")
    assert found > 20  # the pattern still finds the references (there were 59 when this was written)
    assert not dangling, "\n".join(dangling)
