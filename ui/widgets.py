"""Streamlit pieces shared by the pages (the app layer: only app.py and pages/ use this)."""

from __future__ import annotations

import streamlit as st

from agent.records import Answer
from ui.conversations import ChatMessage
from ui.render import VERDICT_BADGE, link_markers, sources, trace_steps


def show_sources(answer: Answer, anchor: str) -> None:
    entries = sources(answer)
    if not entries:
        return
    st.markdown("**Sources**")
    for s in entries:
        page = f", p. {s['page']}" if s["page"] else ""
        st.markdown(
            f"<a id='{anchor}-src-{s['n']}'></a>**[{s['n']}]** {s['title']}{page} — {s['heading'] or ''} "
            f"· {VERDICT_BADGE[s['verdict']]} ({s['score']:.2f})",
            unsafe_allow_html=True,
        )
        with st.expander(f"passage [{s['n']}] · {s['source']}", expanded=False):
            st.markdown(f"<div style='white-space: pre-wrap'>{s['html']}</div>", unsafe_allow_html=True)
            st.caption(f"chunk {s['chunk_id']}")


def show_code_runs(answer: Answer) -> None:
    for run in answer.code_runs:
        with st.expander(f"code demo · {'ok' if run.ok else run.error.type} · {run.duration_s:.2f} s", expanded=True):
            st.code(run.code, language="python")
            if run.stdout:
                st.text(run.stdout)
            if run.error:
                st.error(f"{run.error.type}: {run.error.message}")
            st.caption(f"isolation: {', '.join(run.isolation) or 'none reported'}")
    for png in answer.figures:
        st.image(png)


def show_trace(answer: Answer, expanded: bool) -> None:
    steps = trace_steps(answer)
    if steps:
        with st.expander(f"tool trace · {len(steps)} steps", expanded=expanded):
            st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1)))


def show_answer(message: ChatMessage, on_feedback=None, expand_trace: bool = False) -> None:
    """An answer as the student saw it: linked [n], code results, sources with verdicts, the tool trace."""
    answer = message.answer
    anchor = message.id
    show_trace(answer, expand_trace)
    if answer.error:
        st.error(answer.error)
    st.markdown(link_markers(answer.answer, anchor))
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
    if on_feedback is None:
        return
    given = message.feedback  # restored with the conversation after a reload
    feedback = st.feedback("thumbs", key=f"fb-{anchor}", default=None if given is None else int(given))
    if feedback is not None:
        comment = st.text_input("Comment (optional)", value=message.comment, key=f"comment-{anchor}")
        if (message.feedback, message.comment) != (bool(feedback), comment):
            message.feedback, message.comment = bool(feedback), comment
            on_feedback(message)
