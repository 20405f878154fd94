import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from agent.core import Agent
from agent.events import Replace, Status, Token
from agent.llm import get_chat_model
from agent.options import TurnOptions
from tests.fakes import FakeRetriever, RecordingWriter, ScriptedToolModel, scripted_writer, tool_call
from tests.fakes import course_agent as _agent

REPO = Path(__file__).resolve().parent.parent


def test_tool_calling_model_drives_the_tools_and_citations_are_verified(course):
    model = ScriptedToolModel(responses=[
        tool_call("search_course", {"query": "温度参数 T", "k": 3}),
        AIMessage(content="温度参数 T 控制从语言模型中得到多少随机性 [1]。香农在1948年提出了熵 [9]。"),
    ])
    result = _agent(course, model=model, agent_strategy="tools").ask("采样时的温度参数 T 起什么作用？")
    assert result.strategy == "tools" and result.mode == "generate"
    assert [c.name for c in result.tool_calls] == ["search_course"]
    # the sentence citing a passage that does not exist (and that nothing supports) was never shown
    assert "香农" not in result.answer and "[9]" not in result.answer
    assert result.timings["tool_calls"] == 1 and result.timings["model_rounds"] == 2
    first = result.citations[0]
    assert first.n == 1 and first.chunk_id == result.passages[0].chunk_id
    assert first.verdict == "supported"
    assert first.supporting_sentence and first.supporting_sentence in result.passages[0].text
    # the tool result the model saw numbered the passages the same way
    tool_message = model.seen[1][-1].content
    assert tool_message.startswith("[1] ") and result.passages[0].text in tool_message


def _first_sentence_of_top_passage(course, question):
    s, retriever = course
    return retriever.search(question, s.agent.retrieval_k)[0].text.split("。")[0].strip()


def test_route_strategy_streams_the_model_answer_and_repairs_it(course):
    sentence = _first_sentence_of_top_passage(course, "采样时的温度参数 T 起什么作用？")
    writer = scripted_writer(f"{sentence} [1][7]。")
    agent = _agent(course, model=writer, answer_mode="generate", agent_strategy="route")
    events = list(agent.stream("采样时的温度参数 T 起什么作用？"))
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    result = events[-1].answer
    assert isinstance(events[0], Status) and "passages" in events[0].text
    # each sentence is checked before it is shown: the student never sees the invalid [7]
    assert "[7]" not in streamed and streamed.endswith("[1]。") and streamed == result.answer
    assert result.verification.invalid == [] and result.mode == "generate"
    assert result.citations[0].n == 1 and result.citations[0].verdict == "supported"
    assert result.citations[0].chunk_id == result.passages[0].chunk_id


def test_the_prompt_holds_the_best_passages_within_its_budget(course):
    import re

    question = "采样时的温度参数 T 起什么作用？"

    def prompt_numbers(prompt_chars):
        writer = RecordingWriter(messages=iter([AIMessage(content="温度参数控制随机性 [1]。")] * 3))
        result = _agent(course, model=writer, answer_mode="generate", agent_strategy="route",
                        prompt_chars=prompt_chars).ask(question)
        assert result.mode == "generate"
        prompt = writer.seen[-1][-1].content
        return re.findall(r"^\[(\d+)\] ", prompt, re.M), len(result.passages)

    small, n_sources = prompt_numbers(100)
    assert small[0] == "1" and len(small) < n_sources  # the best passage first; the others stay sources only
    large, n_sources = prompt_numbers(5000)
    assert large == [str(i) for i in range(1, n_sources + 1)]


def test_an_unsupported_written_answer_is_never_shown_and_quotes_replace_it(course):
    agent = _agent(course, model=scripted_writer("Bananas are yellow [1]. They grow in warm places."),
                   answer_mode="generate")
    events = list(agent.stream("采样时的温度参数 T 起什么作用？"))
    result = events[-1].answer
    shown = "".join(e.text for e in events if isinstance(e, (Token, Replace)))
    assert "Bananas" not in shown and "warm" not in shown
    assert any(isinstance(e, Status) and "quoting" in e.text for e in events)
    assert result.mode == "extract" and result.citations
    assert all(c.verdict == "supported" for c in result.citations)
    assert result.verification.recall == 1.0


def test_extractive_answer_needs_no_model(course):
    result = _agent(course, model=None, answer_mode="extract").ask("采样时的温度参数 T 起什么作用？")
    assert result.mode == "extract" and not result.refused
    assert any("温度参数" in p.text for p in result.passages)
    assert result.citations and all(c.verdict == "supported" for c in result.citations)
    assert [c.name for c in result.tool_calls] == ["search_course"]  # the demo's search is the answer's
    from agent.policy import route

    assert route("如何刻画语言模型的不确定性？") == "search_course"  # 刻画 characterises: no demo asked


@pytest.mark.parametrize("question, date", [("RLHF那节lecture是哪天上？", "2024/04/18"), ("hw4的DDL是几号？", "2024/06/13"),
                                            ("Prompting Engineering 那节 lecture 是哪天", "2024/03/21")])
def test_a_question_naming_a_schedule_row_is_answered_with_that_row(course, question, date):
    """Declined before (a quarter of "RLHF那节lecture是哪天上？"'s words are the row's: jieba reads 哪天上 as
    哪 + 天上), or answered with fifteen quoted lines around the row; a writer is not asked."""
    _answered_with_a_row(course, question, date)


def _answered_with_a_row(course, question: str, date: str):
    """The answer to ``question``: one schedule row, of ``date``, quoted and cited; no writer asked."""
    writer = RecordingWriter(messages=iter([AIMessage(content="The lecture is on 2024/05/01 [1].")] * 3))
    writer.seen = []
    result = _agent(course, model=writer).ask(question)
    assert not result.refused and result.mode == "extract" and not writer.seen, result.answer
    intro, *rows = result.answer.splitlines()
    assert intro in ("课程日程表中的相关行（按原文引用）：", "From the course schedule:")
    assert len(rows) == 1 and date in rows[0] and " | " in rows[0], rows
    assert result.citations and all(c.verdict == "supported" for c in result.citations)
    return result


@pytest.mark.parametrize("question, date", [("第9周讲什么？", "2024/04/18"), ("CS2916第三周的主题是什么？", "2024/03/07"),
                                            ("Who teaches week 4?", "2024/03/14"), ("第7周为什么没课？", "2024/04/04"),
                                            ("In the CS2916 schedule, what is the week 3 topic and when is hw1 out?",
                                             "2024/03/07")])
def test_a_question_naming_a_week_is_answered_with_that_weeks_row(course, question, date):
    """The week's row wherever a search ranks its passage ("CS2916第三周的主题是什么？" found the schedule in none
    of its five passages, and "第9周讲什么？" was answered with the Stanford sample schedule's week 3)."""
    result = _answered_with_a_row(course, question, date)
    assert [c.name for c in result.tool_calls] == ["schedule"]


