"""TA page: every logged answer; filter by unsupported citations, 👎, refusals, number-not-found declines, date; open one as the student saw it."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from settings import get_settings
from ui.answer_log import AnswerLog, answer_log_path
from ui.auth import require_ta
from ui.conversations import ChatMessage
from ui.render import md_escape, table_safe
from ui.sqlite_store import StoreError
from ui.widgets import formula_style, show_answer

st.title("Review queue")
formula_style()
settings = get_settings()
require_ta(settings.app)  # every student's questions and answers: TAs only
if not settings.app.log_answers:
    st.info("Answer logging is switched off (COURSETA_LOG_ANSWERS=false).")
    st.stop()
try:
    log = AnswerLog(answer_log_path(settings))
except StoreError as exc:
    st.error(md_escape(str(exc)))
    st.stop()

c1, c2, c3, c4, c5 = st.columns([1.25, 1.05, 0.85, 1.45, 1.35])  # wide enough for the labels
unsupported = c1.checkbox("unsupported", help="Answers with at least one citation the check found unsupported")
thumbs_down = c2.checkbox("👎 feedback")
refused = c3.checkbox("refusals")
number_not_found = c4.checkbox("number not found", help="Course questions declined only because no top passage "
                               "sentence near the question holds the number it asks for")
since = c5.date_input("since", value=None)
rows = log.query(unsupported=unsupported, thumbs_down=thumbs_down, refused=refused, number_not_found=number_not_found,
                 since=dt.datetime.combine(since, dt.time()).timestamp() if since else None)
st.caption(f"{len(rows)} answers")
table = [{"id": r["id"], "when": dt.datetime.fromtimestamp(r["ts"]).strftime("%Y-%m-%d %H:%M"), "question": r["question"],
          "mode": r["mode"], "refused": bool(r["refused"]), "unsupported": r["n_unsupported"],
          "precision": r["precision"], "recall": r["recall"],
          "feedback": {1: "👍", 0: "👎"}.get(r["feedback"], ""), "comment": r["comment"] or ""} for r in rows]
st.dataframe(table_safe(table), width="stretch", hide_index=True)
if rows:
    chosen = st.selectbox("Open answer", [r["id"] for r in rows], format_func=lambda i: f"#{i}")
    try:
        logged = log.get(chosen)
    except StoreError as exc:  # one row a newer release wrote (after a rollback), or damaged: the rest stay usable
        st.error(md_escape(str(exc)))
        logged = None
    if logged is not None:
        st.markdown(f"**Question:** {md_escape(logged.answer.question)}")
        if logged.feedback is not None:  # the student's word on it (only in the table's last column, off-screen)
            st.markdown(f"**Feedback:** {'👍' if logged.feedback else '👎'} {md_escape(logged.comment)}")
        with st.container(border=True):
            show_answer(ChatMessage(role="assistant", content=logged.answer.answer, id=f"log{chosen}",
                                    answer=logged.answer), details=True)
