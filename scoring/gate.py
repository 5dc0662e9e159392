"""The abstain gate: answer only from passages whose calibrated relevance clears the threshold.

It reads calibrated relevance alone, after reranking: freshness or authority can reorder what
passes, never let a weak passage pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from ragate.retrieval.candidates import Candidate


class Reason(StrEnum):
    ANSWERABLE = "ANSWERABLE"
    NO_CANDIDATES = "NO_CANDIDATES"
    LOW_TOP_SCORE = "LOW_TOP_SCORE"
    RERANKER_UNAVAILABLE = "RERANKER_UNAVAILABLE"


@dataclass
class Decision:
    status: Literal["answer", "abstain"]
    reason: Reason
    p_answerable: float
    threshold: float
    passages: list[Candidate] = field(default_factory=list)  # passing passages, in ranked order
    nearest: list[Candidate] = field(default_factory=list)  # best candidates when abstaining


def decide(ranked: list[Candidate], threshold: float, max_passages: int, reranked: bool = True, nearest: int = 3) -> Decision:
    """ranked: candidates in final (blended) order, each with calibrated relevance when reranked."""
    if not ranked:
        return Decision("abstain", Reason.NO_CANDIDATES, 0.0, threshold)
    if not reranked:
        return Decision("abstain", Reason.RERANKER_UNAVAILABLE, 0.0, threshold, nearest=ranked[:nearest])
    top = max(float(c.relevance or 0.0) for c in ranked)
    if top < threshold:
        by_rel = sorted(ranked, key=lambda c: -(c.relevance or 0.0))
        return Decision("abstain", Reason.LOW_TOP_SCORE, top, threshold, nearest=by_rel[:nearest])
    passing = [c for c in ranked if (c.relevance or 0.0) >= threshold][:max_passages]
    return Decision("answer", Reason.ANSWERABLE, top, threshold, passages=passing)
