"""The kept state after a prompt's fixed opening (agent/prefix_cache.py), on the real SmolLM2-135M (fp32:
reusing the state must not change what it writes)."""

import pytest

from agent.prompts import query_translation_messages, translate_messages, writer_messages

PASSAGES = "[1] 温度参数 T 控制采样的随机性。T=0 时总是选择最可能的令牌。\n[2] 语言模型是对令牌序列的概率分布。"


@pytest.fixture(scope="module")
def smollm(tmp_path_factory):
    from agent.transformers_chat import TransformersChatModel, load_bundled

    model, tokenizer = load_bundled(tmp_path_factory.mktemp("models"))
    return TransformersChatModel(model, tokenizer, model_name="local:bundled", max_new_tokens=16)


def _text(llm, messages, cached: bool) -> str:
    llm.prefix_cache = cached
    try:
        return "".join(str(c.content) for c in llm.stream(messages))
    finally:
        llm.prefix_cache = True


def _error_within(llm, cached: bool, timeout_s: float) -> Exception:
    """Stream a writer prompt in a thread; the error it raised, failing the test when it is still
    waiting after ``timeout_s`` (a stream left waiting for a generation that had failed)."""
    import threading

    outcome = []

    def consume():
        try:
            _text(llm, writer_messages("What is entropy?", "en", PASSAGES), cached=cached)
        except Exception as exc:  # noqa: BLE001 - the error is what the test checks
            outcome.append(exc)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    worker.join(timeout=timeout_s)
    assert not worker.is_alive(), "the stream waited for a generation that had failed"
    assert len(outcome) == 1, outcome
    return outcome[0]


@pytest.mark.slow
def test_the_same_answer_with_the_opening_reused(smollm):
    for messages in (writer_messages("What does the temperature T do?", "en", PASSAGES),
                     translate_messages("en", "1. 温度参数 T 控制采样的随机性。")):
        plain = _text(smollm, messages, cached=False)
        assert plain.strip()
        assert _text(smollm, messages, cached=True) == plain  # computed and kept
        assert _text(smollm, messages, cached=True) == plain  # from the kept state


@pytest.mark.slow
def test_one_kept_state_per_opening_and_generation_leaves_it_as_it_was(smollm):
    smollm._prefixes._caches.clear()
    for question in ("What is a language model?", "What does the temperature T do?"):
        _text(smollm, writer_messages(question, "en", PASSAGES), cached=True)
    assert len(smollm._prefixes._caches) == 1  # the same system prompt: one state
    (opening, kept), = smollm._prefixes._caches.items()
    assert kept.get_seq_length() == len(opening)  # generate appended to a copy, never to the kept state
    _text(smollm, query_translation_messages("What is entropy?", "en", "zh"), cached=True)
    assert len(smollm._prefixes._caches) == 2


@pytest.mark.slow
def test_no_reuse_for_a_single_message_or_an_opening_the_prompt_does_not_start_with(smollm, monkeypatch):
    from langchain_core.messages import HumanMessage

    messages = [HumanMessage("Hi")]
    assert smollm._past(messages, smollm._inputs(messages)) == {}
    messages = writer_messages("What is entropy?", "en", PASSAGES)
    ids = smollm._inputs(messages)
    assert "past_key_values" in smollm._past(messages, ids)
    assert smollm._past(messages, ids[:, :5]) == {}  # a prompt shorter than the opening
    other = ids.clone()
    other[0, 3] += 1
    assert smollm._past(messages, other) == {}  # a template that renders the opening differently


@pytest.mark.slow
def test_a_template_that_will_not_render_the_opening_alone_prefills_everything(smollm, monkeypatch):
    """Qwen3's template raises "No user query found in messages." for a system message alone."""
    render = smollm._inputs

    def refusing(messages, generation_prompt=True):
        if messages[-1].type != "human":
            raise ValueError("No user query found in messages.")
        return render(messages, generation_prompt)

    monkeypatch.setattr(smollm, "_inputs", refusing)
    messages = writer_messages("What does the temperature T do?", "en", PASSAGES)
    assert smollm._past(messages, render(messages)) == {}
    assert _text(smollm, messages, cached=True) == _text(smollm, messages, cached=False)


@pytest.mark.slow
def test_no_reuse_for_a_model_that_names_its_own_cache(smollm, monkeypatch):
    monkeypatch.setattr(smollm._model.generation_config, "cache_implementation", "static")
    messages = writer_messages("What is entropy?", "en", PASSAGES)
    assert smollm._past(messages, smollm._inputs(messages)) == {}


@pytest.mark.slow
def test_a_model_that_fails_while_generating_raises_instead_of_waiting_forever(smollm, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(smollm._model, "generate", broken)
    error = _error_within(smollm, cached=True, timeout_s=60)
    assert isinstance(error, RuntimeError) and str(error) == "out of memory"


@pytest.mark.slow
def test_a_stream_closed_early_stops_generating(smollm, monkeypatch):
    """A reader that goes away (a student who left, a new question) must not leave the model writing
    on the shared cores until its token cap."""
    import threading
    import time

    plain = smollm._gen_kwargs
    monkeypatch.setattr(smollm, "_gen_kwargs",  # no early end of its own: 2,000 tokens would take a minute
                        lambda stop, kwargs: {**plain(stop, kwargs), "max_new_tokens": 2000, "min_new_tokens": 2000})
    running = lambda: [t for t in threading.enumerate() if t.name == "generate local:bundled"]  # noqa: E731
    assert not running()
    stream = smollm.stream(writer_messages("What is entropy?", "en", PASSAGES))
    assert next(stream).content
    stream.close()
    deadline = time.monotonic() + 10
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()


@pytest.mark.slow
def test_a_generation_whose_cleanup_fails_too_still_ends_the_stream(smollm, monkeypatch):
    """The worker puts the stream's stop signal itself: the streamer's own end() can fail again on
    the token that made generation fail."""
    def broken(**kwargs):
        kwargs["streamer"].end = lambda: (_ for _ in ()).throw(ValueError("cannot decode"))
        raise ValueError("cannot decode token 7")

    monkeypatch.setattr(smollm._model, "generate", broken)
    error = _error_within(smollm, cached=False, timeout_s=60)
    assert isinstance(error, ValueError) and str(error) == "cannot decode token 7"
