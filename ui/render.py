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


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text)
