"""The typed records an answer is made of, shared by the agent, the CLIs, the evals and the app.

An :class:`Answer` is what one question produced: the text, the numbered passages it may cite,
each citation with its verdict and the passage sentence that supports it, the tool calls, the
code runs (with their figures), the citation check and the timings. It is built once, at the end
of a turn, and never changed by the layers that show or store it.

Records carry ``schema_version``; stores write it, and :func:`migrate_answer` reads every earlier
format (version 1 is the plain dict of the first release, with no version field).

>>> p = Passage(n=1, chunk_id="c1", source="notes.md", title="Notes", heading="1.1", text="温度参数控制随机性。")
>>> a = Answer(question="T?", query="T?", answer="温度参数控制随机性 [1]。", language="zh", strategy="route",
...            mode="extract", passages=[p], citations=[Citation.at(p, sentence_index=0, score=0.9,
...            verdict="supported", supporting_sentence="温度参数控制随机性。")])
>>> a.cited_numbers(), a.citations[0].chunk_id
([1], 'c1')
>>> Answer.model_validate_json(a.model_dump_json()) == a
True
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2

Verdict = Literal["supported", "weak", "unsupported"]
Mode = Literal["", "generate", "extract", "homework", "refusal", "code", "tools"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", ser_json_bytes="base64", val_json_bytes="base64")


class _Located(_Record):
    """Where passage ``n`` of an answer comes from: the chunk and its place in its file."""

    n: int
    chunk_id: str
    source: str
    title: str
    heading: str = ""
    page: int | None = None
    start: int = 0
    end: int = 0


class Passage(_Located):
    """A numbered passage of one answer: [n] in the text points here, and never changes."""

    text: str
    score: float = 0.0
    ranks: dict[str, int | None] = Field(default_factory=dict)
    # why the passage reads as instructions to the reader (agent/injection.py); never quoted when set
    flags: list[str] = Field(default_factory=list)


class Citation(_Located):
    """One [n] of one answer sentence, checked against passage n."""

    sentence_index: int
    score: float
    verdict: Verdict
    added: bool = False  # put there by the verifier, not by the writer
    supporting_sentence: str | None = None  # the passage sentence that best supports the claim

    @classmethod
    def at(cls, passage: Passage, **fields) -> "Citation":
        """A citation of ``passage``, with the location fields copied from it."""
        where = passage.model_dump(include={"n", "chunk_id", "source", "title", "heading", "page", "start", "end"})
        return cls(**where, **fields)


class SentenceCheck(_Record):
    index: int
    text: str  # without markers
    cited: list[int]
    support: float  # of the cited passages together
    supported: bool
    best_passage: int | None = None  # the best-supporting passage, for unsupported sentences


class Verification(_Record):
    """The citation check of an answer (ALCE precision/recall; agent/citations.py)."""

    precision: float
    recall: float
    invalid: list[int] = Field(default_factory=list)  # numbers with no passage, removed
    added: list[int] = Field(default_factory=list)  # numbers the verifier added
    sentences: list[SentenceCheck] = Field(default_factory=list)


class ToolCall(_Record):
    name: str
    args: dict
    summary: str
    duration_s: float


class CodeError(_Record):
    type: str
    message: str
    traceback: str = ""


class CodeRun(_Record):
    code: str
    ok: bool
    stdout: str = ""
    stderr: str = ""
    error: CodeError | None = None
    n_figures: int = 0
    limits_hit: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    isolation: list[str] = Field(default_factory=list)


class Answer(_Record):
    schema_version: int = SCHEMA_VERSION
    question: str
    query: str
    answer: str
    language: str
    strategy: str
    mode: Mode
    refused: bool = False
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    code_runs: list[CodeRun] = Field(default_factory=list)
    figures: list[bytes] = Field(default_factory=list)  # PNG bytes of the code runs' figures
    verification: Verification | None = None
    timings: dict[str, int | float] = Field(default_factory=dict)  # seconds, and prompt_tokens
    error: str | None = None  # one sentence when the model failed
    # quoted lines ("sentence [n]", in the notes' language) a translated answer left out: their
    # translation was missing or not supported (agent/line_translation.py); shown apart, as in the notes
    untranslated: list[str] = Field(default_factory=list)
    # declined only because no top-passage sentence near the question holds the number it asks for
    # (agent/relevance.py's number check): a course question, for a TA to look at, not an off-course one
    number_not_found: bool = False

    def untranslated_lines(self) -> list[tuple[int | None, str, str]]:
        """(passage number, passage title, sentence) of each line left out of a translated answer."""
        from agent.line_translation import line_passage, split_marker

        out = []
        for line in self.untranslated:
            n = line_passage(line)
            p = self.passage(n) if n is not None else None
            out.append((n if p else None, p.title if p else "", split_marker(line)[0]))
        return out

    def cited_numbers(self) -> list[int]:
        return sorted({c.n for c in self.citations})

    def passage(self, n: int) -> Passage | None:
        return next((p for p in self.passages if p.n == n), None)

    def public_dict(self) -> dict:
        """The JSON the CLI prints (``--json``) and the answer log keeps: figures become ``n_figures``,
        a missing citation check is ``{}``."""
        data = self.model_dump(mode="json", exclude={"figures"})
        data["n_figures"] = len(self.figures)
        data["verification"] = data["verification"] or {}
        return data


def migrate_answer(data: dict, figures: list[bytes] | None = None) -> Answer:
    """An :class:`Answer` from any stored version of the record.

    Version 1 (no ``schema_version``; written before the records were typed) lacks each
    citation's supporting sentence, which is recomputed from the stored passages and sentences;
    its ``verification`` is ``{}`` when there was none, and its figures were kept beside it.
    """
    version = data.get("schema_version", 1)
    if version > SCHEMA_VERSION:
        raise ValueError(f"answer record version {version} is newer than this code ({SCHEMA_VERSION})")
    if version == 1:
        from agent.citations import supporting_sentence

        data = dict(data)
        data.pop("n_figures", None)
        data["verification"] = data.get("verification") or None
        claims = {s["index"]: s["text"] for s in (data["verification"] or {}).get("sentences", [])}
        texts = {p["n"]: p["text"] for p in data.get("passages", [])}
        data["citations"] = [
            {**c, "supporting_sentence": supporting_sentence(texts.get(c["n"], ""), [claims[c["sentence_index"]]])
             if c["sentence_index"] in claims else None}
            for c in data.get("citations", [])
        ]
        data["schema_version"] = SCHEMA_VERSION
    answer = Answer.model_validate(data)
    if figures:
        answer = answer.model_copy(update={"figures": list(figures)})
    return answer
