"""The composition root: ingest → index → retrieve → fuse → rerank → calibrate → blend → gate,
each stage timed. The CLI and the MCP tools are thin adapters over this class."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from ragate.retrieval.backend import Backend, open_backend
from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.documents import Document, Section, content_hash, stable_id
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.fusion import fuse, lead_margin
from ragate.retrieval.indexer import Indexer, IndexReport
from ragate.retrieval.ingest import IngestOptions, SourceRule, classify, parse_date, rfc3339
from ragate.retrieval.store import Hit, Store, StoreError
from ragate.scoring.answerability import AnswerabilityModel, AnswerabilityStore
from ragate.scoring.blend import BlendWeights, blend
from ragate.scoring.calibration import CalibrationStore, Calibrator
from ragate.scoring.candidates import Candidate
from ragate.scoring.gate import Decision, decide
from ragate.server.config import Settings
from ragate.server.models import Models
from ragate.server.schemas import RerankStage, ScoreBreakdown, SearchResponse, SearchResult

log = logging.getLogger(__name__)


class InlineDocument(BaseModel):
    """A document given as text (add_documents, rerank): nothing is read from disk."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=256)
    text: str
    title: str = Field("", max_length=1000)
    source: str | None = Field(None, max_length=2000)
    updated_at: str | None = None
    source_type: str | None = Field(None, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("updated_at")
    @classmethod
    def _a_date(cls, v: str | None) -> str | None:
        if v is not None and parse_date(v) is None:
            raise ValueError("not an ISO 8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T10:00:00Z")
        return v


class BlendOverrides(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relevance: float | None = Field(None, ge=0, le=10)
    retrieval: float | None = Field(None, ge=0, le=10)
    freshness: float | None = Field(None, ge=0, le=10)
    authority: float | None = Field(None, ge=0, le=10)
    mmr_lambda: float | None = Field(None, ge=0, le=1)
    half_life_days: float | None = Field(None, gt=0)


class Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - t) * 1000

    def done(self) -> dict[str, float]:
        self.ms["total"] = (time.perf_counter() - self._t0) * 1000
        return {k: round(v, 2) for k, v in self.ms.items()}


@dataclasses.dataclass
class Ranked:
    """What search hands to its callers: the response and the candidates behind it."""

    response: SearchResponse
    candidates: list[Candidate]


class Pipeline:
    def __init__(self, settings: Settings, models: Models | None = None, backend: Backend | None = None):
        self.settings = settings
        self.models = models or Models(settings)
        q = settings.qdrant
        self.backend = backend or open_backend(q.path, q.url, os.environ.get(q.api_key_env), q.timeout_s)
        a = settings.authority
        self.ingest_options = IngestOptions(
            include=settings.index.include,
            exclude=settings.index.exclude,
            max_file_bytes=int(settings.index.max_file_mb * 1024 * 1024),
            rules=[SourceRule(r.glob, r.source_type, r.weight) for r in a.rules],
            default_source_type=a.default_source_type,
            default_authority=a.default,
        )

    # ------------------------------------------------------------------ collections

    def _collection_meta(self) -> dict[str, Any]:
        emb = self.models.require_embedder()
        return {
            "dim": emb.dim,
            "embedder": self.settings.embedder.model,
            "bm25": self.models.bm25.settings_key,
            "chunking": self.models.chunking_key(),
        }

    def store(self, collection: str | None = None, create: bool = False) -> Store:
        name = collection or self.settings.index.collection
        meta = self._collection_meta() if create else None
        store = self.backend.open(name, create=meta)
        stored = store.meta()
        if stored.get("embedder") and stored["embedder"] != self.settings.embedder.model:
            raise StoreError(
                f"collection {name!r} was indexed with embedder {stored['embedder']!r}, but [embedder] model is "
                f"{self.settings.embedder.model!r}; set it back or index into a new collection"
            )
        return store

    def indexer(self, collection: str | None = None) -> Indexer:
        m = self.models
        if m.token_offsets is None:
            m.require_embedder()
        return Indexer(
            store=self.store(collection, create=True),
            embedder=m.require_embedder(),
            bm25=m.bm25,
            token_offsets=m.token_offsets,
            chunking=m.chunking(),
            ingest=self.ingest_options,
            batch_chunks=self.settings.index.batch_chunks,
        )

    def index_paths(
        self,
        paths: list[str],
        collection: str | None = None,
        prune: bool = False,
        progress: bool = False,
        allowed_roots: list[str] | None = None,
    ) -> IndexReport:
        return self.indexer(collection).index_paths(paths, prune=prune, progress=progress, allowed_roots=allowed_roots)

    def inline_document(self, d: InlineDocument) -> Document:
        body = d.text
        ident = d.id or content_hash(d.title + "\x00" + body)[:32]
        source = d.source or f"inline:{ident}"
        source_type, authority = classify(source, self.ingest_options)
        version = content_hash(json.dumps([d.title, body, d.updated_at, d.source_type, d.metadata], sort_keys=True, default=str))
        return Document(
            doc_id=stable_id("inline", ident) if d.id else stable_id("inline", source),
            source=source,
            title=d.title,
            text=body,
            sections=[Section(heading_path=[], start=0, end=len(body))],
            updated_at=parse_date(d.updated_at) if d.updated_at else rfc3339(dt.datetime.now(dt.UTC)),
            source_type=d.source_type or source_type,
            authority=authority,
            file_hash=version,
            meta=d.metadata,
        )

    def add_documents(self, docs: list[InlineDocument], collection: str | None = None) -> IndexReport:
        return self.indexer(collection).index_documents([self.inline_document(d) for d in docs])

    def delete(self, collection: str | None = None, ids: list[str] | None = None, f: SearchFilter | None = None) -> int:
        """Delete chunks by chunk id, or every chunk a filter matches; returns how many went."""
        store = self.store(collection)
        if ids:
            present = set(store.get_vectors(ids))
            store.delete_ids(list(present))
            store.flush()
            return len(present)
        if f is None:
            raise StoreError("delete needs ids or a filter")
        n = store.delete_where(f)
        store.flush()
        return n

    # ------------------------------------------------------------------ scoring pieces

    def calibration_store(self) -> CalibrationStore:
        """One file in the index directory; its contents say which reranker and chunking it fits."""
        return CalibrationStore(Path(self.settings.qdrant.path) / "calibration.json")

    def calibrator(self) -> Calibrator:
        return self.calibration_store().load(self.settings.reranker.model, self.models.chunking_key())

    def answerability_store(self) -> AnswerabilityStore:
        """Beside calibration.json: the gate's model reads relevance calibrated by it."""
        return AnswerabilityStore(Path(self.settings.qdrant.path) / "answerability.json")

    def answerability_model(self) -> AnswerabilityModel | None:
        s = self.settings
        return self.answerability_store().load(embedder=s.embedder.model, reranker=s.reranker.model, chunking=self.models.chunking_key())

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

    # ------------------------------------------------------------------ search

    def recall(self, query: str, f: SearchFilter | None, n: int, collection: str | None, timer: Timer) -> tuple[list[Hit], list[Hit]]:
        """The recall stage's two channels: dense and BM25 top-n, each searched inside Qdrant."""
        store = self.store(collection)
        with timer.stage("embed"):
            qv = self.models.require_embedder().encode([query])[0]
            sv = self.models.bm25.encode_query(query)
        with timer.stage("dense"):
            dense = store.search_dense(qv, f, n)
        with timer.stage("bm25"):
            sparse = store.search_sparse(sv, f, n)
        return dense, sparse

    def fuse(self, dense: list[Hit], sparse: list[Hit], n: int, fusion: str | None, timer: Timer) -> list[Candidate]:
        r = self.settings.retrieval
        with timer.stage("fuse"):
            fused = fuse(dense, sparse, fusion or r.fusion, r.rrf_k, r.dense_weight, r.bm25_weight, limit=n)
        return [Candidate(chunk=x.chunk, vector=x.vector, dense=x.dense, bm25=x.bm25, fused=x.fused) for x in fused]

    def retrieve(
        self, query: str, f: SearchFilter | None, n: int, collection: str | None, fusion: str | None, timer: Timer
    ) -> list[Candidate]:
        """Dense and BM25 top-n, fused into one pool of n candidates."""
        return self.fuse(*self.recall(query, f, n, collection, timer), n, fusion, timer)

    def rerank_plan(self, cands: list[Candidate], budget_ms: float | None, pairs_per_s: float) -> tuple[int, str | None]:
        """How many of the fused candidates the cross-encoder reads, and what limited it."""
        r, rr = self.settings.retrieval, self.settings.reranker
        margin = r.skip_rerank_margin
        if margin > 0 and len(cands) > 1 and channel_lead(cands) >= margin:
            return 1, "margin"  # the leader still gets a calibrated relevance for the gate
        budget = rr.budget_ms if budget_ms is None else budget_ms
        if budget > 0 and pairs_per_s > 0:
            n = max(rr.min_budget_pairs, int(budget / 1000.0 * pairs_per_s))
            if n < len(cands):
                return n, "budget"
        return len(cands), None

    def rerank_candidates(
        self, query: str, cands: list[Candidate], calibrator: Calibrator, timer: Timer, budget_ms: float | None = None
    ) -> RerankStage | None:
        """Fill rerank logits and calibrated relevance of the candidates the plan allows (in fused
        order); None when no reranker is available."""
        reranker = self.models.reranker
        if reranker is None:
            return None
        n, limited_by = self.rerank_plan(cands, budget_ms, reranker.pairs_per_s)
        with timer.stage("rerank"):
            logits, cached = reranker.score_counted(query, [indexed_text(c.chunk) for c in cands[:n]])
            probs = calibrator(logits)
        for c, z, p in zip(cands, logits, probs, strict=False):
            c.rerank, c.relevance = float(z), float(p)
        return RerankStage(engine=reranker.kind, device=reranker.device, pairs=n, limited_by=limited_by, cached=cached)

    def search(
        self,
        query: str,
        top_k: int = 10,
        filters: SearchFilter | None = None,
        rerank: bool = True,
        candidates: int | None = None,
        collection: str | None = None,
        fusion: str | None = None,
        weights: BlendOverrides | None = None,
        budget_ms: float | None = None,
    ) -> Ranked:
        timer = Timer()
        n = max(candidates or self.settings.retrieval.candidates, top_k)
        cands = self.retrieve(query, filters, n, collection, fusion, timer)
        notes: list[str] = []
        stage = None
        if rerank and cands:
            stage = self.rerank_candidates(query, cands, self.calibrator(), timer, budget_ms)
            if stage is None:
                notes.append(f"not reranked: {self.models.reranker_error}")
            elif stage.limited_by:
                notes.append(
                    f"reranked the top {stage.pairs} of {len(cands)} candidates ({stage.limited_by}); the rest follow in fused order"
                )
        with timer.stage("blend"):
            ranked = blend(cands, self.blend_weights(weights))
        results = [to_result(i, c) for i, c in enumerate(ranked[:top_k], start=1)]
        resp = SearchResponse(
            query=query,
            collection=collection or self.settings.index.collection,
            reranked=stage is not None,
            candidates=len(cands),
            rerank_stage=stage,
            results=results,
            timings_ms=timer.done(),
            notes=notes,
        )
        return Ranked(resp, ranked)

    def decide(
        self,
        query: str,
        filters: SearchFilter | None = None,
        min_score: float | None = None,
        max_passages: int | None = None,
        collection: str | None = None,
    ) -> tuple[Decision, SearchResponse]:
        g = self.settings.gate
        ranked = self.search(query, top_k=self.settings.retrieval.candidates, filters=filters, collection=collection)
        decision = decide(
            ranked.candidates,
            query=query,
            min_score=g.min_score if min_score is None else min_score,
            max_passages=max_passages or g.max_passages,
            bm25=self.models.bm25,
            model=self.answerability_model(),
            reranked=ranked.response.reranked,
        )
        return decision, ranked.response

    # ------------------------------------------------------------------ info

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
                "error": str(m.embedder_error) if m.embedder_error else None,
            },
            "reranker": {
                "model": s.reranker.model,
                "device": m.reranker.device if m.reranker else None,
                "engine": m.reranker.kind if m.reranker else None,
                "precision": s.reranker.precision,
                "error": str(m.reranker_error) if m.reranker_error else None,
            },
            "models_ready": m.ready,
        }

    def close(self) -> None:
        self.backend.close()


def channel_lead(cands: list[Candidate]) -> float:
    """How far the fused leader is ahead in every channel: the smallest of its per-channel leads
    over the pool, and 0 unless it tops both. (RRF scores alone can't tell: rank 1 and rank 2 differ
    by a hair whatever the gap in relevance.)"""
    leader = cands[0]
    leads = []
    for channel in ("dense", "bm25"):
        scores = sorted((v for c in cands if (v := getattr(c, channel)) is not None), reverse=True)
        mine = getattr(leader, channel)
        if mine is None or mine < scores[0]:
            return 0.0
        leads.append(lead_margin(scores))
    return min(leads)


def to_result(rank: int, c: Candidate) -> SearchResult:
    ch = c.chunk
    return SearchResult(
        rank=rank,
        chunk_id=ch.chunk_id,
        doc_id=ch.doc_id,
        source=ch.source,
        title=ch.title,
        heading_path=ch.heading_path,
        text=ch.text,
        score=round(c.final, 6),
        scores=ScoreBreakdown(**{k: (None if v is None else round(float(v), 6)) for k, v in c.scores().items()}),
        updated_at=ch.updated_at,
        source_type=ch.source_type,
        char_start=ch.char_start,
        char_end=ch.char_end,
    )
