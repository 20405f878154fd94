"""Shared benchmark helpers: machine info and appending a result line to bench/results/."""

from __future__ import annotations

import json
import time
from pathlib import Path

from common.machine import machine_info
from retrieval.eval import percentile  # noqa: F401 - one definition, re-exported for the bench scripts

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, result: dict, save: bool = True) -> None:
    """Print the result as the last line (one JSON object) and append it to bench/results/NAME.jsonl."""
    line = {"bench": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine_info(), **result}
    if save:
        RESULTS.mkdir(exist_ok=True)
        with open(RESULTS / f"{name}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(json.dumps(line, ensure_ascii=False))
