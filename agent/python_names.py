"""What a snippet of Python reads and defines: is it code at all, is it a whole program?

A question's lines are taken for code to run only when they are a whole program (agent.pasted_code,
agent.policy): a formula ("p = softmax(logits / T)") reads names it never defines, a sentence does not
compile or calls nothing.

>>> holds_code("print(1)"), holds_code("Hello there"), self_contained("import math\\nprint(math.pi)")
(True, False, True)
>>> self_contained("p = softmax(logits / T)"), sorted(unread("p = softmax(logits / T)"))
(False, ['T', 'logits', 'softmax'])
>>> self_contained("from math import *\\nprint(sqrt(2))"), self_contained("match 3:\\n    case n:\\n        print(n, __file__)")
(True, True)
"""

from __future__ import annotations

import ast
import builtins


_MODULE_NAMES = frozenset({"__file__", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__"})


def holds_code(text: str) -> bool:
    """Is ``text`` code: it parses, and does more than name something ("it", "test.py": a word after a
    run request)? It calls something, or is a statement (an assignment, an import, a loop).

    >>> [holds_code(t) for t in ("print(1)", "x = 1", "import math", "it", "test.py", "，谢谢", "Hello there", "")]
    [True, True, True, False, False, False, False, False]
    """
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(not isinstance(node, ast.Expr) or any(isinstance(n, ast.Call) for n in ast.walk(node)) for node in body)


def prints_something(code: str) -> bool:
    """Does the program do more than compute expressions and drop them: a statement, or a print call
    ("len('hello')" alone, run, prints nothing; the REPL would show its value)?

    >>> prints_something("print(len('hello'))"), prints_something("x = 1"), prints_something("len('hello')")
    (True, True, False)
    """
    return states_or_calls(code, lambda name: name == "print")


def states_or_calls(code: str, called) -> bool:
    """Does the program hold a statement (not an expression alone), or call a name ``called(name)``
    accepts?

    >>> states_or_calls("x = 1", bool), states_or_calls("f(1)", lambda n: n == "print"), states_or_calls("print(1)", lambda n: n == "print")
    (True, False, True)
    """
    body = ast.parse(code).body
    return any(not isinstance(node, ast.Expr) for node in body) or any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and called(n.func.id)
        for node in body for n in ast.walk(node))


def annotation_only(code: str) -> bool:
    """Does the program hold an annotation without a value ("this: print(1)": Python reads words before a
    colon as one, so prose would run as code)?"""
    return any(isinstance(node, ast.AnnAssign) and node.value is None for node in ast.walk(ast.parse(code)))


def self_contained(code: str, given: set[str] = frozenset()) -> bool:
    """A whole program: it compiles, calls something, its names are ASCII (a Chinese word is an
    identifier too: "画心形图(1)") and every name it reads is a builtin or one it defines or imports
    ("p = softmax(logits / T)" is a formula); ``given``: names the program may read without defining them."""
    scan = _names(code)
    if scan is None:
        return False
    read, defined, called = scan
    return called and read <= defined | set(given) and all(name.isascii() for name in read | defined)


def unread(code: str) -> set[str]:
    """The names ``code`` reads and neither defines, imports nor finds among the builtins (none when it
    does not compile).

    >>> sorted(unread("import math\\nprint(math.pi * r, len(xs))"))
    ['r', 'xs']
    """
    scan = _names(code)
    return scan[0] - scan[1] if scan is not None else set()


def _names(code: str) -> tuple[set[str], set[str], bool] | None:
    """(names read, names defined with the builtins, whether anything is called); None when ``code``
    does not compile."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    defined = set(dir(builtins)) | _MODULE_NAMES
    read: set[str] = set()
    called = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return set(), defined, True  # "from math import *": any name may come from it (a review's)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            defined.add(node.name)  # case n: / case [*rest]
        elif isinstance(node, ast.MatchMapping) and node.rest:
            defined.add(node.rest)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
        elif isinstance(node, ast.Call):
            called = True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            read.add(node.target.id)  # "count += 1" reads count first
    return read, defined, called
