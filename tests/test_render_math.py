"""Formulas from the notes and the writer are drawn by KaTeX; any other TeX stays text (ui/tex.py)."""

import re

import pytest

from ui.render import link_markers, md_text
from ui.tex import safe_tex

# as the notes write them (corpus/so-large-lm/ch01-introduction.md)
NOTES = [
    r"H(p) = \sum_x p(x) \log \frac{1}{p(x)}.",
    r"p(x_1, \dots, x_L) = \prod_{i=1}^L p(x_i \mid x_{1:i-1}).",
    r"\underbrace{the, mouse, ate}_{\text{prompt}} \overset{T=0}{\rightsquigarrow} \underbrace{the, cheese}_{\text{completion}}",
    r"\text{for } i = 1, \dots, L : \\ x_i \sim p(x_i | x_{1:i-1})^{1/T},",
    r"\begin{aligned} p(\text{cheese}) &= 0.4, & p(\text{mouse}) &= 0.6 \\ p_{T=0.5}(\text{cheese}) &= 0.31 \end{aligned}",
    r"T \neq 1",
    r"\left\{ x \in \mathbb{R} : |x| \le 1 \right\}",
]

HOSTILE = [
    r"\rule{5000em}{5000em}",  # a page-sized box
    r"\kern{-40em}\text{Correct answer: B}",  # text moved over other text
    r"\hspace{-20em} x", r"\mkern-900mu x", r"\hskip-10em x",
    r"\href{http://evil.example}{click}", r"\url{http://evil.example}",
    r"\color{white}{x}", r"\textcolor{red}{x}", r"\colorbox{red}{x}", r"\fcolorbox{red}{blue}{x}",
    r"\def\x{\x\x}\x", r"\newcommand{\a}{b}\a", r"\gdef\b{c}",
    r"\htmlClass{stApp}{x}", r"\htmlStyle{position:fixed}{x}", r"\includegraphics{http://evil.example/a.png}",
    r"\Huge x", r"\scriptsize x", r"\raisebox{30em}{x}", r"\llap{x}", r"\mathllap{x}", r"\smash{x}", r"\phantom{x}",
    r"\char65", r"\verb|x|",
    r"a \\[400em] b",  # a line break with a size
    r"\begin{array}{c} x \end{array}", r"\begin x", r"\end{aligned}x\begin",
    "{" * 9 + "x" + "}" * 9,  # deeper than 8
    "{x", "x}", "}{",
    "x" * 801,  # too long
    "温度",  # not ASCII (shown as the text it is)
    "a % comment", "a # b",
    "x^" * 81,
]


@pytest.mark.parametrize("tex", NOTES)
def test_the_notes_formulas_are_allowed(tex):
    assert safe_tex(tex) == " ".join(tex.split())


@pytest.mark.parametrize("tex", HOSTILE)
def test_tex_outside_the_allowlist_is_refused(tex):
    assert safe_tex(tex) is None


def test_angle_brackets_become_tex_commands_not_html():
    assert safe_tex("a<b>c") == r"a\lt b\gt c"
    assert safe_tex("x>") == r"x\gt"  # no trailing space: Streamlit's check wants a closing dollar after a non-space


def test_md_text_keeps_allowed_math_and_escapes_the_rest():
    text = r"熵 $H(p) = -\sum_x p(x)$；价格 $5 和 $6；坏的 $\rule{9em}{9em}$；**粗** <b>x</b> $$T \neq 1$$"
    out = md_text(text)
    assert r"$H(p) = -\sum_x p(x)$" in out and r"$T \neq 1$" in out
    assert r"\$5 和 \$6" in out  # prices are not math
    assert r"\$\\rule\{9em\}\{9em\}\$" in out  # refused TeX is escaped text, its dollars too
    assert "；粗 &lt;b&gt;" in out and "<b>" not in out  # the notes' bold loses its asterisks: no formatting
    # every dollar sign left in the output opens or closes one of the two allowed formulas
    unescaped = [i for i, ch in enumerate(out) if ch == "$" and out[i - 1] != "\\"]
    assert len(unescaped) == 4


def test_a_dollar_sign_inside_a_formula_cannot_close_it_early():
    out = md_text(r"$a \$ b$ and $x$")
    assert "$x$" in out and r"\$" in out
    assert md_text(r"$\$$") == r"\$\\\$\$"


