"""A course schedule's rows, and the question one of them answers for the scope guard.

The SJTU slides' schedule is an English table ("9\t2024/04/18\tReward Model and RLHF\t-\tPengfei
Liu"), and students ask it in Chinese with a word or two of English: "RLHF那节lecture是哪天上？",
"hw4的DDL是几号？". The scope guard declined both with the schedule first among the passages: of
their words only RLHF / hw4 is the row's (jieba reads 哪天上 as 哪 + 天上), a quarter or a third
of them, and the row's BM25 score is low (a row is a few words of a long table).

So a question about the timetable (a lecture, class, week, homework or deadline) that asks when or who,
or names a day, *names* a row of a schedule among its top three passages when the row holds all of its
rarer words (held by at most :data:`RARE_DOCS` passages of the notes: RLHF, hw4, Prompting) and every
English word it has besides words asking when or who (:func:`named_rows`). Then the scope guard counts
its words as shared (agent/relevance.py ``decide``), and the answer is that row, quoted
(agent/strategies/route.py). "All" keeps out what the row does not say: "When is the reward model
trained in RLHF?" (trained), "When is hw1 due at Stanford?" (another school), "北大的RLHF那节课是哪天？" (a
Chinese name the passage lacks), "2025年4月18日有课吗？" (another year); "RLHF是什么时候提出的？" asks about
no lecture, and a question naming more than :data:`MAX_ROWS` rows ("Who is Pengfei Liu?") is no lookup.
A hostile review's 88 questions (2026-12-07) shaped these limits (docs/EVALUATION.md, "A schedule row
that names the question").

>>> rows = schedule_rows("课程大纲\\nWeek\\tDate\\tContent\\n9\\t2024/04/18\\tReward Model and RLHF\\n7\\t2024/04/04\\tQingming Festival")
>>> rows
['9\\t2024/04/18\\tReward Model and RLHF', '7\\t2024/04/04\\tQingming Festival']
>>> bool(named_rows("RLHF那节lecture是哪天上？", rows, {"rlhf"})), bool(named_rows("RLHF那节课讲什么？", rows, {"rlhf"}))
(True, False)
>>> bool(named_rows("4月4号那周有lecture吗？", rows, set())), bool(named_rows("When is the RLHF proposal due?", rows, {"rlhf", "proposal"}))
(True, False)
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from common.text import chinese_names, split_sentences, tokenize
from retrieval.glossary import WHEN_ASKED, homework_aliases
from retrieval.types import Hit

# a word held by at most this many passages of the notes is specific enough to name a row (the 106
# passages of the course: RLHF 3, hw4 2, Prompting 2; "model" or "course" is in dozens)
RARE_DOCS = 4
# words naming a course's parts or its calendar, not what a row is about: in Chinese notes an English
# word is rare ("course" is in one passage), and "When is the RLHF lecture in the SJTU course?" names the
# row by RLHF alone
COURSE_WORDS = frozenset("course courses class classes lecture lectures lecturer lecturers lesson lessons session "
                         "sessions semester term week weeks talk talks schedule calendar date day time teacher "
                         "instructor speaker 课 课程 讲 节课 一节 老师 讲师".split())
# an English word a question may hold besides the row's and COURSE_WORDS: asking when or who, a homework's
# dates (every other English word must be the row's: "When is the reward model trained in RLHF?" holds
# "trained", no timetable's word, and "When is hw1 due at Stanford?" another school)
_ASKING_WORDS = frozenset("when who whose dates due deadline deadlines ddl out released release handed "
                          "teaches teach gives give held there any".split())
# the question must name the timetable: a lecture, class, week, homework or deadline ("RLHF是什么时候提出的？"
# asks when RLHF was proposed, not when its lecture is)
_TIMETABLE = re.compile(r"课|讲|节|周|作业|上课|老师|讲师|hw|ddl|截止|\b(?:due|deadlines?|lectures?|lecturers?|class(?:es)?|"
                        r"sessions?|weeks?|talks?|speakers?|teach(?:es)?|presentations?|poster|homework|assignments?)\b",
                        re.I)
# more rows than this named by one question is no lookup ("Who is Pengfei Liu?" names eleven)
MAX_ROWS = 3
# who gives it ("那一讲是哪位老师来讲？", "Who teaches the Transformers lecture?")
ASKS_WHO = re.compile(r"谁|哪位|哪个老师|哪个讲师|\bwho\b", re.I)
# a row's date: 2024/04/18, 2024-04-18
_ROW_DATE = re.compile(r"(?<!\d)(?:19|20)\d\d([/-])(1[0-2]|0?[1-9])\1(3[01]|[12]\d|0?[1-9])(?!\d)")
# a month and day asked: 4月4号, 4月4日, April 4, Apr. 4
_ZH_DAY = re.compile(r"(?<!\d)(1[0-2]|0?[1-9])\s*月\s*(3[01]|[12]\d|0?[1-9])\s*[日号號]")
_EN_DAY = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(3[01]|[12]\d|0?[1-9])(?!\d)", re.I)
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_DAYS = re.compile(f"{_ZH_DAY.pattern}|{_EN_DAY.pattern}", re.I)  # a day asked, no word of the question's
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")  # a year a question names
_HOMEWORK_LIST = re.compile(r"\bhw(\d)((?:\s*,\s*\d)+)", re.I)  # "hw3,4 out": the schedule's homework 3 and 4


def schedule_rows(text: str) -> list[str]:
    """The rows of ``text``'s tables that hold a date cell (tab-separated cells, one a full date)."""
    rows = []
    for line in (s.strip("\n") for s in split_sentences(text)):
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) >= 2 and any(_ROW_DATE.fullmatch(c) for c in cells):
            rows.append(line.strip())
    return rows


