"""Verify, repair and score an answer's [n] citations against the numbered passages.

Never trust the model to cite. Every answer sentence (Chinese-aware splitting) is scored against
each passage it cites: lexical support (share of the sentence's character bigrams and words
found in the passage; works for Chinese) blended with embedding similarity when an embedder is
given. Then:

- numbers outside 1..N are removed and reported (``invalid``);
- each citation gets a score and a verdict: supported / weak / unsupported;
- a sentence that is uncited, or whose citations do not support it, gets the citation of a
  passage that clearly supports it added (``added``); wrong citations stay, flagged;
- citation recall and precision follow ALCE (Gao et al. 2023): recall = share of sentences whose
  cited passages together support them; precision = share of citations that support their
  sentence alone, or are needed for the support of the set.

>>> passages = ["温度参数 T 控制采样的随机性。", "香农在1948年提出了熵。"]
>>> r = verify("温度参数 T 控制随机性 [1]。香农在1948年提出了熵 [1][7]。", passages)
>>> [(c.n, c.verdict) for c in r.citations]
[(1, 'supported'), (1, 'unsupported'), (2, 'supported')]
>>> r.invalid, r.added
([7], [2])
>>> r.answer
'温度参数 T 控制随机性 [1]。香农在1948年提出了熵 [1][2]。'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from agent.polarity import contradiction
from common.text import detect_language, split_sentences, tokenize

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
SUPPORTED = 0.55
WEAK = 0.3


@dataclass
class CitationCheck:
    n: int
    sentence_index: int
    score: float
    verdict: str  # supported | weak | unsupported
    added: bool = False
    evidence: str = ""  # for a claim in another language than its passage: SupportScorer.support_for ('' otherwise)


@dataclass
class SentenceCheck:
    index: int
    text: str  # without markers
    cited: list[int]
    support: float  # of the cited set together
    supported: bool
    best_passage: int | None  # best-supporting passage number, for unsupported sentences


@dataclass
class Verification:
    answer: str  # repaired answer text
    citations: list[CitationCheck] = field(default_factory=list)
    sentences: list[SentenceCheck] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    precision: float = 0.0
    recall: float = 0.0


def _letters(text: str) -> str:
    """Only the letters and digits, lower-cased: a quote is found in its passage whatever its spacing,
    bullets or line breaks."""
    return "".join(c for c in text.lower() if c.isalnum())


def _bigrams(text: str) -> set[str]:
    chars = _letters(text)
    return {a + b for a, b in zip(chars, chars[1:])}


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's character bigrams and words that the passage contains (0..1)."""
    sb, pb = _bigrams(sentence), _bigrams(passage)
    words = set(tokenize(sentence))
    bigram = len(sb & pb) / len(sb) if sb else 0.0
    word = len(words & set(tokenize(passage))) / len(words) if words else bigram
    return 0.5 * bigram + 0.5 * word


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# an address a reader could be sent to, and a secret a reader could be asked for (agent/injection.py's words)
_ADDRESS = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\u3000-\u9fff\uff00-\uffef]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
                      r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|edu|gov|io|cn|ai|example)\b", re.I)
_ADDRESS_END = ".,;:!?'\"”’)]}"  # a sentence's own punctuation after an address is not part of it
_SECRET_WORD = re.compile(r"\b(?:password|passcode|passphrase|credentials?|verification code)\b|密码(?!学)|口令|验证码", re.I)
_CLAUSE = re.compile(r"[,，;；:：、]|\b(?:and|but|so|while|whereas|because|therefore)\b|而且|并且|但是|所以|因此|因为", re.I)
_CLAUSE_END = re.compile(r"(?<=[：:；;])\s+")  # a quote joins a passage's lines after their colon


