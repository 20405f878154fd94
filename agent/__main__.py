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
    from agent.events import Done, Replace, Status, Token
    from common.errors import CourseTAError
    from settings import get_settings

    try:
        agent = Agent.from_settings(get_settings())  # loads the index: a missing one is one clear sentence
    except CourseTAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    answer = None
    for event in agent.stream(args.question):
        if isinstance(event, Token):
            print(event.text, end="", flush=True)
        elif isinstance(event, Replace):
            print("\n\n" + event.text, end="", flush=True)
        elif isinstance(event, Status):
            print(f"[{event.text}]", file=sys.stderr, flush=True)
        elif isinstance(event, Done):
            answer = event.answer
    print()
    if answer.untranslated:
        from agent.prompts import phrase

        print("\n" + phrase("untranslated_lines", answer.language, count=len(answer.untranslated)) + ":")
        for n, title, text in answer.untranslated_lines():
            print(f"  [{n}] {title}: {text}" if n is not None else f"  {text}")
    if answer.error:
        print(f"error: {answer.error}", file=sys.stderr)
    if args.json:
        data = answer.public_dict()
        print(json.dumps({k: data[k] for k in ("answer", "citations", "tool_calls", "timings", "refused", "mode",
                                               "strategy", "verification", "passages", "code_runs", "error", "untranslated")},
                         ensure_ascii=False))
    else:
        print("\nSources:")
        shown = set()
        for c in answer.citations:
            if c.n in shown:
                continue
            shown.add(c.n)
            page = f", p. {c.page}" if c.page else ""
            print(f"  [{c.n}] {c.title}{page} — {c.heading}  ({c.verdict}, {c.score:.2f})")
    return 1 if answer.error else 0


if __name__ == "__main__":
    sys.exit(main())
