"""Drift: does what real queries see still look like what the calibration was fitted on?

Per collection, the last WINDOW values of p_answerable and of the best calibrated relevance are
kept and compared with the profile's reference quantiles by the Kolmogorov-Smirnov distance (the
largest gap between the two cumulative distributions). It is reported as drifting when the distance
exceeds the two-sample critical value at 95% and at least MIN_QUERIES queries were seen: then the
threshold's guarantee was certified on questions unlike the ones asked now.

Each process keeps its window in memory and, once it has served queries for FLUSH_S seconds, writes
it to the store's state at most every FLUSH_S seconds (`drift/<collection>/<process>.json`; a
one-shot command writes nothing, and a process loses at most its last FLUSH_S seconds of queries
when it stops); the report reads every process's window written in the last STALE_S seconds, so
replicas of one cluster report the drift of all the queries they served, and a restart does not
forget the last day's."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import time
import uuid
from collections import deque
from typing import Any

import numpy as np

from ragate.retrieval.errors import StoreError
from ragate.retrieval.state import DRIFT, StateDocs
from ragate.scoring.profile import QUANTILES, Reference

log = logging.getLogger(__name__)

WINDOW = 2000
MIN_QUERIES = 50
SIGNALS = ("p_answerable", "top_relevance")
FLUSH_S = 30.0
STALE_S = 24 * 3600.0  # a window older than this is no longer read, and removed


def ks_distance(sample: np.ndarray, quantiles: list[float]) -> float:
    """KS distance between a sample and a distribution known by its QUANTILES."""
    xs = np.sort(sample)
    ref = np.interp(xs, quantiles, QUANTILES, left=0.0, right=1.0)
    n = len(xs)
    above = np.arange(1, n + 1) / n - ref
    below = ref - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


class DriftMonitor:
    def __init__(self, docs: StateDocs) -> None:
        self.docs = docs
        self.name = uuid.uuid4().hex[:16]  # this process's window among the store's
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._flushed: dict[str, float] = {}  # collection -> when its window was last written (or first seen)
        self._lock = threading.Lock()

    def record(self, collection: str, **values: float | None) -> None:
        now = time.monotonic()
        with self._lock:
            for signal, v in values.items():
                if v is not None:
                    self._seen.setdefault((collection, signal), deque(maxlen=WINDOW)).append(float(v))
            due = now - self._flushed.setdefault(collection, now) >= FLUSH_S
            if due:
                self._flushed[collection] = now  # taken here: one query of many writes it
                window = {s: list(self._seen.get((collection, s), ())) for s in SIGNALS}
        if due:
            self._write(collection, window)

    def _write(self, collection: str, window: dict[str, list[float]]) -> None:
        """Store this process's window; a store that refuses is logged: drift is a report, never a
        reason to fail the query that happened to write it."""
        try:
            self.docs.write(f"{DRIFT}/{collection}/{self.name}.json", json.dumps({"at": time.time(), "window": window}))
        except Exception as e:
            log.warning("drift: this process's window of %s is not stored: %s", collection, e)

    def forget(self, collection: str) -> None:
        """A dropped collection's windows, this process's and the store's: a collection made again
        under its name starts afresh."""
        with self._lock:
            for key in [k for k in self._seen if k[0] == collection]:
                del self._seen[key]
            self._flushed.pop(collection, None)
        for name in self.docs.documents(f"{DRIFT}/{collection}"):
            self.docs.remove(name)

    def _windows(self, collection: str) -> tuple[dict[str, list[float]], int]:
        """Every signal's values over this process's window and the other processes' fresh ones,
        and how many processes contributed."""
        with self._lock:
            values = {s: list(self._seen.get((collection, s), ())) for s in SIGNALS}
        processes = 1
        try:
            stored = self.docs.documents(f"{DRIFT}/{collection}")
        except StoreError as e:
            log.warning("drift: other processes' windows of %s are not read: %s", collection, e)
            return values, processes
        for name, text in stored.items():
            if name.endswith(f"/{self.name}.json"):
                continue
            try:
                doc = json.loads(text)
                fresh = time.time() - float(doc["at"]) <= STALE_S
                theirs = {s: [float(v) for v in doc["window"].get(s, [])] for s in SIGNALS}
            except (ValueError, TypeError, KeyError, AttributeError):
                fresh = False  # not a window this code wrote: dropped like a stale one
            if not fresh:
                with contextlib.suppress(StoreError):
                    self.docs.remove(name)
                continue
            processes += 1
            for s in SIGNALS:
                values[s] += theirs[s]
        return values, processes

    def report(self, collection: str, reference: Reference | None) -> dict[str, Any]:
        """Per signal: queries seen (by every process on this store), their median, and against the
        reference its KS distance, the critical value and whether it drifts."""
        out: dict[str, Any] = {}
        values, processes = self._windows(collection)
        out["processes"] = processes
        for signal in SIGNALS:
            sample = np.asarray(values[signal], dtype=np.float64)
            entry: dict[str, Any] = {"queries": len(sample), "median": round(float(np.median(sample)), 4) if len(sample) else None}
            if reference is not None and len(sample):
                m = reference.pools
                critical = 1.358 * math.sqrt((len(sample) + m) / (len(sample) * m))
                d = ks_distance(sample, getattr(reference, signal))
                entry |= {
                    "ks_distance": round(d, 4),
                    "critical": round(critical, 4),
                    "drifting": len(sample) >= MIN_QUERIES and d > critical,
                }
            out[signal] = entry
        return out