def row_date(row: str) -> tuple[int, int, int]:
    """A schedule row's date as (year, month, day), for showing rows in the schedule's order.

    >>> row_date("9\\t2024/04/18\\tReward Model and RLHF")
    (2024, 4, 18)
    """
    m = next(m for m in (_ROW_DATE.fullmatch(c.strip()) for c in row.split("\t")) if m)
    return int(m.group(0)[:4]), int(m.group(2)), int(m.group(3))


def asked_days(question: str) -> set[tuple[int, int]]:
    """The (month, day) pairs ``question`` names.

    >>> sorted(asked_days("4月4号和5月30日呢？")), sorted(asked_days("Is there class on Apr. 4 or May 30?"))
    ([(4, 4), (5, 30)], [(4, 4), (5, 30)])
    """
    days = {(int(m), int(d)) for m, d in _ZH_DAY.findall(question)}
    return days | {(_MONTHS[m[:3].lower()], int(d)) for m, d in _EN_DAY.findall(question)}


def rare_words(question: str, frequency: Callable[[Iterable[str]], dict[str, int]]) -> frozenset[str]:
    """The words of ``question`` (its BM25 tokens and the schedule's name of a numbered homework it asks
    the date of) that ``frequency`` (token -> passages holding it) finds in 1 to :data:`RARE_DOCS` passages;
    numbers and :data:`COURSE_WORDS` are no such words.

    >>> sorted(rare_words("RLHF那节lecture是哪天上？", lambda ts: {"rlhf": 3, "lecture": 9}))
    ['rlhf']
    """
    words = [t for t in dict.fromkeys(tokenize(_DAYS.sub(" ", question)) + homework_aliases(question))
             if not t.isdigit() and t not in COURSE_WORDS]
    counts = frequency(words)
    return frozenset(t for t in words if 0 < counts.get(t, 0) <= RARE_DOCS)


