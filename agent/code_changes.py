"""Values a demo request asks for ("用 T=5 再运行", "run it with n = 10"), set in the code it runs.

An instructor shows a demo, then asks for it again with another value; a student runs their code, then
asks "what if xs = [3, 1]?". Only a name the code sets in exactly one place (a top-level assignment or a
function's default) gets a new value, and only a Python literal (a number, a string, True / False /
None, a list or tuple of them): anything else is not a change this module makes, and the caller says so.

>>> values = asked_values("用 T=5 再运行一下")
>>> values
{'T': '5'}
>>> change = with_values("T = 1\\nprint(2 / T)", values)
>>> print(change.code)
T = 5
print(2 / T)
>>> change.summary
'T = 1 → T = 5'
>>> with_values("for T in (1, 2):\\n    print(T)", values) is None  # no one place sets T
True
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LITERAL = (r"-?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|True|False|None|'[^'\n]{0,200}'|\"[^\"\n]{0,200}\""
            r"|\[[^\[\]\n]{0,200}\]|\([^()\n]{0,200}\)")
# "T=5", "T = 0.5", "xs = [3, 1]" ("a == b", "x <= 3" are comparisons, not values)
_ASSIGNED = re.compile(rf"(?<![\w=<>!+\-*/%&|^~.])({_NAME})\s*=(?!=)\s*({_LITERAL})(?![\w.])")
# "把 T 改成 5", "T 设为 0.5", "set T to 5", "change n to 10"
_SET_TO = re.compile(rf"(?:把\s*)?(?<![\w.])({_NAME})\s*(?:改成|改为|改到|设为|设成|设置为|换成|调到|调成|调为)\s*({_LITERAL})(?![\w.])"
                     rf"|\b(?:set|change)\s+({_NAME})\s+to\s+({_LITERAL})(?![\w.])", re.I)


MAX_VALUES = 8  # values taken from one request; a message of thousands of "a=1" asks for none past these


@dataclass(frozen=True)
class Change:
    """Code with the asked values set, and what changed ("T = 1 → T = 5", one per value)."""

    code: str
    changes: tuple[tuple[str, str, str], ...]  # (name, old value's source, new value's source)

    @property
    def summary(self) -> str:
        return "; ".join(f"{name} = {old} → {name} = {new}" for name, old, new in self.changes)


def asked_values(words: str) -> dict[str, str]:
    """The names and literal values ``words`` (a request without its code) asks to set, in order
    (the first :data:`MAX_VALUES`).

    >>> asked_values("run it with xs = [3, 1] and verbose=True"), asked_values("把 n 改成 10 再跑")
    ({'xs': '[3, 1]', 'verbose': 'True'}, {'n': '10'})
    >>> asked_values("为什么 a == b 是 False？"), asked_values("set T to 0.5"), asked_values("T=os.system('x')")
    ({}, {'T': '0.5'}, {})
    """
    found: dict[str, str] = {}
    spans = sorted([(m.start(), m.group(1), m.group(2)) for m in _ASSIGNED.finditer(words)]
                   + [(m.start(), m.group(1) or m.group(3), m.group(2) or m.group(4)) for m in _SET_TO.finditer(words)])
    for _, name, value in spans:
        try:
            ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        found.setdefault(name, value)
        if len(found) == MAX_VALUES:
            break
    return found


def with_values(code: str, values: dict[str, str]) -> Change | None:
    """``code`` with each of ``values`` set where the code sets that name, if every name is set in
    exactly one place (a top-level ``name = …`` or a top-level function's ``name=…`` default); else None.

    >>> print(with_values("def f(x, T=1.0):\\n    return x / T\\nprint(f(2))", {"T": "4"}).code)
    def f(x, T=4):
        return x / T
    print(f(2))
    >>> with_values("T = 1\\nT = 2", {"T": "3"}), with_values("print(1)", {"T": "3"}), with_values("x = (", {"x": "1"})
    (None, None, None)
    """
    if not values:
        return None
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    sites: dict[str, list[ast.expr]] = {name: [] for name in values}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg in sites:
                    sites[arg.arg].append(default)
            continue
        else:
            continue
        if target in sites:
            sites[target].append(value)
    if any(len(found) != 1 for found in sites.values()):
        return None
    lines = code.splitlines(keepends=True)
    edits = []
    for name, (node,) in sites.items():
        if node.lineno != node.end_lineno or node.lineno > len(lines):  # a value over several lines is left alone
            return None
        raw = lines[node.lineno - 1].encode("utf-8")  # the ast's columns count UTF-8 bytes
        old = raw[node.col_offset:node.end_col_offset].decode("utf-8", "replace")
        edits.append((node.lineno - 1, node.col_offset, node.end_col_offset, name, old, values[name]))
    for line_no, start, end, _, _, new in sorted(edits, reverse=True):
        raw = lines[line_no].encode("utf-8")
        lines[line_no] = (raw[:start] + new.encode("utf-8") + raw[end:]).decode("utf-8")
    changes = tuple((name, old, new) for _, _, _, name, old, new in sorted(edits) if old != new)
    return Change("".join(lines), changes)
