"""What callers ask for, as one model per use case, shared by the MCP tools and the CLI.

Each request checks itself against the configured limits (`check`) before any model or store
work, so both adapters refuse the same input with the same words and nothing changes."""

from __future__ import annotations

import json
import os
import uuid
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictBool
from pydantic.fields import FieldInfo

from ragate.retrieval.errors import BadInput
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.inline import InlineDocument
from ragate.retrieval.store import CollectionName
from ragate.server.config import ServerSettings, reranker_spec
from ragate.server.validation import check_query, check_range, check_text


class CallerOnly:
    """Marks a request field its caller's adapter fills, never an agent: it is no MCP argument."""


CALLER_ONLY = CallerOnly()

COLLECTION_HELP = "default [index] collection"
COLLECTIONS_HELP = "several read as one pool, instead of collection"
MAX_TOKENS_HELP = "passage token budget; default [server] max_tokens"


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The [server] limits of the client that sent it (the index service gets them with the call):
    # a client's own limits and defaults are the ones that hold, decided by one check.
    _limits: ServerSettings | None = PrivateAttr(default=None)

    def under(self, limits: ServerSettings) -> Self:
        self._limits = limits
        return self

    def limits_or(self, own: ServerSettings) -> ServerSettings:
        """The limits this request is held to: its client's, else this process's own."""
        return self._limits or own

    def check(self, limits: ServerSettings) -> Self:
        """The request held to `limits`, refused with words that name the field and the limit."""
        return self

    def for_agent(self, limits: ServerSettings) -> Self:
        """The request as an MCP agent may make it: its caller-only fields set by the server."""
        return self

    @classmethod
    def agent_fields(cls) -> dict[str, FieldInfo]:
        """The fields an agent gives (an MCP tool's arguments), in order."""
        return {name: f for name, f in cls.model_fields.items() if CALLER_ONLY not in f.metadata}


class BlendOverrides(Request):
    """Per-call blend weights and diversity; a field left out keeps its [blend] value."""

    relevance: float | None = Field(None, ge=0, le=10)
    retrieval: float | None = Field(None, ge=0, le=10)
    freshness: float | None = Field(None, ge=0, le=10)
    authority: float | None = Field(None, ge=0, le=10)
    mmr_lambda: float | None = Field(None, ge=0, le=1)
    half_life_days: float | None = Field(None, gt=0)
    max_chunks_per_doc: int | None = Field(None, ge=1, le=100)


# A per-call token budget above this is no budget at all; [server] max_tokens is only the default.
MAX_TOKENS_LIMIT = 100_000


class RerankDocument(Request):
    id: str | None = Field(None, max_length=256)
    text: str
    metadata: dict[str, Any] | None = None


# Collections one search or answer reads at most, fused as one pool.
MAX_COLLECTIONS = 8
Collections = Annotated[list[CollectionName], Field(min_length=1, max_length=MAX_COLLECTIONS)]


def _check_targets(collection: str | None, collections: list[str] | None) -> None:
    if collection is not None and collections is not None:
        raise BadInput("collection, collections: give one collection or a list of them, not both")


def _check_max_tokens(value: int | None) -> None:
    if value is not None:
        check_range("max_tokens", value, 1, MAX_TOKENS_LIMIT)


def _check_metadata(field: str, metadata: dict[str, Any] | None, limits: ServerSettings) -> None:
    if metadata:
        size = len(json.dumps(metadata, ensure_ascii=False, default=str))
        if size > limits.max_metadata_chars:
            raise BadInput(
                f"{field}: {size} characters as JSON, over the limit of {limits.max_metadata_chars} ([server] max_metadata_chars)"
            )


def _check_texts(field: str, texts: list[str], limits: ServerSettings) -> None:
    if not texts:
        raise BadInput(f"{field}: must hold at least one document")
    if len(texts) > limits.max_documents:
        raise BadInput(f"{field}: {len(texts)} given, over the limit of {limits.max_documents} ([server] max_documents)")
    for i, text in enumerate(texts):
        if len(text) > limits.max_document_chars:
            raise BadInput(
                f"{field}[{i}]: {len(text)} characters, over the limit of {limits.max_document_chars} ([server] max_document_chars)"
            )
        check_text(f"{field}[{i}]", text)


