"""How often does a served model call a tool in its first round? ``python bench/tool_call_probe.py``

Sends every ``--every``-th dev question (default: every fourth, the first 14) to the OpenAI-compatible
server at ``--base-url`` with the agent's tools (search_course, list_readings) and a system prompt
(``--system FILE``; default: the agent's own, prompts/agent.yaml ``tools_system``), streams the first
round as the agent does (``first_tool_choice=required``, stopped after 200 characters of text), and
counts the questions answered with a tool call. This is the measurement behind the short system
prompt (README, "The tool-calling path against a real server")::

    make serve-llm &
    python bench/tool_call_probe.py --base-url http://127.0.0.1:8080/v1
    python bench/tool_call_probe.py --base-url http://127.0.0.1:8080/v1 --system old_prompt.txt --no-save
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/tool_call_probe.py")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--system", type=Path, default=None, help="system prompt file (default: the agent's)")
    parser.add_argument("--every", type=int, default=4)
    parser.add_argument("--limit", type=int, default=14)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    from langchain_core.messages import HumanMessage, SystemMessage

    from agent.llm import get_chat_model
    from agent.prompts import language_name, load_prompts
    from agent.strategies.tool_calling import ToolCallingStrategy
    from agent.tools import CourseTools
    from common.text import detect_language
    from settings import load_settings

    settings = load_settings(llm=f"openai:{args.model}", llm_base_url=args.base_url, llm_max_new_tokens=80)
    backend = get_chat_model(settings.agent, cache_dir=None)
    tools = [t for t in CourseTools(None, None, None).langchain_tools() if t.name != "run_python"]
    questions = [json.loads(line)["question"] for line in open(REPO / "tests/data/dev_qa.jsonl", encoding="utf-8")]
    questions = questions[:: args.every][: args.limit]
    template = args.system.read_text(encoding="utf-8") if args.system else load_prompts()["tools_system"]
    called, t0 = 0, time.perf_counter()
    for question in questions:
        system = template.replace("{language}", language_name(detect_language(question)))
        full = None
        for chunk in backend.stream([SystemMessage(system), HumanMessage(question)], tools=tools, tool_choice="required"):
            full = chunk if full is None else full + chunk
            if isinstance(full.content, str) and len(full.content) > ToolCallingStrategy.PREAMBLE_CHARS:
                break
        called += bool(full is not None and full.tool_calls)
    report("tool_call_probe", {"model": args.model, "system": str(args.system or "prompts/agent.yaml tools_system"),
                               "questions": len(questions), "called_a_tool": called,
                               "seconds": round(time.perf_counter() - t0, 1)}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
