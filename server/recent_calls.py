"""The last calls this process's use cases answered, kept in memory for the web page's index view:
when, which use case, how long, the outcome and a few words on the result. Bounded ([ui]
recent_calls), and with no query text unless [ui] keep_queries says so: queries may be private."""

from __future__ import annotations

import collections
import datetime as dt
import threading
from typing import Any

from pydantic import BaseModel, Field

from ragate.retrieval.ingest import rfc3339
from ragate.server.metrics import outcome

# Reads of the index's own state: every page view makes one, and they would push out the calls
# people look for.
UNLISTED = frozenset({"stats"})
SHOWN_CHARS = 200  # of a kept query, and of a collection name (request models bound it to 64 already)


class RecentCall(BaseModel):
    at: str = Field(description="when the call ended (UTC)")
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
        self._calls: collections.deque[RecentCall] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self.keep_queries = keep_queries

    def record(self, call: str, seconds: float, *, request: Any = None, result: Any = None, error: BaseException | None = None) -> None:
        if call in UNLISTED:
            return
        query = getattr(request, "query", None) if self.keep_queries else None
        entry = RecentCall(
            at=rfc3339(dt.datetime.now(dt.UTC)),
            call=call,
            ms=round(seconds * 1000, 1),
            outcome=outcome(error),
            collection=(_collection(request, result, self.default_collection) or "")[:SHOWN_CHARS] or None,
            detail=_detail(result),
            query=query[:SHOWN_CHARS] if isinstance(query, str) else None,
        )
        with self._lock:
            self._calls.append(entry)

    def newest_first(self) -> list[RecentCall]:
        with self._lock:
            return list(reversed(self._calls))