def test_a_follow_up_naming_a_week_gets_that_weeks_row_alone(course):
    """"那第10周呢？" after "第9周讲什么？" is week 10 (its query joins both: rows 9 and 10 were shown); after a
    question about another course it is that course's (the question before names it), joined or not."""
    agent = _agent(course, model=None, answer_mode="extract")
    first = agent.ask("第9周讲什么？")
    history = [{"role": "user", "content": "第9周讲什么？"}, {"role": "assistant", "content": first.answer}]
    rows = agent.ask("那第10周呢？", history).answer.splitlines()[1:]
    assert len(rows) == 1 and "2024/04/25" in rows[0], rows
    asked = "基础模型的进展这门课第3周讲什么？"
    other = agent.ask("那第5周呢？", [{"role": "user", "content": asked},
                                     {"role": "assistant", "content": agent.ask(asked).answer}])
    assert "schedule" not in [c.name for c in other.tool_calls], other.answer
    asked = "基础模型的进展这门课的课程日历是怎样的？"  # not joined to it, and still about that course
    other = agent.ask("第5周讲什么？", [{"role": "user", "content": asked},
                                   {"role": "assistant", "content": agent.ask(asked).answer}])
    assert "schedule" not in [c.name for c in other.tool_calls], other.answer
    again = agent.ask("为什么？", history)  # asks for more of week 9: the notes are searched, as before
    assert "schedule" not in [c.name for c in again.tool_calls], again.answer


@pytest.mark.parametrize("question", ["基础模型那门课第3周讲什么？", "斯坦福那门课第一周讲什么？", "第3周讲RLHF吗？",
                                      "Who is the Google Brain guest speaker in week 3 of the seminar schedule?",
                                      "第1-4周讲什么？", "From week 1 to week 4, what topics are covered?", "week 9, 10 topics?",
                                      "Where is the week 4 lecture held?", "第9周的课在哪？", "第3周的作业内容是什么？",
                                      "Week 3 slides?", "Who is the week 5 speaker?",
                                      "What is covered in the first week of May?", "Week 9 is RLHF; what is week 10?",
                                      "第4周讲的Transformer是什么？", "Which week is hw1 due, week 3?", "第9周的上一节课讲什么？",
                                      "第6周作业交哪？", "第15周起都是presentation吗？"])
def test_a_week_question_the_row_does_not_answer_is_searched(course, question):
    """Another course's week, a topic the row does not hold, a range or a list of weeks, a place, what a
    homework asks, the slides: searched as before (a hostile review's, answered with a row at first)."""
    result = _agent(course, model=None, answer_mode="extract").ask(question)
    assert "schedule" not in [c.name for c in result.tool_calls], result.answer


@pytest.mark.parametrize("question", ["When is the RLHF lecture in the Stanford course?", "RLHF 是什么？",
                                      "4月4号那天 OpenAI 发布了什么？", "北大的RLHF那节课是哪天？"])
def test_a_question_naming_no_row_of_the_schedule_is_not_answered_with_one(course, question):
    """Another course's lecture, a question not asking when, a day with a word no row holds."""
    result = _agent(course, model=None, answer_mode="extract").ask(question)
    assert not result.answer.startswith(("课程日程表", "From the course schedule")), result.answer


@pytest.mark.parametrize("question", ["Who won the 2018 World Cup?", "今天上海的天气怎么样？", "How do I cook rice?",
                                      # a code word ("draw") and a reading word ("paper") do not skip the guard
                                      "How much power does an NVIDIA H100 card draw?",
                                      "Which paper won the NeurIPS 2023 best paper award?"])
def test_out_of_corpus_questions_are_declined_with_closest_passages(course, question):
    result = _agent(course).ask(question)
    assert result.refused and result.mode == "refusal"
    assert "course materials do not cover" in result.answer or "课程材料中没有找到" in result.answer
    assert result.answer.count("\n- ") == min(3, len(result.passages))  # the closest passages, if any matched


def test_a_question_naming_a_model_the_notes_never_mention_is_declined_and_the_answer_names_it(course):
    # the notes discuss GPT-3 (and, on a slide, GPT-4) but never GPT-5: without the name check this
    # question was answered with a quote about GPT-3's parameters
    question = "How many parameters does GPT-5 have?"
    result = _agent(course).ask(question)
    assert result.refused and result.answer.startswith("The course materials never mention `GPT-5`.\nSorry,")
    zh = _agent(course).ask("ＧＰＴ－４ｏ的上下文窗口有多长？")  # full-width, touching Chinese
    assert zh.refused and zh.answer.startswith("课程材料中没有提到 `GPT-4o`。")
    off = _agent(course, relevance_named_terms=False).ask(question)
    assert "never mention" not in off.answer
    # a name the notes mention, however spelled, a year, and a course's own short forms are no reason to decline
    for question in ("GPT3 的参数量是多少？", "How many parameters does GPT 3 have?", "When is HW2 of Week 3 due?",
                     "香农在1948年的论文提出了什么？"):
        answered = _agent(course).ask(question)
        assert "never mention" not in answered.answer and "没有提到" not in answered.answer, question


@pytest.mark.parametrize("message, starts", [("hi", "Hello! I'm CourseTA"), ("Hello there!", "Hello! I'm CourseTA"),
                                              ("你好！", "你好！我是 CourseTA"), ("Thanks!", "You're welcome"),
                                              ("谢谢老师", "不客气")])
def test_a_greeting_or_thanks_gets_one_sentence_not_quotes(course, message, starts):
    # "hi" was answered with quotes: e5 puts a short string close to every passage
    result = _agent(course).ask(message)
    assert result.answer.startswith(starts) and not result.passages and not result.tool_calls
    assert not result.refused and result.citations == []


def test_a_question_after_a_greeting_is_answered_as_a_question(course):
    result = _agent(course).ask("Hi, 采样时的温度参数 T 起什么作用？")
    assert not result.refused and any("温度" in p.text for p in result.passages)


def test_homework_requests_get_explanations_and_readings_not_solutions(course):
    result = _agent(course).ask("Write my Build Your Own LLaMa homework for me")
    assert result.mode == "homework" and "won't write the solution" in result.answer
    assert any("Build Your Own LLaMa" in p.text for p in result.passages)
    off = _agent(course, homework_integrity=False).ask("Write my Build Your Own LLaMa homework for me")
    assert off.mode != "homework"


