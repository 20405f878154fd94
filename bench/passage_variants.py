"""What an answer's five passages hold, and what its quote shows, under variants not adopted (2026-12-05).

    python bench/passage_variants.py                    # the 0.5B model translates English questions, as the agent does
    python bench/passage_variants.py --no-translation   # search with the question alone (no model loaded)
    python bench/passage_variants.py --all-sets         # also dev4, code-mixed and code-mixed 2

Per question set (dev, dev2, dev3, held-out; dev + dev2 + dev3 is what settings are chosen on), over
the answerable questions, with the live index and the default settings:

- passages: a gold string in one of the 5 passages the agent answers from; ``merged``: adjacent chunks
  of one source (contiguous offsets; ``same heading``: and the same heading path) join into one
  passage of at most 2 chunks, and the next hit takes the freed place (5 passages still);
- quotes (the default 4 passages x 200 characters): a passage holding a gold string is quoted
  (``quoted``) and a gold string is in the quoted sentences (``shown``); ``per passage`` is the
  default (each of the top 4 passages gives its best sentences), ``global`` picks the best sentences
  of all 5 passages together (at most 4 passages, 200 characters each), ``4th slot`` keeps the top 3
  and gives the 4th place to whichever of passages 4 and 5 has the better best sentence; ``merged``
  quotes the merged passages (any adjacent) the default way.

The rules these were held to were written down before they were measured (docs/EVALUATION.md, "Not adopted
on 2026-12-05"). The last line is one JSON object, also appended to bench/results/passage_variants.jsonl.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import ALL_SETS, SETS, TUNING, questions  # noqa: E402
from common.text import detect_language, split_sentences  # noqa: E402
from retrieval.eval import contains_any  # noqa: E402
from retrieval.types import Chunk, Hit  # noqa: E402


def joinable(a: Chunk, b: Chunk, same_heading: bool) -> bool:
    """Do two chunks continue each other (one source, contiguous offsets; ``same_heading``: one section)?

    >>> a = Chunk("a", "x.md", "X", "one", ["H"], None, 0, 10, "en")
    >>> b = Chunk("b", "x.md", "X", "two", ["H", "I"], None, 11, 20, "en")
    >>> joinable(a, b, False), joinable(a, b, True), joinable(b, a, False)
    (True, False, True)
    """
    if a.source != b.source or (same_heading and a.heading_path != b.heading_path):
        return False
    return 0 <= b.start - a.end <= 2 or 0 <= a.start - b.end <= 2


def merged(hits: list[Hit], k: int, same_heading: bool, cap: int = 2) -> list[Hit]:
    """``k`` passages from ranked ``hits``: a hit continuing a chosen passage joins it (``cap`` chunks
    at most), in document order; the others take the next places.

    >>> c = [Chunk(str(i), "x.md", "X", f"t{i}", ["H"], None, 10 * i, 10 * i + 9, "en") for i in range(4)]
    >>> [h.chunk.text for h in merged([Hit(c[0], 1, {}), Hit(c[1], .9, {}), Hit(c[3], .8, {})], 2, True)]
    ['t0\\nt1', 't3']
    """
    groups: list[list[Hit]] = []
    for hit in hits:
        home = next((g for g in groups if len(g) < cap and any(joinable(x.chunk, hit.chunk, same_heading) for x in g)), None)
        if home is not None:
            home.append(hit)
        elif len(groups) < k:
            groups.append([hit])
    out = []
    for group in groups:
        chunks = sorted((h.chunk for h in group), key=lambda ch: ch.start)
        first = chunks[0]
        joined = Chunk("+".join(ch.id for ch in chunks), first.source, first.title, "\n".join(ch.text for ch in chunks),
                       first.heading_path, first.page, first.start, chunks[-1].end, first.language, first.meta)
        out.append(Hit(joined, group[0].score, group[0].ranks, group[0].scores))
    return out


def main(argv: list[str] | None = None) -> int:
    from agent.core import Agent
    from agent.injection import usable
    from agent.semantic import Semantics
    from agent.sentences import chosen_sentences, sentence_scores
    from agent.tools import searched_tokens
    from settings import get_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--no-translation", action="store_true", help="search with the question alone")
    p.add_argument("--all-sets", action="store_true", help="also the sets written later (dev4, code-mixed, code-mixed 2)")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    sets = ALL_SETS if args.all_sets else SETS
    settings = get_settings()
    if args.no_translation:
        settings = settings.override(query_translation="off")
    agent = Agent.from_settings(settings)
    retriever, translator = agent.retriever, agent._parts.translator
    semantics = Semantics.of(retriever.embedder)
    per = settings.agent.quote_chars // settings.agent.extract_passages
    slots = settings.agent.extract_passages

    def sentences_of(hit: Hit) -> list[str]:
        return [s.strip() for s in split_sentences(hit.text) if s.strip()]

    def per_passage(hits, tokens, question):
        return [(h, chosen_sentences(h, tokens, per, question, semantics)) for h in usable(hits)[:slots]]

    def global_pick(hits, tokens, question):
        pool = usable(hits)[:5]
        flat = [(i, s) for i, h in enumerate(pool) for s in sentences_of(h)]
        if not flat:
            return []
        scores = sentence_scores([s for _, s in flat], tokens, question, semantics)
        chosen: dict[int, list[str]] = {}
        used: dict[int, int] = {}
        for j in sorted(range(len(flat)), key=lambda j: -scores[j]):
            i, s = flat[j]
            if i not in chosen and len(chosen) >= slots:
                continue
            cost = len(s) + (1 if i in chosen else 0)
            if i in chosen and used[i] + cost > per:
                continue
            chosen.setdefault(i, []).append(s)
            used[i] = used.get(i, 0) + cost
        return [(pool[i], chosen[i]) for i in sorted(chosen)]

    def fourth_slot(hits, tokens, question):
        pool = usable(hits)[:slots + 1]
        if len(pool) <= slots:
            return per_passage(hits, tokens, question)
        best = max(pool[slots - 1:], key=lambda h: max(sentence_scores(sentences_of(h), tokens, question, semantics),
                                                      default=float("-inf")))
        return per_passage(pool[:slots - 1] + [best], tokens, question)

    def merged_quote(hits, tokens, question):
        return per_passage(merged(hits, 5, False), tokens, question)

    quotes = {"per passage (default)": per_passage, "global": global_pick, "4th slot": fourth_slot,
              "merged": merged_quote}
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for set_name, item in questions(sets):
        gold = item["answer_contains"]
        question = item["question"]
        translation = translator.translate(question, detect_language(question)) if translator else ""
        translations = [translation] if translation else []
        hits = retriever.search(question, 20, translations)
        totals[set_name] = totals.get(set_name, 0) + 1
        found = {"passages: default": hits[:5], "passages: merged, same heading": merged(hits, 5, True),
                 "passages: merged, any adjacent": merged(hits, 5, False)}
        for name, passages in found.items():
            counts.setdefault(name, {}).setdefault(set_name, 0)
            counts[name][set_name] += any(contains_any(h.text, gold) for h in passages)
        tokens = searched_tokens(retriever, question, translation)
        squash = lambda text: "".join(text.split())  # noqa: E731
        for name, pick in quotes.items():
            picked = pick(hits if name == "merged" else hits[:5], tokens, question)
            for what, hit_ in (("quoted", any(contains_any(h.text, gold) for h, _ in picked)),
                               ("shown", any(squash(g) in squash(" ".join(s)) for _, s in picked for g in gold))):
                counts.setdefault(f"quote {what}: {name}", {}).setdefault(set_name, 0)
                counts[f"quote {what}: {name}"][set_name] += hit_
    pooled = "+".join(TUNING)
    print(f"{'variant (answerable questions)':44s}" + "".join(f"{c:>14s}" for c in [*sets, pooled]))
    table = {}
    for name, per_set in counts.items():
        row = {**per_set, pooled: sum(per_set[s] for s in TUNING)}
        table[name] = row
        print(f"{name:44s}" + "".join(f"{row[c]:>10d}/{totals.get(c, sum(totals[s] for s in TUNING)):<3d}"
                                      for c in [*sets, pooled]))
    report("passage_variants", {"translation": translator is not None, "sets": list(sets), "answerable": totals,
                                "counts": table},
           save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
