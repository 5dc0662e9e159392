"""Prometheus metrics of the use cases this process runs (the index service, or `serve` against a
Qdrant server): calls per tool and outcome, latency per tool and per stage, reranker pairs and
how many the score cache served, the gate's decisions and p_answerable, calls waiting for a
reranker slot, and, read at each scrape, the index's size per collection, the engines in use and
(in the index service) the folder watcher's pending changes and lag.

Label values come from closed sets (tool names, stage names, error kinds, gate reasons,
collection and model names): no query text, chunk id or document reaches a label."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ragate.retrieval.errors import RagateError

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
PROBABILITY = tuple(round(0.1 * i, 1) for i in range(1, 11))


def outcome(error: BaseException | None) -> str:
    """ "ok", the error's kind for an error a caller can act on, else "internal"."""
    if error is None:
        return "ok"
    return error.kind if isinstance(error, RagateError) else "internal"


class IndexCollector(Collector):
    """Gauges read from `stats` at scrape time, so they are never stale."""

    def __init__(self, stats: Callable[[], dict[str, Any]]):
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        s = self.stats()
        chunks = GaugeMetricFamily("ragate_index_chunks", "Chunks in each collection", labels=["collection"])
        docs = GaugeMetricFamily("ragate_index_documents", "Documents in each collection", labels=["collection"])
        for name, c in s.get("collections", {}).items():
            if "chunks" in c:
                chunks.add_metric([name], c["chunks"])
                docs.add_metric([name], c["documents"])
        engines = GaugeMetricFamily(
            "ragate_engine_info", "The engine each model runs on (value 1)", labels=["model", "name", "engine", "device"]
        )
        for role in ("embedder", "reranker"):
            m = s.get(role) or {}
            engines.add_metric([role, str(m.get("model")), str(m.get("engine")), str(m.get("device"))], 1)
        yield from (chunks, docs, engines)


class WatcherCollector(Collector):
    """The index service's folder watcher, read at scrape time: folders watched, changes waiting
    to be indexed and how long they have waited."""

    def __init__(self, watcher_state: Callable[[], dict[str, Any]]):
        self.watcher_state = watcher_state  # not `describe`: the registry would take it for Collector.describe

    def collect(self) -> Iterator[GaugeMetricFamily]:
        d = self.watcher_state()
        yield GaugeMetricFamily("ragate_watcher_folders", "Folders the index service watches", value=len(d["watching"]))
        yield GaugeMetricFamily("ragate_watcher_pending_changes", "File changes seen and not yet indexed", value=d["pending_changes"])
        yield GaugeMetricFamily("ragate_watcher_lag_seconds", "How long the pending changes have waited", value=d["watch_lag_s"])


class Metrics:
    def __init__(self, stats: Callable[[], dict[str, Any]]):
        r = self.registry = CollectorRegistry()
        self.calls = Counter("ragate_tool_calls", "Calls per tool and outcome (ok, or the error's kind)", ["tool", "outcome"], registry=r)
        self.latency = Histogram("ragate_tool_latency_seconds", "Time per call, by tool", ["tool"], buckets=SECONDS, registry=r)
        self.stages = Histogram("ragate_stage_latency_seconds", "Time per pipeline stage", ["stage"], buckets=SECONDS, registry=r)
        self.pairs = Counter("ragate_rerank_pairs", "Query-passage pairs the reranker was given", registry=r)
        self.cached = Counter(
            "ragate_rerank_cached_pairs", "Pairs the score cache answered (hit rate: this / ragate_rerank_pairs)", registry=r
        )
        self.gate = Counter("ragate_gate_decisions", "answer_or_abstain decisions, by status and reason", ["status", "reason"], registry=r)
        self.p_answerable = Histogram("ragate_p_answerable", "The gate's p_answerable per decision", buckets=PROBABILITY, registry=r)
        self.waiting = Gauge("ragate_calls_waiting", "Calls waiting for a reranker slot or the write lock (the queue stage)", registry=r)
        r.register(IndexCollector(stats))

    def record(self, tool: str, seconds: float, result: Any = None, error: BaseException | None = None) -> None:
        self.calls.labels(tool, outcome(error)).inc()
        self.latency.labels(tool).observe(seconds)
        if result is None:
            return
        for stage, ms in (getattr(result, "timings_ms", None) or {}).items():
            if stage != "total":
                self.stage(stage, ms)
        stage_report = getattr(result, "rerank_stage", None)
        if stage_report is not None:
            self.pairs.inc(stage_report.pairs)
            self.cached.inc(stage_report.cached)
        if tool == "answer":
            self.gate.labels(result.status, result.reason).inc()
            self.p_answerable.observe(result.p_answerable)

    def stage(self, name: str, ms: float) -> None:
        self.stages.labels(name).observe(ms / 1000)

    def text(self) -> str:
        """The Prometheus text exposition format."""
        return generate_latest(self.registry).decode()