HOMEWORK_REQUESTS = [
    "Write my Build Your Own LLaMa homework for me", "Please solve homework 2", "Can you finish the assignment for me?",
    "Could you implement our project?", "Give me the full code for hw1", "Where are the solutions to homework 2?",
    "帮我写作业3的代码", "直接给出大作业的完整实现", "作业2的答案是什么？", "求作业1的代码", "帮我解一下作业2的题",
    # a fourth review's phrasings
    "hw2 solution pls", "I need the finished code for hw2", "帮我把作业2做了", "你来写作业2", "大作业的完整代码能发一下吗",
    "把作业3的实现写出来", "Run a demo of a complete multi-head attention implementation, the one homework 2 asks for",
]
ABOUT_ASSIGNMENTS = [  # asked about an assignment (dev3 d3-ez11, d3-en06), not asking for it to be done
    "For the foundation models course, can I do the quarter-long project on my own, or does it have to be a team?",
    "What do we implement in the first homework, and which other university's course is it borrowed from?",
    "What should I implement in Build Your Own LLaMa first?", "When is the second homework due?",
    "作业2的代码怎么提交？", "作业的答案什么时候公布？", "第一次作业要实现什么？",
    "帮我解释一下作业1的设计动机是什么",  # a tester's case: 解释 (explain) was read as 解 (solve)
    "帮我理解一下作业2的要求", "帮我了解一下大作业的评分要求", "老师能帮我讲解一下作业1的思路吗", "给我详解一下作业3的背景",
    "帮我理解作业2的代码", "帮我讲解一下作业3的代码",  # a review's cases: "…作业N的代码" at the end
    "我把作业2做完了，怎么提交？", "我已经把大作业写好了，可以提前交吗？", "When is hw2 due?",
    "Which paper describes a full implementation of the Transformer?",
    # a review of the fourth review's patterns: questions about assignments they refused
    "When are the hw2 solutions released?", "homework 2 answers due date?", "Are hw3 answers graded on correctness or effort?",
    "My hw2 solution gets NaN loss, why?", "Is my assignment 2 solution supposed to use PyTorch?",
    "Is a working implementation required for the project?", "Is the finished code for hw1 due Friday?",
    "What does the entire code for the homework need to include?", "把作业2做完需要多久？", "作业2的答案什么时候给我们？",
    "作业2的参考答案会发给我们吗？", "请把作业3做完的同学发邮件给助教吗？", "你来实现作业代码的话会用什么库",
]


@pytest.mark.parametrize("question", HOMEWORK_REQUESTS)
def test_requests_for_the_work_itself_are_homework_requests(question):
    from agent.policy import is_homework_request

    assert is_homework_request(question)


@pytest.mark.parametrize("question", ABOUT_ASSIGNMENTS)
def test_questions_about_an_assignment_are_answered_not_treated_as_requests_for_it(question):
    from agent.policy import is_homework_request

    assert not is_homework_request(question)


def test_follow_up_is_rewritten_from_history(course):
    history = [{"role": "user", "content": "香农在1948年的论文叫什么？"}, {"role": "assistant", "content": "《通信的数学理论》[1]"}]
    result = _agent(course, answer_mode="extract").ask("那1951年呢？", history)
    assert result.query.startswith("香农在1948年的论文叫什么？")
    assert any("1951" in p.text for p in result.passages[:5])


def test_it_marks_a_follow_up_but_not_inside_other(course):
    """"它有什么用？" follows the question before it; "其它" (other) is no pronoun (a review's case)."""
    from agent.policy import is_follow_up

    history = [{"role": "user", "content": "什么是语言模型？"}, {"role": "assistant", "content": "…"}]
    same = _agent(course, answer_mode="extract").ask("它有什么用？", history)
    assert same.query.startswith("什么是语言模型？") and not same.refused
    assert not is_follow_up("有哪些其它的采样方法？") and not is_follow_up("有哪些其他的采样方法？")
    assert is_follow_up("他提出了什么？") and is_follow_up("她在哪篇论文里写的？")  # "he" and "she" were; 他 / 她 were not
    assert is_follow_up("What are his office hours and where?")
    # 他人 (others), 吉他 (guitar), "them" in a question of its own: no pointing back (a review's cases)
    assert not is_follow_up("如何防止模型泄露他人隐私？") and not is_follow_up("一把吉他多少钱？")
    assert not is_follow_up("Why do LLMs hallucinate and how can we detect them?")


@pytest.mark.parametrize("follow_up", ["为什么？", "why?", "举个例子", "give an example", "详细点", "能详细一点吗？",
                                       "Tell me more about the second one", "比如说？"])
def test_a_follow_up_asking_only_for_more_is_searched_with_the_question_before(course, follow_up):
    """A tester's: "why?" after a course question was answered "please ask a question in words" (no word
    of it is kept for the search), "举个例子" searched alone found examples of something else."""
    history = [{"role": "user", "content": "什么是语言模型？"}, {"role": "assistant", "content": "…"}]
    answer = _agent(course, answer_mode="extract").ask(follow_up, history)
    assert answer.query.startswith("什么是语言模型？") and not answer.refused


def test_a_follow_up_with_a_topic_of_its_own_is_judged_alone(course):
    """"And who won the 2018 World Cup?" after a course question was joined to it, and the course
    question's words covered it (answered with a quote); alone it is declined. A follow-up pointing
    back ("它有什么用？") is still judged with the question it follows."""
    history = [{"role": "user", "content": "什么是语言模型？"}, {"role": "assistant", "content": "…"}]
    agent = _agent(course, answer_mode="extract")
    joined = agent.ask("那2018年世界杯冠军是哪个国家呢？", history)
    assert joined.query.startswith("什么是语言模型？") and joined.refused
    assert not agent.ask("它有什么用？", history).refused
    # 这周末 (this weekend), 应该 (should), 其实 (actually) do not point back: judged alone, declined
    assert agent.ask("那这周末上海的天气怎么样呢？", history).refused
    assert agent.ask("那我应该去哪里买火车票呢？", history).refused


def test_a_follow_up_after_a_question_naming_an_unknown_model_keeps_that_name(course):
    """A follow-up often leaves its subject to the question before: "那训练用了多少GPU呢？" after "GPT-5 有多少
    参数？" asks about GPT-5. Judged by its own words (tried, and withdrawn after a review) such follow-ups
    were answered with GPT-3's numbers, as if they were GPT-5's."""
    for before in ("GPT-5 有多少参数？", "How many parameters does GPT-5 have?"):
        history = [{"role": "user", "content": before}, {"role": "assistant", "content": "…"}]
        agent = _agent(course, answer_mode="extract")
        for follow_up in ("那训练用了多少GPU呢？", "那上下文窗口有多长？", "What about the context window?", "And the training cost?"):
            declined = agent.ask(follow_up, history)
            assert declined.refused and "`GPT-5`" in declined.answer, (before, follow_up)


@pytest.mark.parametrize("question, phrase", [("?", "in words"), ("🤖🤖🔥", "in words"), ("[99]", "in words"),
                                              ("What is entropy? " * 300, "too long")])
