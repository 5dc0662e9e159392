"""A per-request allowance that long loops check between batches: a deadline, and a cancellation
that the caller (an MCP `notifications/cancelled`, a client that went away, a service told to
stop) can set from another thread. Either way the call stops working at the next stage boundary
instead of holding the CPU (and the reranker) for others.

The allowance rides in a context variable: the tool adapter or the index service sets it around a
use case, and anyio copies the context into the worker thread that runs it. Loops in this
process's own call path check it (rerank batches, indexing batches, stage boundaries); work
handed to a shared worker (the micro-batcher) finishes its current job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from ragate.retrieval.errors import Cancelled, DeadlineExceeded


@dataclass
class Allowance:
    end: float | None = None  # time.monotonic() after which the work stops; None: no limit
    cancelled: threading.Event = field(default_factory=threading.Event)
    reason: str = ""

    def cancel(self, reason: str) -> None:
        self.reason = self.reason or reason
        self.cancelled.set()


_allowance: ContextVar[Allowance | None] = ContextVar("ragate_deadline", default=None)


@contextmanager
def deadline(seconds: float | None, *, cancel: Allowance | None = None) -> Iterator[Allowance]:
    """Work inside must finish within `seconds` (None: no limit) and stops once `cancel` (or the
    allowance this yields) is cancelled."""
    allowance = cancel or Allowance()
    allowance.end = None if seconds is None else time.monotonic() + seconds
    token = _allowance.set(allowance)
    try:
        yield allowance
    finally:
        _allowance.reset(token)


def current() -> Allowance | None:
    return _allowance.get()


def check(stage: str) -> None:
    """Raise Cancelled or DeadlineExceeded when the current request was cancelled or is past its deadline."""
    a = _allowance.get()
    if a is None:
        return
    if a.cancelled.is_set():
        raise Cancelled(f"cancelled during {stage}: {a.reason or 'by its caller'}")
    if a.end is not None and time.monotonic() > a.end:
        raise DeadlineExceeded(f"stopped during {stage}: past the request's time limit ([server] tool_timeout_s)")


def remaining() -> float | None:
    """Seconds left before the current request's deadline (None: no limit), so a wait on a remote
    model never outlasts its caller."""
    a = _allowance.get()
    return None if a is None or a.end is None else max(0.0, a.end - time.monotonic())