def schedule_rows_named(question: str, hits, frequency: Callable[[Iterable[str]], dict[str, int]],
                        glossary=None) -> list[tuple[Hit, str]]:
    """(passage, row) for each schedule row of ``hits`` that ``question`` names (:func:`named_rows`), in the
    schedule's order (a homework out, then due): what the scope guard reads (agent/relevance.py) and the
    answer quotes (agent/strategies/route.py). ``frequency``: token -> passages holding it, asked only for a
    question about the timetable (the guard runs on every question)."""
    if not asks_about_timetable(question):
        return []
    rare = rare_words(question, frequency)
    named = [(h, row) for h in hits
             for row in named_rows(question, schedule_rows(h.text), rare, glossary, h.chunk.title, h.text)]
    return sorted(named, key=lambda pair: row_date(pair[1]))


def asks_about_timetable(question: str) -> bool:
    """Does ``question`` name the timetable and ask when or who, or name a day?

    >>> asks_about_timetable("RLHF那节lecture是哪天上？"), asks_about_timetable("RLHF是什么时候提出的？")
    (True, False)
    """
    return bool(_TIMETABLE.search(question)) and bool(asked_days(question) or WHEN_ASKED.search(question)
                                                      or ASKS_WHO.search(question))


def named_rows(question: str, rows: list[str], rare: set[str] | frozenset[str], glossary=None,
               title: str = "", passage: str = "") -> list[str]:
    """The schedule ``rows`` that ``question`` names, asking about the timetable (a lecture, class, week,
    homework, deadline) when or who, or naming a day: all its ``rare`` words (or a glossary translation of
    each) in the row's cells other than its date, at least one such word or the row's month and day, every
    English word of it the row's, the title's or a word asking when or who, and at most :data:`MAX_ROWS`
    rows. A word of the rows' passage ``title`` names where the rows are, not which ("When is the RLHF
    lecture in the SJTU course?", the slides titled "… (SJTU, slides)"); a Chinese proper name of the
    question (:func:`common.text.chinese_names`) must be in the rows' ``passage`` or its title: "北大的RLHF
    那节课是哪天？" names another school.

    >>> rows = ["7\\t2024/04/04\\tQingming Festival", "10\\t2024/04/25\\thw2 due, hw3,4 out", "14\\t2024/05/23\\thw3 due"]
    >>> named_rows("4月4号那天 OpenAI 发布了什么？", rows, {"openai"}), named_rows("Is there class on Apr 4?", rows, set())
    ([], ['7\\t2024/04/04\\tQingming Festival'])
    >>> [row.split("\\t")[0] for row in named_rows("作业3什么时候截止？", rows, {"hw3"})]  # when it is out, and due
    ['10', '14']
    >>> [row.split("\\t")[0] for row in named_rows("When is hw4 released?", rows, {"hw4"})]  # "hw3,4 out" names hw4
    ['10']
    >>> named_rows("When is hw3 due at Stanford?", rows, {"hw3"})  # another school's
    []
    >>> named_rows("When is the Qingming Festival?", rows, {"qingming"}), named_rows("5月23号截止的是什么作业？", rows, set())
    ([], ['14\\t2024/05/23\\thw3 due'])
    >>> named_rows("2025年5月23号截止的是什么作业？", rows, set())  # another year's
    []
    >>> rows = ["9\\t2024/04/18\\tReward Model and RLHF"]
    >>> named_rows("When is the SJTU RLHF lecture?", rows, {"sjtu", "rlhf"}, title="CS2916 (SJTU, slides)") == rows
    True
    >>> named_rows("When is the SJTU lecture?", rows, {"sjtu"}, title="CS2916 (SJTU, slides)")  # naming only where
    []
    >>> named_rows("北大的RLHF那节课是哪天？", rows, {"rlhf"}, passage=rows[0]), named_rows("RLHF那节课是哪天？", rows, {"rlhf"}) == rows
    ([], True)
    >>> named_rows("RLHF是什么时候提出的？", rows, {"rlhf"}), named_rows("When is the reward model trained in RLHF?", rows, {"rlhf"})
    ([], [])
    """
    days = asked_days(question)  # "4月4号那周有lecture吗？" asks about a day without asking when
    if not rows or not asks_about_timetable(question):
        return []
    if any(name not in passage and name not in title for name in chinese_names(question)):
        return []
    years = {int(y) for y in _YEAR.findall(question)}
    held = set(tokenize(title)) | COURSE_WORDS | _ASKING_WORDS
    rare = set(rare) - held
    english = {t for t in tokenize(_DAYS.sub(" ", question)) if re.fullmatch(r"[a-z][a-z0-9]*", t)} - held
    forms = {t: {t} | (set(tokenize(" ".join(glossary.expand(t)))) if glossary else set()) for t in rare | english}
    named = []
    for row in rows:
        cells = [c.strip() for c in row.split("\t")]
        dates = [(int(m.group(0)[:4]), int(m.group(2)), int(m.group(3))) for m in map(_ROW_DATE.fullmatch, cells) if m]
        words = _row_words(row)
        if days and not days & {(month, day) for _, month, day in dates}:
            continue  # a day asked: that day's rows only
        if years and not years & {year for year, _, _ in dates}:
            continue  # another year's: "2025年4月18日有课吗？"
        if all(forms[t] & words for t in rare | english) and (rare or days):
            named.append(row)
    return named if len(named) <= MAX_ROWS else []


