"""Typed outputs shared by the CLI (--json) and the MCP tools, so both speak the same shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ScoreBreakdown(BaseModel):
    dense: float | None = Field(None, description="cosine similarity of query and passage embeddings")
    bm25: float | None = Field(None, description="BM25 score (None: not in the BM25 candidates)")
    fused: float = Field(description="fusion score of the two channels")
    rerank: float | None = Field(None, description="cross-encoder logit (None: not reranked)")
    relevance: float | None = Field(None, description="calibrated probability that the passage answers the query")
    retrieval: float = Field(description="fused score over the best fused score in the pool, in [0, 1]")
    freshness: float = Field(description="age decay in [0, 1]; undated documents get a neutral value")
    authority: float = Field(description="source weight in [0, 1] from config rules")
    diversity: float = Field(description="MMR penalty for similarity to higher-ranked results (subtracted)")


class SearchResult(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    heading_path: list[str]
    text: str
    score: float = Field(description="final blended score the ranking uses")
    scores: ScoreBreakdown
    updated_at: str | None = None
    source_type: str
    char_start: int
    char_end: int


class RerankStage(BaseModel):
    """What the precision stage did, so skips and budgets are visible next to the timings."""

    engine: str = Field(description="reranker backend, e.g. onnx-int8 or torch-bf16")
    device: str
    pairs: int = Field(description="candidates the cross-encoder read (the rest keep their fused order)")
    limited_by: Literal["margin", "budget"] | None = Field(None, description="why fewer than the whole pool were read")
    cached: int = Field(0, description="pairs served from the score cache")


class SearchResponse(BaseModel):
    query: str
    collection: str
    reranked: bool
    candidates: int = Field(description="size of the fused candidate pool")
    rerank_stage: RerankStage | None = None
    results: list[SearchResult]
    timings_ms: dict[str, float]
    notes: list[str] = []
    truncated: int = Field(0, description="results left out to fit the max_tokens budget")


class RerankItem(BaseModel):
    index: int = Field(description="position of the document in the request")
    id: str | None = None
    relevance_score: float = Field(description="calibrated probability of relevance in [0, 1]")
    logit: float
    document: str | None = None
    metadata: dict | None = None


class RerankResponse(BaseModel):
    model: str
    results: list[RerankItem]
    timings_ms: dict[str, float]


class Passage(BaseModel):
    citation: str = Field(description="chunk id to cite")
    source: str
    title: str
    heading_path: list[str]
    text: str
    relevance: float


class AnswerResponse(BaseModel):
    status: Literal["answer", "abstain"]
    reason: str
    p_answerable: float = Field(
        description="probability that the pool can answer the question (fitted answerability model); "
        "without one, the best passage's relevance when the pool is on topic, else 0"
    )
    threshold: float = Field(description="answer when p_answerable reaches this")
    calibrated: bool = Field(False, description="p_answerable and threshold come from `ragate calibrate`")
    false_accept_bound: float | None = Field(
        None, description="upper bound, at the calibration's confidence, on how often an unanswerable question is answered"
    )
    suggestion: str = Field("", description="what to do next")
    missing_terms: list[str] = Field([], description="query words no top passage contains")
    confidence: float | None = None
    answer: str | None = None
    message: str | None = None
    passages: list[Passage] = []
    nearest: list[Passage] = []
    notes: list[str] = []
    timings_ms: dict[str, float] = {}
    truncated: int = 0
