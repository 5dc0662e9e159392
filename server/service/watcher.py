"""Folder watching for the index service: changed files are indexed again and deleted ones pruned,
so search never lags the folder by more than a debounce interval and one incremental pass.

Each burst of changes (debounced by watchfiles) triggers an incremental `index` of the watched
folder with pruning: unchanged files are skipped by content hash, include/exclude globs and the
allowed roots apply exactly as for `index_paths`.

A folder replaced under the watch (`mv watch watch.bak; mkdir watch`, as editors, git checkout and
rsync do) is noticed within REARM_S and watched again where its path now points; a folder that is
gone is reported in `stats` (`stopped_folders`) until it comes back."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from watchfiles import watch

from ragate.retrieval.errors import IngestError
from ragate.server.ops import INDEX
from ragate.server.requests import IndexRequest

log = logging.getLogger(__name__)

REARM_S = 2.0  # how often a quiet watch checks that its path is still the folder it watches


class FolderWatcher:
    def __init__(self, pipeline, *, debounce_ms: int):
        self.pipeline = pipeline
        self.debounce_ms = debounce_ms
        self.folders: dict[str, threading.Thread] = {}
        self.pending = 0
        self._pending_since: float | None = None  # when the changes waiting now were seen
        self.last_update: str | None = None
        self.last_error: str | None = None
        self.stopped: dict[str, str] = {}  # folder -> why it is not watched now
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
        # Under the pipeline's write lock: a watch pass and a client's write never interleave.
        report = self.pipeline.run(INDEX, IndexRequest(paths=[str(folder)], prune=True, allowed_roots=allowed_roots))
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
        """Watch until closed; when the path comes to name another folder, index and watch that one."""
        first = True
        while not self._stop.is_set():
            ident = _identity(folder)
            if ident is None:
                with self._lock:
                    self.stopped[str(folder)] = "the folder is gone; watching resumes when it is back"
                self._stop.wait(REARM_S)
                continue
            if not first:  # a new folder at the path: what it holds now is indexed, what is gone pruned
                log.warning("watch %s: the folder was replaced; watching the new one", folder)
                self._pass(folder, allowed_roots)
            first = False
            with self._lock:
                self.stopped.pop(str(folder), None)
            try:
                for changes in watch(
                    folder,
                    debounce=self.debounce_ms,
                    stop_event=self._stop,
                    raise_interrupt=False,
                    rust_timeout=int(REARM_S * 1000),
                    yield_on_timeout=True,
                ):
                    if _identity(folder) != ident:
                        break
                    if changes:
                        with self._lock:
                            self.pending = len(changes)
                            self._pending_since = time.monotonic()
                        self._pass(folder, allowed_roots)
            except Exception as e:  # the watch itself failed (its folder removed under it): look again
                log.warning("watch %s: %s", folder, e)
                self._stop.wait(REARM_S)

    def _pass(self, folder: Path, allowed_roots: list[str] | None) -> None:
        try:
            self._index(folder, allowed_roots)
            self.last_error = None
        except Exception as e:  # a bad file or a vanished folder must not end the watch
            self.last_error = f"{type(e).__name__}: {e}"[:500]
            log.warning("watch %s: %s", folder, self.last_error)
        finally:
            with self._lock:
                self.pending, self._pending_since = 0, None

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "watching": sorted(self.folders),
                "pending_changes": self.pending,
                # How long the changes waiting now have waited to be indexed (0: none waiting).
                "watch_lag_s": round(time.monotonic() - self._pending_since, 3) if self._pending_since is not None else 0.0,
                "last_watch_update": self.last_update,
                "last_watch_error": self.last_error,
                "stopped_folders": dict(self.stopped),
            }

    def close(self) -> None:
        self._stop.set()


def _identity(folder: Path) -> tuple[int, int] | None:
    """Which folder the path names now (device and inode), or None when it names none."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(folder) else None
