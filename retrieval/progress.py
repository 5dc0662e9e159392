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
from tqdm.contrib.logging import logging_redirect_tqdm

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


# A count with no total yet (starting, loading the models) is a phase and its time, not "0it".
PHASE_FORMAT = "{desc}[{elapsed}]"  # tqdm ends a description with ": "


@contextmanager
def terminal_bar() -> Iterator[Reporter]:
    """A reporter that draws what it is told as one bar on stderr; log lines written meanwhile go
    above the bar, never onto its line."""
    with logging_redirect_tqdm(), tqdm(desc="starting", file=sys.stderr, dynamic_ncols=True, bar_format=PHASE_FORMAT) as bar:

        def report(desc: str, done: int, total: int | None) -> None:
            bar.set_description(desc or "starting", refresh=False)
            bar.total, bar.n = total, done
            bar.bar_format = PHASE_FORMAT if total is None else None
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
        return _drawn(items, total, desc, unit)
    return _reported(items, report, desc, total)


def _drawn(items: Iterable[T], total: int | None, desc: str, unit: str) -> Iterator[T]:
    # Log lines written while the bar is drawn go above it, never onto its line.
    with logging_redirect_tqdm(), tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True) as bar:
        yield from bar


def _reported(items: Iterable[T], report: Reporter, desc: str, total: int | None) -> Iterator[T]:
    report(desc, 0, total)
    for n, item in enumerate(items, start=1):
        yield item
        report(desc, n, total)
