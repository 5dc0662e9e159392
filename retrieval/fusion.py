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


FusionMethod = Literal["rrf", "weighted"]


def fuse(
    dense: list[Hit],
    bm25: list[Hit],
    *,
    method: FusionMethod = "rrf",
    rrf_k: int = 60,
    dense_weight: float = 0.5,
    bm25_weight: float = 0.5,
    limit: int = 100,
) -> list[Candidate]:
    """One pool of candidates from the two channels, best fused score first; a chunk is known by its
    collection and id (one file indexed in two collections is two candidates)."""
    by_id: dict[tuple[str, str], Candidate] = {}
    for h in dense:
        by_id[_key(h)] = Candidate(chunk=h.chunk, vector=h.vector, dense=h.score, collection=h.collection)
    for h in bm25:
        c = by_id.setdefault(_key(h), Candidate(chunk=h.chunk, vector=h.vector, collection=h.collection))
        c.bm25 = h.score
    if method == "rrf":
        dense_rank = {_key(h): r for r, h in enumerate(dense, start=1)}
        bm25_rank = {_key(h): r for r, h in enumerate(bm25, start=1)}
        for key, c in by_id.items():
            c.fused = rrf_score([dense_rank.get(key), bm25_rank.get(key)], rrf_k, [dense_weight, bm25_weight])
    else:
        nd = dict(zip([_key(h) for h in dense], minmax([h.score for h in dense])))
        # BM25 scores compare only within one collection (its own term statistics): scaled in each.
        nb: dict[tuple[str, str], float] = {}
        for name in dict.fromkeys(h.collection for h in bm25):
            mine = [h for h in bm25 if h.collection == name]
            nb.update(zip([_key(h) for h in mine], minmax([h.score for h in mine])))
        total = (dense_weight + bm25_weight) or 1.0
        for key, c in by_id.items():
            c.fused = (dense_weight * nd.get(key, 0.0) + bm25_weight * nb.get(key, 0.0)) / total
    items = sorted(by_id.values(), key=lambda c: (-c.fused, c.collection, c.chunk.chunk_id))
    return items[:limit]


def _key(h: Hit) -> tuple[str, str]:
    return h.collection, h.chunk.chunk_id


def lead_margin(scores: list[float]) -> float:
    """How far the best score is ahead of the runner-up, as a share of the pool's score range
    (scores sorted best first): 1 when nothing comes close, 0 for a tie."""
    if len(scores) < 2:
        return 1.0
    span = scores[0] - scores[-1]
    return (scores[0] - scores[1]) / span if span > 0 else 0.0
