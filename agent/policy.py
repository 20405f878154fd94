"""Deterministic decisions: which tool a question needs, homework requests, follow-up rewriting.

>>> route("请运行这段代码 ```print(1)```"), route("第3周读什么？"), route("什么是熵？")
('run_python', 'list_readings', 'search_course')
>>> route("画心形图的代码是怎么写的？"), route("How is the heart-plot code written?"), route("运行画心形图的代码")
('show_code', 'show_code', 'run_python')
>>> is_homework_request("Write my Build Your Own LLaMa homework for me")
True
>>> standalone_query("那1951年呢？", ["香农在1948年提出了什么？"])
'香农在1948年提出了什么？ 那1951年呢？'
>>> small_talk("Hi there!"), small_talk("谢谢！"), small_talk("Hi, what is entropy?"), small_talk("okay?")
('greeting', 'thanks', None, None)
"""

from __future__ import annotations

import re
import textwrap

from common.text import tokenize

# a copied interactive session is fenced ```pycon (agent.policy.repl_program reads it)
CODE_BLOCK = re.compile(r"```(?:pycon|python3|python|py)?\s*\n?(.*?)```", re.S | re.I)
# "training run" is no request to run anything; 刻画 characterises, 画像 / 漫画 / 动画 / 笔画 are nouns
_CODE_WORDS = re.compile(r"\b(?<!training )(run|execute|plot|draw|demo|simulate)\b|运行|执行|(?<![刻描漫动笔])画(?!像)|演示|绘制|跑一下|跑一遍",
                         re.I)
_RUN_WORDS = re.compile(r"\b(run|execute|demo|demonstrate|simulate)\b|运行|执行|演示|跑一下|跑一遍", re.I)
_SHOW_CODE = re.compile(
    r"\b(how\s+is|how\s+was|how\s+do\s+(i|you|we)\s+write|show\s+(me\s+)?the|what\s+does)\b.{0,60}\bcode\b"
    r"|\bcode\b.{0,60}\b(written|look\s+like|look)\b|代码.{0,10}(怎么|如何|是什么|长什么样|怎样)|(怎么|如何|怎样)写.{0,10}代码"
    r"|(给我看|展示|显示).{0,10}代码",
    re.I,
)
_READING_WORDS = re.compile(
    r"\b(read|reading|readings|papers?|syllabus|schedule|week\s*\d+)\b|阅读|读什么|读哪些|论文|课程大纲|课程安排|日历|第\s*\d+\s*周|第[一二三四五六七八九十]+周",
    re.I,
)
_HOMEWORK = [  # asking the assistant for the work itself (the verb's doer is checked: _STUDENT_DOES)
    re.compile(r"\b(write|do|solve|finish|complete|implement|code)\b.{0,40}\b(my|our)\b.{0,40}\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"^\W*(please\s+|pls\s+|(can|could|would|will)\s+you\s+(please\s+)?)?(write|do|solve|finish|complete|implement|code)\b.{0,60}\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"\b(solutions?|answers?|full code)\b.{0,40}\b(homework|assignment|hw\s*\d)\b", re.I),
    # 解 solves (解题, 解一下, 求解); 解释 / 解读 / 解析 / 理解 / 了解 / 讲解 / 详解 explain: no request for the work
    re.compile(r"(帮我|替我|给我|直接|帮忙).{0,20}(写|做|完成|实现|给出|(?<![理了讲详图注见误])解(?![释读析说]))"
               r".{0,20}(作业|大作业|代码)"),
    re.compile(r"作业\s*\d*.{0,20}(答案|完整实现|解答|完整代码|代码)\s*(是什么|是啥|呢|吧)?\s*[？?!！。]?\s*$"),
    re.compile(r"(求|发我|告诉我|提供).{0,10}作业\s*\d*.{0,20}(答案|代码|完整实现|解答)"),
    re.compile(r"\b(write|implement|give me|solve)\b.{0,40}build your own (llama|lima)", re.I),
    # a fourth review's phrasings, each a request for the work as a whole message or with a request verb
    # (a review of them: "When are the hw2 solutions released?", 把作业2做完需要多久？ are questions)
    re.compile(r"^\W*(hw\s*\d|homework\s*\d+|assignment\s*\d+)\s+(solutions?|answers?|full code)(\s+(pls|please|plz))?\W*$",
               re.I),
    re.compile(r"\b(i need|i want|give me|send me|share|post|provide|(can|could) you (give|send|share|post|provide))\b"
               r"(\s+\w+)?\s+(the\s+)?(finished|completed?|full|working|entire)\s+(code|solution|implementation)\b.{0,30}"
               r"\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"\b(complete|full|entire|working)\b.{0,40}\bimplementation\b.{0,60}\b(homework|assignment|hw)\s*\d*\s+"
               r"(asks for|requires|wants)\b", re.I),
    re.compile(r"(^\W*|帮我|替我|给我|请你|麻烦你|你)把.{0,6}(作业|大作业)\s*\d*.{0,10}(做|写|完成|实现)(了|掉|完|出来|好)"
               r"\s*(吧|呀|啊|呗)?\s*[。！!？?]?\s*$"),
    re.compile(r"你(来|帮我|替我)(写|做|完成|实现).{0,10}(作业|代码)\s*\d*\s*(吧|呀|啊|呗)?\s*[。！!？?]?\s*$"),
    re.compile(r"(作业|大作业).{0,10}(完整代码|完整实现|答案|解答).{0,10}(发一下|发给我(?!们)|发我(?!们)|给我(?!们)|提供一下|分享一下)"),
]
# "can I do the project on my own?", "what do we implement in the first homework?": the student is the
# doer, asking about the assignment, not asking for it to be done
_STUDENT_DOES = re.compile(
    r"\b((i|we)(\s+(can|could|should|may|must|will|need\s+to|have\s+to|are\s+to|am\s+to|get\s+to))?"
    r"|(can|could|should|may|must|do|did|will|shall|would|am|are)\s+(i|we))\s+(\w+\s+)?$", re.I)