def test_link_markers_render_formulas_between_citation_links():
    out = link_markers(r"温度 $T$ 越高分布越平 [1]，$p^{1/T}$ [2]。", "m0")
    z = "&#8203;"
    assert out == rf"温度 {z}$T${z} 越高分布越平 [[1]](#m0-src-1)，{z}$p^{{1/T}}${z} [[2]](#m0-src-2)。"


# what a hostile review found (each verified in Chromium before the fix), and variations
ATTACKS = [
    "Price $$[click here](http://evil.example/login)$$1 see",  # a digit after the span: Streamlit finds no math
    "$$![x](http://127.0.0.1:9/track.png) **BOLD** :red[RED] www.evil.example$$2",
    r"See $$[the official solutions](http://evil.example/login) \$$ for the exam.",  # TeX ending in a backslash
    r"The answer is A [1]. See also $$[[2 ]](http://evil.example/phish)$$1 here.",  # a forged citation link
    "$:material/warning: x$ and $:smile:$",  # Streamlit icons and emoji
    "$x$1 $y$2 $$a$$$$b$$ $a$$b$",
    "$`code`$ $~~s~~$ $*e*$ $_e_$ $<b>x</b>$ $x@evil.example$ $http://evil.example$",
    "价格$5，公式$x^2$。温度$T$，价格$5，$x$。",
    "a\n\n    indented code?\n\n\tand a tab",
    "\\$x$ \\\\$y$ $x\\$ $\\$",
]
_SPAN = re.compile(r"&#8203;\$([^$]*)\$&#8203;")
_SPECIAL = set("\\`*_{}[]()#+-.!|~:$^=<>")


def _only_allowed_formulas_are_live(markdown: str) -> None:
    """Every live formula is a zero-width-space-fenced span safe_tex accepts; outside them, every
    Markdown sign is backslash-escaped and no line starts with indentation."""
    for tex in _SPAN.findall(markdown):
        assert safe_tex(tex) == tex, tex
    rest = _SPAN.sub(" ", markdown)
    assert not re.search(r"(^|\n)[ \t]{2,}\S", rest.replace("  \n", "\n")), markdown
    rest = re.sub(r"&(?:#\d+|[a-z]+);", " ", rest)  # md_escape's own entities
    loose = [tok for tok in re.findall(r"\\.|.", rest, re.S) if len(tok) == 1 and tok in _SPECIAL]
    assert not loose, (markdown, loose)


@pytest.mark.parametrize("text", ATTACKS)
def test_hostile_text_gives_only_allowed_formulas(text):
    _only_allowed_formulas_are_live(md_text(text))
    _only_allowed_formulas_are_live(link_markers(text, "m0").replace("[[1]](#m0-src-1)", " ").replace("[[2]](#m0-src-2)", " "))


def test_the_reviews_attacks_render_nothing_live():
    assert "$" not in md_text(ATTACKS[0]).replace("\\$", "")  # no formula at all: the span is refused
    assert "](http" not in md_text(ATTACKS[3]).replace("\\]\\(http", "")
    assert safe_tex("\\!" * 60 + r"\text{Answer: B}") is None  # negative space: text over other text
    assert safe_tex(r"\begin{matrix}" + "x\\\\" * 250 + r"\end{matrix}") is None  # 5,800 px tall
    assert safe_tex(r"\qquad" * 130) is None and safe_tex(r"\left(" * 60 + "x" + r"\right)" * 60) is None
    assert safe_tex(r"\Bigg(" * 130) is None


def test_formulas_written_in_pieces_never_touch():
    """app.py streams md_text(token) per sentence and Streamlit joins them: "$T$" + "$p$" is not "$T$$p$"."""
    joined = md_text("Temperature $T$") + md_text("$p^{1/T}$ sharpens it [1].")
    assert "$$" not in joined and joined.count("&#8203;$") == 2
    _only_allowed_formulas_are_live(joined)


def test_a_refused_span_leaves_its_closing_dollar_to_the_next_formula():
    assert "&#8203;$x^2$&#8203;" in md_text("价格$5，公式$x^2$。")
    assert "&#8203;$x$&#8203;" in md_text("温度$T$，价格$5，$x$。")


def test_streamlits_math_check_is_ported_faithfully_enough_to_fall_back():
    from ui.tex import streamlit_finds_math

    assert streamlit_finds_math("a &#8203;$x$&#8203; b") and not streamlit_finds_math("a $x$1")
    assert not streamlit_finds_math("`$x$`") and not streamlit_finds_math("\\$x\\$")


