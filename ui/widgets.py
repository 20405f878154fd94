"""Streamlit pieces shared by the pages (the app layer: only app.py and pages/ use this)."""

from __future__ import annotations

import streamlit as st

from ui.render import VERDICT_BADGE, link_markers, sources, trace_steps


def show_sources(result: dict, anchor: str) -> None:
    entries = sources(result)
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


def show_code_runs(result: dict, figures: list[bytes]) -> None:
    for run in result.get("code_runs", []):
        with st.expander(f"code demo · {'ok' if run['ok'] else run['error']['type']} · {run['duration_s']:.2f} s", expanded=True):
            st.code(run["code"], language="python")
            if run["stdout"]:
                st.text(run["stdout"])
            if run["error"]:
                st.error(f"{run['error']['type']}: {run['error']['message']}")
    for png in figures:
        st.image(png)


def show_trace(result: dict, expanded: bool) -> None:
    steps = trace_steps(result)
    if steps:
        with st.expander(f"tool trace · {len(steps)} steps", expanded=expanded):
            st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(steps, start=1)))


def show_answer(message: dict, on_feedback=None, expand_trace: bool = False) -> None:
    """An answer as the student saw it: linked [n], code results, sources with verdicts, the tool trace."""
    result = message["result"]
    anchor = message["id"]
    show_trace(result, expand_trace)
    if result.get("error"):
        st.error(result["error"])
    st.markdown(link_markers(result["answer"], anchor))
    show_code_runs(result, message.get("figures", []))
    show_sources(result, anchor)
    ver = result.get("verification") or {}
    if ver:
        notes = [f"citation precision {ver['precision']:.2f} · recall {ver['recall']:.2f}"]
        if ver.get("invalid"):
            notes.append(f"removed invalid citations {ver['invalid']}")
        if ver.get("added"):
            notes.append(f"added citations {sorted(set(ver['added']))}")
        st.caption(" · ".join(notes))
    if on_feedback is None:
        return
    given = message.get("feedback")  # restored with the conversation after a reload
    feedback = st.feedback("thumbs", key=f"fb-{anchor}", default=None if given is None else int(given))
    if feedback is not None:
        comment = st.text_input("Comment (optional)", value=message.get("comment") or "", key=f"comment-{anchor}")
        if (message.get("feedback"), message.get("comment")) != (bool(feedback), comment):
            message["feedback"], message["comment"] = bool(feedback), comment
            on_feedback(message)