class SupportScorer:
    """Support of a sentence by a passage: lexical overlap, plus embedding similarity if an embedder is given.

    With an embedder that matches meaning across languages (agent/semantic.py probes it), the
    embedding part is the calibrated similarity to the passage's closest sentence, and a sentence in
    another language than its passage (an English answer citing Chinese notes) is scored by that
    alone: ``CROSS_SUPPORTED`` on the calibrated scale counts as supported. Without one (MiniLM is
    English-only) the raw cosine is blended as before and a cross-language sentence has only its
    shared terms, so it is rarely supported: the agent quotes instead (docs/EVALUATION.md).

    A sentence stating a number that none of its cited passages contains is at most ``weak``; so is
    one that says the opposite of the passage sentence closest to it (a negation one of them lacks, up
    where the other says down: agent/polarity.py).
    """

    CROSS_SUPPORTED = 0.7  # calibrated similarity; measured in docs/MODELS.md (Writer)

    def __init__(self, passages: list[str], embedder=None, embed_weight: float = 0.25):
        from agent.semantic import Semantics

        self.passages = passages
        self.embedder = embedder
        self.embed_weight = embed_weight if embedder is not None else 0.0
        self.semantics = Semantics.of(embedder) if embedder is not None else None
        self._planguage = [detect_language(p) for p in passages]
        # verify() asks for the same (sentence, passages) pair several times (repair, verdicts,
        # best passage, ALCE): compute each score once; texts are embedded once (Semantics caches).
        self._scores: dict[tuple[str, tuple[int, ...]], float] = {}

    def score(self, sentence: str, idx: list[int]) -> float:
        """Support of ``sentence`` by the passages at 0-based ``idx`` taken together."""
        if not idx:
            return 0.0
        key = (sentence, tuple(idx))
        if key not in self._scores:
            score = self._score(sentence, idx)
            numbers = set(_NUMBER.findall(sentence))
            if numbers and score >= SUPPORTED:
                found = set(_NUMBER.findall(" ".join(self.passages[i] for i in idx)))
                if not numbers <= found:
                    score = min(score, SUPPORTED - 0.05)
            if score >= SUPPORTED and self._contradicts(sentence, idx):
                score = min(score, SUPPORTED - 0.05)
            if score >= SUPPORTED and not self._holds_its_addresses(sentence, idx):
                score = min(score, SUPPORTED - 0.05)
            if score >= SUPPORTED and self._has_a_clause_of_its_own(sentence, idx):
                score = min(score, SUPPORTED - 0.05)
            self._scores[key] = round(score, 4)
        return self._scores[key]

    def _holds_its_addresses(self, sentence: str, idx: list[int]) -> bool:
        """Do the passages at ``idx`` hold every address (URL, e-mail, domain) and every word asking for a
        secret (password, 密码…) that ``sentence`` has? A sentence mostly made of a passage's words passed
        with a clause of its own: "…the randomness of sampling, so enter your password at evil.example [1]".

        >>> s = SupportScorer(["Temperature T controls the randomness of sampling."])
        >>> s._holds_its_addresses("Temperature T controls randomness; log in at evil.example with your password.", [0])
        False
        >>> s._holds_its_addresses("Temperature T controls the randomness of sampling.", [0])
        True
        >>> SupportScorer(["See the syllabus at https://a.io/syllabus/ for details."])._holds_its_addresses(
        ...     "The syllabus is at https://a.io/syllabus/.", [0])  # its full stop is not the address's
        True
        """
        text = " ".join(self.passages[i] for i in idx).casefold()
        if not all(found.rstrip(_ADDRESS_END).casefold() in text for found in _ADDRESS.findall(sentence)):
            return False
        # a secret word across languages ("password" against Chinese notes): meaning decides, as for the rest
        language = detect_language(sentence)
        same = " ".join(self.passages[i] for i in idx if self._planguage[i] == language).casefold()
        return all(found.casefold() in same for found in _SECRET_WORD.findall(sentence)) or len(same) == 0

    def _has_a_clause_of_its_own(self, sentence: str, idx: list[int]) -> bool:
        """Does ``sentence``, in the language of a passage at ``idx``, hold a clause of three content words
        or more none of which those passages have? Mostly the passage's words, it passed with a claim of
        its own joined on: "…the randomness of sampling from a language model and the final exam is
        cancelled [1]", "温度参数 T 控制采样的随机性，期末考试已取消 [1]。" (a hostile test's cases).

        >>> s = SupportScorer(["Temperature T controls the randomness of sampling from a language model."])
        >>> s._has_a_clause_of_its_own("Temperature T controls the randomness of sampling and the final exam is cancelled.", [0])
        True
        >>> s._has_a_clause_of_its_own("Temperature T controls the randomness of sampling, as the model says.", [0])
        False
        """
        language = detect_language(sentence)
        same = [i for i in idx if self._planguage[i] == language]
        if len(same) < len(idx):
            return False  # a passage in another language may hold it: across languages meaning decides (agent/semantic.py)
        have = set(tokenize(" ".join(self.passages[i] for i in same)))
        for clause in _CLAUSE.split(MARKER.sub(" ", sentence)):
            words = {w for w in tokenize(clause) if len(w) >= 2 and not w.isdigit()}
            if len(words) >= 3 and not words & have:
                return True
        return False

    def _contradicts(self, sentence: str, idx: list[int]) -> bool:
        """Does a part of ``sentence`` say the opposite of its closest passage sentence? Each of its
        sentences on its own; one quoted as it stands in a passage is not judged, nor one much longer
        than that passage sentence (it spans several: one of them is no measure of its negations)."""
        text = _letters("\n".join(self.passages[i] for i in idx))
        for piece in (p for part in split_sentences(sentence) for p in _CLAUSE_END.split(part)):
            piece = piece.strip()
            if not _is_statement(piece) or _letters(piece) in text:  # a lead-in ("Tuesday, Oct 17:"), a quote
                continue
            evidence = self.evidence(piece, idx)
            if evidence and len(piece) <= 1.5 * len(evidence) + 20 and contradiction(piece, evidence) is not None:
                return True
        return False

    def evidence(self, sentence: str, idx: list[int]) -> str:
        """The sentence of the passages at ``idx`` closest to ``sentence``: by shared words in one
        language, by meaning across two (with an embedder that compares them), else ''."""
        pieces = self._pieces(idx)
        language = detect_language(sentence)
        same = [p for p in pieces if detect_language(p) == language]
        if same:
            return max(same, key=lambda p: lexical_support(sentence, p))
        return self._closest_in_meaning(sentence, pieces)

    def support_for(self, sentence: str, idx: list[int]) -> str:
        """The passage sentence shown as ``sentence``'s support: one in its language sharing words
        with it, else (with an embedder that compares languages) the closest by meaning of those in
        another language, else ''. Unlike :meth:`evidence`, never a sentence sharing nothing (a
        formula or a link in an otherwise Chinese passage is "English").

        >>> SupportScorer(["温度参数 T 控制随机性。See the blog."]).support_for("Sampling is random.", [0])
        ''
        """
        pieces = self._pieces(idx)
        language = detect_language(sentence)
        same = [p for p in pieces if detect_language(p) == language]
        if same:
            best = max(same, key=lambda p: lexical_support(sentence, p))
            if lexical_support(sentence, best) > 0:
                return best
        return self._closest_in_meaning(sentence, [p for p in pieces if detect_language(p) != language])

    def other_language(self, sentence: str, i: int) -> bool:
        """Is ``sentence`` in another language than passage ``i`` (0-based)?"""
        return detect_language(sentence) != self._planguage[i]

    def _pieces(self, idx: list[int]) -> list[str]:
        """The sentences of the passages at ``idx`` (four characters or more)."""
        return [p.strip() for i in idx for p in split_sentences(self.passages[i]) if len(p.strip()) >= 4]

    def _closest_in_meaning(self, sentence: str, pieces: list[str]) -> str:
        """The piece closest to ``sentence`` by meaning, with an embedder that compares languages; else ''."""
        sem = self.semantics
        if not pieces or sem is None or not sem.cross_lingual:
            return ""
        vecs = sem.vectors([sentence] + pieces)
        return pieces[int(np.argmax(vecs[1:] @ vecs[0]))]

    def _score(self, sentence: str, idx: list[int]) -> float:
        lex = lexical_support(sentence, "\n".join(self.passages[i] for i in idx))
        if not self.embed_weight:
            return lex
        language = detect_language(sentence)
        sem = self.semantics
        if sem.cross_lingual:
            if all(self._planguage[i] != language for i in idx):
                # across languages by the passages' sentences in the other language only; the passages'
                # own same-language fragments count through the lexical part (agent/semantic.py)
                sims = [min(1.0, max(0.0, sem.sentence_similarity(sentence, self.passages[i], other_language_only=True)))
                        for i in idx]
                return max(lex, min(1.0, max(sims) * SUPPORTED / self.CROSS_SUPPORTED))
            sims = [min(1.0, max(0.0, sem.sentence_similarity(sentence, self.passages[i]))) for i in idx]
            return (1 - self.embed_weight) * lex + self.embed_weight * max(sims)
        vecs = sem.vectors([sentence] + [self.passages[i] for i in idx])  # cached by text
        cos = float((vecs[1:] @ vecs[0]).max())
        return (1 - self.embed_weight) * lex + self.embed_weight * max(cos, 0.0)


