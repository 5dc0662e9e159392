"""The composition root: builds each stage once from the settings and orders them,
ingest → index → retrieve → fuse → rerank → blend → gate → respond, timing each.

Every use case (search, answer, rerank, index, add_documents, delete, feedback, stats) takes a request
model, checks it against the limits before any work, and returns a typed response; the MCP tools
and the CLI are thin adapters over these methods, so both behave the same."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragate.retrieval.backend import Backend, open_backend
from ragate.retrieval.candidates import Candidate
from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.errors import BadInput, StoreError
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.fusion import fuse
from ragate.retrieval.indexer import Indexer, IndexReport
from ragate.retrieval.ingest import IngestOptions, SourceRule
from ragate.retrieval.inline import to_document
from ragate.retrieval.store import Hit, Store
from ragate.scoring.answerability import AnswerabilityModel, AnswerabilityStore
from ragate.scoring.blend import BlendWeights, blend
from ragate.scoring.calibration import CalibrationStore, Calibrator
from ragate.scoring.gate import Decision, Reason, decide
from ragate.scoring.rerank_stage import RerankPolicy, RerankStage, rerank
from ragate.server.config import Settings
from ragate.server.feedback import FeedbackLog, feedback_path
from ragate.server.llm.answer_writer import AnswerWriter
from ragate.server.model_loader import Models
from ragate.server.packing import pack
from ragate.server.requests import (
    AddDocumentsRequest,
    AnswerRequest,
    BlendOverrides,
    DeleteRequest,
    FeedbackRequest,
    IndexRequest,
    RerankRequest,
    SearchRequest,
)
from ragate.server.schemas import AnswerResponse, DeleteResult, FeedbackResult, RerankItem, RerankResponse, SearchResponse, SearchResult
from ragate.server.timing import Timer


@dataclasses.dataclass
class Ranked:
    """A query's candidates after blending (best first), with what the stages did."""

    candidates: list[Candidate]
    pool: int
    stage: RerankStage | None
    notes: list[str]
    timer: Timer


