"""Fusing the dense and BM25 candidate lists: reciprocal rank fusion or weighted min-max-normalised scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from ragate.retrieval.documents import Chunk
from ragate.retrieval.store import Hit


@dataclass
class Fused:
    chunk: Chunk
    fused: float
    dense: float | None
    bm25: float | None
    dense_rank: int | None
    bm25_rank: int | None
    vector: np.ndarray | None


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
    method: Literal["rrf", "weighted"] = "rrf",
    rrf_k: int = 60,
    dense_weight: float = 0.5,
    bm25_weight: float = 0.5,
    limit: int = 100,
) -> list[Fused]:
    by_id: dict[str, Fused] = {}
    for rank, h in enumerate(dense, start=1):
        by_id[h.chunk.chunk_id] = Fused(h.chunk, 0.0, h.score, None, rank, None, h.vector)
    for rank, h in enumerate(bm25, start=1):
        f = by_id.get(h.chunk.chunk_id)
        if f is None:
            by_id[h.chunk.chunk_id] = Fused(h.chunk, 0.0, None, h.score, None, rank, h.vector)
        else:
            f.bm25, f.bm25_rank = h.score, rank
    items = list(by_id.values())
    if method == "rrf":
        for f in items:
            f.fused = rrf_score([f.dense_rank, f.bm25_rank], rrf_k, [dense_weight, bm25_weight])
    else:
        nd = dict(zip([h.chunk.chunk_id for h in dense], minmax([h.score for h in dense]), strict=False))
        nb = dict(zip([h.chunk.chunk_id for h in bm25], minmax([h.score for h in bm25]), strict=False))
        total = (dense_weight + bm25_weight) or 1.0
        for f in items:
            cid = f.chunk.chunk_id
            f.fused = (dense_weight * nd.get(cid, 0.0) + bm25_weight * nb.get(cid, 0.0)) / total
    items.sort(key=lambda f: (-f.fused, f.chunk.chunk_id))
    return items[:limit]


def lead_margin(scores: list[float]) -> float:
    """How far the best score is ahead of the runner-up, as a share of the pool's score range
    (scores sorted best first): 1 when nothing comes close, 0 for a tie."""
    if len(scores) < 2:
        return 1.0
    span = scores[0] - scores[-1]
    return (scores[0] - scores[1]) / span if span > 0 else 0.0
