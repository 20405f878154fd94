"""A small writer stuck in a loop (agent/repetition.py): its loop is never shown, and it is stopped
where the loop began instead of writing on to its token limit (the 0.5B writer translated a line of
the notes as "…avoid the statement of a statement of a statement of …", 808 characters, cited).
Cases marked "review" come from a hostile review of the first version."""

from types import SimpleNamespace as NS

import pytest
from langchain_core.messages import AIMessage

from agent.core import Agent
from agent.events import Replace, Status, Token
from agent.gate import SentenceGate
from agent.line_translation import LineTranslation
from agent.llm import StaticBackend
from agent.options import TurnOptions
from agent.repetition import LoopWatch, repeated_run
from agent.strategies.route import RouteStrategy
from settings import AgentSettings
from tests.fakes import LoopingWriter, RecordingWriter
from tests.fakes import course_agent as _agent
from tests.test_writer import ConceptRetriever

SENTENCE = "The temperature parameter T controls the randomness of sampling [1]. "  # 69 characters


def _shown(events) -> str:
    return "".join(e.text for e in events if isinstance(e, (Token, Replace)))


@pytest.mark.parametrize("text", [
    "The secret team is using computers to avoid the statement of a statement of a statement of a statement of a",
    "温度越高越平坦，越高越平坦，越高越平坦，越高越平坦，",
    SENTENCE * 4,  # review: a whole sentence over and over (a group longer than 60 characters)
    "Temperature controls randomness [1]. Shannon proposed entropy [2]. " * 4,  # review: two sentences in turn
    "Temperature controls randomness [1]. Temperature controls randomness [2]. "
    "Temperature controls randomness [3]. Temperature controls randomness [4].",  # review: citations cycling
    "温度参数控制随机性的" + "的，" * 16,  # one Chinese character over and over (let through until 2026-12-05)
    "答案是：" + "是" * 20,
])
def test_a_loop_is_found(text):
    assert repeated_run(text) is not None


@pytest.mark.parametrize("text", [
    "Temperature flattens the distribution. Temperature flattens the distribution.",  # twice
    "| --- | --- | --- | --- | --- |", "........................................", "1,000,000,000,000,000",
    # review: answer text the first version took for loops
    "BERT pads short inputs: [CLS] a b [SEP] [PAD] [PAD] [PAD] [PAD] [PAD] [PAD] [PAD].",
    "P(AAAA) = P(A)P(A)P(A)P(A)P(A)P(A)", "| Qwen2.5 | Yes | Yes | Yes | Yes | Yes | Yes |",
    "| N/A | N/A | N/A | N/A | N/A | N/A | N/A |", "| 支持 | 支持 | 支持 | 支持 | 支持 | 支持 |",
    "| 不支持 | 不支持 | 不支持 | 不支持 | 不支持 | 不支持 |",
    "<|endoftext|><|endoftext|><|endoftext|><|endoftext|><|endoftext|>", "0xFFFFFFFF", "sk-xxxxxxxxxxxxxxxx",
    "'hahahahahahahahahahaha'", r"a \quad \quad \quad \quad \quad b", "ReLU(ReLU(ReLU(ReLU(ReLU(x)))))",
    "哈哈哈哈哈哈哈哈哈哈哈哈", "对对对对对对对对对对对对", "Week 1, Week 2, Week 3, Week 4, Week 5, Week 6, Week 7",
    "第1周、第2周、第3周、第4周、第5周、第6周",
    "的，" * 15, "0, " * 40, "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",  # one word fewer than 16 times; numbers
    # review of the one-word rule: one Latin word over and over is content, not a loop
    "[CLS] the cat sat [SEP] " + "[PAD] " * 27, "tensor([" + "True, " * 20 + "])", "[" + "-inf, " * 17 + "0.]",
    "Coin flips: " + "H " * 16, r"\begin{pmatrix}" + "a & " * 16 + r"\end{pmatrix}", "None " * 20,
    "| Yes | Yes | Yes | Yes |\n" * 4,
])
def test_what_is_no_loop(text):
    assert repeated_run(text) is None


def test_a_loop_the_source_itself_holds_is_no_loop():
    source = "一个坏例子：“the cat sat the cat sat the cat sat the cat sat”。"
    line = "A bad example: 'the cat sat the cat sat the cat sat the cat sat'."
    assert repeated_run(line) is not None and repeated_run(line, unless_in=source) is None
    # only that loop: another one in the same line is still a loop
    assert repeated_run(line + " of a statement" * 5, unless_in=source) is not None


def test_a_translated_line_quoting_its_sources_loop_passes_the_line_check():
    """Review: the line check's own sentence gate judged loops again, without the source."""
    source = "一个坏例子：“the cat sat the cat sat the cat sat the cat sat”。"
    check = lambda t, passages=None: NS(sentences=[NS(index=0, supported=True)], answer=t,  # noqa: E731
                                        citations=[NS(n=1, sentence_index=0, verdict="supported")])
    strategy = NS(parts=NS(check=check, retriever=NS(glossary=None)))
    semantics = NS(can_compare=lambda a, b: True, similarity=lambda a, b: 1.0)
    turn = NS(language="en", hits=[NS(text=source)])
    line = "A bad example: 'the cat sat the cat sat the cat sat the cat sat'. [1]"
    assert RouteStrategy._judge_line(strategy, turn, line, source, semantics)


