"""What :meth:`agent.core.Agent.stream` yields while it answers, in order.

- :class:`Status`: a step began or ended ("searching… 5 passages"); for a progress line or trace.
- :class:`Token`: more answer text, to append as it arrives.
- :class:`Replace`: the text so far is withdrawn and this stands instead (e.g. a written answer the
  citation check did not support, replaced by quotes).
- :class:`Done`: the last event, carrying the finished :class:`agent.records.Answer`.

>>> events = [Status("searching… 5 passages"), Token("温度"), Token("参数 [1]。")]
>>> "".join(e.text for e in events if isinstance(e, Token))
'温度参数 [1]。'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from agent.records import Answer


@dataclass(frozen=True)
class Status:
    text: str


@dataclass(frozen=True)
class Token:
    text: str


@dataclass(frozen=True)
class Replace:
    text: str


@dataclass(frozen=True)
class Done:
    answer: Answer


Event = Union[Status, Token, Replace, Done]
