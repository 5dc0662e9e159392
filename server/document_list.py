"""Pages of a collection's documents for the web page's index view. Listing reads every chunk's
payload, so the rows are kept per collection and read again only once it changed: a write here
moves its update time, one by another writer of a Qdrant server at least its count, or the rows
pass DOCUMENTS_FRESH_S in age."""

from __future__ import annotations

import threading
import time
from typing import Any

from ragate.retrieval.store import Store
from ragate.server.requests import DocumentsRequest
from ragate.server.schemas import DocumentList, DocumentSummary

DOCUMENTS_FRESH_S = 30.0


class DocumentPages:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[tuple[Any, ...], list[dict[str, Any]]]] = {}  # per collection: as of when, its rows
        self._lock = threading.Lock()

    def page(self, name: str, store: Store, *, updated_at: str | None, req: DocumentsRequest) -> DocumentList:
        key = (updated_at, store.count(), int(time.monotonic() // DOCUMENTS_FRESH_S))
        with self._lock:
            cached = self._rows.get(name)
        if cached is None or cached[0] != key:
            cached = (key, store.documents())
            with self._lock:
                self._rows[name] = cached
        rows = cached[1]
        documents = [DocumentSummary.model_validate(r) for r in rows[req.offset : req.offset + req.limit]]
        return DocumentList(collection=name, total=len(rows), offset=req.offset, documents=documents)