def _row_words(row: str) -> set[str]:
    """The search tokens of a schedule row's cells but its date, "hw3,4" read as hw3 and hw4.

    >>> sorted(_row_words("10\\t2024/04/25\\thw2 due, hw3,4 out"))
    ['10', 'due', 'hw2', 'hw3', 'hw4', 'out']
    """
    return {t for c in row.split("\t") if not _ROW_DATE.fullmatch(c.strip())
            for t in tokenize(_HOMEWORK_LIST.sub(_each_homework, c))}


def _each_homework(m: re.Match) -> str:
    """ "hw3,4" as "hw3 hw4"."""
    return " ".join(f"hw{n}" for n in [m.group(1), *re.findall(r"\d", m.group(2))])


# a week asked by its number: 第9周, 第三周, 第九週, week 9, week nine, the 3rd week, the third week (not a range:
# 第1-4周, weeks 1-4, week 1-4)
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()
_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                 "sixteen seventeen eighteen nineteen twenty").split()
_WEEK = re.compile(r"第\s*(\d{1,2}|[一二两三四五六七八九十]{1,3})\s*[周週]"
                   rf"|(?<![a-z])week\s*#?\s*(\d{{1,2}}(?!\d)|(?:{'|'.join(_NUMBER_WORDS)})(?![a-z]))(?!\s*[-–—~]\s*\d)"
                   r"|\b(\d{1,2})(?:st|nd|rd|th)\s+week\b"
                   rf"|\b({'|'.join(_ORDINALS)})\s+week\b", re.I)
# two weeks as a range: "from week 1 to week 4", "第1周到第4周"
_RANGE = re.compile(rf"(?:{_WEEK.pattern})\s*(?:to|through|thru|until|till|and up to|[-–—~到至])\s*(?:{_WEEK.pattern})", re.I)
_ZH_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# What a question about one week may hold besides the week, its course's name and the row's own words:
# words asking its topic, lecturer, homework or whether there is class ("第9周讲什么？", "CS2916第三周的主题是什么？",
# "What is covered in week 9?", "第9周谁讲？"). Read off the raw question, not its search tokens: a
# stopword is still a word the row must say ("What is covered in the first week of May?" lost "May" and
# got week 1; "第15周起…" lost 起, "第6周作业交哪？" lost 哪).
_ASKING_ZH = sorted(set("""讲的是什么 讲了什么 讲的什么 讲什么 讲啥 讲的 是什么 是啥 什么 啥 内容 主题 安排 题目 话题
    为什么 为啥 学什么 学习 学 上什么 上课 教什么 教 关于 哪些 分别 哪位 谁来讲 谁讲 谁 来讲 来 干嘛 没课 没有课 有课 不上课
    放假 停课 作业 布置 交 截止 哪个 几号 星期几 哪天 哪一天 那节课 那节 那周 这周 节课 一节 课程 课表 课程表 日程表 日程
    大纲 学期 老师 讲师 发布 发 是不是 不是 是 有没有 有 没有 吗 呢 吧 啊 呀 的 了 和 与 还是 还 都 也 请问 一下
    那 这 个 就 要 会 讲 课 不 开学 講 什麼 課 課程 內容 題目 誰 老師 沒課""".split()), key=len, reverse=True)
