"""Days of the week and months a line names, in Chinese or English: a translated line must keep them.

The 0.5B writer translated the office hours "周五15:30-16:30" as "Week 15: 30-16:30": every number
kept, the Friday gone, and the line would have been shown with its citation. The number check
(agent/line_translation.py) cannot see a day or a month, which one language writes as a word and
the other as a number. So a translated line must name the days and months its source line names
(:func:`keeps_calendar`), and a date's month is read as a word for the number check
(:func:`months_as_words`).

Deliberately narrow, as agent/polarity.py is: a check that fires on a right translation hides it
from the student. A form not read here ("3/15", "周三个人答疑") is not checked; where the source
line names no day (or no month) the translation is not held to one.

>>> weekdays("周五15:30-16:30，周一至三 13:00；12月3日"), months("周五15:30-16:30，周一至三 13:00；12月3日")
(frozenset({0, 1, 2, 4}), frozenset({12}))
>>> keeps_calendar("刘鹏飞 讲师 周五15:30-16:30", "Week 15: 30-16:30")
False
"""

from __future__ import annotations

import re

_DAY_CHARS = "一二三四五六日天"
_DAY_ZH = dict(zip(_DAY_CHARS, (0, 1, 2, 3, 4, 5, 6, 6)))
_RANGE = re.compile(r"^\s*(?:-|–|~|～|至|到|to|through|thru)\s*$", re.I)
# 周五 / 星期五 / 礼拜天, with more days after it (周一至五, 周二、四, 周一三五), unless a count or a word
# follows that makes it no day: 每周三小时 ("three hours a week"), 每周一篇, 一周一共, 本周日程, 周日志, 周一鸣 (a name)
_WEEKDAY_ZH = re.compile(
    rf"(?:星期|礼拜|周)([{_DAY_CHARS}])((?:(?:[、,，/和与及]|至|到|~|～|-|–)?(?:周|星期)?[{_DAY_CHARS}])*)"
    r"(?![次个遍回篇节小份门项本共般程志鸣新平章])")
_WEEKDAY_EN = re.compile(
    r"\b(?i:(mon|tues|wednes|thurs|fri|satur|sun)days?)\b"
    # an abbreviation capitalised and before a date, a time, punctuation or another day: "sat", "wed"
    # are English words; "Sun" is left out (a surname: "Sun, 2019", "Zhiqing Sun")
    r"|\b(Mon|Tue|Wed|Thu|Fri|Sat)(?:s|r|rs)?\b\.?(?=[.,;:!?)/\-–~]|\s*\d|\s*$|\s+(?:and|or|to|through|at)\b|\s*&)"
    # "Sun" only as a day: before a full stop that ends it, or a time ("Closed on Sun.", "Sun 10:00")
    r"|\b(Sun)\b(?=\.(?:\s|$)|\s*\d{1,2}:\d{2})")
_DAY_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZH_NUMERAL_MONTH = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
                     "十一": 11, "十二": 12}
# 1月 / 12月 / 十二月 (not 3个月, 几个月, 每月, 一月一次)
_MONTH_ZH = re.compile(r"(?<![\d个几每两第十])(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])月(?!份?[次个])")
# a year and a month: 2024/04/04, 2024-4-4, 2024.04.04, 2023/12 (not 2018-2021, 1536.5, arXiv 2303.08774)
_MONTH_ISO = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?:([/-])(1[0-2]|0?[1-9])(?:\2(3[01]|[12]\d|0?[1-9]))?"
                        r"|\.(1[0-2]|0?[1-9])\.(3[01]|[12]\d|0?[1-9]))(?![\d/.-]*\d)")
_MONTH_EN_FULL = re.compile(r"\b(January|February|March|April|June|July|August|September|October|November|December)\b")
# an abbreviation (and May) only next to a number: "Jan 16", "Sept. 5", "4 May", "May 2024" ("Decoder 6", "may 5 students")
_MONTH_EN_SHORT = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?(?=\s*\d)"
                             r"|(?<=\d )(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b"
                             # May as a month: "in May", "by May", "May: final projects" (not "you may", "May I")
                             r"|(?:(?<=\bin )|(?<=\bby )|(?<=\bof )|(?<=\buntil )|(?<=\bsince )|(?<=\bduring )|(?<=\bearly )"
                             r"|(?<=\blate )|(?<=\bmid-))(May)\b|\b(May)(?=\s*[:：])")


