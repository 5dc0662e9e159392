"""Multi-signal blending after reranking:

    final = w_rel·relevance + w_ret·retrieval + w_fresh·freshness + w_auth·authority
            − suspicion − diversity penalty

Retrieval is the recall stage's fused score over the pool's best: the cross-encoder reads one
passage at a time, while agreement of the dense and BM25 channels is independent evidence, and
adding it back lifts nDCG@10 on SciFact (bench/RESULTS.md). Freshness decays with age
(exponential by default; linear and gaussian as options; undated →
neutral), authority comes from path rules, and diversity is MMR over the dense vectors plus a
cap on chunks per document. A passage with flags (retrieval/passage_quality.py: a keyword list, a
list of questions, instructions to a model, hidden text, an echo of the query) loses the full
weight of the two query-dependent signals, w_rel + w_ret: whatever a planted passage made the
reranker and the channels believe, it ranks below every unflagged one those signals favour, and
stays in the list, flagged. The gate's p_answerable never reads `final`, only calibrated relevance."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ragate.retrieval.candidates import Candidate

MIN_LAMBDA = 0.05


@dataclass(frozen=True)
class BlendWeights:
    relevance: float = 1.0
    retrieval: float = 0.3
    freshness: float = 0.1
    authority: float = 0.1
    decay: Literal["exp", "linear", "gauss"] = "exp"
    half_life_days: float = 365.0
    neutral_freshness: float = 0.5
    mmr_lambda: float = 0.8
    max_chunks_per_doc: int = 3

    def unread(self) -> BlendWeights:
        """The weights that rank a pool as these rank it when no reranker read it: the fused score
        stands in for relevance there (`_base_scores`), so relevance's weight joins the recall vote."""
        return replace(self, relevance=0.0, retrieval=self.relevance + self.retrieval)


def freshness(
    updated_at: str | None, now: dt.datetime, half_life_days: float, decay: Literal["exp", "linear", "gauss"] = "exp", neutral: float = 0.5
) -> float:
    """1.0 for now, 0.5 at one half-life for every decay shape; `neutral` when undated."""
    if not updated_at:
        return neutral
    try:
        t = dt.datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    except ValueError:
        return neutral
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    age = max(0.0, (now - t).total_seconds() / 86400.0)
    x = age / half_life_days
    if decay == "exp":
        return 0.5**x
    if decay == "linear":
        return max(0.0, 1.0 - 0.5 * x)
    return math.exp(-math.log(2) * x * x)  # gaussian: exp(-ln2·x²) is 0.5 at x = 1


@dataclass
class Blended:
    """The blend's ranking, and what diversity and the per-document cap did to it."""

    ranked: list[Candidate]  # best first, within the cap
    capped: list[Candidate] = field(default_factory=list)  # left out by the cap, in the order they came up
    capped_at: list[int] = field(default_factory=list)  # the place in `ranked` each would have taken
    base_order: dict[int, int] = field(default_factory=dict)  # id(candidate) → its place by the blended score before diversity

    def demoted(self, top_k: int) -> int:
        """Passages that would be among the best top_k without diversity and now rank below them
        (left out by the cap are counted by `capped_within`, not here)."""
        place = {id(c): i for i, c in enumerate(self.ranked)}
        return sum(1 for cid, base in self.base_order.items() if base < top_k and cid in place and place[cid] >= top_k)

    def capped_within(self, top_k: int) -> int:
        """Passages the cap left out that came up while fewer than top_k had been ranked (so they
        would have been among the best top_k; each pushed the ones after it down one place)."""
        return sum(1 for place in self.capped_at if place < top_k)


def blend(cands: list[Candidate], w: BlendWeights, now: dt.datetime | None = None) -> list[Candidate]:
    """The candidates ranked by the blend (see `blend_pool`)."""
    return blend_pool(cands, w, now).ranked


