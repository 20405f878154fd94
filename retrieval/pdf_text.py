"""The text of one PDF, read in a child process: ``python -m retrieval.pdf_text [MAX_PAGES] < file.pdf``.

:func:`retrieval.loaders.read_pdf` runs this so that a PDF whose text takes too long to extract can
be stopped (a thread cannot be). It prints one JSON object: ``{"ok": [pages, metadata, notes]}`` or
``{"error": "the one sentence"}``. Nothing of the file is executed; pypdf only parses it.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    from retrieval.errors import LoadError
    from retrieval.loaders import _read_pdf

    args = sys.argv[1:] if argv is None else argv
    max_pages = int(args[0]) if args else None
    data = sys.stdin.buffer.read()
    try:
        result = {"ok": _read_pdf(data, max_pages)}
    except LoadError as exc:
        result = {"error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - whatever it is, the parent skips the file with this sentence
        result = {"error": f"unreadable PDF ({type(exc).__name__})"}
    sys.stdout.write(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
