"""Drift: does what real queries see still look like what the calibration was fitted on?

Per collection, the last WINDOW values of p_answerable and of the best calibrated relevance are
kept in memory and compared with the profile's reference quantiles by the Kolmogorov-Smirnov
distance (the largest gap between the two cumulative distributions). It is reported as drifting
when the distance exceeds the two-sample critical value at 95% and at least MIN_QUERIES queries
were seen: then the threshold's guarantee was certified on questions unlike the ones asked now."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

import numpy as np

from ragate.scoring.profile import QUANTILES, Reference

WINDOW = 2000
MIN_QUERIES = 50
SIGNALS = ("p_answerable", "top_relevance")


def ks_distance(sample: np.ndarray, quantiles: list[float]) -> float:
    """KS distance between a sample and a distribution known by its QUANTILES."""
    xs = np.sort(sample)
    ref = np.interp(xs, quantiles, QUANTILES, left=0.0, right=1.0)
    n = len(xs)
    above = np.arange(1, n + 1) / n - ref
    below = ref - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


class DriftMonitor:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, collection: str, **values: float | None) -> None:
        with self._lock:
            for signal, v in values.items():
                if v is not None:
                    self._seen.setdefault((collection, signal), deque(maxlen=WINDOW)).append(float(v))

    def report(self, collection: str, reference: Reference | None) -> dict[str, Any]:
        """Per signal: queries seen, their median, and against the reference its KS distance, the
        critical value and whether it drifts."""
        out: dict[str, Any] = {}
        for signal in SIGNALS:
            with self._lock:
                sample = np.asarray(self._seen.get((collection, signal), ()), dtype=np.float64)
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
