"""Argument types shared by the retrieval command lines."""

from __future__ import annotations

import argparse

MAX_K = 100


def k_value(text: str) -> int:
    """argparse type for ``--k``: an integer from 1 to MAX_K, else one clear sentence.

    >>> k_value("5")
    5
    >>> k_value("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --k must be a whole number from 1 to 100, not '0'
    """
    try:
        k = int(text)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"--k must be a whole number from 1 to {MAX_K}, not {text!r}")
    return k