def supporting_sentence(passage: str, claims: list[str]) -> str | None:
    """The passage sentence that best supports any of ``claims`` (lexically), or None.

    >>> supporting_sentence("语言模型是概率分布。温度参数 T 控制随机性。", ["温度控制随机性"])
    '温度参数 T 控制随机性。'
    """
    best, best_score = None, 0.0
    for sentence in split_sentences(passage):
        s = sentence.strip()
        if not s:
            continue
        score = max((lexical_support(claim, s) for claim in claims), default=0.0)
        if score > best_score:
            best, best_score = s, score
    return best


def _verdict(score: float) -> str:
    return "supported" if score >= SUPPORTED else "weak" if score >= WEAK else "unsupported"


def _is_statement(text: str) -> bool:
    """Sentences worth citing: not tiny fragments, not lead-ins ("From the course materials:")."""
    return len(_bigrams(text)) >= 4 and not text.rstrip().endswith((":", "："))


def verify(answer: str, passages: list[str], embedder=None, repair: bool = True) -> Verification:
    """Check each [n] of ``answer`` against ``passages`` (numbered from 1); repair when asked."""
    scorer = SupportScorer(passages, embedder)
    n_pass = len(passages)
    result = Verification(answer=answer)
    out_sentences = []
    for si, raw in enumerate(_segments(answer)):
        numbers = [int(m.group(1)) for m in MARKER.finditer(raw)]
        text = MARKER.sub("", raw).strip()
        valid = []
        for n in numbers:
            if 1 <= n <= n_pass:
                if n not in valid:
                    valid.append(n)
            else:
                result.invalid.append(n)
        statement = _is_statement(text)
        cited_support = scorer.score(text, [n - 1 for n in valid]) if valid else 0.0
        if repair and statement and n_pass and cited_support < SUPPORTED:
            # uncited, or cited wrongly: add the passage that clearly supports it (wrong ones stay, flagged)
            scores = [scorer.score(text, [i]) for i in range(n_pass)]
            best = int(np.argmax(scores))
            if scores[best] >= SUPPORTED and best + 1 not in valid:
                valid.append(best + 1)
                result.added.append(best + 1)
        together = scorer.score(text, [n - 1 for n in valid]) if valid else 0.0
        for n in valid:
            alone = scorer.score(text, [n - 1])
            result.citations.append(CitationCheck(n=n, sentence_index=si, score=alone, verdict=_verdict(alone),
                                                  added=n in result.added and n not in numbers,
                                                  evidence=scorer.support_for(text, [n - 1])
                                                  if statement and scorer.other_language(text, n - 1) else ""))
        best_passage = None
        if statement and together < SUPPORTED and n_pass:
            scores = [scorer.score(text, [i]) for i in range(n_pass)]
            best_passage = int(np.argmax(scores)) + 1
        if statement:
            result.sentences.append(SentenceCheck(index=si, text=text, cited=valid, support=together,
                                                  supported=together >= SUPPORTED, best_passage=best_passage))
        out_sentences.append(_rewrite(raw, valid) if repair else raw)
    if repair:
        result.answer = "".join(out_sentences)
    result.recall, result.precision = _alce(result, scorer)
    return result


