"""OpenTelemetry spans per use case and stage, collected in memory from a real search."""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragate.server.requests import SearchRequest


def test_a_search_is_one_span_with_a_child_per_stage(pipeline, examples):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    pipeline.catalog.indexer(None).index_paths([str(examples / "science")])
    exporter.clear()
    query = "What is Hawking radiation?"
    pipeline.search(SearchRequest(query=query, top_k=3))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    root = spans["ragate.search"]
    stages = {"ragate.embed", "ragate.dense", "ragate.bm25", "ragate.fuse", "ragate.rerank", "ragate.blend"}
    assert stages <= set(spans), sorted(spans)
    assert all(spans[n].parent.span_id == root.context.span_id for n in stages)
    assert all(spans[n].context.trace_id == root.context.trace_id for n in stages)
    assert not any(query in str(dict(s.attributes or {})) for s in spans.values())  # no query text on a span
