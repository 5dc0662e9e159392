"""OpenTelemetry spans: one per use case (`ragate.search`, `ragate.index`, ...) with one child per
pipeline stage (`ragate.embed`, `ragate.dense`, `ragate.bm25`, `ragate.fuse`, `ragate.rerank`,
`ragate.blend`, ...). Through the OpenTelemetry API, which is a no-op until a tracer provider is
set: by the process itself when the standard OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT
variables name an exporter (the SDK and the OTLP exporter installed: `pip install
opentelemetry-sdk opentelemetry-exporter-otlp`), or by `opentelemetry-instrument`. The index
service inherits its client's environment, so its spans (where the work runs) go to the same
collector. No query text or chunk id is put on a span."""

from __future__ import annotations

import logging
import os

from opentelemetry import trace

log = logging.getLogger(__name__)
tracer = trace.get_tracer("ragate")


def configure_from_environment() -> None:
    """Export spans over OTLP when the environment asks for an exporter; otherwise do nothing."""
    wanted = os.environ.get("OTEL_TRACES_EXPORTER", "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none")
    if wanted in ("", "none"):
        return
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_* asks for traces, but opentelemetry-sdk and opentelemetry-exporter-otlp are not installed; no spans sent")
        return
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "ragate")}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def flush() -> None:
    """Send the spans still batched (for a process that ends without running its exit handlers)."""
    provider = trace.get_tracer_provider()
    if hasattr(provider, "shutdown"):
        provider.shutdown()
