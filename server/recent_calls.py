"""The last calls this process's use cases answered, kept in memory for the web page's index view:
when, who called, which use case, how long, the outcome and a few words on the result. Each caller
(an OAuth subject, the HTTP token's holder, the stdio clients, the page, the CLI) has its own
[ui] recent_calls slots, so one caller's flood cannot push out the others' calls; MAX_CALLERS are
kept, the one quiet longest forgotten first. No query text unless [ui] keep_queries says so:
queries may be private."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, Field

from ragate.retrieval.ingest import rfc3339
from ragate.server.metrics import outcome

# Reads of the index's own state: every page view makes one, and they would push out the calls
# people look for.
UNLISTED = frozenset({"stats"})
SHOWN_CHARS = 200  # of a kept query, and of a collection name (request models bound it to 64 already)
MAX_CALLERS = 32
CALLER_CHARS = 64

# Who the call in this context is for; transports set it (calling_as), the index service's client
# sends it with each call.
CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("ragate_caller", default="cli")


@contextlib.contextmanager
def calling_as(caller: str | None) -> Iterator[None]:
    """Calls made within are recorded for `caller` (printable, cut to CALLER_CHARS)."""
    name = "".join(c for c in (caller or "") if c.isprintable())[:CALLER_CHARS] or CALLER.get()
    token = CALLER.set(name)
    try:
        yield
    finally:
        CALLER.reset(token)


class RecentCall(BaseModel):
    at: str = Field(description="when the call ended (UTC)")
    caller: str = Field("cli", description="who called: oauth:<subject>, http (the token's holder), stdio, page or cli")
    call: str = Field(description="the use case: search, answer, rerank, index, ...")
    ms: float = Field(description="how long it took, in milliseconds")
    outcome: str = Field(description="ok, or the error's kind")
    collection: str | None = None
    detail: str = Field("", description="a few words on the result: its size, or the gate's decision")
    query: str | None = Field(None, description="the query, only with [ui] keep_queries")


def _detail(result: Any) -> str:
    if result is None:
        return ""
    if hasattr(result, "status") and hasattr(result, "reason"):  # the gate's decision
        return f"{result.status} ({result.reason}, p_answerable {result.p_answerable:.2f})"
    if isinstance(getattr(result, "results", None), list):
        return f"{len(result.results)} results"
    if hasattr(result, "chunks_written"):
        return f"{result.documents_indexed} documents, {result.chunks_written} chunks written"
    return ""


def _collection(request: Any, result: Any, default: str) -> str | None:
    """The collection a call read or wrote: named in the request or result, else the default one
    for the calls that take a collection."""
    named = getattr(request, "collection", None) or getattr(result, "collection", None)
    return named or (default if request is not None and "collection" in getattr(type(request), "model_fields", {}) else None)


class RecentCalls:
    def __init__(self, *, size: int, keep_queries: bool, default_collection: str):
        self.default_collection = default_collection
        self.size = size
        self._by_caller: collections.OrderedDict[str, collections.deque[tuple[int, RecentCall]]] = collections.OrderedDict()
        self._order = itertools.count()  # the merged list's order: `at` has only second precision
        self._lock = threading.Lock()
        self.keep_queries = keep_queries

    def record(self, call: str, seconds: float, *, request: Any = None, result: Any = None, error: BaseException | None = None) -> None:
        if call in UNLISTED:
            return
        query = getattr(request, "query", None) if self.keep_queries else None
        caller = CALLER.get()
        entry = RecentCall(
            at=rfc3339(dt.datetime.now(dt.UTC)),
            caller=caller,
            call=call,
            ms=round(seconds * 1000, 1),
            outcome=outcome(error),
            collection=(_collection(request, result, self.default_collection) or "")[:SHOWN_CHARS] or None,
            detail=_detail(result),
            query=query[:SHOWN_CHARS] if isinstance(query, str) else None,
        )
        with self._lock:
            self._by_caller.setdefault(caller, collections.deque(maxlen=self.size)).append((next(self._order), entry))
            self._by_caller.move_to_end(caller)  # the most recently active last
            while len(self._by_caller) > MAX_CALLERS:
                self._by_caller.popitem(last=False)

    def newest_first(self) -> list[RecentCall]:
        """Every caller's kept calls, merged, the newest first."""
        with self._lock:
            merged = [kept for calls in self._by_caller.values() for kept in calls]
        return [entry for _, entry in sorted(merged, key=lambda kept: kept[0], reverse=True)]
