"""Fit passages into an agent's context budget: whole passages in rank order, never cut mid-text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def pack(items: Sequence[T], text_of: Callable[[T], str], count_tokens: Callable[[str], int], max_tokens: int) -> tuple[list[T], int]:
    """The longest prefix of items whose texts fit in max_tokens (the first item always, so an
    answer is never empty because one passage is long), and how many were left out."""
    kept: list[T] = []
    used = 0
    for item in items:
        n = count_tokens(text_of(item))
        if kept and used + n > max_tokens:
            break
        kept.append(item)
        used += n
    return kept, len(items) - len(kept)