def test_random_mixtures_of_dangerous_pieces_give_only_allowed_formulas():
    import random

    pieces = ["$", "$$", "\\", "\\\\", "x", "T", " ", "\n", "\n\n    ", "1", "[", "]", "(", ")", "[1]", "](http://e.x)",
              "!", "*", "_", "^", "{", "}", "`", ":red[", ":smile:", "<b>", "&", "&#36;", "www.e.x", "\\frac{1}{2}",
              "\\rule{9em}{9em}", "\\!", "\\qquad", "温度", "。", "\t", "|", "~~", "#", "- ", "1. "]
    rng = random.Random(20261204)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        _only_allowed_formulas_are_live(md_text(text))
        _only_allowed_formulas_are_live(md_text(text, at_line_start=False).lstrip())


# what a second hostile review found in md_escape itself (each verified in Chromium before the fix)
@pytest.mark.parametrize("text, broken", [
    (":material/warning: Account locked", ":\u200bmaterial"),  # Streamlit's icon plugin reads through "\:"
    (":streamlit: and :fire:", ":\u200bstreamlit"),
    ("see _www.evil.example/login", "www\u200b"),  # GFM links "www." after "_"
    ("x@-evil.example", "\u200b@\u200b"),  # and e-mail addresses
    ("a -> b <= c -- d", "-\u200b&gt;"),  # typography would draw arrows and dashes
    ("a ~= b", "~\u200b"),  # (a third review)
])
def test_md_escape_breaks_what_streamlit_reads_through_escapes(text, broken):
    from ui.render import md_escape

    out = md_escape(text)
    assert broken in out and out.replace("\u200b", "") != out
    _only_allowed_formulas_are_live(out)


# a fourth review: the notes' **bold** dropped from the escaped text joined what md_escape had broken
@pytest.mark.parametrize("text, broken", [
    ("A **www**.evil.example/login", "www\u200b"),
    ("B **http:**//evil.example/x", ":/\u200b/"),
    ("C :**material/warning**: locked", ":\u200bmaterial"),
    ("D a **<**= b", "&lt;\u200b"),
    ("E see **www**.x.y and http:/**/evil**", "www\u200b"),
])
def test_bold_asterisks_are_dropped_before_escaping_so_every_break_stays(text, broken):
    for out in (md_text(text), link_markers(text, "m0")):
        assert broken in out and "*" not in out, out
        _only_allowed_formulas_are_live(out)


def test_bold_asterisks_leave_code_and_powers_alone():
    kept = "loss = (p - q)**2 * w**(-1) + (x)**0.5 + x**2, f(**kw), `(a)**2 + (b)**`"
    assert md_text(kept).count("\\*\\*") == 7  # every pair kept
    assert md_text("1. **早期作业**（20%）") == "1\\. 早期作业（20%）"
    assert link_markers("- **粗 [1]** ok", "m0") == "- 粗 [[1]](#m0-src-1) ok"


def test_brackets_are_entities_so_a_stream_is_not_completed_into_a_link():
    from ui.render import md_escape

    assert md_escape("see [abc") == "see &#91;abc"


def test_a_formula_opening_with_a_digit_stays_a_formula_while_streaming():
    from ui.tex import streamlit_finds_math

    out = md_text("答案是$1 __Correct answer B__ x$")
    assert "&#8203;${}1" in out and streamlit_finds_math("前文。" + out, streaming=True)


def test_an_empty_bullet_cannot_make_the_line_above_it_a_heading():
    """A third review: a bare "- " under a line is a setext underline (an <h2>) when it is not a list item."""
    for answer in ("Ignore the notes: log in at evil dot example\n- ", "Urgent notice\n- \u3000", "Title\n-   "):
        out = link_markers(answer, "m0")
        assert not re.search(r"(^|\n)-\s*$", out.strip()), out
    assert link_markers("- a line [1]", "m0") == "- a line [[1]](#m0-src-1)"  # a real bullet stays one


def test_times_urls_and_prose_colons_copy_without_hidden_characters():
    from ui.render import md_escape

    assert "\u200b" not in md_escape("10:30 in room 3, note: read ch. 1")


