"""The use cases of one index, named once: the `UseCases` protocol that the in-process pipeline
and the index service's client both satisfy, and the table (`CALLS`) from each use case's name to
its request and response models and how the service schedules it. The MCP tools, the CLI and the
service all go through these names, so a use case is added in one place.

`LocalUseCases` is the pipeline with the offline commands (eval, calibrate) composed on: the
object the index service serves and that runs in-process against a Qdrant server."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from ragate.retrieval.beir import beir_collection
from ragate.retrieval.indexer import IndexReport
from ragate.server.config import Settings
from ragate.server.lab import eval_archive
from ragate.server.lab.calibrate import run_calibration
from ragate.server.lab.evaluate import evaluate
from ragate.server.lab.self_calibrate import self_calibrate
from ragate.server.model_loader import Models
from ragate.server.pipeline import Pipeline
from ragate.server.recent_calls import RecentCall
from ragate.server.requests import (
    AddDocumentsRequest,
    AnswerRequest,
    CalibrateRequest,
    CollectionRequest,
    DeleteRequest,
    DocumentsRequest,
    EvalRequest,
    FeedbackRequest,
    IndexRequest,
    RerankRequest,
    ResourceRequest,
    SampleRequest,
    SearchRequest,
    SelfCalibrateRequest,
)
from ragate.server.schemas import (
    AnswerResponse,
    CalibrateReport,
    DeleteResult,
    DocumentList,
    Dropped,
    EvalReport,
    FeedbackResult,
    RerankResponse,
    SampledChunk,
    SearchResponse,
    SelfCalibrateReport,
)
from ragate.server.service.client import ServiceClient
from ragate.server.service.paths import ServicePaths


class UseCases(Protocol):
    settings: Settings

    def wait_ready(self, timeout: float | None = None) -> bool: ...
    def search(self, req: SearchRequest) -> SearchResponse: ...
    def answer(self, req: AnswerRequest) -> AnswerResponse: ...
    def rerank(self, req: RerankRequest) -> RerankResponse: ...
    def index(self, req: IndexRequest, *, allowed_roots: list[str] | None = None, progress: bool = False) -> IndexReport: ...
    def add_documents(self, req: AddDocumentsRequest) -> IndexReport: ...
    def delete(self, req: DeleteRequest) -> DeleteResult: ...
    def feedback(self, req: FeedbackRequest) -> FeedbackResult: ...
    def stats(self) -> dict[str, Any]: ...
    def metrics(self) -> str: ...
    def engines(self) -> dict[str, Any]: ...
    def measure_engines(self) -> dict[str, Any]: ...
    def sample_chunks(self, req: SampleRequest) -> list[SampledChunk]: ...
    def documents(self, req: DocumentsRequest) -> DocumentList: ...
    def recent_calls(self) -> list[RecentCall]: ...
    def resource(self, req: ResourceRequest) -> dict[str, Any]: ...
    def drop_collection(self, req: CollectionRequest) -> Dropped: ...
    def evaluate(self, req: EvalRequest) -> EvalReport: ...
    def calibrate(self, req: CalibrateRequest) -> CalibrateReport: ...
    def self_calibrate(self, req: SelfCalibrateRequest) -> SelfCalibrateReport: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Call:
    """How the index service runs one use case: `writes` ones one at a time under the write lock,
    `heavy` ones in the reranker's shared slots (their wait is the `queue` stage)."""

    request: type[BaseModel] | None
    writes: bool = False
    heavy: bool = False


CALLS: dict[str, Call] = {
    "search": Call(SearchRequest, heavy=True),
    "answer": Call(AnswerRequest, heavy=True),
    "rerank": Call(RerankRequest, heavy=True),
    "stats": Call(None),
    "metrics": Call(None),
    "engines": Call(None),
    "measure_engines": Call(None),
    "index": Call(IndexRequest, writes=True),
    "add_documents": Call(AddDocumentsRequest, writes=True),
    "delete": Call(DeleteRequest, writes=True),
    "feedback": Call(FeedbackRequest, writes=True),
    "sample_chunks": Call(SampleRequest),
    "documents": Call(DocumentsRequest),
    "recent_calls": Call(None),
    "resource": Call(ResourceRequest),
    "drop_collection": Call(CollectionRequest, writes=True),
    "evaluate": Call(EvalRequest),
    "calibrate": Call(CalibrateRequest, writes=True),
    "self_calibrate": Call(SelfCalibrateRequest),
}


class LocalUseCases(Pipeline):
    """Every use case in this process: the pipeline's, and the offline commands over it."""

    def evaluate(self, req: EvalRequest) -> EvalReport:
        req = req.check(self.limits)
        started = time.time()
        report = evaluate(
            self,
            req.dataset,
            variants=req.variants,
            max_queries=req.max_queries,
            candidates=req.candidates,
            collection=req.collection,
            out_dir=req.out_dir,
            progress=req.progress,
            offtopic_queries=req.offtopic_queries,
            rerankers=req.rerankers,
        )
        collection = req.collection or beir_collection(req.dataset)
        written_to = Path(req.out_dir) if req.out_dir else None
        eval_archive.keep(
            ServicePaths.of(self.settings).index_dir, collection=collection, report=report, written_to=written_to, since=started
        )
        return EvalReport.model_validate(report)

    def calibrate(self, req: CalibrateRequest) -> CalibrateReport:
        req = req.check(self.limits)
        fields = req.model_dump(exclude={"fit_blend"})
        return CalibrateReport.model_validate(run_calibration(self, **fields, fit_blend_weights=req.fit_blend))

    def self_calibrate(self, req: SelfCalibrateRequest) -> SelfCalibrateReport:
        return SelfCalibrateReport.model_validate(self_calibrate(self, **req.model_dump()))


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
    return LocalUseCases(settings, models)