_ASKING_EN = frozenset("""what whats is are was were be been the a an in on of for at does do did which who whom
    whose when there any anything this that it its topic topics covered cover covers about content contents subject
    learn learned learning taught teach teaches teaching planned plan happens happening happen homework homeworks
    hw assignment assignments course courses class classes lecture lectures lecturer lecturers lesson lessons
    week weeks date day teacher instructor instructors schedule calendar syllabus semester term due out released
    release handed give gives given please pls i we us me my our you tell know to and going get have has will
    would can could should if yes no not s why""".split())  # why: only with no class (_WHY, _NO_CLASS)
# what no row says: a place, an hour, how or why (a row is a week, a date, a topic, its homework and its
# lecturer: "Where is the week 4 lecture held?", "What time is week 9?", "第9周的课在哪？" were answered with the row)
_NOT_IN_A_ROW = re.compile(r"在哪|哪里|哪儿|地点|地方|教室|几点|多久|怎么|怎样|如何|"
                           r"\b(?:where|how|time|hours?|room|building|held)\b", re.I)
# why, asked only of a week without class ("第7周为什么没课？": the row says why, a holiday)
_WHY = re.compile(r"为什么|为啥|\bwhy\b", re.I)
_NO_CLASS = re.compile(r"没课|没有课|不上课|放假|停课|\bno (?:class|lecture)s?\b|\bcancel", re.I)
# what a homework asks, not when it is out or due: "第3周的作业内容是什么？" (the row says only "hw1 out")
_HOMEWORK = r"(?:作业|(?<![a-z])(?:homeworks?|assignments?)(?![a-z])|(?<![a-z])hw\s?\d(?!\d))"
_HOMEWORK_CONTENT = re.compile(rf"{_HOMEWORK}.{{0,6}}?(?:内容|题目|要求|做什么|干什么|关于|是什么|是啥|\babout\b|\btopics?\b|"
                               rf"\bcontents?\b|\brequire)|(?:内容|题目|要求|关于|\babout\b|\btopics? of|\bcontents? of)\s*"
                               rf"(?:the\s+)?{_HOMEWORK}|\bwhat(?:'s| is| are)\s+(?:the\s+)?{_HOMEWORK}", re.I)
# a homework asked due or out: the row must say so ("Which week is hw1 due, week 3?": row 3 says "hw1 out")
_ASKS_DUE = re.compile(r"截止|ddl|交|\bdue\b|\bdeadline", re.I)
_ASKS_OUT = re.compile(r"发布|布置|发|\bout\b|\breleased?\b", re.I)
# what a named topic is, not whether the week covers it: "第4周讲的Transformer是什么？", "第9周讲RLHF的哪些内容？"
_ASKS_WHAT_IT_IS = re.compile(r"是什么|是啥|什么意思|指什么|哪些|什么内容|\bwhat(?:'s| is| are)\b|\bwhich\b", re.I)
# asking to be taught the week, not what it is: "Can you teach me week 9's content?" (the row is its title)
_TEACH_ME = re.compile(r"\b(?:teach|explain|walk)\s+(?:me|us)\b|\bexplain\b|讲讲|讲一下|讲解|解释|教教|教我|给我讲", re.I)
# a course code written apart: "CS 2916" (its digits would be a number left)
_SPACED_CODE = re.compile(r"\b([A-Za-z]{2,4})\s+(\d{3,4})\b")


def _zh_number(text: str) -> int:
    """十 → 10, 十二 → 12, 二十一 → 21, 三 → 3.

    >>> [_zh_number(t) for t in ("三", "十", "十二", "二十", "二十一", "两")]
    [3, 10, 12, 20, 21, 2]
    """
    if "十" not in text:
        return _ZH_DIGIT.get(text, 0)
    tens, _, ones = text.partition("十")
    return (_ZH_DIGIT.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGIT.get(ones, 0) if ones else 0)


