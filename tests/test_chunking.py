import re

from retrieval.chunking import chunk_document, chunk_id
from retrieval.loaders import load_document
from common.text import split_sentences
from retrieval.types import Document
from tests.pdfs import cjk_pdf


def _doc(text, kind="markdown", source="n.md"):
    return Document(source=source, title="T", text=text, kind=kind, content_hash="h")


def _check_offsets(doc, chunks):
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text


def test_heading_paths_follow_section_numbers_over_markdown_levels():
    text = (
        "# 1.1 什么是语言模型\n\n定义。\n\n## 总结\n\n小结。\n\n"
        "## 1.2大模型相关历史回顾\n\n---\n\n### 1.2.1信息理论、英语的熵、n-gram模型\n\n香农。\n\n"
        "#### 1.2.1.1英语的熵\n\n熵。\n\n## 总结\n\n二。\n\n## 1.3这门课的意义\n\n意义。\n"
    )
    doc = _doc(text)
    chunks = chunk_document(doc, 300, 0)
    _check_offsets(doc, chunks)
    assert [c.heading for c in chunks] == [
        "1.1 什么是语言模型",
        "1.1 什么是语言模型 > 总结",
        "1.2 大模型相关历史回顾 > 1.2.1 信息理论、英语的熵、n-gram模型",
        "1.2 大模型相关历史回顾 > 1.2.1 信息理论、英语的熵、n-gram模型 > 1.2.1.1 英语的熵",
        "1.2 大模型相关历史回顾 > 总结",
        "1.3 这门课的意义",
    ]


def test_plain_markdown_levels():
    doc = _doc("# A\n\na\n\n## B\n\nb\n\n### C\n\nc\n\n## D\n\nd\n")
    assert [c.heading for c in chunk_document(doc, 100, 0)] == ["A", "A > B", "A > B > C", "A > D"]


def test_chinese_sentences_are_not_cut():
    sentences = [f"这是第{i}个句子，它讲的是语言模型的第{i}个性质。" for i in range(40)]
    doc = _doc("# 标题\n\n" + "".join(sentences) + "\n")
    chunks = chunk_document(doc, 120, 0)
    assert len(chunks) > 5
    _check_offsets(doc, chunks)
    for c in chunks:
        assert c.text.endswith("。"), c.text
        assert len(c.text) <= 120
        assert c.language == "zh"


def test_english_sentences_and_overlap():
    body = " ".join(f"Sentence number {i} talks about scaling." for i in range(30))
    doc = _doc("# Notes\n\n" + body + "\n")
    chunks = chunk_document(doc, 200, 60)
    _check_offsets(doc, chunks)
    for c in chunks:
        assert c.text.endswith("."), c.text
        assert c.language == "en"
    # consecutive chunks share their boundary sentence(s)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end
        assert split_sentences(a.text)[-1].strip() in b.text


def test_code_fences_tables_and_formulas_stay_whole():
    code = "```python\n" + "\n".join(f"x{i} = {i}  # line {i}。" for i in range(30)) + "\n```"
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| {i}。 | {i * i}。 |" for i in range(20))
    formula = "$$\n\\begin{aligned} p(x) &= 1。 \\\\\n q(x) &= 2。\n\\end{aligned}\n$$"
    text = f"# 代码\n\n前言。\n\n{code}\n\n中间。\n\n{table}\n\n{formula}\n\n结尾。\n"
    doc = _doc(text)
    chunks = chunk_document(doc, 100, 20)
    _check_offsets(doc, chunks)
    for block in (code, table, formula):
        start = text.index(block)
        end = start + len(block)
        containing = [c for c in chunks if c.start <= start and c.end >= end]
        assert containing, f"block cut: {block[:30]}"
        cutting = [c for c in chunks if start < c.start < end or start < c.end < end]
        assert not cutting, f"a chunk boundary falls inside: {block[:30]}"


def test_headings_inside_code_fences_are_not_headings():
    doc = _doc("# Real\n\n```\n# not a heading\nprint(1)\n```\n\nafter.\n")
    assert {c.heading for c in chunk_document(doc, 300, 0)} == {"Real"}


