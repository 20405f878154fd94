"""Command line: ``python -m retrieval ingest|search``.

    python -m retrieval ingest [--corpus DIR] [--rebuild] [--allow-empty] [--json]
    python -m retrieval search "什么是语言模型" --k 5 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from retrieval.cli_args import k_value
from retrieval.errors import os_error_sentence


def _ingest(args) -> int:
    from retrieval.ingest import ingest
    from settings import get_settings

    report = ingest(get_settings().retrieval, corpus_dir=args.corpus, rebuild=args.rebuild, progress=not args.json,
                    allow_empty=args.allow_empty)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0
    for message in report.messages:
        print(message)
    print(report.table())
    print(report.summary())
    return 0


def _search(args) -> int:
    from retrieval.search import Retriever
    from settings import get_settings

    hits = Retriever.load(get_settings().retrieval).search(args.query, args.k)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return 0
    if not hits:
        print("no results")
    for i, hit in enumerate(hits, start=1):
        page = f", p. {hit.page}" if hit.page else ""
        ranks = " ".join(f"{name}={rank or '-'}" for name, rank in hit.ranks.items())
        print(f"[{i}] {hit.title}{page} — {hit.heading or '(no heading)'}")
        print(f"    score={hit.score:.4f} {ranks} id={hit.id} {hit.source}:{hit.start}-{hit.end}")
        text = " ".join(hit.text.split())
        print(f"    {text[:240]}{'…' if len(text) > 240 else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(prog="python -m retrieval", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="index the corpus folder (only what changed)")
    p.add_argument("--corpus", default=None, help="corpus folder (default: the corpus_dir setting)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--allow-empty", action="store_true",
                   help="let an empty corpus folder empty the index (refused otherwise: a folder that did not mount?)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=_ingest)
    p = sub.add_parser("search", help="hybrid search of the index")
    p.add_argument("query")
    p.add_argument("--k", type=k_value, default=5, help="results to show (1-100)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_search)
    args = parser.parse_args(argv)

    from common.errors import CourseTAError

    try:
        return args.func(args)
    except CourseTAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a folder it may not write: the old index is left as it was
        print(f"error: {os_error_sentence(exc, _data_dir())}; the index is left as it was", file=sys.stderr)
        return 2


def _data_dir():
    try:
        from settings import get_settings

        return get_settings().retrieval.data_dir
    except Exception:  # noqa: BLE001 - only to say how much room is left
        return None


if __name__ == "__main__":
    sys.exit(main())
