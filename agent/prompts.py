"""Load prompts/agent.yaml once.

>>> load_prompts()["languages"]["zh"]
'Chinese (简体中文)'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@lru_cache(maxsize=4)
def load_prompts(name: str = "agent.yaml") -> dict:
    return yaml.safe_load((PROMPTS_DIR / name).read_text(encoding="utf-8"))


def phrase(key: str, language: str, **fmt) -> str:
    entry = load_prompts()[key]
    text = entry.get(language) or entry["en"]
    return text.format(**fmt) if fmt else text
