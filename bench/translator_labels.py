"""Which writer translates the quote better? Hand labels of two models' translations of the same lines.

    python bench/translator_labels.py                 # the table from the labelled file, ~1 min (e5 loads)
    python bench/translator_labels.py --smoke         # CI-sized: hash embedder, not saved
    python bench/translator_labels.py --translate local:qwen2.5-coder-1.5b --out lines.jsonl   # new translations

By default the writer translates an English question's quote line by line (agent/line_translation.py)
and a line is shown only when it passes the line check. tests/data/translated_lines_models.jsonl
holds the 309 source lines of tests/data/translated_lines.jsonl (dev and dev2, English and
cross-lingual questions) translated by the 0.5B and by the 1.5B model (``--translate``: five lines a
request with the agent's prompt, greedy, 2026-12-05), each read by hand, blind to the model (two
helpers, the lines shuffled): ``right`` when the line says what its source says (loose or clumsy
counts; empty, another line's text, a changed number, day, name, negation or direction, or a
cut-off meaning does not).

A second round (2026-12-05, late; rows with a ``variant``): the 0.5B model translated the lines again
with the course terms named in the request (setting ``translation_terms``, 6; its run with 0 gave all
309 labelled translations back byte for byte). Two other helpers labelled, blind and shuffled
together, the 256 changed translations and the 0.5B's first translations of the same lines (stricter
than the first round's helpers: 148 of the 256 right against 175); two more then labelled, with the
same instructions, the 53 lines translated the same both ways and the 1.5B's 309 translations
("1.5B relabelled"). So the variants are all labelled in the second round: compare them with each
other, not with the first round.

Reported per model (or variant): lines right, and the lines the check would show — here without the passage:
in English, alike to the source (``route.LINE_LIKENESS``), not its opposite, its numbers, days and
months kept, no loop, and supported by the source line itself — split into right and wrong. The
last line is one JSON object, also appended to bench/results/translator_labels.jsonl.

>>> tally([{"right": True}, {"right": False}, {"right": False}], [True, True, False])
{'lines': 3, 'right': 1, 'shown': 2, 'shown_right': 1, 'shown_wrong': 1}
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import agent.core  # noqa: E402,F401 - settings import order (settings reads agent's defaults)
from bench.common import report  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LABELLED = DATA / "translated_lines_models.jsonl"
LINES_A_REQUEST = 5  # a quote's lines as they fit the 160-token reply


def tally(rows: list[dict], shown: list[bool]) -> dict:
    return {"lines": len(rows), "right": sum(bool(r["right"]) for r in rows), "shown": sum(shown),
            "shown_right": sum(1 for r, s in zip(rows, shown) if s and r["right"]),
            "shown_wrong": sum(1 for r, s in zip(rows, shown) if s and not r["right"])}


def would_show(source: str, translation: str, semantics, embedder) -> bool:
    """The agent's line check (``route._judge_line`` after ``LineTranslation``'s own checks) without the
    passage: the source line stands in for it."""
    from agent.citations import verify
    from agent.line_translation import keeps_source
    from agent.strategies.route import alike_and_same_sense
    from common.text import detect_language, without_links

    if not translation.strip() or detect_language(without_links(translation)) != "en":
        return False
    if not (alike_and_same_sense(translation, source, semantics) and keeps_source(source, translation)):
        return False
    checked = verify(translation + " [1]", [source], embedder=embedder)
    return all(s.supported for s in checked.sentences)


def translate(llm: str, out: Path) -> None:
    """Translate the labelled file's source lines with ``llm`` (grouped by question, as labelled)."""
    from agent.llm import get_chat_model
    from agent.prompts import translate_messages
    from agent.strategies.route import terms_to_name
    from settings import load_settings

    from retrieval.glossary import load_glossary

    settings = load_settings(llm=llm)
    backend = get_chat_model(settings.agent, cache_dir=settings.retrieval.data_dir / "models")
    glossary, limit = load_glossary(settings.retrieval.query_glossary), settings.agent.translation_terms
    groups: dict[tuple[str, str], list[str]] = {}
    for line in (DATA / "translated_lines.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sources = groups.setdefault((row["set"], row["id"]), [])
        if row["source"] not in sources:
            sources.append(row["source"])
    rows = []
    for (set_name, qid), sources in groups.items():
        for k in range(0, len(sources), LINES_A_REQUEST):
            part = sources[k:k + LINES_A_REQUEST]
            lines = "\n".join(f"{i}. {s}" for i, s in enumerate(part, 1))
            terms = terms_to_name(lines, "en", glossary, limit)  # as the agent names them
            text = "".join(c.content for c in backend.stream(translate_messages("en", lines, terms))
                           if isinstance(c.content, str))
            got: dict[int, str] = {}
            for reply in text.splitlines():
                m = re.match(r"\s*(\d+)[.)]\s*(.*)", reply)
                if m:
                    got.setdefault(int(m.group(1)), m.group(2).strip())
            rows += [{"set": set_name, "id": qid, "model": llm, "source": s, "translation": got.get(i, ""),
                      "terms": len(terms), "reply": text if i == 1 else ""} for i, s in enumerate(part, 1)]
            print(f"{set_name} {qid}: {len(part)} lines", flush=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="hash embedder, 20 lines per model, not saved")
    p.add_argument("--translate", metavar="LLM", help="translate the source lines with this model instead")
    p.add_argument("--out", type=Path, default=Path("translated_lines_new.jsonl"))
    args = p.parse_args(argv)
    if args.translate:
        translate(args.translate, args.out)
        return 0
    from agent.semantic import Semantics
    from retrieval.embedders import get_embedder
    from retrieval.search import Retriever
    from settings import get_settings

    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows:
        r.setdefault("variant", r["model"])  # the first round: one variant a model
    models = list(dict.fromkeys(r["variant"] for r in rows))
    if args.smoke:
        rows = [r for m in models for r in [x for x in rows if x["variant"] == m][:20]]
        name, embedder = "hash:64", get_embedder("hash:64")
    else:  # the index's own embedder, as the agent judges lines with it
        name, embedder = get_settings().retrieval.embedder, Retriever.load(get_settings().retrieval).embedder
    semantics = Semantics.of(embedder)
    result: dict = {"embedder": name, "models": {}}
    for model in models:
        mine = [r for r in rows if r["variant"] == model]
        shown = [would_show(r["source"], r["translation"], semantics, embedder) for r in mine]
        cells = {"all": tally(mine, shown)}
        for set_name in dict.fromkeys(r["set"] for r in mine):
            idx = [i for i, r in enumerate(mine) if r["set"] == set_name]
            cells[set_name] = tally([mine[i] for i in idx], [shown[i] for i in idx])
        result["models"][model] = cells
        for key, c in cells.items():
            print(f"{model} {key:5s} right {c['right']}/{c['lines']}  shown {c['shown']}: "
                  f"{c['shown_right']} right, {c['shown_wrong']} wrong")
    report("translator_labels", result, save=not args.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
