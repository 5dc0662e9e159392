"""Every operation of one index, named once: its request and response models, whether it writes,
whether it is heavy, whether agents see it as an MCP tool, and what it does in a line.

Everything that runs operations derives from this table: the index service's dispatch and
scheduling, the service client's one generic call, the MCP tools (their arguments come from the
request model, their annotations and OAuth scope from `writes`), the CLI, the page, and the tool
table in docs/tools.md (a test keeps it in step). A new operation is one entry here, one handler
(the method of the same name on `Pipeline`, or on `OfflineUseCases` for an offline command), and
its tests.

This module is the contract: it imports only models below it (requests, responses, settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ragate.retrieval.indexer import IndexReport
from ragate.server.config import Settings
from ragate.server.recent_calls import RecentCall
from ragate.server.requests import (
    AddDocumentsRequest,
    AnswerRequest,
    CalibrateRequest,
    CollectionRequest,
    DeleteRequest,
    DocumentsRequest,
    EvalPlotRequest,
    EvalRequest,
    FeedbackRequest,
    IndexRequest,
    Request,
    RerankRequest,
    ResourceRequest,
    SampleRequest,
    SearchRequest,
    SelfCalibrateRequest,
    WatchRequest,
)
from ragate.server.schemas import (
    AnswerResponse,
    CalibrateReport,
    CollectionList,
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

Q = TypeVar("Q", bound=Request)
R = TypeVar("R")


@dataclass(frozen=True)
class Op(Generic[Q, R]):
    """One operation. `writes` ones change the index or what is kept beside it: they are not
    retried when the service dies mid-call, and need the OAuth write scope as tools; `exclusive`
    ones run one at a time under the pipeline's write lock (what changes the store's contents), and
    `heavy` ones wait for one of the reranker's shared slots (either wait is the `queue` stage).
    With `tool`, agents call it over MCP under that name; `progress` ones send them progress
    notifications; `links` are the response fields whose passages also go out as resource links;
    `agent_view` trims what an agent gets (the service sends it whole)."""

    name: str
    request: type[Q] | None
    response: Any  # the handler's return type; the client reads the service's JSON back into it
    description: str
    writes: bool = False
    exclusive: bool = False
    heavy: bool = False
    tool: str | None = None
    destructive: bool = False
    needs_models: bool = True  # an MCP call waits for the models first
    progress: bool = False
    links: tuple[str, ...] = ()
    agent_view: Callable[[Any], Any] | None = None


SEARCH: Op[SearchRequest, SearchResponse] = Op(
    "search",
    SearchRequest,
    SearchResponse,
    "Hybrid search (dense + BM25, fused, cross-encoder reranked, blended with freshness, authority and diversity). "
    "Each result has its final and component scores; stage timings too.",
    heavy=True,
    tool="search",
    links=("results",),
)
RERANK: Op[RerankRequest, RerankResponse] = Op(
    "rerank",
    RerankRequest,
    RerankResponse,
    "Score your documents against the query with the cross-encoder, sorted by calibrated relevance_score (0..1), "
    "each with its request index. Nothing is indexed.",
    heavy=True,
    tool="rerank",
)
ANSWER: Op[AnswerRequest, AnswerResponse] = Op(
    "answer",
    AnswerRequest,
    AnswerResponse,
    "Cited passages (and an answer when an LLM is configured) when p_answerable reaches threshold; otherwise an "
    'explicit "I don\'t know" with a reason code (OFF_TOPIC, LEXICAL_MISS, ...), a suggestion and the nearest '
    "passages. Weak context is never passed as an answer.",
    heavy=True,
    tool="answer_or_abstain",
    links=("passages", "nearest"),
)
INDEX: Op[IndexRequest, IndexReport] = Op(
    "index",
    IndexRequest,
    IndexReport,
    "Index files and folders under the allowed roots, incrementally; every file not indexed is counted by reason. "
    "A cancelled call keeps what it wrote.",
    writes=True,
    exclusive=True,
    tool="index_paths",
    progress=True,
    agent_view=IndexReport.listed,
)
ADD_DOCUMENTS: Op[AddDocumentsRequest, IndexReport] = Op(
    "add_documents",
    AddDocumentsRequest,
    IndexReport,
    "Index documents given as text; the same id replaces the earlier version.",
    writes=True,
    exclusive=True,
    tool="add_documents",
    progress=True,
    agent_view=IndexReport.listed,
)
DELETE: Op[DeleteRequest, DeleteResult] = Op(
    "delete", DeleteRequest, DeleteResult, "Delete chunks by id or by filter.", writes=True, exclusive=True, tool="delete", destructive=True
)
FEEDBACK: Op[FeedbackRequest, FeedbackResult] = Op(
    "feedback",
    FeedbackRequest,
    FeedbackResult,
    "Whether a passage was useful for a query: kept as a labelled pair that tunes and calibrates the reranker.",
    writes=True,
    exclusive=True,
    tool="feedback",
)
STATS: Op[Any, dict[str, Any]] = Op(
    "stats", None, dict[str, Any], "Collections (chunks, languages), models, devices, readiness.", tool="stats", needs_models=False
)
COLLECTIONS: Op[Any, CollectionList] = Op(
    "collections",
    None,
    CollectionList,
    "Each collection's size, languages and calibration.",
    tool="collections",
    needs_models=False,
)
METRICS: Op[Any, str] = Op("metrics", None, str, "This process's use cases in the Prometheus text format.")
ENGINES: Op[Any, dict[str, Any]] = Op("engines", None, dict[str, Any], "Each model's engine, why, and the stored verdict's figures.")
MEASURE_ENGINES: Op[Any, dict[str, Any]] = Op(
    "measure_engines", None, dict[str, Any], "The engines measured again in the background.", writes=True
)
SAMPLE_CHUNKS: Op[SampleRequest, list[SampledChunk]] = Op(
    "sample_chunks", SampleRequest, list[SampledChunk], "Chunks of a collection drawn at random (tune --synthesize)."
)
DOCUMENTS: Op[DocumentsRequest, DocumentList] = Op("documents", DocumentsRequest, DocumentList, "A page of a collection's documents.")
RECENT_CALLS: Op[Any, list[RecentCall]] = Op("recent_calls", None, list[RecentCall], "The last calls answered, newest first.")
RESOURCE: Op[ResourceRequest, dict[str, Any]] = Op(
    "resource", ResourceRequest, dict[str, Any], "A chunk, or a document's chunks in order (ragate://chunk, ragate://doc)."
)
DROP_COLLECTION: Op[CollectionRequest, Dropped] = Op(
    "drop_collection", CollectionRequest, Dropped, "Drop a collection and its calibration.", writes=True, exclusive=True, destructive=True
)
EVALUATE: Op[EvalRequest, EvalReport] = Op(
    # It indexes the dataset into its collection first and keeps its report: a write, one at a time
    # with the other writes, so no indexing pass or drop runs beside its own.
    "evaluate",
    EvalRequest,
    EvalReport,
    "IR metrics per pipeline variant on a BEIR dataset.",
    writes=True,
    exclusive=True,
)
EVALUATIONS: Op[Any, list[dict[str, Any]]] = Op(
    "evaluations", None, list[dict[str, Any]], "Each collection's latest ragate eval, with its plots' names.", needs_models=False
)
EVAL_PLOT: Op[EvalPlotRequest, str | None] = Op(
    "eval_plot", EvalPlotRequest, str | None, "One plot of a kept evaluation, as base64 PNG (None: not kept).", needs_models=False
)
CALIBRATE: Op[CalibrateRequest, CalibrateReport] = Op(
    "calibrate", CalibrateRequest, CalibrateReport, "Calibration from labelled pairs.", writes=True, exclusive=True
)
SELF_CALIBRATE: Op[SelfCalibrateRequest, SelfCalibrateReport] = Op(
    # It writes its profile whole at the end and only reads the store meanwhile: not exclusive,
    # so indexing and feedback go on during its minutes.
    "self_calibrate",
    SelfCalibrateRequest,
    SelfCalibrateReport,
    "Calibration from questions made from the collection.",
    writes=True,
)
WATCH: Op[WatchRequest, dict[str, Any]] = Op(
    "watch", WatchRequest, dict[str, Any], "Folders the index service keeps indexed as their files change.", writes=True
)

OPS: dict[str, Op[Any, Any]] = {
    op.name: op
    for op in (
        SEARCH,
        RERANK,
        ANSWER,
        INDEX,
        ADD_DOCUMENTS,
        DELETE,
        FEEDBACK,
        STATS,
        COLLECTIONS,
        METRICS,
        ENGINES,
        MEASURE_ENGINES,
        SAMPLE_CHUNKS,
        DOCUMENTS,
        RECENT_CALLS,
        RESOURCE,
        DROP_COLLECTION,
        EVALUATE,
        EVALUATIONS,
        EVAL_PLOT,
        CALIBRATE,
        SELF_CALIBRATE,
        WATCH,
    )
}
TOOLS: dict[str, Op[Any, Any]] = {op.tool: op for op in OPS.values() if op.tool}
# Tools that change nothing: an OAuth token with only the read scope may call these.
READ_TOOLS = frozenset(name for name, op in TOOLS.items() if not op.writes)


class UseCases(Protocol):
    """The operations of one index: in this process (`Pipeline`, from server/use_cases.py) or
    through the index service (`ServiceClient`), run alike by `run`."""

    settings: Settings

    def run(self, op: Op[Q, R], req: Q | None = None) -> R: ...
    def wait_ready(self, timeout: float | None = None) -> bool: ...
    def close(self) -> None: ...
