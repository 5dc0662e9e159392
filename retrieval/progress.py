"""Progress bars for the long loops (indexing, eval, calibrate, tune): on stderr, since stdout carries
results, and nothing at all when progress is off.

Inside the index service a bar has no terminal to draw on: the service sets a reporter around each
call (`reporting_to`), bars report their counts to it, and the client that asked for progress
follows them from the service's /progress/<call id>: on a terminal (`terminal_bar`), or as MCP
progress notifications (server/mcp/tools.py). A loop run with a reporter set always reports."""

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


def current_reporter() -> Reporter | None:
    return _reporter.get()


@contextmanager
def terminal_bar() -> Iterator[Reporter]:
    """A reporter that draws what it is told as one bar on stderr."""
    with tqdm(desc="starting", file=sys.stderr, dynamic_ncols=True) as bar:

        def report(desc: str, done: int, total: int | None) -> None:
            bar.set_description(desc or "starting", refresh=False)
            bar.total, bar.n = total, done
            bar.refresh()

        yield report


def progress_bar(items: Iterable[T], enabled: bool, desc: str = "queries", *, total: int | None = None, unit: str = "it") -> Iterable[T]:
    """`items`, drawing a bar on stderr when `enabled`, or reporting to the reporter in force."""
    report = _reporter.get()
    if not enabled and report is None:
        return items
    if total is None and isinstance(items, Sized):
        total = len(items)
    if report is None:
        bar: Iterable[T] = tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
        return bar
    return _reported(items, report, desc, total)


def _reported(items: Iterable[T], report: Reporter, desc: str, total: int | None) -> Iterator[T]:
    report(desc, 0, total)
    for n, item in enumerate(items, start=1):
        yield item
        report(desc, n, total)
