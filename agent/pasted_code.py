"""The code a question brings to be run: fenced, pasted below or above a request to run it, on the
request's own line, or copied from an interactive session (``>>>``).

A student or an instructor asks to run their own code ("运行一下这段代码：" and the lines below it,
"Run print(2 ** 10)", a REPL transcript); taken for prose, it was answered with the notes' heart plot.
What is taken must be a whole program (:func:`agent.python_names.self_contained`), so that a formula, a sentence or half
of a paste is never run as code; :func:`question_code` is the one entry point.

>>> question_code("运行一下这段代码：\\nimport math\\nprint(math.log2(8))")
'import math\\nprint(math.log2(8))'
>>> question_code("演示一下温度T的影响:\\np = softmax(logits / T)") is None
True
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import replace

from agent.code_changes import Change, asked_values, not_literal, with_values, without_values
from agent.policy import (ASKS_OUTPUT_FIRST, PASTED_RUN, code_asked_on_line, code_line, explains_own_code, extract_code,
                          is_follow_up, is_homework_request, keep_code_unrun, small_talk, without_pasted_code,
                          without_question_mark)
from agent.python_names import annotation_only, holds_code, self_contained, states_or_calls, unread
from common.text import tokenize

# a request to run code pasted below it: _RUN_WORDS (route's) but 运行时 / 执行时 ("at run time": "运行时报错了"
# is asked of code, not for a run) and demonstrate / simulate (a demo of a concept, not of the lines below)
_RUN_REQUEST = re.compile(r"\b(run|execute|demo|plot|draw)\b|运行(?!时)|执行(?!时)|演示|跑一下|跑一遍|画(?!像)|绘制", re.I)


def question_code(question: str) -> str | None:
    """The code a question brings to run: a fenced block; else, under a line asking to run it (one of
    the first three: after a greeting), all the lines below it, dedented, when they are a whole program
    (:func:`agent.python_names.self_contained`); failing that, when that line opens with the request, all the rest of it
    with those lines; or all the lines above a last line that only asks to run them. Pasted without a
    fence, a student's code was taken for prose, and the notes' heart plot shown instead.

    >>> question_code("运行一下这段代码：\\nimport math\\nprint(math.log2(8))"), question_code("```python\\nprint(2)\\n```")
    ('import math\\nprint(math.log2(8))', 'print(2)')
    >>> question_code("老师好，\\n请帮我跑一下这段代码：\\n    x = 2\\n    print(x)")
    'x = 2\\nprint(x)'
    >>> question_code("跑跑看\\nprint('LLM'.lower())"), question_code("Try running it:\\nprint(2 ** 3)")
    ("print('LLM'.lower())", 'print(2 ** 3)')

    Or on a line opening with the request, with all the lines below it; or above a last line asking
    only to run it (a request after a question, a negation or another verb takes no code from its line):

    >>> question_code("帮我运行一下：import math; print(math.sqrt(4))"), question_code("Run print(2 ** 10)")
    ('import math; print(math.sqrt(4))', 'print(2 ** 10)')
    >>> question_code("Run this: import math\\nprint(math.pi)"), question_code("print(2 ** 10)\\n运行一下这段代码")
    ('import math\\nprint(math.pi)', 'print(2 ** 10)')

    A copied interactive session runs as its program (:func:`repl_program`):

    >>> question_code("Run this:\\n>>> import math\\n>>> math.log2(8)\\n3.0")
    'import math\\n__import__("sys").displayhook(math.log2(8))'

    Not code: a formula or a name the lines never define, a line that does not compile, Chinese in a
    name, words after the code, a span in the question's line, a question that asks no run:

    >>> [question_code(q) for q in ("演示一下温度T的影响:\\np = softmax(logits / T)", "运行一下\\nx = np.array([1,2]\\nprint(x)",
    ...                             "运行：\\n画心形图(1)", "运行一下\\nprint(1)\\n谢谢", "运行一下 `print(1)` 看看",
    ...                             "What does this code do?\\nprint(1)", "运行时报错了\\nprint(1)",
    ...                             "别运行 import os; print(os.sep)", "Run train(); print('done')", "print(1)\\nWhy doesn't it run?")]
    [None, None, None, None, None, None, None, None, None, None]
    """
    return _brought(question)[0]


def _brought(question: str) -> tuple[str | None, str | None]:
    """(:func:`question_code`'s program, the text it took for the code the message brings, whole or not:
    :func:`undefined_names` reads the second)."""
    code = extract_code(question)
    if code is not None:
        return repl_program(code) or code, code
    lines = question.strip().splitlines()
    taken = None
    asks = next((i for i, line in enumerate(lines[:3])  # after a greeting
                 if _RUN_REQUEST.search(line) or PASTED_RUN.search(line)), None)
    if asks is not None:
        # code on a line that opens by asking to run it ("运行 print(2**10)", "帮我运行一下：import math; print(…)",
        # "Run this: import math") starts there: all the rest of that line with every line below, taken
        # whole, or nothing (the lines below alone dropped what it held: a review), and none above it
        line = lines[asks].strip()
        request = _INLINE_REQUEST.match(line) or ASKS_OUTPUT_FIRST.match(line)
        on_line = without_question_mark(line[request.end():].strip()) if request else ""
        if holds_code(on_line):
            candidate = (on_line + "\n" + "\n".join(lines[asks + 1:])).strip("\n")
            if holds_code("\n".join(lines[:asks])) or annotation_only(candidate):
                return None, None
            return (candidate if self_contained(candidate) else None), candidate
        below = "\n".join(lines[asks + 1:])
        session, program = _whole_program(below)  # (no lines: nothing called, no program)
        if session or program is not None:
            return program, program
        taken = textwrap.dedent(below).strip("\n") or None
    if (asked := code_asked_on_line(question)) is not None:  # "print(2 ** 10) 输出啥？"
        return asked, asked
    last = lines[-1].strip() if len(lines) > 1 else ""
    # a last line that only asks to run what is above, or what it prints ("这个会输出啥？", "What does this print?")
    if len(last) <= 40 and (_RUN_ABOVE.fullmatch(last) or PASTED_RUN.search(last)):
        above = "\n".join(lines[:-1])
        return _whole_program(above)[1], textwrap.dedent(above).strip("\n")
    return None, taken


# a demo of a concept asked for ("演示一下温度T的影响:\np = softmax(logits / T)"): the notes' demo, not the lines
_DEMO_WORDS = re.compile(r"\b(?:demo|demonstrate|plot|draw|simulate|visuali[sz]e)\b|演示|画|绘制|可视化|模拟", re.I)


def undefined_names(question: str) -> list[str]:
    """The names that the code a message brings and asks to run reads and never defines, when they are
    all that keeps it from being a whole program (it compiles, calls something, its names are ASCII);
    [] otherwise, and for a demo of a concept. Taken for no code at all, a student's snippet that reads
    ``data`` defined elsewhere in their homework was answered with the notes' heart-plot demo.

    >>> undefined_names("运行一下这段代码：\\nimport numpy as np\\nprint(np.mean(data))"), undefined_names("What does this print?\\nprint(y, x)")
    (['data'], ['x', 'y'])
    >>> undefined_names("这个输出啥？ print(total)"), undefined_names("运行一下\\nprint(1)")
    (['total'], [])
    >>> undefined_names("Why does my training run slowly?\\nfor batch in loader:\\n    loss = model(batch)")
    []
    >>> [undefined_names(q) for q in ("演示一下温度T的影响:\\np = softmax(logits / T)", "运行一下\\nprint(1)\\n谢谢", "运行：\\n画心形图(1)",
    ...                                 "运行一下\\nx = np.array([1,2]\\nprint(x)", "What does this code do?\\nprint(x)",
    ...                                 "What is the output of softmax(logits)?")]
    [[], [], [], [], [], []]
    """
    taken = _unrunnable(question)
    if taken is None or not holds_code(taken):
        return []
    names = unread(taken)
    if names and all(name.isascii() for name in names) and self_contained(taken, set(names)) and _program_like(taken):
        return sorted(names)
    return []


def syntax_error(question: str) -> tuple[int, str] | None:
    """Python's report on the code a message brings and asks to run, when every line of it reads as
    code (agent.policy.code_line) and it does not compile: (1, "'(' was never closed"); else None.
    Taken for no code at all, it was answered with the notes' heart-plot demo.

    >>> syntax_error("运行一下\\nx = np.array([1,2]\\nprint(x)"), syntax_error("Run this:\\nfor i in range(3)\\n    print(i)")
    ((1, "'(' was never closed"), (1, "expected ':'"))
    >>> [syntax_error(q) for q in ("运行一下\\nprint(1)", "运行一下\\nprint(1\\n谢谢", "演示一下\\nplot(x", "Why does it fail?\\nprint(1")]
    [None, None, None, None]
    >>> [syntax_error(q) for q in ("Run the sampling code\\nwith temperature = 0.5", "Run it\\nif possible with T=2", "运行一下\\nreturn 结果")]
    [None, None, None]
    """
    taken = _unrunnable(question)
    lines = [line for line in (taken or "").splitlines() if line.strip()]
    if not lines or not all(code_line(line) and _CLEARLY_CODE.match(line) for line in lines):
        return None
    try:
        compile(taken, "<code>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return error.lineno or 1, str(error.msg)[:160]
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


# a line that is code beyond doubt: a name assigned or called, a statement with brackets or its colon, a
# closing bracket, a comment or decorator (not "with temperature = 0.5", "for 10 epochs", "if possible …")
_CLEARLY_CODE = re.compile(r"\s*(?:[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*(?:[-+*/%]?=(?!=)\s*[\w\[({'\"-]|\()"
                           r"|(?:if|elif|else|for|while|with|def|class|try|except|finally|return|import|from|print|lambda"
                           r"|assert|raise|del|yield|async|await)\b[^\u3400-\u9fff]*[(\[:]|[)\]}#@])")


def _asks_to_run(question: str) -> bool:
    """Is a run asked in so many words, of what the message brings: a line (of the first three) opening
    with the request ("运行一下", "Run this:", "请帮我运行"), words asking only for that (agent.policy.PASTED_RUN:
    "跑跑看", "这个会输出啥？"), or a last line asking to run what is above. "Why does my training run slowly?",
    "Can this run out of memory?" ask none (a hostile review's: their code was "not run" for undefined names).

    >>> _asks_to_run("运行一下\\nprint(x)"), _asks_to_run("Why does my training run slowly?\\nfor b in loader: f(b)")
    (True, False)
    """
    lines = [line.strip() for line in question.strip().splitlines()]
    if any(_INLINE_REQUEST.match(line) or PASTED_RUN.search(line) for line in lines[:3]):
        return True
    return len(lines) > 1 and len(lines[-1]) <= 40 and bool(_RUN_ABOVE.fullmatch(lines[-1]) or PASTED_RUN.search(lines[-1]))


def _unrunnable(question: str) -> str | None:
    """The unfenced text a message brings and asks in so many words to run (not a concept's demo) that
    is no whole program: what :func:`undefined_names` and :func:`syntax_error` read; else None."""
    if _DEMO_WORDS.search(question) or extract_code(question) is not None or not _asks_to_run(question):
        return None
    program, taken = _brought(question)
    return taken if program is None and taken else None


def _program_like(code: str) -> bool:
    """Is ``code`` more than an expression of names it never defines: a statement (an import, an
    assignment, a loop) or a call of a builtin ("print(total)")? "What is the output of softmax(logits)?"
    asks about a formula.

    >>> _program_like("print(total)"), _program_like("x = f(1)"), _program_like("softmax(logits)"), _program_like("np.mean(x)")
    (True, True, False, False)
    """
    import builtins

    return states_or_calls(code, lambda name: hasattr(builtins, name))


# words of a follow-up that name nothing to run but the code before: run verbs, "again", pointers back to it,
# politeness (common.text.tokenize's tokens; it drops 吗, 能, can, you, that …)
_ONLY_AGAIN = frozenset(
    "运行 执行 跑 跑一下 跑一遍 重跑 运 行 run rerun re execute exec again once more one time try 试 试试 一下 一遍 一次 下 遍 次 "
    "再 再来 来 重新 又 它 这 那 这个 那个 这段 那段 段 上面 上 面 刚才 刚刚 之前 前面 代码 程序 code snippet program script "
    "cell it the my same 帮 帮我 我 你 请 麻烦 老师 谢谢 多谢 thanks thank please pls plz ok okay 好的 好 嗯 看看 看 结果 "
    "输出 output result 一样 吧 呢 啊 呀 在 现在 now 一 个 running exec 跑跑 跑跑看 原样 就 那就 then just 直接 了 不用 "
    "解释 那帮 怎么样".split())
# asking for a run at all, or again: a follow-up without any of these is a question, not a rerun ("为什么？")
_RUN_OR_AGAIN = re.compile(r"运行|执行|跑|再来|重新|\b(?:run|rerun|re-run|execute|again|once\s+more|try)\b", re.I)
# a run asked for, not only "again" ("Why normalize again with a temperature?" asks for none)
_RUN_VERB = re.compile(r"运行|执行|跑|再来一[次遍下]|再试|试试|\b(?:run|rerun|re-run|execute|try)\b", re.I)
# the words of a change besides its names and values ("set n to 10", "n 设为 20", "T 改成 0.5")
_VALUE_WORDS = frozenset("设 设为 设成 设置 设置为 改为 改到 调为 用 to and then also 然后 并 顺便 顺带 同时 试 试试 再试".split())
# a change asked of the code ("用 T=5 再运行一下它", "把 xs 改成 [5, 4] 再跑", "温度换成 5", "Run it with xs = [9]")
_CHANGE = re.compile(r"=|改|换|调|加一|加上|删|去掉|倒序|逆序|设为|设成|设置|"
                     r"\b(?:with|using|change|set|instead|replace|add|remove|modify|but)\b", re.I)

# what a change says besides the code's own names ("改一下参数再跑", "再运行一下，但是倒序")
_CHANGE_WORDS = frozenset("= 改 改成 改为 换 换成 调 调到 调成 参数 顺序 倒序 逆序 但是 成 到 为 数值 值 一行 加 加上 删 删掉 去掉 "
                          "with change set instead replace add remove modify but".split())


QUESTIONS_BETWEEN = 2  # other messages between the student's code and "运行这段代码" that still point back at it


def earlier_code(question: str, previous: list[str], shown_code: Sequence[Sequence[str]] = ()) -> tuple[str | None, bool]:
    """(the code a follow-up asks to run again, whether it asks for a change to it instead), after the
    student's own code (:func:`question_code` or :func:`kept_code` of their last message with code).
    Follow-ups that were themselves reruns or changes, and small talk, are looked past, and up to
    :data:`QUESTIONS_BETWEEN` other messages ("这段代码是什么意思？" then "为什么不能解释？" then "运行这段代码");
    the search ends at a message whose answer showed other code than the student's (``shown_code[i]``,
    the code blocks of the answer to ``previous[i]``: the notes' demo, which "运行这段代码" then means).

    A rerun asks for a run and names nothing else ("再运行一下它", "能再运行一下吗？", "Run it again plz");
    a change asks for a run with a change word, as a follow-up or naming the code's own names or with 把
    ("用 T=5 再运行一下它", "把温度调到 2 再运行", "try it with xs = [1]"): a value the code sets in one
    place is set when it runs (agent.code_changes), so the code is returned; any other change gets
    (None, True), as it cannot be made for the student. Anything else naming something ("演示一下心形图", "那用 numpy 演示一下
    心形图") is a new demo or question: (None, False). Reruns and changes both ran the notes' heart plot
    (an end-to-end tester's finding). The code of a homework request is never taken (it was not run).

    >>> earlier_code("再运行一下它", ["请运行这段代码：\\n```python\\nprint(sorted([3, 1]))\\n```"])
    ('print(sorted([3, 1]))', False)
    >>> earlier_code("用 T=5 再运行一下它", ["运行：\\n```python\\nT = 1\\nprint(T)\\n```"]), earlier_code("Run it again", ["什么是熵？"])
    (('T = 1\\nprint(T)', False), (None, False))
    >>> earlier_code("用 T=5 再运行", ["运行：\\n```python\\nprint(1)\\n```"]), earlier_code("倒序再运行一下", ["运行：\\n```python\\nprint(1)\\n```"])
    ((None, True), (None, True))
    >>> earlier_code("Run it again", ["```python\\nprint(1)\\n```", "再运行一下它", "用 T=5 再运行一下它"])
    ('print(1)', False)
    >>> earlier_code("演示一下温度采样", ["```python\\nprint(1)\\n```"]), earlier_code("为什么？", ["```python\\nprint(1)\\n```"])
    ((None, False), (None, False))
    >>> earlier_code("把 xs 改成 [5, 4] 再跑", ["```python\\nxs = [3, 1]\\nprint(sorted(xs))\\n```"])
    ('xs = [3, 1]\\nprint(sorted(xs))', False)
    >>> mine = ["这段代码是什么意思？\\n```python\\nprint(1)\\n```", "为什么不能解释？", "什么是熵？"]
    >>> earlier_code("运行这段代码", mine), earlier_code("运行这段代码", mine, [(), (), ("print(2)",)])
    (('print(1)', False), (None, False))
    >>> earlier_code("运行这段代码", mine[:1], [("print(2)",)])  # its answer showed the notes' code instead
    (None, False)
    >>> earlier_code("运行这段代码", mine + ["什么是困惑度？"])  # three questions since: not that code any more
    (None, False)
    >>> earlier_code("Run it again", ["```python\\nprint(1)\\n```", "再运行一下"], [("print(1)",), ("print(1)",)])
    ('print(1)', False)
    """
    if question_code(question) is not None:
        return None, False
    kind = _follow_up_kind(question)
    if kind is None:
        return None, False
    between = 0
    for i in reversed(range(len(previous))):
        earlier = previous[i]
        code = question_code(earlier) or kept_code(earlier)
        shown = shown_code[i] if i < len(shown_code) else ()
        if code is not None and shown and not any(_same(block, code) or _same(block, run_with_values(earlier, code).code)
                                                 for block in shown):
            break  # its answer showed other code (the notes' demo it asked for): "this code" is that one
        if code is not None:
            if is_homework_request(earlier):
                return None, False
            if kind == "rerun":
                return code, False
            values = asked_values(question)  # "用 T=5 再运行", and the code sets T in one place: run, T set
            if values:  # run when one value at least can be set (the others are named in the answer)
                return (code, False) if len(with_values(code, values).unset) < len(values) else (None, True)
            names = {t.lower() for t in re.findall(r"[A-Za-z_]\w*", code)}
            asked = {t.lower() for t in re.findall(r"[A-Za-z_]\w*", question)}
            return None, bool(is_follow_up(question) or "把" in question or names & asked - {"with", "set"}
                              or not _content(question) - _CHANGE_WORDS)
        if _follow_up_kind(earlier) is not None:  # a rerun or change, whose answer ran this same code
            continue
        if shown:  # code was shown since (a notes demo): that is "this code"
            break
        if not small_talk(earlier):  # "谢谢！" in between is looked past
            between += 1
            if between > QUESTIONS_BETWEEN:
                break
    return None, False


def _number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _same(a: str, b: str) -> bool:
    """The same code, whitespace aside?"""
    return "".join(a.split()) == "".join(b.split())


def asks_to_run_again(question: str) -> bool:
    """Does the message, bringing no code of its own, only ask to run again what came before, with or
    without a change ("再运行一下", "用 T=5 再运行", "Run it again with T = 0.5")?

    >>> asks_to_run_again("用 T=5 再运行"), asks_to_run_again("再来一次"), asks_to_run_again("演示一下心形图")
    (True, True, False)
    >>> asks_to_run_again("Why normalize again with a temperature?"), asks_to_run_again("调整后再重新归一化的分布叫什么？")
    (False, False)
    >>> asks_to_run_again("What happens when you run softmax with large logits?"), asks_to_run_again("为什么 T=0 的时候运行会除零？")
    (False, False)
    >>> asks_to_run_again("set n to 10 and run it"), asks_to_run_again("try again with T = 3"), asks_to_run_again("n 设为 20 再跑")
    (True, True, True)
    >>> asks_to_run_again("用 normalize=False 重新跑一下"), asks_to_run_again("again with lr=1e-3"), asks_to_run_again("T = 0.1 呢？")
    (True, True, False)

    What to look at in its output, after the request, asks nothing else:

    >>> asks_to_run_again("好的，那帮我运行一下看看是不是一样的报错"), asks_to_run_again("run it again and see if the error is the same")
    (True, True)
    >>> asks_to_run_again("运行报错了"), asks_to_run_again("看看是不是一样的报错")  # told it failed; no run asked
    (False, False)
    >>> asks_to_run_again("再跑一下看看输出什么"), asks_to_run_again("再运行一下怎么样？"), asks_to_run_again("再跑一次，看看用更大的温度会不会更随机")
    (True, True, False)
    """
    if question_code(question) is not None:
        return False
    kind = _follow_up_kind(question)
    if kind != "change":
        return kind == "rerun" and bool(_RUN_VERB.search(question))
    # a change names values and nothing else ("用 T=5 再运行", "again with lr=1e-3"; not "为什么 T=0 的时候运行会除零？")
    rest = {t for t in _content(without_values(question)) - _CHANGE_WORDS - _VALUE_WORDS if not _number(t)}
    return bool(asked_values(question) or not_literal(question)) and not rest


def remembered_values(question: str, previous: Sequence[str]) -> dict[str, str]:
    """The values the reruns and changes just before a rerun asked for, later ones first in weight: "用 T=5
    再运行" then "再运行一下" samples again at T=5 (it ran T = 1.0 again: a reviewer's and an instructor's
    expectation). A message that is no rerun remembers nothing.

    >>> remembered_values("再运行一下", ["演示一下温度采样", "用 T=5 再运行", "用 n=3 再运行"]), remembered_values("再运行一下", ["用 T=5 再运行", "什么是熵？"])
    ({'T': '5', 'n': '3'}, {})
    """
    if not asks_to_run_again(question):
        return {}
    values: dict[str, str] = {}
    for earlier in rerun_trail(previous)[0]:  # oldest first: a later value of the same name wins
        values.update(asked_values(earlier))
    return values


def rerun_trail(previous: Sequence[str]) -> tuple[list[str], str | None]:
    """(the reruns and changes that end ``previous``, oldest first; the message before them, the demo or
    question they rerun, None when there is none).

    >>> rerun_trail(["什么是熵？", "演示一下温度采样", "用 T=5 再运行", "再运行一下"])
    (['用 T=5 再运行', '再运行一下'], '演示一下温度采样')
    """
    trail: list[str] = []
    for earlier in reversed(previous):
        if not asks_to_run_again(earlier):
            return trail[::-1], earlier
        trail.append(earlier)
    return trail[::-1], None


def run_with_values(question: str, code: str, previous: Sequence[str] = ()) -> Change:
    """What a demo request runs: ``code`` with the values the request's own words ask for set where the
    code binds them in one place (agent.code_changes), the names it cannot set in ``unset``; a rerun
    keeps the values the changes just before it asked for (:func:`remembered_values`; those the code
    cannot take are dropped unsaid, they were said when asked). The request's pasted code is no request
    ("Run this: T = 1" under a run request's line), nor is text that is part of the code.

    >>> run_with_values("用 T=5 再运行", "T = 1\\nprint(T)")
    Change(code='T = 5\\nprint(T)', changes=(('T', '1', '5'),), unset=(), not_literal=())
    >>> run_with_values("run this with T=2\\n```python\\nT = 1\\nprint(T)\\n```", "T = 1\\nprint(T)").code
    'T = 2\\nprint(T)'
    >>> run_with_values("用 n=3 再运行", "print(1)"), run_with_values("Run this: T = 1\\nT = T * 2\\nprint(T)", "T = 1\\nT = T * 2\\nprint(T)")
    (Change(code='print(1)', changes=(), unset=('n',), not_literal=()), Change(code='T = 1\\nT = T * 2\\nprint(T)', changes=(), unset=(), not_literal=()))
    >>> run_with_values("用 T=math.pi 再运行", "T = 1\\nprint(T)").not_literal
    ('T',)
    >>> run_with_values("再运行一下", "T = 1\\nprint(T)", ["用 T=5 再运行", "用 n=3 再运行"])  # n: said before
    Change(code='T = 5\\nprint(T)', changes=(('T', '1', '5'),), unset=(), not_literal=())
    """
    own = question_code(question) is not None  # "T=5 再运行一次" alone is a request, not a line of code
    words = without_pasted_code(question) if own else question
    values = asked_values(words)
    if own:  # what the code itself says ("运行：T = 1" with the code's first line on the request's)
        squashed = "".join(code.split())
        values = {name: value for name, value in values.items() if f"{name}={''.join(value.split())}" not in squashed}
    remembered = {name: value for name, value in remembered_values(question, previous).items() if name not in values}
    change = with_values(code, {**remembered, **values}) or Change(code, (), ())
    change = replace(change, unset=tuple(name for name in change.unset if name not in remembered))
    if not own and _follow_up_kind(question) == "change":  # "用 T=math.pi 再运行": said, not silently run as it was
        return replace(change, not_literal=tuple(not_literal(words)))
    return change


def kept_code(message: str) -> str | None:
    """The code of a message that brought code of its own and was answered without running it (it asked
    not to, or asked what the code means): its fenced block, or the whole program pasted below its first
    line or above its last. Asked to run it next ("运行这段代码", as that answer says), the student's code
    runs; it had been taken for a new demo and the notes' heart plot ran.

    >>> kept_code("这段代码是什么意思？\\nx = [1, 2]\\nprint(sum(x))"), kept_code("x = 1\\nprint(x)\\n别运行，这是什么意思？")
    ('x = [1, 2]\\nprint(sum(x))', 'x = 1\\nprint(x)')
    >>> kept_code("运行：\\nprint(1)"), kept_code("什么是熵？")  # run (question_code's), or no code
    (None, None)
    """
    if not (keep_code_unrun(message) or explains_own_code(message)):
        return None
    fenced = extract_code(message)
    if fenced is not None:
        return repl_program(fenced) or fenced
    lines = message.strip().splitlines()
    for part in (lines[1:], lines[:-1]):
        program = _whole_program("\n".join(part))[1] if part else None
        if program is not None:
            return program
    return None


def _content(question: str) -> set[str]:
    """The words of a follow-up that name something besides a run of the code before it."""
    return {t for t in tokenize(question) if t.lower() not in _ONLY_AGAIN and not t.isdigit()}


def _follow_up_kind(question: str) -> str | None:
    """"rerun", "change" or None (not asking for a run, or naming something new) of a message without
    code of its own."""
    if not _RUN_OR_AGAIN.search(question) or len(question) > 120:
        return None
    if _CHANGE.search(question):
        return "change"
    return "rerun" if not _content(_without_check(question)) else None


def _without_check(question: str) -> str:
    """``question`` without a clause after the request that only says what to look at in the output
    ("看看是不是一样的报错", "and see if the error is the same"); one naming anything else ("看看用更大的温度会不会
    更随机" asks for a change) stays.

    >>> _without_check("再跑一次，看看结果是不是一样"), _without_check("再跑一次，看看用更大的温度会不会更随机")
    ('再跑一次', '再跑一次，看看用更大的温度会不会更随机')
    """
    clause = _CHECK_CLAUSE.search(question)
    if clause is None or _content(clause.group(0)) - _CHECK_WORDS:
        return question
    return question[:clause.start()]


# what a rerun is to show, after its request ("再跑一次，看看结果是不是一样", "帮我运行一下看看是不是一样的报错", "run it
# again and see if the error is the same"): what to look at in the output, nothing to run besides
# what such a clause may name besides _ONLY_AGAIN's words (common.text.tokenize's tokens)
_CHECK_WORDS = frozenset("是不是 不是 是否 会不会 不会 有没有 没有 还是 还会 一样 不一样 变 变化 怎么样 怎样 报错 错 错误 "
                         "同样 相同 不同 什么 啥 error errors same different if whether what happens see".split())
_CHECK_CLAUSE = re.compile(r"(?:[，,]\s*)?(?:看看|看一下|看下|瞧瞧|\b(?:and|to)\s+see\b|,\s*see\b)"
                           r"[^，,。！？!?]{0,12}?(?:是不是|是否|会不会|有没有|还是|还会|又|一样|变|怎么?样|\bif\b|\bwhether\b|\bwhat\s+happens\b).*$",
                           re.I | re.S)


def _whole_program(pasted: str) -> tuple[bool, str | None]:
    """(is ``pasted`` a copied session, the whole program it is or holds, else None): lines pasted below or
    above a request, dedented; a session's program (:func:`repl_program`) may read ``_``, the result shown last."""
    text = textwrap.dedent(pasted).strip("\n")
    program = repl_program(text)
    if program is not None:
        return True, program if self_contained(program, {"_"}) else None
    return False, text if self_contained(text) else None


# a line opening with a request to run what follows it: "帮我运行一下这段代码：", "Run this code:", "Please run".
# Each optional part brings its own spaces, so no run of spaces can be split two ways (a review: a
# pattern of optional parts between "\s*"s took 31 s on 200 spaces)
_INLINE_REQUEST = re.compile(
    r"(?:请帮我|请|麻烦|帮我|帮忙)?(?:运行|执行|跑)(?:一下|一遍|下(?!面))?(?:这段|这个|这行|下面的?|以下的?|如下的?)?(?:代码|程序)?(?:\s*[:：])?"
    r"|(?:please\s+)?(?:run|execute)\b(?:\s+(?:this|the following|the)\b)?(?:\s+(?:code|lines?|snippet|program)\b)?"
    r"(?:\s+(?:for me|please)\b)?(?:\s*[:：])?", re.I)
# a last line that only asks to run the lines above it ("运行一下这段代码", "请运行上面的代码。", "Run it, please"),
# matched whole (at most 40 characters)
_RUN_ABOVE = re.compile(
    r"(?:请帮我|请|麻烦|帮我|老师)?(?:运行|执行|跑)(?:一下|一遍|下)?(?:这段|这个|上面的?|以上的?)?(?:代码|程序)?(?:吧|看看|试试)?[。.!！~]*"
    r"|(?:please\s+)?(?:run|execute)(?:\s+(?:this|it|that|the above|the code above|this code|the code))?"
    r"(?:(?:,\s*|\s+)(?:for me|please|pls|plz))?[.!]*", re.I)




def repl_program(text: str) -> str | None:
    """The program in a copied interactive session (a REPL transcript: its first line starts ">>>"): the
    prompts and the printed results left out, and each expression whose value the REPL showed passed
    to ``sys.displayhook``, which shows it as the REPL did (not None; ``_`` set). A transcript that shows
    no results at all was typed, not copied: all its expressions are shown. None for anything else, and
    for what is not only a transcript, since its program would not be what ran: text after a blank
    line, a "result" that is a statement ("print(x)", "x = 1"), a prompt holding two statements on two
    lines (a result read as "... " lines), an error before the last prompt (the REPL goes on after it; a
    program stops), a tab (the standard parser, :mod:`doctest`'s, turns it to spaces, in strings too),
    prompts that parser does not read.

    >>> print(repl_program(">>> import math\\n>>> math.log2(8)\\n3.0\\n>>> xs = [2, 1]\\n>>> xs.sort()\\n>>> print(xs)\\n[1, 2]"))
    import math
    __import__("sys").displayhook(math.log2(8))
    xs = [2, 1]
    xs.sort()
    print(xs)
    >>> print(repl_program(">>> for i in range(2):\\n...     i  # shown\\n...\\n0\\n1\\n>>> a, b = 1, 2; a, b\\n(1, 2)"))
    for i in range(2):
        __import__("sys").displayhook(i)  # shown
    a, b = 1, 2; __import__("sys").displayhook((a, b))
    >>> [repl_program(t) for t in (">>> import math\\nprint(math.pi)", ">>> x = 1\\n\\nprint(x)", ">>> 1/0\\nTraceback (most recent call last):\\nZeroDivisionError\\n>>> 2",
    ...                            ">>> for i in range(2): print('...', i)\\n...\\n... 0\\n... 1", "print(1)", ">>>print(1)", ">>> ")]
    [None, None, None, None, None, None, None]
    """
    import doctest

    text = text.replace("\r\n", "\n")
    if not text.lstrip().startswith(">>>") or "\t" in text:
        return None
    try:
        parts = doctest.DocTestParser().parse(textwrap.dedent(text))
    except ValueError:  # a prompt without its space, continuation lines out of line
        return None
    examples = [p for p in parts if isinstance(p, doctest.Example)]
    if (not examples or any(isinstance(p, str) and p.strip() for p in parts)
            or any(_ERROR_SHOWN.search(e.want) for e in examples[:-1])
            or any(_statement_like(e.want) for e in examples)):
        return None
    typed = not any(e.want for e in examples)
    statements = [_shown(e.source.rstrip("\n"), typed or bool(e.want)) for e in examples]
    if any(s is None for s in statements):
        return None
    return "\n".join(statements).strip("\n") or None


# the REPL printed an error there ("  File "<stdin>", line 1" opens a SyntaxError's report)
_ERROR_SHOWN = re.compile(r'^(?:Traceback \(most recent call last\):|\s*File "<stdin>")', re.M)


def _statement_like(result: str) -> bool:
    """Is a transcript's "result" code: a statement, or a print call, alone or on one of its lines?"""
    import ast

    for chunk in [result, *result.splitlines()]:
        try:
            body = ast.parse(textwrap.dedent(chunk)).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if any(not isinstance(node, ast.Expr) or _prints(node.value) for node in body):
            return True
    return False


def _prints(node) -> bool:
    import ast

    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"


def _shown(source: str, shown: bool) -> str | None:
    """One REPL statement, as a program: when the REPL showed a result, each expression statement it
    ran at the prompt's level (in a loop's body too, not in a function's) passed to sys.displayhook, as
    the REPL does (through ``__import__``: a name ``sys`` of the session's own stays its own); print
    calls as they are (their value is None). None when it is no one statement (statements starting on
    two lines: the REPL runs one at a prompt)."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source  # run as it is: its error is the demo's to show
    if len({node.lineno for node in tree.body}) > 1:
        return None
    if not shown:
        return source
    targets: list[ast.expr] = []

    def visit(node) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, ast.Expr) and not _prints(node.value):
            targets.append(node.value)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                visit(child)

    visit(tree)
    lines = source.split("\n")  # as the parser counts lines (not splitlines: "\u2028" is no line break to it)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        line = lines[lineno - 1]
        return starts[lineno - 1] + (col if line.isascii() else len(line.encode()[:col].decode(errors="ignore")))

    pieces, done = [], 0
    for node in sorted(targets, key=lambda n: (n.lineno, n.col_offset)):
        a, b = offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)
        # a tuple is one value: "a, b" and "1," are written as the parser reads them, "(a, b)" and "(1,)"
        expression = ast.unparse(node) if isinstance(node, ast.Tuple) else source[a:b]
        pieces += [source[done:a], f'__import__("sys").displayhook({expression})']
        done = b
    return "".join(pieces) + source[done:]