def test_a_question_without_words_or_far_too_long_gets_one_sentence_and_no_search(course, question, phrase):
    result = _agent(course, answer_mode="extract").ask(question)
    assert result.refused and phrase in result.answer and result.tool_calls == [] and result.passages == []


def test_a_lone_surrogate_in_the_question_is_no_traceback(course):
    """``python -m agent ask $'\\xff…'`` passes "\\udcff" (a review's case: UnicodeEncodeError in the embedder)."""
    result = _agent(course, answer_mode="extract").ask("\udcff温度参数 T 有什么作用？",
                                                       [{"role": "user", "content": "\ud800熵"}])
    assert not result.refused and result.answer
    result.answer.encode("utf-8")


def test_reading_list_questions_use_list_readings(course):
    result = _agent(course).ask("关于涌现行为和能力应该读哪些论文？")
    assert [c.name for c in result.tool_calls] == ["list_readings"]
    assert any("syllabus-topics" in p.source for p in result.passages)


def test_reading_hits_keep_entries_when_the_list_is_named_and_add_one_when_only_a_paper_is():
    from agent.tools import reading_hits

    retriever = FakeRetriever(["香农 论文 通信的数学理论 信息论", "香农 论文 熵", "阅读材料：香农 论文 1948"])
    retriever.chunks[2].meta["kind"] = "reading-list"
    assert [h.chunk.id for h in reading_hits(retriever, "香农 论文", 2)] == ["fake3"]  # entries only
    assert [h.chunk.id for h in reading_hits(retriever, "香农 论文", 2, entries_only=False)] == ["fake1", "fake3"]
    assert [h.chunk.id for h in reading_hits(retriever, "香农 论文", 3, entries_only=False)] == ["fake1", "fake2", "fake3"]
    # one passage asked for (the page's k can be 1): the search's best, not the entry in its place
    assert [h.chunk.id for h in reading_hits(retriever, "香农 论文", 1, entries_only=False)] == ["fake1"]
    retriever.chunks[2].meta["kind"] = "notes"  # no entry anywhere: the search's best, as found
    assert [h.chunk.id for h in reading_hits(retriever, "香农 论文", 2)] == ["fake1", "fake2"]
    assert [h.chunk.id for h in reading_hits(retriever, "香农 论文", 2, entries_only=False)] == ["fake1", "fake2"]


def test_a_reading_lists_table_of_contents_comes_after_its_entries():
    # "Which paper on the reading list treats in-context learning as Bayesian inference?" found the
    # syllabus's contents first and quoted its section links; the entry holding the paper is shown first now
    # ("What topics does the reading list cover?" keeps the contents: a review's)
    from agent.tools import reading_hits

    contents = "阅读材料 论文 主题：[基础知识](#基础知识) [贝叶斯推理](#贝叶斯推理) [社会影响](#社会影响) 贝叶斯 论文 阅读 主题"
    retriever = FakeRetriever([contents, "阅读材料：[将上下文学习解释为隐式贝叶斯推理](https://arxiv.org/abs/2111.02080)",
                               "阅读材料：[涌现能力](https://arxiv.org/abs/2206.07682)"])
    for chunk in retriever.chunks:
        chunk.meta["kind"] = "reading-list"
    assert retriever.search("贝叶斯 论文 阅读", 3)[0].chunk.id == "fake1"  # the contents is the search's best
    assert [h.chunk.id for h in reading_hits(retriever, "贝叶斯 论文 阅读", 2)] == ["fake2", "fake3"]
    assert [h.chunk.id for h in reading_hits(retriever, "贝叶斯 论文 阅读", 3)] == ["fake2", "fake3", "fake1"]  # kept, last
    # asking what the list covers, not for a paper: the contents answers it, where the search put it
    assert retriever.search("阅读 主题", 3)[0].chunk.id == "fake1"
    assert [h.chunk.id for h in reading_hits(retriever, "阅读 主题", 2)] == ["fake1", "fake2"]
    retriever.chunks[1].meta["kind"] = retriever.chunks[2].meta["kind"] = "notes"
    assert [h.chunk.id for h in reading_hits(retriever, "贝叶斯 论文 阅读", 2)] == ["fake1"]  # the only entry


def test_a_paper_question_the_notes_answer_finds_the_notes_with_a_reading_entry_beside(course):
    # names a paper (论文 routes to list_readings) but asks about one the notes discuss: the reading
    # list alone had lost it (the notes were searched only after the scope guard declined the list)
    from agent.prompts import phrase
    from agent.tools import is_reading, reading_hits

    result = _agent(course, answer_mode="extract").ask("香农在哪篇论文中奠定了信息理论的基础？")
    assert [c.name for c in result.tool_calls] == ["list_readings"]
    assert not result.refused
    assert any("通信的数学理论" in p.text for p in result.passages)
    # the notes' search, with one place at least for the reading list or the schedule
    s, retriever = course
    expected = reading_hits(retriever, result.query, 5, entries_only=False)
    assert [p.chunk_id for p in result.passages] == [h.chunk.id for h in expected]
    assert [h.chunk.id for h in expected[:4]] == [h.chunk.id for h in retriever.search(result.query, 5)[:4]]
    assert any(is_reading(h) for h in expected) and not is_reading(expected[0])
    assert not result.answer.startswith(phrase("readings_intro", "zh"))  # the notes answer it, not a list
    # and the status line says what was done: a search of the notes, not a listing of readings
    statuses = [e.text for e in _agent(course, answer_mode="extract").stream("香农在哪篇论文中奠定了信息理论的基础？")
                if isinstance(e, Status)]
    assert any(t.startswith("searching…") for t in statuses) and not any("listing readings" in t for t in statuses)


def test_a_question_naming_the_list_the_entries_do_not_cover_searches_the_notes(course):
    # a hostile review's case: "读什么" names the list, but the notes answer it; declined when the
    # notes' search after the entries was taken out
    result = _agent(course, answer_mode="extract").ask("读什么可以了解香农的信息论？")
    assert [c.name for c in result.tool_calls] == ["list_readings", "search_course"]
    s, retriever = course
    assert [p.chunk_id for p in result.passages] == [h.chunk.id for h in retriever.search(result.query, 5)]
    # with the scope guard off nothing is declined, so the entries are not second-guessed
    off = _agent(course, answer_mode="extract", grounded_only=False).ask("读什么可以了解香农的信息论？")
    assert [c.name for c in off.tool_calls] == ["list_readings"]


def test_code_demo_runs_and_shows_its_result(course):
    result = _agent(course).ask("请运行这段代码：\n```python\nimport math\nprint(round(math.log2(8), 1))\n```")
    assert [c.name for c in result.tool_calls] == ["run_python"]
    assert result.code_runs[0].ok and "3.0" in result.answer


