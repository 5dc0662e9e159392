"""A per-request deadline that long loops check between batches, so a call whose caller has timed
out stops working instead of holding the CPU (and the reranker) for others.

The deadline rides in a context variable: the tool adapter or the index service sets it around a
use case, and anyio copies the context into the worker thread that runs it. Loops in this
process's own call path check it (rerank batches, indexing batches, stage boundaries); work
handed to a shared worker (the micro-batcher) finishes its current job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ragate.retrieval.errors import DeadlineExceeded

_deadline: ContextVar[float | None] = ContextVar("ragate_deadline", default=None)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Work inside must finish within `seconds` (None: no limit)."""
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def check(stage: str) -> None:
    """Raise DeadlineExceeded when the current request's deadline has passed."""
    end = _deadline.get()
    if end is not None and time.monotonic() > end:
        raise DeadlineExceeded(f"stopped during {stage}: past the request's time limit ([server] tool_timeout_s)")


def remaining() -> float | None:
    """Seconds left before the current request's deadline (None: no limit), so a wait on a remote
    model never outlasts its caller."""
    end = _deadline.get()
    return None if end is None else max(0.0, end - time.monotonic())