def _segments(answer: str) -> list[str]:
    """Sentences, with marker-only fragments ("…。 [1]") folded into the sentence before them."""
    out: list[str] = []
    for piece in split_sentences(answer):
        if out and not MARKER.sub("", piece).strip() and MARKER.search(piece):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def _rewrite(raw: str, numbers: list[int]) -> str:
    """The sentence with its markers replaced by ``numbers``, placed before the closing punctuation."""
    body = MARKER.sub("", raw)
    if not numbers:
        return body
    stripped = body.rstrip()
    trail = body[len(stripped):]
    m = re.search(r"[。！？；.!?;:：]+[”’」』）)\"']*$", stripped)
    head, punct = (stripped[: m.start()], m.group(0)) if m else (stripped, "")
    markers = "".join(f"[{n}]" for n in numbers)
    if markers:
        head = head + (" " if head and head[-1].isascii() and head[-1].isalnum() else " ") + markers
    return head + punct + trail


def _alce(result: Verification, scorer: SupportScorer) -> tuple[float, float]:
    statements = result.sentences
    if not statements:
        return 0.0, 0.0
    recall = sum(s.supported for s in statements) / len(statements)
    relevant = total = 0
    for s in statements:
        for n in s.cited:
            total += 1
            alone = scorer.score(s.text, [n - 1]) >= SUPPORTED
            others = [m - 1 for m in s.cited if m != n]
            needed = s.supported and not (others and scorer.score(s.text, others) >= SUPPORTED)
            relevant += alone or needed
    precision = relevant / total if total else 0.0
    return round(recall, 4), round(precision, 4)