@pytest.mark.parametrize("question", ["运行一下这段代码：\nimport math\nnumPoints = 8\nprint(round(math.log2(numPoints), 1))",
                                      "老师好，\n请帮我跑一下这段代码：\n    import math\n    print(round(math.log2(8), 1))",
                                      "帮我运行一下：import math; print(round(math.log2(8), 1))", "Run print(round(3, 1) * 1.0)",
                                      "Run this: import math\nprint(round(math.log2(8), 1))",
                                      "import math\nprint(round(math.log2(8), 1))\n运行一下这段代码",
                                      "Run this: import math\nx = 8\nx += 0\nprint(round(math.log2(x), 1))"])
def test_a_demo_request_runs_the_code_it_brings_without_a_fence(course, question):
    # pasted without a fence, the student's code was taken for prose: the notes' heart-plot code was
    # shown instead, or the guard declined the request (a review's case); after a greeting, indented;
    # on the request's own line, or above a last line asking to run it (the heart plot was shown)
    result = _agent(course).ask(question)
    assert [c.name for c in result.tool_calls] == ["run_python"] and result.passages == []
    assert result.code_runs[0].ok and "3.0" in result.answer and "Heart" not in result.answer


@pytest.mark.parametrize("question", [
    "Run this:\n>>> import math\n>>> math.log2(8)\n3.0",
    "运行一下\n```python\n>>> import math\n>>> for n in (8,):\n...     print(math.log2(n))\n...\n3.0\n```",
    "帮我跑一下：\n  >>> import math\n  >>> math.log2(8)  # 以2为底\n  3.0",
    "Run:\n>>> sys = 3.0  # a name of the session's own\n>>> sys\n3.0",
    "Run it\n```pycon\n>>> import math\n>>> xs = [8]\n>>> xs.sort()\n>>> math.log2(xs[0]), 1\n(3.0, 1)\n>>> _[0]\n3.0\n```"])
def test_a_copied_interactive_session_runs_as_its_program(course, question):
    # copied from a REPL or the docs, the prompts made a SyntaxError in a fence and prose without one;
    # what the session showed is shown again, and nothing else (a review: "None" after xs.sort())
    result = _agent(course).ask(question)
    assert [c.name for c in result.tool_calls] == ["run_python"] and result.passages == []
    run = result.code_runs[0]
    assert run.ok and ">>>" not in run.code, run
    assert run.stdout.split() in (["3.0"], ["(3.0,", "1)", "3.0"]), run


@pytest.mark.parametrize("question", ["Run this:\n>>> import math\n>>> x = math.sqrt(2)\nprint(x)",
                                      "运行一下\n>>> 1/0\nTraceback (most recent call last):\nZeroDivisionError\n>>> print('after')\nafter",
                                      "运行一下\n>>> for x in [1, 0]:\n...     print(1/x)\n...\n1.0\nTraceback (most recent call last):\n"
                                      "ZeroDivisionError: division by zero\n>>> print('after')\nafter"])
def test_a_session_that_is_not_only_a_session_is_not_run_as_one(course, question):
    # two reviews: the plain line after the prompts was dropped, and a program stops at the error the REPL
    # went past (also after output of its own)
    result = _agent(course).ask(question)
    assert not any("math.sqrt(2)" in run.code or "after" in run.code for run in result.code_runs), result.code_runs


@pytest.mark.parametrize("question", ["执行 `loss.backward()` 时发生了什么？", "演示一下温度T的影响:\np = softmax(logits / T)",
                                      "运行：\n画心形图(1)", "我运行这段代码报错了，为什么？\nimport numpy as np\nx = np.array([1,2,3]\nprint(x)",
                                      "运行时报错了\nimport math\nprint(math.pi)",
                                      "import math\nprint(math.pi)\n别运行，这段代码危险吗？", "Don't run: import math; print(math.pi)",
                                      "import math\nprint(math.pi)\nWhy doesn't this run?", "Run this: print(math.pi)",
                                      "Run a demo of max(3, 5)", "Run print(1) then print(2)",
                                      "帮我解释这段代码：import math; math.floor(1.5); print(math.pi)",
                                      "import math\nRun print(math.pi)", "Run x = math.pi\nprint(3.0)"])
def test_what_is_not_a_program_brought_to_run_is_not_run(course, question):
    # a second review's cases: a span in a question, a formula, Chinese before "(", code cut down to
    # the part that compiles, "at run time" were run, and failed with a NameError; later reviews': code
    # after a request on its line that a negation, a question or another verb opens, a question after
    # the code, prose on the request's line taken for code
    result = _agent(course).ask(question)
    assert not any(run.code.strip() in question for run in result.code_runs), question


@pytest.mark.parametrize("follow_up", ["运行一下它", "演示一下它", "Run it"])
def test_the_office_hours_preview_of_a_follow_up_demo_is_the_code_it_runs(course, follow_up):
    """The office-hours page shows a demo's code before running it (Agent.demo_code); a follow-up
    was searched alone there and joined to the question it follows when run (a review's case)."""
    history = [{"role": "user", "content": "画心形图的代码是怎么写的？"}, {"role": "assistant", "content": "…"}]
    agent = _agent(course, answer_mode="extract")
    assert agent.demo_code(follow_up) is None  # alone it names nothing the notes hold code for
    shown = agent.demo_code(follow_up, history=history)
    assert shown is not None and "Heart Shape" in shown
    answered = agent.ask(follow_up, history)  # the slide's block is cut off ("- np"): shown as found, not run
    assert answered.mode == "code" and answered.code_runs == [] and f"```python\n{shown}\n```" in answered.answer


@pytest.mark.parametrize("earlier, question", [
    ("熵是什么？", "运行一下它"), ("心形图是什么？", "画一下它"), ("What is the capital of Australia?", "Run it"),
    ("", "帮我完成作业2的代码并运行：```python\nprint('hw2')\n```"), ("画心形图的代码是怎么写的？", "Run it"),
])
def test_a_demo_is_previewed_only_when_its_answer_would_show_that_code(course, earlier, question):
    """The preview skipped the checks the answer makes first (a tester's cases): a homework request
    previewed its code, and off-topic follow-ups previewed code the answer then declined to show."""
    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "…"}] if earlier else []
    agent = _agent(course, answer_mode="extract")
    shown = agent.demo_code(question, history=history)
    answered = agent.ask(question, history)
    if answered.refused or answered.mode == "homework":
        assert shown is None, (answered.mode, shown)
    else:
        assert shown is not None and answered.mode == "code" and shown in answered.answer
    # a history entry without text (or without content) is no question asked before
    assert agent.demo_code(question, history=[{"role": "user"}, {"role": "user", "content": None}] + history) == shown


