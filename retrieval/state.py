"""Small documents of ragate's own kept in the store beside the collections (each collection's
calibration profiles, its latest evaluation, each replica's drift window) and append-only logs
(agents' feedback), so that everything reading one store reads the same state: files in the index
folder for the embedded store, and a collection of ragate's own (`ragate.state`, a name no user
collection can take) on a Qdrant server, where every replica of one cluster finds them.

Each document is read again only when it may have changed: a file when its modification time does,
a server's document at most every `RELOAD_S` seconds (another replica's write shows within that),
and at once after this process writes it."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Hashable, Iterator
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import StoreError

logger = logging.getLogger(__name__)

STATE_COLLECTION = "ragate.state"  # outside the user's collection names ([A-Za-z0-9_-]), listed by none
RELOAD_S = 10.0
LOG_RELOAD_S = 600.0
# The folders the documents are kept in: in the embedded store's index folder they sit beside the
# collections' own folders, so no collection may take one of these names there.
CALIBRATION, DRIFT, EVALUATIONS = "calibration", "drift", "evaluations"
FOLDERS = frozenset({CALIBRATION, DRIFT, EVALUATIONS})
TMP_SUFFIX = ".tmp"
MAX_LOG_BYTES = 64 * 1024 * 1024  # a log file past this is rotated to `<name>.1` (one generation kept)
# A log on a server past this many lines is rotated alike: about MAX_LOG_BYTES of verdicts of 250 bytes.
MAX_LOG_LINES = 250_000
SCROLL_PAGE = 1000


class StateDocs:
    """Named text documents (`name` is a relative path such as "calibration/notes.self.json")."""

    location: str

    def read(self, name: str) -> str | None:
        raise NotImplementedError

    def stamp(self, name: str) -> Hashable:
        """Changes whenever the document may have: cheap, for a read on every query."""
        raise NotImplementedError

    def log_stamp(self, log: str) -> Hashable:
        """Changes whenever the log may have grown (as `stamp` for a document)."""
        return self.stamp(log)

    def write(self, name: str, text: str) -> str:
        """Store the document whole, replacing any earlier one; where it went (`where`)."""
        raise NotImplementedError

    def where(self, name: str) -> str:
        """Where a document or log is kept, in words for the user."""
        raise NotImplementedError

    def remove(self, name: str) -> None:
        raise NotImplementedError

    def documents(self, folder: str) -> dict[str, str]:
        """The documents directly in `folder` (a name's part before its last "/"): name -> text."""
        raise NotImplementedError

    def append(self, log: str, *lines: str) -> bool:
        """Add lines (no newline in any) to the log `log`, durably, each whole or not at all; True
        when the log's older lines were set aside first (it would have grown past its bound)."""
        raise NotImplementedError

    def lines(self, log: str) -> list[str]:
        """Every line of the log, oldest first."""
        raise NotImplementedError


def _folder(name: str) -> str:
    return name.rpartition("/")[0]


def _match(key: str, value: str) -> Any:
    """A Qdrant filter on one payload field's value (`folder` lists documents, `log` reads a log)."""
    from qdrant_client import models

    return models.Filter(must=[models.FieldCondition(key=key, match=models.MatchValue(value=value))])


class FileDocs(StateDocs):
    """The embedded store's: files under the index folder, each written whole (a reader never sees
    half). A file that cannot be read or written (a full disk, a folder in its place) is a
    StoreError naming it."""

    def __init__(self, root: Path):
        self.root = root
        self.location = str(root)

    def _path(self, name: str) -> Path:
        return self.root / name

    @contextlib.contextmanager
    def _disk(self, doing: str, name: str) -> Iterator[None]:
        try:
            yield
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"cannot {doing} {self._path(name)}: {e}") from None

    def read(self, name: str) -> str | None:
        with self._disk("read", name):
            try:
                return self._path(name).read_text()
            except FileNotFoundError:
                return None

    def stamp(self, name: str) -> Hashable:
        try:
            st = self._path(name).stat()
            return st.st_size, st.st_mtime_ns
        except OSError:
            return 0

    def write(self, name: str, text: str) -> str:
        path = self._path(name)
        with self._disk("write", name):
            path.parent.mkdir(parents=True, exist_ok=True)
            # A temporary file of this write's own: writers of one name at once never share one.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return self.where(name)

    def where(self, name: str) -> str:
        return str(self._path(name))

    def remove(self, name: str) -> None:
        with self._disk("remove", name):
            self._path(name).unlink(missing_ok=True)

    def documents(self, folder: str) -> dict[str, str]:
        d = self._path(folder)
        with self._disk("list", folder):
            found = sorted(p.name for p in d.iterdir() if p.is_file() and not p.name.endswith(TMP_SUFFIX)) if d.is_dir() else []
        out = {}
        for n in found:
            name = f"{folder}/{n}"
            try:
                text = self._path(name).read_bytes().decode("utf-8", errors="replace")
            except FileNotFoundError:  # removed meanwhile: gone
                continue
            except OSError as e:  # unreadable: listed empty, so the reader drops it as it drops any it cannot parse
                logger.warning("cannot read %s: %s", self._path(name), e)
                text = ""
            out[name] = text
        return out

    def append(self, log: str, *lines: str) -> bool:
        path = self._path(log)
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        rotated = False
        with self._disk("append to", log):
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.exists() and path.stat().st_size + len(data) > MAX_LOG_BYTES:
                path.replace(path.with_name(path.name + ".1"))
                rotated = True
                logger.warning("%s passed %d bytes; its older lines are in %s.1", path, MAX_LOG_BYTES, path.name)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # one write: a reader never sees half a line
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        return rotated

    def lines(self, log: str) -> list[str]:
        # Bytes that are not UTF-8 (a hand edit) become U+FFFD: that line is unreadable, not the log.
        with self._disk("read", log):
            try:
                text = self._path(log).read_bytes().decode("utf-8", errors="replace")
            except FileNotFoundError:
                return []
        return [line for line in text.split("\n") if line.strip()]