def blend_pool(cands: list[Candidate], w: BlendWeights, now: dt.datetime | None = None) -> Blended:
    """Fill freshness, authority, diversity and final on each candidate and rank them.

    The relevance signal is the calibrated probability when the reranker ran, else the fused score
    normalised to [0, 1]. When the reranker read only the head of the pool (margin skip, latency
    budget), the passages it read rank first and the rest follow, blended among themselves; the
    per-document cap and diversity count across both. With no weight on relevance the pool is one
    part, ranked as if nothing had been read."""
    now = now or dt.datetime.now(dt.UTC)
    out = Blended(ranked=[])
    per_doc: dict[tuple[str, str], int] = {}
    read = [c for c in cands if c.relevance is not None]
    split = w.relevance > 0 and read and len(read) < len(cands)
    parts = [read, [c for c in cands if c.relevance is None]] if split else [cands]
    for part in parts:
        _select(part, w, now, per_doc, out)
    return out


def _base_scores(cands: list[Candidate], w: BlendWeights, now: dt.datetime) -> np.ndarray:
    """Each candidate's blended score before diversity; fills retrieval, freshness, authority and suspicion."""
    if w.relevance == 0:
        rel = np.zeros(len(cands))
    elif all(c.relevance is not None for c in cands):
        rel = np.array([float(c.relevance) for c in cands])  # type: ignore[arg-type]
    else:
        top = max(c.fused for c in cands) or 1.0
        rel = np.array([c.fused / top for c in cands])
    top_fused = max(c.fused for c in cands)
    for c in cands:
        c.retrieval = c.fused / top_fused if top_fused > 0 else 0.0
        c.freshness = freshness(c.chunk.updated_at, now, w.half_life_days, w.decay, w.neutral_freshness)
        c.authority = float(c.chunk.authority)
        c.suspicion = w.relevance + w.retrieval if c.flags else 0.0
    signals = np.array([[c.retrieval, c.freshness, c.authority, c.suspicion] for c in cands])
    return w.relevance * rel + signals @ np.array([w.retrieval, w.freshness, w.authority, -1.0])


def _unit_vectors(cands: list[Candidate], dim: int) -> np.ndarray:
    """Each candidate's dense vector at unit length; zeros for one without a vector."""
    return np.stack([c.vector / (np.linalg.norm(c.vector) or 1.0) if c.vector is not None else np.zeros(dim, np.float32) for c in cands])


def _select(cands: list[Candidate], w: BlendWeights, now: dt.datetime, per_doc: dict[tuple[str, str], int], out: Blended) -> None:
    """Greedy maximal marginal relevance on the blended score itself: each pick is the candidate with
    the best score after a penalty of (1-λ)/λ · its highest similarity to those already picked
    (λ·final is MMR's own value), so a passage is penalised only for resembling passages ranked above
    it, and the scores fall along the order. A document's chunks past the cap are left out as they
    come up, in that final order."""
    if not cands:
        return
    base = _base_scores(cands, w, now)
    offset = len(out.base_order)
    for place, i in enumerate(np.argsort(-base, kind="stable")):
        out.base_order[id(cands[i])] = offset + place
    dim = next((c.vector.shape[0] for c in cands + out.ranked if c.vector is not None), 1)
    unit = _unit_vectors(cands, dim)
    sim = np.asarray(unit @ unit.T, dtype=np.float64)
    # λ near 0 would scale the penalty without bound; below MIN_LAMBDA it is pure diversity anyway.
    scale = (1 - w.mmr_lambda) / max(w.mmr_lambda, MIN_LAMBDA)
    # Similarity to the passages picked so far: those of an earlier part (the read head), if any.
    picked = np.clip(unit @ _unit_vectors(out.ranked, dim).T, 0.0, None) if out.ranked else np.zeros((len(cands), 1))
    max_sim = np.asarray(picked.max(axis=1), dtype=np.float64)
    remaining = np.ones(len(cands), dtype=bool)
    while remaining.any():
        value = np.where(remaining, base - scale * max_sim, -np.inf)
        i = int(np.argmax(value))  # ties: the earlier in fused order
        remaining[i] = False
        c = cands[i]
        c.diversity, c.final = float(scale * max_sim[i]), float(value[i])
        if per_doc.get((c.collection, c.chunk.doc_id), 0) >= w.max_chunks_per_doc:
            out.capped.append(c)
            out.capped_at.append(len(out.ranked))
            continue
        per_doc[(c.collection, c.chunk.doc_id)] = per_doc.get((c.collection, c.chunk.doc_id), 0) + 1
        out.ranked.append(c)
        max_sim = np.maximum(max_sim, np.clip(sim[i], 0.0, None))
