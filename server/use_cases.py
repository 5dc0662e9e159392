"""Which use cases a caller gets: `local_use_cases`, every operation in this process (the pipeline
with the offline commands composed in: what the index service serves, and what runs in-process
against a Qdrant server), and `open_use_cases`, which picks that or the index service's client.
The operations and the `UseCases` protocol both satisfy are in server/ops.py, the contract."""

from __future__ import annotations

from ragate.retrieval.qdrant import Qdrant
from ragate.server.config import Settings
from ragate.server.lab.offline import OfflineUseCases
from ragate.server.model_loader import Models
from ragate.server.ops import UseCases
from ragate.server.pipeline import Pipeline
from ragate.server.service.client import ServiceClient


def local_use_cases(settings: Settings, models: Models | None = None, qdrant: Qdrant | None = None) -> Pipeline:
    """Every operation in this process: the pipeline's, and the offline commands over its retriever."""
    return Pipeline(settings, models, qdrant, offline=OfflineUseCases)


def open_use_cases(
    settings: Settings,
    *,
    config_path: str | None = None,
    deadline_s: float | None = None,
    need_reranker: bool = True,
    background: bool = False,
) -> UseCases:
    """The index's use cases: through its service on the embedded store; in this process against a
    Qdrant server (`[qdrant] url`), where the server is the shared owner and no service is needed.
    `deadline_s` bounds each call's work (the tool timeout); `background` loads a local pipeline's
    models in a thread (a server answers its handshake first). A caller that reranks nothing
    (`need_reranker` false: index, stats, delete, feedback, tune's mining) need not agree with the
    service on the reranker, the gate or the LLM."""
    if not settings.qdrant.url:
        # The socket read waits a little longer than the deadline, for the service's own answer.
        timeout_s = None if deadline_s is None else deadline_s + 10
        unchecked = () if need_reranker else ("reranker.", "gate.", "llm.")
        return ServiceClient(settings, config_path=config_path, timeout_s=timeout_s, deadline_s=deadline_s, unchecked=unchecked)
    models = Models(settings)
    if background:
        models.load_in_background()
    else:
        models.load(need_reranker=need_reranker)
    return local_use_cases(settings, models)
