"""``python -m agent ask "question" [--json]``: stream an answer with verified citations."""

from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m agent")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ask", help="answer a question from the course materials")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="last line printed: one JSON object")
    args = parser.parse_args(argv)

    from agent.core import Agent
    from retrieval.errors import RetrievalError
    from settings import SettingsError, get_settings

    try:
        agent = Agent(get_settings())
        agent.retriever  # load now: a missing index is one clear sentence
    except (RetrievalError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = None
    for event in agent.stream(args.question):
        if event["type"] == "token":
            print(event["text"], end="", flush=True)
        elif event["type"] == "replace":
            print("\n\n" + event["text"], end="", flush=True)
        elif event["type"] == "status":
            print(f"[{event['text']}]", file=sys.stderr, flush=True)
        elif event["type"] == "result":
            result = event["result"]
    print()
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
    if args.json:
        data = result.to_json_dict()
        print(json.dumps({k: data[k] for k in ("answer", "citations", "tool_calls", "timings", "refused", "mode",
                                               "strategy", "verification", "passages", "code_runs", "error")},
                         ensure_ascii=False))
    else:
        print("\nSources:")
        shown = set()
        for c in result.citations:
            if c["n"] in shown:
                continue
            shown.add(c["n"])
            page = f", p. {c['page']}" if c["page"] else ""
            print(f"  [{c['n']}] {c['title']}{page} — {c['heading']}  ({c['verdict']}, {c['score']:.2f})")
    return 1 if result.error else 0


if __name__ == "__main__":
    sys.exit(main())