# the phrases an answer's quotes (or written sentences) follow: part of the checked answer
LEAD_INS = ["extract_intro", "homework", "no_code_intro", "no_code_translated_intro", "no_code_untranslated_intro",
            "translated_intro", "untranslated_intro", "readings_intro", "readings_translated_intro"]


@pytest.mark.parametrize("key", LEAD_INS)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_lead_in_is_no_claim_for_the_citation_check(key, language):
    """A sentence break inside a lead-in made its first half an uncited claim: every homework answer
    and every no-code demo showed citation recall 0.5 (reviews' cases). One clause ending in a colon."""
    from agent.citations import verify
    from agent.prompts import phrase

    answer = phrase(key, language) + "\n- 温度参数 T 控制采样的随机性。 [1]"
    result = verify(answer, ["温度参数 T 控制采样的随机性。"])
    assert [s.text for s in result.sentences] == ["- 温度参数 T 控制采样的随机性。"] and result.recall == 1.0


def test_a_fenced_example_sentence_is_not_run_as_a_demo(course):
    """The notes fence the Shannon game's prompt ("the mouse ate my ho_"); a bare string compiles, so
    "运行一下香农游戏的例子" "ran" it and showed nothing (a tester's case). It is answered from the notes."""
    result = _agent(course, answer_mode="extract").ask("运行一下香农游戏的例子")
    assert result.code_runs == [] and result.mode == "extract"
    assert result.answer.startswith("课程材料中没有这个演示的代码")


def test_a_demo_the_notes_hold_no_code_for_quotes_what_they_say(course):
    """"演示一下温度采样" (a tester's case) answered "I found no code to run" although the notes work
    the example through; now it says there is no code and quotes them."""
    result = _agent(course, answer_mode="extract").ask("演示一下温度参数 T 对采样分布的影响")
    assert not result.refused and result.mode == "extract" and result.code_runs == []
    assert result.answer.startswith("课程材料中没有这个演示的代码") and "温度" in result.answer
    assert result.citations and all(c.verdict == "supported" for c in result.citations)
    assert result.verification.recall == 1.0  # the lead-in is no claim without a citation


@pytest.mark.parametrize("k", [3, 5, 10, 20])
def test_citation_numbers_map_to_the_right_chunks_at_any_k(course, k):
    s, retriever = course
    hits = retriever.search("香农 熵 交叉熵", k)
    target = next(i for i, h in enumerate(hits, start=1) if "交叉熵" in h.text)
    model = ScriptedToolModel(responses=[
        tool_call("search_course", {"query": "香农 熵 交叉熵", "k": k}),
        AIMessage(content=f"{hits[target - 1].text.split('。')[0]}。[{target}]"),
    ])
    result = _agent(course, model=model, agent_strategy="tools", retrieval_k=k).ask("什么是交叉熵？")
    assert len(result.passages) == k
    cite = result.citations[0]
    assert cite.n == target and cite.chunk_id == hits[target - 1].chunk.id and cite.verdict == "supported"
    # reloading the saved answer maps the same numbers to the same chunks
    saved = json.loads(json.dumps(result.public_dict()))
    assert saved["passages"][target - 1]["chunk_id"] == cite.chunk_id


def test_unknown_provider_is_one_sentence(course):
    result = _agent(course, model=None, llm="claude3:opus", answer_mode="generate").ask("What does the temperature T do?")
    assert result.error and "unknown LLM provider 'claude3'" in result.error and "Traceback" not in result.error


class _OpenAIHandler(BaseHTTPRequestHandler):
    requests: list = []
    answer = "温度参数 [1]。"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        text = type(self).answer
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in (text[:10], text[10:]):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            done = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
        else:
            payload = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


@pytest.fixture
def openai_server():
    _OpenAIHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_server_with_and_without_streaming(course, openai_server):
    from langchain_core.messages import HumanMessage

    s, _ = course
    _OpenAIHandler.answer = _first_sentence_of_top_passage(course, "采样时的温度参数 T 起什么作用？") + " [1]。"
    backend = get_chat_model(s.override(llm="openai:tiny-test", llm_base_url=openai_server, llm_api_key="k").agent,
                             cache_dir=None)
    assert backend.supports_tools and not backend.prefers_quotes
    llm = backend.model()
    assert llm.invoke([HumanMessage("hi")]).content == _OpenAIHandler.answer
    assert len([c for c in llm.stream([HumanMessage("hi")]) if c.content]) == 2
    assert _OpenAIHandler.requests[-1]["model"] == "tiny-test" and _OpenAIHandler.requests[-1]["stream"] is True

    agent = _agent(course, llm="openai:tiny-test", llm_base_url=openai_server, agent_strategy="route", answer_mode="generate")
    result = agent.ask("采样时的温度参数 T 起什么作用？")
    assert result.error is None and result.citations[0].verdict == "supported"
    sent = _OpenAIHandler.requests[-1]["messages"]
    assert sent[0]["role"] == "system" and "[1]" in sent[1]["content"]


def test_unreachable_server_is_one_sentence(course):
    agent = _agent(course, llm="openai:x", llm_base_url="http://127.0.0.1:9/v1", llm_timeout_s=2,
                   agent_strategy="route", answer_mode="generate")
    result = agent.ask("What does the temperature T do when sampling?")
    assert result.error and "cannot reach the model server at http://127.0.0.1:9/v1" in result.error


def test_cli_ask_json(course_corpus, tmp_path):
    env = {"COURSETA_EMBEDDER": "hash:64", "COURSETA_DATA_DIR": str(tmp_path / "d"), "COURSETA_CORPUS_DIR": str(course_corpus),
           "COURSETA_ANSWER_MODE": "extract"}
    import os

    full_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "retrieval", "ingest"], env=full_env, cwd=REPO, check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-m", "agent", "ask", "采样时的温度参数 T 起什么作用？", "--json"],
                         env=full_env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(data) >= {"answer", "citations", "tool_calls", "timings", "refused"}
    assert data["citations"] and {"n", "chunk_id", "source", "title", "page", "verdict", "score",
                                  "supporting_sentence"} <= set(data["citations"][0])
    assert any(c["verdict"] == "supported" for c in data["citations"])


def _prepare(monkeypatch, tmp_path, llm, load_gguf=None, **env) -> int:
    """``python -m agent prepare`` with ``llm`` over ``tmp_path/data``; ``load_gguf`` stands in for the
    GGUF conversion (and the packaged chunks are taken as joined)."""
    from agent import packaged_models, transformers_chat
    from agent.__main__ import main
    from settings import get_settings

    if load_gguf is not None:
        monkeypatch.setattr(packaged_models, "assemble", lambda spec, models_dir: Path(models_dir) / spec.filename)
        monkeypatch.setattr(transformers_chat, "load_gguf", load_gguf)
    for key, value in {"COURSETA_DATA_DIR": str(tmp_path / "data"), "COURSETA_LLM": llm, **env}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        return main(["prepare"])
    finally:
        get_settings.cache_clear()