def test_pdf_chunks_stay_within_a_page_and_record_it(tmp_path):
    long_page = "\n".join(f"第{i}行：课程作业的要求与评分标准。" for i in range(25))
    path = tmp_path / "slides.pdf"
    path.write_bytes(cjk_pdf(["引言\n大语言模型", long_page, "课程资源\nGPU 资源"]))
    doc = load_document(path, tmp_path, {})
    chunks = chunk_document(doc, 150, 0)
    _check_offsets(doc, chunks)
    assert {c.page for c in chunks} == {1, 2, 3}
    for c in chunks:
        page = doc.pages[c.page - 1]
        assert page.start <= c.start and c.end <= page.end
    assert len([c for c in chunks if c.page == 2]) > 1
    assert chunks[0].heading_path == ["引言"]


def test_ids_are_stable_and_unique():
    doc = _doc("# A\n\n重复的句子。\n\n# B\n\n重复的句子。\n")
    first = chunk_document(doc, 100, 0)
    second = chunk_document(doc, 100, 0)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first) == 2
    assert first[0].id == chunk_id("n.md", "重复的句子。")
    assert re.fullmatch(r"[0-9a-f]{16}", first[0].id)


def test_real_course_notes_chunk_cleanly():
    from pathlib import Path

    corpus = Path(__file__).resolve().parent.parent / "corpus"
    doc = load_document(corpus / "so-large-lm" / "ch01-introduction.md", corpus, {})
    chunks = chunk_document(doc, 400, 60)
    _check_offsets(doc, chunks)
    headings = {c.heading for c in chunks}
    assert "1.2 大模型相关历史回顾 > 1.2.1 信息理论、英语的熵、n-gram模型" in headings
    for c in chunks:  # display formulas are never split: $$ markers come in pairs
        assert c.text.count("$$") % 2 == 0, c.text[:80]


def test_dollars_in_code_or_prices_do_not_glue_sentences_together():
    """Sentences never end inside a formula; a shell's `$$` or two prices are not one."""
    from common.text import split_sentences

    code = "Run `echo $$` first. " + " ".join(f"Sentence {i} explains one more detail." for i in range(25)) + " Then `kill -9 $$`."
    assert len(split_sentences(code)) == 27
    assert split_sentences("熵：$$H(p) = \\sum_x p(x). \\log p(x).$$ 它是比特数。") == ["熵：$$H(p) = \\sum_x p(x). \\log p(x).$$ 它是比特数。"]
    assert len(split_sentences("It costs 5$. The course costs 20$. Both are cheap.")) == 3


def test_reading_list_lines_keep_their_links_and_author_names_whole():
    """A reading list's title link with a question mark and its author line (initials) are one
    sentence each, so a quote's citation never lands inside a link's text or between a name's parts."""
    from common.text import split_sentences

    line = ("- [On the Dangers of Stochastic Parrots: Can Language Models Be Too Big?](#)  Emily M. Bender, "
            "Timnit Gebru. FAccT 2021.\n- [Opportunities](#). Rishi Bommasani, Drew A. Hudson, E. Adeli, Michael S. "
            "Bernstein. 2021.")
    assert split_sentences(line) == [
        "- [On the Dangers of Stochastic Parrots: Can Language Models Be Too Big?](#)  Emily M. Bender, Timnit Gebru. ",
        "FAccT 2021.\n", "- [Opportunities](#). ", "Rishi Bommasani, Drew A. Hudson, E. Adeli, Michael S. Bernstein. ",
        "2021."]
    assert split_sentences("- [上下文学习如何工作？](https://ai.stanford.edu/blog/x/) 读这篇。") == [
        "- [上下文学习如何工作？](https://ai.stanford.edu/blog/x/) 读这篇。"]
    # not a link: the question still ends; a sentence ending in a capital letter still ends (two claims,
    # each checked against its own citation), an author list's shape aside
    assert split_sentences("Is it [a]? Yes. We chose Plan A. Then it failed.") == [
        "Is it [a]? ", "Yes. ", "We chose Plan A. ", "Then it failed."]
    for claims in ("Pick C. The others are wrong [2].", "The grade is always Grade A. Temperature T controls it [1].",
                   "We compute Q, K, V. Then we apply softmax.", "Vitamins A, D, E. They are fat-soluble.",
                   "I use Model B. It is smaller [1].", "World War I. The war ended."):
        assert len(split_sentences(claims)) == 2, claims
