"""Which Qdrant a settings object points at: the embedded Edge directory or a server via qdrant-client."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from ragate.retrieval.edge_store import EdgeStore, acquire_lock, list_edge_collections
from ragate.retrieval.errors import StoreError, UnknownCollection
from ragate.retrieval.server_store import ClientStore, list_client_collections
from ragate.retrieval.state import FOLDERS, FileDocs, QdrantDocs, StateDocs
from ragate.retrieval.store import Store, check_collection_name, known_hint


class Qdrant:
    """Opens each collection once and keeps it open; closing releases them all. `state` holds
    ragate's own documents beside the collections (retrieval/state.py)."""

    kind: str
    location: str
    state: StateDocs

    def __init__(self) -> None:
        self._open: dict[str, Store] = {}
        self._lock = threading.Lock()

    def _make(self, name: str, create: dict[str, Any] | None) -> Store:
        raise NotImplementedError

    def collections(self) -> list[str]:
        raise NotImplementedError

    def open(self, name: str, create: dict[str, Any] | None = None) -> Store:
        check_collection_name(name)
        with self._lock:
            if name not in self._open:
                self._open[name] = self._make(name, create)
            return self._open[name]

    def last_modified(self, name: str) -> str | None:
        """When the collection's data last changed, if the store can tell (UTC, RFC 3339)."""
        return None

    def drop(self, name: str) -> None:
        check_collection_name(name)  # a name is a folder here: never one outside the index
        with self._lock:
            store = self._open.pop(name, None)
            if store is not None:
                store.close()
            self._drop(name)

    def _drop(self, name: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            for store in self._open.values():
                store.close()
            self._open.clear()


class EdgeQdrant(Qdrant):
    kind = "qdrant-edge"

    def __init__(self, root: str | os.PathLike[str]):
        super().__init__()
        self.root = Path(root)
        self.location = str(self.root.resolve())
        self.state = FileDocs(self.root)

    def _make(self, name, create):
        if create and name in FOLDERS:
            raise StoreError(f"collection name {name!r} is taken by ragate's own state in the index folder; choose another")
        return EdgeStore(self.root, name, create)

    def collections(self):
        return list_edge_collections(self.root)

    def last_modified(self, name):
        d = self.root / check_collection_name(name)
        stamps = [p.stat().st_mtime for p in d.rglob("*") if p.is_file() and not p.name.endswith(".lock")] if d.is_dir() else []
        return dt.datetime.fromtimestamp(max(stamps), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if stamps else None

    def _dir(self, name: str) -> Path:
        """The collection's folder, which must lie directly inside the index."""
        d = self.root / check_collection_name(name)
        if d.resolve().parent != self.root.resolve():
            raise StoreError(f"collection {name!r} resolves outside the index {self.location}")
        return d

    def _drop(self, name):
        d = self._dir(name)
        if not (d / "ragate.json").is_file():
            raise UnknownCollection(f"unknown collection {name!r}" + known_hint(self.collections()))
        # The collection's lock, as any writer takes it: a live server holding the collection makes
        # this fail with its PID instead of losing its files underneath it.
        lock = acquire_lock(d / "ragate.lock")
        try:
            shutil.rmtree(d)
        finally:
            lock.close()


class ServerQdrant(Qdrant):
    kind = "qdrant-client"

    def __init__(self, client, location: str):
        super().__init__()
        self.client = client
        self.location = location
        self.state = QdrantDocs(client, location)

    def _make(self, name, create):
        return ClientStore(self.client, name, create)

    def collections(self):
        return list_client_collections(self.client)

    def _drop(self, name):
        if not self.client.collection_exists(name):
            raise UnknownCollection(f"unknown collection {name!r}" + known_hint(self.collections()))
        self.client.delete_collection(name)

    def close(self) -> None:
        super().close()
        self.client.close()


def open_qdrant(path: str, url: str = "", api_key: str | None = None, timeout_s: float = 30.0) -> Qdrant:
    if url:
        from qdrant_client import QdrantClient

        return ServerQdrant(QdrantClient(url=url, api_key=api_key or None, timeout=int(timeout_s)), url)
    return EdgeQdrant(path)
