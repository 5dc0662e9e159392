"""`[calibration] auto`: the index service self-calibrates its collections in the background.

A collection is due when it has at least `min_chunks` chunks and no calibration of its own for the
models in use, or when it has grown or shrunk by `regrow` (a fraction of its size) since its
self-calibration; a labelled calibration is never replaced. One background thread at the lowest
CPU priority starts a run only after the service has been idle for `idle_s`, and between questions
it waits while any call is in flight, so it is never in the way of one; `max_minutes` bounds a run.
A run that fails is logged at WARNING, shown by `stats`, `doctor` and the page, and retried after a
backoff (RETRY_S, doubling up to RETRY_MAX_S), however often the collection changes meanwhile."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ragate.retrieval.errors import RagateError
from ragate.retrieval.ingest import rfc3339
from ragate.retrieval.progress import reporting_to
from ragate.scoring.engines.runners import lowest_priority
from ragate.scoring.profile import Profile, now
from ragate.server.config import CalibrationSettings
from ragate.server.lab.self_calibrate import self_calibrate
from ragate.server.retriever import Retriever

log = logging.getLogger(__name__)
RETRY_S = 600.0  # after a first failure; each further failure doubles it
RETRY_MAX_S = 86400.0


def refit_due(own: Profile | None, chunks: int, regrow: float) -> bool:
    """Whether a collection of `chunks` chunks, with `own` self calibration (or none), is due a
    self-calibration: none yet, its size moved by `regrow` (a fraction) since, or a gate that can
    never answer (stored before such fits were refused), whose run then fits or says why."""
    fitted = own.figures.get("chunks", 0) if own is not None else 0
    never_answers = own is not None and own.answerability is not None and own.answerability.never_answers
    return not fitted or never_answers or abs(chunks - fitted) >= regrow * fitted


class Stopped(Exception):
    """The service is closing: the run ends between two questions."""


class AutoCalibration:
    def __init__(self, retriever: Retriever, settings: CalibrationSettings, *, idle_for: Callable[[], float], busy: Callable[[], bool]):
        self.retriever, self.settings = retriever, settings
        self._idle_for, self._busy = idle_for, busy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state: dict[str, dict[str, Any]] = {}  # per collection: what the last run did
        self.running: str | None = None
        self.finished_at = 0.0  # time.monotonic() of the last run's end

    def start(self) -> None:
        if self.settings.auto:
            self._thread = threading.Thread(target=self._loop, name="auto-calibration", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def describe(self) -> dict[str, Any]:
        return {"auto": self.settings.auto, "running": self.running, "collections": self.state}

    def due(self) -> tuple[str, int] | None:
        """The first collection that needs a self-calibration, if any, with its size."""
        catalog, s = self.retriever.catalog, self.settings
        for name in catalog.qdrant.collections():
            try:
                chunks = catalog.store(name).count()
            except RagateError:
                continue
            if chunks < s.min_chunks or time.time() < self.state.get(name, {}).get("retry_at", 0.0):
                continue
            mine = catalog.profiles_available(name)
            failed = self.state.get(name, {})
            if failed.get("status") == "failed" and any(mine[s].fitted_at > failed["at"] for s in ("labelled", "self") if s in mine):
                del self.state[name]  # fitted since (`ragate calibrate`): the failure is past
            if "labelled" in mine:
                continue
            if refit_due(mine.get("self"), chunks, s.regrow):
                return name, chunks
        return None

    def _loop(self) -> None:
        lowest_priority()
        while not self._stop.wait(min(self.settings.idle_s, 30.0)):
            if not self.retriever.models.ready or self._idle_for() < self.settings.idle_s:
                continue
            due = self.due()
            if due is not None:
                self._run(*due)

    def _give_way(self, desc: str, done: int, total: int | None) -> None:
        """Called between questions: wait while a call is in flight; end the run when closing."""
        while self._busy():
            if self._stop.wait(0.2):
                raise Stopped
        if self._stop.is_set():
            raise Stopped

    def _run(self, name: str, chunks: int) -> None:
        self.running = name
        started = time.monotonic()
        log.warning("self-calibrating collection %r in the background (%d chunks; [calibration] auto)", name, chunks)
        try:
            with reporting_to(self._give_way):
                figures = self_calibrate(self.retriever, collection=name, progress=True)
            g = figures["gate"]
            self.state[name] = {"status": "fitted", "at": now(), "chunks": chunks, "seconds": round(time.monotonic() - started, 1)}
            log.warning(
                "collection %r self-calibrated in %.0fs: threshold %.3f, false-accept bound %.3f, false-abstain %.3f",
                name,
                time.monotonic() - started,
                g["threshold"],
                g["false_accept_bound"],
                g["false_abstain_rate"],
            )
        except Stopped:
            self.state[name] = {"status": "interrupted", "at": now(), "chunks": chunks}
        except Exception as e:  # a failed background run must not take the service down; it says why in stats
            failures = self.state.get(name, {}).get("failures", 0) + 1
            wait = min(RETRY_MAX_S, RETRY_S * 2 ** (failures - 1))
            log.warning("self-calibration of collection %r failed (%d in a row; retried in %.0f s): %s", name, failures, wait, e)
            self.state[name] = {
                "status": "failed",
                "at": now(),
                "chunks": chunks,
                "seconds": round(time.monotonic() - started, 1),
                "error": str(e)[:500],
                "failures": failures,
                "retry_at": time.time() + wait,
                "retry_at_utc": rfc3339(dt.datetime.fromtimestamp(time.time() + wait, dt.UTC)),
            }
        finally:
            self.running = None
            self.finished_at = time.monotonic()
