"""Deterministic decisions: which tool a question needs, homework requests, follow-up rewriting.

>>> route("请运行这段代码 ```print(1)```"), route("第3周读什么？"), route("什么是熵？")
('run_python', 'list_readings', 'search_course')
>>> is_homework_request("Write my Build Your Own LLaMa homework for me")
True
>>> standalone_query("那1951年呢？", ["香农在1948年提出了什么？"])
'香农在1948年提出了什么？ 那1951年呢？'
"""

from __future__ import annotations

import re

CODE_BLOCK = re.compile(r"```(?:python|py)?\s*\n?(.*?)```", re.S | re.I)
_CODE_WORDS = re.compile(r"\b(run|execute|plot|draw|demo|simulate)\b|运行|执行|画|演示|绘制", re.I)
_READING_WORDS = re.compile(
    r"\b(read|reading|readings|papers?|syllabus|schedule|week\s*\d+)\b|阅读|读什么|读哪些|论文|课程大纲|课程安排|日历|第\s*\d+\s*周|第[一二三四五六七八九十]+周",
    re.I,
)
_HOMEWORK = [
    re.compile(r"\b(write|do|solve|finish|complete|implement|code)\b.{0,40}\b(my|the|our)\b.{0,40}\b(homework|assignment|hw\s*\d|project)\b", re.I),
    re.compile(r"\b(solution|answers?|full code)\b.{0,40}\b(homework|assignment|hw\s*\d)\b", re.I),
    re.compile(r"(帮我|替我|给我|直接).{0,20}(写|做|完成|实现|给出).{0,20}(作业|大作业|代码)"),
    re.compile(r"作业\s*\d?.{0,20}(答案|代码|完整实现|解答)"),
    re.compile(r"\b(write|implement|give me|solve)\b.{0,40}build your own (llama|lima)", re.I),
]
_FOLLOW_UP = re.compile(
    r"^\s*(那|那么|还有|然后|and\b|what about\b|how about\b|and what\b|and who\b|and how\b|why\b.{0,10}\b(it|that|this)\b)|呢[？?]?\s*$|\b(it|that|they|he|she|this one)\b",
    re.I,
)


def route(question: str) -> str:
    """The tool for a course question: run_python, list_readings or search_course."""
    if CODE_BLOCK.search(question) or _CODE_WORDS.search(question):
        return "run_python"
    if _READING_WORDS.search(question):
        return "list_readings"
    return "search_course"


def is_homework_request(question: str) -> bool:
    return any(p.search(question) for p in _HOMEWORK)


def extract_code(text: str) -> str | None:
    match = CODE_BLOCK.search(text)
    return match.group(1).strip() if match else None


def is_follow_up(question: str) -> bool:
    return len(question) <= 60 and bool(_FOLLOW_UP.search(question))


def standalone_query(question: str, previous_questions: list[str]) -> str:
    """A follow-up ("那1951年呢？", "and who teaches it?") joined to the question it follows."""
    if previous_questions and is_follow_up(question):
        return f"{previous_questions[-1]} {question}"
    return question


def runnable_code_in(text: str) -> str | None:
    """A code block inside a passage that compiles (slides add lines like 'python Copy code' on top).

    >>> runnable_code_in("python Copy code\\n```python\\nCopy code\\nprint(1)\\n```")
    'print(1)'
    """
    code = extract_code(text)
    if code is None:
        return None
    lines = [line.rstrip() for line in code.splitlines()]
    for start in range(min(4, len(lines))):
        candidate = "\n".join(lines[start:]).strip()
        try:
            compile(candidate, "<passage>", "exec")
            return candidate
        except SyntaxError:
            continue
    return None
