"""Per-stage wall-clock timings, reported as `timings_ms` in every response, each stage also an
OpenTelemetry span (server/tracing.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from ragate.server.tracing import tracer


class Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            with tracer.start_as_current_span(f"ragate.{name}"):
                yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t) * 1000

    def done(self) -> dict[str, float]:
        """Milliseconds per stage plus `total` since the timer started."""
        self.ms["total"] = (time.perf_counter() - self._t0) * 1000
        return {k: round(v, 2) for k, v in self.ms.items()}


def with_wait(timings_ms: dict[str, float], stage: str, ms: float) -> dict[str, float]:
    """A call's stage timings with a wait before its work first (for the models to load, for a
    reranker slot behind other calls), counted in the total so the stages add up to it."""
    return {stage: round(ms, 2), **timings_ms, "total": round(timings_ms.get("total", 0.0) + ms, 2)}
