"""Progress bars for the long loops (indexing, eval, calibrate, tune): on stderr, since stdout carries
results, and nothing at all when progress is off.

Inside the index service a bar has no terminal to draw on: the service sets a reporter around each
call (`reporting_to`), bars report their counts to it, and the client that asked for progress
draws them from the service's /progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
Reporter = Callable[[str, int, int | None], None]  # (what, done, total or None)

_reporter: ContextVar[Reporter | None] = ContextVar("ragate_progress", default=None)


@contextmanager
def reporting_to(report: Reporter) -> Iterator[None]:
    """Bars drawn inside report their counts to `report` instead of drawing."""
    token = _reporter.set(report)
    try:
        yield
    finally:
        _reporter.reset(token)


def progress_bar(items: Iterable[T], enabled: bool, desc: str = "queries", *, total: int | None = None, unit: str = "it") -> Iterable[T]:
    if not enabled:
        return items
    if total is None and isinstance(items, Sized):
        total = len(items)
    report = _reporter.get()
    if report is None:
        bar: Iterable[T] = tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
        return bar
    return _reported(items, report, desc, total)


def _reported(items: Iterable[T], report: Reporter, desc: str, total: int | None) -> Iterator[T]:
    report(desc, 0, total)
    for n, item in enumerate(items, start=1):
        yield item
        report(desc, n, total)