class QdrantDocs(StateDocs):
    """A Qdrant server's: one point per document, and one per line of a log, without vectors, in
    `ragate.state`. A failure of the server (down, refusing the key) is a StoreError naming it."""

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
            if not self._created and self.client.collection_exists(STATE_COLLECTION):
                self._index_fields()  # one made by an earlier version has none
                self._created = True
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
            self._index_fields()
            self._created = True

    def _index_fields(self) -> None:
        """The fields documents are listed and logs read by: a cluster in strict mode filters only
        on indexed fields (the local Qdrant ignores these, with a warning). Creating one that exists
        changes nothing."""
        from qdrant_client import models

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for field in ("folder", "log"):
                self.client.create_payload_index(STATE_COLLECTION, field, models.PayloadSchemaType.KEYWORD)

    def read(self, name: str) -> str | None:
        with self._server(f"reading {name}"):
            if not self._exists():
                return None
            found = self.client.retrieve(STATE_COLLECTION, [self._id(name)], with_payload=True)
            return str(found[0].payload["text"]) if found else None

    def stamp(self, name: str) -> Hashable:
        return (int(time.monotonic() // RELOAD_S), self._writes.get(name, 0))

    def log_stamp(self, log: str) -> Hashable:
        # The server counts the log's lines (an indexed field), so a log nobody wrote to is not
        # read again every RELOAD_S; and once every LOG_RELOAD_S whatever the count says, in case
        # another replica's line landed between this process's write and its count.
        with self._server(f"counting {log}"):
            lines = self._held(log) if self._exists() else 0
        return lines, int(time.monotonic() // LOG_RELOAD_S)

    def _held(self, log: str) -> int:
        """The log's lines, as the server counts them (inside a `_server` block)."""
        return int(self.client.count(STATE_COLLECTION, count_filter=_match("log", log), exact=True).count)

    def write(self, name: str, text: str) -> str:
        from qdrant_client import models

        with self._server(f"writing {name}"):
            self._create()
            point = models.PointStruct(id=self._id(name), vector={}, payload={"name": name, "folder": _folder(name), "text": text})
            self.client.upsert(STATE_COLLECTION, points=[point], wait=True)
        self._bump(name)
        return self.where(name)

    def where(self, name: str) -> str:
        return f"{self.location} ({STATE_COLLECTION}: {name})"

    def _bump(self, name: str) -> None:
        with self._lock:
            self._writes[name] = self._writes.get(name, 0) + 1

    def _scroll(self, key: str, value: str, doing: str) -> list[dict[str, Any]]:
        """The payloads of every point whose `key` is `value`."""
        match = _match(key, value)
        out: list[dict[str, Any]] = []
        with self._server(doing):
            if not self._exists():
                return out
            offset = None
            while True:
                points, offset = self.client.scroll(
                    STATE_COLLECTION, scroll_filter=match, limit=SCROLL_PAGE, offset=offset, with_payload=True, with_vectors=False
                )
                out += [dict(p.payload or {}) for p in points]
                if offset is None:
                    return out

    def documents(self, folder: str) -> dict[str, str]:
        found = self._scroll("folder", folder, f"listing {folder}/")
        return {str(p["name"]): str(p["text"]) for p in sorted(found, key=lambda p: str(p["name"]))}

    def append(self, log: str, *lines: str) -> bool:
        from qdrant_client import models

        # One point per line, under a fresh id: replicas append at once without overwriting each other.
        at = time.time_ns()
        points = [
            models.PointStruct(id=str(uuid.uuid4()), vector={}, payload={"log": log, "line": line, "at_ns": at + i})
            for i, line in enumerate(lines)
        ]
        with self._server(f"appending to {log}"):
            self._create()
            rotated = self._held(log) + len(lines) > MAX_LOG_LINES
            if rotated:
                # As a file is rotated: the older lines become `<log>.1` (relabelled in place, one call), and
                # the generation before them goes.
                older = f"{log}.1"
                self.client.delete(STATE_COLLECTION, points_selector=models.FilterSelector(filter=_match("log", older)), wait=True)
                self.client.set_payload(STATE_COLLECTION, payload={"log": older}, points=_match("log", log), wait=True)
                logger.warning("%s passed %d lines; its older lines are in %s", self.where(log), MAX_LOG_LINES, older)
            for i in range(0, len(points), SCROLL_PAGE):
                self.client.upsert(STATE_COLLECTION, points=points[i : i + SCROLL_PAGE], wait=True)
        self._bump(log)
        return rotated

    def lines(self, log: str) -> list[str]:
        rows = self._scroll("log", log, f"reading {log}")
        return [str(r["line"]) for r in sorted(rows, key=lambda r: int(r.get("at_ns", 0)))]

    def remove(self, name: str) -> None:
        from qdrant_client import models

        with self._server(f"removing {name}"):
            if self._exists():
                self.client.delete(STATE_COLLECTION, points_selector=models.PointIdsList(points=[self._id(name)]), wait=True)
        self._bump(name)