def asked_weeks(question: str) -> set[int]:
    """The weeks ``question`` names by number.

    >>> sorted(asked_weeks("第9周讲什么？")), sorted(asked_weeks("CS2916第三周和第十二周的主题")), sorted(asked_weeks("What is in week 4?"))
    ([9], [3, 12], [4])
    >>> sorted(asked_weeks("the 3rd week")), sorted(asked_weeks("In the second week?")), sorted(asked_weeks("week nine")), sorted(asked_weeks("第九週"))
    ([3], [2], [9], [9])
    >>> asked_weeks("第1-4周讲什么？"), asked_weeks("weeks 1-4"), asked_weeks("每周几次课？"), asked_weeks("week 1—4 covers what?")
    (set(), set(), set(), set())
    >>> asked_weeks("第几周讲Transformer？"), sorted(asked_weeks("第９周"))
    (set(), [9])
    """
    weeks = set()
    for zh, week, nth, ordinal in _WEEK.findall(question):
        if zh:
            weeks.add(int(zh) if zh.isdigit() else _zh_number(zh))
        elif week or nth:
            number = week or nth
            weeks.add(int(number) if number.isdigit() else _NUMBER_WORDS.index(number.lower()) + 1)
        else:
            weeks.add(_ORDINALS.index(ordinal.lower()) + 1)
    return {w for w in weeks if w > 0}


def week_of(row: str) -> int | None:
    """A schedule row's week: its first cell that is a number of one or two digits.

    >>> week_of("9\\t2024/04/18\\tReward Model and RLHF"), week_of("2024/04/18\\tRLHF")
    (9, None)
    """
    cell = next((c.strip() for c in row.split("\t") if re.fullmatch(r"\s*\d{1,2}\s*", c)), None)
    return int(cell) if cell else None


def course_names(title: str) -> list[str]:
    """What names a passage's course in its title: the words before its part ("第1讲", "(", ":") and its
    acronyms; not "slides" or "引言", which name the file.

    >>> course_names("CS2916 大语言模型 第1讲 引言 (SJTU, slides)")
    ['CS2916', '大语言模型', 'SJTU']
    """
    head = re.split(r"第|[(（:：]", title, maxsplit=1)[0].split()
    return list(dict.fromkeys(head + re.findall(r"\b[A-Z]{2,}\b", title)))


def _leftover(text: str, names: list[str]) -> list[str]:
    """The pieces of ``text`` (a question less its weeks) that are neither its course's ``names`` nor words
    asking about a week: English words, numbers and runs of Chinese characters.

    >>> _leftover("CS2916 的 主题是什么？", ["CS2916"]), _leftover("讲RLHF吗？", []), _leftover("What is covered in   of May?", [])
    ([], ['rlhf'], ['may'])
    >>> _leftover(" 起都是presentation吗", []), _leftover("作业交哪？", [])
    (['起', 'presentation'], ['哪'])
    """
    text = text.lower()
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name.lower(), " ")
    pieces = []
    for piece in re.findall(r"[a-z0-9][a-z0-9+.-]*|[\u4e00-\u9fff]+", text):
        if re.match(r"[a-z0-9]", piece):
            if piece.strip(".-") not in _ASKING_EN:
                pieces.append(piece.strip(".-"))
            continue
        for word in _ASKING_ZH:
            piece = piece.replace(word, " ")
        pieces += piece.split()
    return pieces


def _held(piece: str, words: set[str], glossary) -> bool:
    """Does a row holding ``words`` (its English tokens, stemmed) say ``piece``: an English word (or its
    glossary Chinese, which a row in English lacks) or a Chinese run every character of which is in a glossary
    term whose English the row holds ("语言模型" in "Language Models")?"""
    if not re.search(r"[\u4e00-\u9fff]", piece):
        return _stem(piece) in words or any(_stem(t) in words for t in tokenize(piece))
    covered = [False] * len(piece)
    for zh, ens in (glossary.zh if glossary is not None else ()):
        if zh in piece and {_stem(t) for e in ens for t in tokenize(e)} & words:
            start = piece.find(zh)
            covered[start:start + len(zh)] = [True] * len(zh)
    return all(covered)