class Pipeline:
    def __init__(self, settings: Settings, models: Models | None = None, backend: Backend | None = None):
        self.settings = settings
        self.limits = settings.server
        self.models = models or Models(settings)
        q = settings.qdrant
        self.backend = backend or open_backend(q.path, q.url, os.environ.get(q.api_key_env), q.timeout_s)
        a = settings.authority
        self.ingest_options = IngestOptions(
            include=settings.index.include,
            exclude=settings.index.exclude,
            max_file_bytes=int(settings.index.max_file_mb * 1024 * 1024),
            max_chars=settings.index.max_file_chars,
            max_chunks=settings.index.max_chunks_per_file,
            rules=[SourceRule(r.glob, r.source_type, r.weight) for r in a.rules],
            default_source_type=a.default_source_type,
            default_authority=a.default,
        )
        r, rr = settings.retrieval, settings.reranker
        self.rerank_policy = RerankPolicy(skip_margin=r.skip_rerank_margin, budget_ms=rr.budget_ms, min_budget_pairs=rr.min_budget_pairs)
        # One file in the index directory; its contents say which reranker and chunking it fits.
        self.calibration = CalibrationStore(Path(q.path) / "calibration.json")
        # Beside it, the gate's model, which reads relevance calibrated by that file.
        self.answerability = AnswerabilityStore(Path(q.path) / "answerability.json")
        self.writer = AnswerWriter.from_settings(settings.llm)
        self.feedback_log = FeedbackLog(feedback_path(q.path))
        self._updated_at: dict[str, str | None] = {}

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the models are loaded (or failed to); False on timeout."""
        return self.models.wait(timeout)

    # ------------------------------------------------------------------ stores and stage settings

    def _collection_meta(self) -> dict[str, Any]:
        emb = self.models.require_embedder()
        return {
            "dim": emb.dim,
            "embedder": self.settings.embedder.model,
            "bm25": self.models.bm25.settings_key,
            "chunking": self.models.chunking_key(),
        }

    def collection(self, name: str | None) -> str:
        return name or self.settings.index.collection

    def store(self, collection: str | None = None, *, create: bool = False) -> Store:
        name = self.collection(collection)
        store = self.backend.open(name, create=self._collection_meta() if create else None)
        stored = store.meta()
        if stored.get("embedder") and stored["embedder"] != self.settings.embedder.model:
            raise StoreError(
                f"collection {name!r} was indexed with embedder {stored['embedder']!r}, but [embedder] model is "
                f"{self.settings.embedder.model!r}; set it back or index into a new collection"
            )
        return store

    def indexer(self, collection: str | None = None) -> Indexer:
        m = self.models
        embedder = m.require_embedder()
        return Indexer(
            store=self.store(collection, create=True),
            embedder=embedder,
            bm25=m.bm25,
            token_offsets=m.token_offsets,
            chunking=m.chunking(),
            ingest=self.ingest_options,
            batch_chunks=self.settings.index.batch_chunks,
        )

    def calibrator(self) -> Calibrator:
        return self.calibration.current(self.settings.reranker.model, self.models.chunking_key())

    def answerability_model(self) -> AnswerabilityModel | None:
        s = self.settings
        return self.answerability.current(embedder=s.embedder.model, reranker=s.reranker.model, chunking=self.models.chunking_key())

    def blend_weights(self, o: BlendOverrides | None = None) -> BlendWeights:
        b = self.settings.blend
        o = o or BlendOverrides()
        return BlendWeights(
            relevance=b.w_relevance if o.relevance is None else o.relevance,
            retrieval=b.w_retrieval if o.retrieval is None else o.retrieval,
            freshness=b.w_freshness if o.freshness is None else o.freshness,
            authority=b.w_authority if o.authority is None else o.authority,
            decay=b.freshness_decay,
            half_life_days=b.half_life_days if o.half_life_days is None else o.half_life_days,
            neutral_freshness=b.neutral_freshness,
            mmr_lambda=b.mmr_lambda if o.mmr_lambda is None else o.mmr_lambda,
            max_chunks_per_doc=b.max_chunks_per_doc,
        )

    def index_updated_at(self, collection: str | None = None) -> str | None:
        """When the collection last changed: its last write here, else its files' modification time."""
        name = self.collection(collection)
        if name not in self._updated_at:
            self._updated_at[name] = self.backend.last_modified(name)
        return self._updated_at[name]

    def _changed(self, collection: str | None) -> None:
        self._updated_at[self.collection(collection)] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # ------------------------------------------------------------------ stages

    def recall(
        self, query: str, *, filters: SearchFilter | None, n: int, collection: str | None, timer: Timer
    ) -> tuple[list[Hit], list[Hit]]:
        """The recall stage's two channels: dense and BM25 top-n, each searched inside Qdrant."""
        store = self.store(collection)
        with timer.stage("embed"):
            qv = self.models.require_embedder().encode([query])[0]
            sv = self.models.bm25.encode_query(query)
        with timer.stage("dense"):
            dense = store.search_dense(qv, filters, n)
        with timer.stage("bm25"):
            sparse = store.search_sparse(sv, filters, n)
        return dense, sparse

    def fuse(self, dense: list[Hit], sparse: list[Hit], *, n: int, fusion: str | None, timer: Timer) -> list[Candidate]:
        r = self.settings.retrieval
        with timer.stage("fuse"):
            return fuse(
                dense, sparse, method=fusion or r.fusion, rrf_k=r.rrf_k, dense_weight=r.dense_weight, bm25_weight=r.bm25_weight, limit=n
            )

    def rerank_pool(self, query: str, cands: list[Candidate], *, timer: Timer, budget_ms: float | None = None) -> RerankStage | None:
        """The precision stage over the pool; None when no reranker is available."""
        reranker = self.models.reranker
        if reranker is None:
            return None
        with timer.stage("rerank"):
            return rerank(
                query,
                cands,
                reranker=reranker,
                calibrator=self.calibrator(),
                policy=self.rerank_policy,
                budget_ms=budget_ms,
                first_pass=self.models.first_pass,
            )

    def rank(
        self,
        query: str,
        *,
        filters: SearchFilter | None = None,
        rerank: bool = True,
        candidates: int | None = None,
        top_k: int = 1,
        collection: str | None = None,
        fusion: str | None = None,
        weights: BlendOverrides | None = None,
        budget_ms: float | None = None,
    ) -> Ranked:
        """retrieve → fuse → rerank → blend for one query."""
        timer = Timer()
        n = max(candidates or self.settings.retrieval.candidates, top_k)
        dense, sparse = self.recall(query, filters=filters, n=n, collection=collection, timer=timer)
        cands = self.fuse(dense, sparse, n=n, fusion=fusion, timer=timer)
        notes: list[str] = []
        stage = None
        check_deadline("retrieval")
        if rerank and cands:
            stage = self.rerank_pool(query, cands, timer=timer, budget_ms=budget_ms)
            if stage is None:
                notes.append(f"not reranked: {self.models.reranker_error}")
            elif stage.cut_short:
                notes.append(
                    f"reranked the top {stage.pairs} of {len(cands)} candidates ({stage.limited_by}); the rest follow in fused order"
                )
        with timer.stage("blend"):
            ranked = blend(cands, self.blend_weights(weights))
        return Ranked(ranked, len(cands), stage, notes, timer)

    def _tokens(self, text: str) -> int:
        offsets = self.models.token_offsets
        return len(offsets(text)) if offsets else len(text.split())

    def _fit(self, results: list[SearchResult], max_tokens: int | None) -> tuple[list[SearchResult], int]:
        """Whole passages in rank order within the response's token budget."""
        return pack(results, lambda r: r.text, self._tokens, self.limits.max_tokens if max_tokens is None else max_tokens)

    # ------------------------------------------------------------------ use cases

    def search(self, req: SearchRequest) -> SearchResponse:
        req.check(self.limits)
        r = self.rank(
            req.query,
            filters=req.filters,
            rerank=req.rerank,
            candidates=req.candidates,
            top_k=req.top_k,
            collection=req.collection,
            fusion=req.fusion,
            weights=req.weights,
            budget_ms=req.rerank_budget_ms,
        )
        results, truncated = self._fit([SearchResult.of(i, c) for i, c in enumerate(r.candidates[: req.top_k], start=1)], req.max_tokens)
        if truncated:
            r.notes.append(f"{truncated} lower-ranked results left out to fit max_tokens")
        return SearchResponse(
            query=req.query,
            collection=self.collection(req.collection),
            reranked=r.stage is not None,
            candidates=r.pool,
            rerank_stage=r.stage,
            results=results,
            timings_ms=r.timer.done(),
            notes=r.notes,
            truncated=truncated,
            index_updated_at=self.index_updated_at(req.collection),
        )

    def answer(self, req: AnswerRequest) -> AnswerResponse:
        req.check(self.limits)
        g = self.settings.gate
        r = self.rank(req.query, filters=req.filters, collection=req.collection)
        d = decide(
            r.candidates,
            query=req.query,
            min_score=g.min_score if req.min_score is None else req.min_score,
            max_passages=g.max_passages if req.max_passages is None else req.max_passages,
            bm25=self.models.bm25,
            model=self.answerability_model(),
            reranked=r.stage is not None,
        )
        if d.status == "answer" and self.writer is not None and g.llm_check and d.p_answerable < d.threshold + g.llm_band:
            d = self._llm_check(req.query, d, r)
        out = AnswerResponse(
            status=d.status,
            reason=d.reason.value,
            suggestion=d.suggestion,
            p_answerable=round(d.p_answerable, 6),
            threshold=d.threshold,
            calibrated=d.calibrated,
            false_accept_bound=d.false_accept_bound,
            missing_terms=d.missing_terms,
            notes=r.notes,
            index_updated_at=self.index_updated_at(req.collection),
        )
        if d.status == "abstain":
            out.message = d.abstain_message()
            out.nearest = [SearchResult.of(i, c) for i, c in enumerate(d.nearest, start=1)]
        else:
            out.passages, out.truncated = self._fit([SearchResult.of(i, c) for i, c in enumerate(d.passages, start=1)], req.max_tokens)
            out.confidence = out.p_answerable
            if self.writer is not None:
                with r.timer.stage("llm"):
                    out.answer, note = self.writer.write(req.query, out.passages)
                if note:
                    out.notes.append(note)
        out.timings_ms = r.timer.done()
        return out

    def _llm_check(self, query: str, d: Decision, r: Ranked) -> Decision:
        """A borderline answer shown to the LLM, which may turn it into an abstention, never the reverse."""
        with r.timer.stage("llm_check"):
            verdict, note = self.writer.sufficient(query, [SearchResult.of(i, c) for i, c in enumerate(d.passages, start=1)])
        if note:
            r.notes.append(note)
        if verdict is False:
            return dataclasses.replace(d, status="abstain", reason=Reason.LOW_RELEVANCE, nearest=d.passages, passages=[])
        return d

    def rerank(self, req: RerankRequest) -> RerankResponse:
        req.check(self.limits)
        reranker = self.models.require_reranker()
        docs = req.docs()
        timer = Timer()
        with timer.stage("rerank"):
            logits = reranker.score(req.query, [d.text for d in docs])
            probs = self.calibrator()(logits)
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
        return RerankResponse(model=reranker.name, results=items, timings_ms=timer.done())

    def index(
        self,
        req: IndexRequest,
        *,
        allowed_roots: list[str] | None = None,
        progress: bool = False,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> IndexReport:
        """Index files and folders; `allowed_roots` confines what an MCP caller may read; `progress`
        draws a bar here, `on_progress(files_done, files_total)` reports elsewhere."""
        req.check(self.limits)
        try:
            return self.indexer(req.collection).index_paths(
                req.paths, prune=req.prune, progress=progress, allowed_roots=allowed_roots, on_progress=on_progress
            )
        finally:
            self._changed(req.collection)

    def add_documents(self, req: AddDocumentsRequest) -> IndexReport:
        req.check(self.limits)
        try:
            return self.indexer(req.collection).index_documents([to_document(d, options=self.ingest_options) for d in req.documents])
        finally:
            self._changed(req.collection)

    def delete(self, req: DeleteRequest) -> DeleteResult:
        """Delete chunks by chunk id, or every chunk a filter matches."""
        req.check(self.limits)
        store = self.store(req.collection)
        if req.ids:
            present = list(store.get_vectors(req.ids))
            store.delete_ids(present)
            n = len(present)
        else:
            n = store.delete_where(req.filters)
        store.flush()
        self._changed(req.collection)
        return DeleteResult(deleted=n, collection=self.collection(req.collection))

    def feedback(self, req: FeedbackRequest) -> FeedbackResult:
        """Store an agent's verdict on a passage, with its text as the reranker reads it (a labelled pair)."""
        req.check(self.limits)
        name = self.collection(req.collection)
        found = self.store(req.collection).chunks([req.chunk_id])
        if not found:
            raise BadInput(f"chunk_id: {req.chunk_id!r} is not a chunk of collection {name!r}; give a chunk_id from a search result")
        entries = self.feedback_log.append(
            query=req.query,
            text=indexed_text(found[0]),
            relevant=req.useful,
            chunk_id=req.chunk_id,
            collection=name,
            note=req.note,
            reranker=self.settings.reranker.model,
        )
        return FeedbackResult(recorded=True, chunk_id=req.chunk_id, useful=req.useful, entries=entries)

    def sample_chunks(self, options: dict[str, Any]) -> list[dict[str, str]]:
        """Up to `n` chunks of a collection drawn at random (`seed`), as {chunk_id, text} with the text as
        the reranker reads it; training data for `ragate tune --synthesize`."""
        chunks = self.store(options.get("collection")).chunks()
        picked = random.Random(options.get("seed", 13)).sample(chunks, min(int(options["n"]), len(chunks)))
        return [{"chunk_id": c.chunk_id, "text": indexed_text(c)} for c in picked]

    def drop_collection(self, collection: str | None = None) -> str:
        name = self.collection(collection)
        self.backend.drop(name)
        self._updated_at.pop(name, None)
        return name

    def evaluate(self, options: dict[str, Any]) -> dict[str, Any]:
        """`ragate eval` on this pipeline (see ragate.server.lab.evaluate.evaluate for the options)."""
        from ragate.server.lab.evaluate import evaluate

        return evaluate(self, **options)

    def calibrate(self, options: dict[str, Any]) -> dict[str, Any]:
        """`ragate calibrate` on this pipeline (see ragate.server.lab.calibrate.run_calibration)."""
        from ragate.server.lab.calibrate import run_calibration

        return run_calibration(self, **options)

    def stats(self) -> dict[str, Any]:
        m, s = self.models, self.settings
        collections = {}
        for name in self.backend.collections():
            try:
                store = self.store(name)
                collections[name] = {"chunks": store.count(), "documents": len(store.sources()), **store.meta()}
            except StoreError as e:
                collections[name] = {"error": str(e)}
        return {
            "backend": self.backend.kind,
            "location": self.backend.location,
            "collections": collections,
            "embedder": {
                "model": s.embedder.model,
                "device": m.embedder.device if m.embedder else None,
                "engine": m.embedder.kind if m.embedder else None,
                "engine_reason": m.embedder.engine_reason if m.embedder else None,
                "error": str(m.embedder_error) if m.embedder_error else None,
            },
            "reranker": {
                "model": s.reranker.model,
                "device": m.reranker.device if m.reranker else None,
                "engine": m.reranker.kind if m.reranker else None,
                "engine_reason": m.reranker.engine_reason if m.reranker else None,
                "precision": s.reranker.precision,
                "error": str(m.reranker_error) if m.reranker_error else None,
                "first_pass": self._first_pass_stats(),
            },
            "models_ready": m.ready,
            "feedback": {"path": str(self.feedback_log.path), **self.feedback_log.counts()},
        }

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

    def close(self) -> None:
        self.backend.close()
