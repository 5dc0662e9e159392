"""MCP tools over the pipeline. Each tool validates its input against the configured limits,
runs the pipeline off the event loop, and shapes a typed result; errors the caller can fix come
back as tool errors that name the field and the limit, and the server keeps serving."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.indexer import IndexReport
from ragate.retrieval.ingest import IngestError
from ragate.retrieval.models import ModelLoadError
from ragate.retrieval.store import StoreError
from ragate.scoring.candidates import Candidate
from ragate.scoring.gate import Reason
from ragate.server.answer_writer import AnswerWriter
from ragate.server.packing import pack
from ragate.server.pipeline import BlendOverrides, InlineDocument, Pipeline, Timer
from ragate.server.schemas import AnswerResponse, Passage, RerankItem, RerankResponse, SearchResponse
from ragate.server.validation import BadInput, check_query, check_text

log = logging.getLogger(__name__)
T = TypeVar("T")

INSTRUCTIONS = (
    "ragate searches an indexed corpus. Use `search` for ranked passages with scores, "
    "`answer_or_abstain` when you need grounded context or an explicit 'I don't know', and `rerank` to "
    "order documents you already have. Cite passages by chunk id."
)


class RerankDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=256)
    text: str
    metadata: dict[str, Any] | None = None


class DeleteResult(BaseModel):
    deleted: int
    collection: str


def _checked(check: Callable[..., T], *args: Any) -> T:
    """Run a shared input check; what it refuses becomes a tool error with the same words."""
    try:
        return check(*args)
    except BadInput as e:
        raise ToolError(str(e)) from None


def _check_range(name: str, value: int, lo: int, hi: int, key: str) -> int:
    if not lo <= value <= hi:
        raise ToolError(f"{name}: {value} is outside {lo}..{hi} ([server] {key})")
    return value


class Tools:
    """Holds the pipeline and the limits; `register` puts the tools on an MCPServer."""

    def __init__(self, pipeline: Pipeline):
        self.p = pipeline
        self.limits = pipeline.settings.server
        self.writer = AnswerWriter.from_settings(pipeline.settings.llm)
        self._rerank_slots = anyio.CapacityLimiter(self.limits.max_concurrent_reranks)

    # -- plumbing -------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any, heavy: bool = False) -> T:
        """Run blocking pipeline work in a thread once models are ready, under the tool timeout."""
        models = self.p.models
        try:
            with anyio.fail_after(self.limits.tool_timeout_s):
                if not models.ready:  # arrived during start-up: wait for the models, don't fail
                    await anyio.to_thread.run_sync(models.wait)
                limiter = self._rerank_slots if heavy else None
                return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=limiter)
        except TimeoutError:
            raise ToolError(f"timed out after {self.limits.tool_timeout_s:g}s ([server] tool_timeout_s)") from None
        except (StoreError, IngestError, ModelLoadError, ValueError) as e:
            raise ToolError(str(e)) from None

    def _tokens(self, text: str) -> int:
        offsets = self.p.models.token_offsets
        return len(offsets(text)) if offsets else len(text.split())

    def _passage(self, c: Candidate) -> Passage:
        ch = c.chunk
        return Passage(
            citation=ch.chunk_id,
            source=ch.source,
            title=ch.title,
            heading_path=ch.heading_path,
            text=ch.text,
            relevance=round(float(c.relevance or 0.0), 6),
        )

    # -- tools ----------------------------------------------------------------

    async def search(
        self,
        query: Annotated[str, Field(description="what to look for, in natural language")],
        top_k: Annotated[int, Field(description="number of results")] = 10,
        filters: Annotated[SearchFilter | None, Field(description="restrict by source glob/prefix, source_type, dates, metadata")] = None,
        rerank: Annotated[bool, Field(description="rerank candidates with the cross-encoder")] = True,
        candidates: Annotated[int, Field(description="fused candidate pool size before reranking")] = 100,
        collection: Annotated[str | None, Field(description="collection; default from config")] = None,
        weights: Annotated[BlendOverrides | None, Field(description="per-call blend weights")] = None,
        max_tokens: Annotated[int | None, Field(description="budget of passage tokens in the response")] = None,
        rerank_budget_ms: Annotated[
            float | None, Field(description="rerank only as many candidates as fit this many ms at the measured speed")
        ] = None,
    ) -> SearchResponse:
        """Hybrid search (dense + BM25, fused, cross-encoder reranked, blended with freshness, authority
        and diversity). Each result has its final score, every component score, and stage timings."""
        _checked(check_query, query, self.limits.max_query_chars)
        _check_range("top_k", top_k, 1, self.limits.max_top_k, "max_top_k")
        _check_range("candidates", candidates, 1, self.limits.max_candidates, "max_candidates")
        budget = _check_range("max_tokens", self.limits.max_tokens if max_tokens is None else max_tokens, 1, 100_000, "max_tokens")
        if rerank_budget_ms is not None and not 0 < rerank_budget_ms <= self.limits.tool_timeout_s * 1000:
            raise ToolError(
                f"rerank_budget_ms: {rerank_budget_ms} is outside 0..{self.limits.tool_timeout_s * 1000:g} ([server] tool_timeout_s)"
            )
        ranked = await self._run(
            self.p.search, query, top_k, filters, rerank, candidates, collection, None, weights, rerank_budget_ms, heavy=True
        )
        resp = ranked.response
        resp.results, resp.truncated = pack(resp.results, lambda r: r.text, self._tokens, budget)
        if resp.truncated:
            resp.notes.append(f"{resp.truncated} lower-ranked results left out to fit max_tokens={budget}")
        return resp

    async def rerank(
        self,
        query: Annotated[str, Field(description="the query to score documents against")],
        documents: Annotated[list[str | RerankDocument], Field(description="strings or {id, text, metadata}")],
        top_n: Annotated[int | None, Field(description="return only the best N")] = None,
        return_documents: Annotated[bool, Field(description="include each document's text in the results")] = True,
    ) -> RerankResponse:
        """Score caller-supplied documents against the query with the cross-encoder. Results are sorted
        by relevance_score (calibrated, 0..1) and keep the caller's index. Nothing is indexed."""
        _checked(check_query, query, self.limits.max_query_chars)
        if not documents:
            raise ToolError("documents: must hold at least one document")
        if len(documents) > self.limits.max_documents:
            raise ToolError(f"documents: {len(documents)} given, over the limit of {self.limits.max_documents} ([server] max_documents)")
        docs = [d if isinstance(d, RerankDocument) else RerankDocument(text=d) for d in documents]
        for i, d in enumerate(docs):
            if len(d.text) > self.limits.max_document_chars:
                raise ToolError(
                    f"documents[{i}]: {len(d.text)} characters, over the limit of {self.limits.max_document_chars} ([server] max_document_chars)"
                )
            _checked(check_text, f"documents[{i}]", d.text)
        if top_n is not None:
            _check_range("top_n", top_n, 1, len(docs), "max_documents")

        def work() -> RerankResponse:
            reranker = self.p.models.require_reranker()
            timer = Timer()
            with timer.stage("rerank"):
                logits = reranker.score(query, [d.text for d in docs])
                probs = self.p.calibrator()(logits)
            order = sorted(range(len(docs)), key=lambda i: (-probs[i], i))[: top_n or len(docs)]
            items = [
                RerankItem(
                    index=i,
                    id=docs[i].id,
                    relevance_score=round(float(probs[i]), 6),
                    logit=round(float(logits[i]), 6),
                    document=docs[i].text if return_documents else None,
                    metadata=docs[i].metadata,
                )
                for i in order
            ]
            return RerankResponse(model=reranker.name, results=items, timings_ms=timer.done())

        return await self._run(work, heavy=True)

    async def answer_or_abstain(
        self,
        query: Annotated[str, Field(description="the question to answer from the corpus")],
        filters: Annotated[SearchFilter | None, Field(description="restrict the evidence")] = None,
        min_score: Annotated[
            float | None, Field(ge=0, le=1, description="calibrated relevance a passage needs; default [gate] min_score")
        ] = None,
        max_passages: Annotated[int, Field(ge=1, le=50, description="passages to return at most")] = 5,
        collection: Annotated[str | None, Field(description="collection; default from config")] = None,
        max_tokens: Annotated[int | None, Field(description="budget of passage tokens in the response")] = None,
    ) -> AnswerResponse:
        """Grounded, cited passages (and an answer when an LLM is configured) when the candidate pool
        is judged answerable (p_answerable reaches the threshold) and only passages whose calibrated
        relevance reaches min_score; otherwise an explicit "I don't know" with a reason code
        (NO_CANDIDATES, OFF_TOPIC, LOW_RELEVANCE, LEXICAL_MISS, AMBIGUOUS, RERANKER_UNAVAILABLE), a
        suggestion, and the nearest passages. Weak context is never passed as an answer."""
        _checked(check_query, query, self.limits.max_query_chars)
        budget = _check_range("max_tokens", self.limits.max_tokens if max_tokens is None else max_tokens, 1, 100_000, "max_tokens")
        decision, resp = await self._run(self.p.decide, query, filters, min_score, max_passages, collection, heavy=True)
        notes = list(resp.notes)
        g = self.p.settings.gate
        if (
            decision.status == "answer"
            and self.writer is not None
            and g.llm_check
            and decision.p_answerable < decision.threshold + g.llm_band
        ):
            # A borderline pool: the LLM may turn the answer into an abstention, never the reverse.
            passages = [self._passage(c) for c in decision.passages]
            verdict, note = await anyio.to_thread.run_sync(self.writer.sufficient, query, passages)
            notes += [note] if note else []
            if verdict is False:
                decision = dataclasses.replace(
                    decision, status="abstain", reason=Reason.LOW_RELEVANCE, nearest=decision.passages, passages=[]
                )
        out = AnswerResponse(
            status=decision.status,
            reason=decision.reason.value,
            p_answerable=round(decision.p_answerable, 6),
            threshold=decision.threshold,
            calibrated=decision.calibrated,
            false_accept_bound=decision.false_accept_bound,
            suggestion=decision.suggestion,
            missing_terms=decision.missing_terms,
            timings_ms=resp.timings_ms,
            notes=notes,
        )
        if decision.status == "abstain":
            p, t = decision.p_answerable, decision.threshold
            score = f"p_answerable {p:.2f} is below the threshold {t:.2f}" if p < t else "no passage passed min_score and the checks"
            out.message = {
                "NO_CANDIDATES": "I don't know: nothing in the index matches this question.",
                "OFF_TOPIC": f"I don't know: the index holds nothing about this ({score}).",
                "LOW_RELEVANCE": f"I don't know: no passage answers this ({score}).",
                "LEXICAL_MISS": f"I don't know: no passage mentions {', '.join(decision.missing_terms)} ({score}).",
                "AMBIGUOUS": f"I don't know: several passages fit weakly and about equally ({score}).",
                "RERANKER_UNAVAILABLE": "I don't know: the reranker is unavailable, so no passage can be verified.",
            }[decision.reason.value]
            out.nearest = [self._passage(c) for c in decision.nearest]
            return out
        passages, out.truncated = pack([self._passage(c) for c in decision.passages], lambda p: p.text, self._tokens, budget)
        out.passages, out.confidence = passages, out.p_answerable
        if self.writer is not None:
            out.answer, note = await anyio.to_thread.run_sync(self.writer.write, query, passages)
            if note:
                out.notes.append(note)
        return out

    async def index_paths(
        self,
        paths: Annotated[list[str], Field(min_length=1, max_length=100, description="files or folders under the allowed roots")],
        collection: Annotated[str | None, Field(description="collection; default from config")] = None,
        prune: Annotated[bool, Field(description="remove indexed files under these folders that no longer exist")] = False,
    ) -> IndexReport:
        """Index files and folders (incremental: unchanged files are skipped). Only paths under the
        server's allowed roots can be read."""
        return await self._run(self.p.index_paths, paths, collection, prune, False, self.limits.allowed_roots)

    async def add_documents(
        self,
        documents: Annotated[
            list[InlineDocument], Field(min_length=1, description="{id?, text, title?, source?, updated_at?, source_type?, metadata?}")
        ],
        collection: Annotated[str | None, Field(description="collection; default from config")] = None,
    ) -> IndexReport:
        """Index documents given as text; the same id replaces the earlier version."""
        if len(documents) > self.limits.max_documents:
            raise ToolError(f"documents: {len(documents)} given, over the limit of {self.limits.max_documents} ([server] max_documents)")
        for i, d in enumerate(documents):
            if not d.text.strip():
                raise ToolError(f"documents[{i}].text: must not be empty")
            if len(d.text) > self.limits.max_document_chars:
                raise ToolError(
                    f"documents[{i}].text: {len(d.text)} characters, over the limit of {self.limits.max_document_chars} ([server] max_document_chars)"
                )
            _checked(check_text, f"documents[{i}].text", d.text)
        return await self._run(self.p.add_documents, documents, collection)

    async def delete(
        self,
        ids: Annotated[list[str] | None, Field(max_length=10_000, description="chunk ids to delete")] = None,
        filters: Annotated[SearchFilter | None, Field(description="delete every chunk this matches")] = None,
        collection: Annotated[str | None, Field(description="collection; default from config")] = None,
    ) -> DeleteResult:
        """Delete chunks by id or by filter."""
        if not ids and (filters is None or filters.is_empty()):
            raise ToolError("delete needs ids or a non-empty filter")
        n = await self._run(self.p.delete, collection, ids, filters)
        return DeleteResult(deleted=n, collection=collection or self.p.settings.index.collection)

    async def stats(self) -> dict[str, Any]:
        """Collections, chunk counts, models, devices and whether the models are ready."""
        return await anyio.to_thread.run_sync(self.p.stats)

    def register(self, server: MCPServer) -> MCPServer:
        ro = ToolAnnotations(read_only_hint=True, open_world_hint=False)
        server.add_tool(self.search, name="search", annotations=ro)
        server.add_tool(self.rerank, name="rerank", annotations=ro)
        server.add_tool(self.answer_or_abstain, name="answer_or_abstain", annotations=ro)
        server.add_tool(self.index_paths, name="index_paths", annotations=ToolAnnotations(destructive_hint=False))
        server.add_tool(self.add_documents, name="add_documents", annotations=ToolAnnotations(destructive_hint=False))
        server.add_tool(self.delete, name="delete", annotations=ToolAnnotations(destructive_hint=True))
        server.add_tool(self.stats, name="stats", annotations=ro)

        @server.resource("ragate://stats", name="stats", description="collections, counts and models", mime_type="application/json")
        async def stats_resource() -> str:
            import json

            return json.dumps(await self.stats())

        return server


def build_server(pipeline: Pipeline) -> MCPServer:
    return Tools(pipeline).register(MCPServer("ragate", instructions=INSTRUCTIONS))
