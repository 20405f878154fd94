"""Pure functions that turn agent results into Markdown/HTML for the Streamlit pages (no streamlit here).

>>> link_markers("温度控制随机性 [1][2]。", "m0")
'温度控制随机性 [[1]](#m0-src-1)[[2]](#m0-src-2)。'
>>> highlight("A. B is true. C.", "B is true.")
'A. <mark>B is true.</mark> C.'
"""

from __future__ import annotations

import json
import re

from agent.citations import lexical_support
from retrieval.text import split_sentences

VERDICT_BADGE = {"supported": ":green[**supported**]", "weak": ":orange[**weak**]", "unsupported": ":red[**unsupported**]"}


def link_markers(answer: str, anchor_prefix: str) -> str:
    """Each [n] becomes a link to the source n listed under the answer."""
    return re.sub(r"\[(\d{1,3})\]", lambda m: f"[[{m.group(1)}]](#{anchor_prefix}-src-{m.group(1)})", answer)


def _escape(text: str) -> str:
    """No HTML from a passage gets through (< and > escaped); & stays, LaTeX needs it."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def highlight(passage: str, sentence: str | None) -> str:
    """The passage as HTML with ``sentence`` marked (both escaped)."""
    if not sentence or sentence not in passage:
        return _escape(passage)
    i = passage.index(sentence)
    return _escape(passage[:i]) + "<mark>" + _escape(sentence) + "</mark>" + _escape(passage[i + len(sentence):])


def supporting_sentence(passage: str, claims: list[str]) -> str | None:
    """The passage sentence that best supports any of the answer sentences citing it."""
    best, best_score = None, 0.0
    for sentence in split_sentences(passage):
        s = sentence.strip()
        if not s:
            continue
        score = max((lexical_support(claim, s) for claim in claims), default=0.0)
        if score > best_score:
            best, best_score = s, score
    return best


def sources(result: dict) -> list[dict]:
    """One entry per cited passage number: passage, verdict (worst over its uses), best score, highlight."""
    sentences = {s["index"]: s["text"] for s in result.get("verification", {}).get("sentences", [])}
    by_n: dict[int, dict] = {}
    order = {"unsupported": 0, "weak": 1, "supported": 2}
    for c in result.get("citations", []):
        entry = by_n.setdefault(c["n"], {"n": c["n"], "verdict": c["verdict"], "score": c["score"], "claims": []})
        if order[c["verdict"]] < order[entry["verdict"]]:
            entry["verdict"] = c["verdict"]
        entry["score"] = max(entry["score"], c["score"])
        if c["sentence_index"] in sentences:
            entry["claims"].append(sentences[c["sentence_index"]])
    passages = {p["n"]: p for p in result.get("passages", [])}
    out = []
    for n in sorted(by_n):
        if n not in passages:
            continue
        p = passages[n]
        entry = by_n[n]
        sent = supporting_sentence(p["text"], entry["claims"]) if entry["claims"] else None
        out.append({**entry, **{k: p[k] for k in ("title", "heading", "page", "source", "chunk_id", "text")},
                    "html": highlight(p["text"], sent)})
    return out


def conversation_markdown(messages: list[dict]) -> str:
    lines = ["# CourseTA conversation", ""]
    for m in messages:
        if m["role"] == "user":
            lines += [f"**Student:** {m['content']}", ""]
            continue
        result = m.get("result") or {}
        lines += [f"**CourseTA:** {result.get('answer', m.get('content', ''))}", ""]
        for s in sources(result):
            page = f", p. {s['page']}" if s["page"] else ""
            lines.append(f"- [{s['n']}] {s['title']}{page} — {s['heading']} ({s['verdict']}, {s['score']:.2f}) `{s['chunk_id']}`")
        if m.get("feedback") is not None:
            lines.append(f"- feedback: {'👍' if m['feedback'] else '👎'} {m.get('comment', '')}")
        lines.append("")
    return "\n".join(lines)


def conversation_json(messages: list[dict]) -> str:
    return json.dumps([{k: v for k, v in m.items() if k != "figures"} for m in messages], ensure_ascii=False, indent=1)


def _short(value, width: int = 60) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def trace_steps(result: dict) -> list[str]:
    """The answer's steps, in order, for the office-hours trace: tool calls, writing, citation check.

    >>> trace_steps({"tool_calls": [{"name": "search_course", "args": {"query": "温度参数", "k": 5},
    ...                              "summary": "5 passages", "duration_s": 0.031}],
    ...              "mode": "generate", "timings": {"first_token_s": 1.71, "generation_s": 9.2},
    ...              "verification": {"precision": 1.0, "recall": 0.5}})
    ['`search_course(query=温度参数, k=5)` → 5 passages · 0.03 s', 'wrote the answer: first token after 1.71 s, done in 9.20 s', 'checked the citations: precision 1.00 · recall 0.50']
    """
    steps = []
    for call in result.get("tool_calls") or []:
        args = ", ".join(
            f"{k}={_short(v) if k != 'code' else f'<{len(str(v).splitlines())} lines>'}" for k, v in call["args"].items()
        )
        steps.append(f"`{call['name']}({args})` → {call['summary']} · {call['duration_s']:.2f} s")
    timings = result.get("timings") or {}
    mode = result.get("mode")
    if mode == "generate" and "generation_s" in timings:
        first = timings.get("first_token_s")
        start = f"first token after {first:.2f} s, " if first is not None else ""
        steps.append(f"wrote the answer: {start}done in {timings['generation_s']:.2f} s")
    elif mode in ("extract", "refusal", "homework"):
        steps.append({"extract": "quoted the best supporting sentences",
                      "refusal": "declined: the course materials do not cover the question",
                      "homework": "homework integrity: pointed to the readings instead of a solution"}[mode])
    ver = result.get("verification") or {}
    if ver.get("precision") is not None:
        steps.append(f"checked the citations: precision {ver['precision']:.2f} · recall {ver['recall']:.2f}")
    return steps
