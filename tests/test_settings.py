import pytest

from settings import Settings, SettingsError, load_settings, settings_markdown_table


def test_defaults_are_offline_and_documented():
    s = load_settings()
    assert s.embedder.startswith("bundled:")
    assert s.reranker == ""
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
    assert "COURSETA_CHUNK_SIZE" in settings_markdown_table()


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("COURSETA_CHUNK_SIZE", "321")
    monkeypatch.setenv("COURSETA_FUSION", "rrf")
    s = load_settings()
    assert (s.chunk_size, s.fusion) == (321, "rrf")


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