def test_prepare_skips_model_servers_and_says_why_a_model_cannot_load(tmp_path, monkeypatch, capsys):
    cases = (("openai:m", 0, "nothing to prepare (a model server)"), ("local:bundled", 0, "nothing to prepare"),
             ("local:llama-70b", 2, "unknown local model"), ("claude3:opus", 2, "unknown LLM provider"),
             ("bundled", 2, "provider:model"))
    for llm, rc, says in cases:
        assert _prepare(monkeypatch, tmp_path, llm) == rc, llm
        out = capsys.readouterr()
        assert says in out.out + out.err and "Traceback" not in out.err, llm
    # an invalid setting: one sentence, not a traceback
    assert _prepare(monkeypatch, tmp_path, "local:bundled", COURSETA_RETRIEVAL_K="0") == 2
    assert "retrieval_k" in capsys.readouterr().err


def test_prepare_makes_the_writers_converted_copy_once(tmp_path, monkeypatch, capsys):
    from agent import transformers_chat

    made = []

    def fake_load_gguf(gguf, cached, dtype=None, source_sha256=""):
        made.append(gguf)
        cached.mkdir(parents=True)
        (cached / "config.json").write_text("{}")
        (cached / transformers_chat.SOURCE_FILE).write_text(source_sha256)  # as load_gguf records it

    writer = "local:qwen2.5-coder-0.5b"
    assert _prepare(monkeypatch, tmp_path, writer, fake_load_gguf) == 0
    assert _prepare(monkeypatch, tmp_path, writer, fake_load_gguf) == 0
    assert len(made) == 1 and made[0].name.endswith(".gguf")  # converted once; the second run found the copy
    assert "ready on disk" in capsys.readouterr().out
    # a copy made before the source was recorded (or from another file) is made again
    cached = next((tmp_path / "data" / "models").glob("*/config.json")).parent
    (cached / transformers_chat.SOURCE_FILE).unlink()
    assert _prepare(monkeypatch, tmp_path, writer, fake_load_gguf) == 0
    assert len(made) == 2


def test_prepare_says_in_one_sentence_when_the_conversion_fails(tmp_path, monkeypatch, capsys):
    def broken(gguf, cached, dtype=None, source_sha256=""):
        raise ValueError("tensor 'blk.0' has an unknown type")  # what a parser may raise on a bad file

    assert _prepare(monkeypatch, tmp_path, "local:qwen2.5-coder-0.5b", broken) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


@pytest.mark.slow
def test_bundled_model_end_to_end(course, tmp_path):
    """The real SmolLM2-135M once: a few tokens on CPU, citations still verified."""
    agent = _agent(course, model=None, llm="local:bundled", answer_mode="generate", llm_max_new_tokens=24,
                   data_dir=tmp_path / "models-home")
    result = agent.ask("What does the temperature T do when sampling from a language model?")
    assert result.error is None, result.error
    # the model wrote (first token timed); what is shown is its supported sentences, else quotes
    assert result.mode in ("generate", "extract") and result.answer.strip()
    assert result.verification.recall == 1.0
    assert result.timings["first_token_s"] > 0 and result.passages
    assert result.timings["prompt_tokens"] > 50  # the prompt size comes back as usage_metadata


def test_model_state_for_the_sidebar(course, openai_server):
    assert "not needed" in _agent(course).model_state()
    assert _agent(course, llm="openai:m", llm_base_url=openai_server).model_state(wait_s=10) == "reachable"
    assert _agent(course, llm="openai:m", llm_base_url="http://127.0.0.1:9/v1").model_state(wait_s=10).startswith("unreachable")
    assert _agent(course, model=scripted_writer("x")).model_state() == "ready"


