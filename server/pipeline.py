"""The use cases of one index (search, answer, rerank, index, add_documents, delete, feedback,
stats, ...): each takes a request model, checks it against the limits before any work, reads the
collections (catalog.py), retrieves (retriever.py) and gates, and returns a typed response; `run`
takes each operation to its handler, here or among the offline commands composed in. The MCP tools
and the CLI are thin adapters over `run`, so both behave the same."""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.errors import BadInput, NotFound, StoreError
from ragate.retrieval.indexer import IndexReport
from ragate.retrieval.inline import to_document
from ragate.retrieval.language import mix
from ragate.retrieval.qdrant import Qdrant
from ragate.retrieval.remote_embedder import RemoteEmbedder
from ragate.retrieval.store import Store
from ragate.scoring.answerability import by_relevance
from ragate.scoring.drift import DriftMonitor
from ragate.scoring.engines import choice as engine_choice
from ragate.scoring.engines.embedder import remeasure as remeasure_embedder
from ragate.scoring.gate import Decision, Reason, decide
from ragate.scoring.profile import Profile
from ragate.server.catalog import Catalog
from ragate.server.config import Settings
from ragate.server.document_list import DocumentPages
from ragate.server.lab import eval_archive
from ragate.server.llm.answer_writer import AnswerWriter
from ragate.server.metrics import Metrics
from ragate.server.model_loader import Models, onnx_dir
from ragate.server.ops import Op, Q, R
from ragate.server.recent_calls import RecentCall, RecentCalls
from ragate.server.requests import (
    AddDocumentsRequest,
    AnswerRequest,
    CollectionRequest,
    DeleteRequest,
    DocumentsRequest,
    FeedbackRequest,
    IndexRequest,
    RerankRequest,
    ResourceRequest,
    SampleRequest,
    SearchRequest,
)
from ragate.server.retriever import Ranked, Retriever
from ragate.server.schemas import (
    AnswerResponse,
    CollectionInfo,
    CollectionList,
    DeleteResult,
    DocumentList,
    Dropped,
    FeedbackResult,
    GateFeature,
    RerankItem,
    RerankResponse,
    SampledChunk,
    SearchResponse,
    SearchResult,
)
from ragate.server.timing import Timer, with_wait
from ragate.server.tracing import tracer

log = logging.getLogger(__name__)

T = TypeVar("T")


def metered(use_case: Callable[..., T]) -> Callable[..., T]:
    """Count the call, its outcome and its time in the pipeline's metrics, and read what the result says."""

    @functools.wraps(use_case)
    def call(self: Pipeline, *args: Any, **kwargs: Any) -> T:
        started, name = time.perf_counter(), use_case.__name__
        request = args[0] if args else None
        try:
            with tracer.start_as_current_span(f"ragate.{name}"):
                result = use_case(self, *args, **kwargs)
        except BaseException as e:
            seconds = time.perf_counter() - started
            self.meters.record(name, seconds, error=e)
            self.recent.record(name, seconds, request=request, error=e)
            raise
        seconds = time.perf_counter() - started
        self.meters.record(name, seconds, result)
        self.recent.record(name, seconds, request=request, result=result)
        return result

    return call


