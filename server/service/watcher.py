"""Folder watching for the index service: changed files are indexed again and deleted ones pruned,
so search never lags the folder by more than a debounce interval and one incremental pass.

Each burst of changes (debounced by watchfiles) triggers an incremental `index` of the watched
folder with pruning: unchanged files are skipped by content hash, include/exclude globs and the
allowed roots apply exactly as for `index_paths`."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import IngestError
from ragate.server.requests import IndexRequest

log = logging.getLogger(__name__)


class FolderWatcher:
    def __init__(self, pipeline, *, debounce_ms: int, write_lock: threading.Lock):
        self.pipeline = pipeline
        self._write_lock = write_lock  # the service's: a watch pass and a client's write never interleave
        self.debounce_ms = debounce_ms
        self.folders: dict[str, threading.Thread] = {}
        self.pending = 0
        self.last_update: str | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def add(self, paths: list[str], *, allowed_roots: list[str] | None) -> None:
        """Watch these folders (indexing each once now); a path outside the allowed roots is refused."""
        for raw in paths:
            folder = Path(raw).resolve()
            key = str(folder)
            if key in self.folders:
                continue
            if not folder.is_dir():
                raise IngestError(f"watch: not a folder: {raw}")
            self._index(folder, allowed_roots)  # also checks the allowed roots before anything is watched
            t = threading.Thread(target=self._watch, args=(folder, allowed_roots), name=f"ragate-watch-{folder.name}", daemon=True)
            self.folders[key] = t
            t.start()

    def _index(self, folder: Path, allowed_roots: list[str] | None) -> None:
        with self._write_lock:
            report = self.pipeline.index(IndexRequest(paths=[str(folder)], prune=True), allowed_roots=allowed_roots)
        with self._lock:
            self.last_update = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        log.info(
            "watch %s: %d indexed, %d unchanged, %d removed",
            folder,
            report.documents_indexed,
            report.documents_unchanged,
            report.documents_removed,
        )

    def _watch(self, folder: Path, allowed_roots: list[str] | None) -> None:
        from watchfiles import watch

        for changes in watch(folder, debounce=self.debounce_ms, stop_event=self._stop, raise_interrupt=False):
            with self._lock:
                self.pending = len(changes)
            try:
                self._index(folder, allowed_roots)
                self.last_error = None
            except Exception as e:  # a bad file or a vanished folder must not end the watch
                self.last_error = f"{type(e).__name__}: {e}"[:500]
                log.warning("watch %s: %s", folder, self.last_error)
            finally:
                with self._lock:
                    self.pending = 0

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "watching": sorted(self.folders),
                "pending_changes": self.pending,
                "last_watch_update": self.last_update,
                "last_watch_error": self.last_error,
            }

    def close(self) -> None:
        self._stop.set()
