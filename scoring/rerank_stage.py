"""The precision stage as one step: decide how much of the fused pool the cross-encoder reads
(margin skip, latency budget), read it, and fill each candidate's logit and calibrated relevance.

The policy lives here, beside the reranker whose measured speed it uses, so the pipeline only
hands over the pool and the caller's per-request budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.fusion import lead_margin
from ragate.scoring.calibration import Calibrator
from ragate.scoring.reranker import CrossEncoderReranker


class RerankStage(BaseModel):
    """What the precision stage did, so skips and budgets are visible next to the timings."""

    engine: str = Field(description="reranker backend, e.g. openvino-int8, onnx-int8 or torch-bf16")
    device: str
    pairs: int = Field(description="candidates the cross-encoder read (the rest keep their fused order)")
    limited_by: Literal["margin", "budget"] | None = Field(None, description="why fewer than the whole pool were read")
    cached: int = Field(0, description="pairs served from the score cache")


@dataclass(frozen=True)
class RerankPolicy:
    """[retrieval] skip_rerank_margin and [reranker] budget_ms / min_budget_pairs."""

    skip_margin: float = 0.0
    budget_ms: float = 0.0
    min_budget_pairs: int = 10


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


def plan(cands: list[Candidate], *, policy: RerankPolicy, budget_ms: float | None, pairs_per_s: float) -> tuple[int, str | None]:
    """How many of the fused candidates the cross-encoder reads, and what limited it."""
    if policy.skip_margin > 0 and len(cands) > 1 and channel_lead(cands) >= policy.skip_margin:
        return 1, "margin"  # the leader still gets a calibrated relevance for the gate
    budget = policy.budget_ms if budget_ms is None else budget_ms
    if budget > 0 and pairs_per_s > 0:
        n = max(policy.min_budget_pairs, int(budget / 1000.0 * pairs_per_s))
        if n < len(cands):
            return n, "budget"
    return len(cands), None


def rerank(
    query: str,
    cands: list[Candidate],
    *,
    reranker: CrossEncoderReranker,
    calibrator: Calibrator,
    policy: RerankPolicy,
    budget_ms: float | None = None,
) -> RerankStage:
    """Fill rerank logits and calibrated relevance of the candidates the plan allows, in fused order."""
    n, limited_by = plan(cands, policy=policy, budget_ms=budget_ms, pairs_per_s=reranker.pairs_per_s)
    logits, cached = reranker.score_counted(query, [indexed_text(c.chunk) for c in cands[:n]])
    for c, z, p in zip(cands, logits, calibrator(logits)):
        c.rerank, c.relevance = float(z), float(p)
    return RerankStage(engine=reranker.kind, device=reranker.device, pairs=n, limited_by=limited_by, cached=cached)