# 它 / 他 / 她 as pronouns: not inside 其他 (other), 吉他 (guitar), 利他, 他人 (others)
_PRONOUN_ZH = r"(?<!其)它|(?<![其吉利])[他她](?!人)"
_FOLLOW_UP = re.compile(
    rf"^\s*(那|那么|还有|然后|and\b|what about\b|how about\b|and what\b|and who\b|and how\b|why\b.{{0,10}}\b(it|that|this)\b)|呢[？?]?\s*$|{_PRONOUN_ZH}|\b(it|that|they|he|him|his|she|her|this one)\b",
    re.I,
)

# the whole message is a greeting or thanks (a question after "hi," is a question): no search, no model
_GREETING = re.compile(
    r"^\W*(hi+|hello+|hey+|hiya|yo|greetings|good\s+(morning|afternoon|evening|day)|"
    r"你好+|您好|嗨+|哈+喽|哈啰|嘿|早上好|上午好|下午好|晚上好|早安|晚安|在吗|在不在)"
    r"(\s*(there|all|everyone|everybody|courseta|bot|老师|助教|呀|啊|哇|哈|呢))?[\W_]*$", re.I)
_THANKS = re.compile(
    r"^\W*(thanks?(\s+(you|a\s+lot|so\s+much))?|thank\s+you(\s+(so|very)\s+much)?|thx|ty|cheers|"
    r"谢谢+|多谢|感谢|谢啦|谢了|辛苦了|好的|明白了|懂了|ok(ay)?|got\s+it)"
    r"(\s*(courseta|你|您|老师|助教|呀|啊|哈|啦|!|！))*[\W_]*$", re.I)


def small_talk(question: str) -> str | None:
    """``"greeting"`` or ``"thanks"`` when the whole message is one (a phrase of prompts/agent.yaml
    answers it: nothing in the notes is about "hi"), else None."""
    if _GREETING.match(question):
        return "greeting"
    if _THANKS.match(question) and not question.rstrip().endswith(("?", "？")):  # "okay?" is a question
        return "thanks"
    return None