class SearchRequest(Request):
    query: str = Field(description="what to look for, in natural language")
    top_k: int = Field(10, strict=True, description="number of results; at most [server] max_top_k")
    filters: SearchFilter | None = Field(None, description="restrict by source glob/prefix, source_type, dates, metadata")
    rerank: bool = Field(True, description="rerank candidates with the cross-encoder")
    candidates: int | None = Field(None, strict=True, description="fused candidate pool size; default [retrieval] candidates")
    collection: CollectionName | None = Field(None, description=COLLECTION_HELP)
    collections: Collections | None = Field(None, description=COLLECTIONS_HELP)
    fusion: Annotated[Literal["rrf", "weighted"] | None, CALLER_ONLY] = None  # None: [retrieval] fusion
    weights: BlendOverrides | None = Field(None, description="per-call blend weights")
    max_tokens: int | None = Field(None, description=MAX_TOKENS_HELP)
    rerank_budget_ms: float | None = Field(None, description="rerank only what fits this many ms")  # None: [reranker] budget_ms

    def check(self, limits: ServerSettings) -> SearchRequest:
        check_query(self.query, limits.max_query_chars)
        check_range("top_k", self.top_k, 1, limits.max_top_k, "max_top_k")
        _check_targets(self.collection, self.collections)
        if self.candidates is not None:
            check_range("candidates", self.candidates, 1, limits.max_candidates, "max_candidates")
        _check_max_tokens(self.max_tokens)
        ceiling = limits.tool_timeout_s * 1000
        if self.rerank_budget_ms is not None and not 0 < self.rerank_budget_ms <= ceiling:
            raise BadInput(f"rerank_budget_ms: {self.rerank_budget_ms:g} is outside 0..{ceiling:g} ([server] tool_timeout_s)")
        return self


class AnswerRequest(Request):
    query: str = Field(description="the question to answer from the corpus")
    filters: SearchFilter | None = Field(None, description="restrict the evidence")
    min_score: float | None = Field(
        None,
        ge=0,
        le=1,
        description="floor on each passage's calibrated relevance; [gate] min_score applies only without an answerability model",
    )
    max_passages: int | None = Field(None, ge=1, le=50, description="passages to return at most; default [gate] max_passages")
    collection: CollectionName | None = Field(None, description=COLLECTION_HELP)
    collections: Collections | None = Field(None, description=COLLECTIONS_HELP)
    max_tokens: int | None = Field(None, description=MAX_TOKENS_HELP)
    # The pool's features and their contributions in the reply (the web page asks; an agent's
    # context need not carry them).
    explain: StrictBool = Field(False, description="also return the pool's features and what each added to p_answerable")

    def check(self, limits: ServerSettings) -> AnswerRequest:
        check_query(self.query, limits.max_query_chars)
        _check_targets(self.collection, self.collections)
        _check_max_tokens(self.max_tokens)
        return self


class RerankRequest(Request):
    query: str = Field(description="the query to score documents against")
    documents: list[str | RerankDocument] = Field(description="strings or {id, text, metadata}")
    top_n: int | None = Field(None, strict=True, description="return only the best N")
    return_documents: bool = Field(True, description="include each document's text in the results")

    def docs(self) -> list[RerankDocument]:
        return [d if isinstance(d, RerankDocument) else RerankDocument(text=d) for d in self.documents]

    def check(self, limits: ServerSettings) -> RerankRequest:
        check_query(self.query, limits.max_query_chars)
        docs = self.docs()
        _check_texts("documents", [d.text for d in docs], limits)
        for i, d in enumerate(docs):
            _check_metadata(f"documents[{i}].metadata", d.metadata, limits)
        if self.top_n is not None:
            check_range("top_n", self.top_n, 1, len(self.documents))
        return self


class IndexRequest(Request):
    paths: list[str] = Field(min_length=1, max_length=100, description="files or folders under the allowed roots")
    collection: CollectionName | None = Field(None, description=COLLECTION_HELP)
    prune: bool = Field(False, description="drop indexed files now gone from these folders")
    # What it may read: an MCP caller's [server] allowed_roots; None (a terminal's own command) any path.
    allowed_roots: Annotated[list[str] | None, CALLER_ONLY] = None
    progress: Annotated[bool, CALLER_ONLY] = False  # a bar on the caller's terminal

    def for_agent(self, limits: ServerSettings) -> IndexRequest:
        return self.model_copy(update={"allowed_roots": limits.allowed_roots})


class AddDocumentsRequest(Request):
    documents: list[InlineDocument] = Field(min_length=1)  # its schema names each field
    collection: CollectionName | None = Field(None, description=COLLECTION_HELP)

    def check(self, limits: ServerSettings) -> AddDocumentsRequest:
        for i, d in enumerate(self.documents):
            if not d.text.strip():
                raise BadInput(f"documents[{i}].text: must not be empty")
        _check_texts("documents", [d.text for d in self.documents], limits)
        for i, d in enumerate(self.documents):
            _check_metadata(f"documents[{i}].metadata", d.metadata, limits)
        return self


