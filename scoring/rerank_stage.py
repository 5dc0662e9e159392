"""The precision stage as one step: decide how much of the fused pool the cross-encoder reads
(margin skip, latency budget, a first-pass model, the depth the query needs), read it, and fill
each candidate's logit and calibrated relevance.

Adaptive depth: the cross-encoder reads the fused head first (`depth_head`, the pool size
self-calibration fits the gate on), then the tail a block of `depth_step` at a time, in fused order,
only while the block it read last still placed a candidate among the best `depth_settle` by
relevance. Fusion orders the pool by much of what the reranker will say: when the last block placed
nothing among the best, deeper blocks, fused lower still, rarely do. The stage reports the pairs
read and why it stopped.

In a cascade a small first-pass cross-encoder reads the pool and the main one reads only its top
`keep`: the main model's cost then grows with `keep`, not with the pool. Only the main model's
scores are calibrated; the first pass only chooses. The policy lives here, beside the rerankers
whose measured speed it uses, so the pipeline only hands over the pool and the caller's budget."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.chunking import indexed_text
from ragate.retrieval.fusion import lead_margin
from ragate.scoring.calibration import Calibrator
from ragate.scoring.engines.reranker import CrossEncoderReranker
from ragate.scoring.rerankers.base import Reranker


class FirstPassStage(BaseModel):
    """What the first-pass cross-encoder of a cascade did."""

    model: str
    engine: str
    device: str
    pairs: int = Field(description="candidates the first-pass model read")
    cached: int = Field(0, description="pairs served from its score cache")
    ms: float = Field(description="milliseconds it took (part of timings_ms.rerank)")


class RerankStage(BaseModel):
    """What the precision stage did, so skips, budgets and cascades are visible next to the timings."""

    engine: str = Field(
        description="what ran the reranker: an in-process engine (openvino-bf16, torch) or a provider (http-rerank, cohere)"
    )
    scores: str = Field("the model's relevance logit", description="what the `rerank` score of each result is, for this reranker")
    engine_pending: bool = Field(False, description="the CPU engines are still being measured in the background; this one ran meanwhile")
    device: str
    pairs: int = Field(description="candidates the main cross-encoder read (the rest follow them, in fused order)")
    limited_by: Literal["margin", "budget", "first_pass", "depth"] | None = Field(
        None, description="why fewer than the whole pool were read (depth: the query's ranking was settled before the tail)"
    )
    depth_reason: str = Field("", description="with adaptive depth: how far the reading went and why it stopped there")
    cached: int = Field(0, description="pairs served from the score cache")
    first_pass: FirstPassStage | None = Field(None, description="the cascade's first pass, which chose the candidates the main model read")
    weight: float | None = Field(None, description="how much relevance counts in the final score (the blend's w_relevance)")
    weight_reason: str = Field("", description="why it counts that much: the calibration that chose it and its evidence, or the setting")

    @property
    def cut_short(self) -> bool:
        """The plan left part of the pool unread (margin or budget), which the caller is told about;
        a cascade's cut is its configuration, shown in `first_pass`."""
        return self.limited_by in ("margin", "budget")


@dataclass(frozen=True)
class RerankPolicy:
    """[retrieval] skip_rerank_margin and [reranker] budget_ms / min_budget_pairs / depth /
    depth_head / depth_step / depth_settle."""

    skip_margin: float = 0.0
    budget_ms: float = 0.0
    min_budget_pairs: int = 10
    depth: Literal["adaptive", "all"] = "adaptive"
    depth_head: int = 30
    depth_step: int = 10
    depth_settle: int = 5


@dataclass(frozen=True)
class FirstPass:
    """[reranker] first_pass_model (loaded) and first_pass_keep: `reranker` reads the pool, the main
    model its top `keep`."""

    reranker: CrossEncoderReranker
    keep: int


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


def _texts(cands: list[Candidate]) -> list[str]:
    return [indexed_text(c.chunk) for c in cands]


def rerank(
    query: str,
    cands: list[Candidate],
    *,
    reranker: Reranker,
    calibrator: Calibrator,
    policy: RerankPolicy,
    budget_ms: float | None = None,
    first_pass: FirstPass | None = None,
    top_k: int = 0,
) -> RerankStage:
    """Fill rerank logits and calibrated relevance of the candidates the plan allows. A latency
    budget sizes the pool at the main model's speed, cascade or not; a first pass then reads that
    pool and passes on its best `keep`; without one, adaptive depth reads as far as the policy's
    depth needs, and at least the `top_k` results the caller asked for."""
    n, limited_by = plan(cands, policy=policy, budget_ms=budget_ms, pairs_per_s=reranker.pairs_per_s)
    chosen, first = cands[:n], None
    if first_pass is not None and first_pass.keep < n:
        started = time.perf_counter()
        logits, cached = first_pass.reranker.score_counted(query, _texts(chosen))
        for c, z in zip(chosen, logits):
            c.first_pass = float(z)
        chosen = sorted(chosen, key=lambda c: -c.first_pass)[: first_pass.keep]  # stable: ties keep fused order
        limited_by = "first_pass"
        fp = first_pass.reranker
        ms = round((time.perf_counter() - started) * 1000, 1)
        first = FirstPassStage(model=fp.name, engine=fp.kind, device=fp.device, pairs=n, cached=cached, ms=ms)
    depth_reason = ""
    if first is None and policy.depth == "adaptive" and reranker.pointwise:
        head = max(policy.depth_head, top_k)
        logits, cached, depth_reason = read_adaptively(query, chosen, reranker=reranker, policy=policy, head=head)
        if len(logits) < len(chosen):
            chosen, limited_by = chosen[: len(logits)], limited_by or "depth"
    else:
        logits, cached = reranker.score_counted(query, _texts(chosen))
    for c, z, p in zip(chosen, logits, calibrator(logits)):
        c.rerank, c.relevance = float(z), float(p)
    return RerankStage(
        engine=reranker.kind,
        scores=reranker.scores,
        engine_pending=reranker.engine_pending,
        device=reranker.device,
        pairs=len(chosen),
        limited_by=limited_by,
        cached=cached,
        first_pass=first,
        depth_reason=depth_reason,
    )


def read_adaptively(
    query: str, cands: list[Candidate], *, reranker: Reranker, policy: RerankPolicy, head: int
) -> tuple[list[float], int, str]:
    """The logits of the fused head (its first `head` candidates) and of each further block read (see the module's docstring),
    the pairs served from the cache, and why the reading stopped, in words."""
    k = policy.depth_settle
    n = min(len(cands), max(head, k))
    logits, cached = reranker.score_counted(query, _texts(cands[:n]))
    logits = [float(z) for z in logits]
    while n < len(cands):
        kth = sorted(logits, reverse=True)[min(k, len(logits)) - 1]
        last = max(n - policy.depth_step, 0)  # where the block read last begins
        if not any(z >= kth for z in logits[last:]):
            return logits, cached, f"read {n} of {len(cands)}: fused candidates {last + 1}-{n} placed none in the top {k}"
        more, hits = reranker.score_counted(query, _texts(cands[n : n + policy.depth_step]))
        logits += [float(z) for z in more]
        cached += hits
        n += len(more)
    whole = len(cands) <= max(head, k)
    return logits, cached, "" if whole else f"read all {len(cands)}: each block still placed a candidate in the top {k}"
