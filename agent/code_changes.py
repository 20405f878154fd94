"""Values a demo request asks for ("用 T=5 再运行", "run it with n = 10"), set in the code it runs.

An instructor shows a demo, then asks for it again with another value; a student runs their code, then
asks "what if xs = [3, 1]?". Only a name the code binds in exactly one place (a top-level assignment or a
top-level function's default, and nowhere else: no loop, no other assignment, no call passing it) gets a
new value, and only a Python literal (a number, a string, True / False / None, a list or tuple of them):
anything else is not a change this module makes, and the caller says so.

>>> values = asked_values("用 T=5 再运行一下")
>>> values
{'T': '5'}
>>> change = with_values("T = 1\\nprint(2 / T)", values)
>>> print(change.code)
T = 5
print(2 / T)
>>> change.summary, change.unset
('T = 1 → T = 5', ())
>>> with_values("for T in (1, 2):\\n    print(T)", values).unset  # no one place sets T
('T',)
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LITERAL = (r"-?(?:\d[\d_]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?|True|False|None|'[^'\n]{0,200}'|\"[^\"\n]{0,200}\""
            r"|\[[^\[\]\n]{0,200}\]|\([^()\n]{0,200}\)")
_END = r"(?!\w)(?!\.\w)"  # a sentence's full stop after "n = 10." is no decimal point
_NOT_SHOWN = r"(?!\s*(?:→|->))"  # "T = 1.0 → T = 5" quotes a change made (either side), asks for none
# "T=5", "T = 0.5", "xs = [3, 1]" ("a == b", "x <= 3" are comparisons, not values)
_ASSIGNED = re.compile(rf"(?<![\w=<>!+\-*/%&|^~.?&])(?<!→ )(?<!→)(?<!-> )({_NAME})\s*=(?!=)\s*({_LITERAL}){_END}{_NOT_SHOWN}")
# "把 T 改成 5", "T 设为 0.5", "set T to 5", "change n to 10"
_SET_TO = re.compile(rf"(?:把\s*)?(?<![\w.])({_NAME})\s*(?:改成|改为|改到|设为|设成|设置为|换成|调到|调成|调为)\s*({_LITERAL}){_END}"
                     rf"|\b(?:set|change)\s+({_NAME})\s+to\s+({_LITERAL}){_END}", re.I)
# what a request shows rather than asks: quoted or inline-code text, formulas, links (a quoted string
# right after "=" or "to" is a value: 'greeting="hi"')
_SHOWN = re.compile(r"(?<!=)(?<!= )(?<!\bto )(?:\"[^\"\n]{0,300}\"|“[^”\n]{0,300}”)|「[^」\n]{0,300}」|`[^`\n]{0,300}`|\$[^$\n]{0,300}\$"
                    r"|\bhttps?://\S+|\bwww\.\S+")

MAX_VALUES = 8  # values taken from one request; a message of thousands of "a=1" asks for none past these


@dataclass(frozen=True)
class Change:
    """Code with the asked values set, what changed ("T = 1 → T = 5", one per value), and the names
    asked for that the code does not bind in exactly one place (left as they are)."""

    code: str
    changes: tuple[tuple[str, str, str], ...]  # (name, old value's source, new value's source)
    unset: tuple[str, ...] = ()
    not_literal: tuple[str, ...] = ()  # names asked a value that is no literal ("T=math.pi"): not set either

    @property
    def summary(self) -> str:
        """The changes as a reader sees them; "[1]" is written "[1,]" (the same list), as an answer's
        "[1]" is a link to its first source."""
        return "; ".join(re.sub(r"\[(\d{1,3})\]", r"[\1,]", f"{name} = {old} → {name} = {new}")
                         for name, old, new in self.changes)


def asked_values(words: str) -> dict[str, str]:
    """The names and literal values ``words`` (a request without its code) asks to set, in order (the
    first :data:`MAX_VALUES`). Quoted text, formulas and links are not asked; a name given two values
    is left out (which one was meant?).

    >>> asked_values("run it with xs = [3, 1] and verbose=True"), asked_values("把 n 改成 10 再跑")
    ({'xs': '[3, 1]', 'verbose': 'True'}, {'n': '10'})
    >>> asked_values("为什么 a == b 是 False？"), asked_values("set T to 0.5"), asked_values("T=os.system('x')")
    ({}, {'T': '0.5'}, {})
    >>> asked_values("Run it again with n = 10."), asked_values('为什么输出是 "xs = [1]"？'), asked_values("比较 x=1 和 x=2")
    ({'n': '10'}, {}, {})
    """
    words = _SHOWN.sub(" ", words)
    spans = sorted([(m.start(), m.group(1), m.group(2)) for m in _ASSIGNED.finditer(words)]
                   + [(m.start(), m.group(1) or m.group(3), m.group(2) or m.group(4)) for m in _SET_TO.finditer(words)])
    found: dict[str, str] = {}
    twice: set[str] = set()
    for _, name, value in spans:
        try:
            literal = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if name in found and ast.literal_eval(found[name]) != literal:
            twice.add(name)
        found.setdefault(name, value)
    return dict(list((n, v) for n, v in found.items() if n not in twice)[:MAX_VALUES])


_LOOSE = re.compile(rf"(?<![\w=<>!+\-*/%&|^~.?&])({_NAME})\s*=(?!=)\s*[^\s,，。;；？?]+"
                    rf"|(?:把\s*)?(?<![\w.])({_NAME})\s*(?:改成|改为|设为|设成|换成|调到|调成)\s*[^\s,，。;；？?再]+"
                    rf"|\b(?:set|change)\s+({_NAME})\s+to\s+[^\s,;?]+", re.I)


def not_literal(words: str) -> list[str]:
    """Names ``words`` asks a value for that is no Python literal, which :func:`asked_values` leaves out.

    >>> not_literal("用 T=math.pi 再运行"), not_literal("set name to Bob and run it"), not_literal("用 T=5 再运行")
    (['T'], ['name'], [])
    """
    asked = asked_values(words)
    words = _SHOWN.sub(" ", words)
    names = [m.group(1) or m.group(2) or m.group(3) for m in _LOOSE.finditer(words)]
    return list(dict.fromkeys(n for n in names if n not in asked))[:MAX_VALUES]


def without_values(words: str) -> str:
    """``words`` with the values they ask for ("T=5", "把 n 改成 10", "set T to 0.5") blanked out.

    >>> without_values("用 T=5 再运行，顺便 set n to 'a b'")
    '用   再运行，顺便  '
    """
    for pattern in (_ASSIGNED, _SET_TO, _LOOSE):
        words = pattern.sub(lambda m: " ", words)
    return words


def with_values(code: str, values: dict[str, str]) -> Change | None:
    """``code`` with each of ``values`` set where the code binds that name in exactly one place (a
    top-level ``name = …``, or a top-level function's ``name=…`` default that no call passes), the
    others listed in ``unset``; None when no value is asked or the code does not parse.

    >>> print(with_values("def f(x, T=1.0):\\n    return x / T\\nprint(f(2))", {"T": "4"}).code)
    def f(x, T=4):
        return x / T
    print(f(2))
    >>> with_values("T = 1\\nT = 2", {"T": "3"}).unset, with_values("T = 1\\nif T:\\n    T = 2", {"T": "3"}).unset
    (('T',), ('T',))
    >>> with_values("def f(T=1):\\n    return T\\nprint(f(T=2))", {"T": "3"}).unset  # the call passes its own
    ('T',)
    >>> with_values("print(1)", {}), with_values("x = (", {"x": "1"})
    (None, None)
    """
    if not values:
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    bindings = _bindings(tree)
    sites: dict[str, ast.expr] = {}
    for name in values:
        site = _site(tree, name)
        if site is not None and bindings.get(name, 0) == 1 and site.lineno == site.end_lineno:
            sites[name] = site  # (a value over several lines is left alone)
    lines = _lines(code)
    edits = []
    for name, node in sites.items():
        raw = lines[node.lineno - 1].encode("utf-8")  # the ast's columns count UTF-8 bytes
        edits.append((node.lineno - 1, node.col_offset, node.end_col_offset, name,
                      raw[node.col_offset:node.end_col_offset].decode("utf-8", "replace"), values[name]))
    for line_no, start, end, _, _, new in sorted(edits, reverse=True):
        raw = lines[line_no].encode("utf-8")
        lines[line_no] = (raw[:start] + new.encode("utf-8") + raw[end:]).decode("utf-8")
    changed = "".join(lines)
    if edits and not _holds(changed, {name: values[name] for name in sites}):
        return Change(code, (), tuple(values))  # the edit did not land where it should: nothing is claimed
    return Change(changed, tuple((name, old, new) for _, _, _, name, old, new in sorted(edits) if old != new),
                  tuple(name for name in values if name not in sites))


def _lines(code: str) -> list[str]:
    """The code's lines as Python counts them (\\n, \\r\\n, \\r; not str.splitlines's form feeds or U+2028)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", code)


