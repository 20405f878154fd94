"""End-to-end evaluation: ``python -m agent.eval --qa FILE.jsonl [--mode auto|generate|translate|extract] [--json]``.

Same file format as retrieval.eval. For each question it asks the agent and measures:

- retrieval recall: a gold string is in one of the answer's passages;
- cited-gold rate: the answer cites a passage that contains a gold string;
- gold-shown rate: the answer's own text contains a gold string (what a student reads, not only
  what a citation points to; gold strings are in the notes' language, so compare it within one
  mode: a quote, or a written answer in the notes' language);
- verifier citation precision / recall (ALCE definitions, agent/citations.py), averaged;
- refusals: the share of out-of-corpus questions (empty ``answer_contains``) declined, and
  the share of in-corpus questions wrongly declined;
- language match, over answered questions (a refusal is a fixed sentence in the question's
  language): the answer's own words are in the question's language (code, [n] and link targets removed; the
  whole text of quoted answers, whose quotes are in the notes' language);
- lines left out of translated answers (their translation failed the check; shown apart, as in the
  notes): how many answers left any out, and how many lines in all;
- citation precision / recall separately for written answers (mode ``generate``; ``written_translations``
  of them are the quote translated by the model, English questions over Chinese notes; ``composed_*``
  leaves those out) and quoted ones;
- latency: p50 / p95 of the whole answer, of the first model token and of the first shown
  sentence where a model wrote; decoding speed (tokens/s) p50;
- tool calls per answer (all, and those the model made itself; how many failed: unknown tool, bad
  arguments; how often the agent searched for a model that would not), for
  comparing the tool-calling strategy with the deterministic route (``--strategy``).
"""

from __future__ import annotations

import argparse
import json
import re
import os
import sys
import time
from pathlib import Path

from agent.compose import CELL_SEPARATOR
from agent.line_translation import line_passage
from common.text import detect_language, question_language, without_links
from retrieval.eval import contains_any, load_qa, percentile

_MARKERS = re.compile(r"\s*\[\d{1,3}\]|```.*?```", re.S)


def in_question_language(answer: str, question: str) -> bool:
    """Are the answer's own words in the question's language? Its [n] markers, code and link targets
    (an address is not read as prose) left out, as the sentence gate does (agent/gate.py).

    >>> in_question_language("See [Basic Concepts](#基础知识) [1].", "What are the basics?")
    True
    >>> in_question_language("温度控制随机性 [1]。", "What does temperature do?")
    False
    """
    return detect_language(without_links(_MARKERS.sub(" ", answer))) == question_language(question)


def _pct(values: list[float], q: float) -> float | None:
    return round(percentile(values, q), 3) if values else None


def _mean(rows: list[dict], key: str) -> float | None:
    return round(sum(float(r[key]) for r in rows) / len(rows), 4) if rows else None


