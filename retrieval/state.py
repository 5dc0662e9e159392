"""Small documents of ragate's own kept in the store beside the collections (each collection's
calibration profiles), so that everything reading one store reads the same state: files in the
index folder for the embedded store, and a collection of ragate's own (`ragate.state`, a name no
user collection can take) on a Qdrant server, where every replica of one cluster finds them.

Each document is read again only when it may have changed: a file when its modification time does,
a server's document at most every `RELOAD_S` seconds (another replica's write shows within that),
and at once after this process writes it."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import StoreError

STATE_COLLECTION = "ragate.state"  # outside the user's collection names ([A-Za-z0-9_-]), listed by none
RELOAD_S = 10.0


class StateDocs:
    """Named text documents (`name` is a relative path such as "calibration/notes.self.json")."""

    location: str

    def read(self, name: str) -> str | None:
        raise NotImplementedError

    def stamp(self, name: str) -> Hashable:
        """Changes whenever the document may have: cheap, for a read on every query."""
        raise NotImplementedError

    def write(self, name: str, text: str) -> str:
        """Store the document whole, replacing any earlier one; where it went, for the user."""
        raise NotImplementedError

    def remove(self, name: str) -> None:
        raise NotImplementedError


class FileDocs(StateDocs):
    """The embedded store's: files under the index folder, each written whole (a reader never sees half)."""

    def __init__(self, root: Path):
        self.root = root
        self.location = str(root)

    def _path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> str | None:
        try:
            return self._path(name).read_text()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"cannot read {self._path(name)}: {e}") from None

    def stamp(self, name: str) -> Hashable:
        try:
            return self._path(name).stat().st_mtime_ns
        except OSError:
            return 0

    def write(self, name: str, text: str) -> str:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        return str(path)

    def remove(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)


class QdrantDocs(StateDocs):
    """A Qdrant server's: one point per document, without vectors, in `ragate.state`. A failure
    of the server (down, refusing the key) is a StoreError naming it."""

    def __init__(self, client: Any, location: str):
        self.client = client
        self.location = location
        self._writes: dict[str, int] = {}  # this process's own writes: read back at once
        self._lock = threading.Lock()
        self._created = False

    @staticmethod
    def _id(name: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ragate-state:{name}"))

    @contextlib.contextmanager
    def _server(self, doing: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except Exception as e:  # qdrant-client's own errors, transport ones among them
            raise StoreError(f"{doing} in {STATE_COLLECTION} on {self.location}: {type(e).__name__}: {str(e)[:300]}") from None

    def _exists(self) -> bool:
        with self._lock:
            if not self._created:
                self._created = bool(self.client.collection_exists(STATE_COLLECTION))
            return self._created

    def _create(self) -> None:
        with self._lock:
            if self._created:
                return
            try:
                self.client.create_collection(STATE_COLLECTION, vectors_config={})
            except Exception:  # another replica created it meanwhile
                if not self.client.collection_exists(STATE_COLLECTION):
                    raise
            self._created = True

    def read(self, name: str) -> str | None:
        with self._server(f"reading {name}"):
            if not self._exists():
                return None
            found = self.client.retrieve(STATE_COLLECTION, [self._id(name)], with_payload=True)
            return str(found[0].payload["text"]) if found else None

    def stamp(self, name: str) -> Hashable:
        return (int(time.monotonic() // RELOAD_S), self._writes.get(name, 0))

    def write(self, name: str, text: str) -> str:
        from qdrant_client import models

        with self._server(f"writing {name}"):
            self._create()
            point = models.PointStruct(id=self._id(name), vector={}, payload={"name": name, "text": text})
            self.client.upsert(STATE_COLLECTION, points=[point], wait=True)
        self._writes[name] = self._writes.get(name, 0) + 1
        return f"{self.location} ({STATE_COLLECTION}: {name})"

    def remove(self, name: str) -> None:
        from qdrant_client import models

        with self._server(f"removing {name}"):
            if self._exists():
                self.client.delete(STATE_COLLECTION, points_selector=models.PointIdsList(points=[self._id(name)]), wait=True)
        self._writes[name] = self._writes.get(name, 0) + 1