class DeleteRequest(Request):
    ids: list[str] | None = Field(None, max_length=10_000, description="chunk ids to delete")
    filters: SearchFilter | None = Field(None, description="delete every chunk this matches")
    collection: CollectionName | None = Field(None, description=COLLECTION_HELP)

    def check(self, limits: ServerSettings) -> DeleteRequest:
        if not self.ids and (self.filters is None or self.filters.is_empty()):
            raise BadInput("delete needs ids or a non-empty filter")
        for i, chunk_id in enumerate(self.ids or []):
            try:
                uuid.UUID(chunk_id)
            except ValueError:
                raise BadInput(f"ids[{i}]: {chunk_id[:80]!r} is not a chunk id (the UUIDs search results give)") from None
        return self


class FeedbackRequest(Request):
    """An agent's verdict on one passage it used or discarded."""

    MAX_NOTE_CHARS: ClassVar[int] = 2000
    MAX_CHUNK_ID_CHARS: ClassVar[int] = 256

    query: str = Field(description="the query the passage was retrieved for")
    chunk_id: str = Field(description="the passage's chunk_id from a search or answer result")
    # true or false, not "yes" or 1
    useful: StrictBool = Field(description="whether the passage helped answer the query")
    note: str | None = Field(None, description=f"why, in a sentence; at most {MAX_NOTE_CHARS} characters")
    collection: CollectionName | None = Field(None, description=COLLECTION_HELP)

    def check(self, limits: ServerSettings) -> FeedbackRequest:
        check_query(self.query, limits.max_query_chars)
        if not self.chunk_id.strip() or len(self.chunk_id) > self.MAX_CHUNK_ID_CHARS:
            raise BadInput(f"chunk_id: must be a chunk id from a search result (1..{self.MAX_CHUNK_ID_CHARS} characters)")
        if self.note is not None:
            if len(self.note) > self.MAX_NOTE_CHARS:
                raise BadInput(f"note: {len(self.note)} characters, over the limit of {self.MAX_NOTE_CHARS}")
            check_text("note", self.note)
        return self


# ---------------------------------------------------------------------- the offline use cases
# Paths are resolved here, in the caller's process, so the index service reads what the caller named.


def _absolute(path: str | None) -> str | None:
    return None if path is None else os.path.abspath(path)


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise BadInput(f"{name}: {value} must be at least 1")


class EvalRequest(Request):
    """`ragate eval`: IR metrics per pipeline variant on a BEIR-format dataset, and the gate's rates."""

    dataset: str
    variants: list[str] | None = None  # None: every variant
    max_queries: int | None = None  # None or 0: every query
    candidates: int = 100
    collection: CollectionName | None = None  # None: the dataset's own collection
    out_dir: str | None = "bench/results"  # None: write nothing
    offtopic_queries: str | None = None
    progress: bool = True
    rerankers: list[str] | None = None  # provider:model specs reranking the same pools side by side

    def check(self, limits: ServerSettings) -> EvalRequest:
        _check_positive("--candidates", self.candidates)
        for spec in self.rerankers or []:
            reranker_spec(spec)
        return self.model_copy(
            update={
                "dataset": _absolute(self.dataset),
                "out_dir": _absolute(self.out_dir),
                "offtopic_queries": _absolute(self.offtopic_queries),
            }
        )


class SelfCalibrateRequest(Request):
    """`ragate calibrate --self`: the collection's calibration from questions made from it; counts
    left out come from [calibration]."""

    collection: CollectionName | None = None
    questions: int | None = Field(None, ge=10, le=2000)
    offtopic: int | None = Field(None, ge=10, le=240)
    max_false_accept: float = Field(0.05, gt=0, lt=1)
    confidence: float = Field(0.9, gt=0, lt=1)
    progress: bool = True


