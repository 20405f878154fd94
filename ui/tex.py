"""Which ``$...$`` math in untrusted text may reach KaTeX: a small allowlist of TeX, nothing else.

The notes write formulas in TeX (``$$H(p) = \\sum_x p(x) \\log \\frac{1}{p(x)}.$$``, ``$T$``) and the
writer copies them. Streamlit renders ``$...$`` with KaTeX (trust off, but no bound on sizes), so
a file or a model could draw a page-sized ``\\rule``, move text with negative ``\\kern`` or ``\\!``,
colour it, or nest it until the tab stalls. And Streamlit loads its math plugin only when a
pattern check of the whole message finds math; where it does not, what sat between the dollars
is read as Markdown (links, images, ``:red[...]``). So :func:`safe_tex` lets through only TeX that
is harmless both ways:

- ASCII, at most 800 characters, no ``[ ] ! * ~ @`` or backtick (Markdown's links, images,
  emphasis, code), no ``://``, ``www.`` or ``:name:`` (autolinks, Streamlit's icons and emoji), not
  ending in a backslash (Streamlit's check reads ``\\$`` as an escaped dollar, KaTeX as the end);
- every command on :data:`COMMANDS` (letters, operators, accents, fonts, delimiters: no sizes,
  spacing by length or negative spacing, colours, links, macros), environments on
  :data:`ENVIRONMENTS` (aligned, cases, matrices), line breaks ``\\\\`` without a size;
- bounded: braces at most 8 deep, at most :data:`CAPS` of each kind of thing that makes a formula
  large (rows, environments, ``\\left``, big delimiters, spacing, scripts).

ui/render.py :func:`md_text` then writes each accepted span as ``$tex$`` between zero-width spaces
(so two spans, or a span and a digit, never touch) and escapes everything else; should
:func:`streamlit_finds_math` (Streamlit's own check, ported) still not find its math, everything is
escaped. Anything refused is shown as the text it is.

>>> safe_tex(r"H(p) = \\sum_x p(x) \\log \\frac{1}{p(x)}.")
'H(p) = \\\\sum_x p(x) \\\\log \\\\frac{1}{p(x)}.'
>>> safe_tex("a<b"), safe_tex(r"\\rule{99em}{99em}"), safe_tex(r"\\href{http://x}{y}"), safe_tex("{{x}")
('a\\\\lt b', None, None, None)
>>> safe_tex("[x](http://evil)"), safe_tex("x \\\\"), safe_tex(r"\\!\\!\\!x")
(None, None, None)
>>> from common.text import MATH_SPAN
>>> [m.group(0) for m in MATH_SPAN.finditer("温度 $T$ 与 $$p^{1/T}$$，价格 $5 和 $6。")]
['$T$', '$$p^{1/T}$$']
"""

from __future__ import annotations

import re

MAX_CHARS = 800
MAX_DEPTH = 8
# at most this many of each kind of thing that makes a formula large (count: pattern)
CAPS = {
    "rows": (12, re.compile(r"\\\\")),
    "environments": (2, re.compile(r"\\begin\b")),
    "left-right": (8, re.compile(r"\\left\b")),
    "big delimiters": (12, re.compile(r"\\[Bb]igg?[lrm]?\b")),
    "spacing": (12, re.compile(r"\\q?quad\b|\\[,;: ]")),
    "scripts": (80, re.compile(r"[\^_]")),
    "fractions": (16, re.compile(r"\\[dt]?frac\b|\\binom\b")),
}

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
ESCAPES = frozenset("{}|,;:_ ")  # \{ \} \| \, \; \: \_ and "\ " (a space); no \! (negative)

_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.S)
_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9 \\{}()^_+\-/=<>|,.;:?'\"&]*")  # no [ ] ! * ~ @ ` (Markdown)
_LINKISH = re.compile(r"://|www\.|:[A-Za-z0-9_/+-]+:", re.I)  # autolinks, :material/icon: and :emoji: shortcodes
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{([^{}]*)\}")


# Streamlit's check (frontend StreamlitMarkdown, function bm, 1.5x): code and escapes out, then a
# $$...$$ or a $...$ that opens before a non-space, closes after one and is not followed by a digit
_ST_CODE_AND_ESCAPES = re.compile(r"(?:(?<=^)|(?<=\n)) {0,3}(`{3,}|~{3,})[\s\S]*?(?:\n[ \t]*\1|$)|(?<!`)(`+)[^`\n]+\2(?!`)|\\[\\$`]")
_ST_DISPLAY = re.compile(r"(?<!\$)\$\$+(?!\$)[\s\S]*?\$\$")
_ST_INLINE = re.compile(r"(?<!\$)\$(?![\s$])[^$\n]*?[^\s$]\$(?!\d)")
_ST_STREAMING_PRICE = re.compile(r"(\$\d[^$\n\\^{}=]*)\$(?=[^\s$]*$)")


def streamlit_finds_math(markdown: str, streaming: bool = False) -> bool:
    """Would Streamlit load its math plugin for this Markdown? (a port of its check; ``streaming``: while
    ``st.write_stream`` is still writing, when a last ``$1...$`` counts as a price)

    >>> streamlit_finds_math("$x$"), streamlit_finds_math("$x$1"), streamlit_finds_math(r"\\$x$")
    (True, False, False)
    >>> streamlit_finds_math("a $1 x$", streaming=True), streamlit_finds_math("a ${}1 x$", streaming=True)
    (False, True)
    """
    if "$" not in markdown:
        return False
    rest = _ST_CODE_AND_ESCAPES.sub("_", markdown)
    if _ST_DISPLAY.search(rest):
        return True
    return bool(_ST_INLINE.search(_ST_STREAMING_PRICE.sub(r"\1", rest) if streaming else rest))


def span_tex(match: re.Match) -> str:
    """The TeX inside a :data:`common.text.MATH_SPAN` match."""
    return match.group("display") if match.group("display") is not None else match.group("inline")


def safe_tex(tex: str) -> str | None:
    """``tex`` made ready for KaTeX (whitespace folded, ``<``/``>`` as ``\\lt``/``\\gt``), or None when
    any part of it is outside the allowlist (see the module's docstring)."""
    tex = " ".join(tex.split())
    if not tex or len(tex) > MAX_CHARS or not _ALLOWED_CHARS.fullmatch(tex) or _LINKISH.search(tex) or tex.endswith("\\"):
        return None
    if any(len(pattern.findall(tex)) > cap for cap, pattern in CAPS.values()):
        return None
    for m in _COMMAND.finditer(tex):
        name = m.group(1)
        if name not in COMMANDS and name not in ESCAPES and name != "\\":
            return None
    # (with no "[" allowed, a \\ line break cannot take a size)
    if any(env not in ENVIRONMENTS for env in _ENVIRONMENT.findall(tex)):
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
    if depth:
        return None
    tex = tex.replace("<", r"\lt ").replace(">", r"\gt ").strip()
    # a formula opening with a digit is one Streamlit's check skips while a stream is open (a price):
    # an empty group first keeps it a formula for the check and draws the same
    return "{}" + tex if tex[0].isdigit() else tex
