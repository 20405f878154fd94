"""The tool-calling strategy over real HTTP, against scripted server turns a real model will not give on demand:
malformed tool calls, a model that never searches, a model that writes what the passages do not say.
(tests/test_llama_server.py runs the same path against llama.cpp's server and a real model.)"""

from __future__ import annotations

import json

import pytest

from agent.events import Done, Replace, Token
from tests.fakes import course_agent
from tests.openai_wire import ScriptedServer

QUESTION = "采样时的温度参数 T 起什么作用？"


@pytest.fixture
def scripted():
    servers = []

    def start(turns):
        servers.append(ScriptedServer(turns).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _agent(course, server, **overrides):
    return course_agent(course, llm="openai:scripted", llm_base_url=server.base_url, llm_api_key="x",
                        llm_timeout_s=10, **overrides)


def _tool_messages(server) -> list[str]:
    """The tool results in the last request (each request carries the whole conversation)."""
    return [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]


# a sentence of the notes (corpus/…/1-introduction: 温度可以用来控制生成中的变异量。)
TRUE = "温度可以用来控制生成中的变异量"


def test_unknown_tool_and_bad_json_are_reported_and_the_answer_is_still_grounded(course, scripted):
    server = scripted([
        {"tool_calls": [("browse_web", '{"url": "http://example.com"}')]},
        {"tool_calls": [("search_course", '{query: "温度参数"}')]},  # not JSON (LangChain mends only cut-off JSON)
        {"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量"}')]},
        {"content": TRUE + " [1]。"},
    ])
    events = list(_agent(course, server).stream(QUESTION))
    answer = events[-1].answer
    assert isinstance(events[-1], Done) and answer.error is None
    names = [(c.name, c.summary) for c in answer.tool_calls]
    assert names[0] == ("browse_web", "error: unknown tool")
    assert names[1] == ("search_course", "error: arguments are not valid JSON")
    assert names[2][0] == "search_course" and names[2][1].endswith("passages")
    # the model was told, in the tool results it got back, what was wrong
    told = _tool_messages(server)
    assert "no tool named 'browse_web'" in told[0] and "not valid JSON" in told[1] and told[2].startswith("[1] ")
    assert server.requests[1]["messages"][-1]["role"] == "tool"
    # and the answer is its supported sentence, cited and verified
    assert answer.mode == "generate" and answer.citations and all(c.verdict == "supported" for c in answer.citations)
    assert answer.timings["tool_calls"] == 3


def test_arguments_that_do_not_fit_the_tool_are_reported(course, scripted):
    server = scripted([
        {"tool_calls": [("search_course", '{"q": "温度"}')]},  # valid JSON, wrong argument name
        {"content": "温度很重要。"},
    ])
    answer = _agent(course, server).ask(QUESTION)
    assert answer.tool_calls[0].summary == "error: bad arguments"
    assert "do not fit search_course" in _tool_messages(server)[0]
    # the model never searched: the question was searched for it, and its uncited text was not shown
    assert answer.tool_calls[-1].name == "search_course" and answer.passages
    assert answer.mode == "extract" and "温度很重要" not in answer.answer
    assert all(c.verdict == "supported" for c in answer.citations)


def test_a_model_that_never_searches_gets_a_grounded_answer_or_a_refusal(course, scripted):
    server = scripted([{"content": "The 2018 World Cup was won by France."}, {"content": "France won it [1]."}])
    # (the question's translation for the search has its own test below; here it would be one more request)
    answer = _agent(course, server, query_translation="off").ask("Who won the 2018 World Cup?")
    assert answer.refused and answer.mode == "refusal" and "France" not in answer.answer
    assert [c.name for c in answer.tool_calls] == ["search_course"]  # searched for the model
    # the model was asked again with the passages, as if it had called search_course; its first,
    # unsearched answer is not in the conversation
    second = server.requests[1]["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "search_course" and second[-1]["role"] == "tool"
    assert not any("France" in (m.get("content") or "") for m in second)


def test_the_first_round_must_call_a_tool_and_later_rounds_may_answer(course, scripted):
    server = scripted([{"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量"}')]},
                       {"content": TRUE + " [1]。"}])
    _agent(course, server).ask(QUESTION)
    assert server.requests[0]["tool_choice"] == "required" and "tool_choice" not in server.requests[1]
    assert {t["function"]["name"] for t in server.requests[0]["tools"]} == {"search_course", "list_readings"}
    server = scripted([{"content": TRUE + " [1]。"}] * 2)
    _agent(course, server, first_tool_choice="auto").ask(QUESTION)
    assert "tool_choice" not in server.requests[0]


def test_a_long_answer_before_any_search_is_cut_off_and_never_shown(course, scripted):
    server = scripted([{"content": "温度是一个物理量。" * 60}, {"content": TRUE + " [1]。"}])
    events = list(_agent(course, server).stream(QUESTION))
    shown = "".join(e.text for e in events if isinstance(e, Token))
    assert "物理量" not in shown and "物理量" not in events[-1].answer.answer
    # the first request was closed before its end: its usage chunk (100 prompt tokens) was never read
    assert events[-1].answer.timings["prompt_tokens"] == 100
    assert len(server.requests) == 2 and server.requests[1]["messages"][-1]["role"] == "tool"


def test_unsupported_sentences_are_never_shown_while_streaming(course, scripted):
    good = TRUE
    server = scripted([
        {"tool_calls": [("search_course", json.dumps({"query": "温度 控制 生成 变异量"}, ensure_ascii=False))]},
        {"content": f"{good} [1]。温度参数是图灵在1950年发明的 [1]。"},
    ])
    events = list(_agent(course, server).stream(QUESTION))
    shown = "".join(e.text for e in events if isinstance(e, Token))
    assert good in shown and "图灵" not in shown and not any(isinstance(e, Replace) for e in events)
    assert "图灵" not in events[-1].answer.answer


def test_a_model_that_loops_on_tools_is_asked_to_answer_without_them(course, scripted):
    calls = [{"tool_calls": [("search_course", json.dumps({"query": f"温度 控制 生成 变异量 {i}"}, ensure_ascii=False))]}
             for i in range(4)]
    server = scripted(calls + [{"content": TRUE + " [1]。"}])
    answer = _agent(course, server, max_tool_steps=4).ask(QUESTION)
    assert len(server.requests) == 5 and "tools" not in server.requests[-1]
    assert answer.mode == "generate" and answer.timings["model_rounds"] == 5


def test_a_repeated_call_is_not_run_again_and_the_model_is_asked_to_answer(course, scripted):
    call = {"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量"}')]}
    server = scripted([call, call, {"content": TRUE + " [1]。"}])
    answer = _agent(course, server).ask(QUESTION)
    assert [c.name for c in answer.tool_calls] == ["search_course"] and len(server.requests) == 3
    assert "already made this call" in _tool_messages(server)[-1] and "tools" not in server.requests[-1]
    assert answer.mode == "generate"


def test_run_python_is_offered_only_when_the_question_asks_to_run_code(course, scripted):
    server = scripted([{"tool_calls": [("run_python", '{"code": "print(1)"}')]}, {"content": ""}])
    answer = _agent(course, server).ask("Who won the 2018 World Cup?")
    assert "run_python" not in {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert answer.tool_calls[0].summary == "error: unknown tool" and not answer.code_runs and answer.refused


def test_a_tool_run_python_answer_shows_the_code_and_its_output(course, scripted):
    server = scripted([
        {"tool_calls": [("run_python", json.dumps({"code": "print(sum(range(10)))"}))]},
        {"content": "The output is 46."},  # the model's account of the output is not what is shown
    ])
    answer = _agent(course, server).ask("Run print(sum(range(10))) for me")
    assert answer.mode == "code" and answer.code_runs and answer.code_runs[0].stdout.strip() == "45"
    assert "45" in answer.answer and "46" not in answer.answer


PARSE_ERROR = "The model produced output that does not match the expected peg-native format"


def test_a_server_error_after_a_verified_sentence_keeps_the_sentence(course, scripted):
    server = scripted([{"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量"}')]},
                       {"content": TRUE + " [1]。{\"name\": \"search", "error": PARSE_ERROR}])
    answer = _agent(course, server).ask(QUESTION)
    assert answer.error is None and TRUE in answer.answer and answer.mode == "generate"
    assert answer.timings["reply_errors"] == 1 and len(server.requests) == 2


def test_a_server_error_before_any_sentence_asks_again_without_tools(course, scripted):
    server = scripted([{"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量"}')]},
                       {"content": "{\"name\": \"sear", "error": PARSE_ERROR},
                       {"content": TRUE + " [1]。"}])
    answer = _agent(course, server).ask(QUESTION)
    assert answer.error is None and TRUE in answer.answer
    assert len(server.requests) == 3 and "tools" not in server.requests[2]


def test_a_server_error_in_the_last_round_is_one_sentence_and_the_passages_are_quoted(course, scripted):
    server = scripted([{"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量"}')]},
                       {"content": "", "error": PARSE_ERROR}, {"content": "", "error": PARSE_ERROR}])
    answer = _agent(course, server).ask(QUESTION)
    assert answer.error and "reported an error in the middle of the answer" in answer.error
    assert PARSE_ERROR not in answer.error  # the server's text (it may quote the model) goes to the log only
    assert answer.mode == "extract" and answer.citations


def test_a_server_that_is_down_still_gets_the_passages_quoted(course):
    # nothing listens there: the first request fails before any tool call, and the answer was the
    # error sentence alone (with the server's address), no passage
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = course_agent(course, llm="openai:scripted", llm_base_url=f"http://127.0.0.1:{closed}/v1", llm_api_key="x",
                        llm_timeout_s=5, agent_strategy="tools")
    answer = down.ask(QUESTION)
    assert answer.error and "cannot reach" in answer.error and not answer.tool_calls
    assert answer.mode == "extract" and answer.citations and "温度" in answer.answer
    declined = down.ask("Who won the 2018 World Cup?")
    assert declined.refused and "do not cover" in declined.answer


def test_the_model_cannot_widen_k(course, scripted):
    server = scripted([{"tool_calls": [("search_course", '{"query": "温度 控制 生成 变异量", "k": 100000}')]},
                       {"tool_calls": [("search_course", '{"query": "温度 采样", "k": -3}')]},
                       {"content": TRUE + " [1]。"}])
    answer = _agent(course, server).ask(QUESTION, options=None)
    assert [c.args["k"] for c in answer.tool_calls[:2]] == [5, 1] and len(answer.passages) <= 6


def test_a_tool_call_cut_off_by_the_token_limit_is_not_run(course, scripted):
    server = scripted([{"tool_calls": [("search_course", '{"query": "温度')], "finish": "length"},
                       {"content": TRUE + " [1]。"}])
    answer = _agent(course, server).ask(QUESTION)
    assert answer.tool_calls[0].summary == "error: arguments are not valid JSON"
    assert "not valid JSON" in _tool_messages(server)[0]


def test_the_server_dying_after_an_out_of_corpus_search_is_a_refusal(course, scripted, monkeypatch):
    from agent.errors import ModelError
    from agent.llm import ChatBackend

    server = scripted([{"tool_calls": [("search_course", '{"query": "2018 World Cup"}')]}])
    original, calls = ChatBackend.stream, []

    def stream(self, messages, tools=None, tool_choice=None):
        calls.append(1)
        if len(calls) > 1:
            raise ModelError("the model server at x stopped in the middle of the answer for m (RemoteProtocolError)")
        yield from original(self, messages, tools, tool_choice)

    monkeypatch.setattr(ChatBackend, "stream", stream)
    answer = _agent(course, server, query_translation="off").ask("Who won the 2018 World Cup?")
    assert answer.error and answer.refused and answer.mode == "refusal"


def test_an_english_question_is_translated_for_the_search_in_a_short_request_without_tools(course, scripted):
    question = "What controls the variation in generation?"
    server = scripted([{"tool_calls": [("search_course", json.dumps({"query": question}))]},
                       {"content": "什么控制生成中的变异量？"},  # the translation, asked for inside the tool call
                       {"content": "Temperature controls the variation in generation [1]."}])
    answer = _agent(course, server).ask(question)
    translation = server.requests[1]
    cap = translation.get("max_completion_tokens", translation.get("max_tokens"))  # langchain-openai sends the former
    assert "tools" not in translation and cap is not None and 0 < cap <= 128
    assert question in translation["messages"][-1]["content"] and "<question>" in translation["messages"][-1]["content"]
    assert answer.tool_calls[0].args["translation"] == "什么控制生成中的变异量？" and answer.error is None
    assert len(server.requests) == 3 and server.requests[2]["messages"][-1]["role"] == "tool"


def test_any_backend_over_an_openai_model_caps_the_translation_with_the_openai_keyword(scripted):
    """The cap's keyword follows the model (agent.llm.max_tokens_kwarg), not the backend class: a
    StaticBackend over ChatOpenAI sent transformers' max_new_tokens, which the client refuses."""
    from langchain_openai import ChatOpenAI

    from agent.llm import StaticBackend
    from agent.query_translation import QueryTranslator

    server = scripted([{"content": "什么控制生成中的变异量？"}])
    model = ChatOpenAI(model="scripted", base_url=server.base_url, api_key="x", timeout=10, max_retries=0)
    translator = QueryTranslator(StaticBackend(model, translates_queries=True), lambda: {"zh": 0.9, "en": 0.1})
    assert translator.translate("What controls the variation in generation?", "en") == "什么控制生成中的变异量？"
    request = server.requests[0]
    assert 0 < request.get("max_completion_tokens", request.get("max_tokens", 0)) <= 128


def test_the_server_launcher_refuses_an_open_host_without_a_key_and_keeps_secrets_out(tmp_path, monkeypatch):
    from agent.errors import ModelError
    from agent.llama_server import LlamaServer

    fake = tmp_path / "llama-server"
    fake.write_text("#!/bin/sh\nenv > \"$(dirname \"$0\")/env.txt\"\n")
    fake.chmod(0o755)
    with pytest.raises(ModelError, match="open to the network"):
        LlamaServer(binary=fake, model=tmp_path / "m.gguf", host="0.0.0.0").start(timeout_s=5)
    monkeypatch.setenv("COURSETA_TA_TOKEN", "secret-ta")
    monkeypatch.setenv("LLAMA_ARG_TOOLS", "all")
    with pytest.raises(ModelError, match="exited"):
        LlamaServer(binary=fake, model=tmp_path / "m.gguf", log_path=tmp_path / "log").start(timeout_s=5)
    env = (tmp_path / "env.txt").read_text()
    assert "secret-ta" not in env and "LLAMA_ARG_TOOLS" not in env and "PATH=" in env


def test_a_search_failing_after_the_model_failed_leaves_the_one_sentence(course, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = course_agent(course, llm="openai:scripted", llm_base_url=f"http://127.0.0.1:{closed}/v1", llm_api_key="x",
                        llm_timeout_s=5, agent_strategy="tools")

    def broken(*args, **kwargs):
        raise OSError("the index folder went away")

    monkeypatch.setattr(down.retriever, "search", broken)
    events = list(down.stream(QUESTION))
    answer = events[-1].answer
    assert answer.error and "cannot reach" in answer.error and answer.answer.startswith("回答模型暂时不可用")
    assert "".join(e.text for e in events if isinstance(e, Token)) == answer.answer  # streamed, not only stored