def route(question: str) -> str:
    """The tool for a course question: run_python, show_code (how is the code written: shown with its
    citation, not run), list_readings or search_course."""
    if _SHOW_CODE.search(question) and not _RUN_WORDS.search(question) and not CODE_BLOCK.search(question):
        return "show_code"
    if CODE_BLOCK.search(question) or _CODE_WORDS.search(question):
        return "run_python"
    if _READING_WORDS.search(question):
        return "list_readings"
    return "search_course"


def is_homework_request(question: str) -> bool:
    """Does the question ask for an assignment's solution (not about the assignment)?

    >>> is_homework_request("Can you solve hw2 for me?"), is_homework_request("帮我写作业3的代码")
    (True, True)
    >>> is_homework_request("Can I do the quarter-long project on my own?")
    False
    >>> is_homework_request("What do we implement in the first homework?"), is_homework_request("作业2的代码怎么提交？")
    (False, False)
    """
    for pattern in _HOMEWORK:
        for match in pattern.finditer(question):
            before = question[:match.start()]
            if not _STUDENT_DOES.search(before) and not _EXPLAIN.search(before):
                return True
    return False


# asked to explain what comes after ("帮我理解作业2的代码"): about the assignment, not for its solution
_EXPLAIN = re.compile(r"解释|理解|讲解|详解|解读|看懂|读懂|了解")


def extract_code(text: str) -> str | None:
    """The first fenced code block of ``text`` (a passage's, or a question's: :func:`question_code`)."""
    match = CODE_BLOCK.search(text)
    return match.group(1).strip() if match else None


# a request to run code pasted below it: _RUN_WORDS (route's) but 运行时 / 执行时 ("at run time": "运行时报错了"
# is asked of code, not for a run) and demonstrate / simulate (a demo of a concept, not of the lines below)
_RUN_REQUEST = re.compile(r"\b(run|execute|demo)\b|运行(?!时)|执行(?!时)|演示|跑一下|跑一遍", re.I)


