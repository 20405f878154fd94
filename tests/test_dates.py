"""A translated line keeps its days of the week and months (agent/dates.py): cases from a hostile review."""

import pytest

from agent.dates import keeps_calendar
from agent.line_translation import keeps_numbers


def keeps(source: str, translation: str) -> bool:
    """What the line check asks of a translation's dates (its likeness and support aside)."""
    return keeps_numbers(source, translation) and keeps_calendar(source, translation)


@pytest.mark.parametrize("source, translation", [
    ("刘鹏飞 讲师 周五15:30-16:30", "Liu Pengfei, lecturer, Friday 15:30-16:30"),
    ("每周三小时的实验课", "A three-hour lab each week"),
    ("每周一篇读书报告", "One reading report a week"),
    ("每周五篇论文", "Five papers a week"),
    ("第一周一共三节课", "Three classes in the first week"),
    ("本周日程安排", "This week's schedule"),
    ("助教：周一鸣", "TA: Zhou Yiming"),
    ("周二、四 10:30", "Tue and Thu 10:30"),
    ("周一至五 9:00-17:00", "Mon-Fri 9:00-17:00"),
    ("周一至五 9:00-17:00", "Monday to Friday, 9:00-17:00"),
    ("周六日休息", "Closed on Saturdays and Sundays"),
    ("Mon and Wed 10:00", "周一和周三 10:00"),
    ("Lectures on Tue and Thu", "周二和周四上课"),
    ("Due Fri at 11:59pm", "周五晚上11:59截止"),
    ("(Sun, 2019)", "（孙，2019）"),
    ("Zhiqing Sun, Yikang Shen et al. 2023", "孙之清、沈一康等，2023"),
    ("Decoder 6层", "a 6-layer decoder"),
    ("Margin 0.2", "间隔 0.2"),
    ("Janus 1.3B", "Janus 1.3B"),
    ("4月4日", "4 April"),
    ("Deadline: 15 March", "截止日期：3月15日"),
    ("Jan-Mar", "1月至3月"),
    ("2024/04/04", "2024年04月04日"),
    ("2024-04-04", "2024年4月4日"),
    ("12月考试", "Exam in December"),
    ("3月发布了GPT-4", "GPT-4 was released in March"),
    ("1月16日：马丁·路德·金纪念日", "Jan 16: MLK Day"),
    ("7 2024/04/04 清明节", "7 April 4, 2024: Qingming"),
    ("社区共建（2023/12）", "community contributions (December 2023)"),
    ("1536.5 GB", "1,536.5 GB"),
    ("arXiv 2303.08774", "arXiv 2303.08774"),
    ("学3个月", "3 months of study"),
])
def test_a_right_translation_keeps_its_dates(source, translation):
    assert keeps(source, translation)


@pytest.mark.parametrize("source, translation", [
    ("刘鹏飞 讲师 周五15:30-16:30 剑川路930 A 栋 3楼313B", "Week 15: 30-16:30, Jiang Route 930 A, Block 3, 313B"),
    ("周二13:00-14:00 Zoom", "Thursday 13:00-14:00 Zoom"),
    ("周一至五 14:00", "Monday 14:00"),
    ("周二、四 10:30", "Tuesday 10:30"),
    ("Mon and Wed 10:00", "周三 10:00"),
    ("Jan 16: HOLIDAY MLK Day", "2月16日：马丁·路德·金纪念日"),
    ("Exam in December", "考试在十一月"),
    ("7 2024/04/04 清明节", "7 April 14, 2024: Qingming"),
    ("4月4日", "May 4"),
])
def test_a_translation_that_changes_a_day_or_a_month_is_not_kept(source, translation):
    assert not keeps(source, translation)
