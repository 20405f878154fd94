"""TA page: check that an answer's [n] citations really support it."""

from __future__ import annotations

import csv
import io
import re

import streamlit as st

from agent.records import Answer
from agent.citations import verify
from ui.answer_log import AnswerLog, answer_log_path
from ui.auth import is_ta
from ui.render import md_escape, table_safe
from ui.sqlite_store import StoreError
from settings import get_settings

# What one student's check may take (2.4 s p50 on 2 cores at the limit, bench/guard_costs.py; the cost grows with sentences
# x passages and the check runs in the page's thread): a default answer is far below (5 passages of
# ~500 characters); TAs, few and trusted, check any answer (one of k=50 passages too)
MAX_ANSWER_CHARS = 4_000
MAX_PASSAGES = 20
MAX_PASSAGES_CHARS = 20_000


SEPARATOR = "\n---\n"


def joined_passages(passages: list[str]) -> str:
    """The passages for the text area, one block each; a line '---' inside one is shown as '- - -', so
    that an edited text still splits into the same passages (:func:`split_passages`)."""
    return SEPARATOR.join(re.sub(r"(?m)^---$", "- - -", p) for p in passages)


def split_passages(text: str) -> list[str]:
    """The blocks between lines '---', each one a passage in order. A blank block keeps its number (a
    logged answer's empty passage dropped on an edit moved every later citation onto the passage after
    it); blank blocks at the end are no passages.

    >>> split_passages("A\\n---\\n\\n---\\nC\\n---\\n "), split_passages("  ")
    (['A', '', 'C'], [])
    """
    blocks = [p.strip() for p in text.split(SEPARATOR)]
    while blocks and not blocks[-1]:
        blocks.pop()
    return blocks


def shown_sentence(text: str) -> str:
    """A sentence for the table without its list bullet ('- '): the spreadsheet guard (ui.render.table_safe)
    put an apostrophe before every bulleted quote's sentence."""
    return re.sub(r"^[-*•]\s+", "", text)


def within_limits(answer: str, passages: list[str]) -> bool:
    return (len(answer) <= MAX_ANSWER_CHARS and len(passages) <= MAX_PASSAGES
            and sum(map(len, passages)) <= MAX_PASSAGES_CHARS)


st.title("Citation check")
st.caption("Pick an answer from this session or from the answer log, or paste an answer with [n] markers "
           "and its passages (one per block, separated by a line with ---; passage 1 first).")

settings = get_settings()
options: dict[str, Answer | int | None] = {"(paste below)": None}
session = [m.answer for m in st.session_state.get("messages", []) if m.role == "assistant" and m.answer]
for i, answer in enumerate(session, start=1):
    options[f"this session {i}. {answer.question[:60]}"] = answer
log_path = answer_log_path(settings)
# the answer log holds every student's answers: TAs only; never created from here
log = AnswerLog(log_path) if is_ta(settings.app) and settings.app.log_answers and log_path.exists() else None
for row in log.query(limit=100) if log else []:
    options[f"log #{row['id']} · {row['question'][:60]}"] = row["id"]
choice = st.selectbox("Answer", list(options))
picked = options[choice]
if isinstance(picked, int):
    try:
        logged = log.get(picked)
    except StoreError as exc:  # a newer release's record, or damaged
        st.error(md_escape(str(exc)))
        logged = None
    picked = logged.answer if logged else None
picked_passages = [p.text for p in picked.passages] if picked else []
default_answer = picked.answer if picked else ""
default_passages = joined_passages(picked_passages)

answer = st.text_area("Answer", value=default_answer, height=120, key=f"answer-{choice}")
passages_text = st.text_area("Passages", value=default_passages, height=220, key=f"passages-{choice}")
pressed = st.button("Check citations", type="primary")
checked = pressed and answer.strip()
if pressed and not checked:
    st.info("There is no answer to check: pick one above or paste it with its passages.")
# a picked answer's passages as they were, unless edited: a passage holding a line '---' of its own
# was two passages once split, and every later citation number was off by one (a tester's finding)
passages = picked_passages if picked and passages_text == default_passages else split_passages(passages_text)
if checked and not is_ta(settings.app) and not within_limits(answer, passages):
    # the check runs in this page's thread: a 57 KB paste took 74 s of a core every chat shares
    st.error(f"That is more than the check takes at once (an answer of {MAX_ANSWER_CHARS:,} characters, "
             f"{MAX_PASSAGES} passages of {MAX_PASSAGES_CHARS:,} characters in all): check it in parts.")
elif checked and not (result := verify(answer, passages, repair=False)).sentences:
    # fragments and lead-ins are not checked: "precision 0.00" and an empty table said nothing of why (a tester's)
    st.info("No sentence to check: the check scores sentences of five letters or characters or more that do "
            "not end with a colon; shorter fragments and lead-ins are left out."
            + (f" Citation numbers with no passage: {result.invalid}" if result.invalid else ""))
elif checked:
    c1, c2, c3 = st.columns(3)
    c1.metric("citation precision", f"{result.precision:.2f}")
    c2.metric("citation recall", f"{result.recall:.2f}")
    c3.metric("invalid numbers", len(result.invalid))
    rows = []
    for s in result.sentences:
        cites = [c for c in result.citations if c.sentence_index == s.index]
        rows.append({
            "sentence": shown_sentence(s.text),
            "cited": ", ".join(f"[{c.n}]" for c in cites) or "—",
            "support": round(s.support, 3),
            "verdicts": ", ".join(f"[{c.n}] {c.verdict} {c.score:.2f}" for c in cites) or "uncited",
            "best passage if unsupported": f"[{s.best_passage}]" if s.best_passage and not s.supported else "",
        })
    rows = table_safe(rows)  # shown, and downloaded as CSV: a sentence starting with '=' stays text
    st.dataframe(rows, width="stretch")
    if result.invalid:
        st.warning(f"Citation numbers with no passage: {result.invalid}")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["sentence"])
    writer.writeheader()
    writer.writerows(rows)
    st.download_button("Download CSV", buf.getvalue(), "citation-check.csv", "text/csv")
