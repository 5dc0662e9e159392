"""What every reranker gives the precision stage, whatever computes its scores: one score per
(query, passage) pair in input order, higher meaning more relevant, with an LRU cache of scores
per (reranker, query, passage), the throughput a latency budget reads, and the words `stats`
shows. A provider only implements `_score_uncached`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragate.retrieval.deadline import check as check_deadline
from ragate.scoring.engines.score_cache import ScoreCache, pair_key


class Reranker:
    name: str  # the model as configured, with its provider for remote ones (cohere:rerank-v3.5)
    kind: str  # what runs it: an in-process engine (openvino-bf16, torch) or a provider (http-rerank, cohere)
    device: str  # where: cpu, cuda:0, or remote
    engine_reason = ""  # why this engine, in words, for `ragate stats`
    # What the `logit` of a response means; calibration turns it into a probability either way.
    scores = "the model's relevance logit"
    tokenizer: Any = None  # the model's own tokenizer where there is one (chunks are measured in it)
    engine_verdict_path: Path | None = None  # the stored `auto` verdict, when auto chose a CPU engine
    batcher: Any = None  # a shared micro-batching worker, where the engine has one
    batch_size = 32  # pairs per call to the model
    # Each pair's score stands alone, so pools read in blocks compare (adaptive depth reads so);
    # a listwise reranker's score is a place within the list it was given.
    pointwise = True

    def __init__(self, name: str, *, cache_size: int = 0):
        self.name = name
        self.cache = ScoreCache(cache_size)
        self._pairs_per_s = 0.0

    @property
    def engine_pending(self) -> bool:
        """The CPU engines are being measured in the background; this one runs meanwhile."""
        return False

    def remeasure(self) -> bool:
        """Measure the engines again in the background; False where there is nothing to measure."""
        return False

    @property
    def pairs_per_s(self) -> float:
        """Measured throughput (moving average over recent calls); 0 before the first call."""
        return self._pairs_per_s

    def _measured(self, pairs: int, seconds: float) -> None:
        rate = pairs / max(seconds, 1e-6)
        self._pairs_per_s = rate if not self._pairs_per_s else 0.7 * self._pairs_per_s + 0.3 * rate

    def _score_uncached(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def score_pairs(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        """One score per (query, passage) pair, in input order; cached pairs cost nothing."""
        return self._score_pairs(queries, passages)[0]

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        return self.score_pairs([query] * len(passages), passages)

    def score_counted(self, query: str, passages: Sequence[str]) -> tuple[np.ndarray, int]:
        """Scores, and how many of them came from the score cache."""
        return self._score_pairs([query] * len(passages), passages)

    def _score_pairs(self, queries: Sequence[str], passages: Sequence[str]) -> tuple[np.ndarray, int]:
        if len(queries) != len(passages):
            raise ValueError("queries and passages must have the same length")
        n = len(passages)
        out = np.zeros(n, dtype=np.float32)
        keys = [pair_key(self.name, q, p) for q, p in zip(queries, passages, strict=False)] if self.cache.capacity else []
        missing = []
        for i in range(n):
            hit = self.cache.get(keys[i]) if keys else None
            if hit is None:
                missing.append(i)
            else:
                out[i] = hit
        if self.batcher is not None:
            # The shared worker runs jobs without this request's deadline; handing it slices lets the
            # caller stop between them (other callers' pairs still join the same jobs).
            step = self.batch_size * 4
            fresh = np.zeros(len(missing), dtype=np.float32)
            for s in range(0, len(missing), step):
                check_deadline("rerank")
                part = missing[s : s + step]
                fresh[s : s + len(part)] = self.batcher.score_pairs([queries[i] for i in part], [passages[i] for i in part])
        elif missing:
            fresh = self._score_uncached([queries[i] for i in missing], [passages[i] for i in missing])
        if missing:
            out[missing] = fresh
            for i, z in zip(missing, fresh, strict=False):
                if keys:
                    self.cache.put(keys[i], float(z))
        return out, n - len(missing)

    def describe(self) -> dict[str, Any]:
        """What `stats` shows of it."""
        return {
            "device": self.device,
            "engine": self.kind,
            "engine_reason": self.engine_reason,
            "engine_pending": self.engine_pending,
            "scores": self.scores,
        }

    def close(self) -> None:
        """Release what it holds (a remote client's connections)."""


def logit_of(p: np.ndarray) -> np.ndarray:
    """The log-odds of probabilities in [0, 1]: a hosted API's relevance score put on the scale of a
    cross-encoder's logit (the default sigmoid calibration gives the API's own score back)."""
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q)).astype(np.float32)


def by_query(queries: Sequence[str]) -> dict[str, list[int]]:
    """The positions of each distinct query among pairs: remote and listwise rerankers send one query
    with its passages per request."""
    out: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        out.setdefault(q, []).append(i)
    return out