def test_the_health_check_never_blocks_the_page(course):
    """A server that accepts the connection but never answers: the sidebar gets 'checking…' at once."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        agent = _agent(course, llm="openai:m", llm_base_url=f"http://127.0.0.1:{silent.getsockname()[1]}/v1")
        t0 = time.perf_counter()
        assert agent.model_state() == "checking…"
        assert agent.model_state() == "checking…"  # a second rerun does not start a second probe
        assert time.perf_counter() - t0 < 0.5
    finally:
        silent.close()


class _InterleavingRetriever:
    """Wraps a retriever so that every search waits until the other user's search has started:
    two questions are then always in flight on the shared agent at the same moment."""

    def __init__(self, inner, parties: int = 2):
        self._inner = inner
        self._barrier = threading.Barrier(parties, timeout=10)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def search(self, query, k=5):
        try:
            self._barrier.wait()
        except threading.BrokenBarrierError:  # the other user's turn asked no more searches
            pass
        return self._inner.search(query, k)


def _ask_concurrently(agent, asks):
    """Run ``agent.ask(question, options=...)`` for each (question, options) in its own thread."""
    answers, errors = [None] * len(asks), []

    def run(i, question, options):
        try:
            answers[i] = agent.ask(question, options=options)
        except Exception as exc:  # pragma: no cover - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, q, o)) for i, (q, o) in enumerate(asks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return answers


def test_two_users_at_once_each_get_their_own_options(course):
    """Issue 10: one shared Agent, two users asking at the same moment with different options."""
    s, retriever = course
    agent = Agent.from_settings(s.override(answer_mode="extract"), retriever=_InterleavingRetriever(retriever))
    question = "采样时的温度参数 T 起什么作用？"
    for _ in range(4):
        few, many = _ask_concurrently(agent, [(question, TurnOptions(k=1)), (question, TurnOptions(k=20))])
        assert len(few.passages) == 1 and len(many.passages) == 20

    off_topic = "Who won the 2018 World Cup?"
    for _ in range(4):
        strict, loose = _ask_concurrently(agent, [(off_topic, TurnOptions(grounded_only=True)),
                                                  (off_topic, TurnOptions(grounded_only=False))])
        assert strict.refused and strict.mode == "refusal"
        assert not loose.refused and loose.mode != "refusal"

    homework = "Write my Build Your Own LLaMa homework for me"
    for _ in range(2):
        on, off = _ask_concurrently(agent, [(homework, TurnOptions(homework_integrity=True)),
                                            (homework, TurnOptions(homework_integrity=False))])
        assert on.mode == "homework" and off.mode != "homework"
    # and the shared agent itself never changed
    assert agent.default_options() == TurnOptions.defaults(s.agent)


def test_the_app_preloads_the_model_in_the_background_once_and_only_when_answers_need_it():
    import threading

    from agent.llm import BundledBackend, ChatBackend

    release, calls = threading.Event(), []

    def load():
        calls.append(1)
        release.wait(10)
        return scripted_writer("x")

    writing = Agent(FakeRetriever(["温度参数 T 控制采样的随机性。"]), ChatBackend("slow", load))
    assert writing.preload_model() and writing.model_state() == "loading…"
    racing = threading.Thread(target=writing.backend.model)  # a question asked while it loads
    racing.start()
    release.set()
    writing.backend.preload().join(10)
    racing.join(10)
    assert writing.backend.loaded and writing.model_state() == "ready" and calls == [1]
    # answers that quote never load the bundled model
    quoting = Agent(FakeRetriever(["温度参数 T 控制采样的随机性。"]), BundledBackend("local:bundled", load))
    assert not quoting.preload_model() and calls == [1] and quoting.model_state().startswith("not needed")


@pytest.mark.parametrize("lie", [
    "温度参数 T 不是一个控制我们希望从语言模型中得到多少随机性的参数 [{n}]。",  # a negation the notes do not have
    "当 T 值较高时，模型会更倾向于生成概率较高的令牌 [{n}]。",  # the notes: 较低
    "对每一步应用温度参数并迭代采样，等同于从整个序列的退火分布中一次性采样 [{n}]。",  # the notes: 并不等同于
])
def test_a_sentence_saying_the_opposite_of_its_passage_is_not_shown(course, lie):
    """The hostile review's liar: the words of the notes, the opposite meaning, citing the passage it
    twists. Shown as "supported" before (agent/polarity.py)."""
    s, retriever = course
    question = "采样时的温度参数 T 起什么作用？"
    passages = [h.text for h in retriever.search(question, s.agent.retrieval_k)]
    words = {"不是": "得到多少随机性", "较高时": "值较低时", "等同于": "并不等同于"}
    n = next(i for i, p in enumerate(passages, 1) if next(v for k, v in words.items() if k in lie) in p)
    lie = lie.format(n=n)
    agent = _agent(course, model=scripted_writer(lie), answer_mode="generate", agent_strategy="route")
    result = agent.ask(question)
    assert lie.split(" [")[0] not in result.answer, result.answer



def test_a_quote_cites_each_sentence_from_its_own_passage_without_bare_lead_ins_or_lone_formulas():
    """A tester's: "例如： 具体来说…" (the formula "例如：" led in to was left out), a formula alone quoted from
    passage 2 ("- $p(x_i)$ [1]。": the citation check gave it the first passage holding it), and the first
    sentences of each bullet cited by the check ("added"), not by the quote."""
    from tests.fakes import scripted_backend

    table = " \\\\ ".join(f"p_{{T={t}}}(\\text{{cheese}}) &= {t / 3:.2f}" for t in range(1, 30))  # a long formula, not quoted
    notes = [f"温度参数会把概率提高到 $1/T$ 的次方。例如：\n\n$$\\begin{{aligned}} {table} \\end{{aligned}}$$\n\n"
             "具体来说，温度参数会应用于每一步的 $p(x_i)$ 。",
             "自回归语言模型可以有效计算出每个条件概率分布\n\n$p(x_i)$ 。\n\n其中 $T$ 是控制随机性的温度参数。"]
    agent = Agent(FakeRetriever(notes), scripted_backend("x", prefers_quotes=True))
    answer = agent.ask("温度参数起什么作用？", options=TurnOptions(k=2))
    assert "例如：" not in answer.answer and "- $p(x_i)$" not in answer.answer
    shown = " ".join(answer.answer.split())
    assert "次方 [1]。" in shown and "每一步的 $p(x_i)$ [1]。" in shown
    assert answer.citations and not any(c.added for c in answer.citations)
    assert all(c.verdict == "supported" for c in answer.citations)


def test_a_bold_span_cut_by_the_sentence_split_leaves_no_stray_asterisks():
    """A tester's: "- Output:** Stanford", "- **Below is an example [4]": the page draws only pairs."""
    from tests.fakes import scripted_backend

    notes = ["**Below is an example of the output. Output:** Stanford CS324 teaches language models."]
    agent = Agent(FakeRetriever(notes), scripted_backend("x", prefers_quotes=True))
    answer = agent.ask("What is the example output of Stanford CS324?", options=TurnOptions(k=1, grounded_only=False))
    assert "Below is an example" in answer.answer and "Stanford CS324" in answer.answer
    assert "**" not in answer.answer


def test_a_passages_own_reference_numbers_are_not_read_as_citations():
    """A hostile test's case: "…self-attention [2]." was quoted as "…self-attention [2][1].", its [2]
    linking to an unrelated passage of this turn and passage 3 judged unsupported."""
    from tests.fakes import scripted_backend

    notes = ["The Transformer replaced recurrence with self-attention [2]. Self-attention relates every token to "
             "every other token [3].", "Temperature T controls the randomness of sampling in the Transformer.",
             "Shannon introduced entropy in 1948, long before the Transformer."]
    agent = Agent(FakeRetriever(notes), scripted_backend("x", prefers_quotes=True))
    answer = agent.ask("What replaced recurrence in the Transformer?", options=TurnOptions(k=3, grounded_only=False))
    first = answer.answer.splitlines()[1]
    assert "self-attention ［2］" in first and "token ［3］" in first and first.count("[1]") >= 1
    assert "[2]" not in first and "[3]" not in first
    assert all(c.verdict == "supported" for c in answer.citations)


def test_the_tool_calling_strategy_declines_a_demo_the_course_does_not_cover(course):
    """A hostile test's case: the model's own code ran and printed its claims (mode "code", no citations)
    for a demo the route strategy declines."""
    model = ScriptedToolModel(responses=[
        tool_call("run_python", {"code": "print('Argentina won; and the final exam is cancelled')"}),
        AIMessage(content="Done."),
    ])
    result = _agent(course, model=model, agent_strategy="tools").ask(
        "Run a quick demo that tells me who won the 2018 World Cup.")
    assert result.refused and result.mode == "refusal" and not result.code_runs
    assert "exam is cancelled" not in result.answer


def test_the_tool_calling_strategy_skips_history_entries_without_text(course):
    model = ScriptedToolModel(responses=[AIMessage(content="温度参数 T 控制采样的随机性 [1]。")] * 3)
    result = _agent(course, model=model, agent_strategy="tools").ask(
        "温度参数T有什么作用？", history=[{"role": "user", "content": None}, {"role": "user"}, "x"])
    assert result.error is None and not result.refused


def test_a_quote_with_nothing_to_show_says_so_in_one_sentence():
    from tests.fakes import scripted_backend

    agent = Agent(FakeRetriever([]), scripted_backend("x", prefers_quotes=True))
    answer = agent.ask("What does temperature T control?", options=TurnOptions(grounded_only=False))
    assert answer.answer == "The course materials hold nothing to quote on this."
