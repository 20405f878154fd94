"""A local model's state after a prompt's fixed opening, computed once and reused by every request.

Every answer the writer writes opens with the same system prompt (119 of ~300-400 tokens for the
0.5B model), every translation with the system prompt and the worked example (200 of ~240): their
keys and values are computed the first time, kept, and copied into each request that opens the
same way, so prefilling reads only the rest. The opening is everything but the last message,
rendered by the chat template; it is used only when its tokens are exactly the first tokens of the
whole prompt (a template that renders a message differently at the end never gets a wrong cache).

>>> cache = PrefixCache(model=None, size=2)
>>> cache.opening([1, 2, 3], [1, 2, 3, 4, 5]), cache.opening([1, 9], [1, 2, 3]), cache.opening([1, 2], [1, 2])
(True, False, False)
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import OrderedDict


class PrefixCache:
    """The last ``size`` openings' key/value caches, by their token ids."""

    def __init__(self, model, size: int = 8):
        self.model = model
        self.size = size
        self._caches: OrderedDict[tuple[int, ...], object] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def opening(prefix: list[int], ids: list[int]) -> bool:
        """Is ``prefix`` the start of ``ids`` with something after it?"""
        return 0 < len(prefix) < len(ids) and ids[: len(prefix)] == prefix

    def copy_for(self, prefix_ids, key: list[int]):
        """A fresh copy of the cache after ``prefix_ids`` (a (1, n) tensor whose ids are ``key``),
        computed on first use (generate appends to the copy it is given; the kept one stays as it was)."""
        import torch
        from transformers import DynamicCache

        key = tuple(key)
        with self._lock:
            kept = self._caches.get(key)
            if kept is not None:
                self._caches.move_to_end(key)
                return copy.deepcopy(kept)
        kept = DynamicCache(config=self.model.config)  # built as generate builds its own
        # only the last position's logits (a 151k-word vocabulary times 200 positions is ~120 MB), where
        # the model's forward takes that argument (generate checks the same way)
        last_only = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(self.model.forward).parameters else {}
        with torch.no_grad():  # outside the lock: another request's opening need not wait for this one
            self.model(input_ids=prefix_ids, past_key_values=kept, use_cache=True, **last_only)
        with self._lock:
            self._caches[key] = kept
            self._caches.move_to_end(key)
            while len(self._caches) > self.size:
                self._caches.popitem(last=False)
        return copy.deepcopy(kept)
