"""Progress bars for the long commands (eval, calibrate, tune): on stderr, since stdout carries
the result, and nothing at all when progress is off."""

from __future__ import annotations

import sys
from collections.abc import Iterable


def progress_bar(items: Iterable, enabled: bool, desc: str = "queries") -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stderr, dynamic_ncols=True)