class Pipeline:
    """The use cases over one index's catalog and retriever, and the one place an operation waits its turn."""

    def __init__(
        self,
        settings: Settings,
        models: Models | None = None,
        qdrant: Qdrant | None = None,
        *,
        offline: Callable[[Retriever], object] | None = None,
    ):
        self.settings, self.limits = settings, settings.server
        self.models = models or Models(settings)
        self.catalog = Catalog(settings, self.models, qdrant)
        self.retriever = Retriever(settings, self.models, self.catalog)
        # The offline commands (server/lab/offline.py), where this process runs them: `run` finds an
        # operation's handler here first, then there.
        self.offline = offline(self.retriever) if offline is not None else None
        self.writer = AnswerWriter.from_settings(settings.llm)
        self.drift = DriftMonitor(self.catalog.qdrant.state)  # every process's window, in the store
        self.meters = Metrics(self._stats)
        self.document_pages = DocumentPages()
        # The last indexing run per collection since this process started: `stats` says what it left out.
        self.last_index: dict[str, dict[str, Any]] = {}
        # How operations share this process, decided here once: heavy ones take one of the reranker's
        # slots, exclusive ones the write lock (a watched folder's passes too); the wait is the `queue` stage.
        self._heavy = threading.BoundedSemaphore(settings.server.max_concurrent_reranks)
        self._write_lock = threading.Lock()
        self.recent = RecentCalls(
            size=settings.ui.recent_calls, keep_queries=settings.ui.keep_queries, default_collection=settings.index.collection
        )

    def run(self, op: Op[Q, R], req: Q | None = None) -> R:
        """One operation (server/ops.py) in this process, by its handler."""
        handler = self.handler(op.name)
        if handler is None:
            raise BadInput(f"{op.name} runs only in the index service, not against a Qdrant server in this process")
        gate = self._heavy if op.heavy else self._write_lock if op.exclusive else None
        queue_ms = 0.0 if gate is None else self._wait_for(gate)
        try:
            result: R = handler(req) if op.request is not None else handler()
        finally:
            if gate is not None:
                gate.release()
        if op.heavy and hasattr(result, "timings_ms"):
            result.timings_ms = with_wait(result.timings_ms, "queue", queue_ms)
        return result

    def handler(self, name: str) -> Callable[..., Any] | None:
        """The method of the operation's name: the pipeline's own, else the offline commands'."""
        found: Callable[..., Any] | None = getattr(self, name, None) or getattr(self.offline, name, None)
        return found

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the models are loaded (or failed to); False on timeout."""
        return self.models.wait(timeout)

    def close(self) -> None:
        self.catalog.close()

    def _wait_for(self, gate: threading.Semaphore | threading.Lock) -> float:
        """Take `gate`, within the call's deadline; the milliseconds it took."""
        started = time.perf_counter()
        self.meters.waiting.inc()
        try:
            while not gate.acquire(timeout=0.2):
                check_deadline("the queue")
        finally:
            self.meters.waiting.dec()
        queue_ms = (time.perf_counter() - started) * 1000
        self.meters.stage("queue", queue_ms)
        return queue_ms

    def metrics(self) -> str:
        """`/metrics` and `ragate metrics`: this process's use cases in the Prometheus text format."""
        return self.meters.text()

    # ------------------------------------------------------------------ use cases

    @metered
    def search(self, req: SearchRequest) -> SearchResponse:
        req.check(req.limits_or(self.limits))
        r = self.retriever.rank(
            req.query,
            filters=req.filters,
            rerank=req.rerank,
            candidates=req.candidates,
            top_k=req.top_k,
            collection=req.collection,
            collections=req.collections,
            fusion=req.fusion,
            weights=req.weights,
            budget_ms=req.rerank_budget_ms,
        )
        results, truncated = self.retriever.fit_budget(
            [SearchResult.of(i, c) for i, c in enumerate(r.candidates[: req.top_k], start=1)], req
        )
        if truncated:
            r.notes.append(f"{truncated} lower-ranked results left out to fit max_tokens")
        names = self.catalog.targets(req.collection, req.collections)
        self._record_drift(names, top_relevance=_top_relevance(r))
        return SearchResponse(
            query=req.query,
            collection=",".join(names),
            reranked=r.stage is not None,
            candidates=r.pool,
            rerank_stage=r.stage,
            results=results,
            timings_ms=r.timer.done(),
            notes=r.notes,
            truncated=truncated,
            **r.calibration(),
            index_updated_at=self.catalog.last_updated(names),
            query_language=r.query_language,
        )

    @metered
    def answer(self, req: AnswerRequest) -> AnswerResponse:
        req.check(req.limits_or(self.limits))
        g = self.settings.gate
        max_passages = g.max_passages if req.max_passages is None else req.max_passages
        names = self.catalog.targets(req.collection, req.collections)
        _, gating, _ = self.catalog.pool_profile(names)
        model = gating.answerability if gating is not None else None
        # The gate reads at least as many candidates as its model was fitted on.
        candidates = max(self.settings.retrieval.candidates, (model.pool or 0) if model is not None else 0)
        r = self.retriever.rank(
            req.query, filters=req.filters, collections=names, candidates=candidates, top_k=max_passages, need_relevance=True
        )
        d = decide(
            r.candidates,
            pool=r.fused,
            query=req.query,
            min_score=g.min_score if req.min_score is None else req.min_score,
            max_passages=max_passages,
            bm25=self.catalog.bm25_of(self.catalog.store(names[0])),
            model=r.profile.answerability if r.profile is not None else None,
            reranked=r.stage is not None,
            strict=req.min_score is not None,
            mixed=r.profile is None,
        )
        if d.set_aside:
            r.notes.append(
                f"not taken as evidence, {len(d.set_aside)} flagged passage(s) of the head: "
                + "; ".join(f"{c.chunk.chunk_id} ({', '.join(c.flags)})" for c in d.set_aside[:5])
            )
        self._record_drift(names, p_answerable=d.p_answerable, top_relevance=_top_relevance(r))
        if d.status == "answer" and self.writer is not None and g.llm_check and d.p_answerable < d.threshold + g.llm_band:
            d = self._llm_check(req.query, d, r)
        out = AnswerResponse(
            status=d.status,
            reason=d.reason.value,
            suggestion=d.suggestion,
            p_answerable=round(d.p_answerable, 6),
            threshold=d.threshold,
            calibrated=d.calibrated,
            **r.calibration(),
            false_accept_bound=d.false_accept_bound,
            near_topic_false_accept=d.near_topic_false_accept,
            missing_terms=d.missing_terms,
            features=GateFeature.of(d) if req.explain else [],
            notes=r.notes,
            index_updated_at=self.catalog.last_updated(names),
            query_language=r.query_language,
        )
        if d.status == "abstain":
            out.message = d.abstain_message()
            out.nearest, _ = self.retriever.fit_budget([SearchResult.of(i, c) for i, c in enumerate(d.nearest, start=1)], req)
        else:
            out.passages, out.truncated = self.retriever.fit_budget([SearchResult.of(i, c) for i, c in enumerate(d.passages, start=1)], req)
            out.confidence = out.p_answerable
            if self.writer is not None:
                with r.timer.stage("llm"):
                    out.answer, note = self.writer.write(req.query, out.passages)
                if note:
                    out.notes.append(note)
        out.timings_ms = r.timer.done()
        return out

    def _record_drift(self, names: list[str], **observed: float | None) -> None:
        """A pool of one collection tells of its drift; a pool of several, of none of them."""
        if len(names) == 1:
            self.drift.record(names[0], **observed)

    def _llm_check(self, query: str, d: Decision, r: Ranked) -> Decision:
        """A borderline answer shown to the LLM, which may turn it into an abstention, never the reverse."""
        if self.writer is None:
            return d
        with r.timer.stage("llm_check"):
            verdict, note = self.writer.sufficient(query, [SearchResult.of(i, c) for i, c in enumerate(d.passages, start=1)])
        if note:
            r.notes.append(note)
        if verdict is False:
            return dataclasses.replace(d, status="abstain", reason=Reason.LOW_RELEVANCE, nearest=d.passages, passages=[])
        return d

    @metered
    def rerank(self, req: RerankRequest) -> RerankResponse:
        req.check(req.limits_or(self.limits))
        reranker = self.models.require_reranker()
        docs = req.docs()
        timer = Timer()
        profile = self.catalog.profile()
        with timer.stage("rerank"):
            logits = reranker.score(req.query, [d.text for d in docs])
            probs = profile.calibrator()(logits)
        order = sorted(range(len(docs)), key=lambda i: (-probs[i], i))[: req.top_n or len(docs)]
        items = [
            RerankItem(
                index=i,
                id=docs[i].id,
                relevance_score=round(float(probs[i]), 6),
                logit=round(float(logits[i]), 6),
                document=docs[i].text if req.return_documents else None,
                metadata=docs[i].metadata,
            )
            for i in order
        ]
        return RerankResponse(model=reranker.name, results=items, calibration=profile.source, timings_ms=timer.done())

    @metered
    def index(self, req: IndexRequest) -> IndexReport:
        """Index files and folders; the request's `allowed_roots` confine what an MCP caller may
        read, its `progress` draws a bar here (a reporter in force gets the counts anyway,
        retrieval/progress.py)."""
        req.check(req.limits_or(self.limits))
        try:
            indexer = self.catalog.indexer(req.collection)
            report = indexer.index_paths(req.paths, prune=req.prune, progress=req.progress, allowed_roots=req.allowed_roots)
        finally:
            self.catalog.changed(req.collection)
        self.last_index[report.collection] = {  # the last run of any kind, a watched folder's too
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "paths": [p[:300] for p in req.paths[:5]] + ([f"and {len(req.paths) - 5} more"] if len(req.paths) > 5 else []),
            "files_seen": report.files_seen,
            "documents_indexed": report.documents_indexed,
            "documents_unchanged": report.documents_unchanged,
            "skipped_by_kind": report.skipped_by_kind,
        }
        return report

    @metered
    def add_documents(self, req: AddDocumentsRequest) -> IndexReport:
        req.check(req.limits_or(self.limits))
        try:
            docs = [to_document(d, options=self.catalog.ingest_options) for d in req.documents]
            return self.catalog.indexer(req.collection).index_documents(docs, total=len(docs))
        finally:
            self.catalog.changed(req.collection)

    @metered
    def delete(self, req: DeleteRequest) -> DeleteResult:
        """Delete chunks by chunk id, or every chunk a filter matches."""
        req.check(req.limits_or(self.limits))
        store = self.catalog.store(req.collection)
        if req.ids:
            present = list(store.get_vectors(req.ids))
            store.delete_ids(present)
            n = len(present)
        else:  # the request's check made sure of a filter
            n = store.delete_where(req.filters) if req.filters is not None else 0
        store.flush()
        self.catalog.changed(req.collection)
        return DeleteResult(deleted=n, collection=self.catalog.collection(req.collection))

    @metered
    def feedback(self, req: FeedbackRequest) -> FeedbackResult:
        """Store an agent's verdict on a passage, with its text as the reranker reads it (a labelled pair)."""
        req.check(req.limits_or(self.limits))
        name = self.catalog.collection(req.collection)
        found = self.catalog.store(req.collection).chunks([req.chunk_id])
        if not found:
            raise BadInput(f"chunk_id: {req.chunk_id!r} is not a chunk of collection {name!r}; give a chunk_id from a search result")
        entries = self.catalog.feedback_log.append(
            query=req.query,
            text=indexed_text(found[0]),
            relevant=req.useful,
            chunk_id=req.chunk_id,
            collection=name,
            note=req.note,
            reranker=self.settings.reranker.identity,
        )
        return FeedbackResult(recorded=True, chunk_id=req.chunk_id, useful=req.useful, entries=entries)

    def resource(self, req: ResourceRequest) -> dict[str, Any]:
        """What `ragate://chunk/{id}` and `ragate://doc/{id}` resolve to: the chunk (text and metadata)
        or the document's chunks in order, from the collection given or the first that holds it."""
        names = [self.catalog.collection(req.collection)] if req.collection else self.catalog.qdrant.collections()
        for name in names:
            store = self.catalog.store(name)
            found = store.chunks([req.id]) if req.kind == "chunk" else store.document(req.id)
            if found:
                chunks = [c.model_dump(exclude={"content_hash", "file_hash"}) for c in found]
                if req.kind == "chunk":
                    return {"collection": name, **chunks[0]}
                kept: list[dict[str, Any]] = []
                size = 0
                for c in chunks:  # whole chunks in order, within [server] max_resource_chars
                    size += len(c["text"])
                    if kept and size > req.limits_or(self.limits).max_resource_chars:
                        break
                    kept.append(c)
                doc = {"collection": name, "doc_id": req.id, "source": found[0].source, "title": found[0].title, "chunks": kept}
                return doc | {"truncated": len(chunks) - len(kept)}
        raise NotFound(f"no {req.kind} {req.id!r} in {'collection ' + repr(names[0]) if req.collection else 'any collection'}")

    def documents(self, req: DocumentsRequest) -> DocumentList:
        """A page of a collection's documents with their chunk counts."""
        name = self.catalog.collection(req.collection)
        return self.document_pages.page(name, self.catalog.store(name), updated_at=self.catalog.index_updated_at(name), req=req)

    def recent_calls(self) -> list[RecentCall]:
        """The last calls answered, newest first (server/recent_calls.py)."""
        return self.recent.newest_first()

    def sample_chunks(self, req: SampleRequest) -> list[SampledChunk]:
        """Chunks of a collection drawn at random, with their text as the reranker reads it."""
        chunks = self.catalog.store(req.collection).chunks()
        picked = random.Random(req.seed).sample(chunks, min(req.n, len(chunks)))
        return [SampledChunk(chunk_id=c.chunk_id, text=indexed_text(c)) for c in picked]

    def drop_collection(self, req: CollectionRequest) -> Dropped:
        """The collection gone, and all that was kept for it: calibrations, drift, its evaluation."""
        name = self.catalog.drop(req.collection)
        for forget in (self.drift.forget, lambda c: eval_archive.forget(self.catalog.qdrant.state, c)):
            try:
                forget(name)
            except StoreError as e:  # the collection is gone: what is left is said, not a reason to fail
                log.warning("dropped %s, but not all that was kept for it: %s", name, e)
        return Dropped(dropped=name)

    @metered
    def stats(self) -> dict[str, Any]:
        return self._stats()

    @metered
    def collections(self) -> CollectionList:
        """Each collection in short: what an agent needs to pick one (the `collections` tool); one
        that cannot be read is listed with why."""
        default = self.settings.index.collection
        return CollectionList(
            collections=[
                CollectionInfo(name=name, default=name == default, error=str(found)) if isinstance(found, StoreError) else found
                for name, found in self._each_collection(self._collection_info).items()
            ]
        )

    def _each_collection(self, describe: Callable[[str, Store, Profile], T]) -> dict[str, T | StoreError]:
        """Each collection as `describe` tells it from its store and calibration in force, or the
        StoreError that keeps it from being read (`stats` and `collections` list it with why)."""
        out: dict[str, T | StoreError] = {}
        for name in self.catalog.qdrant.collections():
            try:
                out[name] = describe(name, self.catalog.store(name), self.catalog.profile(name))
            except StoreError as e:
                out[name] = e
        return out

    def _collection_info(self, name: str, store: Store, profile: Profile) -> CollectionInfo:
        model = profile.answerability
        return CollectionInfo(
            name=name,
            default=name == self.settings.index.collection,
            chunks=store.count(),
            documents=len(store.sources()),
            languages={m["lang"]: m["share"] for m in mix(self.catalog.languages(name))},
            calibration=profile.source,
            calibration_fitted_at=profile.fitted_at,
            threshold=None if model is None else model.threshold,
            updated_at=self.catalog.index_updated_at(name),
        )

    def _collection_stats(self, name: str, store: Store, profile: Profile) -> dict[str, Any]:
        return {
            "chunks": store.count(),
            "documents": len(store.sources()),
            **store.meta(),
            "languages": mix(self.catalog.languages(name)),
            "language_warning": self.retriever.language.collection_warning(name),
            "calibration": profile.summary(),
            "calibration_set_aside": self.catalog.set_aside(name),
            "relevance_weight": {
                "weight": self.catalog.blend_weights(profile=profile).relevance,
                "why": self.catalog.relevance_weight_reason(None, profile),
            },
            "drift": self.drift.report(name, profile.reference),
            "last_index": self.last_index.get(name),
        }

    def _stats(self) -> dict[str, Any]:
        m, s = self.models, self.settings
        collections = {
            name: {"error": str(found)} if isinstance(found, StoreError) else found
            for name, found in self._each_collection(self._collection_stats).items()
        }
        return {
            "backend": self.catalog.qdrant.kind,
            "location": self.catalog.qdrant.location,
            "collections": collections,
            "embedder": {
                "model": s.embedder.identity,
                "device": m.embedder.device if m.embedder else None,
                "engine": m.embedder.kind if m.embedder else None,
                "engine_reason": m.embedder.engine_reason if m.embedder else None,
                "engine_pending": m.embedder.engine_pending if m.embedder else False,
                "remote": m.embedder.describe() if isinstance(m.embedder, RemoteEmbedder) else None,
                "error": str(m.embedder_error) if m.embedder_error else None,
            },
            "reranker": {
                "model": s.reranker.identity,
                "provider": s.reranker.provider,
                **(
                    m.reranker.describe()
                    if m.reranker
                    else {"device": None, "engine": None, "engine_reason": None, "engine_pending": False}
                ),
                "precision": s.reranker.precision,
                "error": str(m.reranker_error) if m.reranker_error else None,
                "first_pass": self._first_pass_stats(),
            },
            "models_ready": m.ready,
            "feedback": self._feedback_stats(),
        }

    def _feedback_stats(self) -> dict[str, Any]:
        try:
            return {"location": self.catalog.feedback_log.location, **self.catalog.feedback_log.counts()}
        except StoreError as e:
            return {"location": self.catalog.feedback_log.location, "error": str(e)}

    def engines(self) -> dict[str, Any]:
        """`ragate engines`: per model, the engine it runs on, why, whether a measurement is under
        way, and the stored `auto` verdict's figures (seconds and agreement per engine)."""
        m, s = self.models, self.settings
        out: dict[str, dict[str, Any]] = {}
        for label, name, model, error in (
            ("embedder", s.embedder.model, m.embedder, m.embedder_error),
            ("reranker", s.reranker.model, m.reranker, m.reranker_error),
        ):
            if model is None:
                out[label] = {"error": str(error)}
                continue
            path = model.engine_verdict_path
            verdict = engine_choice.load(path, key=None) if path is not None else None
            out[label] = {
                "model": name,
                "engine": model.kind,
                "device": model.device,
                "engine_reason": model.engine_reason,
                "engine_pending": model.engine_pending,
                "measured": verdict.get("measured") if verdict else None,
            }
        return out

    def measure_engines(self) -> dict[str, Any]:
        """`ragate engines --measure`: the stored verdicts dropped and the engines measured again in
        the background, each model serving on its current engine meanwhile."""
        m = self.models
        if m.embedder is not None and not isinstance(m.embedder, RemoteEmbedder):
            remeasure_embedder(m.embedder, cache_dir=onnx_dir(self.settings))
        if m.reranker is not None:
            m.reranker.remeasure()
        return self.engines()

    def _first_pass_stats(self) -> dict[str, Any] | None:
        """The cascade, when configured: which model reads the pool first and how many it passes on."""
        r, fp = self.settings.reranker, self.models.first_pass
        if not r.first_pass_model:
            return None
        return {
            "model": r.first_pass_model,
            "keep": r.first_pass_keep,
            "device": fp.reranker.device if fp else None,
            "engine": fp.reranker.kind if fp else None,
            "engine_reason": fp.reranker.engine_reason if fp else None,
            "error": str(self.models.first_pass_error) if self.models.first_pass_error else None,
        }


def _top_relevance(r: Ranked) -> float | None:
    """The pool's best calibrated relevance (None when nothing was reranked)."""
    ranked = by_relevance(r.candidates)
    top = ranked[0].relevance if ranked else None
    return None if top is None else float(top)