def weekdays(text: str) -> frozenset[int]:
    """The days of the week ``text`` names, Monday = 0; a range ("周一至五", "Mon-Fri", "Monday to
    Friday") names each day in it.

    >>> sorted(weekdays("周二、四 10:30，周六日休息")), sorted(weekdays("周一至五 9:00")), sorted(weekdays("Mon-Fri"))
    ([1, 3, 5, 6], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4])
    >>> sorted(weekdays("Lectures on Tue and Thu; due Fri at 11:59pm")), sorted(weekdays("Monday to Wednesday"))
    ([1, 3, 4], [0, 1, 2])
    >>> [weekdays(t) for t in ("每周三小时的实验课", "每周一篇读书报告", "助教周一鸣", "本周日程", "(Sun, 2019)", "The sun sat.")]
    [frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset()]
    """
    found: list[tuple[int, int, list[int]]] = []  # (start, end, days) of each mention, in order
    for m in _WEEKDAY_ZH.finditer(text):
        days = [previous := _DAY_ZH[m.group(1)]]
        for piece in re.findall(rf"(至|到|~|～|-|–)?[^{_DAY_CHARS}]*?([{_DAY_CHARS}])", m.group(2)):
            day = _DAY_ZH[piece[1]]
            days += list(range(previous + 1, day + 1)) if piece[0] and day > previous else [day]
            previous = day
        found.append((m.start(), m.end(), days))
    for m in _WEEKDAY_EN.finditer(text):
        found.append((m.start(), m.end(), [_DAY_EN[(m.group(1) or m.group(2) or m.group(3))[:3].lower()]]))
    found.sort()
    days = set()
    for i, (start, end, named) in enumerate(found):
        days.update(named)
        if i + 1 < len(found) and _RANGE.match(text[end:found[i + 1][0]]):
            first, last = named[-1], found[i + 1][2][0]
            days.update(range(first, last + 1) if first < last else ())
    return frozenset(days)


def months(text: str) -> frozenset[int]:
    """The months of the dates ``text`` names, January = 1.

    >>> sorted(months("12月考试，十一月报名，2024/04/04，2023/12")), sorted(months("Exam in December; Jan 16, 4 May"))
    ([4, 11, 12], [1, 5, 12])
    >>> [months(t) for t in ("学3个月", "每月一次", "Decoder 6层", "Margin 0.2", "you may 5", "2018-2021", "1536.5 GB",
    ...                      "arXiv 2303.08774", "2024/13/01")]
    [frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset(), frozenset()]
    """
    found = {_zh_month(g) for g in _MONTH_ZH.findall(text)}
    found |= {int(_iso_month_day(m)[0]) for m in _MONTH_ISO.finditer(text)}
    found |= {MONTHS.index(name[:3]) + 1 for name in _MONTH_EN_FULL.findall(text)}
    found |= {MONTHS.index(next(g for g in groups if g)[:3]) + 1 for groups in _MONTH_EN_SHORT.findall(text)}
    return frozenset(found)


def _zh_month(number: str) -> int:
    """A Chinese date's month: "12" or "十二" -> 12."""
    return int(number) if number.isdigit() else _ZH_NUMERAL_MONTH[number]


def _iso_month_day(m: re.Match) -> tuple[str, str | None]:
    """The month and day (None: none) of a :data:`_MONTH_ISO` match, "2024/04/04" or "2024.4.4"."""
    return m.group(3) or m.group(5), m.group(4) or m.group(6)


def keeps_calendar(source: str, translation: str) -> bool:
    """Does ``translation`` name the days of the week and the months ``source`` names (each checked
    only where the source names one)?

    >>> keeps_calendar("刘鹏飞 讲师 周五15:30-16:30", "Liu Pengfei, lecturer, Friday 15:30-16:30")
    True
    >>> keeps_calendar("周二13:00", "Thursday 13:00"), keeps_calendar("Jan 16: HOLIDAY MLK Day", "2月16日：马丁·路德·金纪念日")
    (False, False)
    >>> keeps_calendar("周一至五 14:00", "Monday 14:00"), keeps_calendar("周一至五 14:00", "Mon-Fri 14:00")
    (False, True)
    >>> [keeps_calendar(s, t) for s, t in [("每周三小时的实验课", "A three-hour lab each week"), ("(Sun, 2019)", "（孙，2019）"),
    ...     ("12月考试", "Exam in December"), ("7 2024/04/04 清明节", "7 April 4, 2024: Qingming"),
    ...     ("Tue, Jan 16: MLK Day", "1月16日周二：马丁·路德·金纪念日"), ("社区共建（2023/12）", "community (December 2023)")]]
    [True, True, True, True, True, True]
    """
    for named in (weekdays, months):
        wanted = named(source)
        if wanted and named(translation) != wanted:
            return False
    return True


def months_as_words(text: str) -> str:
    """``text`` with each month of a Chinese or numeric date written as a word ("Apr") and a numeric
    date's day without its leading zero: a month is no number for the number check to keep
    (:func:`keeps_calendar` compares it), a day is.

    >>> months_as_words("2024/04/04"), months_as_words("1月16日"), months_as_words("(2023/12)"), months_as_words("2018-2021")
    (' 2024 Apr 4 ', ' Jan 16日', '( 2023 Dec  )', '2018-2021')
    """
    def iso(m: re.Match) -> str:
        month, day = _iso_month_day(m)
        return f" {m.group(1)} {MONTHS[int(month) - 1]} {int(day) if day else ''} "

    text = _MONTH_ISO.sub(iso, text)
    return _MONTH_ZH.sub(lambda m: f" {MONTHS[_zh_month(m.group(1)) - 1]} ", text)
