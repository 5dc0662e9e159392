"""Fusing the dense and BM25 candidate lists: reciprocal rank fusion or weighted min-max-normalised scores."""

from __future__ import annotations

from typing import Literal

from ragate.retrieval.candidates import Candidate
from ragate.retrieval.store import Hit


def rrf_score(ranks: list[int | None], k: int, weights: list[float]) -> float:
    """Σ w / (k + rank), ranks from 1; a list the item is missing from contributes nothing."""
    return sum(w / (k + r) for r, w in zip(ranks, weights, strict=False) if r is not None)


def minmax(values: list[float]) -> list[float]:
    """Scale to [0, 1]; a list of equal values maps to 1.0 (every item is as good as the best)."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo <= 1e-12:
        return [1.0] * len(values)
    return [(v - lo) / (hi - lo) for v in values]


def fuse(
    dense: list[Hit],
    bm25: list[Hit],
    *,
    method: Literal["rrf", "weighted"] = "rrf",
    rrf_k: int = 60,
    dense_weight: float = 0.5,
    bm25_weight: float = 0.5,
    limit: int = 100,
) -> list[Candidate]:
    """One pool of candidates from the two channels, best fused score first."""
    by_id: dict[str, Candidate] = {}
    for h in dense:
        by_id[h.chunk.chunk_id] = Candidate(chunk=h.chunk, vector=h.vector, dense=h.score)
    for h in bm25:
        c = by_id.setdefault(h.chunk.chunk_id, Candidate(chunk=h.chunk, vector=h.vector))
        c.bm25 = h.score
    items = list(by_id.values())
    if method == "rrf":
        dense_rank = {h.chunk.chunk_id: r for r, h in enumerate(dense, start=1)}
        bm25_rank = {h.chunk.chunk_id: r for r, h in enumerate(bm25, start=1)}
        for c in items:
            cid = c.chunk.chunk_id
            c.fused = rrf_score([dense_rank.get(cid), bm25_rank.get(cid)], rrf_k, [dense_weight, bm25_weight])
    else:
        nd = dict(zip([h.chunk.chunk_id for h in dense], minmax([h.score for h in dense])))
        nb = dict(zip([h.chunk.chunk_id for h in bm25], minmax([h.score for h in bm25])))
        total = (dense_weight + bm25_weight) or 1.0
        for c in items:
            cid = c.chunk.chunk_id
            c.fused = (dense_weight * nd.get(cid, 0.0) + bm25_weight * nb.get(cid, 0.0)) / total
    items.sort(key=lambda c: (-c.fused, c.chunk.chunk_id))
    return items[:limit]


def lead_margin(scores: list[float]) -> float:
    """How far the best score is ahead of the runner-up, as a share of the pool's score range
    (scores sorted best first): 1 when nothing comes close, 0 for a tie."""
    if len(scores) < 2:
        return 1.0
    span = scores[0] - scores[-1]
    return (scores[0] - scores[1]) / span if span > 0 else 0.0