class CalibrateRequest(Request):
    """`ragate calibrate`: relevance calibration from labelled pairs; with off-topic questions the gate's
    answerability model; with `fit_blend` the blend's weights. Exactly one label source. Labelled
    rows calibrate `collection` (default [index] collection); a dataset, the collection it is indexed into."""

    dataset: str | None = None
    labels: str | None = None
    from_feedback: bool = False  # the agents' verdicts kept in the store (the feedback tool's)
    collection: CollectionName | None = None
    split: str = "train"
    candidates: int = 20
    max_queries: int | None = None
    method: Literal["platt", "isotonic"] = "platt"
    target_precision: float | None = None
    offtopic_queries: str | None = None
    max_false_accept: float = 0.05
    confidence: float = 0.9
    fit_blend: bool = False
    progress: bool = True

    def check(self, limits: ServerSettings) -> CalibrateRequest:
        if sum(map(bool, (self.dataset, self.labels, self.from_feedback))) != 1:
            raise BadInput("calibrate needs exactly one of --self, --dataset DIR, --labels FILE or --from-feedback")
        if self.fit_blend and self.labels:
            raise BadInput("--fit-blend needs --dataset or --from-feedback: its labels must name the documents or chunks they judge")
        if self.offtopic_queries and not self.dataset:
            raise BadInput("--offtopic-queries needs --dataset: the answerable and near-topic pools come from its qrels")
        if not (0 < self.max_false_accept < 1 and 0 < self.confidence < 1):
            raise BadInput("--max-false-accept and --confidence must be between 0 and 1")
        if self.target_precision is not None and not 0 < self.target_precision <= 1:
            raise BadInput(f"--target-precision: {self.target_precision} must be above 0 and at most 1")
        _check_positive("--candidates", self.candidates)
        return self.model_copy(
            update={
                "dataset": _absolute(self.dataset),
                "labels": _absolute(self.labels),
                "offtopic_queries": _absolute(self.offtopic_queries),
            }
        )


class TuneRequest(Request):
    """`ragate tune`: fine-tune the reranker on one collection, and/or distil a first-pass model.
    Exactly one source of labelled pairs."""

    dataset: str | None = None
    pairs: str | None = None
    from_feedback: bool = False
    synthesize: int | None = None
    base: str | None = None  # None: [reranker] model
    collection: CollectionName | None = None
    epochs: int = 2
    max_queries: int | None = None
    max_minutes: float | None = None
    max_steps: int = -1  # -1: no limit
    output: str | None = None  # None: tuned-reranker/COLLECTION_HELP beside the index
    device: str | None = None  # None: [reranker] device
    batch_size: int = 16
    seed: int = 13
    progress: bool = True
    distill_layers: int | None = None
    distill_only: bool = False

    def check(self, limits: ServerSettings) -> TuneRequest:
        if sum(map(bool, (self.dataset, self.pairs, self.from_feedback, self.synthesize))) != 1:
            raise BadInput("tune needs exactly one of --dataset DIR, --pairs FILE, --from-feedback or --synthesize N")
        if self.distill_only and not self.distill_layers:
            raise BadInput("--distill-only needs --distill-layers K")
        if self.distill_layers is not None and self.distill_layers < 1:
            raise BadInput("--distill-layers must be at least 1")
        _check_positive("--epochs", self.epochs)
        _check_positive("--batch-size", self.batch_size)
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise BadInput(f"--max-minutes: {self.max_minutes:g} must be above 0")
        return self.model_copy(
            update={"dataset": _absolute(self.dataset), "pairs": _absolute(self.pairs), "output": _absolute(self.output)}
        )


class SampleRequest(Request):
    """Up to `n` chunks of a collection drawn at random, for `ragate tune --synthesize`."""

    n: int
    seed: int = 13
    collection: CollectionName | None = None

    def check(self, limits: ServerSettings) -> SampleRequest:
        check_range("n", self.n, 1, 100_000)
        return self


class ResourceRequest(Request):
    """`ragate://chunk/{id}` or `ragate://doc/{id}`: one chunk, or a document's chunks in order, found
    in the collection given or else in whichever collection holds it."""

    kind: Literal["chunk", "doc"]
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,128}$")
    collection: CollectionName | None = None


class DocumentsRequest(Request):
    """A page of a collection's documents (for the web page's index view)."""

    collection: CollectionName | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class CollectionRequest(Request):
    """A whole collection: dropping it."""

    collection: CollectionName | None = None


class EvalPlotRequest(Request):
    """One plot of a collection's kept evaluation, by the name the evaluation lists."""

    collection: CollectionName
    name: str = Field(max_length=200)


class WatchRequest(Request):
    """Folders the index service keeps indexed as their files change, each checked against the
    allowed roots of the client that asked (not the service's own)."""

    paths: list[str] = Field(min_length=1, max_length=100)
    allowed_roots: Annotated[list[str] | None, CALLER_ONLY] = None  # None: any path

    def check(self, limits: ServerSettings) -> WatchRequest:
        return self.model_copy(update={"paths": [os.path.abspath(p) for p in self.paths]})