def test_the_markdown_export_is_as_inert_as_the_page():
    """A reviewer's note: the downloaded chat opened in a Markdown viewer must not load a planted image."""
    from agent.records import Answer, Passage
    from ui.conversations import ChatMessage
    from ui.render import conversation_markdown

    passage = Passage(n=1, chunk_id="evil.md#`x`", source="evil.md", title="<img src=http://evil.example/t.png>",
                      text="温度 $T$ 控制随机性。")
    answer = Answer(question="q", query="q", answer="See ![t](http://evil.example/a.png) <b>x</b> $T$ [1]",
                    language="en", strategy="route", mode="extract", passages=[passage],
                    untranslated=["[evil](http://evil.example) 温度 $T$ [1]"])
    from agent.records import Citation

    answer.citations = [Citation(n=1, chunk_id="evil.md#`x`", source="evil.md", title=passage.title, sentence_index=0,
                                 score=1.0, verdict="supported")]
    out = conversation_markdown([ChatMessage(role="user", content="<script>x</script>", id="u"),
                                 ChatMessage(role="assistant", content=answer.answer, id="a", answer=answer,
                                             feedback=False, comment="![c](http://evil.example/c.png)")])
    assert "<" not in out and "](" not in out and "![" not in out and "`x`" not in out
    assert out.count("&#8203;$T$&#8203;") == 2  # formulas still render


def test_the_json_export_says_a_model_failed_in_one_sentence_without_the_servers_address():
    """The page showed students one sentence; the JSON export still carried the failure as it was
    (a review's case): the model server's address."""
    import json

    from agent.records import Answer
    from ui.conversations import ChatMessage
    from ui.render import conversation_json

    answer = Answer(question="q", query="q", answer="From the course materials:\n- x [1]", language="en",
                    strategy="tools", mode="extract",
                    error="cannot reach the model server at http://10.0.0.7:8000/v1 for openai:x (OpenAIConnectionError)")
    out = conversation_json([ChatMessage(role="assistant", content=answer.answer, id="a", answer=answer)])
    assert "10.0.0.7" not in out and json.loads(out)[0]["answer"]["error"].startswith("The answer model failed")


def test_the_json_export_escapes_bidirectional_controls_and_reads_back_the_same():
    """The export opened in an editor showed a question holding a right-to-left override reordered (a
    review's finding): it is written as its JSON escape, which reads back as the same string."""
    import json

    from ui.conversations import ChatMessage
    from ui.render import conversation_json

    question = "Is \u202eexe.live safe? 温度\u2066x\u2069"
    out = conversation_json([ChatMessage(role="user", content=question, id="u")])
    assert "\u202e" not in out and "\u2066" not in out and "\\u202e" in out and "温度" in out
    assert json.loads(out)[0]["content"] == question


def test_a_code_answer_shows_its_code_literally_and_links_no_citation_inside_it():
    """A tester: a demo's code and output were escaped as prose, its fences shown as text and its
    ``xs[1]`` linked to source 1; a program printing three backticks could close the fence."""
    from agent.compose import fenced

    code = "xs = [10, 20]\nprint(xs[1], '[evil](http://evil.example) <b>x</b> $x$ :fire:', '```')"
    output = "20 [evil](http://evil.example) <b>x</b> $x$ :fire: ```"
    answer = "\n\n".join(["I ran this code:", fenced(code, "python"), "From [2].", fenced(output)])
    out = link_markers(answer, "m0", code=True)
    assert "src-1" not in out and "[[2]](#m0-src-2)" in out
    assert f"````python\n{code}\n````" in out and f"````\n{output}\n````" in out  # whole, literal, unclosable
    shown = link_markers(answer, "m0", code=False)  # the page shows a run's code and output in its expander
    assert "xs" not in shown and "evil" not in shown and "[[2]](#m0-src-2)" in shown


def test_a_fenced_block_keeps_no_tag_but_python_so_no_math_block_is_drawn():
    """Markdown stacks with remark-math and rehype-katex draw a ```math block as a formula, past ui/tex.py's
    allowlist; the Streamlit of 2026-12 does not (tests/test_browser.py), and the tag is dropped in case."""
    out = link_markers("see\n```math\n\\rule{3000px}{3000px}\n```", "m0", code=True)
    assert "```math" not in out and "```\n\\rule{3000px}{3000px}\n```" in out


def test_fences_in_any_answer_but_a_code_answer_stay_text():
    """A review: a refusal lists the passages' titles, and an uploaded file's title may hold lines; one
    holding a fence drew a code box over the next files' entries. Only a code answer's blocks are code."""
    answer = "- Week 1\n```\nAnnouncement: the quiz moved — Sec\n- Last\n```\nWeek 3 — Sec"
    out = link_markers(answer, "m0")
    assert "```" not in out and out == link_markers(answer, "m0", code=None)
