"""Typed outputs shared by the CLI (--json) and the MCP tools, so both speak the same shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ragate.retrieval.candidates import Candidate
from ragate.scoring.rerank_stage import RerankStage


class ScoreBreakdown(BaseModel):
    dense: float | None = Field(None, description="cosine similarity of query and passage embeddings")
    bm25: float | None = Field(None, description="BM25 score (None: not in the BM25 candidates)")
    fused: float = Field(description="fusion score of the two channels")
    first_pass: float | None = Field(
        None,
        description="raw logit of the first-pass cross-encoder that chose which candidates the main one read: "
        "it ranks passages within this query only and is not a probability (None: no cascade, or not read)",
    )
    rerank: float | None = Field(None, description="cross-encoder logit (None: not reranked)")
    relevance: float | None = Field(None, description="calibrated probability that the passage answers the query")
    retrieval: float = Field(description="fused score over the best fused score in the pool, in [0, 1]")
    freshness: float = Field(description="age decay in [0, 1]; undated documents get a neutral value")
    authority: float = Field(description="source weight in [0, 1] from config rules")
    diversity: float = Field(description="MMR penalty for similarity to higher-ranked results (subtracted)")


class SearchResult(BaseModel):
    """One passage as every tool returns it; cite it by chunk_id."""

    rank: int = Field(description="position in this response, from 1")
    chunk_id: str = Field(description="stable id of the passage; cite it, delete by it")
    doc_id: str
    source: str
    title: str
    heading_path: list[str]
    text: str
    score: float = Field(description="final blended score the ranking uses")
    scores: ScoreBreakdown
    updated_at: str | None = None
    source_type: str
    char_start: int = Field(description="offset of the passage in the source's extracted text")
    char_end: int

    @classmethod
    def of(cls, rank: int, c: Candidate) -> SearchResult:
        ch = c.chunk
        return cls(
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


class SearchResponse(BaseModel):
    query: str
    collection: str
    reranked: bool
    candidates: int = Field(description="size of the fused candidate pool")
    rerank_stage: RerankStage | None = None
    results: list[SearchResult]
    timings_ms: dict[str, float] = Field(description="milliseconds per stage, and total")
    notes: list[str] = []
    truncated: int = Field(0, description="results left out to fit the max_tokens budget")
    index_updated_at: str | None = Field(None, description="when the collection last changed (UTC), to judge how fresh the results are")


class RerankItem(BaseModel):
    index: int = Field(description="position of the document in the request")
    id: str | None = None
    relevance_score: float = Field(description="calibrated probability of relevance in [0, 1]")
    logit: float = Field(description="raw cross-encoder score; comparable within one request only")
    document: str | None = None
    metadata: dict | None = None


class RerankResponse(BaseModel):
    model: str
    results: list[RerankItem]
    timings_ms: dict[str, float]


class AnswerResponse(BaseModel):
    status: Literal["answer", "abstain"]
    reason: str = Field(description="why: ANSWERABLE, or the reason code for abstaining")
    suggestion: str = Field("", description="one line on what to do next")
    p_answerable: float = Field(
        description="probability that the pool can answer the question (fitted answerability model); "
        "without one, the best passage's relevance when the pool is on topic, else 0"
    )
    threshold: float = Field(description="the p_answerable an answer needs")
    calibrated: bool = Field(False, description="p_answerable and threshold come from `ragate calibrate --offtopic-queries`")
    false_accept_bound: float | None = Field(
        None, description="upper bound, at the calibration's confidence, on how often an unanswerable question is answered"
    )
    missing_terms: list[str] = Field([], description="when abstaining: query words no top passage contains")
    confidence: float | None = Field(None, description="p_answerable when answering")
    answer: str | None = Field(None, description="an LLM-written answer citing chunk ids, when [llm] is configured")
    message: str | None = Field(None, description="the 'I don't know' sentence when abstaining")
    passages: list[SearchResult] = Field([], description="passages that passed the gate, in ranked order")
    nearest: list[SearchResult] = Field([], description="when abstaining: the best candidates, as evidence")
    notes: list[str] = []
    timings_ms: dict[str, float] = Field({}, description="milliseconds per stage, and total")
    truncated: int = Field(0, description="passages left out to fit the max_tokens budget")
    index_updated_at: str | None = Field(None, description="when the collection last changed (UTC)")


class DeleteResult(BaseModel):
    deleted: int = Field(description="chunks removed")
    collection: str


class FeedbackResult(BaseModel):
    recorded: bool = Field(description="the verdict was stored")
    chunk_id: str
    useful: bool
    entries: int = Field(description="verdicts stored for this index so far")
