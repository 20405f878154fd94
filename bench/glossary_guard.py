"""The scope guard's verdicts with the default glossary and with entries added to it, on every question set.

    python bench/glossary_guard.py --add 'hw=作业' 'ddl=截止日期,截止'        # entries as TERM=中文,中文
    python bench/glossary_guard.py --sets codemixed2 --add 'solo=单人,单独'

The guard as the agent runs it (agent.calibrate.signals and covered, the current calibration, English
questions translated by the configured chat model, as the agent does), once with the default glossary
(setting ``query_glossary``) and once with a copy holding the added entries. Per set: answerable and
out-of-corpus questions declined, both ways, and the questions whose verdict changed. Used for
docs/EVALUATION.md, "Everyday words in the glossary". The last line is one JSON object, also appended
to bench/results/glossary_guard.jsonl.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import report  # noqa: E402
from bench.qa_sets import ALL_SETS, DATA  # noqa: E402


def entry_line(entry: str) -> str:
    """A glossary line (TERM, tab, Chinese forms) from "TERM=中文,中文".

    >>> entry_line("office hour=答疑,办公时间")
    'office hour\\t答疑,办公时间'
    """
    term, _, forms = entry.partition("=")
    if not term.strip() or not forms.strip():
        raise argparse.ArgumentTypeError(f"{entry!r}: write an entry as TERM=中文,中文")
    return f"{term.strip()}\t{forms.strip()}"


def main(argv: list[str] | None = None) -> int:
    from agent.calibrate import covered, signals
    from agent.llm import get_chat_model
    from agent.query_translation import query_translator
    from agent.relevance import calibration
    from agent.semantic import Semantics
    from retrieval.eval import load_qa
    from retrieval.search import Retriever
    from settings import get_settings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--add", nargs="+", type=entry_line, required=True, help="entries added, each TERM=中文,中文")
    p.add_argument("--sets", nargs="+", choices=list(ALL_SETS), default=list(ALL_SETS))
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    base = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "glossary.tsv"
        default = Path(base.retrieval.query_glossary).read_text(encoding="utf-8")
        copy.write_text(default.rstrip("\n") + "\n" + "\n".join(args.add) + "\n", encoding="utf-8")
        verdicts: dict[str, dict[str, dict[str, tuple[bool, bool]]]] = {}
        backend = None
        for label, settings in (("default", base), ("added", base.override(query_glossary=str(copy)))):
            retriever = Retriever.load(settings.retrieval)
            backend = backend or get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
            translator = query_translator(settings.agent, backend, retriever)
            cal = calibration(settings.agent, retriever.embedder.name, Semantics.of(retriever.embedder).cross_lingual)
            for name in args.sets:
                rows = signals(retriever, load_qa(DATA / ALL_SETS[name]), name, settings.agent.retrieval_k, translator,
                               settings.agent.relevance_named_terms, settings.agent.relevance_number_check)
                verdicts.setdefault(name, {})[label] = {r.id: (r.in_corpus, covered(r, cal)) for r in rows}
    table = {}
    for name, both in verdicts.items():
        row = {}
        for label, by_id in both.items():
            inside = [c for answerable, c in by_id.values() if answerable]
            outside = [c for answerable, c in by_id.values() if not answerable]
            row[label] = {"in_corpus_declined": sum(not c for c in inside), "in_corpus": len(inside),
                          "out_of_corpus_declined": sum(not c for c in outside), "out_of_corpus": len(outside)}
        row["changed"] = sorted(i for i in both["default"] if both["default"][i] != both["added"][i])
        table[name] = row
        print(f"{name:12s} default: declined {row['default']['in_corpus_declined']}/{row['default']['in_corpus']} "
              f"answerable, {row['default']['out_of_corpus_declined']}/{row['default']['out_of_corpus']} out of "
              f"corpus | added: {row['added']['in_corpus_declined']}/{row['added']['in_corpus']}, "
              f"{row['added']['out_of_corpus_declined']}/{row['added']['out_of_corpus']} | changed: {row['changed']}")
    report("glossary_guard", {"added": args.add, "llm": base.agent.llm, "sets": table}, save=not args.no_save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
