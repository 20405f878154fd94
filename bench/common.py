"""Shared benchmark helpers: machine info and appending a result line to bench/results/."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from retrieval.eval import percentile  # noqa: F401 - one definition, re-exported for the bench scripts

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict:
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def report(name: str, result: dict, save: bool = True) -> None:
    """Print the result as the last line (one JSON object) and append it to bench/results/NAME.jsonl."""
    line = {"bench": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine_info(), **result}
    if save:
        RESULTS.mkdir(exist_ok=True)
        with open(RESULTS / f"{name}.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(json.dumps(line, ensure_ascii=False))
