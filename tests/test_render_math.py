"""Formulas from the notes and the writer are drawn by KaTeX; any other TeX stays text (ui/tex.py)."""

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


def test_md_text_keeps_allowed_math_and_escapes_the_rest():
    text = r"熵 $H(p) = -\sum_x p(x)$；价格 $5 和 $6；坏的 $\rule{9em}{9em}$；**粗** <b>x</b> $$T \neq 1$$"
    out = md_text(text)
    assert r"$H(p) = -\sum_x p(x)$" in out and r"$T \neq 1$" in out
    assert r"\$5 和 \$6" in out  # prices are not math
    assert r"\$\\rule\{9em\}\{9em\}\$" in out  # refused TeX is escaped text, its dollars too
    assert r"\*\*粗\*\*" in out and "&lt;b&gt;" in out and "<b>" not in out
    # every dollar sign left in the output opens or closes one of the two allowed formulas
    unescaped = [i for i, ch in enumerate(out) if ch == "$" and out[i - 1] != "\\"]
    assert len(unescaped) == 4


def test_a_dollar_sign_inside_a_formula_cannot_close_it_early():
    out = md_text(r"$a \$ b$ and $x$")
    assert "$x$" in out and r"\$" in out
    assert md_text(r"$\$$") == r"\$\\\$\$"


def test_link_markers_render_formulas_between_citation_links():
    out = link_markers(r"温度 $T$ 越高分布越平 [1]，$p^{1/T}$ [2]。", "m0")
    assert out == r"温度 $T$ 越高分布越平 [[1]](#m0-src-1)，$p^{1/T}$ [[2]](#m0-src-2)。"
