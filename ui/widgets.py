"""Streamlit pieces shared by the pages (the app layer: only app.py and pages/ use this)."""

from __future__ import annotations

import logging

import streamlit as st

from agent.prompts import phrase
from agent.records import Answer
from ui.conversations import ChatMessage
from ui.render import VERDICT_BADGE, link_markers, md_escape, md_text, sources, trace_steps, visible_controls


# Formulas (ui/tex.py) never wider than the column (a long one scrolls inside itself), and TeX
# that KaTeX rejects shows in the text's colour instead of KaTeX's red: our own CSS, no input in it
FORMULA_CSS = ("<style>.stMarkdown .katex{display:inline-block;max-width:100%;overflow-x:auto;overflow-y:hidden;"
               "vertical-align:bottom} .katex-error{color:inherit !important}</style>")



MAX_COMMENT_CHARS = 1000  # a 👎 comment (a 5 MB paste made the review queue unusable)

def formula_style() -> None:
    """Once per page that shows answers or passages."""
    st.markdown(FORMULA_CSS, unsafe_allow_html=True)


def show_withheld(answer: Answer, cited: set[int]) -> None:
    """A warning for retrieved passages that read as instructions to the reader (agent/injection.py)."""
    withheld = [p for p in answer.passages if p.flags and p.n not in cited]
    if withheld:
        files = ", ".join(sorted({md_escape(p.source, line_breaks=False) for p in withheld}))
        st.warning(f"{len(withheld)} retrieved passage(s) were withheld: they address the reader with instructions "
                   f"or ask for credentials, so they are not course content; do not follow them. From: {files}. "
                   "A TA should check these files.")


def show_sources(answer: Answer, anchor: str) -> None:
    entries = sources(answer)
    show_withheld(answer, {int(s["n"]) for s in entries})
    if not entries:
        return
    st.markdown("**Sources**")
    for s in entries:
        page = f", p. {int(s['page'])}" if s["page"] else ""
        title = md_escape(f"{s['title']}{page} — {s['heading'] or ''}", line_breaks=False)
        # the only HTML on the page from an answer: an anchor whose id is ours (message id + a number);
        # every other piece is escaped text
        st.markdown(f"<a id='{anchor}-src-{int(s['n'])}'></a>**[{int(s['n'])}]** {title} "
                    f"· {VERDICT_BADGE[s['verdict']]} ({s['score']:.2f})", unsafe_allow_html=True)
        if s["flags"]:
            st.warning(f"Passage [{int(s['n'])}] addresses the reader with instructions or asks for credentials "
                       f"({', '.join(md_escape(f, line_breaks=False) for f in s['flags'])}): it is not course content; "
                       "do not follow it and never enter a password because of it. A TA should check this file.")
        with st.expander(f"passage [{int(s['n'])}] · {md_escape(s['source'], line_breaks=False)}", expanded=False):
            if s["sentence"]:
                st.markdown("Supporting sentence:  \n**" + md_text(" ".join(s["sentence"].split())) + "**")
            st.markdown(md_text(s["text"]))
            st.caption(f"chunk {md_escape(s['chunk_id'], line_breaks=False)}")


def show_untranslated(answer: Answer) -> None:
    """The quoted lines a translated answer left out (no translation passed the check), apart from
    the answer and as in the notes, each with the passage it came from."""
    if not answer.untranslated:
        return
    with st.expander(phrase("untranslated_lines", answer.language, count=len(answer.untranslated)), expanded=False):
        for n, title, text in answer.untranslated_lines():
            where = f"**\\[{n}\\]** *{md_escape(title, line_breaks=False)}* · " if n is not None else ""
            st.markdown(where + md_text(text))


def show_code_runs(answer: Answer) -> None:
    for run in answer.code_runs:
        status = "ok" if run.ok else md_escape(run.error.type, line_breaks=False)
        with st.expander(f"code demo · {status} · {run.duration_s:.2f} s", expanded=True):
            st.code(visible_controls(run.code), language="python")
            if run.stdout:
                st.text(visible_controls(run.stdout))
            if run.error:
                st.error(md_escape(f"{run.error.type}: {run.error.message}"))
            st.caption(f"isolation: {', '.join(run.isolation) or 'none reported'}")
    for png in answer.figures:
        try:
            st.image(png)
        except Exception as exc:  # noqa: BLE001 - a demo's bytes (run_python checks the header, not the pixels)
            logging.getLogger("courseta.app").warning("a code demo's figure could not be drawn (%s)", type(exc).__name__)
            st.caption(phrase("figure_unreadable", answer.language))


def show_trace(answer: Answer, expanded: bool) -> None:
    steps = trace_steps(answer)
    if steps:
        with st.expander(f"tool trace · {len(steps)} steps", expanded=expanded):
            st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1)))


def show_answer(message: ChatMessage, on_feedback=None, expand_trace: bool = False, details: bool = False) -> None:
    """An answer as the student saw it: linked [n], code results, sources with verdicts, the tool trace.
    ``details`` (TAs): a model's failure as it was (it may name the model server's address); others
    get one sentence saying what the answer is made of."""
    answer = message.answer
    anchor = message.id
    show_trace(answer, expand_trace)
    if answer.error:
        st.error(md_escape(answer.error if details else phrase("model_failed_note", answer.language)))
    # a code answer's blocks as code (a run's: in its box below, not twice); any other answer's fences are text
    st.markdown(link_markers(answer.answer, anchor, code=not answer.code_runs if answer.mode == "code" else None))
    show_untranslated(answer)
    show_code_runs(answer)
    show_sources(answer, anchor)
    ver = answer.verification
    if ver is not None:
        notes = [f"citation precision {ver.precision:.2f} · recall {ver.recall:.2f}"]
        if ver.invalid:
            notes.append(f"removed invalid citations {ver.invalid}")
        if ver.added:
            notes.append(f"added citations {sorted(set(ver.added))}")
        st.caption(" · ".join(notes))
    if on_feedback is None:  # read-only (a shared link, the review queue): show what was given
        if message.feedback is not None:
            st.caption(f"feedback given: {'👍' if message.feedback else '👎'} {md_escape(message.comment or '')}")
        return
    given = message.feedback  # restored with the conversation after a reload
    feedback = st.feedback("thumbs", key=f"fb-{anchor}", default=None if given is None else int(given))
    if feedback is not None:
        # bounded: it is kept in the answer log, the chat's stored copy and the TAs' review table
        comment = st.text_input("Comment (optional)", value=(message.comment or "")[:MAX_COMMENT_CHARS],
                                max_chars=MAX_COMMENT_CHARS, key=f"comment-{anchor}")[:MAX_COMMENT_CHARS]
        if (message.feedback, message.comment) != (bool(feedback), comment):
            message.feedback, message.comment = bool(feedback), comment
            on_feedback(message)
