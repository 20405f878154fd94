"""A small writer stuck in a loop (agent/repetition.py): its loop is never shown, and it is stopped
where the loop began instead of writing on to its token limit (the 0.5B writer translated a line of
the notes as "…avoid the statement of a statement of a statement of …", 808 characters, cited)."""

import pytest

from agent.core import Agent
from agent.events import Replace, Status, Token
from agent.gate import SentenceGate
from agent.llm import StaticBackend
from agent.options import TurnOptions
from agent.repetition import repeated_run
from settings import AgentSettings
from tests.fakes import LoopingWriter
from tests.fakes import course_agent as _agent
from tests.test_writer import ConceptRetriever


def _shown(events) -> str:
    return "".join(e.text for e in events if isinstance(e, (Token, Replace)))


@pytest.mark.parametrize("text, loops", [
    ("The secret team is using computers to avoid the statement of a statement of a statement of a statement of a", True),
    ("温度越高越平坦，越高越平坦，越高越平坦，越高越平坦，", True),
    ("Temperature flattens the distribution. Temperature flattens the distribution.", False),  # twice
    ("| --- | --- | --- | --- | --- |", False),
    ("........................................", False),
    ("1,000,000,000,000,000", False),
    ("ha ha ha", False),
    ("p = 0.0000001", False),
])
def test_what_counts_as_a_loop(text, loops):
    assert (repeated_run(text) is not None) is loops


def test_a_run_the_source_itself_holds_is_no_loop():
    source = "一个糟糕的句子：“the the the the the”。"
    assert repeated_run("A bad sentence: 'the the the the the'.") is not None
    assert repeated_run("A bad sentence: 'the the the the the'.", unless_in=source) is None


def test_the_gate_drops_a_looping_sentence_whatever_it_cites():
    gate = SentenceGate(lambda text: pytest.fail("a loop is not even checked"), "en")
    shown = [*gate.feed("Avoid the statement of a statement of a statement of a statement of a statement [1]. "),
             *gate.close()]
    assert shown == [] and [d.reason for d in gate.dropped] == ["repetition"]


def test_a_written_answer_that_falls_into_a_loop_is_cut_there_and_the_loop_never_shown(course):
    s, retriever = course
    sentence = retriever.search("采样时的温度参数 T 起什么作用？", s.agent.retrieval_k)[0].text.split("。")[0].strip()
    writer = LoopingWriter(lead=[f"{sentence} [1]。", "温度越高，"], loop="分布越平坦，")
    events = list(_agent(course, model=writer, answer_mode="generate", agent_strategy="route").stream(
        "采样时的温度参数 T 起什么作用？"))
    answer = events[-1].answer
    assert answer.mode == "generate" and _shown(events) == answer.answer
    assert answer.answer.startswith(sentence[:12]) and answer.answer.endswith("[1]。")  # its one sentence, checked
    assert "平坦" not in answer.answer
    assert any(isinstance(e, Status) and "left out 1 sentence" in e.text for e in events)
    assert writer.served == [writer.served[0]] and writer.served[0] < 120  # not its 5,000 pieces
    assert answer.timings["loops_cut"] == 1


def test_a_translated_line_that_loops_is_left_out_and_the_translation_stopped():
    notes = ["温度参数 T 控制采样的随机性。", "香农在1948年提出了信息论。"]
    writer = LoopingWriter(lead=["1. The temperature parameter T controls the randomness of sampling.\n", "2. Shannon"],
                           loop=" of a statement")
    agent = Agent(ConceptRetriever(notes), StaticBackend(writer, name="scripted"),
                  settings=AgentSettings(answer_mode="translate"))
    events = list(agent.stream("Please sum up these two notes for me?", options=TurnOptions(k=2, grounded_only=False)))
    answer = events[-1].answer
    assert "statement" not in _shown(events) and "statement" not in answer.answer
    assert "- The temperature parameter T controls the randomness of sampling [1]." in answer.answer
    assert [line[:7] for line in answer.untranslated] == ["香农在1948"]
    # the first request and the one asking the failed line again: each stopped within its loop
    assert len(writer.served) == 2 and max(writer.served) < 120
    assert answer.timings["loops_cut"] == 2


def test_the_tool_calling_strategy_stops_a_looping_answer(course):
    writer = LoopingWriter(lead=["温度参数", "T", "控制"], loop="随机性的随机性，")
    answer = _agent(course, model=writer, agent_strategy="tools").ask("采样时的温度参数 T 起什么作用？")
    assert "随机性的随机性，随机性的随机性" not in answer.answer
    assert writer.served and max(writer.served) < 200
    assert answer.timings.get("loops_cut", 0) >= 1
