"""Which ``$...$`` math in untrusted text may reach KaTeX: a small allowlist of TeX, nothing else.

The notes write formulas in TeX (``$$H(p) = \\sum_x p(x) \\log \\frac{1}{p(x)}.$$``, ``$T$``) and the
writer copies them. Streamlit renders ``$...$`` with KaTeX (trust off, but no bound on sizes), so
a file or a model could draw a page-sized ``\\rule``, move text with negative ``\\kern``, colour
it, or nest it until the tab stalls. :func:`safe_tex` lets through only short, ASCII TeX whose
every command is on :data:`COMMANDS` (letters, operators, accents, fonts, delimiters: no sizes,
spacing by length, colours, links, macros or ``\\$``), whose environments are on
:data:`ENVIRONMENTS` (aligned, cases, matrices) and whose line breaks ``\\\\`` take no size,
with balanced braces at most 8 deep; anything else is shown as the text it is (ui/render.py
:func:`md_text`).

>>> safe_tex(r"H(p) = \\sum_x p(x) \\log \\frac{1}{p(x)}.")
'H(p) = \\\\sum_x p(x) \\\\log \\\\frac{1}{p(x)}.'
>>> safe_tex("a<b"), safe_tex(r"\\rule{99em}{99em}"), safe_tex(r"\\href{http://x}{y}"), safe_tex("{{x}")
('a\\\\lt b', None, None, None)
>>> [m.group(0) for m in math_spans("温度 $T$ 与 $$p^{1/T}$$，价格 $5 和 $6。")]
['$T$', '$$p^{1/T}$$']
"""

from __future__ import annotations

import re
from typing import Iterator

from common.text import MATH_SPAN

MAX_CHARS = 800
MAX_DEPTH = 8
MAX_SCRIPTS = 80  # ^ and _ together

_GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi rho "
          "varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon "
          "Phi Psi Omega")
_SYMBOLS = ("cdot cdots ldots dots vdots ddots times div pm mp ast star circ bullet oplus otimes odot le leq ge geq neq ne "
            "lt gt approx sim simeq equiv propto in notin ni subset subseteq supset supseteq cup cap setminus emptyset "
            "varnothing infty partial nabla forall exists neg land lor to rightarrow leftarrow Rightarrow Leftarrow "
            "leftrightarrow Leftrightarrow rightsquigarrow mapsto implies iff mid parallel perp top bot prime ell hbar angle triangle "
            "quad qquad lvert rvert lVert rVert langle rangle lfloor rfloor lceil rceil vert Vert")
_OPERATORS = ("frac dfrac tfrac binom sqrt sum prod int oint iint lim limsup liminf log ln lg exp sin cos tan arcsin "
              "arccos arctan sinh cosh tanh max min sup inf arg det dim ker Pr gcd operatorname limits nolimits "
              "displaystyle textstyle")
_FONTS_ACCENTS = ("mathrm mathbf mathit mathcal mathbb mathsf mathtt mathfrak boldsymbol bm text textrm textbf textit "
                  "hat widehat bar overline underline tilde widetilde vec dot ddot check breve acute grave "
                  "overbrace underbrace overset underset stackrel overrightarrow overleftarrow left right big Big bigg Bigg bigl bigr Bigl Bigr "
                  "biggl biggr middle")
COMMANDS = frozenset(" ".join((_GREEK, _SYMBOLS, _OPERATORS, _FONTS_ACCENTS)).split()) | {"begin", "end"}
ENVIRONMENTS = frozenset("aligned gathered cases matrix pmatrix bmatrix vmatrix".split())
ESCAPES = frozenset(r"{}|,;:! _".replace(" ", "") + " ")  # \{ \} \| \, \; \: \! \_ and "\ " (a space)

_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.S)
_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9 \t\n\\{}()\[\]^_+\-*/=<>|,.;:!?'\"`~@&]*")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{([^{}]*)\}")
_SIZED_BREAK = re.compile(r"\\\\\s*\[")  # \\[10em]


def math_spans(text: str) -> Iterator[re.Match]:
    """The ``$$...$$`` and ``$...$`` spans of ``text``, in order (whether safe or not)."""
    return MATH_SPAN.finditer(text)


def span_tex(match: re.Match) -> str:
    """The TeX inside a :func:`math_spans` match."""
    return match.group("display") if match.group("display") is not None else match.group("inline")


def safe_tex(tex: str) -> str | None:
    """``tex`` made ready for KaTeX (whitespace folded, ``<``/``>`` as ``\\lt``/``\\gt``), or None when
    any part of it is outside the allowlist (see the module's docstring)."""
    tex = " ".join(tex.split())
    if not tex or len(tex) > MAX_CHARS or not _ALLOWED_CHARS.fullmatch(tex):
        return None
    for m in _COMMAND.finditer(tex):
        name = m.group(1)
        if name not in COMMANDS and name not in ESCAPES and name != "\\":
            return None
    if _SIZED_BREAK.search(tex) or any(env not in ENVIRONMENTS for env in _ENVIRONMENT.findall(tex)):
        return None
    if tex.count(r"\begin") + tex.count(r"\end") != len(_ENVIRONMENT.findall(tex)):  # each names its environment
        return None
    depth = 0
    for m in re.finditer(r"\\.|[{}]", tex):
        if m.group(0) == "{":
            depth += 1
            if depth > MAX_DEPTH:
                return None
        elif m.group(0) == "}":
            depth -= 1
            if depth < 0:
                return None
    if depth or tex.count("^") + tex.count("_") > MAX_SCRIPTS:
        return None
    return tex.replace("<", r"\lt ").replace(">", r"\gt ")