def test_the_gate_drops_a_looping_sentence_whatever_it_cites():
    gate = SentenceGate(lambda text: pytest.fail("a loop is not even checked"), "en")
    shown = [*gate.feed("Avoid the statement of a statement of a statement of a statement of a statement [1]. "),
             *gate.close()]
    assert shown == [] and [d.reason for d in gate.dropped] == ["repetition"]


def test_a_legitimate_answer_is_never_cut():
    """Review: table rows and [PAD] examples cut the first version's answers short."""
    from agent.citations import verify

    passage = ("BERT pads short inputs with [PAD] tokens. Qwen2.5 supports tools, JSON, long context and Chinese. "
               "The attention mask hides the padding.")
    answer = ("BERT pads short inputs [1]. For example: [CLS] a b [SEP] [PAD] [PAD] [PAD] [PAD] [PAD] [PAD] [1]. "
              "| Model | Tools | JSON | Long | Chinese |\n| Qwen2.5 | Yes | Yes | Yes | Yes |\n"
              "The attention mask hides the padding [1].")
    gate = SentenceGate(lambda text: verify(text, [passage]), "en")
    for word in answer.split(" "):
        list(gate.feed(word + " "))
        assert not gate.looping
    gate.close()
    assert not [d for d in gate.dropped if d.reason == "repetition"]


def test_each_request_of_the_tool_calling_strategy_is_watched_afresh():
    """Review: the gate is shared across the strategy's requests; the same preamble in each is no loop."""
    gate = SentenceGate(lambda text: None, "en")
    for _ in range(4):
        list(gate.feed("Let me check the notes for that. "))
        assert not gate.looping
        gate.close()


def test_one_line_under_number_after_number_is_a_loop():
    """Review: "1. X / 2. X / 3. X …" went on to the token limit."""
    lines = [f"第{k}行。 [1]" for k in range(1, 40)]
    lt = LineTranslation(lines, [True] * len(lines), judge=lambda t, s: False)
    for k in range(1, 40):
        list(lt.feed(f"{k}. The temperature parameter T controls the randomness.\n"))
        if lt.looping:
            break
    assert lt.looping and k <= 5


def test_a_looping_line_is_left_out_and_the_others_are_still_translated():
    """Review: the looping line was asked for again first, looped again, and every line was lost."""
    notes = ["温度参数 T 控制采样的随机性。", "香农在1948年提出了信息论。"]
    writer = RecordingWriter(messages=iter([
        AIMessage(content="1. The temperature" + " of a statement" * 30),
        AIMessage(content="1. Shannon introduced information theory in 1948."),
    ]))
    writer.seen.clear()
    agent = Agent(ConceptRetriever(notes), StaticBackend(writer, name="scripted"),
                  settings=AgentSettings(answer_mode="translate"))
    events = list(agent.stream("Please sum up these two notes for me?", options=TurnOptions(k=2, grounded_only=False)))
    answer = events[-1].answer
    assert "statement" not in _shown(events)
    assert answer.answer.splitlines()[1:] == ["- Shannon introduced information theory in 1948 [2]."]
    assert [line[:4] for line in answer.untranslated] == ["温度参数"]
    # the line after the loop is asked for again on its own, the looping one is not
    assert writer.seen[1][-1].content == "<passages>\n1. 香农在1948年提出了信息论。\n</passages>\n"
    assert answer.timings["loops_cut"] == 1 and answer.timings["retried_lines"] == 1


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


@pytest.mark.parametrize("loop", [SENTENCE, "Temperature controls randomness [1]. "])
def test_a_sentence_written_over_and_over_is_shown_once_and_the_model_stopped(loop):
    """Review: a whole sentence over and over was shown 60 times (or 4 times before the cut)."""
    notes = ["The temperature parameter T controls the randomness of sampling when the model picks the next token.",
             "Shannon proposed information theory in 1948."]
    writer = LoopingWriter(loop=loop, limit=60)
    agent = Agent(ConceptRetriever(notes), StaticBackend(writer, name="scripted"),
                  settings=AgentSettings(answer_mode="generate"))
    events = list(agent.stream("What does the temperature parameter T control?", options=TurnOptions(k=2)))
    answer = events[-1].answer
    assert answer.mode == "generate" and answer.answer.count(loop.split(" [")[0]) == 1
    assert writer.served[0] <= 6 and answer.timings["loops_cut"] == 1


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
    # stopped within its loop, and the looping line not asked for again
    assert len(writer.served) == 1 and writer.served[0] < 60
    assert answer.timings["loops_cut"] == 1 and "retried_lines" not in answer.timings


def test_the_tool_calling_strategy_stops_a_looping_answer(course):
    writer = LoopingWriter(lead=["温度参数", "T", "控制"], loop="随机性的随机性，")
    answer = _agent(course, model=writer, agent_strategy="tools").ask("采样时的温度参数 T 起什么作用？")
    assert "随机性的随机性，随机性的随机性" not in answer.answer
    assert writer.served and max(writer.served) < 200
    assert answer.timings.get("loops_cut", 0) >= 1


def test_watching_a_long_reply_stays_cheap():
    """Each look reads the last 800 characters, once per 24 new ones (not a timing test: a count)."""
    watch, looks = LoopWatch(), 0
    original = watch.looping

    def counted():
        nonlocal looks
        looks += 1
        return original()

    watch.looping = counted
    pieces = [f"word{k} " for k in range(500)]
    for piece in pieces:
        assert not watch.feed(piece)
    assert looks <= sum(map(len, pieces)) / 24 + 1