def evaluate(agent, items: list[dict], rows_out: list | None = None) -> dict:
    rows = []
    for item in items:
        t0 = time.perf_counter()
        answer = agent.ask(item["question"])
        elapsed = time.perf_counter() - t0
        gold = item.get("answer_contains") or []
        cited = set(answer.cited_numbers())
        # passages only the lines left out of a translated answer point to (listed apart, not cited)
        left_out = {line_passage(line) for line in answer.untranslated} - cited
        ver = answer.verification
        cited_gold = bool(gold) and any(contains_any(p.text, gold) for p in answer.passages if p.n in cited)
        rows.append({
            "id": item["id"],
            "in_corpus": bool(gold),
            "refused": answer.refused,
            "retrieved_gold": bool(gold) and any(contains_any(p.text, gold) for p in answer.passages),
            "cited_gold": cited_gold,
            # a table row is shown with its cells apart ("Gopher | DeepMind | Dec 2021"), the gold as the notes' row
            # (no gold string of the sets holds " | "; one that did, a formula's p(x | y), would not be found)
            "gold_shown": bool(gold) and not answer.refused and contains_any(answer.answer.replace(CELL_SEPARATOR, " "), gold),
            "precision": ver.precision if ver else None,
            "recall": ver.recall if ver else None,
            "mode": answer.mode,
            "translated": bool(answer.timings.get("translated")),  # written: the model translated the quote
            "translated_lines": answer.timings.get("translated_lines", 0),  # quoted lines shown translated
            "untranslated": len(answer.untranslated),  # quoted lines the translation left out (shown apart)
            "loops_cut": answer.timings.get("loops_cut", 0),  # model replies stopped in a loop (agent/repetition.py)
            "gold_only_left_out": bool(gold) and not cited_gold
            and any(contains_any(p.text, gold) for p in answer.passages if p.n in left_out),
            "error": answer.error,
            "seconds": elapsed,
            "first_token_s": answer.timings.get("first_token_s"),
            "first_sentence_s": answer.timings.get("first_sentence_s"),
            "tokens_per_s": answer.timings.get("tokens_per_s"),
            # the question translated for the search (agent/query_translation.py); its time comes before
            # the search, so before first_token_s's clock starts
            "query_translated": any("translation" in c.args for c in answer.tool_calls),
            "query_translation_s": answer.timings.get("query_translation_s"),
            "tool_calls": len(answer.tool_calls),
            "model_tool_calls": answer.timings.get("tool_calls", 0),  # made by a tool-calling model itself
            "searched_for_model": bool(answer.timings.get("searched_for_model")),
            "tool_errors": sum(1 for c in answer.tool_calls if c.summary.startswith("error")),
            "strategy": answer.strategy,
            "language_match": in_question_language(answer.answer, item["question"]),
        })
    if rows_out is not None:
        rows_out.extend(rows)
    inside = [r for r in rows if r["in_corpus"]]
    outside = [r for r in rows if not r["in_corpus"]]
    answered = [r for r in inside if not r["refused"] and r["precision"] is not None]
    written = [r for r in answered if r["mode"] == "generate"]
    quoted = [r for r in answered if r["mode"] == "extract"]
    composed = [r for r in written if not r["translated"]]  # the model's own answers, not translated quotes
    modes: dict[str, int] = {}
    for r in rows:
        modes[r["mode"]] = modes.get(r["mode"], 0) + 1
    return {
        "n": len(rows),
        "n_in_corpus": len(inside),
        "retrieval_recall": round(sum(r["retrieved_gold"] for r in inside) / len(inside), 4) if inside else None,
        "cited_gold_rate": round(sum(r["cited_gold"] for r in inside) / len(inside), 4) if inside else None,
        "gold_shown_rate": _mean(inside, "gold_shown"),
        "citation_precision": round(sum(r["precision"] for r in answered) / len(answered), 4) if answered else None,
        "citation_recall": round(sum(r["recall"] for r in answered) / len(answered), 4) if answered else None,
        "refusal_rate_out_of_corpus": round(sum(r["refused"] for r in outside) / len(outside), 4) if outside else None,
        "false_refusal_rate": round(sum(r["refused"] for r in inside) / len(inside), 4) if inside else None,
        "written": len(written),
        "written_translations": sum(r["translated"] for r in written),
        # translated answers that left lines out (no translation passed), and how many lines in all
        "answers_with_lines_left_out": sum(1 for r in rows if r["untranslated"]),
        "lines_left_out": sum(r["untranslated"] for r in rows),
        "lines_translated": sum(r["translated_lines"] for r in rows),
        "answers_with_loops_cut": sum(1 for r in rows if r["loops_cut"]),
        # in-corpus answers citing no gold passage whose left-out lines came from one (they would cite it as quotes)
        "gold_only_in_lines_left_out": sum(1 for r in inside if r["gold_only_left_out"]),
        "composed_citation_precision": _mean(composed, "precision"),  # translations are supported almost by construction
        "composed_citation_recall": _mean(composed, "recall"),
        "written_citation_precision": _mean(written, "precision"),
        "written_citation_recall": _mean(written, "recall"),
        "quoted_citation_precision": _mean(quoted, "precision"),
        "quoted_citation_recall": _mean(quoted, "recall"),
        # answered questions only: a refusal is a fixed sentence in the question's language, a match by construction
        "language_match": _mean([r for r in rows if not r["error"] and not r["refused"]], "language_match"),
        "language_match_written": _mean(written, "language_match"),
        "language_misses": [r["id"] for r in rows if not r["language_match"] and not r["refused"]],
        "errors": sum(1 for r in rows if r["error"]),
        "error_ids": [r["id"] for r in rows if r["error"]],
        "latency_s_p50": _pct([r["seconds"] for r in rows], 50),
        "latency_s_p95": _pct([r["seconds"] for r in rows], 95),
        "first_token_s_p50": _pct([r["first_token_s"] for r in rows if r["first_token_s"]], 50),
        "first_token_s_p95": _pct([r["first_token_s"] for r in rows if r["first_token_s"]], 95),
        "first_sentence_s_p50": _pct([r["first_sentence_s"] for r in rows if r["first_sentence_s"]], 50),
        "tokens_per_s_p50": _pct([r["tokens_per_s"] for r in rows if r["tokens_per_s"]], 50),
        "queries_translated": sum(r["query_translated"] for r in rows),
        # over the questions the model was asked to translate (a reply not used costs its time too)
        "query_translation_s_p50": _pct([r["query_translation_s"] for r in rows if r["query_translation_s"] is not None], 50),
        "tool_calls_per_answer": _mean(rows, "tool_calls"),
        "model_tool_calls_per_answer": _mean(rows, "model_tool_calls"),
        "searched_for_model": sum(r["searched_for_model"] for r in rows),
        "tool_call_errors": sum(r["tool_errors"] for r in rows),
        "modes": modes,
        "misses": [r["id"] for r in inside if not r["cited_gold"]],
        "false_refusals": [r["id"] for r in inside if r["refused"]],
        "out_of_corpus_answered": [r["id"] for r in outside if not r["refused"]],
    }


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = argparse.ArgumentParser(prog="python -m agent.eval")
    parser.add_argument("--qa", required=True, type=Path)
    parser.add_argument("--mode", choices=["auto", "generate", "translate", "extract"], default=None,
                        help="override the answer_mode setting")
    parser.add_argument("--strategy", choices=["auto", "tools", "route"], default=None,
                        help="override the agent_strategy setting")
    parser.add_argument("--json", action="store_true", help="last line printed: one JSON object")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--rows", type=Path, default=None, help="also write one JSON line per question here")
    args = parser.parse_args(argv)

    from agent.core import Agent
    from common.errors import CourseTAError
    from common.machine import machine_info
    from settings import get_settings

    try:
        settings = get_settings()
        if args.mode:
            settings = settings.override(answer_mode=args.mode)
        if args.strategy:
            settings = settings.override(agent_strategy=args.strategy)
        agent = Agent.from_settings(settings)
    except CourseTAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    machine = machine_info()  # before the run: nothing after it may lose its figures
    rows: list = []
    result = evaluate(agent, load_qa(args.qa)[: args.limit], rows)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result["answer_mode"] = settings.agent.answer_mode
    result["llm"] = settings.agent.llm
    result["agent_strategy"] = agent.strategy.name
    result["machine"] = machine  # compare figures of one machine only (common/machine.py)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
