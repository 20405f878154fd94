"""The question in the notes' language, for BM25's side of the search.

An English question about the Chinese notes shares few words with them: the bilingual glossary
translates course terms, the chat model translates the rest of the question. The translation
only adds words to BM25 (``retrieval.search.Retriever.search(..., translations=...)``, weight
``translation_weight``); it is never shown as part of an answer (the trace lists it with the
search it helped). Measured on all four question sets with the 0.5B model (docs/EVALUATION.md, "Translating the
question"; ``python bench/query_translation.py --reverse``): English questions found a gold passage in
the top 5 for 57 of 63 tuning questions instead of 50 (held-out: 18 of 25 instead of 14);
translating the Chinese questions into English for the English minority of the notes gained
nothing (59 of 62 either way), so only the language most of the notes are in is a target.

>>> from langchain_core.language_models import GenericFakeChatModel
>>> from langchain_core.messages import AIMessage
>>> from agent.llm import StaticBackend
>>> model = GenericFakeChatModel(messages=iter([AIMessage("温度参数控制什么？\\n(translated)")]))
>>> backend = StaticBackend(model, translates_queries=True)
>>> t = QueryTranslator(backend, lambda: {"zh": 0.9, "en": 0.1})
>>> t.target("en"), t.target("zh")
('zh', None)
>>> t.translate("What does the temperature control?", "en")
'温度参数控制什么？'
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from agent.errors import ModelError
from agent.llm import ChatBackend
from agent.prompts import query_translation_examples, query_translation_messages
from common.text import detect_language

log = logging.getLogger("courseta.agent")

_FENCE = re.compile(r"[<‹]\s*/?\s*question\s*[>›]", re.I)
_QUOTES = "\"'“”‘’「」《》"
_LABEL = re.compile(r"^\s*(?:translation|translated question|chinese|english|翻译|译文|中文|英文)\s*[:：]\s*", re.I)


def max_tokens_for(question: str) -> int:
    """A translation is about as long as its question (Chinese: fewer characters, ~1.3 per token):
    the cap stops a model that answers or rambles instead of translating.

    >>> max_tokens_for("What is T?"), max_tokens_for("x" * 1000)
    (29, 128)
    """
    return min(128, 24 + len(question) // 2)


def clean(reply: str, target: str, question: str) -> str:
    """The translation in the model's ``reply``: as many lines as the question has (what follows is
    the model going on: an answer, a note), without a fence the model copied, a "Translation:" label
    or quotes around it; '' when that is not in ``target`` or is far longer than the question.

    >>> clean("<question>\\n哪篇论文提出了残差连接？\\n</question>", "zh", "Which paper introduced residual connections?")
    '哪篇论文提出了残差连接？'
    >>> clean("Jupiter has 12 moons.", "zh", "How many moons does Jupiter have?")
    ''
    >>> clean("翻译：温度参数控制什么？\\n温度控制随机性。", "zh", "What does the temperature control?")
    '温度参数控制什么？'
    >>> clean("Translation:\\n解释温度参数。\\n什么是熵？", "zh", "Explain the temperature.\\nWhat is entropy?")
    '解释温度参数。 什么是熵？'
    """
    lines = [_LABEL.sub("", line).strip() for line in _FENCE.sub("\n", reply).splitlines()]
    lines = [line for line in lines if line]
    wanted = max(1, sum(1 for line in question.splitlines() if line.strip()))
    text = " ".join(line.strip(_QUOTES + " ") for line in lines[:wanted])
    if not text or detect_language(text) != target or len(text) > 2 * len(question) + 20:
        return ""
    return text


def copies_example(text: str, question: str, source: str, target: str) -> bool:
    """Is ``text`` a worked example's translation (prompts/agent.yaml) given for another question?
    The 0.5B model answered 6 of 113 English questions with "哪篇论文提出了残差连接？", the second
    example's, e.g. for "What is the second SJTU homework meant to teach?".

    >>> copies_example("哪篇论文提出了残差连接？", "What is the second SJTU homework meant to teach?", "en", "zh")
    True
    >>> copies_example("哪篇论文提出了残差连接？", "Which paper introduced residual connections?", "en", "zh")
    False
    """
    norm = lambda s: " ".join(s.split()).casefold()
    return any(norm(text) == norm(answer) and norm(question) != norm(example)
               for example, answer in query_translation_examples(source, target))


@dataclass(frozen=True)
class QueryTranslator:
    """Translates a question into the language most of the notes are in (``languages``: the index's
    share of chunks per language, ``Retriever.languages``), when that is not the question's.

    After the model fails (a server down or hung: each attempt waits for the request timeout), no
    question is translated for ``pause_s`` seconds: the searches go ahead at once without it, for
    every user of the deployment, instead of each English question waiting out the timeout first.

    The last ``cache_size`` translations are kept (by question and target language): a question
    asked again — by another student, or by the office-hours page, which finds a demo's code before
    it runs it — costs no second model call and is searched the same way. A failed call is not kept."""

    backend: ChatBackend
    languages: Callable[[], dict[str, float]]
    min_share: float = 0.5
    pause_s: float = 60.0
    cache_size: int = 512
    _failed_at: list = field(default_factory=lambda: [float("-inf")], compare=False, repr=False)  # shared, one slot
    _cache: OrderedDict = field(default_factory=OrderedDict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def target(self, language: str) -> str | None:
        shares = self.languages()
        main = max(shares, key=shares.get, default=None)
        return main if main is not None and main != language and shares[main] >= self.min_share else None

    def target_for(self, question: str, language: str) -> str | None:
        """The language to translate ``question`` into; None when it is already in the notes' language
        or has nothing to translate (no letters: "2**10 = ?", "???")."""
        return self.target(language) if any(ch.isalpha() for ch in question) else None

    def paused(self) -> bool:
        """Did the model fail less than ``pause_s`` seconds ago?"""
        return time.monotonic() - self._failed_at[0] < self.pause_s

    def translate(self, question: str, language: str) -> str:
        """The translation, or '' (no target language, a reply that is not a translation, a model that
        failed: the search then goes ahead without it)."""
        target = self.target_for(question, language)
        if target is None:
            return ""
        key = (question, target)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if self.paused():
            return ""
        text = self._translate(question, language, target)
        if text is not None:
            with self._lock:
                self._cache[key] = text
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return text or ""

    def _translate(self, question: str, language: str, target: str) -> str | None:
        """One model call: the translation, '' for a reply that is not one, None when the call failed."""
        try:
            reply = "".join(str(chunk.content) for chunk in self.backend.stream(
                query_translation_messages(question, language, target), max_tokens=max_tokens_for(question)))
        except ModelError as exc:
            self._failed_at[0] = time.monotonic()
            log.warning("translating the question failed (%s); searching without it, and without translations "
                        "for %.0f s", exc, self.pause_s)
            return None
        text = clean(reply, target, question)
        if not text:
            log.info("the model's reply was not a translation into %s; searching without it", target)
        elif copies_example(text, question, language, target):
            log.info("the model repeated a worked example instead of translating; searching without it")
            return ""
        return text


def query_translator(settings, backend: ChatBackend, retriever) -> QueryTranslator | None:
    """The translator ``settings.query_translation`` asks for: None when it is off, when the backend
    cannot translate (``translates_queries``) or when the retriever cannot say which languages the
    notes are in."""
    languages = getattr(retriever, "languages", None)
    if settings.query_translation == "off" or not backend.translates_queries or languages is None:
        return None
    return QueryTranslator(backend, languages)
