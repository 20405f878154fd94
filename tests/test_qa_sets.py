"""The retrieval question sets are well-formed and their gold strings exist in the corpus.

This checks the data only (no retrieval): every in-corpus question's ``answer_contains`` must
lie inside some chunk at the default chunking, or the set could not be answered at all; the
held-out set must keep the shape docs/EVALUATION.md describes, and no question is in two sets.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from retrieval.chunking import chunk_document
from retrieval.eval import contains_any, load_qa, normalise
from retrieval.loaders import load_document, load_sources

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
LANGS = {"zh", "en", "en-about-zh", "out-of-corpus"}


@pytest.fixture(scope="module")
def chunks():
    corpus = REPO / "corpus"
    sources = load_sources(corpus)
    docs = [load_document(p, corpus, sources) for p in sorted(corpus.rglob("*")) if p.suffix in (".md", ".pdf")]
    return [c for d in docs for c in chunk_document(d, 400, 60)]


SETS = ("dev_qa.jsonl", "dev2_qa.jsonl", "dev3_qa.jsonl", "heldout_qa.jsonl", "dev4_qa.jsonl", "homework_dates_qa.jsonl",
        "codemixed_qa.jsonl", "codemixed2_qa.jsonl", "dev5_qa.jsonl")


@pytest.mark.parametrize("name", SETS)
def test_schema_and_gold_strings_in_corpus(name, chunks):
    items = load_qa(DATA / name)
    ids = [it["id"] for it in items]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for it in items:
        assert it["lang"] in LANGS, it
        gold = it["answer_contains"]
        assert bool(gold) == (it["lang"] != "out-of-corpus"), it["id"]
        if gold:
            assert any(contains_any(c.text, gold) for c in chunks), f"{it['id']}: no chunk holds its gold string"
            assert not any(normalise(g) in normalise(it["question"]) for g in gold), f"{it['id']}: gold string in question"


def test_no_question_is_in_two_sets():
    seen: dict[str, str] = {}
    for name in SETS:
        for it in load_qa(DATA / name):
            assert it["question"] not in seen, f"{it['id']} of {name} is also in {seen.get(it['question'])}"
            seen[it["question"]] = name


def test_heldout_shape():
    items = load_qa(DATA / "heldout_qa.jsonl")
    langs = Counter(it["lang"] for it in items)
    in_corpus = len(items) - langs["out-of-corpus"]
    assert in_corpus >= 40
    assert langs["out-of-corpus"] >= 6
    assert langs["en-about-zh"] >= in_corpus / 4  # about a third of the answerable questions


def test_labelled_translated_lines_come_from_the_corpus_and_from_cross_lingual_questions(chunks):
    """tests/data/translated_lines.jsonl (bench/line_likeness.py, behind route.LINE_LIKENESS): each
    line's source is a line of the notes, its question asks in English, and it is labelled."""
    import json

    corpus = normalise(" ".join(c.text for c in chunks))
    sets = {name: {it["id"]: it for it in load_qa(DATA / f"{name}_qa.jsonl")} for name in ("dev", "dev2")}
    rows = [json.loads(line) for line in (DATA / "translated_lines.jsonl").read_text(encoding="utf-8").splitlines()]
    assert Counter(r["set"] for r in rows) == {"dev": 154, "dev2": 168}
    for r in rows:
        assert isinstance(r["right"], bool) and isinstance(r["passed_without_likeness"], bool), r
        assert sets[r["set"]][r["id"]]["lang"] in ("en", "en-about-zh"), r
        assert normalise(r["source"][:100]) in corpus, r


@pytest.mark.parametrize("name", ["followups.jsonl", "followups_heldout.jsonl"])
def test_follow_up_sets_are_well_formed_and_their_evidence_is_in_the_corpus(name, chunks):
    """bench/follow_up_guard.py's sets: an earlier question, a follow-up and a label (true: the notes
    answer it; false: they do not; null: unclear); the held-out set quotes the notes' words for each
    true label, and those words must be in a chunk (tabs of a table row read as spaces)."""
    import json

    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert rows and all(r["prev"] and r["q"] and r["in"] in (True, False, None) for r in rows)
    assert len({(r["prev"], r["q"]) for r in rows}) == len(rows)
    for r in rows:
        if r.get("evidence"):
            assert r["in"] is True
            assert any(contains_any(c.text, [r["evidence"]]) for c in chunks), r["evidence"]


def test_week_review_questions_are_well_formed_and_their_rows_are_in_the_schedule(chunks):
    """bench/week_rows.py's set (the three reviews of the week lookup): each question expects the text of
    CS2916 schedule rows (each string in a row; two weeks asked, two rows) or NOT_ROW; ids are unique."""
    import json

    from agent.schedule import schedule_rows

    rows = [row for c in chunks for row in schedule_rows(c.text)]
    items = [json.loads(line) for line in (DATA / "week_reviews.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(items) > 200 and len({it["id"] for it in items}) == len(items)
    for it in items:
        assert it["review"] in ("r1", "r2", "r3") and it["question"] and isinstance(it["history"], list)
        if it["expect"] != "NOT_ROW":
            assert all(any(e in row for row in rows) for e in it["expect"]), it