def _stem(word: str) -> str:
    """ "agents" as "agent", "transformers" as "transformer" (not "ss": "class")."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def week_rows(question: str, hits, glossary=None, asked: str | None = None) -> list[tuple[Hit, str]]:
    """(passage, row) for each row of the schedules in ``hits`` (every passage of the index holding one: the
    week's row may rank anywhere in a search, "CS2916第三周的主题是什么？" found the schedule in none of its five
    passages) whose week ``question`` names by number, when the question asks nothing the row does not say.
    Read off the raw question (:func:`_leftover`), every piece of it besides the weeks, its course's name
    (:func:`course_names`) and words asking what, when or who must be the row's (or a glossary form of it;
    "agents" is "Agents"). And:

    - no number is left (a range or a list: "week 1 to 4", "week 9, 10"), no range ("from week 1 to week 4");
    - no place, hour, how, or why but why there is no class (:data:`_NOT_IN_A_ROW`);
    - no homework's content; a homework asked due (or out) in a row that says so;
    - no "what is" of a topic the question names ("第4周讲的Transformer是什么？": the notes' search answers that);
    - every week named has its row ("Week 9 is RLHF; what is week 10?" found row 9 alone);
    - a Chinese proper name is in the passage or its title; at most :data:`MAX_ROWS` rows, in the schedule's order.

    A question that names a day too is :func:`named_rows`'s. Two hostile reviews (2026-12-07: 84 and 69
    questions, 125 probes) set these limits. ``asked``: the student's own message, when ``question`` holds the
    question before it too (agent/strategies/route.py): only the weeks it names are looked up ("那第10周呢？" after
    "第9周讲什么？" is week 10; "为什么？" names none), and the rules read the whole ``question`` ("第5周讲什么？" after
    a question about the foundation models course names that course).

    >>> from retrieval.types import Chunk
    >>> text = "课程大纲\\nWeek\\tDate\\tContent\\n3\\t2024/03/07\\tLanguage Models\\t👉 hw1 out\\n7\\t2024/04/04\\tQingming Festival\\n9\\t2024/04/18\\tReward Model and RLHF\\n12\\t2024/05/09\\tAgents"
    >>> hit = Hit(Chunk("c", "s.pdf", "CS2916 第1讲 (SJTU, slides)", text, [], None, 0, len(text), "en"), 0.0, {})
    >>> weeks = lambda question: [row.split("\\t")[0] for _, row in week_rows(question, [hit])]
    >>> weeks("第9周讲什么？"), weeks("What is the week 3 topic of CS2916, and is hw1 out?"), weeks("第7周为什么没课？")
    (['9'], ['3'], ['7'])
    >>> weeks("第3周和第9周分别讲什么？"), weeks("Is the week 12 lecture about agents?"), weeks("第9周谁讲？")
    (['3', '9'], ['12'], ['9'])
    >>> weeks("基础模型那门课第3周讲什么？"), weeks("Who is the guest speaker in week 3 of the Stanford seminar?")
    ([], [])
    >>> weeks("第3周讲RLHF吗？"), weeks("斯坦福第9周讲什么？"), weeks("2025年第9周讲什么？"), weeks("Week 3 slides?")
    ([], [], [], [])
    >>> weeks("week 1 to 4 topics"), weeks("week 9, 10 topics?"), weeks("Where is the week 3 lecture held?"), weeks("第9周的课在哪？")
    ([], [], [], [])
    >>> weeks("第3周的作业内容是什么？"), weeks("What time is week 9?"), weeks("Why week 3?"), weeks("From week 3 to week 9?")
    ([], [], [], [])
    >>> [row.split("\\t")[0] for _, row in week_rows("第9周讲什么？ 那第3周呢？", [hit], asked="那第3周呢？")]
    ['3']
    >>> week_rows("斯坦福第9周讲什么？ 那第3周呢？", [hit], asked="那第3周呢？"), week_rows("第9周讲什么？", [hit], asked="为什么？")
    ([], [])
    >>> weeks("What is covered in the first week of May?"), weeks("Week 9 is RLHF; what is week 12?"), weeks("第9周讲的RLHF是什么？")
    ([], [], [])
    >>> weeks("Which week is hw1 due, week 3?"), weeks("第9周的上一节课讲什么？"), weeks("第6周作业交哪？")
    ([], [], [])
    >>> weeks("What's the week 3 homework?"), weeks("Can you teach me week 9's content?"), weeks("CS 2916 第9周讲什么？")
    ([], [], ['9'])

    Two courses' schedules (a TA uploaded another): the one the question names, else none.

    >>> other = Hit(Chunk("o", "up/nlp.pdf", "CS224N (Stanford)", "9\\t2024/03/05\\tParsing", [], None, 0, 9, "en"), 0.0, {})
    >>> [row.split("\\t")[2] for _, row in week_rows("CS224N week 9?", [hit, other])], week_rows("第9周讲什么？", [hit, other])
    (['Parsing'], [])
    """
    weeks = asked_weeks(question if asked is None else asked)
    text = _SPACED_CODE.sub(r"\1\2", question)  # "CS 2916"; "week 9's" leaves an "s", a word asking
    rest = _WEEK.sub(" ", text)
    if (not weeks or asked_days(rest) or _HOMEWORK_CONTENT.search(text) or _HOMEWORK_CONTENT.search(rest)
            or _RANGE.search(text) or _TEACH_ME.search(rest)
            or _NOT_IN_A_ROW.search(rest) or (_WHY.search(rest) and not _NO_CLASS.search(rest))):
        return []
    years = {int(y) for y in _YEAR.findall(rest)}
    if re.search(r"\d", _YEAR.sub(" ", re.sub(r"[A-Za-z]+\d[\w.-]*", " ", rest))):
        return []  # a number left besides a year ("week 1 to 4", "week 9, 10", "week 9.5"); not "CS2916" or "hw1"
    named = []
    for hit in hits:
        rows = [row for row in schedule_rows(hit.text) if week_of(row) in weeks]
        if not rows or any(name not in hit.text and name not in hit.chunk.title for name in chinese_names(rest)):
            continue
        pieces = _leftover(_YEAR.sub(" ", rest), course_names(hit.chunk.title))
        if any(not re.fullmatch(r"hw\d+", p) for p in pieces) and _ASKS_WHAT_IT_IS.search(rest):
            continue  # what a topic the row names is, or what of it: the notes' search answers that
        for row in rows:
            words = {_stem(t) for t in _row_words(row)}
            if ((not years or row_date(row)[0] in years) and all(_held(p, words, glossary) for p in pieces)
                    and not (_ASKS_DUE.search(rest) and "due" not in words)
                    and not (_ASKS_OUT.search(rest) and "out" not in words)):
                named.append((hit, row))
    files = {hit.chunk.source for hit, _ in named}
    if len(files) > 1:  # two schedules (a TA uploaded another course's): the one whose course the question names
        named = [(hit, row) for hit, row in named if _names_course(question, hit.chunk.title)]
        if len({hit.chunk.source for hit, _ in named}) != 1:
            return []  # neither or both: which course's week 9 is asked?
    if {week_of(row) for _, row in named} != weeks or len(named) > MAX_ROWS:
        return []  # every week named, each its row ("Week 9 is RLHF; what is week 10?" found row 9 alone)
    return sorted(named, key=lambda pair: row_date(pair[1]))


def _names_course(question: str, title: str) -> bool:
    """Does ``question`` name the course of a passage titled ``title`` (:func:`course_names`)?"""
    return any(name.lower() in question.lower() for name in course_names(title))