def _bindings(tree: ast.AST) -> dict[str, int]:
    """How many places bind each name anywhere in the tree: assignment targets, loop and ``with``
    targets, parameters, imports, ``global`` / ``nonlocal``, and keyword arguments of calls (which
    override a default)."""
    counts: dict[str, int] = {}

    def add(name: str | None) -> None:
        if name:
            counts[name] = counts.get(name, 0) + 1

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            add(node.id)
        elif isinstance(node, ast.arg):
            add(node.arg)
        elif isinstance(node, ast.alias):
            add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                add(name)
        elif isinstance(node, ast.keyword):
            add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name)
        elif isinstance(node, ast.ExceptHandler):
            add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)):
            add(node.name)
    return counts


def _site(tree: ast.Module, name: str) -> ast.expr | None:
    """The value a top-level statement gives ``name``: ``name = value`` / ``name: T = value``, or the
    default of a top-level function's parameter ``name`` that no call passes by position."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == name:
                return node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            if node.target.id == name:
                return node.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            for position, (arg, default) in enumerate(zip(positional, [None] * (len(positional) - len(args.defaults))
                                                          + list(args.defaults))):
                if arg.arg == name and default is not None:
                    return None if _passed_by_position(tree, node.name, position) else default
            for arg, default in zip(args.kwonlyargs, args.kw_defaults):
                if arg.arg == name and default is not None:
                    return default
    return None


def _passed_by_position(tree: ast.AST, function: str, position: int) -> bool:
    """Does a call of ``function`` (or of anything, through ``*args``) fill parameter ``position``?"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == function:
            if len(node.args) > position or any(isinstance(a, ast.Starred) for a in node.args):
                return True
    return False


def _holds(code: str, values: dict[str, str]) -> bool:
    """Does each name's one site in ``code`` now hold its asked value (the edit landed where meant)?"""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    for name, value in values.items():
        site = _site(tree, name)
        try:
            if site is None or ast.literal_eval(site) != ast.literal_eval(value):
                return False
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return False
    return True