def question_code(question: str) -> str | None:
    """The code a question brings to run: a fenced block; else, under a line asking to run it (one of
    the first three: after a greeting), all the lines below it, dedented, when they are a whole program
    (:func:`_self_contained`); failing that, when that line opens with the request, all the rest of it
    with those lines; or all the lines above a last line that only asks to run them. Pasted without a
    fence, a student's code was taken for prose, and the notes' heart plot shown instead.

    >>> question_code("运行一下这段代码：\\nimport math\\nprint(math.log2(8))"), question_code("```python\\nprint(2)\\n```")
    ('import math\\nprint(math.log2(8))', 'print(2)')
    >>> question_code("老师好，\\n请帮我跑一下这段代码：\\n    x = 2\\n    print(x)")
    'x = 2\\nprint(x)'

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
    code = extract_code(question)
    if code is not None:
        return repl_program(code) or code
    lines = question.strip().splitlines()
    asks = next((i for i, line in enumerate(lines[:3]) if _RUN_REQUEST.search(line)), None)  # after a greeting
    if asks is not None:
        # code on a line that opens by asking to run it ("运行 print(2**10)", "帮我运行一下：import math; print(…)",
        # "Run this: import math") starts there: all the rest of that line with every line below, taken
        # whole, or nothing (the lines below alone dropped what it held: a review), and none above it
        line = lines[asks].strip()
        request = _INLINE_REQUEST.match(line)
        on_line = line[request.end():].strip() if request else ""
        if _holds_code(on_line):
            candidate = (on_line + "\n" + "\n".join(lines[asks + 1:])).strip("\n")
            if _holds_code("\n".join(lines[:asks])) or not _self_contained(candidate) or _annotation_only(candidate):
                return None
            return candidate
        rest = textwrap.dedent("\n".join(lines[asks + 1:])).strip("\n")
        program = repl_program(rest)
        if program is not None:
            return program if _self_contained(program, {"_"}) else None  # "_": the result shown last
        if _self_contained(rest):  # (no lines: nothing called, not a program)
            return rest
    last = lines[-1].strip() if len(lines) > 1 else ""
    if len(last) <= 40 and _RUN_ABOVE.fullmatch(last):  # a last line that only asks to run what is above
        above = textwrap.dedent("\n".join(lines[:-1])).strip("\n")
        program = repl_program(above)
        if program is not None:
            return program if _self_contained(program, {"_"}) else None
        return above if _self_contained(above) else None
    return None


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
    r"(?:(?:,\s*|\s+)(?:for me|please))?[.!]*", re.I)


def _holds_code(text: str) -> bool:
    """Is ``text`` code: it parses, and does more than name something ("it", "test.py": a word after a
    run request)? It calls something, or is a statement (an assignment, an import, a loop).

    >>> [_holds_code(t) for t in ("print(1)", "x = 1", "import math", "it", "test.py", "，谢谢", "Hello there", "")]
    [True, True, True, False, False, False, False, False]
    """
    import ast

    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(not isinstance(node, ast.Expr) or any(isinstance(n, ast.Call) for n in ast.walk(node)) for node in body)


def _annotation_only(code: str) -> bool:
    """Does the program hold an annotation without a value ("this: print(1)": Python reads words before a
    colon as one, so prose would run as code)?"""
    import ast

    return any(isinstance(node, ast.AnnAssign) and node.value is None for node in ast.walk(ast.parse(code)))


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


def _self_contained(code: str, given: set[str] = frozenset()) -> bool:
    """A whole program: it compiles, calls something, its names are ASCII (a Chinese word is an
    identifier too: "画心形图(1)") and every name it reads is a builtin or one it defines or imports
    ("p = softmax(logits / T)" is a formula); ``given``: names the program may read without defining them."""
    import ast
    import builtins

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    defined = set(dir(builtins)) | set(given)
    read: set[str] = set()
    called = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
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
    return called and read <= defined and all(name.isascii() for name in read | defined)


def is_follow_up(question: str) -> bool:
    return len(question) <= 60 and bool(_FOLLOW_UP.search(question))


def standalone_query(question: str, previous_questions: list[str]) -> str:
    """A follow-up ("那1951年呢？", "and who teaches it?") joined to the question it follows."""
    if previous_questions and is_follow_up(question):
        return f"{previous_questions[-1]} {question}"
    return question


# a word pointing back at what was asked before: "it", "这个", "其缺点", "该模型" (not 这周末 "this
# weekend", 我该 / 应该 "should", 其实 "actually", 其他 "other")
_POINTS_BACK = re.compile(
    rf"\b(it|its|that|this|these|those|they|them|their|he|him|his|she|her|former|latter|above)\b|{_PRONOUN_ZH}"
    r"|(?<![尤极与])其(?![实他它中次余])|这(?!个?(?:周|星期|礼拜|月|学期|天|年))|那(?:个|些|种|样)(?!周|星期|天)|此"
    r"|(?<![应我你们他她])该(?![去怎如做不])|上述|前者|后者", re.I)


def has_own_topic(question: str, previous_questions: list[str]) -> bool:
    """Is the question a follow-up that names a topic of its own: no word pointing back, and two
    words or more (not numbers) the question it follows does not hold? The scope guard judges
    such a question alone too (the previous question's words do not make "the World Cup" a course
    topic); it is still answered from the search for both.

    >>> has_own_topic("And who won the 2018 World Cup?", ["What is perplexity?"])
    True
    >>> has_own_topic("那食堂几点开门呢？", ["CS2916 的作业有哪些？"]), has_own_topic("那1951年呢？", ["香农在1948年提出了什么？"])
    (True, False)
    >>> has_own_topic("How does it differ from fine-tuning?", ["What is in-context learning?"])
    False
    """
    if not previous_questions or not is_follow_up(question) or _POINTS_BACK.search(question):
        return False
    before = set(tokenize(previous_questions[-1]))
    own = [t for t in dict.fromkeys(tokenize(question)) if t not in before and not t.replace(".", "").isdigit()]
    return len(own) >= 2


def runnable_code_in(text: str) -> str | None:
    """A code block inside a passage that compiles and looks whole (slides add lines like
    'python Copy code' on top; PDF extraction wraps long lines, which are joined back).

    >>> runnable_code_in("python Copy code\\n```python\\nCopy code\\nprint(1)\\n```")
    'print(1)'
    """
    code, state = code_in(text)
    return code if state in ("ok", "repaired") else None


def code_in(text: str) -> tuple[str | None, str]:
    """The code block of a passage and its state: ok, repaired (wrapped lines joined), incomplete
    (does not compile, or an expression stops at a bare module name such as ``- np``: the line was
    cut), or none.

    >>> code_in("```python\\nimport numpy as np\\ny = 2 * np.cos(1) - np\\n.sin(2)\\nprint(y)\\n```")
    ('import numpy as np\\ny = 2 * np.cos(1) - np.sin(2)\\nprint(y)', 'repaired')
    >>> code_in("```python\\nimport numpy as np\\ny = 2 * np.cos(1) - np\\nprint(y)\\n```")[1]
    'incomplete'

    A fenced example sentence is no code, though it compiles (a bare string: the notes' Shannon game):

    >>> code_in('```\\n"the mouse ate my ho_"\\n```')
    (None, 'none')
    """
    code = extract_code(text)
    if code is None or _only_literals(code):
        return None, "none"
    lines = [line.rstrip() for line in code.splitlines()]
    first = None
    for start in range(min(4, len(lines))):  # skip 'Copy code' and similar lines above the code
        if start and _CODE_LINE.match(lines[start - 1]):
            break  # never drop a line of code to make the rest compile
        body = lines[start:]
        if _whole("\n".join(body)):
            return "\n".join(body).strip(), "ok"
        repaired = _join_wrapped(body)
        if repaired is not None:
            return repaired.strip(), "repaired"
        if first is None and _compiles("\n".join(body)):
            first = "\n".join(body).strip()
    if first is None and not any(_CODE_LINE.match(line) for line in lines):
        return None, "none"  # prose in a fence (a model's "Input: … Output: …" example), not code
    return (first or "\n".join(lines).strip()), "incomplete"


_CODE_LINE = re.compile(r"\s*(import|from|def|class|for|while|if|with|print)\b|.*=")


def _only_literals(code: str) -> bool:
    """Is ``code`` nothing but literal values ("the mouse ate my ho_", 42): a quoted example, which
    running would show nothing of?"""
    import ast

    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        return False
    return bool(body) and all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def _compiles(code: str) -> bool:
    try:
        compile(code, "<passage>", "exec")
        return True
    except (SyntaxError, ValueError):
        return False


def _whole(code: str) -> bool:
    """Compiles, and no arithmetic stops at a bare imported module (``... - np``: a cut line)."""
    import ast

    if not _compiles(code):
        return False
    tree = ast.parse(code)
    modules = {alias.asname or alias.name.split(".")[0]
               for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            for side in (node.left, node.right):
                if isinstance(side, ast.Name) and side.id in modules:
                    return False
    return True


def _join_wrapped(lines: list[str], max_joins: int = 3) -> str | None:
    """Join lines that a PDF wrapped (a line continued on the next) until the code is whole."""
    for _ in range(max_joins):
        for i in range(len(lines) - 1):
            nxt = lines[i + 1].lstrip()
            if not nxt:
                continue
            glue = "" if nxt[0] in ".,)]}" or lines[i].endswith(("(", "[", "{", ".")) else " "
            candidate = lines[:i] + [lines[i] + glue + nxt] + lines[i + 2:]
            if _whole("\n".join(candidate)):
                return "\n".join(candidate)
        break
    return None
