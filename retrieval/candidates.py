"""The one record that flows from recall to the response: a chunk plus every component score,
filled in stage by stage (fusion, first pass, rerank, calibration, blend), so a result can explain its rank."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ragate.retrieval.documents import Chunk


@dataclass
class Candidate:
    chunk: Chunk
    vector: np.ndarray | None = None
    collection: str = ""  # the collection it was recalled from (a search may read several)
    dense: float | None = None  # cosine of query and chunk embeddings (None: not in the dense top-n)
    bm25: float | None = None  # BM25 score (None: not in the BM25 top-n)
    fused: float = 0.0
    first_pass: float | None = None  # raw logit of a cascade's first-pass cross-encoder (ranking only)
    rerank: float | None = None  # raw cross-encoder logit
    relevance: float | None = None  # calibrated probability of relevance
    retrieval: float = 0.0  # fused score over the pool's best fused score
    freshness: float = 0.0
    authority: float = 0.0
    diversity: float = 0.0  # penalty subtracted in the final score
    query_flags: list[str] = field(default_factory=list)  # found at query time (query_echo, untrusted_source)
    trusted: bool = False  # from a [trust] trusted source: its flags are not counted
    suspicion: float = 0.0  # penalty subtracted in the final score for the passage's flags
    final: float = 0.0

    @property
    def flags(self) -> list[str]:
        """Why the passage looks planted: its indexed flags and this query's (none from a trusted source)."""
        return [] if self.trusted else [*self.chunk.flags, *self.query_flags]

    def scores(self) -> dict[str, float | None]:
        return {
            "dense": self.dense,
            "bm25": self.bm25,
            "fused": self.fused,
            "first_pass": self.first_pass,
            "rerank": self.rerank,
            "relevance": self.relevance,
            "retrieval": self.retrieval,
            "freshness": self.freshness,
            "authority": self.authority,
            "diversity": self.diversity,
            "suspicion": self.suspicion,
        }
